//! Fixes made to the model's code without asking it again: habits repaired, column names resolved.

use crate::analysis::quote;
use serde_json::Value;

/// Habits repaired instead of refused (code_guard::repair): re-reading the data, a
/// `__main__` guard. `datasets` come in load order (the current one, `df`, last).
pub(super) fn repair(code: &str, datasets: &[&str]) -> (String, Vec<String>) {
    // code-guard wants the dataset bound as `df` first.
    let mut order: Vec<&str> = datasets.iter().rev().copied().collect();
    order.dedup();
    let repaired = code_guard::repair(code, &order);
    (repaired.code, repaired.notes)
}

/// Column names as code would write them: trimmed, case-folded, inner spaces collapsed, and
/// `_`/`-` read as spaces (the model writes 'wind_speed' for a column 'wind speed').
fn normal(name: &str) -> String {
    name.split(|c: char| c.is_whitespace() || c == '_' || c == '-')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Quoted string literals in `code` that name no column but match exactly one column once
/// surrounding whitespace is ignored (a header ` BARO` asked for as 'BARO'): rewritten to the
/// real name, with one note each.
pub fn resolve_spacing(code: &str, columns: &[String]) -> (String, Vec<String>) {
    let mut code = code.to_string();
    let mut notes = vec![];
    for literal in string_literals(&code) {
        if columns.contains(&literal) {
            continue;
        }
        let matches: Vec<&String> = columns
            .iter()
            .filter(|c| c.trim() == literal.trim() && !c.trim().is_empty())
            .collect();
        if let [real] = matches.as_slice() {
            code = replace_literal(&code, &literal, real);
            notes.push(format!(
                "Read column {} as {} (the data's name has extra spaces).",
                quote::py_str(&literal),
                quote::py_str(real)
            ));
        }
    }
    (code, notes)
}

/// After a KeyError for a name that matches exactly one column ignoring case and spacing:
/// the code with the real name, and the note that says so.
pub(super) fn resolve_case(
    code: &str,
    value: &Value,
    columns: &[String],
) -> Option<(String, String)> {
    if value["ename"] != "KeyError" {
        return None;
    }
    let key = value["evalue"]
        .as_str()?
        .trim()
        .trim_matches(|c| c == '\'' || c == '"');
    if key.is_empty() || columns.iter().any(|c| c == key) {
        return None;
    }
    let matches: Vec<&String> = columns
        .iter()
        .filter(|c| normal(c) == normal(key))
        .collect();
    let [real] = matches.as_slice() else {
        return None;
    };
    if !string_literals(code).iter().any(|l| l == key) {
        return None;
    }
    Some((
        replace_literal(code, key, real),
        format!(
            "Read column {} as {} (the data spells it that way).",
            quote::py_str(key),
            quote::py_str(real)
        ),
    ))
}

/// The contents of simple quoted string literals ('x' or "x", no escapes, one line).
fn string_literals(code: &str) -> Vec<String> {
    let mut out = vec![];
    for quote in ['\'', '"'] {
        let mut rest = code;
        while let Some(start) = rest.find(quote) {
            let after = &rest[start + 1..];
            let Some(end) = after.find(quote) else { break };
            let body = &after[..end];
            if !body.contains('\n') && !body.contains('\\') && !body.contains(['\'', '"']) {
                out.push(body.to_string());
            }
            rest = &after[end + 1..];
        }
    }
    out.sort();
    out.dedup();
    out
}

fn replace_literal(code: &str, from: &str, to: &str) -> String {
    let real = quote::py_str(to);
    code.replace(&format!("'{from}'"), &real)
        .replace(&format!("\"{from}\""), &real)
}
