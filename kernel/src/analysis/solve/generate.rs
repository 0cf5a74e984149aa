//! One code-generation call: budget-checked, streamed into the cell, counted in the ledger.

use super::display::show_streaming;
use super::{Ledger, Solver};
use crate::analysis::llm::LlmError;
use crate::analysis::usage::CallKind;
use crate::protocol::backend::ErrorInfo;
use std::time::{Duration, Instant};

/// How often the streamed code display is redrawn.
const STREAM_REDRAW: Duration = Duration::from_millis(80);

impl Solver<'_> {
    /// One code-generation call, streamed into the cell's code display; not made when it
    /// could break a budget.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn generate(
        &self,
        kind: CallKind,
        system: &str,
        prompt: &str,
        label: &str,
        display_id: &str,
        shown: &mut bool,
        ledger: &mut Ledger,
    ) -> Result<crate::analysis::llm::Reply, ErrorInfo> {
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
