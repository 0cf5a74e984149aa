//! What a `%history` line asks for: its options parsed, or a message that says what to write instead.

use super::USAGE;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use history_store::ExchangeQuery;

/// What a `%history` line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum HistoryArgs {
    /// This session (or, with `all`, every session of this notebook); `export` writes the
    /// notebook's recorded answers.
    Notebook { all: bool, export: bool },
    /// Every notebook in the store, filtered; `export` is a CSV file to write.
    Everywhere {
        query: ExchangeQuery,
        export: Option<String>,
    },
}

/// Parses the arguments; the error is a UsageError message that says what to write instead.
pub fn parse_args(args: &str) -> Result<HistoryArgs, String> {
    let words = split_words(args)?;
    let mut words = words.into_iter().peekable();
    let (mut all, mut everywhere, mut export, mut export_file) = (false, false, false, None);
    let mut query = ExchangeQuery::default();
    let mut filters = Vec::new();
    while let Some(word) = words.next() {
        let mut value = |what: &str| {
            words
                .next_if(|w| !w.starts_with("--"))
                .ok_or_else(|| format!("{word} needs {what}. Usage: {USAGE}"))
        };
        match word.as_str() {
            "--all" => all = true,
            "--everywhere" => everywhere = true,
            "--errors" => query.errors_only = true,
            "--replayed" => query.replayed_only = true,
            "--model" => query.model = Some(value("a model name, e.g. --model gpt-4o-mini")?),
            "--since" => {
                query.since = Some(parse_since(&value("a date, e.g. --since 2024-03-01")?)?)
            }
            "--export" => {
                export = true;
                export_file = words.next_if(|w| !w.starts_with("--"));
            }
            other => return Err(format!("Unknown %history option {other:?}. Usage: {USAGE}")),
        }
        if ["--model", "--since", "--errors", "--replayed"].contains(&word.as_str()) {
            filters.push(word);
        }
    }
    if !everywhere {
        if let Some(f) = filters.first() {
            return Err(format!(
                "{f} filters the listing across notebooks: use it with --everywhere, e.g. %history --everywhere {f}{}.",
                if f == "--model" || f == "--since" { " VALUE" } else { "" }
            ));
        }
        if let Some(file) = export_file {
            return Err(format!(
                "--export {file} writes a CSV only with --everywhere (%history --everywhere --export {file}); \
                 %history --export alone writes this notebook's recorded answers and takes no file name."
            ));
        }
        return Ok(HistoryArgs::Notebook { all, export });
    }
    if all {
        return Err(
            "--all (this notebook's sessions) and --everywhere (every notebook) exclude each other: use one.".into(),
        );
    }
    if export && export_file.is_none() {
        return Err("--export needs a file name with --everywhere, e.g. %history --everywhere --export audit.csv".into());
    }
    Ok(HistoryArgs::Everywhere {
        query,
        export: export_file,
    })
}

/// Whitespace-separated words; '…' or "…" keep a path with spaces together.
fn split_words(s: &str) -> Result<Vec<String>, String> {
    let (mut words, mut cur, mut quote, mut in_word) = (Vec::new(), String::new(), None, false);
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => (quote, in_word) = (Some(c), true),
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                }
                in_word = false;
            }
            None => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(format!(
            "A quote is not closed in %history {s}. Usage: {USAGE}"
        ));
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// `YYYY-MM-DD` (midnight UTC) or an ISO datetime (UTC unless it carries an offset).
pub fn parse_since(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    Err(format!(
        "--since needs a date like 2024-03-01 or a datetime like 2024-03-01T14:30:00Z \
         (UTC unless an offset is given), not {s:?}."
    ))
}
