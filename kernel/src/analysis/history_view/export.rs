//! Exchanges exported as CSV, with text from the store kept from starting a spreadsheet formula.

use super::notebook_label;
use history_store::FoundExchange;

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

pub(super) fn csv_row(fields: impl IntoIterator<Item = String>) -> String {
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
pub(super) fn spreadsheet_safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}
