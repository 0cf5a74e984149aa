//! The analyst's controls over what reaches the model: `%privacy` (what of the data may
//! leave), `%show_prompt` (exactly what would be sent, sending nothing), `%usage` (calls,
//! tokens and cost), `%%context` / `%context` (the analyst's own notes about the data).

use super::notes;
use super::privacy::Privacy;
use super::prompt;
use super::question;
use super::render::{escape_html, fail_cell, role};
use super::services::Services;
use super::state::State;
use super::usage::{self, Tally};
use crate::protocol::backend::{ExecuteOutcome, Output, OutputSink};
use history_store::HistoryStore;
use serde_json::json;

pub fn privacy(state: &mut State, args: &str, sink: &OutputSink) -> ExecuteOutcome {
    let args = args.trim();
    if !args.is_empty() {
        let Some(mode) = Privacy::parse(args) else {
            return fail_cell(
                sink,
                "UsageError",
                format!("%privacy {args}: unknown mode. Use %privacy schema, %privacy sample or %privacy masked."),
            );
        };
        state.privacy = mode;
    }
    let mode = state.privacy;
    sink.stream(
        "stdout",
        format!(
            "Privacy mode: {} — the model sees {}.\n{}",
            mode.name(),
            mode.describe(),
            if args.is_empty() {
                "Change it for this session with %privacy schema|sample|masked (default: the LLM_ANALYTICS_PRIVACY setting).\n"
            } else {
                ""
            }
        ),
    );
    ExecuteOutcome::ok()
}

/// The messages the first code call for `question` would send, as readable text and as
/// JSON; nothing is sent.
pub fn show_prompt(
    svc: &Services,
    state: &State,
    question: &str,
    sink: &OutputSink,
) -> ExecuteOutcome {
    let question = question.trim();
    if question.is_empty() {
        return fail_cell(
            sink,
            "UsageError",
            "%show_prompt QUESTION: write the question after the magic (on the same line or below it).",
        );
    }
    if state.datasets.is_empty() {
        return fail_cell(
            sink,
            "NoDataError",
            "No data is loaded yet, so there is no prompt to show. Load a file first, e.g. %load sales.csv",
        );
    }
    let question = super::parameters::substitute(question, &state.parameters);
    let reading = question::read_names(state, &question);
    let user = question::code_prompt_for(state, &question, svc.settings.context_lookback, &reading);
    let messages = json!([
        {"role": "system", "content": prompt::CODE_SYSTEM},
        {"role": "user", "content": user},
    ]);
    let text = format!(
        "Nothing was sent. The first request for this question would send to {} ({}), privacy mode {}:\n\n\
         --- system ---\n{}\n\n--- user ---\n{}\n",
        svc.settings.openai_model,
        svc.settings.openai_base_url,
        state.privacy.name(),
        prompt::CODE_SYSTEM,
        user
    );
    let html = format!(
        "<div class=\"llm-analytics-prompt\"><p>Nothing was sent. The first request for this question would send (privacy mode <b>{}</b>):</p>\
         <p><b>system</b></p><pre>{}</pre><p><b>user</b></p><pre>{}</pre></div>",
        state.privacy.name(),
        escape_html(prompt::CODE_SYSTEM),
        escape_html(&user)
    );
    let mut metadata = role("prompt");
    metadata["llm_analytics"]["messages"] = messages.clone();
    sink.send(Output::DisplayData {
        data: json!({"text/plain": text, "text/html": html, "application/json": {"messages": messages}}),
        metadata,
        display_id: None,
    });
    ExecuteOutcome::ok()
}

fn tally_line(label: &str, t: &Tally, cost: Option<f64>) -> String {
    let mut line = format!(
        "{label}: {} calls · {}{} tokens ({} prompt, {} completion)",
        t.calls,
        if t.estimated { "~" } else { "" },
        usage::group(t.tokens()),
        usage::group(t.prompt_tokens),
        usage::group(t.completion_tokens),
    );
    if let Some(c) = cost {
        line.push_str(&format!(" · {}", usage::dollars(c)));
    }
    line
}

/// Totals for this session (by call kind) and for the notebook (from the history store).
pub async fn usage(svc: &Services, state: &State, sink: &OutputSink) -> ExecuteOutcome {
    let s = &state.usage;
    let mut lines = vec![tally_line(
        &format!("This session ({} questions)", s.questions),
        &s.total,
        (s.cost > 0.0 || !s.unpriced).then_some(s.cost),
    )];
    for (kind, t) in &s.by_kind {
        lines.push(format!("  {}", tally_line(kind.name(), t, None)));
    }
    if s.unpriced {
        lines.push("  (no price is known for some calls' model; give it as LLM_ANALYTICS_PRICES=MODEL=INPUT/OUTPUT in USD per million tokens)".to_string());
    }
    let store = svc.store().await;
    match store.notebook_history(&svc.notebook).await {
        Ok(sessions) => {
            let mut t = Tally::default();
            let mut cost = 0.0;
            let mut priced = true;
            let mut questions = 0;
            for rec in sessions.iter().flat_map(|(_, recs)| recs) {
                questions += 1;
                let one = Tally {
                    calls: 0,
                    prompt_tokens: u64::from(rec.usage.prompt_tokens),
                    completion_tokens: u64::from(rec.usage.completion_tokens),
                    estimated: false,
                };
                match svc.settings.prices.of(&rec.model) {
                    Some(p) => cost += p.cost(&one),
                    None => priced &= one.tokens() == 0,
                }
                t.prompt_tokens += one.prompt_tokens;
                t.completion_tokens += one.completion_tokens;
            }
            lines.push(format!(
                "This notebook, all sessions in the history store ({questions} questions): {} tokens ({} prompt, {} completion){}",
                usage::group(t.tokens()),
                usage::group(t.prompt_tokens),
                usage::group(t.completion_tokens),
                if priced { format!(" · {}", usage::dollars(cost)) } else { String::new() }
            ));
        }
        Err(e) => lines.push(format!(
            "This notebook: the history store cannot be read ({e})."
        )),
    }
    let caps = [
        svc.settings
            .max_tokens_per_question
            .map(|c| format!("MAX_TOKENS_PER_QUESTION={c}")),
        svc.settings
            .max_cost_per_session
            .map(|c| format!("MAX_COST_PER_SESSION={c}")),
    ];
    let caps: Vec<String> = caps.into_iter().flatten().collect();
    lines.push(if caps.is_empty() {
        "Budgets: none set (MAX_TOKENS_PER_QUESTION, MAX_COST_PER_SESSION).".into()
    } else {
        format!("Budgets: {}.", caps.join(", "))
    });
    sink.stream("stdout", lines.join("\n") + "\n");
    ExecuteOutcome::ok()
}

/// A `%%context` cell: its text becomes a note in every following prompt.
pub fn add_context(
    svc: &Services,
    state: &mut State,
    text: &str,
    sink: &OutputSink,
) -> ExecuteOutcome {
    if text.trim().is_empty() {
        return fail_cell(
            sink,
            "UsageError",
            "%%context: write notes about the data below the magic line (e.g. \"revenue is net of refunds\"). %context lists the notes, %context clear removes them.",
        );
    }
    let (added, cut) = notes::add(&mut state.notes, "%%context", text);
    let mut said = if added {
        "Noted: every following question's prompt includes this note.".to_string()
    } else {
        "This note is already in the prompts.".to_string()
    };
    if cut {
        said.push_str(&format!(
            " It was cut to its first {} characters.",
            notes::MAX_NOTE_CHARS
        ));
    }
    if let Err(e) = notes::save(&svc.notes_path(), &state.notes) {
        said.push_str(&format!(
            " (It could not be kept for the next kernel session: {e}.)"
        ));
    }
    show_notes(state, &said, sink);
    ExecuteOutcome::ok()
}

/// `%context` lists the notes; `%context clear` removes them.
pub fn context(svc: &Services, state: &mut State, args: &str, sink: &OutputSink) -> ExecuteOutcome {
    match args.trim() {
        "" => {
            let said = if state.notes.is_empty() {
                "No notes yet: a %%context cell adds one."
            } else {
                "Notes in every prompt:"
            };
            show_notes(state, said, sink);
            ExecuteOutcome::ok()
        }
        "clear" => {
            let n = state.notes.len();
            state.notes.clear();
            let _ = notes::save(&svc.notes_path(), &state.notes);
            sink.stream("stdout", format!("Removed {n} notes.\n"));
            ExecuteOutcome::ok()
        }
        other => fail_cell(
            sink,
            "UsageError",
            format!("%context {other}: unknown argument. %context lists the notes, %context clear removes them; a %%context cell adds one."),
        ),
    }
}

fn show_notes(state: &State, said: &str, sink: &OutputSink) {
    let mut text = format!("{said}\n");
    let mut html = format!("<p>{}</p><ul>", escape_html(said));
    for n in &state.notes {
        text.push_str(&format!("- [{}] {}\n", n.source, n.text));
        html.push_str(&format!(
            "<li><i>{}</i>: {}</li>",
            escape_html(&n.source),
            escape_html(&n.text)
        ));
    }
    html.push_str("</ul>");
    sink.send(Output::DisplayData {
        data: json!({"text/plain": text, "text/html": html}),
        metadata: role("context"),
        display_id: None,
    });
}
