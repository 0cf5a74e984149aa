//! Column body buffers: their layout, alignment and bytes (validity, values, offsets, text).

use std::io::Write;

use polars::prelude::*;
use polars_arrow::bitmap::{Bitmap, MutableBitmap};

/// Body buffers start on 64-byte boundaries (Arrow's recommendation; numpy
/// views of the mapped file need at least 8).
const ALIGN: usize = 64;

/// One column's body buffers, in Arrow's order: validity, then values
/// (primitive / boolean) or offsets and data (large_string).
pub(super) struct ColumnLayout {
    pub(super) null_count: usize,
    /// Byte lengths of the buffers (unpadded).
    pub(super) buffers: Vec<usize>,
}

pub(crate) fn padded(len: usize) -> usize {
    len.div_ceil(ALIGN) * ALIGN
}

pub(super) fn layout(column: &Column) -> ColumnLayout {
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

pub(super) fn write_column<W: Write>(
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
