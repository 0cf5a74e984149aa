//! Fast path: columns that look numeric in a sample are parsed by polars
//! straight into Int64/Float64, skipping the string columns and the typing
//! pass for them.
//!
//! polars' number parsing is close to, but not exactly, pandas': it skips
//! leading spaces and tabs in front of any number (pandas rejects `" inf"`),
//! reads whitespace-only fields as null (pandas: text), reads `nan`
//! spellings as NaN (pandas: NA for some, text for others) and reads
//! integers beyond uint64 as floats (pandas: text). So a typed column is
//! only kept when it has no nulls (unparsable cells become null) and, for
//! floats, only finite values below 2^64 in magnitude. Every other column,
//! and every column where the sample guessed wrong, is read again as
//! strings and typed by `infer`, as on the slow path. With those checks the
//! typed values are exactly what `infer` gives: the same integer parse, and
//! the same fast-float parse for floats.

use polars::prelude::*;
use rayon::prelude::*;

use crate::infer::{infer_with_chunks, is_plain_int, parse_f64, parse_i64, Inferred};
use crate::read::{Body, Layout};
use crate::records::{Fields, Scanner};
use crate::PandasDtype;

/// Data rows looked at to guess column types.
const SAMPLE_ROWS: usize = 1000;
/// Floats at or beyond this magnitude may be integers pandas keeps as text.
const FLOAT_LIMIT: f64 = 18_446_744_073_709_551_616.0;

/// Per column: Int64 if every sampled cell is a plain int64, Float64 if
/// every sampled cell is a finite float and some is not an integer, else
/// String. Missing or NA cells make a column String (polars would read them
/// as null, which sends the column back anyway).
pub(crate) fn sample_types(text: &[u8], layout: &Layout, sep: u8, width: usize) -> Vec<DataType> {
    #[derive(Clone, Copy, PartialEq)]
    enum Guess {
        Int,
        Float,
        Text,
    }
    let mut guesses = vec![Guess::Int; width];
    let mut scanner = Scanner::resume(text, sep, layout.body_start, layout.body_line);
    let mut fields = Fields::default();
    let mut rows = 0;
    while rows < SAMPLE_ROWS {
        match scanner.next_record(&mut fields) {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => return vec![DataType::String; width],
        }
        if fields.len() > width {
            return vec![DataType::String; width];
        }
        for (i, guess) in guesses.iter_mut().enumerate() {
            if *guess == Guess::Text {
                continue;
            }
            let cell = if i < fields.len() {
                std::str::from_utf8(fields.get(i)).unwrap_or("")
            } else {
                ""
            };
            *guess = match *guess {
                Guess::Int if parse_i64(cell).is_some() => Guess::Int,
                Guess::Float if parse_i64(cell).is_some() => Guess::Float,
                _ if is_float_cell(cell) => Guess::Float,
                _ => Guess::Text,
            };
        }
        rows += 1;
    }
    guesses
        .into_iter()
        .map(|g| match g {
            Guess::Int if rows > 0 => DataType::Int64,
            Guess::Float => DataType::Float64,
            _ => DataType::String,
        })
        .collect()
}

/// A float pandas reads as float64 in any column of floats. Integers beyond
/// int64 are not: they decide between uint64, text and object.
fn is_float_cell(cell: &str) -> bool {
    !is_plain_int(cell) && parse_f64(cell).is_some_and(|v| v.is_finite() && v.abs() < FLOAT_LIMIT)
}

/// The typed columns (frame order) and the height, or `None` when the slow
/// path has to decide (polars failed, or the file may have blank lines).
pub(crate) fn read_typed(
    body: &Body,
    plain: &[u8],
    types: &[DataType],
    rows_per_chunk: usize,
) -> Option<(usize, Vec<Inferred>)> {
    let mut frame = body.polars_read_as(plain, types, None).ok()?;
    // A blank line is a row of nulls to polars (pandas skips it). If some
    // column past the first has no null there is none (as in
    // `has_blank_line_rows`); else look for one in the bytes.
    let nulls_everywhere = frame.columns().iter().skip(1).all(|c| c.null_count() > 0);
    if nulls_everywhere && may_have_blank_lines(plain) {
        return None;
    }
    let height = frame.height();
    let reread: Vec<usize> = (0..types.len())
        .filter(|&i| types[i] != DataType::String && !typed_ok(&frame.columns()[i]))
        .collect();
    if !reread.is_empty() {
        let strings = vec![DataType::String; types.len()];
        let again = body
            .polars_read_as(plain, &strings, Some(reread.clone()))
            .ok()?;
        if again.width() != reread.len() || again.height() != height {
            return None;
        }
        let mut columns = frame.into_columns();
        for (&i, column) in reread.iter().zip(again.into_columns()) {
            if column.name() != columns[i].name() {
                return None;
            }
            columns[i] = column;
        }
        frame = DataFrame::new(height, columns).ok()?;
    }
    let inferred = frame
        .into_columns()
        .into_par_iter()
        .map(|column| match column.dtype() {
            DataType::Int64 => (column, PandasDtype::Int64, None),
            DataType::Float64 => (column, PandasDtype::Float64, None),
            _ => infer_with_chunks(&column, rows_per_chunk),
        })
        .collect();
    Some((height, inferred))
}

/// A typed column polars read exactly as pandas would type it.
fn typed_ok(column: &Column) -> bool {
    if column.null_count() > 0 {
        return false;
    }
    match column.dtype() {
        DataType::Int64 => true,
        DataType::Float64 => column
            .f64()
            .expect("Float64 column")
            .downcast_iter()
            .all(|a| a.values().iter().all(|v| v.abs() < FLOAT_LIMIT)),
        _ => false,
    }
}

/// Whether some line holds only spaces, tabs or `\r`. Conservative: a
/// blank line inside a quoted field, or a line of tab separators, counts.
fn may_have_blank_lines(body: &[u8]) -> bool {
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', body).chain(std::iter::once(body.len())) {
        let line = &body[start..end];
        let last = end == body.len();
        if !(last && line.is_empty()) && line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
            return true;
        }
        start = end + 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_blank_lines() {
        assert!(!may_have_blank_lines(b"1,2\n3,4\n"));
        assert!(!may_have_blank_lines(b"1,2\r\n3,4"));
        assert!(may_have_blank_lines(b"1,2\n\n3,4\n"));
        assert!(may_have_blank_lines(b"1,2\r\n \t\r\n3,4\r\n"));
        assert!(may_have_blank_lines(b"1,2\n  "));
        assert!(may_have_blank_lines(b"\n1,2\n"));
    }

    #[test]
    fn sample_guesses_numeric_columns() {
        let text = b"a,b,c,d\n1,1.5,x,1\n-2,2,y,\n";
        let layout = crate::read::read_layout(text, b',', "t.csv").unwrap();
        assert_eq!(
            sample_types(text, &layout, b',', 4),
            [
                DataType::Int64,
                DataType::Float64,
                DataType::String,
                DataType::String
            ]
        );
    }
}
