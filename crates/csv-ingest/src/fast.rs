//! The loader's main path: a "plain" body (see `read::Body::plain_body`)
//! is cut into pieces at record boundaries and each piece is tokenized and
//! typed in one pass, in parallel, straight into column buffers.
//!
//! Columns the sample (`sample::sample_types`) guessed numeric are parsed to
//! i64/f64 cell by cell with `infer`'s own rules (the same integer and
//! float parsers, the same NA spellings, ints switching to floats), so the
//! values equal what `infer` would give. A numeric column meeting a cell it
//! cannot judge (text, a padded or huge number, a `-0` in ints that turn
//! into floats) is *failed* and read again as text, which `infer` then types.
//! Text columns go to `infer` as they are. Anything unusual for the
//! tokenizer (a blank line, a too-wide row, a stray quote) gives up and
//! leaves the whole file to the polars path, which also writes the errors.
//!
//! Why not polars here: its reader is general (dynamic builders, its own
//! float and null rules we had to undo); this pass measured ~2x faster on
//! the benchmark's mixed 100 MB file, see bench/RESULTS.md.

use polars::prelude::*;
use polars_arrow::array::{MutableBinaryViewArray, PrimitiveArray, Utf8ViewArray};
use rayon::prelude::*;

use crate::infer::{
    infer_with_chunks, is_na, is_plain_int, parse_f64, parse_i64, scan_decimal, scan_int, Inferred,
};
use crate::stream::{Numbers, Sink};
use crate::PandasDtype;

/// What to build for a column.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Kind {
    Int,
    Float,
    Text,
    /// Tokenize but keep nothing (the second pass only rebuilds failed columns).
    Skip,
}

/// Pieces are at least this big, so small files stay in one piece.
const MIN_PIECE_BYTES: usize = 1 << 18;
/// Pieces per thread: enough to even out uneven rows.
const PIECES_PER_THREAD: usize = 4;

/// The typed columns (in `names` order) and the height, or `None` when the
/// tokenizer gave up and the polars path must decide.
pub(crate) fn read(
    body: &[u8],
    sep: u8,
    names: &[String],
    kinds: &[Kind],
    rows_per_chunk: usize,
    sink: Option<&Sink>,
) -> Option<(usize, Vec<Inferred>)> {
    let pieces = split(body);
    if let Some(sink) = sink {
        sink.plan(&pieces, kinds);
    }
    let parsed = parse_pieces(&pieces, sep, kinds, sink)?;
    let height = parsed.iter().map(|p| p.rows).sum();
    let mut merged: Vec<Option<Inferred>> = transpose(parsed, kinds.len())
        .into_par_iter()
        .zip(names)
        .map(|(parts, name)| merge(name, parts, rows_per_chunk))
        .collect();

    let failed: Vec<usize> = (0..kinds.len()).filter(|&i| merged[i].is_none()).collect();
    if !failed.is_empty() {
        let again: Vec<Kind> = (0..kinds.len())
            .map(|i| {
                if merged[i].is_none() {
                    Kind::Text
                } else {
                    Kind::Skip
                }
            })
            .collect();
        let reparsed = parse_pieces(&pieces, sep, &again, None)?;
        let mut columns = transpose(reparsed, kinds.len());
        let jobs: Vec<(usize, Vec<Col>)> = failed
            .iter()
            .map(|&i| (i, std::mem::take(&mut columns[i])))
            .collect();
        let texts: Vec<(usize, Option<Inferred>)> = jobs
            .into_par_iter()
            .map(|(i, parts)| (i, merge(&names[i], parts, rows_per_chunk)))
            .collect();
        for (i, inferred) in texts {
            merged[i] = Some(inferred?);
        }
    }
    let columns = merged.into_iter().collect::<Option<Vec<_>>>()?;
    Some((height, columns))
}

/// Cut `body` into pieces that each start at a record boundary. Without
/// quotes any line break is one; with quotes, a line break outside a
/// quoted field (quote parity is the quoted state, as the body has no
/// irregular quotes).
fn split(body: &[u8]) -> Vec<&[u8]> {
    let target =
        (body.len() / (rayon::current_num_threads() * PIECES_PER_THREAD)).max(MIN_PIECE_BYTES);
    if body.len() <= target {
        return vec![body];
    }
    let starts: Vec<usize> = (1..body.len().div_ceil(target))
        .map(|k| k * target)
        .collect();
    let cuts: Vec<Option<usize>> = if memchr::memchr(b'"', body).is_none() {
        starts
            .par_iter()
            .map(|&s| memchr::memchr(b'\n', &body[s..]).map(|i| s + i + 1))
            .collect()
    } else {
        let parities: Vec<bool> = std::iter::once(0)
            .chain(starts.iter().copied())
            .collect::<Vec<_>>()
            .par_iter()
            .map(|&s| {
                memchr::memchr_iter(b'"', &body[s..(s + target).min(body.len())]).count() % 2 == 1
            })
            .collect();
        let mut inside = false;
        starts
            .iter()
            .zip(&parities)
            .map(|(&s, &odd)| {
                inside ^= odd;
                line_end_outside_quotes(body, s, inside)
            })
            .collect()
    };
    let mut pieces = Vec::with_capacity(cuts.len() + 1);
    let mut from = 0;
    for cut in cuts.into_iter().flatten() {
        if cut > from && cut < body.len() {
            pieces.push(&body[from..cut]);
            from = cut;
        }
    }
    pieces.push(&body[from..]);
    pieces
}

/// Just past the first line break at or after `start` that is outside
/// quotes, given whether `start` is inside a quoted field.
fn line_end_outside_quotes(body: &[u8], start: usize, mut inside: bool) -> Option<usize> {
    for (i, &b) in body[start..].iter().enumerate() {
        match b {
            b'"' => inside = !inside,
            b'\n' if !inside => return Some(start + i + 1),
            _ => {}
        }
    }
    None
}

/// Parse every piece in parallel; a `sink` gets each piece's numbers as soon
/// as the piece is done.
fn parse_pieces(
    pieces: &[&[u8]],
    sep: u8,
    kinds: &[Kind],
    sink: Option<&Sink>,
) -> Option<Vec<Piece>> {
    pieces
        .par_iter()
        .enumerate()
        .map(|(k, piece)| {
            let parsed = parse_piece(piece, sep, kinds)?;
            if let Some(sink) = sink {
                sink.piece_done(k, parsed.rows, &|c| parsed.columns[c].numbers());
            }
            Some(parsed)
        })
        .collect()
}

/// Per column, its part from each piece (in piece order).
fn transpose(pieces: Vec<Piece>, width: usize) -> Vec<Vec<Col>> {
    let mut columns: Vec<Vec<Col>> = (0..width)
        .map(|_| Vec::with_capacity(pieces.len()))
        .collect();
    for piece in pieces {
        for (column, part) in columns.iter_mut().zip(piece.columns) {
            column.push(part);
        }
    }
    columns
}

/// One parsed piece: its row count and a part per column.
struct Piece {
    rows: usize,
    columns: Vec<Col>,
}

/// A column's values within one piece.
enum Col {
    /// Integers so far; `missing` holds the rows that were NA (stored as 0).
    Int {
        values: Vec<i64>,
        missing: Vec<usize>,
        /// A `-0` was seen: as a float it is -0.0, which `v as f64` loses.
        negative_zero: bool,
    },
    /// Floats, NaN for missing (pandas' representation; no validity mask).
    Float(Vec<f64>),
    Text(MutableBinaryViewArray<str>),
    Skip,
    /// A cell this pass cannot type exactly: read the column as text.
    Failed,
}

impl Col {
    fn new(kind: Kind, rows: usize) -> Col {
        match kind {
            Kind::Int => Col::Int {
                values: Vec::with_capacity(rows),
                missing: Vec::new(),
                negative_zero: false,
            },
            Kind::Float => Col::Float(Vec::with_capacity(rows)),
            Kind::Text => Col::Text(MutableBinaryViewArray::with_capacity(rows)),
            Kind::Skip => Col::Skip,
        }
    }

    /// Add one cell (its text, quotes removed). Mirrors `infer`'s
    /// `FastPass` for numbers.
    #[inline]
    fn push(&mut self, cell: &str) {
        match self {
            Col::Int {
                values,
                missing,
                negative_zero,
            } => {
                if let Some(v) = parse_i64(cell) {
                    *negative_zero |= v == 0 && cell.starts_with('-');
                    values.push(v);
                } else if is_na(cell) {
                    missing.push(values.len());
                    values.push(0);
                } else if is_plain_int(cell) {
                    // Beyond int64: uint64, object or text, `infer` decides.
                    *self = Col::Failed;
                } else if let Some(v) = parse_f64(cell) {
                    *self = self.take_floats(true).map_or(Col::Failed, |mut floats| {
                        floats.push(v);
                        Col::Float(floats)
                    });
                } else {
                    *self = Col::Failed;
                }
            }
            Col::Float(values) => match parse_f64(cell) {
                // An integer too big for int64 may make pandas keep text.
                Some(_) if cell.len() >= 19 && is_plain_int(cell) => *self = Col::Failed,
                Some(v) => values.push(v),
                None if is_na(cell) => values.push(f64::NAN),
                None => *self = Col::Failed,
            },
            Col::Text(strings) => {
                if cell.is_empty() {
                    strings.push_null();
                } else {
                    strings.push_value(cell);
                }
            }
            Col::Skip | Col::Failed => {}
        }
    }

    /// The common numeric cell, read straight from the bytes without finding
    /// its end first: an unquoted plain integer (Int) or short decimal
    /// (Float) followed by the end of the field. Returns the position of the
    /// delimiter after it (`sep`, `\n` or the end of the data), or `None`
    /// to take the general path (which gives the same value when it is one).
    #[inline]
    fn push_number(&mut self, data: &[u8], pos: usize, sep: u8) -> Option<usize> {
        match self {
            Col::Int {
                values,
                negative_zero,
                ..
            } => {
                let (v, stop) = scan_int(data, pos)?;
                let end = delimiter_at(data, stop, sep)?;
                *negative_zero |= v == 0 && data[pos] == b'-';
                values.push(v);
                Some(end)
            }
            Col::Float(values) => {
                let (v, stop) = scan_decimal(data, pos)?;
                let end = delimiter_at(data, stop, sep)?;
                values.push(v);
                Some(end)
            }
            _ => None,
        }
    }

    /// The values of a numeric part, for early writing.
    fn numbers(&self) -> Numbers<'_> {
        match self {
            Col::Int { values, .. } => Numbers::Ints(values),
            Col::Float(values) => Numbers::Floats(values),
            _ => Numbers::None,
        }
    }

    /// A missing trailing field (the row is shorter than the header).
    fn push_missing(&mut self) {
        self.push("");
    }

    /// The integers as floats (NA -> NaN). pandas casts an int column with
    /// missing values (`-0` becomes 0.0) but parses every cell as a float
    /// once a float cell appears (`-0` stays -0.0): with `float_parse`,
    /// `None` when a `-0` would lose its sign.
    fn take_floats(&mut self, float_parse: bool) -> Option<Vec<f64>> {
        match std::mem::replace(self, Col::Failed) {
            Col::Int {
                values,
                missing,
                negative_zero,
            } if !(float_parse && negative_zero) => {
                let mut floats: Vec<f64> = values.iter().map(|&v| v as f64).collect();
                for i in missing {
                    floats[i] = f64::NAN;
                }
                Some(floats)
            }
            Col::Float(values) => Some(values),
            _ => None,
        }
    }
}

/// Join a column's parts into one typed column; `None` if it failed.
fn merge(name: &str, mut parts: Vec<Col>, rows_per_chunk: usize) -> Option<Inferred> {
    let name = PlSmallStr::from(name);
    if parts.iter().any(|p| matches!(p, Col::Failed)) {
        return None;
    }
    if parts.iter().all(|p| matches!(p, Col::Text(_))) {
        let chunks = parts.into_iter().map(|p| match p {
            Col::Text(strings) => Utf8ViewArray::from(strings),
            _ => unreachable!("checked above"),
        });
        let column = StringChunked::from_chunk_iter(name, chunks).into_column();
        return Some(infer_with_chunks(&column, rows_per_chunk));
    }
    let all_ints = parts
        .iter()
        .all(|p| matches!(p, Col::Int { missing, .. } if missing.is_empty()));
    if all_ints {
        let chunks = parts.into_iter().map(|p| match p {
            Col::Int { values, .. } => PrimitiveArray::from_vec(values),
            _ => unreachable!("checked above"),
        });
        let column = Int64Chunked::from_chunk_iter(name, chunks).into_column();
        return Some((column, PandasDtype::Int64, None));
    }
    let float_parse = parts.iter().any(|p| matches!(p, Col::Float(_)));
    let mut chunks = Vec::with_capacity(parts.len());
    for part in &mut parts {
        chunks.push(PrimitiveArray::from_vec(part.take_floats(float_parse)?));
    }
    let column = Float64Chunked::from_chunk_iter(name, chunks).into_column();
    Some((column, PandasDtype::Float64, None))
}

/// Tokenize one piece with pandas' rules for plain input: fields split at
/// `sep`, records at `\n` (a `\r` before it dropped), `"` quoting with `""`
/// escapes, short rows padded with missing values. `None` on a blank line
/// (pandas skips it), a too-wide row or a quote out of place.
fn parse_piece(data: &[u8], sep: u8, kinds: &[Kind]) -> Option<Piece> {
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
fn delimiter_at(data: &[u8], stop: usize, sep: u8) -> Option<usize> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    fn read_all(body: &[u8], kinds: &[Kind]) -> Option<(usize, Vec<Inferred>)> {
        read(body, b',', &names(kinds.len()), kinds, 1 << 20, None)
    }

    #[test]
    fn types_numbers_like_infer() {
        let body = b"1,1.5,x\n-2,NA,\"a,\"\"b\"\"\"\n3,2,z\r\n";
        let (rows, cols) = read_all(body, &[Kind::Int, Kind::Float, Kind::Text]).unwrap();
        assert_eq!(rows, 3);
        assert_eq!(cols[0].1, PandasDtype::Int64);
        assert_eq!(cols[1].1, PandasDtype::Float64);
        let f = cols[1].0.f64().unwrap();
        assert_eq!(f.get(0), Some(1.5));
        assert!(f.get(1).unwrap().is_nan());
        let s = cols[2].0.str().unwrap();
        assert_eq!(s.get(1), Some("a,\"b\""));
        assert_eq!(s.get(2), Some("z"));
    }

    #[test]
    fn ints_with_missing_or_floats_become_floats() {
        let (_, cols) = read_all(b"1,5\n,6\n3,7.5\n", &[Kind::Int, Kind::Int]).unwrap();
        assert_eq!(cols[0].1, PandasDtype::Float64);
        assert!(cols[0].0.f64().unwrap().get(1).unwrap().is_nan());
        assert_eq!(cols[1].1, PandasDtype::Float64);
        assert_eq!(cols[1].0.f64().unwrap().get(2), Some(7.5));
    }

    #[test]
    fn failed_numeric_columns_are_typed_as_text() {
        let (_, cols) = read_all(b"1,2\nx,3\n", &[Kind::Int, Kind::Int]).unwrap();
        assert_eq!(cols[0].1, PandasDtype::Str);
        assert_eq!(cols[1].1, PandasDtype::Int64);
        // Padded numbers: infer's exact rules, not this pass.
        let (_, cols) = read_all(b" 1\n2\n", &[Kind::Int]).unwrap();
        assert_eq!(cols[0].1, PandasDtype::Int64);
    }

    #[test]
    fn gives_up_on_what_the_polars_path_decides() {
        assert!(read_all(b"1,2\n\n3,4\n", &[Kind::Int, Kind::Int]).is_none());
        assert!(read_all(b"1,2\n3,4,5\n", &[Kind::Int, Kind::Int]).is_none());
        assert!(read_all(b"1,\"2\"x\n", &[Kind::Int, Kind::Text]).is_none());
    }

    #[test]
    fn short_rows_are_padded() {
        let (rows, cols) = read_all(b"1,a\n2\n", &[Kind::Int, Kind::Text]).unwrap();
        assert_eq!(rows, 2);
        assert_eq!(cols[1].0.str().unwrap().get(1), None);
    }

    #[test]
    fn pieces_split_outside_quotes() {
        let mut body = Vec::new();
        for i in 0..200_000 {
            body.extend_from_slice(format!("{i},\"line\n{i}, with \"\"quotes\"\"\"\n").as_bytes());
        }
        let pieces = split(&body);
        assert!(pieces.len() > 1);
        assert_eq!(pieces.iter().map(|p| p.len()).sum::<usize>(), body.len());
        for piece in &pieces {
            assert!(piece[0].is_ascii_digit(), "piece starts inside a record");
        }
        let (rows, cols) = read_all(&body, &[Kind::Int, Kind::Text]).unwrap();
        assert_eq!(rows, 200_000);
        assert_eq!(cols[0].1, PandasDtype::Int64);
        assert_eq!(
            cols[1].0.str().unwrap().get(199_999),
            Some("line\n199999, with \"quotes\"")
        );
    }
}
