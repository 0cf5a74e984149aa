//! The interpretation: streamed into one display, every number it states checked against the
//! result (once more if not, then the design document's plain fallback); in privacy mode
//! `schema` it is written from the result's shape and types only.

use super::llm::LlmClient;
use super::prompt;
use super::render::{model_markdown, role as role_metadata};
use super::services::Services;
use super::solve::{Ledger, Solved};
use super::usage::CallKind;
use crate::protocol::backend::{Output, OutputSink};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Told to the interpretation in privacy mode `schema`, and said under it.
pub(super) const SCHEMA_INTERPRETATION: &str = "Privacy mode 'schema': you are given only the result's shape and types, not its values. Do not state any number or value; say what kind of answer the result gives and that its values are shown above.\n";

pub(super) const SCHEMA_SAID: &str = "_(Written from the result's shape and types only: privacy mode 'schema' sends no values to the model.)_";

/// How often the streamed interpretation is redrawn (frontends re-render on each update).
pub(super) const STREAM_REDRAW: Duration = Duration::from_millis(60);

/// Characters of a printed answer given to the interpretation.
pub(super) const INTERPRETATION_CHARS: usize = 1_500;

/// The design document's fallback when the interpretation call fails.
pub(super) fn fallback_interpretation(summary: &str) -> String {
    if let Some(rest) = summary.strip_prefix("DataFrame with ") {
        return format!("Analysis completed successfully. The result is a table with {rest}.");
    }
    if let Some(v) = summary.strip_prefix("Numeric value: ") {
        return format!("The calculated result is: {v}");
    }
    "Analysis completed successfully. The results are shown above.".into()
}

/// The interpretation display, first shown or redrawn; `usage` (the question's ledger) goes
/// into its metadata on the final draw.
pub(super) fn show_interpretation(
    sink: &OutputSink,
    text: &str,
    display_id: &str,
    first: bool,
    usage: Option<&Value>,
) {
    let data = json!({"text/markdown": model_markdown(text), "text/plain": text});
    let mut metadata = role_metadata("interpretation");
    if let Some(usage) = usage {
        metadata["llm_analytics"]["usage"] = usage.clone();
    }
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
pub(super) fn result_description(solved: &Solved) -> String {
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
pub(super) async fn interpret(
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
                        show_interpretation(sink, &so_far, display_id, !shown, None);
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
            show_interpretation(sink, &text, display_id, !shown, None);
            return text;
        }
        tracing::info!(
            "interpretation attempt {} states numbers not in the result: {unsupported:?}",
            attempt + 1
        );
    }
    let text = fallback_interpretation(summary);
    show_interpretation(sink, &text, display_id, !shown, None);
    text
}

#[cfg(test)]
mod tests {
    use super::super::render;
    use super::*;

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
}
