//! Folding words and names into comparable keys, and when a word may be read as a misspelled name.

use std::ops::Range;

/// Words a question uses in their own sense, never read as a misspelled name (only words
/// of 6+ letters matter: shorter ones are never corrected). Singular forms.
pub(super) const COMMON: &[&str] = &[
    "across",
    "actual",
    "amount",
    "answer",
    "around",
    "average",
    "before",
    "behind",
    "better",
    "between",
    "bigger",
    "bottom",
    "breakdown",
    "calculate",
    "change",
    "charge",
    "chart",
    "column",
    "combine",
    "common",
    "compare",
    "comparison",
    "compute",
    "concern",
    "contain",
    "correlate",
    "correlation",
    "count",
    "counter",
    "county",
    "create",
    "current",
    "dataset",
    "decrease",
    "define",
    "density",
    "describe",
    "detail",
    "determine",
    "differ",
    "difference",
    "display",
    "distinct",
    "distribution",
    "during",
    "either",
    "entire",
    "entrie",
    "entry",
    "estimate",
    "except",
    "exclude",
    "expect",
    "explain",
    "factor",
    "figure",
    "filter",
    "finally",
    "format",
    "former",
    "frequency",
    "frequent",
    "greater",
    "greatest",
    "highest",
    "histogram",
    "include",
    "increase",
    "indicate",
    "inside",
    "instead",
    "latest",
    "latter",
    "larger",
    "largest",
    "lowest",
    "mainly",
    "manner",
    "maximum",
    "measure",
    "median",
    "method",
    "middle",
    "minimum",
    "missing",
    "monthly",
    "number",
    "object",
    "option",
    "other",
    "outlier",
    "output",
    "overall",
    "partial",
    "pattern",
    "people",
    "percent",
    "percentage",
    "period",
    "please",
    "point",
    "policy",
    "present",
    "previous",
    "provide",
    "quarter",
    "ranking",
    "rather",
    "really",
    "recent",
    "record",
    "regression",
    "relation",
    "relationship",
    "remove",
    "report",
    "result",
    "return",
    "sample",
    "season",
    "second",
    "select",
    "serie",
    "should",
    "similar",
    "simple",
    "single",
    "smaller",
    "smallest",
    "source",
    "spread",
    "standard",
    "state",
    "statistic",
    "strong",
    "summarize",
    "summary",
    "supply",
    "table",
    "taking",
    "through",
    "toward",
    "trend",
    "typical",
    "unique",
    "value",
    "variable",
    "variance",
    "weekly",
    "weight",
    "whether",
    "within",
    "without",
    "yearly",
];

pub(super) fn fold(word: &str) -> String {
    let mut lower = word.to_lowercase();
    drop_plural(&mut lower, 0);
    lower
}

/// Drop the plural 's' of the word that starts at byte `start` and ends `key` ("revenues";
/// "categories" -> "categorie" on both sides), not the end of "class", "status", "analysis".
fn drop_plural(key: &mut String, start: usize) {
    let word = &key[start..];
    let before = word.chars().rev().nth(1);
    if word.len() > 3 && word.ends_with('s') && !matches!(before, Some('s' | 'u' | 'i')) {
        key.pop();
    }
}

pub(super) fn word_spans(text: &str) -> Vec<Range<usize>> {
    let mut out = vec![];
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            out.push(s..i);
        }
    }
    if let Some(s) = start {
        out.push(s..text.len());
    }
    out
}

/// Folded words: anything not a letter or digit separates (`_`, `-`, spaces, brackets).
pub(super) fn words_of(text: &str) -> Vec<String> {
    word_spans(text)
        .into_iter()
        .map(|r| fold(&text[r]))
        .collect()
}

/// `words_of(text).concat()` in one pass and one allocation (it runs for every name).
pub(super) fn key_of(text: &str) -> String {
    let mut key = String::with_capacity(text.len());
    let mut word_start = None;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            word_start.get_or_insert(key.len());
            key.push(c.to_ascii_lowercase());
        } else if c.is_alphanumeric() {
            word_start.get_or_insert(key.len());
            key.extend(c.to_lowercase());
        } else if let Some(start) = word_start.take() {
            drop_plural(&mut key, start);
        }
    }
    if let Some(start) = word_start {
        drop_plural(&mut key, start);
    }
    key
}

/// The distance at which `said` reads as `name`: same word count, one word differs, and
/// that word is long enough, starts with the same letter and is no common English word.
pub(super) fn close(said: &[String], name: &[String]) -> Option<usize> {
    if said.len() != name.len() {
        return None;
    }
    let mut differing = said.iter().zip(name).filter(|(a, b)| a != b);
    let (a, b) = differing.next()?;
    if differing.next().is_some() || COMMON.contains(&a.as_str()) {
        return None;
    }
    let shorter = a.chars().count().min(b.chars().count());
    let allowed = match shorter {
        10.. => 2,
        6.. => 1,
        _ => return None,
    };
    if a.chars().next() != b.chars().next() {
        return None;
    }
    let d = strsim::osa_distance(a, b);
    (d <= allowed).then_some(d)
}
