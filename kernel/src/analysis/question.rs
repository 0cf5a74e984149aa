//! A question cell, top to bottom: replay a recorded answer if this notebook has one →
//! describe the data (prompt.rs) → solve: generate, repair, validate, run, check and feed back
//! (solve.rs) → show the result (capped) → interpret it, grounded in the result → record the
//! exchange.

use super::assumptions;
use super::llm::LlmClient;
use super::notes;
use super::parameters;
use super::privacy::{self, Privacy};
use super::prompt::{self, ContextItem};
use super::render::fail_cell as fail;
use super::render::{self, markdown_text, model_markdown, role as role_metadata};
use super::services::Services;
use super::session;
use super::settings::Settings;
use super::solve::{self, DataInfo, Held, Ledger, Ran, Runner, Solved, Solver, Unsolved};
use super::state::State;
use super::usage::{Budget, CallKind};
use super::worker_client::{CallError, Request};
use crate::protocol::backend::{ErrorInfo, ExecuteOutcome, Output, OutputSink};
use history_store::{ExchangeRecord, HistoryStore, Usage};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Told to the interpretation in privacy mode `schema`, and said under it.
const SCHEMA_INTERPRETATION: &str = "Privacy mode 'schema': you are given only the result's shape and types, not its values. Do not state any number or value; say what kind of answer the result gives and that its values are shown above.\n";
const SCHEMA_SAID: &str = "_(Written from the result's shape and types only: privacy mode 'schema' sends no values to the model.)_";

/// How often the streamed interpretation is redrawn (frontends re-render on each update).
const STREAM_REDRAW: Duration = Duration::from_millis(60);
/// Characters of a printed answer given to the interpretation.
const INTERPRETATION_CHARS: usize = 1_500;

/// Show code as a python block; `note` is markdown the caller made safe (markdown_text).
fn emit_code(sink: &OutputSink, code: &str, note: Option<&str>) {
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

/// Outcome of running generated code once.
enum Run {
    Ok(Value),
    /// The code raised; the model may repair it.
    CodeError(Value),
    /// Timeout, crash, interrupt: reported as is.
    Fatal(ErrorInfo),
}

/// Run generated code in a question worker of its own, which is killed afterwards whatever
/// happened: model code never shares a process with later cells. The user's `%%python`
/// variables travel as a pickle made by the user worker; the datasets are mapped from their
/// Arrow files. The time limit is the kernel's, not the worker's word.
async fn run_code(
    svc: &Services,
    state: &mut State,
    code: &str,
    count: u32,
    sink: &OutputSink,
) -> Run {
    let timeout = svc.settings.max_execution_timeout;
    let variables = svc.exported_variables(state).await;
    let mut worker = match svc.question_worker(state).await {
        Ok(w) => w,
        Err(e) => return Run::Fatal(e),
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let request = Request::RunQuestion {
        code: code.to_string(),
        execution_count: count,
        variables,
    };
    let outcome = worker.call(request, Some(sink), Some(deadline)).await;
    worker.kill().await;
    // The next question (or replay) starts with a warm worker.
    svc.prepare_question_worker(state).await;
    let untouched = "Your data and the variables defined in %%python are untouched.";
    match outcome {
        Ok(v) if v["status"] == "ok" => Run::Ok(v),
        Ok(v) if v["status"] == "error" => Run::CodeError(v),
        Ok(_) => Run::Fatal(ErrorInfo::new(
            "WorkerProtocolError",
            format!(
                "The question's Python process sent a malformed reply and was stopped. {untouched}"
            ),
        )),
        Err(CallError::Timeout) => Run::Fatal(ErrorInfo::new(
            "TimeoutError",
            format!(
                "Code execution timed out after {} seconds. The operation may be too complex. \
                 The question's Python process was stopped. {untouched}",
                timeout.as_secs_f64()
            ),
        )),
        Err(CallError::Interrupted) | Err(CallError::Unresponsive) => Run::Fatal(ErrorInfo::new(
            "KeyboardInterrupt",
            format!("Interrupted. {untouched}"),
        )),
        Err(CallError::Died(why)) => Run::Fatal(ErrorInfo::new(
            "WorkerDied",
            format!("The question's Python process died: {why}. {untouched}"),
        )),
        Err(CallError::Protocol(why)) => Run::Fatal(ErrorInfo::new(
            "WorkerProtocolError",
            format!(
                "The question's Python process was stopped because {why}; nothing it sent after \
                 that was shown. {untouched}"
            ),
        )),
        Err(CallError::Failed(tb)) => Run::Fatal(ErrorInfo::new("WorkerError", tb)),
    }
}

fn validate(settings: &Settings, code: &str) -> Result<(), code_guard::Rejection> {
    if settings.skip_validation {
        tracing::error!(
            "LLM_ANALYTICS_UNSAFE_SKIP_VALIDATION=1: generated code runs WITHOUT the AST check"
        );
        return Ok(());
    }
    code_guard::validate(
        code,
        &code_guard::Policy {
            require_result: false,
            ..Default::default()
        },
    )
}

/// Runs code in a fresh question worker of the svc (see run_code).
struct QuestionRunner<'a> {
    svc: &'a Services,
    state: &'a mut State,
    count: u32,
}

#[async_trait::async_trait]
impl Runner for QuestionRunner<'_> {
    async fn run(&mut self, code: &str) -> Ran {
        let held = Held::default();
        match run_code(self.svc, self.state, code, self.count, &held.sink()).await {
            Run::Ok(value) => Ran::Ok {
                value,
                outputs: held.take(),
            },
            Run::CodeError(value) => Ran::CodeError { value },
            Run::Fatal(error) => {
                // A slow or memory-hungry attempt may be rewritten; anything else stops.
                let retry = matches!(error.ename.as_str(), "TimeoutError" | "WorkerDied");
                Ran::Fatal { error, retry }
            }
        }
    }
}

/// Show a run's outputs, with the printed text and the result's plain text together held to
/// MAX_OUTPUT_SIZE characters (then one notice saying how much was cut and how to see more).
fn show_outputs(sink: &OutputSink, outputs: Vec<Output>, max_chars: usize) {
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

/// The design document's fallback when the interpretation call fails.
fn fallback_interpretation(summary: &str) -> String {
    if let Some(rest) = summary.strip_prefix("DataFrame with ") {
        return format!("Analysis completed successfully. The result is a table with {rest}.");
    }
    if let Some(v) = summary.strip_prefix("Numeric value: ") {
        return format!("The calculated result is: {v}");
    }
    "Analysis completed successfully. The results are shown above.".into()
}

fn show_interpretation(sink: &OutputSink, text: &str, display_id: &str, first: bool) {
    let data = json!({"text/markdown": model_markdown(text), "text/plain": text});
    let metadata = role_metadata("interpretation");
    sink.send(if first {
        Output::DisplayData {
            data,
            metadata,
            display_id: Some(display_id.to_string()),
        }
    } else {
        Output::UpdateDisplayData {
            data,
            metadata,
            display_id: display_id.to_string(),
        }
    });
}

/// What the interpretation is given about the result, and what its numbers are checked
/// against: the worker's description, or the printed answer when the code printed it.
fn result_description(solved: &Solved) -> String {
    let described = solved.value["for_interpretation"].as_str().unwrap_or("");
    if solved.value["result_type"] == "NoneType" {
        let printed: String = solved
            .answer_text
            .chars()
            .take(INTERPRETATION_CHARS)
            .collect();
        return printed;
    }
    described.to_string()
}

/// Stream the interpretation into one display, then check it: every number it states must be
/// in the result (allowing rounding). Otherwise it is written once more; if that one is not
/// grounded either, the design document's plain fallback replaces it.
#[allow(clippy::too_many_arguments)]
async fn interpret(
    svc: &Services,
    llm: &LlmClient,
    question: &str,
    code: &str,
    description: &str,
    summary: &str,
    notes: &str,
    sink: &OutputSink,
    ledger: &mut Ledger,
    display_id: &str,
) -> String {
    let user = prompt::interpretation_prompt(question, code, description, notes);
    let sent = prompt::INTERPRET_SYSTEM.len() + user.len();
    let max_tokens = svc.settings.max_interpretation_tokens;
    let mut shown = false;
    for attempt in 0..2 {
        if let Err(why) = ledger.allow(CallKind::Interpretation, sent, max_tokens) {
            sink.stream("stderr", format!("{why}\n"));
            break;
        }
        let mut last_draw = Instant::now() - STREAM_REDRAW;
        let t = Instant::now();
        let streamed = tokio::select! {
            r = llm.stream(
                prompt::INTERPRET_SYSTEM,
                &user,
                svc.settings.interpretation_temperature,
                max_tokens,
                |so_far| {
                    let so_far = super::reply::without_reasoning(so_far);
                    if !so_far.trim().is_empty() && (!shown || last_draw.elapsed() >= STREAM_REDRAW) {
                        show_interpretation(sink, &so_far, display_id, !shown);
                        shown = true;
                        last_draw = Instant::now();
                    }
                },
            ) => Some(r),
            _ = svc.interrupt.notified() => None,
        };
        let text = match streamed {
            Some(Ok(reply)) => {
                ledger.add(
                    CallKind::Interpretation,
                    reply.usage.as_ref(),
                    t.elapsed(),
                    sent,
                    reply.text.len(),
                );
                super::reply::without_reasoning(&reply.text)
                    .trim()
                    .to_string()
            }
            Some(Err(e)) => {
                ledger.add(CallKind::Interpretation, None, t.elapsed(), sent, 0);
                tracing::warn!("interpretation failed: {e}");
                break;
            }
            None => break,
        };
        let unsupported = super::checks::ungrounded_numbers(&text, description, question);
        if !text.is_empty() && unsupported.is_empty() {
            show_interpretation(sink, &text, display_id, !shown);
            return text;
        }
        tracing::info!(
            "interpretation attempt {} states numbers not in the result: {unsupported:?}",
            attempt + 1
        );
    }
    let text = fallback_interpretation(summary);
    show_interpretation(sink, &text, display_id, !shown);
    text
}

/// The cell's usage line, e.g. "2 calls · 1,240 tokens · $0.0004", with the full ledger in
/// its metadata; the interpretation (if any) gets the same metadata on its final update.
fn show_usage(
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
        sink.send(Output::UpdateDisplayData {
            data: json!({"text/markdown": model_markdown(text), "text/plain": text}),
            metadata: metadata("interpretation"),
            display_id: display_id.to_string(),
        });
    }
    let line = ledger.line();
    sink.send(Output::DisplayData {
        data: json!({
            "text/markdown": format!("<sub>{}</sub>", markdown_text(&line)),
            "text/plain": line,
        }),
        metadata: metadata("usage"),
        display_id: None,
    });
}

fn missing_key_message(svc: &Services) -> String {
    format!(
        "No OPENAI_API_KEY is set, so this question cannot be sent to {}. Set it before starting Jupyter \
         (export OPENAI_API_KEY=sk-...) or put the line OPENAI_API_KEY=sk-... in a .env file in the notebook's \
         folder, then restart the kernel. To use a local OpenAI-compatible server instead, set \
         OPENAI_BASE_URL (e.g. http://localhost:11434/v1). %load and %%python cells keep working without a key.",
        svc.settings.openai_base_url
    )
}

/// What every exchange record shares, whichever path produced it.
struct Key<'a> {
    question: &'a str,
    fingerprint: String,
    context_key: String,
    /// The notebook's parameters when the question was asked.
    parameters: Vec<code_guard::Parameter>,
    started: Instant,
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

/// Re-run a recorded answer's code on the data without calling the model.
async fn replay(
    svc: &Services,
    state: &mut State,
    key: &Key<'_>,
    rec: ExchangeRecord,
    count: u32,
    sink: &OutputSink,
) -> ExecuteOutcome {
    if let Err(r) = validate(&svc.settings, &rec.code) {
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
            // No model call: no usage line (a replayed report reads as before), but the
            // interpretation carries the (empty) ledger like every question's outputs.
            let mut metadata = role_metadata("interpretation");
            metadata["llm_analytics"]["usage"] = ledger.metadata(&rec.model);
            metadata["llm_analytics"]["usage"]["replayed"] = json!(true);
            sink.send(Output::DisplayData {
                data: json!({
                    "text/markdown": model_markdown(&rec.interpretation),
                    "text/plain": rec.interpretation,
                }),
                metadata,
                display_id: Some(uuid::Uuid::new_v4().to_string()),
            });
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

fn record(
    key: &Key<'_>,
    code: &str,
    result: &Value,
    interpretation: &str,
    error: Option<String>,
    ledger: &Ledger,
) -> ExchangeRecord {
    ExchangeRecord {
        id: uuid::Uuid::new_v4().to_string(),
        timestamp: chrono::Utc::now(),
        question: key.question.to_string(),
        code: code.to_string(),
        result_summary: result["summary"]
            .as_str()
            .unwrap_or(if error.is_some() {
                "Error"
            } else {
                "No result"
            })
            .to_string(),
        interpretation: interpretation.to_string(),
        error,
        full_result: result.get("full_result").cloned().unwrap_or(Value::Null),
        model: String::new(),
        endpoint_host: String::new(),
        usage: {
            let t = ledger.total();
            Usage {
                prompt_tokens: t.prompt_tokens.min(u64::from(u32::MAX)) as u32,
                completion_tokens: t.completion_tokens.min(u64::from(u32::MAX)) as u32,
            }
        },
        llm_ms: ledger.llm.as_millis() as u64,
        exec_ms: ledger.exec.as_millis() as u64,
        total_ms: key.started.elapsed().as_millis() as u64,
        data_fingerprint: key.fingerprint.clone(),
        context_key: key.context_key.clone(),
        replayed: false,
        parameters: parameters::used_by(&key.parameters, key.question, code),
    }
}

/// Keep the exchange for follow-ups and write it to the store (spooled locally if the
/// database is down, so nothing shown to the user is lost).
async fn save(svc: &Services, state: &mut State, rec: ExchangeRecord) {
    let cap = svc.settings.max_conversation_history.max(1);
    if let Some(sid) = state.session_id.clone() {
        if let Err(e) = svc.store().await.append(&sid, &rec, cap).await {
            tracing::warn!("history: could not record the exchange: {e}");
        }
    }
    // A replay of a question the conversation already holds (Restart & Run All) adds nothing
    // to it: the earlier copy goes, so each question appears once, at its latest place.
    if rec.replayed {
        state.exchanges.retain(|e| e.question != rec.question);
    }
    state.exchanges.push(rec);
    if state.exchanges.len() > cap {
        let excess = state.exchanges.len() - cap;
        state.exchanges.drain(..excess);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn fallbacks_follow_the_design_document() {
        assert_eq!(
            fallback_interpretation("DataFrame with 3 rows and 2 columns"),
            "Analysis completed successfully. The result is a table with 3 rows and 2 columns."
        );
        assert_eq!(
            fallback_interpretation("Numeric value: 42"),
            "The calculated result is: 42"
        );
        assert_eq!(
            fallback_interpretation("Series with 3 values"),
            "Analysis completed successfully. The results are shown above."
        );
    }

    #[test]
    fn dollars_are_not_typeset_as_math() {
        let md = model_markdown("from $5 to $7 <b>");
        assert!(!md.contains('$'), "{md}");
        assert_eq!(
            md,
            format!("from {d}5 to {d}7 &lt;b&gt;", d = render::DOLLAR)
        );
    }

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
