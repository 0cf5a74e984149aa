//! Arrow IPC file output for the Python bridge (`arrow_bridge.py`).

mod body;
mod file;
mod pos_writer;

use std::fs::File;
use std::path::Path;

use polars::prelude::*;
use polars_arrow::datatypes::Metadata;

use crate::stream::Prewritten;
use crate::{LoadError, LoadedTable, MixedColumn};
use file::write_file;

pub(crate) use body::{numeric_bytes, padded};

/// Schema metadata key: comma-separated pandas dtype per frame column.
pub const PANDAS_DTYPES_KEY: &str = "csv_ingest.pandas_dtypes";
/// Schema metadata key: how many leading columns form the pandas index.
pub const INDEX_COLUMNS_KEY: &str = "csv_ingest.index_columns";
/// Schema metadata key: the mixed object columns, as
/// `column:rows_per_chunk:kind|kind|...` entries joined by `;`
/// (kinds: int, float, bool, str).
pub const MIXED_COLUMNS_KEY: &str = "csv_ingest.mixed_columns";

pub(crate) fn write(table: &mut LoadedTable, out: &Path) -> Result<u64, LoadError> {
    let file = File::create(out).map_err(|e| write_error(out, e.to_string()))?;
    finish(table, &file, out, None)
}

/// Complete a file whose numeric columns `pre` were written during the
/// parse; if the head does not fit before them, start the file over.
pub(crate) fn finish(
    table: &LoadedTable,
    file: &File,
    out: &Path,
    pre: Option<&Prewritten>,
) -> Result<u64, LoadError> {
    let fail = |e: PolarsError| write_error(out, e.to_string());
    let metadata = schema_metadata(table);
    if pre.is_some() {
        if let Some(len) = write_file(&table.frame, &metadata, file, pre).map_err(fail)? {
            return Ok(len);
        }
    }
    // Drop whatever was written early: the footer must end the file.
    file.set_len(0)
        .map_err(|e| write_error(out, e.to_string()))?;
    write_file(&table.frame, &metadata, file, None)
        .map_err(fail)?
        .ok_or_else(|| write_error(out, "no room for the file head".into()))
}

fn write_error(out: &Path, message: String) -> LoadError {
    LoadError::Write {
        path: out.to_path_buf(),
        message,
    }
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
