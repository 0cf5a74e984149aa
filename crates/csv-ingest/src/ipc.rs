//! Arrow IPC file output for the Python bridge (`arrow_bridge.py`).

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;

use polars::prelude::*;
use polars_arrow::bitmap::{Bitmap, MutableBitmap};
use polars_arrow::datatypes::Metadata;
use polars_arrow::io::ipc::write::schema::serialize_schema;
use polars_arrow::io::ipc::write::{default_ipc_fields, schema_to_bytes};
use polars_arrow_format::ipc;
use polars_arrow_format::ipc::planus::Builder;
use rayon::prelude::*;

use crate::stream::Prewritten;
use crate::{LoadError, LoadedTable, MixedColumn};

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

/// Arrow's file magic, padded to 8 bytes at the start of the file.
const MAGIC: &[u8; 6] = b"ARROW1";
/// Body buffers start on 64-byte boundaries (Arrow's recommendation; numpy
/// views of the mapped file need at least 8).
const ALIGN: usize = 64;

/// One column's body buffers, in Arrow's order: validity, then values
/// (primitive / boolean) or offsets and data (large_string).
struct ColumnLayout {
    null_count: usize,
    /// Byte lengths of the buffers (unpadded).
    buffers: Vec<usize>,
}

pub(crate) fn padded(len: usize) -> usize {
    len.div_ceil(ALIGN) * ALIGN
}

/// The whole frame as one record batch, written straight from the column
/// chunks: no concatenation, no encoded copy of the body in memory. One
/// batch means each numeric column is a single contiguous buffer, which
/// the Python side maps as a numpy array without copying.
fn write_file(
    frame: &DataFrame,
    metadata: &Metadata,
    file: &File,
    pre: Option<&Prewritten>,
) -> PolarsResult<Option<u64>> {
    let schema = frame.schema().to_arrow(CompatLevel::oldest());
    let ipc_fields = default_ipc_fields(schema.iter_values());
    let layouts: Vec<ColumnLayout> = frame.columns().par_iter().map(layout).collect();

    let mut nodes = Vec::with_capacity(layouts.len());
    let mut buffers = Vec::new();
    // Body offset of each column still to write (None: already in the file).
    let mut places = Vec::with_capacity(layouts.len());
    let mut body_len = pre.map_or(0, |p| p.area);
    for (i, column) in layouts.iter().enumerate() {
        nodes.push(ipc::FieldNode {
            length: frame.height() as i64,
            null_count: column.null_count as i64,
        });
        if let Some(slot) = pre.and_then(|p| p.offsets[i]) {
            let values = frame.height() * 8;
            polars_ensure!(
                column.buffers == [0, values],
                ComputeError: "column {i} is not the numeric column written early"
            );
            buffers.push(ipc::Buffer {
                offset: slot as i64,
                length: 0,
            });
            buffers.push(ipc::Buffer {
                offset: slot as i64,
                length: values as i64,
            });
            places.push(None);
            continue;
        }
        places.push(Some(body_len));
        for &len in &column.buffers {
            buffers.push(ipc::Buffer {
                offset: body_len as i64,
                length: len as i64,
            });
            body_len += padded(len);
        }
    }

    let mut head = Vec::new();
    head.write_all(MAGIC)?;
    head.write_all(&[0, 0])?;
    let schema_message = schema_to_bytes(&schema, &ipc_fields, Some(metadata));
    write_message_header(&mut head, &schema_message)?;

    let batch = ipc::Message {
        version: ipc::MetadataVersion::V5,
        header: Some(ipc::MessageHeader::RecordBatch(Box::new(
            ipc::RecordBatch {
                length: frame.height() as i64,
                nodes: Some(nodes),
                buffers: Some(buffers),
                compression: None,
                variadic_buffer_counts: None,
            },
        ))),
        body_length: body_len as i64,
        custom_metadata: None,
    };
    let mut batch_message = Vec::new();
    let meta_len = write_message_header(&mut batch_message, Builder::new().finish(&batch, None))?;
    // The batch message sits right before the body. With columns written
    // early the body starts at a fixed offset; the gap before the message
    // is never read (readers follow the footer).
    let body_start = match pre {
        None => head.len() + meta_len,
        Some(p) if head.len() + meta_len <= p.body_start => p.body_start,
        Some(_) => return Ok(None),
    };
    let block_offset = body_start - meta_len;
    file.write_all_at(&head, 0)?;
    file.write_all_at(&batch_message, block_offset as u64)?;

    // Columns go to their own ranges of the file, in parallel.
    let jobs: Vec<(&Column, &ColumnLayout, usize)> = frame
        .columns()
        .iter()
        .zip(&layouts)
        .zip(&places)
        .filter_map(|((column, layout), place)| place.map(|p| (column, layout, body_start + p)))
        .collect();
    jobs.into_par_iter()
        .map(|(column, layout, start)| {
            let mut out = PosWriter::new(file, start);
            let written = write_column(column, layout, &mut out)?;
            out.flush()?;
            let expected: usize = layout.buffers.iter().map(|&len| padded(len)).sum();
            polars_ensure!(
                written == expected,
                ComputeError: "column {} wrote {written} bytes, not {expected}", column.name()
            );
            Ok(())
        })
        .collect::<PolarsResult<()>>()?;

    // End-of-stream marker, then the footer.
    let mut tail = PosWriter::new(file, body_start + body_len);
    tail.write_all(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])?;
    let footer = ipc::Footer {
        version: ipc::MetadataVersion::V5,
        schema: Some(Box::new(serialize_schema(
            &schema,
            &ipc_fields,
            Some(metadata),
        ))),
        dictionaries: Some(vec![]),
        record_batches: Some(vec![ipc::Block {
            offset: block_offset as i64,
            meta_data_length: meta_len as i32,
            body_length: body_len as i64,
        }]),
        custom_metadata: None,
    };
    let mut builder = Builder::new();
    let footer = builder.finish(&footer, None);
    tail.write_all(footer)?;
    tail.write_all(&(footer.len() as i32).to_le_bytes())?;
    tail.write_all(MAGIC)?;
    tail.flush()?;
    Ok(Some(tail.position()))
}

/// Buffered writes at a fixed place in the file (`pwrite`), so columns can
/// be written concurrently. Large writes skip the buffer.
struct PosWriter<'a> {
    file: &'a File,
    position: u64,
    buffer: Vec<u8>,
}

impl<'a> PosWriter<'a> {
    const CAPACITY: usize = 1 << 18;

    fn new(file: &'a File, position: usize) -> Self {
        PosWriter {
            file,
            position: position as u64,
            buffer: Vec::with_capacity(Self::CAPACITY),
        }
    }

    /// Where the next byte goes, counting what is still buffered.
    fn position(&self) -> u64 {
        self.position + self.buffer.len() as u64
    }
}

impl Write for PosWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.write_all(bytes)?;
        Ok(bytes.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.buffer.len() + bytes.len() > Self::CAPACITY {
            self.flush()?;
        }
        if bytes.len() >= Self::CAPACITY {
            self.file.write_all_at(bytes, self.position)?;
            self.position += bytes.len() as u64;
        } else {
            self.buffer.extend_from_slice(bytes);
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buffer.is_empty() {
            self.file.write_all_at(&self.buffer, self.position)?;
            self.position += self.buffer.len() as u64;
            self.buffer.clear();
        }
        Ok(())
    }
}

/// Continuation marker, length, flatbuffer, padding to 8 bytes. Returns
/// the bytes written.
fn write_message_header<W: Write>(out: &mut W, message: &[u8]) -> PolarsResult<usize> {
    let aligned = (message.len() + 8).div_ceil(8) * 8;
    out.write_all(&[0xff; 4])?;
    out.write_all(&((aligned - 8) as i32).to_le_bytes())?;
    out.write_all(message)?;
    out.write_all(&[0u8; 8][..aligned - 8 - message.len()])?;
    Ok(aligned)
}

fn layout(column: &Column) -> ColumnLayout {
    let series = column.as_materialized_series();
    let rows = series.len();
    let null_count = series.null_count();
    let validity = if null_count > 0 { rows.div_ceil(8) } else { 0 };
    let buffers = match series.dtype() {
        DataType::Boolean => vec![validity, rows.div_ceil(8)],
        DataType::String => {
            let data: usize = series
                .str()
                .expect("String column")
                .downcast_iter()
                .map(|a| a.iter().flatten().map(str::len).sum::<usize>())
                .sum();
            vec![validity, (rows + 1) * 8, data]
        }
        // Int64, UInt64, Float64 (anything else fails in `write_column`).
        _ => vec![validity, rows * 8],
    };
    ColumnLayout {
        null_count,
        buffers,
    }
}

fn write_padded<W: Write>(out: &mut W, bytes: &[u8]) -> PolarsResult<usize> {
    out.write_all(bytes)?;
    let len = padded(bytes.len());
    out.write_all(&[0u8; ALIGN][..len - bytes.len()])?;
    Ok(len)
}

/// Pad what was written piecewise (`len` bytes) to the alignment.
fn pad<W: Write>(out: &mut W, len: usize) -> PolarsResult<usize> {
    let total = padded(len);
    out.write_all(&[0u8; ALIGN][..total - len])?;
    Ok(total)
}

fn concat_bits<'a>(
    rows: usize,
    parts: impl Iterator<Item = (usize, Option<&'a Bitmap>)>,
) -> Bitmap {
    let mut bits = MutableBitmap::with_capacity(rows);
    for (len, part) in parts {
        match part {
            Some(part) => bits.extend_from_bitmap(part),
            None => bits.extend_constant(len, true),
        }
    }
    bits.into()
}

fn write_bits<W: Write>(out: &mut W, bits: &Bitmap) -> PolarsResult<usize> {
    let (bytes, offset, len) = bits.as_slice();
    debug_assert_eq!(offset, 0);
    write_padded(out, &bytes[..len.div_ceil(8)])
}

fn write_column<W: Write>(
    column: &Column,
    layout: &ColumnLayout,
    out: &mut W,
) -> PolarsResult<usize> {
    let series = column.as_materialized_series();
    let rows = series.len();
    let chunks = series.chunks();
    let mut written = 0;
    if layout.null_count > 0 {
        let validity = concat_bits(rows, chunks.iter().map(|a| (a.len(), a.validity())));
        written += write_bits(out, &validity)?;
    } else {
        written += pad(out, 0)?;
    }
    match series.dtype() {
        DataType::Boolean => {
            let values = series.bool().expect("Boolean column");
            let bits = concat_bits(
                rows,
                values.downcast_iter().map(|a| (a.len(), Some(a.values()))),
            );
            written += write_bits(out, &bits)?;
        }
        DataType::String => {
            let strings = series.str().expect("String column");
            let mut offset = 0i64;
            out.write_all(&offset.to_le_bytes())?;
            for array in strings.downcast_iter() {
                for value in array.iter() {
                    offset += value.map_or(0, str::len) as i64;
                    out.write_all(&offset.to_le_bytes())?;
                }
            }
            written += pad(out, (rows + 1) * 8)?;
            for array in strings.downcast_iter() {
                for value in array.iter().flatten() {
                    out.write_all(value.as_bytes())?;
                }
            }
            written += pad(out, offset as usize)?;
        }
        DataType::Int64 => written += write_values(out, series.i64()?)?,
        DataType::UInt64 => written += write_values(out, series.u64()?)?,
        DataType::Float64 => written += write_values(out, series.f64()?)?,
        dtype => polars_bail!(ComputeError: "unexpected column type {dtype}"),
    }
    Ok(written)
}

fn write_values<T, W>(out: &mut W, values: &ChunkedArray<T>) -> PolarsResult<usize>
where
    T: PolarsNumericType,
    W: Write,
{
    let mut len = 0;
    for array in values.downcast_iter() {
        let bytes = numeric_bytes(array.values().as_slice());
        out.write_all(bytes)?;
        len += bytes.len();
    }
    pad(out, len)
}

/// Plain numbers as the bytes Arrow stores them (little-endian, as is every
/// target we build for).
pub(crate) fn numeric_bytes<T: polars::prelude::NumericNative>(values: &[T]) -> &[u8] {
    // SAFETY: numeric natives have no padding or invalid bit patterns.
    unsafe {
        std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), std::mem::size_of_val(values))
    }
}
