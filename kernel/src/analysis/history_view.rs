//! `%history`: what its arguments ask for, and how exchanges are shown (HTML table + text) or
//! exported (CSV). Every value read from the store is treated as hostile: HTML-escaped in the
//! table, stripped of control characters in text, and kept from starting a formula in CSV.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use history_store::{ExchangePage, ExchangeQuery, ExchangeRecord, FoundExchange};
use serde_json::{json, Value};

use super::render::escape_html;

/// Rows `%history --everywhere` shows; `--export` writes every match.
pub const SHOWN: usize = 200;
/// Longest question or result shown in a table cell (the CSV keeps the whole text).
const CELL_CHARS: usize = 300;

pub const USAGE: &str = "%history [--all] [--export]  or  %history --everywhere [--model NAME] \
[--since YYYY-MM-DD] [--errors] [--replayed] [--export FILE.csv]";

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

/// The notebook an exchange came from, as shown and exported.
pub fn notebook_label(f: &FoundExchange) -> String {
    match f.session_id.strip_prefix("recorded:") {
        // Recorded answers imported from `<notebook>.answers.json` (services.rs).
        Some(nb) if f.notebook.is_empty() => format!("{nb} (recorded answers)"),
        _ if f.notebook.is_empty() => "(unknown)".into(),
        _ => f.notebook.clone(),
    }
}

/// One line of text from the store, safe to print: no control characters (no ANSI escapes,
/// no newline forging another row), at most `max` characters.
fn plain(s: &str, max: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match flat.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}

fn outcome(r: &ExchangeRecord) -> String {
    r.error
        .as_deref()
        .map(|e| format!("error: {e}"))
        .unwrap_or_else(|| r.result_summary.clone())
}

/// What the filters were, in words.
fn described(q: &ExchangeQuery) -> String {
    let mut parts = Vec::new();
    if let Some(m) = &q.model {
        parts.push(format!("model {m}"));
    }
    if let Some(s) = q.since {
        parts.push(format!("since {}", s.format("%Y-%m-%d %H:%M:%S UTC")));
    }
    if q.errors_only {
        parts.push("errors only".into());
    }
    if q.replayed_only {
        parts.push("replayed only".into());
    }
    if parts.is_empty() {
        "no filter".into()
    } else {
        parts.join(", ")
    }
}

/// `%history --everywhere`: the page as an escaped HTML table plus plain text.
pub fn everywhere_table(page: &ExchangePage, query: &ExchangeQuery, store: &str) -> Value {
    let n = page.exchanges.len();
    let mut summary = format!(
        "{} exchange(s) across all notebooks in {store} ({}), newest first",
        page.total,
        described(query)
    );
    if page.total > n {
        summary.push_str(&format!(
            "; showing the newest {n}, {} more matched (--export FILE.csv writes all of them)",
            page.total - n
        ));
    }
    summary.push('.');
    if let Some(note) = &page.incomplete {
        summary.push_str(&format!(" {note}"));
    }
    if n == 0 {
        return json!({"text/plain": plain(&summary, usize::MAX)});
    }
    let mut html = format!(
        "<p>{}</p><table><thead><tr><th>#</th><th>when (UTC)</th><th>notebook</th>\
         <th>question</th><th>model</th><th>tokens</th><th>replayed</th><th>result</th>\
         </tr></thead><tbody>",
        escape_html(&summary)
    );
    let mut text = format!("{}\n", plain(&summary, usize::MAX));
    for (i, f) in page.exchanges.iter().enumerate() {
        let r = &f.record;
        let when = r.timestamp.format("%Y-%m-%d %H:%M:%S").to_string();
        let notebook = notebook_label(f);
        let tokens = format!("{}+{}", r.usage.prompt_tokens, r.usage.completion_tokens);
        let replayed = if r.replayed { "yes" } else { "" };
        let (question, result) = (
            plain(&r.question, CELL_CHARS),
            plain(&outcome(r), CELL_CHARS),
        );
        html.push_str(&format!(
            "<tr><td>{}</td><td>{when}</td><td>{}</td><td>{}</td><td>{}</td><td>{tokens}</td>\
             <td>{replayed}</td><td>{}</td></tr>",
            i + 1,
            escape_html(&notebook),
            escape_html(&question),
            escape_html(&r.model),
            escape_html(&result),
        ));
        text.push_str(&format!(
            "{}. [{when}] {} | {}{}\n   {} ({tokens} tokens) -> {result}\n",
            i + 1,
            plain(&notebook, usize::MAX),
            question,
            if r.replayed { " (replayed)" } else { "" },
            plain(&r.model, 200),
        ));
    }
    html.push_str("</tbody></table>");
    json!({"text/html": html, "text/plain": text})
}

/// `%history` / `--all`: this notebook's exchanges as an escaped HTML table plus plain text.
pub fn notebook_table(rows: &[(String, ExchangeRecord)], with_data: bool) -> Value {
    if rows.is_empty() {
        return json!({"text/plain": "No questions asked yet in this session."});
    }
    let mut html = String::from("<table><thead><tr><th>#</th><th>when</th>");
    if with_data {
        html.push_str("<th>data</th>");
    }
    html.push_str("<th>question</th><th>code</th><th>result</th></tr></thead><tbody>");
    let mut text = String::new();
    for (i, (data, r)) in rows.iter().enumerate() {
        let when = r.timestamp.format("%Y-%m-%d %H:%M").to_string();
        let outcome = outcome(r);
        let replay = if r.replayed { " (replayed)" } else { "" };
        html.push_str(&format!("<tr><td>{}</td><td>{when}</td>", i + 1));
        if with_data {
            html.push_str(&format!("<td>{}</td>", escape_html(data)));
        }
        html.push_str(&format!(
            "<td>{}{replay}</td><td><pre>{}</pre></td><td>{}</td></tr>",
            escape_html(&r.question),
            escape_html(&r.code),
            escape_html(&outcome)
        ));
        text.push_str(&format!(
            "{}. [{when}] {}{replay}\n   -> {outcome}\n",
            i + 1,
            r.question
        ));
    }
    html.push_str("</tbody></table>");
    json!({"text/html": html, "text/plain": text})
}

pub const CSV_COLUMNS: [&str; 14] = [
    "timestamp",
    "notebook",
    "question",
    "model",
    "endpoint_host",
    "error",
    "replayed",
    "prompt_tokens",
    "completion_tokens",
    "total_ms",
    "code",
    "result_summary",
    "session_id",
    "id",
];

/// The exchanges as CSV (RFC 4180, CRLF), one row each in the given order.
pub fn csv(exchanges: &[FoundExchange]) -> String {
    let mut out = csv_row(CSV_COLUMNS.iter().map(|c| c.to_string()));
    for f in exchanges {
        let r = &f.record;
        let text = |s: &str| spreadsheet_safe(s);
        out.push_str(&csv_row([
            r.timestamp.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            text(&notebook_label(f)),
            text(&r.question),
            text(&r.model),
            text(&r.endpoint_host),
            text(r.error.as_deref().unwrap_or("")),
            r.replayed.to_string(),
            r.usage.prompt_tokens.to_string(),
            r.usage.completion_tokens.to_string(),
            r.total_ms.to_string(),
            text(&r.code),
            text(&r.result_summary),
            text(&f.session_id),
            text(&r.id),
        ]));
    }
    out
}

fn csv_row(fields: impl IntoIterator<Item = String>) -> String {
    let quoted: Vec<String> = fields
        .into_iter()
        .map(|f| {
            if f.contains([',', '"', '\r', '\n']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f
            }
        })
        .collect();
    quoted.join(",") + "\r\n"
}

/// A spreadsheet runs a cell starting with = + - @ (or a tab/CR before one) as a formula;
/// text from the store gets a leading apostrophe so it opens as text (OWASP's advice).
fn spreadsheet_safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_parse_or_say_what_to_do() {
        assert_eq!(
            parse_args("").unwrap(),
            HistoryArgs::Notebook {
                all: false,
                export: false
            }
        );
        assert_eq!(
            parse_args("--all --export").unwrap(),
            HistoryArgs::Notebook {
                all: true,
                export: true
            }
        );
        let HistoryArgs::Everywhere { query, export } = parse_args(
            "--everywhere --model m --since 2024-03-01 --errors --replayed --export 'a b.csv'",
        )
        .unwrap() else {
            panic!("not everywhere")
        };
        assert_eq!(query.model.as_deref(), Some("m"));
        assert_eq!(
            query.since,
            Some(parse_since("2024-03-01T00:00:00Z").unwrap())
        );
        assert!(query.errors_only && query.replayed_only);
        assert_eq!(export.as_deref(), Some("a b.csv"));
        for (bad, says) in [
            ("--everywhere --bogus", "Unknown"),
            ("--everywhere --since yesterday", "--since needs a date"),
            ("--everywhere --since", "--since needs a date"),
            ("--everywhere --model --errors", "--model needs"),
            ("--errors", "with --everywhere"),
            ("--export x.csv", "only with --everywhere"),
            ("--everywhere --export", "needs a file name"),
            ("--all --everywhere", "exclude each other"),
            ("--everywhere --export 'x.csv", "not closed"),
        ] {
            let e = parse_args(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn since_takes_dates_and_iso_datetimes() {
        let t = |s| parse_since(s).unwrap().to_rfc3339();
        assert_eq!(t("2024-03-01"), "2024-03-01T00:00:00+00:00");
        assert_eq!(t("2024-03-01T14:30"), "2024-03-01T14:30:00+00:00");
        assert_eq!(t("2024-03-01T14:30:00+02:00"), "2024-03-01T12:30:00+00:00");
        assert_eq!(t("2024-03-01 14:30:05.5"), "2024-03-01T14:30:05.500+00:00");
        assert!(parse_since("2024-13-01").is_err());
    }

    #[test]
    fn hostile_values_stay_inert() {
        assert_eq!(plain("a\nb\x1b[31mc", 100), "a b [31mc");
        assert_eq!(plain("abcdef", 3), "abc…");
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("plain"), "plain");
        assert_eq!(
            csv_row(["a,b".into(), "q\"x".into(), "l1\nl2".into(), "n".into()]),
            "\"a,b\",\"q\"\"x\",\"l1\nl2\",n\r\n"
        );
    }
}
