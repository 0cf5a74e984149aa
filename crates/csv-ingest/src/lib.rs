//! Load a CSV with polars into a table that, handed to pandas through Arrow
//! (see `kernel/src/worker/arrow_bridge.py`), is the frame
//! `pd.read_csv(path)` with default arguments would give: same shape,
//! column names, dtypes and values.
//!
//! Model-written analysis code assumes exactly that frame, so the choices
//! below follow pandas 3.1, checked against it:
//!
//! * **Separator** `,`; for a `.tsv` file a tab (plain `read_csv` would use a
//!   comma, but a tab is what the user means). Quote `"`, doubled to escape.
//! * **Encoding** UTF-8, UTF-8 with BOM (BOM removed from the first name),
//!   else latin-1 (`pd.read_csv` would raise; this matches
//!   `encoding="latin-1"`). Reported in [`LoadedTable::encoding`].
//! * **Lines** end at `\n`, `\r\n` or a lone `\r`. Blank and
//!   whitespace-only lines are skipped (`skip_blank_lines`). Line numbers in
//!   errors count like pandas': line breaks inside quotes are not counted.
//! * **Header** is the first record. Empty names become `Unnamed: {i}`;
//!   duplicates are mangled to `a.1`, `a.2`, ... with pandas' rules.
//! * **Implicit index**: if the first data row has `k` more fields than the
//!   header, pandas uses the first `k` columns as an unnamed index. They are
//!   the first `k` frame columns here, named `__index_level_{i}__`, and
//!   [`LoadedTable::index_columns`] is `k`.
//! * **Row width**: shorter rows are padded with missing values; a longer
//!   row is [`LoadError::Ragged`].
//! * **Missing values** are pandas' default `na_values` (`""`, `NA`,
//!   `NaN`, `null`, `#N/A`, ...), quoted or not, matched exactly.
//! * **Types** are inferred per column from all rows:
//!   ints -> int64 (float64 if any value is missing), beyond int64 ->
//!   uint64 / `str` / object as pandas does; floats, including `inf` spellings
//!   and numbers padded with whitespace -> float64 (missing = NaN);
//!   `True`/`False`/`TRUE`/`FALSE`/`true`/`false` -> bool, or object when
//!   values are missing; all missing -> float64; anything else -> pandas'
//!   `str`. Dates stay text. [`PandasDtype`] records the outcome per column.
//! * **Big files**: pandas (`low_memory=True`) types each block of
//!   `buffer_lines` rows separately; a column whose blocks differ (ints,
//!   then text) becomes object with per-block values, the DtypeWarning
//!   case. That is reproduced: see [`MixedColumn`].
//!
//! Known differences, all pandas oddities: integers beyond int64 mixed with
//! text, missing or whitespace-padded values (pandas' answer then depends on
//! the order of the values and on which side the padding is; e.g. with a
//! huge integer first, pandas keeps NA spellings and empty cells as text), a `-0` in a big file whose
//! `low_memory` block without floats meets a float in another block (pandas
//! gives 0.0 there, this gives -0.0), and files with lone-`\r` line ends
//! where a row starting with a separator follows a blank line (pandas
//! drops that row's first field).
//!
//! Speed: the file is memory-mapped and UTF-8 input is not copied. The
//! usual file goes through `fast`: cut into pieces at record boundaries,
//! each tokenized and typed in one pass, in parallel, with numeric columns
//! (guessed from the first 1000 rows by `sample`) parsed straight to numbers
//! by `infer`'s own rules and text columns typed by `infer` afterwards.
//! Files with blank lines, lone `\r` line ends, quotes inside unquoted
//! fields or too-wide rows take the polars path (`read`), with a
//! pandas-faithful rewrite where polars would split records differently;
//! it also produces the errors. The Arrow file is one record batch written
//! column by column, in parallel, straight from the parsed chunks; with
//! [`load_to_arrow`], numeric columns are written while later pieces are
//! still parsing (see `stream`). [`FORCE_FALLBACK_VAR`] forces the polars
//! path for every file (benchmarks and tests only).

mod chunks;
mod error;
mod fast;
mod header;
mod infer;
mod ipc;
mod read;
mod records;
mod sample;
mod source;
mod stream;

use std::path::Path;

use polars::prelude::DataFrame;

pub use chunks::{MixedColumn, ValueKind};
pub use error::LoadError;
pub use infer::PandasDtype;
pub use ipc::{INDEX_COLUMNS_KEY, MIXED_COLUMNS_KEY, PANDAS_DTYPES_KEY};

/// Environment variable that, set to `1`, makes every load skip the fast
/// parallel reader and take the polars path (`read` + `infer::infer_frame`),
/// as unusual files do. Only for benchmarks and tests comparing the two
/// paths (bench/csv_ingest.py); the kernel never sets it.
pub const FORCE_FALLBACK_VAR: &str = "CSV_INGEST_FORCE_FALLBACK";

/// Size limits; the kernel reads them from MAX_UPLOAD_SIZE and
/// MAX_DATAFRAME_SIZE.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest accepted file, in bytes.
    pub max_upload_size: u64,
    /// Largest accepted rows x columns (index columns not counted).
    pub max_cells: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_upload_size: 104_857_600,
            max_cells: 100_000_000,
        }
    }
}

/// A loaded CSV, typed as pandas would type it.
#[derive(Debug)]
pub struct LoadedTable {
    /// Index columns (if any) first, then the data columns. Missing values:
    /// NaN in float columns, null elsewhere.
    pub frame: DataFrame,
    /// "utf-8", "utf-8-sig" or "latin-1".
    pub encoding: &'static str,
    /// Size of the CSV in bytes.
    pub source_bytes: u64,
    /// Leading frame columns that pandas would use as the index (0 or more).
    pub index_columns: usize,
    /// The pandas dtype of each frame column, in frame order.
    pub pandas_dtypes: Vec<PandasDtype>,
    /// Columns pandas reads as object because its `low_memory` blocks were
    /// typed differently (the DtypeWarning case).
    pub mixed_columns: Vec<MixedColumn>,
    /// xxh3-128 of the file's bytes, computed alongside the parse (callers
    /// use it to notice changed data without reading the file again).
    pub content_hash: u128,
}

impl LoadedTable {
    /// Missing values per data column (index columns excluded), as pandas
    /// counts them: NaN in float columns, null elsewhere.
    pub fn null_counts(&self) -> Vec<usize> {
        use polars::prelude::DataType;
        self.frame.columns()[self.index_columns..]
            .iter()
            .map(|c| match c.dtype() {
                DataType::Float64 => c
                    .f64()
                    .map(|f| f.into_no_null_iter().filter(|v| v.is_nan()).count())
                    .unwrap_or(0),
                _ => c.null_count(),
            })
            .collect()
    }
}

/// Load the CSV at `path`.
pub fn load(path: &Path, limits: &Limits) -> Result<LoadedTable, LoadError> {
    with_mapped(path, limits, |bytes, name, sep| {
        parse_and_hash(bytes, name, sep, limits, None).map(|(table, _)| table)
    })
}

/// Load the CSV at `path` and write it as an Arrow IPC file at `out` (see
/// [`write_arrow_ipc`]); returns the table and the file's size. Faster than
/// `load` then `write_arrow_ipc`: numeric columns are written while the rest
/// of the file is still being parsed (see `stream`). On error no file is left.
pub fn load_to_arrow(
    path: &Path,
    out: &Path,
    limits: &Limits,
) -> Result<(LoadedTable, u64), LoadError> {
    let result = with_mapped(path, limits, |bytes, name, sep| {
        let file = std::fs::File::create(out).map_err(|e| LoadError::Write {
            path: out.to_path_buf(),
            message: e.to_string(),
        })?;
        let sink = stream::Sink::new(&file);
        let (table, pre) = parse_and_hash(bytes, name, sep, limits, Some(sink))?;
        let written = ipc::finish(&table, &file, out, pre.as_ref())?;
        Ok((table, written))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(out);
    }
    result
}

/// Size checks, then `parse` on the file's bytes, memory-mapped.
fn with_mapped<T>(
    path: &Path,
    limits: &Limits,
    parse: impl FnOnce(&[u8], &str, u8) -> Result<T, LoadError>,
) -> Result<T, LoadError> {
    let name = display_name(path);
    let sep = source::separator_for(&name)?;
    let size = file_size(path)?;
    check_size(size, limits)?;
    if size == 0 {
        // Empty files cannot be memory-mapped.
        return Err(LoadError::Empty { name });
    }
    let read_error = |source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    // SAFETY: the map is read-only and dropped before returning. If another
    // process truncates the file meanwhile we may fault, the same trade-off
    // polars makes when it maps files itself.
    let bytes = unsafe { memmap2::Mmap::map(&file) }.map_err(read_error)?;
    parse(&bytes, &name, sep)
}

/// Load a CSV held in memory; `name` is its file name (for the extension
/// check and messages).
pub fn load_bytes(bytes: &[u8], name: &str, limits: &Limits) -> Result<LoadedTable, LoadError> {
    let sep = source::separator_for(name)?;
    check_size(bytes.len() as u64, limits)?;
    parse_and_hash(bytes, name, sep, limits, None).map(|(table, _)| table)
}

/// The hash costs a few milliseconds beside the parse, instead of a second
/// read of the file.
fn parse_and_hash(
    bytes: &[u8],
    name: &str,
    sep: u8,
    limits: &Limits,
    sink: Option<stream::Sink>,
) -> Result<(LoadedTable, Option<stream::Prewritten>), LoadError> {
    let (hash, parsed) = rayon::join(
        || xxhash_rust::xxh3::xxh3_128(bytes),
        || parse(bytes, name, sep, limits, sink.as_ref()).map(|table| (table, sink)),
    );
    let (table, sink) = parsed?;
    let height = table.frame.height();
    let pre = sink.and_then(|sink| sink.finish(height, table.frame.columns()));
    Ok((
        LoadedTable {
            content_hash: hash,
            ..table
        },
        pre,
    ))
}

/// Write the table as an Arrow IPC *file* (uncompressed, one record batch,
/// so Python can memory-map every numeric column zero-copy). Schema metadata carries the pandas dtypes
/// ([`PANDAS_DTYPES_KEY`]) and the index width ([`INDEX_COLUMNS_KEY`]).
pub fn write_arrow_ipc(table: &mut LoadedTable, out: &Path) -> Result<u64, LoadError> {
    ipc::write(table, out)
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn file_size(path: &Path) -> Result<u64, LoadError> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(LoadError::Read {
            path: path.to_path_buf(),
            source: std::io::Error::other("it is a directory, not a file"),
        }),
        Ok(meta) => Ok(meta.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(LoadError::NotFound {
            path: path.to_path_buf(),
            cwd: std::env::current_dir().unwrap_or_default(),
        }),
        Err(source) => Err(LoadError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn check_size(size: u64, limits: &Limits) -> Result<(), LoadError> {
    if size > limits.max_upload_size {
        return Err(LoadError::TooLarge {
            size,
            limit: limits.max_upload_size,
        });
    }
    Ok(())
}

/// Validation in the documented order (after extension and size): empty,
/// binary, no columns, header only, ragged, too many cells.
fn parse(
    bytes: &[u8],
    name: &str,
    sep: u8,
    limits: &Limits,
    sink: Option<&stream::Sink>,
) -> Result<LoadedTable, LoadError> {
    source::check_not_empty(bytes, name)?;
    source::check_not_binary(bytes, name)?;
    let decoded = source::decode(bytes);
    let text = &decoded.text[..];

    let layout = read::read_layout(text, sep, name)?;
    let data_columns = layout.header.len();
    let index_columns = layout.first_row_fields.saturating_sub(data_columns);
    let names: Vec<String> = (0..index_columns)
        .map(header::index_column_name)
        .chain(header::column_names(&layout.header))
        .collect();

    let body = read::Body {
        text,
        layout: &layout,
        sep,
        names: &names,
        index_columns,
        name,
    };
    let rows_per_chunk = chunks::pandas_chunk_rows(names.len());
    let plain = if force_fallback() {
        None
    } else {
        body.plain_body()
    };
    let fast = plain.and_then(|plain| {
        let kinds = sample::sample_types(text, &layout, sep, names.len());
        fast::read(plain, sep, &names, &kinds, rows_per_chunk, sink)
    });
    if let (None, Some(sink)) = (&fast, sink) {
        sink.abandon();
    }
    let typed = match fast {
        Some((height, inferred)) => {
            check_cells(height, data_columns, limits)?;
            infer::assemble(height, inferred, rows_per_chunk)?
        }
        None => {
            let raw = body.read_strings()?;
            check_cells(raw.height(), data_columns, limits)?;
            infer::infer_frame(&raw)?
        }
    };
    Ok(LoadedTable {
        frame: typed.frame,
        encoding: decoded.encoding,
        source_bytes: bytes.len() as u64,
        index_columns,
        pandas_dtypes: typed.dtypes,
        mixed_columns: typed.mixed,
        content_hash: 0,
    })
}

/// Set to `1`, [`FORCE_FALLBACK_VAR`] sends every file through the polars
/// path. For benchmarks and tests that compare the two paths; the kernel
/// never sets it.
fn force_fallback() -> bool {
    std::env::var_os(FORCE_FALLBACK_VAR).is_some_and(|v| v == "1")
}

fn check_cells(rows: usize, columns: usize, limits: &Limits) -> Result<(), LoadError> {
    let cells = rows as u64 * columns as u64;
    if cells > limits.max_cells {
        return Err(LoadError::TooManyCells {
            cells,
            limit: limits.max_cells,
        });
    }
    Ok(())
}
