//! pandas' rules stated literally: the slow path for padded numbers and big integers.

use polars::prelude::*;

use super::columns::{all_missing, bool_column, float_column, raw_text_column, text_column};
use super::scalars::{is_na, is_plain_int, parse_bool, parse_f64, trim_c_space};
use super::{PandasDtype, Pass};

/// An integer token as pandas reads it (surrounding whitespace allowed).
#[derive(Clone, Copy)]
struct IntToken {
    value: IntValue,
    padded: bool,
}

#[derive(Clone, Copy)]
enum IntValue {
    Signed(i64),
    /// Above i64::MAX, within u64.
    Unsigned(u64),
    /// Outside [i64::MIN, u64::MAX].
    Huge {
        negative: bool,
    },
}

fn parse_int_token(s: &str) -> Option<IntToken> {
    let trimmed = trim_c_space(s);
    if !is_plain_int(trimmed) {
        return None;
    }
    let padded = trimmed.len() != s.len();
    let negative = trimmed.starts_with('-');
    let digits = trimmed.trim_start_matches(['+', '-']);
    let magnitude = digits.bytes().try_fold(0u128, |acc, b| {
        acc.checked_mul(10)?.checked_add(u128::from(b - b'0'))
    });
    let value = match magnitude {
        Some(m) if negative && m <= 1u128 << 63 => {
            IntValue::Signed((m as i128).wrapping_neg() as i64)
        }
        Some(m) if !negative && m <= i64::MAX as u128 => IntValue::Signed(m as i64),
        Some(m) if !negative && m <= u64::MAX as u128 => IntValue::Unsigned(m as u64),
        _ => IntValue::Huge { negative },
    };
    Some(IntToken { value, padded })
}

/// A float token as pandas reads it: inf spellings only verbatim, numbers
/// also with surrounding whitespace, and never a bare integer beyond uint64
/// (pandas then falls back to text).
fn parse_float_token(s: &str) -> Option<f64> {
    if let Some(v) = parse_f64(s).filter(|v| v.is_infinite()) {
        if !s.bytes().any(|b| b.is_ascii_digit()) {
            return Some(v);
        }
    }
    let trimmed = trim_c_space(s);
    let numeric = trimmed
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
    if !numeric {
        return None;
    }
    if is_huge_int(trimmed) {
        return None;
    }
    parse_f64(trimmed)
}

/// A non-negative integer token above uint64::MAX (whitespace allowed).
fn is_huge_int(s: &str) -> bool {
    parse_int_token(s).is_some_and(|t| matches!(t.value, IntValue::Huge { negative: false }))
}

/// pandas' rules, stated directly. Slow path for columns the fast pass
/// could not settle.
pub(super) fn exact(strings: &StringChunked) -> (Column, PandasDtype) {
    let name = strings.name().clone();
    let cells: Vec<Option<&str>> = strings
        .iter()
        .map(|cell| cell.filter(|s| !is_na(s)))
        .collect();
    let has_missing = cells.iter().any(Option::is_none);
    let present = || cells.iter().flatten();

    if present().next().is_none() {
        return (all_missing(name, cells.len()), PandasDtype::Float64);
    }
    if let Some(tokens) = present()
        .map(|s| parse_int_token(s))
        .collect::<Option<Vec<_>>>()
    {
        return int_column(strings, &cells, &tokens, has_missing);
    }
    if present().all(|s| parse_float_token(s).is_some()) {
        let values = cells
            .iter()
            .map(|c| c.and_then(parse_float_token).unwrap_or(f64::NAN))
            .collect();
        return (float_column(name, values), PandasDtype::Float64);
    }
    // Numbers where some are integers beyond uint64: pandas' answer depends
    // on order. Its integer pass stops at the first cell that is not an
    // int64/uint64: a float there sends the whole column to float64 (big
    // integers included); a big integer there leaves the raw text.
    if present().all(|s| parse_float_token(s).is_some() || is_huge_int(s)) {
        let in_int_range = |s: &&str| {
            parse_int_token(s).is_some_and(|t| !matches!(t.value, IntValue::Huge { .. }))
        };
        let first_stop = present().find(|s| !in_int_range(s));
        if first_stop.is_some_and(|s| !is_huge_int(s)) {
            let values = cells
                .iter()
                .map(|c| {
                    c.and_then(|s| parse_float_token(s).or_else(|| parse_f64(trim_c_space(s))))
                        .unwrap_or(f64::NAN)
                })
                .collect();
            return (float_column(name, values), PandasDtype::Float64);
        }
        return (raw_text_column(strings).into_column(), PandasDtype::Str);
    }
    if present().all(|s| parse_bool(s).is_some()) {
        if let Pass::Done(column, dtype) = bool_column(strings) {
            return (column, dtype);
        }
    }
    (text_column(strings).into_column(), PandasDtype::Str)
}

/// All present cells are integers; pick the dtype pandas picks:
/// int64 (float64 with NA); beyond int64: uint64 if nothing is negative or
/// missing, else raw text; beyond uint64: object of Python ints; a padded
/// big integer: float64, or raw text with missing values.
fn int_column(
    strings: &StringChunked,
    cells: &[Option<&str>],
    tokens: &[IntToken],
    has_missing: bool,
) -> (Column, PandasDtype) {
    let name = strings.name().clone();
    let any_big = tokens
        .iter()
        .any(|t| !matches!(t.value, IntValue::Signed(_)));
    let any_huge = tokens
        .iter()
        .any(|t| matches!(t.value, IntValue::Huge { .. }));
    let any_negative = tokens.iter().any(|t| match t.value {
        IntValue::Signed(v) => v < 0,
        IntValue::Unsigned(_) => false,
        IntValue::Huge { negative } => negative,
    });
    let any_padded = tokens.iter().any(|t| t.padded);

    if !any_big {
        let mut tokens = tokens.iter();
        let values: Vec<Option<i64>> = cells
            .iter()
            .map(|c| {
                c.and_then(|_| match tokens.next()?.value {
                    IntValue::Signed(v) => Some(v),
                    _ => None,
                })
            })
            .collect();
        return if has_missing {
            let floats = values
                .iter()
                .map(|v| v.map_or(f64::NAN, |v| v as f64))
                .collect();
            (float_column(name, floats), PandasDtype::Float64)
        } else {
            let ints = values.into_iter().map(Option::unwrap_or_default).collect();
            (
                Int64Chunked::from_vec(name, ints).into_column(),
                PandasDtype::Int64,
            )
        };
    }
    if any_padded && has_missing {
        return (raw_text_column(strings).into_column(), PandasDtype::Str);
    }
    if any_padded {
        let floats = cells
            .iter()
            .map(|c| {
                c.and_then(|s| parse_f64(trim_c_space(s)))
                    .unwrap_or(f64::NAN)
            })
            .collect();
        return (float_column(name, floats), PandasDtype::Float64);
    }
    if any_huge {
        return (text_column(strings).into_column(), PandasDtype::Object);
    }
    if !has_missing && !any_negative {
        let values = tokens
            .iter()
            .map(|t| match t.value {
                IntValue::Signed(v) => v as u64,
                IntValue::Unsigned(v) => v,
                IntValue::Huge { .. } => unreachable!("no huge values here"),
            })
            .collect();
        return (
            UInt64Chunked::from_vec(name, values).into_column(),
            PandasDtype::UInt64,
        );
    }
    (raw_text_column(strings).into_column(), PandasDtype::Str)
}
