//! The fused one-pass classifier for the common columns (ints, floats, bools, text).

use polars::prelude::*;

use super::columns::{all_missing, bool_column, float_column};
use super::scalars::{is_na, is_plain_int, needs_exact, parse_bool, parse_f64, parse_i64};
use super::{PandasDtype, Pass};

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

pub(super) fn fast_pass(strings: &StringChunked) -> Pass {
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
