//! Exchanges shown as an escaped HTML table plus plain text, for this notebook or every notebook.

use super::notebook_label;
use crate::analysis::render::escape_html;
use history_store::{ExchangePage, ExchangeQuery, ExchangeRecord};
use serde_json::{json, Value};

/// Longest question or result shown in a table cell (the CSV keeps the whole text).
const CELL_CHARS: usize = 300;

/// One line of text from the store, safe to print: no control characters (no ANSI escapes,
/// no newline forging another row), at most `max` characters.
pub(super) fn plain(s: &str, max: usize) -> String {
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
