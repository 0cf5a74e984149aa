//! Calls into a worker: waiting for Python, preloaded set-up requests, one request and its reply.

use super::*;

impl Worker {
    /// Wait until Python is up (pandas imported).
    pub async fn wait_ready(&mut self) -> Result<(), CallError> {
        while !self.ready {
            // Python may take seconds to start on a busy machine: an interrupt meanwhile
            // ends the wait (the worker keeps starting for the next cell).
            let event = tokio::select! {
                ev = self.events.recv() => ev,
                _ = self.interrupt.notified() => {
                    self.interrupt.clear_pending();
                    return Err(CallError::Interrupted);
                }
            };
            if self.interrupt.take_pending() {
                return Err(CallError::Interrupted);
            }
            match event {
                Some(Event::Ready(report)) => {
                    self.ready = true;
                    log_sandbox_once(&report);
                }
                Some(Event::Fatal(msg)) => return Err(CallError::Died(msg)),
                Some(_) => {}
                None => return Err(CallError::Died(self.exit_description().await)),
            }
        }
        Ok(())
    }

    /// Write one request; its reply is collected by `collect`.
    pub(super) async fn send(&mut self, request: &Request) -> Result<u64, CallError> {
        let id = self.next_id;
        self.next_id += 1;
        let line = request.line(id);
        if self.stdin.write_all(line.as_bytes()).await.is_err() {
            return Err(CallError::Died(self.exit_description().await));
        }
        let _ = self.stdin.flush().await;
        Ok(id)
    }

    /// Send a question worker's set-up requests now, while Python is still importing; their
    /// replies are checked by `finish_preload` when the worker is taken into use.
    pub async fn preload(&mut self, requests: Vec<Request>) -> Result<(), CallError> {
        for request in requests {
            let id = self.send(&request).await?;
            self.pending.push_back(id);
        }
        Ok(())
    }

    /// Wait for the replies to `preload`'s requests; any failure fails the worker.
    pub async fn finish_preload(&mut self) -> Result<(), CallError> {
        let deadline = Instant::now() + QUESTION_WORKER_START;
        while let Some(id) = self.pending.pop_front() {
            self.collect(id, None, Some(deadline)).await?;
        }
        self.configured = true;
        Ok(())
    }

    /// Call a runtime function. Outputs stream to `sink`; `deadline` bounds the whole call.
    pub async fn call(
        &mut self,
        request: Request,
        sink: Option<&OutputSink>,
        deadline: Option<Instant>,
    ) -> Result<Value, CallError> {
        if self.role == Role::Question {
            self.finish_preload().await?;
        }
        self.wait_ready().await?;
        self.discard_stale()?;
        if self.interrupt.take_pending() {
            return Err(CallError::Interrupted);
        }
        let id = self.send(&request).await?;
        self.interrupt.busy.store(true, Ordering::SeqCst);
        // An interrupt between the check above and `busy`: deliver it now.
        if self.interrupt.take_pending() {
            self.interrupt.signal();
        }
        let result = self.collect(id, sink, deadline).await;
        self.interrupt.busy.store(false, Ordering::SeqCst);
        if let Err(CallError::Protocol(why)) = &result {
            tracing::error!("question worker ended: {why}");
            self.kill().await;
        }
        match result {
            Ok(value) if value.get("worker_restart") == Some(&Value::Bool(true)) => {
                // The worker could not undo what this cell did (a thread that will not stop)
                // and ends itself after replying: replace it now, so the next cell gets a
                // clean one with the datasets restored (the engine reconfigures it).
                if let Some(s) = sink {
                    s.stream(
                        "stderr",
                        "\n[The Python worker was restarted: the code left a thread running. \
                        Your datasets are restored; variables defined in %%python were lost.]\n",
                    );
                }
                self.restart().await;
                Ok(value)
            }
            Ok(mut value) if matches!(request, Request::LoadDataset { .. }) => {
                // The profile's HTML is built from the data: it must be escaped table markup.
                if let Some(html) = value.get("html").and_then(Value::as_str) {
                    if !html_is_safe(html) {
                        tracing::error!("load_dataset returned HTML that is not plain escaped table markup; dropped");
                        value["html"] = Value::String(String::new());
                    }
                }
                Ok(value)
            }
            other => other,
        }
    }

    /// Events that arrived while no call was running. The user worker's are output of the
    /// user's own background threads: dropped (there is no cell to show them in). A question
    /// worker must never send any: that ends it.
    fn discard_stale(&mut self) -> Result<(), CallError> {
        let mut dropped = 0usize;
        while let Ok(ev) = self.events.try_recv() {
            if self.role == Role::Question {
                return Err(CallError::Protocol(format!(
                    "it sent a message while no request was running ({})",
                    event_kind(&ev)
                )));
            }
            dropped += 1;
        }
        if dropped > 0 {
            tracing::warn!("dropped {dropped} worker message(s) sent between cells");
        }
        Ok(())
    }

    /// Whether settings and datasets have been sent since the process started.
    pub fn is_configured(&self) -> bool {
        self.configured
    }

    pub fn mark_configured(&mut self) {
        self.configured = true;
    }
}
