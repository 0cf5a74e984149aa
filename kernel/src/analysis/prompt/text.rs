//! Small text helpers for prompts: lists from a profile, cutting to width, joining within a budget.

use serde_json::Value;

pub(super) fn str_list(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|x| {
                    x.as_str()
                        .map(String::from)
                        .unwrap_or_else(|| x.to_string())
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

/// Comma-joined names within a character budget, saying how many were left out.
pub(super) fn joined_within(names: &[String], budget: usize) -> String {
    let mut out = String::new();
    for (i, n) in names.iter().enumerate() {
        if out.len() + n.len() + 2 > budget {
            return format!("{out}, ... ({} more)", names.len() - i);
        }
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(n);
    }
    out
}

/// A SQL identifier as DuckDB reads it: double quotes, inner quotes doubled.
pub(super) fn sql_ident(name: &str) -> String {
    format!("\"{}\"", cut(name, 80).replace('"', "\"\""))
}
