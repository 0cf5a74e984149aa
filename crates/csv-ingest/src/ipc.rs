//! Arrow IPC file output for the Python bridge (`arrow_bridge.py`).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use polars::prelude::*;
use polars_arrow::datatypes::Metadata;
use rayon::prelude::*;

use crate::{LoadError, LoadedTable, MixedColumn};

/// Rows per Arrow record batch. Batches keep the writer's encode buffer
/// small and reused instead of one buffer the size of the file.
const BATCH_ROWS: usize = 1 << 16;
/// Upper bound on batches x columns.
const MAX_COLUMN_BATCHES: usize = 1 << 14;

/// Schema metadata key: comma-separated pandas dtype per frame column.
pub const PANDAS_DTYPES_KEY: &str = "csv_ingest.pandas_dtypes";
/// Schema metadata key: how many leading columns form the pandas index.
pub const INDEX_COLUMNS_KEY: &str = "csv_ingest.index_columns";
/// Schema metadata key: the mixed object columns, as
/// `column:rows_per_chunk:kind|kind|...` entries joined by `;`
/// (kinds: int, float, bool, str).
pub const MIXED_COLUMNS_KEY: &str = "csv_ingest.mixed_columns";

pub(crate) fn write(table: &mut LoadedTable, out: &Path) -> Result<u64, LoadError> {
    let fail = |message: String| LoadError::Write {
        path: out.to_path_buf(),
        message,
    };
    let file = File::create(out).map_err(|e| fail(e.to_string()))?;
    let mut buffered = BufWriter::with_capacity(1 << 20, file);
    let mut batched = aligned_batches(&table.frame).map_err(|e| fail(e.to_string()))?;
    // Uncompressed so Python can memory-map the buffers; the oldest compat
    // level writes large_string, the layout pandas' `str` dtype uses, so
    // Python does not convert from string_view.
    let mut writer = IpcWriter::new(&mut buffered)
        .with_compression(None)
        .with_compat_level(CompatLevel::oldest());
    writer.set_custom_schema_metadata(Arc::new(schema_metadata(table)));
    writer
        .finish(&mut batched)
        .map_err(|e| fail(e.to_string()))?;
    let file = buffered
        .into_inner()
        .map_err(|e| fail(e.error().to_string()))?;
    let size = file.metadata().map_err(|e| fail(e.to_string()))?.len();
    Ok(size)
}

fn schema_metadata(table: &LoadedTable) -> Metadata {
    let dtypes: Vec<&str> = table.pandas_dtypes.iter().map(|d| d.as_str()).collect();
    let mut metadata = Metadata::new();
    metadata.insert(PANDAS_DTYPES_KEY.into(), dtypes.join(",").into());
    metadata.insert(
        INDEX_COLUMNS_KEY.into(),
        table.index_columns.to_string().into(),
    );
    metadata.insert(
        MIXED_COLUMNS_KEY.into(),
        mixed_columns_entry(&table.mixed_columns).into(),
    );
    metadata
}

fn mixed_columns_entry(mixed: &[MixedColumn]) -> String {
    let entries: Vec<String> = mixed
        .iter()
        .map(|m| {
            let kinds: Vec<&str> = m.chunk_kinds.iter().map(|k| k.as_str()).collect();
            format!("{}:{}:{}", m.column, m.rows_per_chunk, kinds.join("|"))
        })
        .collect();
    entries.join(";")
}

/// The frame cut into record batches, every column cut at the same rows
/// (the IPC writer requires aligned chunks). Slicing is zero-copy; a piece
/// is only concatenated if it spans two chunks of its column.
fn aligned_batches(frame: &DataFrame) -> PolarsResult<DataFrame> {
    let lengths = batch_lengths(frame);
    let columns = frame
        .columns()
        .par_iter()
        .map(|column| {
            let series = column.as_materialized_series();
            let mut pieces = batch_ranges(&lengths)
                .map(|(offset, len)| series.slice(offset as i64, len).rechunk());
            let mut out = pieces.next().unwrap_or_else(|| series.clone());
            for piece in pieces {
                out.append(&piece)?;
            }
            Ok(out.into_column())
        })
        .collect::<PolarsResult<Vec<Column>>>()?;
    DataFrame::new(frame.height(), columns)
}

/// The reader's chunking when all multi-chunk columns share it (then
/// nothing is concatenated), else `BATCH_ROWS`-row batches; merged so that
/// there are at most `MAX_COLUMN_BATCHES / width` batches, because each
/// column of each batch has a fixed cost (a wide table read in many small
/// chunks would otherwise write mostly metadata).
fn batch_lengths(frame: &DataFrame) -> Vec<usize> {
    let max_batches = (MAX_COLUMN_BATCHES / frame.width().max(1)).max(1);
    merge_lengths(&base_lengths(frame), max_batches)
}

fn base_lengths(frame: &DataFrame) -> Vec<usize> {
    let mut chunked = frame
        .columns()
        .iter()
        .filter(|c| c.n_chunks() > 1)
        .map(|c| {
            c.as_materialized_series()
                .chunk_lengths()
                .collect::<Vec<_>>()
        });
    if let Some(first) = chunked.next() {
        if chunked.all(|lengths| lengths == first) {
            return first;
        }
    }
    let height = frame.height();
    (0..height)
        .step_by(BATCH_ROWS)
        .map(|offset| BATCH_ROWS.min(height - offset))
        .collect()
}

/// Join neighbouring lengths into at most about `max_batches` groups.
fn merge_lengths(lengths: &[usize], max_batches: usize) -> Vec<usize> {
    if lengths.len() <= max_batches {
        return lengths.to_vec();
    }
    let total: usize = lengths.iter().sum();
    let target = total.div_ceil(max_batches);
    let mut merged = Vec::with_capacity(max_batches + 1);
    let mut current = 0;
    for &len in lengths {
        current += len;
        if current >= target {
            merged.push(current);
            current = 0;
        }
    }
    if current > 0 {
        merged.push(current);
    }
    merged
}

fn batch_ranges(lengths: &[usize]) -> impl Iterator<Item = (usize, usize)> + '_ {
    lengths.iter().scan(0, |offset, &len| {
        let start = *offset;
        *offset += len;
        Some((start, len))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_small_batches() {
        assert_eq!(merge_lengths(&[5, 5, 5], 3), [5, 5, 5]);
        assert_eq!(merge_lengths(&[5, 5, 5, 5, 5], 2), [15, 10]);
        assert_eq!(merge_lengths(&[20, 17, 17, 17], 1), [71]);
    }
}
