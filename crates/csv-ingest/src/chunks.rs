//! pandas' `low_memory` chunking. The C parser types each block of
//! `buffer_lines` rows on its own and then concatenates the blocks; when the
//! blocks got different dtypes (ints in the first block, text later, say)
//! the column becomes object, holding each block's values as that block
//! typed them, and pandas emits a DtypeWarning. Typing the whole column at
//! once would give `str` instead, so such columns are detected here.

use polars::prelude::*;

use crate::infer::value_kind;

/// How the values of one block of a mixed column are typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// Python int (the block was int64, uint64 or big integers).
    Int,
    /// Python float; missing values are NaN.
    Float,
    /// Python bool; missing values are NaN.
    Bool,
    /// Python str; missing values are NaN.
    Str,
}

impl ValueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ValueKind::Int => "int",
            ValueKind::Float => "float",
            ValueKind::Bool => "bool",
            ValueKind::Str => "str",
        }
    }
}

/// A column pandas returns as object because its `low_memory` blocks were
/// typed differently. The frame holds it as text (NA spellings as nulls);
/// block `i` covers rows `i * rows_per_chunk ..` and its values are
/// converted as `chunk_kinds[i]` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MixedColumn {
    /// Position in the frame (index columns included).
    pub column: usize,
    pub rows_per_chunk: usize,
    pub chunk_kinds: Vec<ValueKind>,
}

/// pandas' `buffer_lines` for a table `width` fields wide (header fields
/// plus implicit index columns): the largest power of two below
/// 2^20 / width.
pub(crate) fn pandas_chunk_rows(width: usize) -> usize {
    let heuristic = (1usize << 20) / width.max(1);
    let mut rows = 1;
    while rows * 2 < heuristic {
        rows *= 2;
    }
    rows
}

/// For a column typed `str` as a whole: the kind of each block, if pandas
/// would have typed some block as something other than text.
pub(crate) fn mixed_chunk_kinds(
    strings: &StringChunked,
    rows_per_chunk: usize,
) -> Option<Vec<ValueKind>> {
    if strings.len() <= rows_per_chunk {
        return None;
    }
    let kinds: Vec<ValueKind> = (0..strings.len())
        .step_by(rows_per_chunk)
        .map(|offset| value_kind(&strings.slice(offset as i64, rows_per_chunk)))
        .collect();
    kinds.iter().any(|k| *k != ValueKind::Str).then_some(kinds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_rows_match_pandas_buffer_lines() {
        // Checked against pandas 3.1: where a type change splits a column.
        assert_eq!(pandas_chunk_rows(2), 262_144);
        assert_eq!(pandas_chunk_rows(3), 262_144);
        assert_eq!(pandas_chunk_rows(5), 131_072);
        assert_eq!(pandas_chunk_rows(8), 65_536);
        assert_eq!(pandas_chunk_rows(10_000), 64);
    }

    #[test]
    fn detects_blocks_typed_differently() {
        let mut cells: Vec<Option<&str>> = vec![Some("1"); 4];
        cells.extend([Some("x"), None, Some("2"), Some("3")]);
        cells.extend([None, Some("NA"), None, None]);
        let strings = StringChunked::from_iter_options("c".into(), cells.into_iter());
        assert_eq!(
            mixed_chunk_kinds(&strings, 4),
            Some(vec![ValueKind::Int, ValueKind::Str, ValueKind::Float])
        );
        let text = StringChunked::from_iter_values("c".into(), ["a", "b", "c"].into_iter());
        assert_eq!(mixed_chunk_kinds(&text, 2), None);
    }
}
