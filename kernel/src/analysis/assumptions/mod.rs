//! Which columns and category values a question names, read against the loaded data's
//! profiles: exact names (after folding case, `_`/`-`/spaces and a plural `s`) are taken
//! silently; a close misspelling ("elektronics", "reveune") becomes an assumption that the
//! user sees and the model is told; a quoted name the question calls a column that nothing
//! matches is reported as missing, so the cell can say so instead of answering a guess.
//!
//! Precision over recall: only words of 6+ letters are ever corrected (distance 1; 2 from
//! 10 letters), the first letter must agree, a common English word is never corrected, and
//! a misspelling close to two different names is left alone.
//!
//! The profile's `categories` (distinct values of low-cardinality text columns) are read
//! here only; they never go into a prompt except through `Assumption::model_line`.

mod context;
mod index;
mod phrases;
mod words;

use super::quote::py_str;
use context::{explicit_column, new_column};
use index::{Entry, Index};
use phrases::{candidates, tokens};
use serde_json::Value;
use std::ops::Range;

/// At most this many referenced columns per dataset are described in full (prompt budget).
pub const MAX_REFERENCED: usize = 8;

/// A name the kernel read differently from how the question wrote it.
#[derive(Debug, Clone, PartialEq)]
pub enum Assumption {
    Column {
        said: String,
        column: String,
    },
    Value {
        said: String,
        value: String,
        column: String,
    },
}

impl Assumption {
    /// The line shown above the code in the cell.
    pub fn user_line(&self) -> String {
        match self {
            Assumption::Column { said, column } => {
                format!("Read {} as column {}.", py_str(said), py_str(column))
            }
            Assumption::Value {
                said,
                value,
                column,
            } => format!(
                "Read {} as category {} of column {}.",
                py_str(said),
                py_str(value),
                py_str(column)
            ),
        }
    }

    /// The line the code prompt gets. `send_values: false` keeps the data's value out of the
    /// prompt (privacy modes): only its column is named.
    pub fn model_line(&self, send_values: bool) -> String {
        match self {
            Assumption::Column { said, column } => format!(
                "In the question, {} means the column {}.",
                py_str(said),
                py_str(column)
            ),
            Assumption::Value {
                said,
                value,
                column,
            } if send_values => format!(
                "In the question, {} means the value {} of column {}.",
                py_str(said),
                py_str(value),
                py_str(column)
            ),
            Assumption::Value { said, column, .. } => format!(
                "In the question, {} refers to a value of column {}.",
                py_str(said),
                py_str(column)
            ),
        }
    }
}

/// A quoted name the question calls a column, which no dataset has or nearly has.
#[derive(Debug, Clone, PartialEq)]
pub struct Missing {
    pub said: String,
    /// The closest real columns, best first.
    pub nearest: Vec<String>,
}

/// What the question names, against the loaded data.
#[derive(Debug, Default)]
pub struct Reading {
    /// (dataset position, column) for each column the question names, in question order.
    pub referenced: Vec<(usize, String)>,
    pub assumptions: Vec<Assumption>,
    pub missing: Vec<Missing>,
}

impl Reading {
    /// The columns of one dataset the question names, at most MAX_REFERENCED.
    pub fn columns_of(&self, dataset: usize) -> Vec<String> {
        let mut out: Vec<String> = vec![];
        for (d, c) in &self.referenced {
            if *d == dataset && !out.contains(c) && out.len() < MAX_REFERENCED {
                out.push(c.clone());
            }
        }
        out
    }

    fn refer(&mut self, dataset: usize, column: &str) {
        if !self
            .referenced
            .iter()
            .any(|(d, c)| *d == dataset && c == column)
        {
            self.referenced.push((dataset, column.to_string()));
        }
    }
}

/// The prompt lines for the reading's assumptions (see `Assumption::model_line`).
pub fn model_lines(reading: &Reading, send_values: bool) -> Vec<String> {
    reading
        .assumptions
        .iter()
        .map(|a| a.model_line(send_values))
        .collect()
}

/// The cell's error when the question names columns the data does not have.
pub fn missing_message(missing: &[Missing]) -> String {
    let mut lines = vec![];
    for m in missing {
        let nearest: Vec<String> = m.nearest.iter().map(|c| py_str(c)).collect();
        lines.push(format!(
            "The data has no column {}. Nearest columns: {}.",
            py_str(&m.said),
            if nearest.is_empty() {
                "(none)".to_string()
            } else {
                nearest.join(", ")
            }
        ));
    }
    lines.push(
        "Write the column's name as the data spells it (%datasets lists the loaded data), or say \
         that it is a new column to create. The model was not asked."
            .into(),
    );
    lines.join("\n")
}

/// Read `question` against the profiles of the loaded datasets (in load order).
pub fn read<'a>(question: &str, profiles: impl IntoIterator<Item = &'a Value>) -> Reading {
    let index = Index::build(profiles);
    let tokens = tokens(question);
    let candidates = candidates(question, &tokens);
    let mut covered = vec![false; tokens.len()];
    let mut reading = Reading::default();
    let mut unmatched = vec![];
    // Exact names first, everywhere (longest phrase wins), so a near match never overrides
    // a word that is already a real name.
    for (i, said) in candidates.iter().enumerate() {
        if said.quoted.is_none() && overlaps(&covered, &said.tokens) {
            continue;
        }
        let hits = index.exact(&said.key);
        let columns: Vec<&Entry> = hits.iter().filter(|e| e.value.is_none()).collect();
        if !columns.is_empty() {
            columns
                .iter()
                .for_each(|e| reading.refer(e.dataset, e.column));
        } else if !hits.is_empty() && said.key.chars().count() >= 3 {
            hits.iter().for_each(|e| reading.refer(e.dataset, e.column));
        } else {
            unmatched.push(i);
            continue;
        }
        cover(&mut covered, &said.tokens);
    }
    for i in unmatched {
        let said = &candidates[i];
        if overlaps(&covered, &said.tokens) && said.quoted.is_none() {
            continue;
        }
        if let Some(entry) = index.near(said) {
            reading.refer(entry.dataset, entry.column);
            reading.assumptions.push(match entry.value {
                None => Assumption::Column {
                    said: said.text.clone(),
                    column: entry.column.to_string(),
                },
                Some(value) => Assumption::Value {
                    said: said.text.clone(),
                    value: value.to_string(),
                    column: entry.column.to_string(),
                },
            });
            cover(&mut covered, &said.tokens);
        } else if let Some(span) = said.quoted.clone() {
            // A name the question creates anywhere ("create a column 'x' ... the mean of the
            // 'x' column") is no missing column at any of its mentions.
            let created = candidates.iter().any(|c| {
                c.key == said.key && c.quoted.as_ref().is_some_and(|s| new_column(question, s))
            });
            if explicit_column(question, &span) && !created {
                reading.missing.push(Missing {
                    said: said.text.clone(),
                    nearest: index.nearest_columns(&said.key, 5),
                });
                // Its words are that name, not misspellings of others.
                cover(&mut covered, &said.tokens);
            }
        }
    }
    reading
}

fn overlaps(covered: &[bool], tokens: &Range<usize>) -> bool {
    covered[tokens.clone()].iter().any(|&c| c)
}

fn cover(covered: &mut [bool], tokens: &Range<usize>) {
    covered[tokens.clone()].iter_mut().for_each(|c| *c = true);
}

#[cfg(test)]
mod tests;
