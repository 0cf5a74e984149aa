//! Typed column builders shared by the fast pass and the exact rules.

use polars::prelude::*;
use polars_arrow::array::{Array, Utf8ViewArray};
use polars_arrow::bitmap::MutableBitmap;

use super::scalars::{is_na, parse_bool};
use super::{PandasDtype, Pass};

/// pandas stores missing floats as NaN, so the column gets NaN values and
/// no validity mask: the Arrow buffer is then exactly the numpy array.
pub(super) fn float_column(name: PlSmallStr, values: Vec<f64>) -> Column {
    Float64Chunked::from_vec(name, values).into_column()
}

/// pandas reads an all-missing column as float64 NaN.
pub(super) fn all_missing(name: PlSmallStr, len: usize) -> Column {
    float_column(name, vec![f64::NAN; len])
}

/// bool without missing values; with them pandas gives an object column,
/// kept here as a nullable Boolean.
pub(super) fn bool_column(strings: &StringChunked) -> Pass {
    let values: BooleanChunked = strings
        .iter()
        .map(|cell| cell.and_then(parse_bool))
        .collect();
    let values = values.with_name(strings.name().clone());
    let dtype = if values.null_count() == 0 {
        PandasDtype::Bool
    } else {
        PandasDtype::Object
    };
    Pass::Done(values.into_column(), dtype)
}

/// The strings with pandas' NA spellings turned into nulls. Only validity
/// bitmaps change; the string data is shared, not copied.
pub(super) fn text_column(strings: &StringChunked) -> StringChunked {
    let chunks: Vec<Utf8ViewArray> = strings.downcast_iter().map(mask_na).collect();
    StringChunked::from_chunk_iter(strings.name().clone(), chunks)
}

fn mask_na(array: &Utf8ViewArray) -> Utf8ViewArray {
    let mut validity: Option<MutableBitmap> = None;
    for (i, s) in array.values_iter().enumerate() {
        if is_na(s) {
            validity
                .get_or_insert_with(|| match array.validity() {
                    Some(bits) => bits.iter().collect(),
                    None => MutableBitmap::from_len_set(array.len()),
                })
                .set(i, false);
        }
    }
    match validity {
        Some(bits) => array.clone().with_validity(Some(bits.into())),
        None => array.clone(),
    }
}

/// The cells verbatim, NA spellings included and empty cells as "": what
/// pandas returns when its uint64 conversion gives up (a pandas quirk, but
/// the frame has to match it).
pub(super) fn raw_text_column(strings: &StringChunked) -> StringChunked {
    strings
        .iter()
        .map(|cell| Some(cell.unwrap_or("")))
        .collect::<StringChunked>()
        .with_name(strings.name().clone())
}
