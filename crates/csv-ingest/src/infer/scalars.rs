//! Cell parsers and tests with pandas' spellings: NA values, bools, ints, floats.

/// pandas' default `na_values` (empty fields are already null from polars).
pub(crate) fn is_na(s: &str) -> bool {
    // Every spelling is at most 8 bytes and starts with one of these bytes;
    // most text fails here without the full comparison.
    let first_fits = s
        .as_bytes()
        .first()
        .is_none_or(|b| matches!(b, b'#' | b'-' | b'1' | b'<' | b'N' | b'n'));
    s.len() <= 8
        && first_fits
        && matches!(
            s.as_bytes(),
            b"" | b"#N/A"
                | b"#N/A N/A"
                | b"#NA"
                | b"-1.#IND"
                | b"-1.#QNAN"
                | b"-NaN"
                | b"-nan"
                | b"1.#IND"
                | b"1.#QNAN"
                | b"<NA>"
                | b"N/A"
                | b"NA"
                | b"NULL"
                | b"NaN"
                | b"None"
                | b"n/a"
                | b"nan"
                | b"null"
        )
}

/// pandas' default true/false spellings (exact case, no whitespace).
pub(super) fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "True" | "TRUE" | "true" => Some(true),
        "False" | "FALSE" | "false" => Some(false),
        _ => None,
    }
}

/// `[+-]digits` into an i64; `None` on anything else, including overflow.
pub(crate) fn parse_i64(s: &str) -> Option<i64> {
    let bytes = s.as_bytes();
    let (negative, digits) = match bytes.first()? {
        b'-' => (true, &bytes[1..]),
        b'+' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    if digits.is_empty() {
        return None;
    }
    if digits.len() <= 18 {
        // Cannot overflow: the reader's own scan, which must take the whole cell.
        return scan_int(bytes, 0).and_then(|(v, end)| (end == bytes.len()).then_some(v));
    }
    // Accumulate negatively so i64::MIN fits.
    let mut value: i64 = 0;
    for &b in digits {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value.checked_mul(10)?.checked_sub(i64::from(digit))?;
    }
    if negative {
        Some(value)
    } else {
        value.checked_neg()
    }
}

/// A float as pandas' parser accepts it without surrounding whitespace:
/// decimal/exponent forms and inf/infinity spellings. fast-float also reads
/// "nan" spellings, which pandas does not (they are NA or text).
pub(crate) fn parse_f64(s: &str) -> Option<f64> {
    short_decimal(s.as_bytes())
        .or_else(|| fast_float2::parse::<f64, _>(s).ok().filter(|v| !v.is_nan()))
}

/// `[+-]digits[.digits]` with at most 15 digits, the common case, without
/// the general parser.
fn short_decimal(bytes: &[u8]) -> Option<f64> {
    scan_decimal(bytes, 0).and_then(|(v, end)| (end == bytes.len()).then_some(v))
}

/// Read `[+-]digits[.digits]` (at most 15 digits) from `pos`, stopping at
/// the first other byte: the value and where it stopped. The digits fit a
/// double exactly, so does the power of ten (at most 10^15), and IEEE
/// division rounds correctly: the same bits fast-float gives.
#[inline]
pub(crate) fn scan_decimal(bytes: &[u8], pos: usize) -> Option<(f64, usize)> {
    const POWERS: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (negative, mut i) = match bytes.get(pos)? {
        b'-' => (true, pos + 1),
        b'+' => (false, pos + 1),
        _ => (false, pos),
    };
    let mut mantissa: u64 = 0;
    let mut digits = 0;
    let mut point = None;
    while let Some(&b) = bytes.get(i) {
        let digit = b.wrapping_sub(b'0');
        if digit <= 9 {
            if digits == 15 {
                return None;
            }
            mantissa = mantissa * 10 + u64::from(digit);
            digits += 1;
        } else if b == b'.' && point.is_none() {
            point = Some(i);
        } else {
            break;
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    let scale = point.map_or(0, |p| i - p - 1);
    let value = mantissa as f64 / POWERS[scale];
    Some((if negative { -value } else { value }, i))
}

/// Read `[+-]digits` (at most 18 digits, so no overflow) from `pos`: the
/// value and where it stopped. The same values `parse_i64` gives.
#[inline]
pub(crate) fn scan_int(bytes: &[u8], pos: usize) -> Option<(i64, usize)> {
    let (negative, start) = match bytes.get(pos)? {
        b'-' => (true, pos + 1),
        b'+' => (false, pos + 1),
        _ => (false, pos),
    };
    let mut value: i64 = 0;
    let mut i = start;
    while let Some(&b) = bytes.get(i) {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        if i - start == 18 {
            return None;
        }
        value = value * 10 + i64::from(digit);
        i += 1;
    }
    if i == start {
        return None;
    }
    Some((if negative { -value } else { value }, i))
}

/// Bytes C's `isspace` accepts; pandas' number parsers skip them.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C)
}

pub(super) fn trim_c_space(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii() && is_c_space(c as u8))
}

pub(crate) fn is_plain_int(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Cells the fast pass cannot judge: padded numbers and integers that
/// overflow int64.
pub(super) fn needs_exact(s: &str) -> bool {
    let bytes = s.as_bytes();
    let padded = bytes.first().is_some_and(|&b| is_c_space(b))
        || bytes.last().is_some_and(|&b| is_c_space(b));
    padded || is_plain_int(s)
}
