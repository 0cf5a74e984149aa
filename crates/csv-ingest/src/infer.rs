//! pandas' per-column type inference, applied to the all-string columns
//! polars read.
//!
//! Every column is classified from all of its rows. A single fused pass per
//! column handles the common cases (plain ints, floats, booleans, text) and
//! builds the numeric values as it goes; text columns usually bail out on the
//! first cell. Anything unusual (numbers padded with whitespace, integers
//! beyond int64) goes to `exact`, a slower but literal statement of
//! pandas' rules.

use polars::prelude::*;
use polars_arrow::array::{Array, Utf8ViewArray};
use polars_arrow::bitmap::MutableBitmap;
use rayon::prelude::*;

use crate::chunks::{mixed_chunk_kinds, pandas_chunk_rows, MixedColumn, ValueKind};
use crate::LoadError;

/// The pandas dtype `pd.read_csv` gives a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PandasDtype {
    Int64,
    UInt64,
    Float64,
    Bool,
    /// Booleans with missing values (polars Boolean with nulls; pandas makes
    /// an object column of True/False/NaN), integers outside the
    /// int64/uint64 range (polars String; pandas makes Python ints), or a
    /// [`MixedColumn`] (polars String).
    Object,
    /// pandas 3's default string dtype (`str`); missing values are nulls.
    Str,
}

impl PandasDtype {
    /// The name pandas prints for the dtype.
    pub fn as_str(self) -> &'static str {
        match self {
            PandasDtype::Int64 => "int64",
            PandasDtype::UInt64 => "uint64",
            PandasDtype::Float64 => "float64",
            PandasDtype::Bool => "bool",
            PandasDtype::Object => "object",
            PandasDtype::Str => "str",
        }
    }
}

/// The typed frame plus what the Arrow writer needs to rebuild the pandas
/// frame.
pub(crate) struct Typed {
    pub frame: DataFrame,
    pub dtypes: Vec<PandasDtype>,
    pub mixed: Vec<MixedColumn>,
}

/// Infer every column of `raw` (all String) in parallel.
pub(crate) fn infer_frame(raw: &DataFrame) -> Result<Typed, LoadError> {
    let rows_per_chunk = pandas_chunk_rows(raw.width());
    let inferred: Vec<Inferred> = raw
        .columns()
        .par_iter()
        .map(|column| infer_with_chunks(column, rows_per_chunk))
        .collect();
    assemble(raw.height(), inferred, rows_per_chunk)
}

/// One typed column: values, pandas dtype, and the block kinds of a mixed
/// column.
pub(crate) type Inferred = (Column, PandasDtype, Option<Vec<ValueKind>>);

/// Put typed columns (in frame order) together into the frame.
pub(crate) fn assemble(
    height: usize,
    inferred: Vec<Inferred>,
    rows_per_chunk: usize,
) -> Result<Typed, LoadError> {
    let mut columns = Vec::with_capacity(inferred.len());
    let mut dtypes = Vec::with_capacity(inferred.len());
    let mut mixed = Vec::new();
    for (i, (column, dtype, chunk_kinds)) in inferred.into_iter().enumerate() {
        columns.push(column);
        dtypes.push(dtype);
        if let Some(chunk_kinds) = chunk_kinds {
            mixed.push(MixedColumn {
                column: i,
                rows_per_chunk,
                chunk_kinds,
            });
        }
    }
    let frame = DataFrame::new(height, columns)
        .map_err(|e| LoadError::Parse(format!("could not assemble the table: {e}")))?;
    Ok(Typed {
        frame,
        dtypes,
        mixed,
    })
}

/// A text column may still be object in pandas, see `chunks`.
pub(crate) fn infer_with_chunks(column: &Column, rows_per_chunk: usize) -> Inferred {
    let (typed, dtype) = infer_column(column);
    if dtype != PandasDtype::Str {
        return (typed, dtype, None);
    }
    let strings = column.str().expect("columns are read with a String schema");
    match mixed_chunk_kinds(strings, rows_per_chunk) {
        Some(kinds) => (typed, PandasDtype::Object, Some(kinds)),
        None => (typed, dtype, None),
    }
}

/// How pandas types the values of `strings`, without keeping the result
/// when it is text.
pub(crate) fn value_kind(strings: &StringChunked) -> ValueKind {
    let (column, dtype) = match fast_pass(strings) {
        Pass::Text => return ValueKind::Str,
        Pass::Done(column, dtype) => (column, dtype),
        Pass::Exact => exact(strings),
    };
    match column.dtype() {
        DataType::Boolean => ValueKind::Bool,
        DataType::Int64 | DataType::UInt64 => ValueKind::Int,
        DataType::Float64 => ValueKind::Float,
        _ if dtype == PandasDtype::Object => ValueKind::Int,
        _ => ValueKind::Str,
    }
}

fn infer_column(column: &Column) -> (Column, PandasDtype) {
    let strings = column.str().expect("columns are read with a String schema");
    match fast_pass(strings) {
        Pass::Done(column, dtype) => (column, dtype),
        Pass::Text => (text_column(strings).into_column(), PandasDtype::Str),
        Pass::Exact => exact(strings),
    }
}

/// pandas' default `na_values` (empty fields are already null from polars).
pub(crate) fn is_na(s: &str) -> bool {
    // Every spelling is at most 8 bytes and starts with one of these bytes;
    // most text fails here without the full comparison.
    let first_fits = s
        .as_bytes()
        .first()
        .is_none_or(|b| matches!(b, b'#' | b'-' | b'1' | b'<' | b'N' | b'n'));
    s.len() <= 8
        && first_fits
        && matches!(
            s.as_bytes(),
            b"" | b"#N/A"
                | b"#N/A N/A"
                | b"#NA"
                | b"-1.#IND"
                | b"-1.#QNAN"
                | b"-NaN"
                | b"-nan"
                | b"1.#IND"
                | b"1.#QNAN"
                | b"<NA>"
                | b"N/A"
                | b"NA"
                | b"NULL"
                | b"NaN"
                | b"None"
                | b"n/a"
                | b"nan"
                | b"null"
        )
}

/// pandas' default true/false spellings (exact case, no whitespace).
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "True" | "TRUE" | "true" => Some(true),
        "False" | "FALSE" | "false" => Some(false),
        _ => None,
    }
}

/// `[+-]digits` into an i64; `None` on anything else, including overflow.
pub(crate) fn parse_i64(s: &str) -> Option<i64> {
    let bytes = s.as_bytes();
    let (negative, digits) = match bytes.first()? {
        b'-' => (true, &bytes[1..]),
        b'+' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    if digits.is_empty() {
        return None;
    }
    if digits.len() <= 18 {
        // Cannot overflow: the reader's own scan, which must take the whole cell.
        return scan_int(bytes, 0).and_then(|(v, end)| (end == bytes.len()).then_some(v));
    }
    // Accumulate negatively so i64::MIN fits.
    let mut value: i64 = 0;
    for &b in digits {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value.checked_mul(10)?.checked_sub(i64::from(digit))?;
    }
    if negative {
        Some(value)
    } else {
        value.checked_neg()
    }
}

/// A float as pandas' parser accepts it without surrounding whitespace:
/// decimal/exponent forms and inf/infinity spellings. fast-float also reads
/// "nan" spellings, which pandas does not (they are NA or text).
pub(crate) fn parse_f64(s: &str) -> Option<f64> {
    short_decimal(s.as_bytes())
        .or_else(|| fast_float2::parse::<f64, _>(s).ok().filter(|v| !v.is_nan()))
}

/// `[+-]digits[.digits]` with at most 15 digits, the common case, without
/// the general parser.
fn short_decimal(bytes: &[u8]) -> Option<f64> {
    scan_decimal(bytes, 0).and_then(|(v, end)| (end == bytes.len()).then_some(v))
}

/// Read `[+-]digits[.digits]` (at most 15 digits) from `pos`, stopping at
/// the first other byte: the value and where it stopped. The digits fit a
/// double exactly, so does the power of ten (at most 10^15), and IEEE
/// division rounds correctly: the same bits fast-float gives.
#[inline]
pub(crate) fn scan_decimal(bytes: &[u8], pos: usize) -> Option<(f64, usize)> {
    const POWERS: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (negative, mut i) = match bytes.get(pos)? {
        b'-' => (true, pos + 1),
        b'+' => (false, pos + 1),
        _ => (false, pos),
    };
    let mut mantissa: u64 = 0;
    let mut digits = 0;
    let mut point = None;
    while let Some(&b) = bytes.get(i) {
        let digit = b.wrapping_sub(b'0');
        if digit <= 9 {
            if digits == 15 {
                return None;
            }
            mantissa = mantissa * 10 + u64::from(digit);
            digits += 1;
        } else if b == b'.' && point.is_none() {
            point = Some(i);
        } else {
            break;
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    let scale = point.map_or(0, |p| i - p - 1);
    let value = mantissa as f64 / POWERS[scale];
    Some((if negative { -value } else { value }, i))
}

/// Read `[+-]digits` (at most 18 digits, so no overflow) from `pos`: the
/// value and where it stopped. The same values `parse_i64` gives.
#[inline]
pub(crate) fn scan_int(bytes: &[u8], pos: usize) -> Option<(i64, usize)> {
    let (negative, start) = match bytes.get(pos)? {
        b'-' => (true, pos + 1),
        b'+' => (false, pos + 1),
        _ => (false, pos),
    };
    let mut value: i64 = 0;
    let mut i = start;
    while let Some(&b) = bytes.get(i) {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        if i - start == 18 {
            return None;
        }
        value = value * 10 + i64::from(digit);
        i += 1;
    }
    if i == start {
        return None;
    }
    Some((if negative { -value } else { value }, i))
}

/// Bytes C's `isspace` accepts; pandas' number parsers skip them.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C)
}

fn trim_c_space(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii() && is_c_space(c as u8))
}

pub(crate) fn is_plain_int(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Cells the fast pass cannot judge: padded numbers and integers that
/// overflow int64.
fn needs_exact(s: &str) -> bool {
    let bytes = s.as_bytes();
    let padded = bytes.first().is_some_and(|&b| is_c_space(b))
        || bytes.last().is_some_and(|&b| is_c_space(b));
    padded || is_plain_int(s)
}

enum Pass {
    Done(Column, PandasDtype),
    Text,
    Exact,
}

#[derive(PartialEq)]
enum State {
    AllMissing,
    Int,
    Float,
    Bool,
}

/// What to do after looking at a cell.
enum Step {
    Continue,
    Stop(Pass),
}

/// One pass over the column: classify it and, for numbers, build the
/// values. Missing cells hold 0 (ints) or NaN (floats) plus, while still
/// integer, their position in `missing` (an int column with NA becomes
/// float64, as in pandas). Cells are parsed before the NA check, since
/// most cells of a numeric column are numbers.
struct FastPass<'a> {
    strings: &'a StringChunked,
    state: State,
    ints: Vec<i64>,
    floats: Vec<f64>,
    missing: Vec<usize>,
    negative_zero: bool,
}

fn fast_pass(strings: &StringChunked) -> Pass {
    let mut pass = FastPass {
        strings,
        state: State::AllMissing,
        ints: Vec::with_capacity(strings.len()),
        floats: Vec::new(),
        missing: Vec::new(),
        negative_zero: false,
    };
    for (i, cell) in strings.iter().enumerate() {
        let step = match cell {
            Some(s) => pass.cell(i, s),
            None => pass.missing(i),
        };
        if let Step::Stop(outcome) = step {
            return outcome;
        }
    }
    pass.finish()
}

impl FastPass<'_> {
    fn cell(&mut self, i: usize, s: &str) -> Step {
        match self.state {
            State::AllMissing | State::Int => self.int_cell(i, s),
            State::Float => self.float_cell(i, s),
            State::Bool => bool_cell(s),
        }
    }

    fn missing(&mut self, i: usize) -> Step {
        match self.state {
            State::AllMissing | State::Int => {
                self.ints.push(0);
                self.missing.push(i);
            }
            State::Float => self.floats.push(f64::NAN),
            State::Bool => {}
        }
        Step::Continue
    }

    fn int_cell(&mut self, i: usize, s: &str) -> Step {
        if let Some(v) = parse_i64(s) {
            self.negative_zero |= v == 0 && s.starts_with('-');
            self.ints.push(v);
            self.state = State::Int;
        } else if is_na(s) {
            return self.missing(i);
        } else if is_plain_int(s) {
            // Beyond int64: uint64, object or str, see `int_column`.
            return Step::Stop(Pass::Exact);
        } else if let Some(v) = parse_f64(s) {
            self.floats =
                ints_to_floats(&self.ints, &self.missing, self.negative_zero, self.strings);
            self.floats.reserve(self.strings.len() - self.floats.len());
            self.floats.push(v);
            self.state = State::Float;
        } else if self.state == State::AllMissing && parse_bool(s).is_some() {
            self.state = State::Bool;
        } else {
            return Step::Stop(unparsed(s));
        }
        Step::Continue
    }

    fn float_cell(&mut self, i: usize, s: &str) -> Step {
        match parse_f64(s) {
            // pandas rejects integers beyond uint64 in a float column.
            Some(_) if s.len() >= 20 && is_plain_int(s) => Step::Stop(Pass::Exact),
            Some(v) => {
                self.floats.push(v);
                Step::Continue
            }
            None if is_na(s) => self.missing(i),
            None => Step::Stop(unparsed(s)),
        }
    }

    fn finish(self) -> Pass {
        let name = self.strings.name().clone();
        match self.state {
            State::AllMissing => {
                Pass::Done(all_missing(name, self.strings.len()), PandasDtype::Float64)
            }
            State::Int if self.missing.is_empty() => Pass::Done(
                Int64Chunked::from_vec(name, self.ints).into_column(),
                PandasDtype::Int64,
            ),
            State::Int => {
                // pandas casts an int column with NA to float64, so "-0" is +0.0 here
                // (only a float cell sends the column through the float parser).
                let floats = ints_to_floats(&self.ints, &self.missing, false, self.strings);
                Pass::Done(float_column(name, floats), PandasDtype::Float64)
            }
            State::Float => Pass::Done(float_column(name, self.floats), PandasDtype::Float64),
            State::Bool => bool_column(self.strings),
        }
    }
}

fn bool_cell(s: &str) -> Step {
    if parse_bool(s).is_some() || is_na(s) {
        Step::Continue
    } else {
        Step::Stop(Pass::Text)
    }
}

/// A cell that is neither number, bool nor NA: text, unless pandas' more
/// lenient number rules might still accept it.
fn unparsed(s: &str) -> Pass {
    if needs_exact(s) {
        Pass::Exact
    } else {
        Pass::Text
    }
}

/// Switch an integer prefix to floats. i64 -> f64 rounds to nearest, which
/// is what parsing the same digits as a float gives; only "-0" differs (it
/// is -0.0 as a float), so then the prefix is re-parsed.
fn ints_to_floats(
    ints: &[i64],
    missing: &[usize],
    negative_zero: bool,
    strings: &StringChunked,
) -> Vec<f64> {
    if negative_zero {
        return strings
            .iter()
            .take(ints.len())
            .map(|cell| cell.and_then(parse_f64).unwrap_or(f64::NAN))
            .collect();
    }
    let mut floats: Vec<f64> = ints.iter().map(|&v| v as f64).collect();
    for &i in missing {
        floats[i] = f64::NAN;
    }
    floats
}

/// pandas stores missing floats as NaN, so the column gets NaN values and
/// no validity mask: the Arrow buffer is then exactly the numpy array.
fn float_column(name: PlSmallStr, values: Vec<f64>) -> Column {
    Float64Chunked::from_vec(name, values).into_column()
}

/// pandas reads an all-missing column as float64 NaN.
fn all_missing(name: PlSmallStr, len: usize) -> Column {
    float_column(name, vec![f64::NAN; len])
}

/// bool without missing values; with them pandas gives an object column,
/// kept here as a nullable Boolean.
fn bool_column(strings: &StringChunked) -> Pass {
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
fn text_column(strings: &StringChunked) -> StringChunked {
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

/// An integer token as pandas reads it (surrounding whitespace allowed).
#[derive(Clone, Copy)]
struct IntToken {
    value: IntValue,
    padded: bool,
}

#[derive(Clone, Copy)]
enum IntValue {
    Signed(i64),
    /// Above i64::MAX, within u64.
    Unsigned(u64),
    /// Outside [i64::MIN, u64::MAX].
    Huge {
        negative: bool,
    },
}

fn parse_int_token(s: &str) -> Option<IntToken> {
    let trimmed = trim_c_space(s);
    if !is_plain_int(trimmed) {
        return None;
    }
    let padded = trimmed.len() != s.len();
    let negative = trimmed.starts_with('-');
    let digits = trimmed.trim_start_matches(['+', '-']);
    let magnitude = digits.bytes().try_fold(0u128, |acc, b| {
        acc.checked_mul(10)?.checked_add(u128::from(b - b'0'))
    });
    let value = match magnitude {
        Some(m) if negative && m <= 1u128 << 63 => {
            IntValue::Signed((m as i128).wrapping_neg() as i64)
        }
        Some(m) if !negative && m <= i64::MAX as u128 => IntValue::Signed(m as i64),
        Some(m) if !negative && m <= u64::MAX as u128 => IntValue::Unsigned(m as u64),
        _ => IntValue::Huge { negative },
    };
    Some(IntToken { value, padded })
}

/// A float token as pandas reads it: inf spellings only verbatim, numbers
/// also with surrounding whitespace, and never a bare integer beyond uint64
/// (pandas then falls back to text).
fn parse_float_token(s: &str) -> Option<f64> {
    if let Some(v) = parse_f64(s).filter(|v| v.is_infinite()) {
        if !s.bytes().any(|b| b.is_ascii_digit()) {
            return Some(v);
        }
    }
    let trimmed = trim_c_space(s);
    let numeric = trimmed
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
    if !numeric {
        return None;
    }
    if is_huge_int(trimmed) {
        return None;
    }
    parse_f64(trimmed)
}

/// A non-negative integer token above uint64::MAX (whitespace allowed).
fn is_huge_int(s: &str) -> bool {
    parse_int_token(s).is_some_and(|t| matches!(t.value, IntValue::Huge { negative: false }))
}

/// pandas' rules, stated directly. Slow path for columns the fast pass
/// could not settle.
fn exact(strings: &StringChunked) -> (Column, PandasDtype) {
    let name = strings.name().clone();
    let cells: Vec<Option<&str>> = strings
        .iter()
        .map(|cell| cell.filter(|s| !is_na(s)))
        .collect();
    let has_missing = cells.iter().any(Option::is_none);
    let present = || cells.iter().flatten();

    if present().next().is_none() {
        return (all_missing(name, cells.len()), PandasDtype::Float64);
    }
    if let Some(tokens) = present()
        .map(|s| parse_int_token(s))
        .collect::<Option<Vec<_>>>()
    {
        return int_column(strings, &cells, &tokens, has_missing);
    }
    if present().all(|s| parse_float_token(s).is_some()) {
        let values = cells
            .iter()
            .map(|c| c.and_then(parse_float_token).unwrap_or(f64::NAN))
            .collect();
        return (float_column(name, values), PandasDtype::Float64);
    }
    // Numbers where some are integers beyond uint64: pandas' answer depends
    // on order. Its integer pass stops at the first cell that is not an
    // int64/uint64: a float there sends the whole column to float64 (big
    // integers included); a big integer there leaves the raw text.
    if present().all(|s| parse_float_token(s).is_some() || is_huge_int(s)) {
        let in_int_range = |s: &&str| {
            parse_int_token(s).is_some_and(|t| !matches!(t.value, IntValue::Huge { .. }))
        };
        let first_stop = present().find(|s| !in_int_range(s));
        if first_stop.is_some_and(|s| !is_huge_int(s)) {
            let values = cells
                .iter()
                .map(|c| {
                    c.and_then(|s| parse_float_token(s).or_else(|| parse_f64(trim_c_space(s))))
                        .unwrap_or(f64::NAN)
                })
                .collect();
            return (float_column(name, values), PandasDtype::Float64);
        }
        return (raw_text_column(strings).into_column(), PandasDtype::Str);
    }
    if present().all(|s| parse_bool(s).is_some()) {
        if let Pass::Done(column, dtype) = bool_column(strings) {
            return (column, dtype);
        }
    }
    (text_column(strings).into_column(), PandasDtype::Str)
}

/// All present cells are integers; pick the dtype pandas picks:
/// int64 (float64 with NA); beyond int64: uint64 if nothing is negative or
/// missing, else raw text; beyond uint64: object of Python ints; a padded
/// big integer: float64, or raw text with missing values.
fn int_column(
    strings: &StringChunked,
    cells: &[Option<&str>],
    tokens: &[IntToken],
    has_missing: bool,
) -> (Column, PandasDtype) {
    let name = strings.name().clone();
    let any_big = tokens
        .iter()
        .any(|t| !matches!(t.value, IntValue::Signed(_)));
    let any_huge = tokens
        .iter()
        .any(|t| matches!(t.value, IntValue::Huge { .. }));
    let any_negative = tokens.iter().any(|t| match t.value {
        IntValue::Signed(v) => v < 0,
        IntValue::Unsigned(_) => false,
        IntValue::Huge { negative } => negative,
    });
    let any_padded = tokens.iter().any(|t| t.padded);

    if !any_big {
        let mut tokens = tokens.iter();
        let values: Vec<Option<i64>> = cells
            .iter()
            .map(|c| {
                c.and_then(|_| match tokens.next()?.value {
                    IntValue::Signed(v) => Some(v),
                    _ => None,
                })
            })
            .collect();
        return if has_missing {
            let floats = values
                .iter()
                .map(|v| v.map_or(f64::NAN, |v| v as f64))
                .collect();
            (float_column(name, floats), PandasDtype::Float64)
        } else {
            let ints = values.into_iter().map(Option::unwrap_or_default).collect();
            (
                Int64Chunked::from_vec(name, ints).into_column(),
                PandasDtype::Int64,
            )
        };
    }
    if any_padded && has_missing {
        return (raw_text_column(strings).into_column(), PandasDtype::Str);
    }
    if any_padded {
        let floats = cells
            .iter()
            .map(|c| {
                c.and_then(|s| parse_f64(trim_c_space(s)))
                    .unwrap_or(f64::NAN)
            })
            .collect();
        return (float_column(name, floats), PandasDtype::Float64);
    }
    if any_huge {
        return (text_column(strings).into_column(), PandasDtype::Object);
    }
    if !has_missing && !any_negative {
        let values = tokens
            .iter()
            .map(|t| match t.value {
                IntValue::Signed(v) => v as u64,
                IntValue::Unsigned(v) => v,
                IntValue::Huge { .. } => unreachable!("no huge values here"),
            })
            .collect();
        return (
            UInt64Chunked::from_vec(name, values).into_column(),
            PandasDtype::UInt64,
        );
    }
    (raw_text_column(strings).into_column(), PandasDtype::Str)
}

/// The cells verbatim, NA spellings included and empty cells as "": what
/// pandas returns when its uint64 conversion gives up (a pandas quirk, but
/// the frame has to match it).
fn raw_text_column(strings: &StringChunked) -> StringChunked {
    strings
        .iter()
        .map(|cell| Some(cell.unwrap_or("")))
        .collect::<StringChunked>()
        .with_name(strings.name().clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(cells: &[Option<&str>]) -> (Column, PandasDtype) {
        let strings = StringChunked::from_iter_options("c".into(), cells.iter().copied());
        infer_column(&strings.into_column())
    }

    fn dtype(cells: &[&str]) -> PandasDtype {
        let cells: Vec<Option<&str>> = cells
            .iter()
            .map(|s| if s.is_empty() { None } else { Some(*s) })
            .collect();
        infer(&cells).1
    }

    fn floats(cells: &[&str]) -> Vec<f64> {
        let cells: Vec<Option<&str>> = cells.iter().map(|s| Some(*s)).collect();
        let (column, _) = infer(&cells);
        column.f64().unwrap().iter().map(|v| v.unwrap()).collect()
    }

    // Every expectation below was checked against pandas 3.1 pd.read_csv.
    #[test]
    fn integer_columns() {
        use PandasDtype::*;
        assert_eq!(dtype(&["1", "-2", "+3", "007"]), Int64);
        assert_eq!(dtype(&[" 1 ", "2"]), Int64);
        assert_eq!(dtype(&["\t5\t", "1"]), Int64);
        assert_eq!(dtype(&["1", "NA"]), Float64);
        assert_eq!(dtype(&["1", ""]), Float64);
        assert_eq!(dtype(&["-9223372036854775808", "1"]), Int64);
        assert_eq!(dtype(&["9223372036854775808", "1"]), UInt64);
        assert_eq!(dtype(&["18446744073709551615", "1"]), UInt64);
        assert_eq!(dtype(&["9223372036854775808", "NA"]), Str);
        assert_eq!(dtype(&[" 9223372036854775808", "NA"]), Str);
        assert_eq!(dtype(&["9223372036854775808", "-1"]), Str);
        assert_eq!(dtype(&["99999999999999999999999", "1"]), Object);
        assert_eq!(dtype(&["99999999999999999999999", "NA"]), Object);
        assert_eq!(dtype(&["-9223372036854775809", "1"]), Object);
        assert_eq!(dtype(&[" 9223372036854775808 ", "1"]), Float64);
        assert_eq!(dtype(&["1_000", "2"]), Str);
        assert_eq!(dtype(&["0x10", "2"]), Str);
        assert_eq!(dtype(&[" - 5", "1"]), Str);
    }

    #[test]
    fn float_columns() {
        use PandasDtype::*;
        assert_eq!(dtype(&["1e5", "1E-3", ".5", "5."]), Float64);
        assert_eq!(dtype(&["1", "1.5"]), Float64);
        assert_eq!(dtype(&[" 1.5 ", "2"]), Float64);
        assert_eq!(dtype(&["inf", "-Inf", "INFINITY", "+inf", "1"]), Float64);
        assert_eq!(dtype(&[" inf", "3"]), Str);
        assert_eq!(dtype(&["NAN", "1"]), Str);
        assert_eq!(dtype(&["1.5", "Nan"]), Str);
        assert_eq!(dtype(&["1.5", "nan", "-NaN", "1.#IND"]), Float64);
        assert_eq!(dtype(&["1e", "2"]), Str);
        assert_eq!(dtype(&["1 5", "2"]), Str);
        assert_eq!(dtype(&["18446744073709551615", "1.5"]), Float64);
        assert_eq!(dtype(&["18446744073709551616", "1.5"]), Str);
        assert_eq!(dtype(&["1.5", "18446744073709551616"]), Float64);
        assert_eq!(dtype(&["-18446744073709551616", "1.5"]), Float64);
        assert_eq!(dtype(&["", "NA"]), Float64);
        // An int column with NA is cast (0.0); a float cell makes pandas parse "-0" (-0.0).
        assert!(floats(&["-0", "NA"])[0].is_sign_positive());
        assert!(floats(&["-0", "1.5"])[0].is_sign_negative());
        assert_eq!(
            floats(&["1e400", "1e-400", "-0", "1.5"]),
            [f64::INFINITY, 0.0, -0.0, 1.5]
        );
        assert!(floats(&["-0", "1.5"])[0].is_sign_negative());
    }

    #[test]
    fn bool_and_text_columns() {
        use PandasDtype::*;
        assert_eq!(dtype(&["True", "false", "TRUE"]), Bool);
        assert_eq!(dtype(&["True", "", "False"]), Object);
        assert_eq!(dtype(&[" True", "False"]), Str);
        assert_eq!(dtype(&["True", "1"]), Str);
        assert_eq!(dtype(&["1", "True"]), Str);
        assert_eq!(dtype(&["T", "F"]), Str);
        assert_eq!(dtype(&["  ", "1"]), Str);
        assert_eq!(dtype(&["a", "NA", "b"]), Str);
    }

    #[test]
    fn uint64_fallback_keeps_na_spellings_as_text() {
        let (column, dtype) = infer(&[Some("9223372036854775808"), Some("NA"), None]);
        assert_eq!(dtype, PandasDtype::Str);
        let values: Vec<Option<&str>> = column.str().unwrap().iter().collect();
        assert_eq!(values, [Some("9223372036854775808"), Some("NA"), Some("")]);
    }

    #[test]
    fn text_masks_na_spellings_without_copying_strings() {
        let (column, dtype) = infer(&[Some("a"), Some("NA"), None, Some("n/a"), Some("x y")]);
        assert_eq!(dtype, PandasDtype::Str);
        let values: Vec<Option<&str>> = column.str().unwrap().iter().collect();
        assert_eq!(values, [Some("a"), None, None, None, Some("x y")]);
    }
}
