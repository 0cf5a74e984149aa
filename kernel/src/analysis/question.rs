//! A question cell, top to bottom, each step a call into the module that does it: replay a
//! recorded answer if this notebook has one (replay.rs) → read the question's names against
//! the data (assumptions/) → describe the data as the privacy mode allows (prompt/,
//! privacy.rs) → solve: generate, repair, validate, run, check and feed back (solve/, runs
//! through question_run.rs) → show the result, capped (cell_output.rs) → interpret it,
//! grounded in the result (interpret.rs) → the usage line → record the exchange (exchange.rs).

use super::assumptions;
use super::cell_output::{show_engine_runs, show_outputs, show_usage};
use super::exchange::{record, save, Key};
use super::interpret::{interpret, result_description, SCHEMA_INTERPRETATION, SCHEMA_SAID};
use super::notes;
use super::parameters;
use super::privacy::{self, Privacy};
use super::prompt::{self, ContextItem};
use super::question_run::QuestionRunner;
use super::render::fail_cell as fail;
use super::replay::replay;
use super::services::Services;
use super::session;
use super::solve::{DataInfo, Ledger, Solver, Unsolved};
use super::state::State;
use super::usage::Budget;
use crate::protocol::backend::{ErrorInfo, ExecuteOutcome, OutputSink};
use history_store::{ExchangeRecord, HistoryStore};
use serde_json::Value;
use std::time::Instant;

fn missing_key_message(svc: &Services) -> String {
    format!(
        "No OPENAI_API_KEY is set, so this question cannot be sent to {}. Set it before starting Jupyter \
         (export OPENAI_API_KEY=sk-...) or put the line OPENAI_API_KEY=sk-... in a .env file in the notebook's \
         folder, then restart the kernel. To use a local OpenAI-compatible server instead, set \
         OPENAI_BASE_URL (e.g. http://localhost:11434/v1). %load and %%python cells keep working without a key.",
        svc.settings.openai_base_url
    )
}

/// The code prompt for `question` as it would be sent now (`%show_prompt` shows the same):
/// the data as the privacy mode lets the model see it, the notebook's parameters, the
/// analyst's notes and the last exchanges.
pub fn code_prompt_for(
    state: &State,
    question: &str,
    lookback: usize,
    reading: &assumptions::Reading,
) -> String {
    let mode = state.privacy;
    let context: Vec<ContextItem> = state
        .exchanges
        .iter()
        .rev()
        .take(lookback)
        .rev()
        .map(|e| ContextItem {
            question: e.question.clone(),
            code: e.code.clone(),
            result_summary: privacy::summary_view(&e.result_summary, mode),
        })
        .collect();
    let datasets: Vec<(String, Value)> = state
        .datasets
        .iter()
        .map(|d| (d.name.clone(), privacy::profile_view(&d.profile, mode)))
        .collect();
    prompt::code_prompt(
        &datasets,
        &state.parameters,
        question,
        &context,
        &notes::prompt_text(&state.notes),
        reading,
        mode.sends_values(),
    )
}

/// The question's names read against the full profiles (category values included: the
/// matching is local; what of it reaches the prompt is the privacy mode's call).
pub fn read_names(state: &State, question: &str) -> assumptions::Reading {
    assumptions::read(question, state.datasets.iter().map(|d| &d.profile))
}

pub async fn ask(
    svc: &Services,
    state: &mut State,
    question: &str,
    fresh: bool,
    count: u32,
    sink: &OutputSink,
) -> ExecuteOutcome {
    let settings = &svc.settings;
    let started = Instant::now();
    if state.datasets.is_empty() {
        return fail(
            sink,
            "NoDataError",
            "No data is loaded yet. Load a CSV first, e.g. %load sales.csv",
        );
    }
    let length = question.chars().count();
    if length > settings.max_question_chars {
        return fail(
            sink,
            "QuestionTooLong",
            format!(
                "Questions are limited to {} characters (MAX_QUESTION_CHARS); this one has {length}. \
                 Shorten it, split it into follow-ups, or raise MAX_QUESTION_CHARS.",
                settings.max_question_chars
            ),
        );
    }
    let key = Key {
        question,
        fingerprint: session::data_fingerprint(&state.datasets),
        context_key: session::replay_scope(&svc.notebook),
        parameters: state.parameters.clone(),
        started,
    };
    let store = svc.store().await;
    svc.show_store_warnings(&store, sink);
    // Why the model is asked although a recorded answer exists (shown with the code).
    let mut preface = vec![];
    if !fresh && settings.replay {
        if let Ok(Some(rec)) = store
            .find_replay(question, &key.fingerprint, &key.context_key)
            .await
        {
            let changed = parameters::changed(&rec.parameters, &state.parameters);
            if changed.is_empty() {
                return replay(svc, state, &key, rec, count, sink).await;
            }
            preface.push(format!(
                "Asked the model again: the recorded answer used other parameter values ({}).",
                changed.join("; ")
            ));
        }
    }
    // Names the question uses that the data spells otherwise: a quoted column that is not
    // there stops here (no model call); a close misspelling is stated above the code.
    let reading = read_names(state, question);
    if !reading.missing.is_empty() {
        return fail(
            sink,
            "ColumnNotFound",
            super::assumptions::missing_message(&reading.missing),
        );
    }
    preface.extend(reading.assumptions.iter().map(|a| a.user_line()));
    if settings.openai_api_key.is_none() && !settings.endpoint_is_local() {
        return fail(sink, "MissingApiKey", missing_key_message(svc));
    }
    let llm = match svc.llm() {
        Ok(c) => c,
        Err(e) => return fail(sink, "LLMError", e),
    };
    // The question worker starts now, while the model writes the code.
    svc.prepare_question_worker(state).await;
    let data = DataInfo {
        names: state.datasets.iter().map(|d| d.name.clone()).collect(),
        sql_tables: state.sql_tables().duckdb,
        spark_tables: state.sql_tables().spark,
        columns: state
            .datasets
            .iter()
            .flat_map(|d| {
                d.profile["columns"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c.as_str().map(String::from))
            })
            .collect(),
    };
    let base = code_prompt_for(state, question, settings.context_lookback, &reading);
    let mut ledger = Ledger::new(Budget {
        max_tokens_per_question: settings.max_tokens_per_question,
        max_cost_per_session: settings.max_cost_per_session,
        session_cost: state.usage.cost,
        price: settings.prices.of(llm.model()),
    });
    let solver = Solver {
        llm: llm.as_ref(),
        sink,
        temperature: settings.code_temperature,
        max_tokens: settings.max_code_tokens,
        max_rounds: settings.max_repair_rounds,
        timeout: settings.max_execution_timeout,
        interrupt: &svc.interrupt,
        validate: !settings.skip_validation,
        preface,
        privacy: state.privacy,
    };
    let mut runner = QuestionRunner { svc, state, count };
    let solved = solver
        .solve(&base, question, &data, &mut runner, &mut ledger)
        .await;
    let state = runner.state;
    let stamp = |rec: &mut ExchangeRecord| {
        rec.model = llm.model().to_string();
        rec.endpoint_host = llm.endpoint_host();
    };
    let solved = match solved {
        Ok(s) => s,
        Err(unsolved) => {
            let (code, error) = match unsolved {
                Unsolved::Refused { code, rule, message, .. } => (
                    code,
                    ErrorInfo::new(
                        "ValidationError",
                        format!("Generated code failed validation: {message} [rule: {rule}]"),
                    ),
                ),
                Unsolved::Failed { code, ename, message, .. } => (
                    code,
                    ErrorInfo::new(
                        ename,
                        format!("{message}\nThe analysis encountered an error. Please try rephrasing your question."),
                    ),
                ),
                Unsolved::Stopped(e) => (String::new(), e),
            };
            if !code.is_empty() {
                state.last_code = Some(code.clone());
                let mut rec = record(
                    &key,
                    &code,
                    &Value::Null,
                    "",
                    Some(error.evalue.clone()),
                    &ledger,
                );
                stamp(&mut rec);
                save(svc, state, rec).await;
            }
            state.usage.add(&ledger);
            show_usage(sink, &ledger, llm.model(), None);
            return fail(sink, &error.ename, error.evalue);
        }
    };
    state.last_code = Some(solved.code.clone());
    show_outputs(sink, solved.outputs.clone(), settings.max_output_size);
    show_engine_runs(sink, &solved.value["engine_runs"]);
    let schema = state.privacy == Privacy::Schema;
    let description = if schema {
        solved.value["shape_summary"]
            .as_str()
            .unwrap_or("A result")
            .to_string()
    } else {
        result_description(&solved)
    };
    let mut notes_text = notes::prompt_text(&state.notes);
    if schema {
        notes_text.push_str(SCHEMA_INTERPRETATION);
    }
    let summary = if solved.value["result_type"] == "NoneType" && !solved.answer_text.is_empty() {
        "Printed output".to_string()
    } else {
        solved.value["summary"].as_str().unwrap_or("").to_string()
    };
    let display_id = uuid::Uuid::new_v4().to_string();
    let interpretation = interpret(
        svc,
        &llm,
        question,
        &solved.code,
        &description,
        &summary,
        &notes_text,
        sink,
        &mut ledger,
        &display_id,
    )
    .await;
    let interpretation = if schema {
        format!("{interpretation}\n\n{SCHEMA_SAID}")
    } else {
        interpretation
    };
    state.usage.add(&ledger);
    show_usage(
        sink,
        &ledger,
        llm.model(),
        Some((&display_id, &interpretation)),
    );
    let mut value = solved.value.clone();
    value["summary"] = Value::String(summary);
    let mut rec = record(&key, &solved.code, &value, &interpretation, None, &ledger);
    stamp(&mut rec);
    save(svc, state, rec).await;
    ExecuteOutcome::ok()
}
