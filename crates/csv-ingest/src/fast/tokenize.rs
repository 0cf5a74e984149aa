//! The tokenizer for one piece: fields, quotes and records with pandas' rules for plain input.

use super::column::{Col, Piece};
use super::Kind;

/// Tokenize one piece with pandas' rules for plain input: fields split at
/// `sep`, records at `\n` (a `\r` before it dropped), `"` quoting with `""`
/// escapes, short rows padded with missing values. `None` on a blank line
/// (pandas skips it), a too-wide row or a quote out of place.
pub(super) fn parse_piece(data: &[u8], sep: u8, kinds: &[Kind]) -> Option<Piece> {
    let width = kinds.len();
    let first_line = memchr::memchr(b'\n', data).map_or(data.len(), |i| i + 1);
    // Rows as long as the first, but never more than one byte per field: an
    // odd short first line must not reserve gigabytes for wide tables.
    let rows_guess = (data.len() / first_line.max(1)).min(data.len() / width.max(1)) + 16;
    let mut columns: Vec<Col> = kinds.iter().map(|&k| Col::new(k, rows_guess)).collect();
    let mut unescaped = String::new();
    let n = data.len();
    let mut pos = 0;
    let mut rows = 0;
    while pos < n {
        let record_start = pos;
        let mut col = 0;
        let mut maybe_blank = false;
        loop {
            if col == width {
                return None;
            }
            if let Some(end) = columns[col].push_number(data, pos, sep) {
                col += 1;
                pos = end + 1;
                if end == n || data[end] == b'\n' {
                    break;
                }
                continue;
            }
            let cell: &str;
            let end_of_record;
            if pos >= n {
                // A separator just before the end of the data.
                cell = "";
                end_of_record = true;
            } else if data[pos] == b'"' {
                let (next, eor, escaped) = quoted_field(data, pos, sep, &mut unescaped)?;
                cell = match escaped {
                    true => unescaped.as_str(),
                    // SAFETY: the text is UTF-8 and we cut only at ASCII bytes.
                    false => unsafe { std::str::from_utf8_unchecked(&data[pos + 1..next.1]) },
                };
                pos = next.0;
                end_of_record = eor;
            } else {
                let end = find_delimiter(data, pos, sep);
                end_of_record = end == n || data[end] == b'\n';
                let mut field_end = end;
                if end_of_record && field_end > pos && data[field_end - 1] == b'\r' {
                    field_end -= 1;
                }
                // SAFETY: as above.
                cell = unsafe { std::str::from_utf8_unchecked(&data[pos..field_end]) };
                maybe_blank |= col == 0 && is_blank(cell.as_bytes());
                pos = end + 1;
            }
            columns[col].push(cell);
            col += 1;
            if end_of_record {
                break;
            }
        }
        // A blank line, or one of only separators when the separator is a tab.
        if maybe_blank && is_blank(&data[record_start..pos.min(n)]) {
            return None;
        }
        for column in &mut columns[col..] {
            column.push_missing();
        }
        rows += 1;
    }
    Some(Piece { rows, columns })
}

/// Where a field that stopped at `stop` ends: `stop` itself if a separator,
/// line break or the end of the data is there, the `\n` of a `\r\n`;
/// `None` if the field goes on.
#[inline]
pub(super) fn delimiter_at(data: &[u8], stop: usize, sep: u8) -> Option<usize> {
    match data.get(stop) {
        None => Some(stop),
        Some(&b) if b == sep || b == b'\n' => Some(stop),
        Some(b'\r') if data.get(stop + 1) == Some(&b'\n') => Some(stop + 1),
        _ => None,
    }
}

/// The first `sep` or `\n` at or after `from`, else `data.len()`. Fields
/// are short, so this tests eight bytes at a time in a register (the
/// classic has-zero-byte trick) rather than calling a SIMD search per field.
#[inline]
fn find_delimiter(data: &[u8], from: usize, sep: u8) -> usize {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    let seps = u64::from_le_bytes([sep; 8]);
    let newlines = u64::from_le_bytes([b'\n'; 8]);
    let mut i = from;
    while let Some(chunk) = data.get(i..i + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let (a, b) = (word ^ seps, word ^ newlines);
        // Bytes that were `sep` or `\n` are now zero; the lowest flagged
        // byte is exact (false flags only appear above a true one).
        let hits = (a.wrapping_sub(ONES) & !a | b.wrapping_sub(ONES) & !b) & HIGHS;
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    data[i..]
        .iter()
        .position(|&b| b == sep || b == b'\n')
        .map_or(data.len(), |k| i + k)
}

/// A line pandas skips: nothing but spaces, tabs and line-end bytes.
fn is_blank(line: &[u8]) -> bool {
    line.iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// The quoted field starting at `open`: ((next field position, end of the
/// raw content), end of record, whether `out` holds the unescaped text).
fn quoted_field(
    data: &[u8],
    open: usize,
    sep: u8,
    out: &mut String,
) -> Option<((usize, usize), bool, bool)> {
    let mut from = open + 1;
    let mut escaped = false;
    loop {
        let close = from + memchr::memchr(b'"', &data[from..])?;
        if data.get(close + 1) == Some(&b'"') {
            if !escaped {
                out.clear();
                escaped = true;
            }
            // SAFETY: UTF-8 text cut at ASCII quotes.
            out.push_str(unsafe { std::str::from_utf8_unchecked(&data[from..=close]) });
            from = close + 2;
            continue;
        }
        if escaped {
            // SAFETY: as above.
            out.push_str(unsafe { std::str::from_utf8_unchecked(&data[from..close]) });
        }
        let after = close + 1;
        let (next, eor) = match data.get(after) {
            None => (after, true),
            Some(&b) if b == sep => (after + 1, false),
            Some(b'\n') => (after + 1, true),
            Some(b'\r') if data.get(after + 1) == Some(&b'\n') => (after + 2, true),
            _ => return None,
        };
        return Some(((next, close), eor, escaped));
    }
}
