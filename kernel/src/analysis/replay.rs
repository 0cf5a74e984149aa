//! A recorded answer replayed: its code runs again on this data without calling the model.

use super::cell_output::{emit_code, show_engine_runs, show_outputs};
use super::exchange::{record, save, Key};
use super::interpret::show_interpretation;
use super::question_run::{run_code, validate, Run};
use super::render::fail_cell as fail;
use super::render::markdown_text;
use super::services::Services;
use super::solve::{self, Held, Ledger};
use super::state::State;
use crate::protocol::backend::{ExecuteOutcome, OutputSink};
use history_store::ExchangeRecord;
use serde_json::{json, Value};
use std::time::Instant;

/// Re-run a recorded answer's code on the data without calling the model.
pub(super) async fn replay(
    svc: &Services,
    state: &mut State,
    key: &Key<'_>,
    rec: ExchangeRecord,
    count: u32,
    sink: &OutputSink,
) -> ExecuteOutcome {
    if let Err(r) = validate(&svc.settings, &rec.code, state.sql_tables()) {
        return fail(sink, "ValidationError", format!("The recorded answer's code failed validation: {} [rule: {}]. Use %%fresh to ask the model.", r.message, r.rule));
    }
    let when = rec.timestamp.format("%Y-%m-%d");
    let model = if rec.model.is_empty() {
        "recorded"
    } else {
        rec.model.as_str()
    };
    let note = format!(
        "Replayed a recorded answer ({}, {}): this code ran on your data without calling the model. \
         Start the cell with %%fresh to ask the model again.",
        markdown_text(model),
        markdown_text(&when.to_string())
    );
    emit_code(sink, &rec.code, Some(&note));
    state.last_code = Some(rec.code.clone());
    let t = Instant::now();
    let held = Held::default();
    let run = run_code(svc, state, &rec.code, count, &held.sink()).await;
    let ledger = Ledger {
        exec: t.elapsed(),
        ..Ledger::default()
    };
    let (ename, message) = match run {
        Run::Ok(result) => {
            show_outputs(sink, held.take(), svc.settings.max_output_size);
            show_engine_runs(sink, &result["engine_runs"]);
            // No model call: no usage line (a replayed report reads as before), but the
            // interpretation carries the (empty) ledger like every question's outputs.
            let mut usage = ledger.metadata(&rec.model);
            usage["replayed"] = json!(true);
            let display_id = uuid::Uuid::new_v4().to_string();
            show_interpretation(sink, &rec.interpretation, &display_id, true, Some(&usage));
            let mut replayed = record(key, &rec.code, &result, &rec.interpretation, None, &ledger);
            replayed.model = rec.model;
            replayed.endpoint_host = rec.endpoint_host;
            replayed.replayed = true;
            save(svc, state, replayed).await;
            return ExecuteOutcome::ok();
        }
        Run::CodeError(err) => (
            err["ename"]
                .as_str()
                .unwrap_or("ExecutionError")
                .to_string(),
            err["friendly"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| solve::error_text(&err)),
        ),
        Run::Fatal(e) => (e.ename, e.evalue),
    };
    // What the user saw is history too, failures included (it feeds follow-up context).
    let mut failed = record(
        key,
        &rec.code,
        &Value::Null,
        "",
        Some(message.clone()),
        &ledger,
    );
    failed.model = rec.model;
    failed.endpoint_host = rec.endpoint_host;
    failed.replayed = true;
    save(svc, state, failed).await;
    fail(
        sink,
        &ename,
        format!("{message}\nThe recorded answer did not run on this data; start the cell with %%fresh to ask the model."),
    )
}
