//! Per-piece column buffers (numbers parsed cell by cell) and their merge into typed columns.

use polars::prelude::*;
use polars_arrow::array::{MutableBinaryViewArray, PrimitiveArray, Utf8ViewArray};

use super::tokenize::delimiter_at;
use super::Kind;
use crate::infer::{
    infer_with_chunks, is_na, is_plain_int, parse_f64, parse_i64, scan_decimal, scan_int, Inferred,
};
use crate::stream::Numbers;
use crate::PandasDtype;

/// One parsed piece: its row count and a part per column.
pub(super) struct Piece {
    pub(super) rows: usize,
    pub(super) columns: Vec<Col>,
}

/// A column's values within one piece.
pub(super) enum Col {
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
    pub(super) fn new(kind: Kind, rows: usize) -> Col {
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
    pub(super) fn push(&mut self, cell: &str) {
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
    pub(super) fn push_number(&mut self, data: &[u8], pos: usize, sep: u8) -> Option<usize> {
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
    pub(super) fn numbers(&self) -> Numbers<'_> {
        match self {
            Col::Int { values, .. } => Numbers::Ints(values),
            Col::Float(values) => Numbers::Floats(values),
            _ => Numbers::None,
        }
    }

    /// A missing trailing field (the row is shorter than the header).
    pub(super) fn push_missing(&mut self) {
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
pub(super) fn merge(name: &str, mut parts: Vec<Col>, rows_per_chunk: usize) -> Option<Inferred> {
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
