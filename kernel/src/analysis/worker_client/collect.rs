//! One call's events: outputs forwarded within their caps, the reply matched, deadline and interrupt held.

use super::*;

impl Worker {
    pub(super) async fn collect(
        &mut self,
        id: u64,
        sink: Option<&OutputSink>,
        deadline: Option<Instant>,
    ) -> Result<Value, CallError> {
        let far = Instant::now() + Duration::from_secs(365 * 24 * 3600);
        let untrusted = self.role == Role::Question;
        let mut sent = 0usize;
        let mut capped = false;
        let mut deadline_at = deadline.unwrap_or(far);
        let mut interrupted = false;
        loop {
            let interrupt = self.interrupt.clone();
            tokio::select! {
                ev = self.events.recv() => match ev {
                    Some(Event::Output(out)) => {
                        let out = if untrusted { untrusted_output(out) } else { Some(out) };
                        if let (Some(s), Some(out)) = (sink, out) {
                            sent += output_size(&out);
                            let cap = if untrusted { MAX_QUESTION_OUTPUT_BYTES } else { MAX_CALL_OUTPUT_BYTES };
                            if sent <= cap {
                                s.send(out);
                            } else if !capped {
                                capped = true;
                                s.stream("stderr", format!("\n[output truncated: this cell sent more than {} MB of output]\n", cap >> 20));
                            }
                        }
                    }
                    Some(Event::Oversized) if untrusted => {
                        return Err(CallError::Protocol(format!("it sent a message larger than {} MB", MAX_LINE_BYTES >> 20)));
                    }
                    Some(Event::Oversized) => {
                        tracing::warn!("dropped a worker message larger than {} MB", MAX_LINE_BYTES >> 20);
                        if let Some(s) = sink {
                            s.stream("stderr", format!("\n[an output larger than {} MB was dropped]\n", MAX_LINE_BYTES >> 20));
                        }
                    }
                    Some(Event::Reply { id: rid, ok, value, error, interrupted: intr }) if rid == id => {
                        return match (ok, intr) {
                            (true, _) => Ok(value),
                            (false, true) => Err(CallError::Interrupted),
                            (false, false) => Err(CallError::Failed(error)),
                        };
                    }
                    Some(Event::Reply { id: rid, .. }) if untrusted => {
                        return Err(CallError::Protocol(format!("it sent a reply to request {rid} while request {id} was running")));
                    }
                    Some(Event::Ready(report)) if !self.ready => {
                        self.ready = true;
                        log_sandbox_once(&report);
                    }
                    Some(Event::Fatal(msg)) => return Err(CallError::Died(msg)),
                    Some(other) if untrusted => {
                        return Err(CallError::Protocol(format!("it sent an unexpected {} message", event_kind(&other))));
                    }
                    Some(_) => {}
                    None => return Err(CallError::Died(self.exit_description().await)),
                },
                _ = tokio::time::sleep_until(deadline_at) => {
                    return Err(if interrupted { CallError::Unresponsive } else { CallError::Timeout });
                }
                _ = interrupt.notified(), if !interrupted => {
                    interrupted = true;
                    deadline_at = deadline_at.min(Instant::now() + INTERRUPT_GRACE);
                }
            }
        }
    }
}
