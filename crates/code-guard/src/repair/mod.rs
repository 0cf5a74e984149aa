//! Repairs of two harmless habits of small models, made on the syntax tree
//! by splicing the source text (everything else stays byte-identical):
//!
//! 1. re-reading the data that is already loaded (`df = pd.read_csv('x.csv')`);
//! 2. the `if __name__ == "__main__":` guard around the real work.
//!
//! Nothing else is touched, and nothing here makes code safe: the caller
//! validates the repaired code afterwards.
//!
//! One file per repair: `main_guard`, `samples` (sample rows typed in as a
//! `DataFrame`), `reads/` (reading the data again); `result` answers where
//! `result` is bound, and `blocks` holds the statement helpers they share.

mod blocks;
mod main_guard;
mod reads;
mod result;
mod samples;

use rustpython_parser::ast::{Constant, Expr};
use rustpython_parser::text_size::TextRange;

use main_guard::unguard_main;
use reads::reuse_loaded_data;
use samples::drop_sample_copies;

pub use result::assigns_result;

/// Code after [`crate::repair()`], with one short line per change made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaired {
    pub code: String,
    pub notes: Vec<String>,
}

pub fn repair(code: &str, datasets: &[&str]) -> Repaired {
    let mut notes = Vec::new();
    let code = unguard_main(code, &mut notes);
    let code = if datasets.is_empty() {
        code
    } else {
        let code = drop_sample_copies(&code, datasets, &mut notes);
        reuse_loaded_data(&code, datasets, &mut notes)
    };
    Repaired { code, notes }
}

/// A replacement of `range` in the source by `text`.
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

fn apply(code: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| std::cmp::Reverse(e.start));
    let mut out = code.to_string();
    let mut limit = usize::MAX;
    for edit in edits {
        // Overlapping edits cannot happen by construction; skip if they do.
        if edit.end > limit {
            continue;
        }
        out.replace_range(edit.start..edit.end, &edit.text);
        limit = edit.start;
    }
    out
}

fn span(range: TextRange) -> (usize, usize) {
    (usize::from(range.start()), usize::from(range.end()))
}

fn line_start(code: &str, offset: usize) -> usize {
    code[..offset].rfind('\n').map_or(0, |i| i + 1)
}

/// Offset just past the newline ending the line that contains `offset`.
fn line_end(code: &str, offset: usize) -> usize {
    code[offset..]
        .find('\n')
        .map_or(code.len(), |i| offset + i + 1)
}

fn indent_at(code: &str, offset: usize) -> &str {
    &code[line_start(code, offset)..offset]
}

fn is_str(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Constant(c) => match &c.value {
            Constant::Str(s) => Some(s),
            _ => None,
        },
        _ => None,
    }
}
