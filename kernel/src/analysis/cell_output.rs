//! What a question cell shows besides the streamed code: a recorded answer's code, the
//! run's outputs held to MAX_OUTPUT_SIZE, and the usage line that ends the cell.

use super::interpret::show_interpretation;
use super::render::{self, markdown_text, role as role_metadata};
use super::solve::Ledger;
use crate::protocol::backend::{Output, OutputSink};
use serde_json::{json, Value};

/// Show code as a python block; `note` is markdown the caller made safe (markdown_text).
pub(super) fn emit_code(sink: &OutputSink, code: &str, note: Option<&str>) {
    let note = note.map(|n| format!("{n}\n\n")).unwrap_or_default();
    sink.send(Output::DisplayData {
        data: json!({
            "text/markdown": format!("{note}{}", render::python_block(code)),
            "text/plain": code,
        }),
        metadata: role_metadata("code"),
        display_id: None,
    });
}

/// Show a run's outputs, with the printed text and the result's plain text together held to
/// MAX_OUTPUT_SIZE characters (then one notice saying how much was cut and how to see more).
pub(super) fn show_outputs(sink: &OutputSink, outputs: Vec<Output>, max_chars: usize) {
    let mut left = max_chars;
    let mut cut = 0usize;
    let mut take = |text: &str| -> String {
        let n = text.chars().count();
        if n <= left {
            left -= n;
            return text.to_string();
        }
        let kept: String = text.chars().take(left).collect();
        cut += n - left;
        left = 0;
        kept
    };
    for out in outputs {
        match out {
            Output::Stream { name, text } => {
                let kept = take(&text);
                if !kept.is_empty() {
                    sink.send(Output::Stream { name, text: kept });
                }
            }
            Output::ExecuteResult { mut data, metadata } => {
                if let Some(t) = data.get("text/plain").and_then(Value::as_str) {
                    let kept = take(t);
                    data["text/plain"] = Value::String(kept);
                }
                sink.send(Output::ExecuteResult { data, metadata });
            }
            other => sink.send(other),
        }
    }
    if cut > 0 {
        sink.stream(
            "stderr",
            format!(
                "\n[output truncated: {cut} more characters not shown; this question's text output is limited to \
                 MAX_OUTPUT_SIZE={max_chars} characters. Set MAX_OUTPUT_SIZE higher (environment or .env) and \
                 restart the kernel to see more.]\n"
            ),
        );
    }
}

/// Where the work ran, when an engine did it (§4 of the DuckDB design): the engine, each
/// query it ran, rows scanned and returned and the time, with the runs in the metadata.
/// Nothing is shown for a pandas-only answer.
pub(super) fn show_engine_runs(sink: &OutputSink, runs: &Value) {
    let Some(list) = runs.as_array().filter(|l| !l.is_empty()) else {
        return;
    };
    let count = |v: &Value| {
        v.as_u64()
            .map(super::usage::group)
            .unwrap_or_else(|| "unknown".to_string())
    };
    let mut markdown = String::new();
    let mut plain = String::new();
    for run in list {
        let sql = run["sql"].as_str().unwrap_or("");
        let seconds = run["seconds"].as_f64().unwrap_or(0.0);
        let returned = count(&run["rows_returned"]);
        let line = if run["engine"] == "spark" {
            // Spark Connect does not report rows scanned.
            format!("Ran on Spark: {returned} rows returned, {seconds:.2} s")
        } else {
            format!(
                "Ran in DuckDB: {} rows scanned, {returned} rows returned, {seconds:.2} s",
                count(&run["rows_scanned"])
            )
        };
        let fence = render::fence_for(sql);
        markdown.push_str(&format!(
            "{}\n\n{fence}sql\n{sql}\n{fence}\n\n",
            markdown_text(&line)
        ));
        plain.push_str(&format!("{line}\n{sql}\n\n"));
    }
    let mut metadata = role_metadata("result");
    metadata["llm_analytics"]["engine_runs"] = runs.clone();
    sink.send(Output::DisplayData {
        data: json!({"text/markdown": markdown.trim_end(), "text/plain": plain.trim_end()}),
        metadata,
        display_id: None,
    });
}

/// The cell's usage line, e.g. "2 calls · 1,240 tokens · $0.0004", with the full ledger in
/// its metadata; the interpretation (if any) gets the same metadata on its final update.
pub(super) fn show_usage(
    sink: &OutputSink,
    ledger: &Ledger,
    model: &str,
    interpretation: Option<(&str, &str)>,
) {
    let usage = ledger.metadata(model);
    let metadata = |role: &str| {
        let mut m = role_metadata(role);
        m["llm_analytics"]["usage"] = usage.clone();
        m
    };
    if let Some((display_id, text)) = interpretation {
        show_interpretation(sink, text, display_id, false, Some(&usage));
    }
    let line = ledger.line();
    sink.send(Output::DisplayData {
        data: json!({
            "text/markdown": format!("*{}*", markdown_text(&line)),
            "text/plain": line,
        }),
        metadata: metadata("usage"),
        display_id: None,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn question_output_is_capped_with_one_notice() {
        let got: Arc<Mutex<Vec<Output>>> = Default::default();
        let g = got.clone();
        let sink = OutputSink::new(move |o| g.lock().unwrap().push(o));
        let outputs = vec![
            Output::Stream {
                name: "stdout".into(),
                text: "x".repeat(50_000),
            },
            Output::ExecuteResult {
                data: json!({"text/plain": "y".repeat(100), "text/html": "<table></table>"}),
                metadata: json!({}),
            },
        ];
        show_outputs(&sink, outputs, 10_000);
        let got = got.lock().unwrap();
        let text: usize = got
            .iter()
            .map(|o| match o {
                Output::Stream { name, text } if name == "stdout" => text.len(),
                Output::ExecuteResult { data, .. } => data["text/plain"].as_str().unwrap().len(),
                _ => 0,
            })
            .sum();
        assert_eq!(text, 10_000);
        let notices: Vec<&Output> = got
            .iter()
            .filter(|o| matches!(o, Output::Stream { name, .. } if name == "stderr"))
            .collect();
        assert_eq!(notices.len(), 1);
        assert!(
            matches!(notices[0], Output::Stream { text, .. } if text.contains("40100 more characters") && text.contains("MAX_OUTPUT_SIZE"))
        );
    }
}
