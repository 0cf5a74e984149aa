//! A question cell: prompt -> code -> validate -> run -> interpret, as the design document
//! describes, with at most these model calls: one for code, one more only after a
//! validation failure, one more only after an execution error, then one streamed
//! interpretation.

use super::engine::{role_metadata, Engine, Exchange, State};
use super::llm::{LlmClient, LlmError};
use super::prompt::{self, ContextItem};
use super::worker_client::CallError;
use crate::protocol::backend::{ErrorInfo, ExecuteOutcome, Output, OutputSink};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// How often the streamed interpretation is redrawn (frontends re-render on each update).
const STREAM_REDRAW: Duration = Duration::from_millis(60);
/// The design document's limit on a question's length.
const MAX_QUESTION_CHARS: usize = 1000;

fn fail(sink: &OutputSink, ename: &str, evalue: impl Into<String>) -> ExecuteOutcome {
    let e = ErrorInfo::new(ename, evalue);
    let mut shown = e.clone();
    shown.traceback = vec![format!("{}: {}", e.ename, e.evalue)];
    sink.send(Output::Error(shown));
    ExecuteOutcome::error(e)
}

/// Escape HTML so model text renders as text inside markdown.
pub fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn emit_code(sink: &OutputSink, code: &str, note: Option<&str>) {
    let fence = if code.contains("```") { "~~~~" } else { "```" };
    let note = note.map(|n| format!("{}\n\n", escape_html(n))).unwrap_or_default();
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

async fn run_code(engine: &Engine, state: &mut State, code: &str, count: u32, sink: &OutputSink) -> Run {
    let timeout = engine.settings.max_execution_timeout;
    let worker = match engine.worker(state).await {
        Ok(w) => w,
        Err(e) => return Run::Fatal(e),
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let args = json!({"code": code, "execution_count": count});
    match worker.call("run_question", args, Some(sink), Some(deadline)).await {
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
        tracing::error!("LLM_ANALYTICS_UNSAFE_SKIP_VALIDATION=1: generated code runs WITHOUT the AST check");
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

async fn generate(engine: &Engine, llm: &LlmClient, system: &str, prompt: &str) -> Result<String, Option<LlmError>> {
    match interruptible(engine, llm.complete(system, prompt, engine.settings.code_temperature)).await {
        None => Err(None),
        Some(Err(e)) => Err(Some(e)),
        Some(Ok(reply)) => Ok(code_guard::extract_code(&reply.text)),
    }
}

fn llm_failure(sink: &OutputSink, err: Option<LlmError>, what: &str) -> ExecuteOutcome {
    match err {
        None => fail(sink, "KeyboardInterrupt", "Interrupted while waiting for the model."),
        Some(e) => fail(sink, "LLMError", format!("Error {what}: {e}")),
    }
}

/// Ask for code and validate it, with the design document's one regeneration.
async fn valid_code(engine: &Engine, llm: &LlmClient, base: &str, sink: &OutputSink) -> Result<String, ExecuteOutcome> {
    let code = generate(engine, llm, prompt::CODE_SYSTEM, base)
        .await
        .map_err(|e| llm_failure(sink, e, "generating code"))?;
    let Err(rejection) = validate(&code) else { return Ok(code) };
    tracing::info!("generated code rejected ({}); asking again", rejection.rule);
    let retry = prompt::retry_prompt(base, &rejection.message);
    let code = generate(engine, llm, prompt::RETRY_SYSTEM, &retry)
        .await
        .map_err(|e| llm_failure(sink, e, "regenerating code"))?;
    match validate(&code) {
        Ok(()) => Ok(code),
        Err(r) => {
            emit_code(sink, &code, Some("This code was refused and did not run:"));
            Err(fail(sink, "ValidationError", format!("Generated code failed validation: {} [rule: {}]", r.message, r.rule)))
        }
    }
}

fn error_text(v: &Value) -> String {
    let mut s = format!("{}: {}", v["ename"].as_str().unwrap_or("Error"), v["evalue"].as_str().unwrap_or(""));
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

/// Stream the interpretation into one display that is updated as tokens arrive.
async fn interpret(engine: &Engine, llm: &LlmClient, question: &str, code: &str, result: &Value, sink: &OutputSink) -> String {
    let description = result["for_interpretation"].as_str().unwrap_or("");
    let user = prompt::interpretation_prompt(question, code, description);
    let display_id = uuid::Uuid::new_v4().to_string();
    let mut shown = false;
    let mut last_draw = Instant::now() - STREAM_REDRAW;
    let show = |text: &str, first: bool| {
        let data = json!({"text/markdown": escape_html(text), "text/plain": text});
        let metadata = role_metadata("interpretation");
        sink.send(if first {
            Output::DisplayData { data, metadata, display_id: Some(display_id.clone()) }
        } else {
            Output::UpdateDisplayData { data, metadata, display_id: display_id.clone() }
        });
    };
    let streamed = interruptible(
        engine,
        llm.stream(prompt::INTERPRET_SYSTEM, &user, engine.settings.interpretation_temperature, |so_far| {
            if !shown || last_draw.elapsed() >= STREAM_REDRAW {
                show(so_far, !shown);
                shown = true;
                last_draw = Instant::now();
            }
        }),
    )
    .await;
    let text = match streamed {
        Some(Ok(reply)) => reply.text.trim().to_string(),
        Some(Err(e)) => {
            tracing::warn!("interpretation failed: {e}");
            fallback_interpretation(result["summary"].as_str().unwrap_or(""))
        }
        None => fallback_interpretation(result["summary"].as_str().unwrap_or("")),
    };
    show(&text, !shown);
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

pub async fn ask(engine: &Engine, state: &mut State, question: &str, count: u32, sink: &OutputSink) -> ExecuteOutcome {
    let settings = &engine.settings;
    if state.datasets.is_empty() {
        return fail(sink, "NoDataError", "No data is loaded yet. Load a CSV first, e.g. %load sales.csv");
    }
    if question.chars().count() > MAX_QUESTION_CHARS {
        return fail(sink, "QuestionTooLong", format!("Questions are limited to {MAX_QUESTION_CHARS} characters; this one has {}. Shorten it or split it into follow-ups.", question.chars().count()));
    }
    if settings.openai_api_key.is_none() && !settings.endpoint_is_local() {
        return fail(sink, "MissingApiKey", missing_key_message(engine));
    }
    let llm = match LlmClient::new(settings) {
        Ok(c) => c,
        Err(e) => return fail(sink, "LLMError", e.to_string()),
    };
    let datasets: Vec<(String, Value)> = state.datasets.iter().map(|d| (d.name.clone(), d.profile.clone())).collect();
    let context: Vec<ContextItem> = state
        .exchanges
        .iter()
        .rev()
        .take(settings.context_lookback)
        .rev()
        .map(|e| ContextItem { question: e.question.clone(), code: e.code.clone(), result_summary: e.result_summary.clone() })
        .collect();
    let base = prompt::code_prompt(&datasets, question, &context);

    let mut code = match valid_code(engine, &llm, &base, sink).await {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    emit_code(sink, &code, None);
    state.last_code = Some(code.clone());
    let mut run = run_code(engine, state, &code, count, sink).await;
    if let Run::CodeError(err) = &run {
        // One self-repair round: the model sees the error type, message and failing line.
        let repair = prompt::repair_prompt(&base, &code, &error_text(err));
        let friendly = err["friendly"].as_str().unwrap_or("").to_string();
        match generate(engine, &llm, prompt::CODE_SYSTEM, &repair).await {
            Ok(fixed) if validate(&fixed).is_ok() => {
                emit_code(sink, &fixed, Some(&format!("The first attempt failed ({}), so the model corrected it:", error_text(err))));
                code = fixed;
                state.last_code = Some(code.clone());
                run = run_code(engine, state, &code, count, sink).await;
            }
            Ok(_) | Err(Some(_)) => {
                tracing::info!("self-repair produced no usable code");
                run = Run::Fatal(ErrorInfo::new("ExecutionError", friendly));
            }
            Err(None) => return fail(sink, "KeyboardInterrupt", "Interrupted while waiting for the model."),
        }
    }
    let result = match run {
        Run::Ok(v) => v,
        Run::CodeError(err) => {
            let msg = err["friendly"].as_str().map(String::from).unwrap_or_else(|| error_text(&err));
            record(state, question, &code, "Error", "", Some(msg.clone()));
            return fail(sink, err["ename"].as_str().unwrap_or("ExecutionError"), format!("{msg}\nThe analysis encountered an error. Please try rephrasing your question."));
        }
        Run::Fatal(e) => {
            record(state, question, &code, "Error", "", Some(e.evalue.clone()));
            return fail(sink, &e.ename.clone(), e.evalue);
        }
    };
    let interpretation = interpret(engine, &llm, question, &code, &result, sink).await;
    let summary = result["summary"].as_str().unwrap_or("").to_string();
    record(state, question, &code, &summary, &interpretation, None);
    ExecuteOutcome::ok()
}

fn record(state: &mut State, question: &str, code: &str, summary: &str, interpretation: &str, error: Option<String>) {
    state.exchanges.push(Exchange {
        question: question.into(),
        code: code.into(),
        result_summary: summary.into(),
        interpretation: interpretation.into(),
        error,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_in_model_text_is_escaped() {
        assert_eq!(escape_html("<script>x</script> & **bold**"), "&lt;script&gt;x&lt;/script&gt; &amp; **bold**");
    }

    #[test]
    fn fallbacks_follow_the_design_document() {
        assert_eq!(
            fallback_interpretation("DataFrame with 3 rows and 2 columns"),
            "Analysis completed successfully. The result is a table with 3 rows and 2 columns."
        );
        assert_eq!(fallback_interpretation("Numeric value: 42"), "The calculated result is: 42");
        assert_eq!(
            fallback_interpretation("Series with 3 values"),
            "Analysis completed successfully. The results are shown above."
        );
    }

    #[test]
    fn error_text_names_the_line() {
        let v = json!({"ename": "KeyError", "evalue": "'price'", "lineno": 2, "line": "  x = df['price']"});
        assert_eq!(error_text(&v), "KeyError: 'price' (line 2: `x = df['price']`)");
    }
}
