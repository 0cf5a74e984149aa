//! What the words around a quoted name say: a column read, a column to create, an answer field.

use super::words::word_spans;
use std::ops::Range;

/// Words before a quoted name that make it a column to create, not one to read.
const NEW_WORDS: &[&str] = &[
    "new", "create", "creating", "add", "adding", "derive", "deriving", "feature", "rename",
    "renaming", "as", "into", "store", "save", "make", "build", "define", "generate", "engineer",
    "convert", "extract", "split", "put",
];

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
pub(super) fn explicit_column(question: &str, span: &Range<usize>) -> bool {
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

pub(super) fn new_column(question: &str, span: &Range<usize>) -> bool {
    words_before(question, span.start, 8)
        .iter()
        .any(|w| NEW_WORDS.contains(&w.as_str()))
}
