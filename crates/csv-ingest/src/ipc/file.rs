//! The file around the body: head (magic, schema), the one record batch message, footer.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;

use polars::prelude::*;
use polars_arrow::datatypes::Metadata;
use polars_arrow::io::ipc::write::schema::serialize_schema;
use polars_arrow::io::ipc::write::{default_ipc_fields, schema_to_bytes};
use polars_arrow_format::ipc;
use polars_arrow_format::ipc::planus::Builder;
use rayon::prelude::*;

use super::body::{layout, padded, write_column, ColumnLayout};
use super::pos_writer::PosWriter;
use crate::stream::Prewritten;

/// Arrow's file magic, padded to 8 bytes at the start of the file.
const MAGIC: &[u8; 6] = b"ARROW1";

/// The whole frame as one record batch, written straight from the column
/// chunks: no concatenation, no encoded copy of the body in memory. One
/// batch means each numeric column is a single contiguous buffer, which
/// the Python side maps as a numpy array without copying.
pub(super) fn write_file(
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
