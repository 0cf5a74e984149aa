//! From a question to code that ran and answered it: generate (streamed to the cell) →
//! repair habits → validate → run in a fresh question worker → check → feed back, for up to
//! `MAX_REPAIR_ROUNDS` more rounds. Every model call is capped and counted.
//!
//! The model sees what went wrong with its last attempt (a refusal and what to do instead,
//! the error and its line, an empty result, a missing answer format, a timeout); the cell
//! shows the code that finally ran, one short line per earlier attempt, and each assumption
//! the kernel made (data re-read, column spelling).

use super::answers;
use super::checks;
use super::hints;
use super::llm::{CodeModel, LlmError};
use super::privacy::{self, Privacy};
use super::prompt;
use super::quote;
use super::reply;
use super::usage::CallKind;
use crate::protocol::backend::{ErrorInfo, Output, OutputSink};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the streamed code display is redrawn.
const STREAM_REDRAW: Duration = Duration::from_millis(80);
/// Characters of printed output or error kept for the model's next prompt.
const FEEDBACK_CHARS: usize = 600;

/// The outcome of running code once in a question worker.
pub enum Ran {
    /// `value` is the worker's reply; `outputs` were held back so only the attempt that
    /// answers is shown.
    Ok { value: Value, outputs: Vec<Output> },
    /// The code raised (the reply says what and where).
    CodeError { value: Value },
    /// Timeout, crash, interrupt, protocol violation: `retry` says whether another attempt
    /// makes sense (a timeout or an out-of-memory death may, an interrupt never does).
    Fatal { error: ErrorInfo, retry: bool },
}

/// Outputs of one run, held back until the kernel knows this attempt is the one to show.
#[derive(Clone, Default)]
pub struct Held(Arc<Mutex<Vec<Output>>>);

impl Held {
    pub fn sink(&self) -> OutputSink {
        let held = self.0.clone();
        OutputSink::new(move |out| held.lock().expect("held outputs").push(out))
    }

    pub fn take(&self) -> Vec<Output> {
        std::mem::take(&mut *self.0.lock().expect("held outputs"))
    }
}

/// Runs code on the loaded data in a fresh question worker.
#[async_trait::async_trait]
pub trait Runner: Send {
    async fn run(&mut self, code: &str) -> Ran;
}

/// What the question flow needs to know about the data: names and exact column names.
pub struct DataInfo {
    pub names: Vec<String>,
    pub columns: Vec<String>,
    /// The DuckDB tables: the only tables `sql("SELECT ...")` may read.
    pub sql_tables: Vec<String>,
}

pub use super::usage::Ledger;

/// A question answered by code that ran.
pub struct Solved {
    pub code: String,
    pub value: Value,
    pub outputs: Vec<Output>,
    /// Printed output plus the result's text: what the answer says.
    pub answer_text: String,
}

/// Why no attempt answered.
pub enum Unsolved {
    /// The model's last code was refused by the validator.
    Refused {
        code: String,
        rule: String,
        message: String,
        notes: Vec<String>,
    },
    /// The last code raised or produced no usable answer.
    Failed {
        code: String,
        ename: String,
        message: String,
        notes: Vec<String>,
    },
    /// Stopped: model failure, interrupt, or a run that must not be retried.
    Stopped(ErrorInfo),
}

/// Settings and handles one solve needs.
pub struct Solver<'a> {
    pub llm: &'a dyn CodeModel,
    pub sink: &'a OutputSink,
    pub temperature: f32,
    pub max_tokens: u32,
    pub max_rounds: usize,
    pub timeout: Duration,
    pub interrupt: &'a super::worker_client::InterruptHandle,
    /// Whether the validator runs (off only with LLM_ANALYTICS_UNSAFE_SKIP_VALIDATION=1).
    pub validate: bool,
    /// Lines shown above the attempts' notes (why the model is asked at all, e.g. a
    /// recorded answer whose parameters changed).
    pub preface: Vec<String>,
    /// What of the data may be fed back to the model (errors, printed answers).
    pub privacy: Privacy,
}

/// One earlier attempt, as the next prompt describes it: `problem` heads the code, `detail`
/// follows it, then what to do instead.
struct Previous {
    code: String,
    problem: String,
    detail: String,
    instruction: String,
    /// The design document's retry system prompt (after a refusal or a missing result).
    retry_system: bool,
}

impl Solver<'_> {
    pub async fn solve(
        &self,
        base_prompt: &str,
        question: &str,
        data: &DataInfo,
        runner: &mut dyn Runner,
        ledger: &mut Ledger,
    ) -> Result<Solved, Unsolved> {
        let required = checks::required_answer_names(question);
        let display_id = uuid::Uuid::new_v4().to_string();
        let mut shown = false;
        let mut history: Vec<String> = vec![];
        let mut previous: Option<Previous> = None;
        let mut last_failure: Option<Unsolved> = None;
        // The last error text, to notice a model repeating itself.
        let mut last_error: Option<String> = None;
        // A NaN answer is sent back once; a second NaN stands (it may be the answer).
        let mut nan_sent_back = false;
        // That NaN answer, kept in case no later attempt answers at all.
        let mut fallback: Option<(Solved, Vec<String>)> = None;
        for round in 0..=self.max_rounds {
            let prompt = match &previous {
                None => base_prompt.to_string(),
                Some(p) => {
                    // Error text and printed answers come from the data: scrubbed unless
                    // the privacy mode lets values leave.
                    let scrub = |t: &str| privacy::scrub(t, self.privacy, &p.code, &data.columns);
                    prompt::feedback_prompt(
                        base_prompt,
                        &p.problem,
                        &p.code,
                        &scrub(&p.detail),
                        &scrub(&p.instruction),
                    )
                }
            };
            let kind = match &previous {
                None => CallKind::Code,
                Some(p) if p.retry_system => CallKind::Retry,
                Some(_) => CallKind::Repair,
            };
            let system = match &previous {
                Some(p) if p.retry_system => prompt::RETRY_SYSTEM,
                _ => prompt::CODE_SYSTEM,
            };
            let label = if round == 0 {
                "Writing code…".to_string()
            } else {
                format!("Writing code… (attempt {})", round + 1)
            };
            let reply = self
                .generate(
                    kind,
                    system,
                    &prompt,
                    &label,
                    &display_id,
                    &mut shown,
                    ledger,
                )
                .await
                .map_err(Unsolved::Stopped)?;
            let raw = reply::code_of(&reply.text);
            if raw.trim().is_empty() {
                history.push(format!("Attempt {}: the reply held no code.", round + 1));
                previous = Some(Previous {
                    code: String::new(),
                    problem: if reply.truncated {
                        "Your previous reply was cut off before any code (it was too long).".into()
                    } else {
                        "Your previous reply contained no Python code.".into()
                    },
                    detail: String::new(),
                    instruction: "Reply with one short ```python code block only.".into(),
                    retry_system: true,
                });
                last_failure = Some(Unsolved::Failed {
                    code: String::new(),
                    ename: "NoCode".into(),
                    message: "The model's reply contained no code.".into(),
                    notes: history.clone(),
                });
                continue;
            }
            let names: Vec<&str> = data.names.iter().map(String::as_str).collect();
            let (repaired, mut notes) = repair(&raw, &names);
            let (code, resolved) = resolve_spacing(&repaired, &data.columns);
            notes.extend(resolved);
            if self.validate {
                if let Err(rej) = code_guard::validate(
                    &code,
                    &code_guard::Policy {
                        require_result: false,
                        sql_tables: data.sql_tables.clone(),
                        ..Default::default()
                    },
                ) {
                    history.push(format!("Attempt {}: refused ({}).", round + 1, rej.rule));
                    previous = Some(Previous {
                        code: code.clone(),
                        problem: format!("Previous attempt failed validation: {}", rej.message),
                        detail: String::new(),
                        instruction: hints::instead_of(rej.rule).into(),
                        retry_system: true,
                    });
                    last_failure = Some(Unsolved::Refused {
                        code,
                        rule: rej.rule.into(),
                        message: rej.message,
                        notes: history.clone(),
                    });
                    continue;
                }
            }
            show_code(self.sink, &display_id, &code, &label, shown);
            shown = true;
            let started = Instant::now();
            let mut ran = runner.run(&code).await;
            ledger.exec += started.elapsed();
            let mut code = code;
            // A column asked for in another case: resolve it, say so, run again (no model call).
            if let Ran::CodeError { value } = &ran {
                if let Some((fixed, note)) = resolve_case(&code, value, &data.columns) {
                    notes.push(note);
                    code = fixed;
                    let started = Instant::now();
                    ran = runner.run(&code).await;
                    ledger.exec += started.elapsed();
                }
            }
            match ran {
                Ran::Ok { value, outputs } => {
                    let mut answer_text = answer_text(&value, &outputs);
                    // One answer asked for in the @name[value] form and one value given: the
                    // kernel writes the form itself rather than asking the model again.
                    if let Some(formatted) = answers::single_answer(&answer_text, &required) {
                        notes.push(format!(
                            "Gave the answer in the requested form: {formatted}"
                        ));
                        answer_text.push_str(&format!("\n{formatted}"));
                    }
                    // Python reprs and unrounded numbers: written the way the question asked.
                    if let Some((line, changed)) =
                        answers::tidy_answers(&answer_text, &required, question)
                    {
                        notes.push(format!(
                            "Wrote the answer in the requested form ({}): {line}",
                            changed.join("; ")
                        ));
                        answer_text.push_str(&format!("\n{line}"));
                    }
                    let missing = checks::missing_answer_names(&answer_text, &required);
                    let blank = checks::blank_answer_names(&answer_text, &required);
                    let problem = if value["result_type"] == "NoneType"
                        && answer_text.trim().is_empty()
                        && value["figures"].as_u64().unwrap_or(0) == 0
                    {
                        Some((
                            "no result.",
                            "The code ran but produced no answer: `result` was never set and nothing was printed.".to_string(),
                            "Assign the final answer to the variable `result`.".to_string(),
                        ))
                    } else if !missing.is_empty() {
                        Some((
                            "answer not in the requested format.",
                            format!(
                                "The code ran, but its answer lacks the requested format {}. It gave:\n{}",
                                missing.iter().map(|n| format!("@{n}[...]")).collect::<Vec<_>>().join(", "),
                                clip(&answer_text, FEEDBACK_CHARS)
                            ),
                            format!(
                                "Set `result` to a string that gives every answer in exactly the requested form, e.g. result = f\"{}\", with values rounded as asked.",
                                required.iter().map(|n| format!("@{n}[{{{n}}}]")).collect::<Vec<_>>().join(" ")
                            ),
                        ))
                    } else if !blank.is_empty() && !nan_sent_back && round < self.max_rounds {
                        nan_sent_back = true;
                        let mut all = notes.clone();
                        all.extend(history.clone());
                        fallback = Some((
                            Solved {
                                code: code.clone(),
                                value: value.clone(),
                                outputs: outputs.clone(),
                                answer_text: answer_text.clone(),
                            },
                            all,
                        ));
                        Some((
                            "an answer came out NaN or empty.",
                            format!(
                                "The code ran, but {} came out NaN or empty:\n{}",
                                blank
                                    .iter()
                                    .map(|n| format!("@{n}"))
                                    .collect::<Vec<_>>()
                                    .join(", "),
                                clip(&answer_text, FEEDBACK_CHARS)
                            ),
                            hints::NAN_ANSWER.to_string(),
                        ))
                    } else {
                        None
                    };
                    match problem {
                        None => {
                            let mut all = notes;
                            all.extend(history);
                            self.show_final(&display_id, &code, &all, shown);
                            return Ok(Solved {
                                code,
                                value,
                                outputs,
                                answer_text,
                            });
                        }
                        Some((summary, detail, instruction)) => {
                            history.push(format!("Attempt {}: {summary}", round + 1));
                            last_failure = Some(Unsolved::Failed {
                                code: code.clone(),
                                ename: "NoAnswer".into(),
                                message: detail.clone(),
                                notes: history.clone(),
                            });
                            previous = Some(Previous {
                                code,
                                problem: "The previous code ran but did not answer:".into(),
                                detail,
                                instruction,
                                retry_system: true,
                            });
                        }
                    }
                }
                Ran::CodeError { value } => {
                    let error = error_text(&value);
                    history.push(format!("Attempt {}: {}", round + 1, clip(&error, 160)));
                    last_failure = Some(Unsolved::Failed {
                        code: code.clone(),
                        ename: value["ename"].as_str().unwrap_or("ExecutionError").into(),
                        message: value["friendly"]
                            .as_str()
                            .map(String::from)
                            .unwrap_or_else(|| error.clone()),
                        notes: history.clone(),
                    });
                    let mut instruction = hints::for_error(&value, &data.columns);
                    if last_error.as_deref() == Some(error.as_str()) {
                        instruction = format!("{} {instruction}", hints::SAME_AGAIN);
                    }
                    last_error = Some(error.clone());
                    previous = Some(Previous {
                        code,
                        problem: "The previous code failed when it ran:".into(),
                        detail: format!("Error: {}", clip(&error, FEEDBACK_CHARS)),
                        instruction,
                        retry_system: false,
                    });
                }
                Ran::Fatal { error, retry } => {
                    if !retry {
                        return Err(Unsolved::Stopped(error));
                    }
                    history.push(format!(
                        "Attempt {}: {}",
                        round + 1,
                        clip(&error.evalue, 160)
                    ));
                    previous = Some(Previous {
                        code: code.clone(),
                        problem: "The previous code did not finish:".into(),
                        detail: clip(&error.evalue, FEEDBACK_CHARS),
                        retry_system: false,
                        instruction: format!(
                            "Write faster, vectorized pandas code without Python loops over rows; it must finish within {} seconds.",
                            self.timeout.as_secs_f64()
                        ),
                    });
                    last_failure = Some(Unsolved::Failed {
                        code,
                        ename: error.ename,
                        message: error.evalue,
                        notes: history.clone(),
                    });
                }
            }
        }
        if let Some((solved, mut notes)) = fallback {
            notes.push(
                "No later attempt answered; this is the answer the first attempt gave.".into(),
            );
            self.show_final(&display_id, &solved.code, &notes, shown);
            return Ok(solved);
        }
        let failure = last_failure.unwrap_or_else(|| {
            Unsolved::Stopped(ErrorInfo::new("NoAnswer", "No attempt was made."))
        });
        // The cell keeps the last code the model wrote, marked as not having answered.
        match &failure {
            Unsolved::Refused { code, notes, .. } => {
                let mut notes = notes.clone();
                notes.push("This code was refused and did not run.".into());
                self.show_final(&display_id, code, &notes, shown);
            }
            Unsolved::Failed { code, notes, .. } if !code.is_empty() => {
                self.show_final(&display_id, code, notes, shown);
            }
            _ => {}
        }
        Err(failure)
    }

    /// The code display's final state: the code, the preface, then `notes`.
    fn show_final(&self, display_id: &str, code: &str, notes: &[String], shown: bool) {
        let all: Vec<String> = self.preface.iter().chain(notes).cloned().collect();
        code_display(self.sink, display_id, code, &all, shown);
    }

    /// One code-generation call, streamed into the cell's code display; not made when it
    /// could break a budget.
    #[allow(clippy::too_many_arguments)]
    async fn generate(
        &self,
        kind: CallKind,
        system: &str,
        prompt: &str,
        label: &str,
        display_id: &str,
        shown: &mut bool,
        ledger: &mut Ledger,
    ) -> Result<super::llm::Reply, ErrorInfo> {
        let sent = system.len() + prompt.len();
        ledger
            .allow(kind, sent, self.max_tokens)
            .map_err(|m| ErrorInfo::new("BudgetExceeded", m))?;
        let started = Instant::now();
        let mut last_draw = Instant::now() - STREAM_REDRAW;
        let sink = self.sink;
        let mut on_delta = |so_far: &str| {
            if last_draw.elapsed() >= STREAM_REDRAW {
                show_streaming(sink, display_id, label, so_far, *shown);
                *shown = true;
                last_draw = Instant::now();
            }
        };
        let streamed = tokio::select! {
            r = self.llm.complete(system, prompt, self.temperature, self.max_tokens, &mut on_delta) => Some(r),
            _ = self.interrupt.notified() => None,
        };
        match streamed {
            None => Err(ErrorInfo::new(
                "KeyboardInterrupt",
                "Interrupted while waiting for the model.",
            )),
            Some(Err(LlmError(e))) => {
                ledger.add(kind, None, started.elapsed(), sent, 0);
                Err(ErrorInfo::new(
                    "LLMError",
                    format!("Error generating code: {e}"),
                ))
            }
            Some(Ok(reply)) => {
                ledger.add(
                    kind,
                    reply.usage.as_ref(),
                    started.elapsed(),
                    sent,
                    reply.text.len(),
                );
                Ok(reply)
            }
        }
    }
}

/// Habits repaired instead of refused (code_guard::repair): re-reading the data, a
/// `__main__` guard. `datasets` come in load order (the current one, `df`, last).
fn repair(code: &str, datasets: &[&str]) -> (String, Vec<String>) {
    // code-guard wants the dataset bound as `df` first.
    let mut order: Vec<&str> = datasets.iter().rev().copied().collect();
    order.dedup();
    let repaired = code_guard::repair(code, &order);
    (repaired.code, repaired.notes)
}

/// The answer as text: printed output, then the result's plain text.
fn answer_text(value: &Value, outputs: &[Output]) -> String {
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

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
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
fn resolve_case(code: &str, value: &Value, columns: &[String]) -> Option<(String, String)> {
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

/// The code display while the model writes: what it has so far, as plain text.
fn show_streaming(sink: &OutputSink, display_id: &str, label: &str, so_far: &str, update: bool) {
    let text = format!("{label}\n{}", reply::without_reasoning(so_far));
    let data = json!({"text/plain": text});
    send_code_display(sink, display_id, data, update);
}

/// The code display with the code about to run.
fn show_code(sink: &OutputSink, display_id: &str, code: &str, label: &str, update: bool) {
    let data = json!({
        "text/markdown": super::render::code_markdown(code, None),
        "text/plain": format!("{label}\n{code}"),
    });
    send_code_display(sink, display_id, data, update);
}

fn send_code_display(sink: &OutputSink, display_id: &str, data: Value, update: bool) {
    let metadata = super::render::role("code");
    sink.send(if update {
        Output::UpdateDisplayData {
            data,
            metadata,
            display_id: display_id.to_string(),
        }
    } else {
        Output::DisplayData {
            data,
            metadata,
            display_id: Some(display_id.to_string()),
        }
    });
}

/// The code display's final state: the code that ran (or last failed), its notes above it.
fn code_display(sink: &OutputSink, display_id: &str, code: &str, notes: &[String], update: bool) {
    let data = json!({
        "text/markdown": super::render::code_markdown(code, Some(notes)),
        "text/plain": code,
    });
    send_code_display(sink, display_id, data, update);
}

#[cfg(test)]
#[path = "solve_tests.rs"]
mod flow_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn spaced_headers_are_resolved_and_stated() {
        let columns = cols(&["DATE TIME", " WINDSPEED", " BARO"]);
        let (code, notes) = resolve_spacing(
            "result = df['BARO'].mean() + df[\"WINDSPEED\"].max()",
            &columns,
        );
        assert_eq!(code, "result = df[' BARO'].mean() + df[' WINDSPEED'].max()");
        assert_eq!(notes.len(), 2);
        assert!(notes[0].contains("' BARO'"), "{notes:?}");
        // Exact names and unrelated strings are left alone.
        let (same, none) = resolve_spacing("result = df['DATE TIME'].min(); x = 'mean'", &columns);
        assert_eq!(same, "result = df['DATE TIME'].min(); x = 'mean'");
        assert!(none.is_empty());
    }

    #[test]
    fn case_is_resolved_only_after_a_key_error() {
        let columns = cols(&["Revenue", "region"]);
        let err = json!({"ename": "KeyError", "evalue": "'revenue'"});
        let (code, note) = resolve_case("result = df['revenue'].sum()", &err, &columns).unwrap();
        assert_eq!(code, "result = df['Revenue'].sum()");
        assert!(note.contains("'Revenue'"));
        let ambiguous = cols(&["Revenue", "REVENUE"]);
        assert!(resolve_case("result = df['revenue'].sum()", &err, &ambiguous).is_none());
        let other = json!({"ename": "ValueError", "evalue": "'revenue'"});
        assert!(resolve_case("result = df['revenue'].sum()", &other, &columns).is_none());
    }

    #[test]
    fn underscores_and_hyphens_read_as_spaces_after_a_key_error() {
        let columns = cols(&["wind speed", "Max-Temp", "date"]);
        let err = json!({"ename": "KeyError", "evalue": "'wind_speed'"});
        let (code, note) =
            resolve_case("result = df['wind_speed'].mean()", &err, &columns).unwrap();
        assert_eq!(code, "result = df['wind speed'].mean()");
        assert!(note.contains("'wind speed'"), "{note}");
        let err = json!({"ename": "KeyError", "evalue": "'max temp'"});
        let (code, _) = resolve_case("result = df['max temp'].max()", &err, &columns).unwrap();
        assert_eq!(code, "result = df['Max-Temp'].max()");
        // Separators are not letters: 'windspeed' is another name.
        let err = json!({"ename": "KeyError", "evalue": "'windspeed'"});
        assert!(resolve_case("result = df['windspeed'].mean()", &err, &columns).is_none());
    }

    #[test]
    fn printed_answers_count_as_the_answer() {
        let outputs = vec![Output::Stream {
            name: "stdout".into(),
            text: "@mean[4.2]\n".into(),
        }];
        let value = json!({"result_type": "NoneType", "for_interpretation": "None"});
        assert_eq!(answer_text(&value, &outputs), "@mean[4.2]\n");
        assert_eq!(answer_text(&value, &[]), "");
    }
}
