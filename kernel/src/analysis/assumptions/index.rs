//! The loaded data's column names and category values, sorted for exact and near lookups.

use super::phrases::Said;
use super::words::{close, key_of, words_of};
use serde_json::Value;

/// One column name or category value, keyed for comparison.
pub(super) struct Entry<'a> {
    pub(super) dataset: usize,
    pub(super) column: &'a str,
    pub(super) value: Option<&'a str>,
    /// Folded words, concatenated ("Wind_Speed" and "wind speeds" -> "windspeed").
    pub(super) key: String,
}

impl Entry<'_> {
    fn text(&self) -> &str {
        self.value.unwrap_or(self.column)
    }
}

/// Every name of the loaded data, sorted by key: an exact lookup is a binary search and the
/// candidates for a near match (same first letter) are one contiguous run.
pub(super) struct Index<'a> {
    entries: Vec<Entry<'a>>,
}

impl<'a> Index<'a> {
    pub(super) fn build(profiles: impl IntoIterator<Item = &'a Value>) -> Self {
        let mut entries = vec![];
        for (dataset, profile) in profiles.into_iter().enumerate() {
            for column in profile["columns"].as_array().into_iter().flatten() {
                let Some(column) = column.as_str() else {
                    continue;
                };
                entries.push(Entry {
                    dataset,
                    column,
                    value: None,
                    key: key_of(column),
                });
            }
            for (column, values) in profile["categories"].as_object().into_iter().flatten() {
                for value in values.as_array().into_iter().flatten() {
                    let Some(value) = value.as_str() else {
                        continue;
                    };
                    entries.push(Entry {
                        dataset,
                        column,
                        value: Some(value),
                        key: key_of(value),
                    });
                }
            }
        }
        entries.retain(|e| !e.key.is_empty());
        entries.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        Index { entries }
    }

    pub(super) fn exact(&self, key: &str) -> &[Entry<'a>] {
        let start = self.entries.partition_point(|e| e.key.as_str() < key);
        let end = start + self.entries[start..].partition_point(|e| e.key == key);
        &self.entries[start..end]
    }

    /// The one name `said` most likely misspells, if there is exactly one at the smallest
    /// distance.
    pub(super) fn near(&self, said: &Said) -> Option<&Entry<'a>> {
        // Only a word of 6+ letters is ever corrected (see `close`).
        if !said.words.iter().any(|w| w.chars().count() >= 6) {
            return None;
        }
        let first = said.key.chars().next()?;
        let mut prefix = [0u8; 4];
        let prefix: &str = first.encode_utf8(&mut prefix);
        let start = self.entries.partition_point(|e| e.key.as_str() < prefix);
        let len = said.key.chars().count();
        let mut best: Option<(usize, &Entry<'a>)> = None;
        let mut tied = false;
        for e in self.entries[start..]
            .iter()
            .take_while(|e| e.key.starts_with(first))
        {
            if e.key.chars().count().abs_diff(len) > 2 {
                continue;
            }
            let Some(d) = close(&said.words, &words_of(e.text())) else {
                continue;
            };
            match best {
                Some((b, _)) if d > b => {}
                Some((b, other)) if d == b => {
                    // The same value in two columns is one reading; two names are a guess.
                    tied |= other.text() != e.text() || other.value.is_none() != e.value.is_none();
                }
                _ => {
                    best = Some((d, e));
                    tied = false;
                }
            }
        }
        best.filter(|_| !tied).map(|(_, e)| e)
    }

    /// The `n` columns closest to `key` (normalised Damerau-Levenshtein), best first.
    pub(super) fn nearest_columns(&self, key: &str, n: usize) -> Vec<String> {
        let mut scored: Vec<(f64, &str)> = self
            .entries
            .iter()
            .filter(|e| e.value.is_none())
            .map(|e| {
                (
                    strsim::normalized_damerau_levenshtein(key, &e.key),
                    e.column,
                )
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        let mut out: Vec<String> = vec![];
        for (_, c) in scored {
            if !out.iter().any(|o| o == c) {
                out.push(c.to_string());
            }
            if out.len() == n {
                break;
            }
        }
        out
    }
}
