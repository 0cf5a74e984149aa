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

use super::quote::py_str;
use serde_json::Value;
use std::ops::Range;

/// At most this many referenced columns per dataset are described in full (prompt budget).
pub const MAX_REFERENCED: usize = 8;
/// Phrases of up to this many words are compared with multi-word names.
const MAX_PHRASE_WORDS: usize = 3;
/// Longer quoted strings are prose, not names.
const MAX_QUOTED_CHARS: usize = 100;

/// Words a question uses in their own sense, never read as a misspelled name (only words
/// of 6+ letters matter: shorter ones are never corrected). Singular forms.
const COMMON: &[&str] = &[
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

/// Words before a quoted name that make it a column to create, not one to read.
const NEW_WORDS: &[&str] = &[
    "new", "create", "creating", "add", "adding", "derive", "deriving", "feature", "rename",
    "renaming", "as", "into", "store", "save", "make", "build", "define", "generate", "engineer",
    "convert", "extract", "split", "put",
];

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

/// One column name or category value, keyed for comparison.
struct Entry<'a> {
    dataset: usize,
    column: &'a str,
    value: Option<&'a str>,
    /// Folded words, concatenated ("Wind_Speed" and "wind speeds" -> "windspeed").
    key: String,
}

impl Entry<'_> {
    fn text(&self) -> &str {
        self.value.unwrap_or(self.column)
    }
}

/// Every name of the loaded data, sorted by key: an exact lookup is a binary search and the
/// candidates for a near match (same first letter) are one contiguous run.
struct Index<'a> {
    entries: Vec<Entry<'a>>,
}

impl<'a> Index<'a> {
    fn build(profiles: impl IntoIterator<Item = &'a Value>) -> Self {
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

    fn exact(&self, key: &str) -> &[Entry<'a>] {
        let start = self.entries.partition_point(|e| e.key.as_str() < key);
        let end = start + self.entries[start..].partition_point(|e| e.key == key);
        &self.entries[start..end]
    }

    /// The one name `said` most likely misspells, if there is exactly one at the smallest
    /// distance.
    fn near(&self, said: &Said) -> Option<&Entry<'a>> {
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
    fn nearest_columns(&self, key: &str, n: usize) -> Vec<String> {
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

/// A word or phrase of the question (or a quoted string), as compared with names.
struct Said {
    /// As the question wrote it.
    text: String,
    words: Vec<String>,
    key: String,
    /// The question's tokens it spans.
    tokens: Range<usize>,
    /// For a quoted string: its byte span, quotes included.
    quoted: Option<Range<usize>>,
}

/// A word of the question: its byte span and folded form.
struct Token {
    span: Range<usize>,
    word: String,
}

fn fold(word: &str) -> String {
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

fn word_spans(text: &str) -> Vec<Range<usize>> {
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
fn words_of(text: &str) -> Vec<String> {
    word_spans(text)
        .into_iter()
        .map(|r| fold(&text[r]))
        .collect()
}

/// `words_of(text).concat()` in one pass and one allocation (it runs for every name).
fn key_of(text: &str) -> String {
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

fn tokens(question: &str) -> Vec<Token> {
    word_spans(question)
        .into_iter()
        .map(|span| Token {
            word: fold(&question[span.clone()]),
            span,
        })
        .collect()
}

/// Quoted strings first, then phrases of 3, 2 and 1 words (longest match wins).
fn candidates(question: &str, tokens: &[Token]) -> Vec<Said> {
    let mut out = vec![];
    for (span, body) in quoted_spans(question) {
        let inner = &question[body.clone()];
        let first = tokens.partition_point(|t| t.span.start < body.start);
        let last = tokens.partition_point(|t| t.span.end <= body.end);
        let words = words_of(inner);
        if words.is_empty() {
            continue;
        }
        out.push(Said {
            text: inner.to_string(),
            key: words.concat(),
            words,
            tokens: first..last.max(first),
            quoted: Some(span),
        });
    }
    for n in (1..=MAX_PHRASE_WORDS).rev() {
        for start in 0..tokens.len().saturating_sub(n - 1) {
            let range = start..start + n;
            let words: Vec<String> = tokens[range.clone()]
                .iter()
                .map(|t| t.word.clone())
                .collect();
            let key = words.concat();
            if key.chars().count() < 2 {
                continue;
            }
            out.push(Said {
                text: question[tokens[start].span.start..tokens[start + n - 1].span.end]
                    .to_string(),
                words,
                key,
                tokens: range,
                quoted: None,
            });
        }
    }
    out
}

/// Spans of 'x', "x", `x`, ‘x’, “x” (quotes included, and the text inside): the opening quote
/// starts a word, the closing one ends it (so the apostrophe of "what's" opens nothing).
fn quoted_spans(question: &str) -> Vec<(Range<usize>, Range<usize>)> {
    let chars: Vec<(usize, char)> = question.char_indices().collect();
    let mut out = vec![];
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        let close = match c {
            '\'' | '"' | '`' => c,
            '‘' => '’',
            '“' => '”',
            _ => {
                i += 1;
                continue;
            }
        };
        let opens = i == 0 || !chars[i - 1].1.is_alphanumeric();
        let end = chars[i + 1..].iter().position(|&(_, d)| d == close);
        match end.map(|e| i + 1 + e) {
            Some(j) if opens && j > i + 1 && j - i <= MAX_QUOTED_CHARS => {
                let ends = j + 1 == chars.len() || !chars[j + 1].1.is_alphanumeric();
                let body = &question[chars[i + 1].0..chars[j].0];
                if ends && !body.contains('\n') {
                    let body = chars[i + 1].0..chars[j].0;
                    out.push((start..chars[j].0 + close.len_utf8(), body));
                    i = j + 1;
                    continue;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// The distance at which `said` reads as `name`: same word count, one word differs, and
/// that word is long enough, starts with the same letter and is no common English word.
fn close(said: &[String], name: &[String]) -> Option<usize> {
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

fn overlaps(covered: &[bool], tokens: &Range<usize>) -> bool {
    covered[tokens.clone()].iter().any(|&c| c)
}

fn cover(covered: &mut [bool], tokens: &Range<usize>) {
    covered[tokens.clone()].iter_mut().for_each(|c| *c = true);
}

/// The last few words before `at` in its sentence, lowercased.
fn words_before(question: &str, at: usize, n: usize) -> Vec<String> {
    let sentence = question[..at]
        .rfind(['.', '?', '!', ';', '\n'])
        .map_or(0, |i| i + 1);
    let words: Vec<String> = word_spans(&question[sentence..at])
        .into_iter()
        .map(|r| question[sentence..at][r].to_lowercase())
        .collect();
    words[words.len().saturating_sub(n)..].to_vec()
}

/// "the 'x' column", "column 'x'", "column named 'x'", "df['x']".
fn explicit_column(question: &str, span: &Range<usize>) -> bool {
    let is_column = |w: &str| matches!(w, "column" | "columns" | "col" | "field" | "fields");
    let after = &question[span.end..];
    let next = word_spans(after)
        .first()
        .map(|r| after[r.clone()].to_lowercase());
    let before = words_before(question, span.start, 2);
    // df['x'] is a column; DABench's answer form @name["x"] is not.
    let head = question[..span.start].trim_end();
    let bracket = head.ends_with('[') && !answer_field(head.trim_end_matches('['));
    bracket
        || next.as_deref().is_some_and(is_column)
        || before.last().is_some_and(|w| is_column(w))
        || (before.len() == 2
            && matches!(before[1].as_str(), "named" | "called")
            && is_column(&before[0]))
}

/// A name the question asks to create ("a new column 'Title'", "save it as 'x'").
/// Whether `head` ends with an answer field's name, `@name` (the question's answer form).
fn answer_field(head: &str) -> bool {
    let name = head.trim_end_matches(|c: char| c.is_alphanumeric() || c == '_');
    name.ends_with('@') && name.len() < head.len()
}

fn new_column(question: &str, span: &Range<usize>) -> bool {
    words_before(question, span.start, 8)
        .iter()
        .any(|w| NEW_WORDS.contains(&w.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sales() -> Value {
        json!({
            "columns": ["date", "category", "product", "revenue", "price", "quantity",
                        "wind speed", "Name", "order_id"],
            "categories": {"category": ["Electronics", "Furniture", "Clothing"],
                           "product": ["Laptop", "Phone", "Desk"]},
        })
    }

    fn read1(q: &str) -> Reading {
        read(q, [&sales()])
    }

    fn lines(r: &Reading) -> Vec<String> {
        r.assumptions.iter().map(Assumption::user_line).collect()
    }

    #[test]
    fn common_words_are_listed_as_compared() {
        for w in COMMON {
            assert_eq!(fold(w), *w, "COMMON holds folded words");
        }
    }

    #[test]
    fn misspelled_values_and_columns_are_read_and_stated() {
        let r = read1("Average reveune for elektronics per month?");
        assert_eq!(
            lines(&r),
            [
                "Read 'reveune' as column 'revenue'.",
                "Read 'elektronics' as category 'Electronics' of column 'category'."
            ]
        );
        assert_eq!(r.columns_of(0), ["revenue", "category"]);
        assert!(r.missing.is_empty());
        let with = model_lines(&r, true);
        assert_eq!(
            with[1],
            "In the question, 'elektronics' means the value 'Electronics' of column 'category'."
        );
        let without = model_lines(&r, false);
        assert_eq!(
            without[1],
            "In the question, 'elektronics' refers to a value of column 'category'."
        );
        assert!(!without.concat().contains("Electronics"));
    }

    #[test]
    fn exact_names_after_folding_are_silent_but_referenced() {
        let r = read1("Mean wind_speed and total Revenues by Category for Order-ID 3");
        assert!(r.assumptions.is_empty(), "{:?}", r.assumptions);
        assert_eq!(
            r.columns_of(0),
            ["wind speed", "order_id", "revenue", "category"]
        );
        // A value named exactly refers to its column.
        let r = read1("How many laptops were sold?");
        assert!(r.assumptions.is_empty());
        assert_eq!(r.columns_of(0), ["product"]);
    }

    #[test]
    fn plain_words_are_never_corrected() {
        for q in [
            "Is the same product sold every day?", // same ~ Name
            "Describe the data",                   // data ~ date
            "What is the growth rate?",            // rate ~ date
            "Which order is the largest?",         // order is ~ order_id
            "Show the distribution of prices",     // common words
            "What changed in the states with pricey products?", // pricey ~ price: too short
        ] {
            let r = read1(q);
            assert!(r.assumptions.is_empty(), "{q}: {:?}", r.assumptions);
            assert!(r.missing.is_empty(), "{q}: {:?}", r.missing);
        }
    }

    #[test]
    fn a_name_close_to_two_names_is_left_alone() {
        let p = json!({"columns": ["revenue_a", "revenue_b", "quantity"]});
        // "revenue_c" is one letter from both.
        let r = read("Sum of revenue_c", [&p]);
        assert!(r.assumptions.is_empty(), "{:?}", r.assumptions);
        let p = json!({"columns": ["recorded", "recorder"]});
        let r = read("How many recordes?", [&p]);
        assert!(r.assumptions.is_empty(), "{:?}", r.assumptions);
        // The same value in two columns is one reading (the first column is named).
        let p = json!({"columns": ["a", "b"], "categories": {"a": ["Electronics"], "b": ["Electronics"]}});
        let r = read("count elektronics", [&p]);
        assert_eq!(r.assumptions.len(), 1);
    }

    #[test]
    fn a_quoted_column_that_does_not_exist_is_missing() {
        let r = read1("What is the mean of the 'reveneu_total_eur' column?");
        assert_eq!(r.missing.len(), 1, "{r:?}");
        assert_eq!(r.missing[0].said, "reveneu_total_eur");
        assert_eq!(r.missing[0].nearest.len(), 5);
        assert!(missing_message(&r.missing).contains("no column 'reveneu_total_eur'"));
        for q in [
            "Sum of column 'profit_margin'",
            "Plot df['profit_margin'] over time",
            "Use the column named \"profit_margin\".",
        ] {
            assert_eq!(read1(q).missing.len(), 1, "{q}");
        }
    }

    #[test]
    fn created_names_and_answer_forms_are_not_missing() {
        // DABench 75, 688, 756, 759: a column the question creates, named again later, and
        // values or names inside the @name[...] answer form.
        let p = json!({"columns": ["Date", "Close", "obs_value"], "dtypes": {}});
        for q in [
            "Create a new column called \"Daily Return\" from \"Close\". Calculate the mean of the \"Daily Return\" column.",
            "If there is no correlation, output @correlation_status[\"No significant correlation\"]",
            "@@median_tmax[\"median_TMAX\"]\n@range_tmax[\"range_TMAX\"]",
        ] {
            let r = read(q, [&p]);
            assert!(r.missing.is_empty(), "{q}: {:?}", r.missing);
        }
        // A subscript and an explicit column reference still count.
        assert_eq!(read("mean of df['reveneu_total']", [&p]).missing.len(), 1);
        assert_eq!(read("the 'reveneu_total' column", [&p]).missing.len(), 1);
    }

    #[test]
    fn new_columns_and_other_quotes_are_not_missing() {
        for q in [
            "Create a new column 'Title' from the name",
            "Add a feature named 'price_per_unit' and show its mean",
            "Save the ratio as column 'ratio'",
            "Rename column 'price' to 'unit_price'",
            "What's the users' total for 'Q3 2024'?", // not called a column
            "Mean of the 'price' column",             // exists
        ] {
            let r = read1(q);
            assert!(r.missing.is_empty(), "{q}: {:?}", r.missing);
        }
        // Typographic quotes are quotes too.
        let r = read1("Mean of the “profit_margin” column, please");
        assert_eq!(r.missing[0].said, "profit_margin");
        // A quoted near miss is an assumption, not a refusal.
        let r = read1("the 'quantitty' column");
        assert!(r.missing.is_empty());
        assert_eq!(lines(&r), ["Read 'quantitty' as column 'quantity'."]);
    }

    #[test]
    fn several_datasets_keep_their_columns_apart() {
        let other = json!({"columns": ["customer_segment", "date"]});
        let r = read("revenue by custommer_segment", [&sales(), &other]);
        assert_eq!(r.columns_of(0), ["revenue"]);
        assert_eq!(r.columns_of(1), ["customer_segment"]);
        assert_eq!(r.assumptions.len(), 1);
    }

    // ---- speed: `cargo test --release -p llm-analytics-kernel assumptions -- --ignored --nocapture`

    fn wide(n: usize) -> Value {
        let words = [
            "revenue",
            "price",
            "quantity",
            "margin",
            "region",
            "channel",
            "discount",
            "segment",
            "weight",
            "height",
            "temperature",
            "pressure",
            "humidity",
            "velocity",
            "latency",
        ];
        let cols: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    "{}_{}_{i}",
                    words[i % words.len()],
                    words[(i / 7) % words.len()]
                )
            })
            .collect();
        let cats: serde_json::Map<String, Value> = (0..40)
            .map(|c| {
                let values: Vec<String> = (0..50).map(|v| format!("Group {c} item {v}")).collect();
                (cols[c].clone(), json!(values))
            })
            .collect();
        json!({"columns": cols, "categories": cats})
    }

    /// The obvious alternative: every phrase against every name, no sorting or prefilter.
    fn naive(question: &str, profile: &Value) -> usize {
        let names: Vec<String> = profile["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .chain(
                profile["categories"]
                    .as_object()
                    .unwrap()
                    .values()
                    .flat_map(|v| v.as_array().unwrap().iter())
                    .map(|v| v.as_str().unwrap().to_string()),
            )
            .collect();
        let keys: Vec<String> = names.iter().map(|n| key_of(n)).collect();
        let toks = tokens(question);
        let mut hits = 0;
        for said in candidates(question, &toks) {
            for key in &keys {
                let n = said.key.chars().count().min(key.chars().count());
                let allowed = if n >= 10 { 2 } else { usize::from(n >= 6) };
                if strsim::damerau_levenshtein(&said.key, key) <= allowed {
                    hits += 1;
                }
            }
        }
        hits
    }

    #[test]
    fn keys_fold_like_words() {
        for name in [
            "Wind_Speeds",
            "Order-ID",
            "Statuses",
            "Price ($)",
            "class",
            "İstanbul",
        ] {
            assert_eq!(key_of(name), words_of(name).concat(), "{name}");
        }
    }

    #[test]
    #[ignore]
    fn speed_at_2000_columns() {
        let profile = wide(2_000);
        let cols = profile["columns"].as_array().unwrap();
        let named = cols[1499].as_str().unwrap().to_string();
        // A transposition in the first word of the 31st column's name.
        let mut typo: Vec<char> = cols[30].as_str().unwrap().chars().collect();
        typo.swap(2, 3);
        let typo: String = typo.into_iter().collect();
        let questions = [
            format!("What is the average {named} by region for the last quarter?"),
            format!("Compare the mean {typo} across Group 3 item 7 and group 3 item 8"),
            "Which channel has the highest total revenue and how does the discount relate to margin?".to_string(),
        ];
        let rounds = 300;
        let t = std::time::Instant::now();
        let mut found = 0;
        for _ in 0..rounds {
            for q in &questions {
                let r = read(q, [&profile]);
                found += r.referenced.len() + r.assumptions.len();
            }
        }
        let ours = t.elapsed().as_secs_f64() * 1e6 / (rounds * questions.len()) as f64;
        let t = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(Index::build([&profile]));
        }
        let build = t.elapsed().as_secs_f64() * 1e6 / rounds as f64;
        let t = std::time::Instant::now();
        let naive_rounds = 10;
        let mut hits = 0;
        for _ in 0..naive_rounds {
            for q in &questions {
                hits += naive(q, &profile);
            }
        }
        let all_pairs = t.elapsed().as_secs_f64() * 1e6 / (naive_rounds * questions.len()) as f64;
        println!(
            "assumption matcher: {ours:.0} µs per question at 2,000 columns + 2,000 category values \
             (of which {build:.0} µs building the name index); naive all-pairs Damerau-Levenshtein: \
             {all_pairs:.0} µs per question ({found} names read / {hits} pairs within distance)"
        );
        let r = read(&questions[1], [&profile]);
        assert_eq!(r.assumptions.len(), 1, "{:?}", r.assumptions);
        assert!(read(&questions[0], [&profile])
            .columns_of(0)
            .contains(&named));
    }
}
