//! pandas' per-column type inference, applied to the all-string columns
//! polars read.
//!
//! Every column is classified from all of its rows. A single fused pass per
//! column handles the common cases (plain ints, floats, booleans, text) and
//! builds the numeric values as it goes; text columns usually bail out on the
//! first cell. Anything unusual (numbers padded with whitespace, integers
//! beyond int64) goes to `exact`, a slower but literal statement of
//! pandas' rules.

mod columns;
mod exact;
mod fast_pass;
mod scalars;

use polars::prelude::*;
use rayon::prelude::*;

use crate::chunks::{mixed_chunk_kinds, pandas_chunk_rows, MixedColumn, ValueKind};
use crate::LoadError;
use columns::text_column;
use exact::exact;
use fast_pass::fast_pass;

pub(crate) use scalars::{is_na, is_plain_int, parse_f64, parse_i64, scan_decimal, scan_int};

/// The pandas dtype `pd.read_csv` gives a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PandasDtype {
    Int64,
    UInt64,
    Float64,
    Bool,
    /// Booleans with missing values (polars Boolean with nulls; pandas makes
    /// an object column of True/False/NaN), integers outside the
    /// int64/uint64 range (polars String; pandas makes Python ints), or a
    /// [`MixedColumn`] (polars String).
    Object,
    /// pandas 3's default string dtype (`str`); missing values are nulls.
    Str,
}

impl PandasDtype {
    /// The name pandas prints for the dtype.
    pub fn as_str(self) -> &'static str {
        match self {
            PandasDtype::Int64 => "int64",
            PandasDtype::UInt64 => "uint64",
            PandasDtype::Float64 => "float64",
            PandasDtype::Bool => "bool",
            PandasDtype::Object => "object",
            PandasDtype::Str => "str",
        }
    }
}

/// The typed frame plus what the Arrow writer needs to rebuild the pandas
/// frame.
pub(crate) struct Typed {
    pub frame: DataFrame,
    pub dtypes: Vec<PandasDtype>,
    pub mixed: Vec<MixedColumn>,
}

/// Infer every column of `raw` (all String) in parallel.
pub(crate) fn infer_frame(raw: &DataFrame) -> Result<Typed, LoadError> {
    let rows_per_chunk = pandas_chunk_rows(raw.width());
    let inferred: Vec<Inferred> = raw
        .columns()
        .par_iter()
        .map(|column| infer_with_chunks(column, rows_per_chunk))
        .collect();
    assemble(raw.height(), inferred, rows_per_chunk)
}

/// One typed column: values, pandas dtype, and the block kinds of a mixed
/// column.
pub(crate) type Inferred = (Column, PandasDtype, Option<Vec<ValueKind>>);

/// Put typed columns (in frame order) together into the frame.
pub(crate) fn assemble(
    height: usize,
    inferred: Vec<Inferred>,
    rows_per_chunk: usize,
) -> Result<Typed, LoadError> {
    let mut columns = Vec::with_capacity(inferred.len());
    let mut dtypes = Vec::with_capacity(inferred.len());
    let mut mixed = Vec::new();
    for (i, (column, dtype, chunk_kinds)) in inferred.into_iter().enumerate() {
        columns.push(column);
        dtypes.push(dtype);
        if let Some(chunk_kinds) = chunk_kinds {
            mixed.push(MixedColumn {
                column: i,
                rows_per_chunk,
                chunk_kinds,
            });
        }
    }
    let frame = DataFrame::new(height, columns)
        .map_err(|e| LoadError::Parse(format!("could not assemble the table: {e}")))?;
    Ok(Typed {
        frame,
        dtypes,
        mixed,
    })
}

/// A text column may still be object in pandas, see `chunks`.
pub(crate) fn infer_with_chunks(column: &Column, rows_per_chunk: usize) -> Inferred {
    let (typed, dtype) = infer_column(column);
    if dtype != PandasDtype::Str {
        return (typed, dtype, None);
    }
    let strings = column.str().expect("columns are read with a String schema");
    match mixed_chunk_kinds(strings, rows_per_chunk) {
        Some(kinds) => (typed, PandasDtype::Object, Some(kinds)),
        None => (typed, dtype, None),
    }
}

/// How pandas types the values of `strings`, without keeping the result
/// when it is text.
pub(crate) fn value_kind(strings: &StringChunked) -> ValueKind {
    let (column, dtype) = match fast_pass(strings) {
        Pass::Text => return ValueKind::Str,
        Pass::Done(column, dtype) => (column, dtype),
        Pass::Exact => exact(strings),
    };
    match column.dtype() {
        DataType::Boolean => ValueKind::Bool,
        DataType::Int64 | DataType::UInt64 => ValueKind::Int,
        DataType::Float64 => ValueKind::Float,
        _ if dtype == PandasDtype::Object => ValueKind::Int,
        _ => ValueKind::Str,
    }
}

fn infer_column(column: &Column) -> (Column, PandasDtype) {
    let strings = column.str().expect("columns are read with a String schema");
    match fast_pass(strings) {
        Pass::Done(column, dtype) => (column, dtype),
        Pass::Text => (text_column(strings).into_column(), PandasDtype::Str),
        Pass::Exact => exact(strings),
    }
}

enum Pass {
    Done(Column, PandasDtype),
    Text,
    Exact,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(cells: &[Option<&str>]) -> (Column, PandasDtype) {
        let strings = StringChunked::from_iter_options("c".into(), cells.iter().copied());
        infer_column(&strings.into_column())
    }

    fn dtype(cells: &[&str]) -> PandasDtype {
        let cells: Vec<Option<&str>> = cells
            .iter()
            .map(|s| if s.is_empty() { None } else { Some(*s) })
            .collect();
        infer(&cells).1
    }

    fn floats(cells: &[&str]) -> Vec<f64> {
        let cells: Vec<Option<&str>> = cells.iter().map(|s| Some(*s)).collect();
        let (column, _) = infer(&cells);
        column.f64().unwrap().iter().map(|v| v.unwrap()).collect()
    }

    // Every expectation below was checked against pandas 3.1 pd.read_csv.
    #[test]
    fn integer_columns() {
        use PandasDtype::*;
        assert_eq!(dtype(&["1", "-2", "+3", "007"]), Int64);
        assert_eq!(dtype(&[" 1 ", "2"]), Int64);
        assert_eq!(dtype(&["\t5\t", "1"]), Int64);
        assert_eq!(dtype(&["1", "NA"]), Float64);
        assert_eq!(dtype(&["1", ""]), Float64);
        assert_eq!(dtype(&["-9223372036854775808", "1"]), Int64);
        assert_eq!(dtype(&["9223372036854775808", "1"]), UInt64);
        assert_eq!(dtype(&["18446744073709551615", "1"]), UInt64);
        assert_eq!(dtype(&["9223372036854775808", "NA"]), Str);
        assert_eq!(dtype(&[" 9223372036854775808", "NA"]), Str);
        assert_eq!(dtype(&["9223372036854775808", "-1"]), Str);
        assert_eq!(dtype(&["99999999999999999999999", "1"]), Object);
        assert_eq!(dtype(&["99999999999999999999999", "NA"]), Object);
        assert_eq!(dtype(&["-9223372036854775809", "1"]), Object);
        assert_eq!(dtype(&[" 9223372036854775808 ", "1"]), Float64);
        assert_eq!(dtype(&["1_000", "2"]), Str);
        assert_eq!(dtype(&["0x10", "2"]), Str);
        assert_eq!(dtype(&[" - 5", "1"]), Str);
    }

    #[test]
    fn float_columns() {
        use PandasDtype::*;
        assert_eq!(dtype(&["1e5", "1E-3", ".5", "5."]), Float64);
        assert_eq!(dtype(&["1", "1.5"]), Float64);
        assert_eq!(dtype(&[" 1.5 ", "2"]), Float64);
        assert_eq!(dtype(&["inf", "-Inf", "INFINITY", "+inf", "1"]), Float64);
        assert_eq!(dtype(&[" inf", "3"]), Str);
        assert_eq!(dtype(&["NAN", "1"]), Str);
        assert_eq!(dtype(&["1.5", "Nan"]), Str);
        assert_eq!(dtype(&["1.5", "nan", "-NaN", "1.#IND"]), Float64);
        assert_eq!(dtype(&["1e", "2"]), Str);
        assert_eq!(dtype(&["1 5", "2"]), Str);
        assert_eq!(dtype(&["18446744073709551615", "1.5"]), Float64);
        assert_eq!(dtype(&["18446744073709551616", "1.5"]), Str);
        assert_eq!(dtype(&["1.5", "18446744073709551616"]), Float64);
        assert_eq!(dtype(&["-18446744073709551616", "1.5"]), Float64);
        assert_eq!(dtype(&["", "NA"]), Float64);
        // An int column with NA is cast (0.0); a float cell makes pandas parse "-0" (-0.0).
        assert!(floats(&["-0", "NA"])[0].is_sign_positive());
        assert!(floats(&["-0", "1.5"])[0].is_sign_negative());
        assert_eq!(
            floats(&["1e400", "1e-400", "-0", "1.5"]),
            [f64::INFINITY, 0.0, -0.0, 1.5]
        );
        assert!(floats(&["-0", "1.5"])[0].is_sign_negative());
    }

    #[test]
    fn bool_and_text_columns() {
        use PandasDtype::*;
        assert_eq!(dtype(&["True", "false", "TRUE"]), Bool);
        assert_eq!(dtype(&["True", "", "False"]), Object);
        assert_eq!(dtype(&[" True", "False"]), Str);
        assert_eq!(dtype(&["True", "1"]), Str);
        assert_eq!(dtype(&["1", "True"]), Str);
        assert_eq!(dtype(&["T", "F"]), Str);
        assert_eq!(dtype(&["  ", "1"]), Str);
        assert_eq!(dtype(&["a", "NA", "b"]), Str);
    }

    #[test]
    fn uint64_fallback_keeps_na_spellings_as_text() {
        let (column, dtype) = infer(&[Some("9223372036854775808"), Some("NA"), None]);
        assert_eq!(dtype, PandasDtype::Str);
        let values: Vec<Option<&str>> = column.str().unwrap().iter().collect();
        assert_eq!(values, [Some("9223372036854775808"), Some("NA"), Some("")]);
    }

    #[test]
    fn text_masks_na_spellings_without_copying_strings() {
        let (column, dtype) = infer(&[Some("a"), Some("NA"), None, Some("n/a"), Some("x y")]);
        assert_eq!(dtype, PandasDtype::Str);
        let values: Vec<Option<&str>> = column.str().unwrap().iter().collect();
        assert_eq!(values, [Some("a"), None, None, None, Some("x y")]);
    }
}
