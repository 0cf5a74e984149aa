//! The solve loop: generate, repair, validate, run, check the answer, feed back what went wrong.

use super::answer::{answer_text, clip, error_text};
use super::display::{code_display, show_code};
use super::fixes::{repair, resolve_case, resolve_spacing};
use super::{DataInfo, Ledger, Ran, Runner, Solved, Solver, Unsolved};
use crate::analysis::answers;
use crate::analysis::checks;
use crate::analysis::hints;
use crate::analysis::privacy;
use crate::analysis::prompt;
use crate::analysis::reply;
use crate::analysis::usage::CallKind;
use crate::protocol::backend::ErrorInfo;
use std::time::Instant;

/// Characters of printed output or error kept for the model's next prompt.
const FEEDBACK_CHARS: usize = 600;

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
                        spark_tables: data.spark_tables.clone(),
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
}
