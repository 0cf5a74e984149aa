//! What an attempt said, as text: the answer it gave, the error it raised, clipped for feedback.

use crate::protocol::backend::Output;
use serde_json::Value;

/// The answer as text: printed output, then the result's plain text.
pub(super) fn answer_text(value: &Value, outputs: &[Output]) -> String {
    let mut text = String::new();
    for out in outputs {
        match out {
            Output::Stream { name, text: t } if name == "stdout" => text.push_str(t),
            Output::ExecuteResult { data, .. } => {
                if let Some(t) = data["text/plain"].as_str() {
                    if !text.is_empty() && !text.ends_with('\n') {
                        text.push('\n');
                    }
                    text.push_str(t);
                }
            }
            _ => {}
        }
    }
    if text.is_empty() {
        if let Some(s) = value["for_interpretation"].as_str() {
            if value["result_type"] != "NoneType" {
                text.push_str(s);
            }
        }
    }
    text
}

pub fn error_text(v: &Value) -> String {
    let mut s = format!(
        "{}: {}",
        v["ename"].as_str().unwrap_or("Error"),
        v["evalue"].as_str().unwrap_or("")
    );
    if let (Some(n), Some(line)) = (v["lineno"].as_u64(), v["line"].as_str()) {
        s.push_str(&format!(" (line {n}: `{}`)", line.trim()));
    }
    s
}

pub(super) fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}
