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

mod column;
mod split;
mod tokenize;

use rayon::prelude::*;

use crate::infer::Inferred;
use crate::stream::Sink;
#[cfg(test)]
use crate::PandasDtype;
use column::{merge, Col, Piece};
use split::split;
use tokenize::parse_piece;

/// What to build for a column.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Kind {
    Int,
    Float,
    Text,
    /// Tokenize but keep nothing (the second pass only rebuilds failed columns).
    Skip,
}

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
