//! Guess each column's kind from the first rows, so `fast` parses numeric
//! columns straight to numbers. A wrong guess only costs time: `fast`
//! re-reads a numeric column that meets a cell it cannot type as text.

use crate::fast::Kind;
use crate::infer::{is_plain_int, parse_f64, parse_i64};
use crate::read::Layout;
use crate::records::{Fields, Scanner};

/// Data rows looked at to guess column types.
const SAMPLE_ROWS: usize = 1000;
/// Floats at or beyond this magnitude may be integers pandas keeps as text.
const FLOAT_LIMIT: f64 = 18_446_744_073_709_551_616.0;

/// Per column: Int64 if every sampled cell is a plain int64, Float64 if
/// every sampled cell is a finite float and some is not an integer, else
/// String. Missing or NA cells make a column String (polars would read them
/// as null, which sends the column back anyway).
pub(crate) fn sample_types(text: &[u8], layout: &Layout, sep: u8, width: usize) -> Vec<Kind> {
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
            Err(_) => return vec![Kind::Text; width],
        }
        if fields.len() > width {
            return vec![Kind::Text; width];
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
            Guess::Int if rows > 0 => Kind::Int,
            Guess::Float => Kind::Float,
            _ => Kind::Text,
        })
        .collect()
}

/// A float pandas reads as float64 in any column of floats. Integers beyond
/// int64 are not: they decide between uint64, text and object.
fn is_float_cell(cell: &str) -> bool {
    !is_plain_int(cell) && parse_f64(cell).is_some_and(|v| v.is_finite() && v.abs() < FLOAT_LIMIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_guesses_numeric_columns() {
        let text = b"a,b,c,d\n1,1.5,x,1\n-2,2,y,\n";
        let layout = crate::read::read_layout(text, b',', "t.csv").unwrap();
        assert_eq!(
            sample_types(text, &layout, b',', 4),
            [Kind::Int, Kind::Float, Kind::Text, Kind::Text]
        );
    }
}
