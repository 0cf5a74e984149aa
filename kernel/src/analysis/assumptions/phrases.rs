//! The words, phrases and quoted strings of a question that may name a column or value.

use super::words::{fold, word_spans, words_of};
use std::ops::Range;

/// Phrases of up to this many words are compared with multi-word names.
const MAX_PHRASE_WORDS: usize = 3;
/// Longer quoted strings are prose, not names.
const MAX_QUOTED_CHARS: usize = 100;

/// A word or phrase of the question (or a quoted string), as compared with names.
pub(super) struct Said {
    /// As the question wrote it.
    pub(super) text: String,
    pub(super) words: Vec<String>,
    pub(super) key: String,
    /// The question's tokens it spans.
    pub(super) tokens: Range<usize>,
    /// For a quoted string: its byte span, quotes included.
    pub(super) quoted: Option<Range<usize>>,
}

/// A word of the question: its byte span and folded form.
pub(super) struct Token {
    span: Range<usize>,
    word: String,
}

pub(super) fn tokens(question: &str) -> Vec<Token> {
    word_spans(question)
        .into_iter()
        .map(|span| Token {
            word: fold(&question[span.clone()]),
            span,
        })
        .collect()
}

/// Quoted strings first, then phrases of 3, 2 and 1 words (longest match wins).
pub(super) fn candidates(question: &str, tokens: &[Token]) -> Vec<Said> {
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
