//! `%eval QUESTIONS.jsonl --labels LABELS.jsonl --tables DIR [--ids 1,2] [--limit N]`: golden
//! questions (DABench format) through the same solve path as a question cell, against the
//! configured model, with replay off and the history untouched, scored by DABench's rule.
//!
//! Each question's table is parsed like `%load` (csv-ingest) into the kernel's scratch; every
//! attempt runs in a fresh question worker, as questions do. The interpretation is skipped:
//! it is not scored, and on a CPU model it would double the time.

mod golden;
mod run;
mod scoring;

pub use golden::{parse_args, read_golden};
pub use run::{run_one, EvalRunner};
pub use scoring::{summary, Scored};

use super::llm::LlmClient;
use super::render::fail_cell;
use super::services::Services;
use super::solve::Solver;
use super::state::Dataset;
use crate::protocol::backend::{ExecuteOutcome, Output, OutputSink};
use run::load_table;
use serde_json::json;
use std::collections::BTreeMap;

/// The model name for the summary.
pub fn model_name(llm: &LlmClient) -> String {
    format!("{} at {}", llm.model(), llm.endpoint_host())
}
/// The `%eval` cell: one progress line per question, then the summary table.
pub async fn eval_cell(svc: &Services, args: &str, sink: &OutputSink) -> ExecuteOutcome {
    let args = match parse_args(args) {
        Ok(a) => a,
        Err(e) => return fail_cell(sink, "UsageError", e),
    };
    let golden = match read_golden(&args) {
        Ok(g) if g.is_empty() => {
            return fail_cell(
                sink,
                "EvalError",
                "No question with a label matched (check --ids and the files).",
            )
        }
        Ok(g) => g,
        Err(e) => return fail_cell(sink, "EvalError", e),
    };
    let settings = &svc.settings;
    if settings.openai_api_key.is_none() && !settings.endpoint_is_local() {
        return fail_cell(sink, "MissingApiKey", "%eval asks the configured model: set OPENAI_API_KEY, or OPENAI_BASE_URL for a local server.");
    }
    let llm = match svc.llm() {
        Ok(c) => c,
        Err(e) => return fail_cell(sink, "LLMError", e),
    };
    let quiet = OutputSink::new(|_| {});
    let solver = Solver {
        llm: llm.as_ref(),
        sink: &quiet,
        temperature: settings.code_temperature,
        max_tokens: settings.max_code_tokens,
        max_rounds: settings.max_repair_rounds,
        timeout: settings.max_execution_timeout,
        interrupt: &svc.interrupt,
        validate: !settings.skip_validation,
        preface: vec![],
        privacy: Default::default(),
    };
    sink.stream(
        "stdout",
        format!(
            "Asking {} {} questions (replay off, history untouched)...\n",
            model_name(&llm),
            golden.len()
        ),
    );
    let mut tables: BTreeMap<String, Dataset> = BTreeMap::new();
    let mut rows = vec![];
    for (n, g) in golden.iter().enumerate() {
        let dataset = match tables.get(&g.file_name) {
            Some(d) => d.clone(),
            None => match load_table(svc, &args.tables.join(&g.file_name), n).await {
                Ok(d) => {
                    tables.insert(g.file_name.clone(), d.clone());
                    d
                }
                Err(e) => {
                    sink.stream(
                        "stdout",
                        format!("#{:<4} table {} not loaded: {e}\n", g.id, g.file_name),
                    );
                    rows.push(Scored {
                        id: g.id,
                        level: g.level.clone(),
                        ok: false,
                        calls: 0,
                        tokens: 0,
                        seconds: 0.0,
                        why: "table not loaded".into(),
                        code: String::new(),
                        answer: e,
                    });
                    continue;
                }
            },
        };
        let mut runner = EvalRunner {
            svc,
            dataset,
            timeout: settings.max_execution_timeout,
        };
        let row = tokio::select! {
            r = run_one(g, &solver, &mut runner) => r,
            _ = svc.interrupt.notified() => {
                sink.stream("stderr", "Interrupted: the summary covers the questions finished so far.\n");
                break;
            }
        };
        sink.stream(
            "stdout",
            format!(
                "#{:<4} {:<6} {} {:>2} calls {:>6} tokens {:>6.1} s {}\n",
                row.id,
                row.level,
                if row.ok { "right" } else { "MISS " },
                row.calls,
                row.tokens,
                row.seconds,
                row.why
            ),
        );
        rows.push(row);
    }
    for d in tables.values() {
        let _ = std::fs::remove_file(&d.ipc_path);
    }
    let text = summary(&rows, &model_name(&llm));
    sink.send(Output::DisplayData {
        data: json!({"text/plain": text}),
        metadata: json!({"llm_analytics": {"role": "eval", "rows": rows.iter().map(|r| json!({"id": r.id, "level": r.level, "ok": r.ok, "calls": r.calls, "tokens": r.tokens, "seconds": r.seconds, "why": r.why, "code": r.code, "answer": r.answer})).collect::<Vec<_>>()}}),
        display_id: None,
    });
    ExecuteOutcome::ok()
}

#[cfg(test)]
mod tests;
