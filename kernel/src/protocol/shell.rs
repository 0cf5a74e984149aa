//! Shell requests, one at a time in arrival order, dispatched on their typed content.

use super::backend::{Backend, ExecuteRequest, ExecuteStatus, Output, OutputSink};
use super::content;
use super::history::{Entry, InputHistory};
use super::iopub::Iopub;
use super::request::Request;
use super::sockets::Replier;
use super::wire::Message;
use jupyter_protocol::{self as jp, ExecutionState, JupyterMessageContent as Typed};
use serde_json::{Map, Value};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Shell-side state: counters and history belong to the protocol, not the backend.
pub struct Shell {
    backend: Arc<dyn Backend>,
    iopub: Iopub,
    replier: Replier,
    execution_count: u32,
    history: InputHistory,
    shutdown: mpsc::UnboundedSender<()>,
}

/// Comm messages have no reply and, like ipykernel, we stay quiet about them.
fn is_comm(req: &Request) -> bool {
    match &req.content {
        Typed::CommOpen(_) | Typed::CommMsg(_) | Typed::CommClose(_) => true,
        Typed::UnknownMessage(m) => m.msg_type.starts_with("comm_"),
        _ => false,
    }
}

impl Shell {
    pub fn new(
        backend: Arc<dyn Backend>,
        iopub: Iopub,
        replier: Replier,
        history: InputHistory,
        shutdown: mpsc::UnboundedSender<()>,
    ) -> Self {
        Self {
            backend,
            iopub,
            replier,
            execution_count: 0,
            history,
            shutdown,
        }
    }

    pub async fn handle(&mut self, req: Request, queue: &mut mpsc::UnboundedReceiver<Request>) {
        if is_comm(&req) {
            return;
        }
        self.iopub.status(&req.msg, ExecutionState::Busy);
        let to_abort = match &req.content {
            Typed::ExecuteRequest(exec) => self.execute(&req.msg, exec, queue).await,
            _ => {
                self.handle_simple(&req).await;
                vec![]
            }
        };
        self.iopub.status(&req.msg, ExecutionState::Idle);
        for next in to_abort {
            if matches!(next.content, Typed::ExecuteRequest(_)) {
                self.abort(&next.msg).await;
            } else {
                Box::pin(self.handle(next, queue)).await;
            }
        }
    }

    async fn abort(&mut self, msg: &Message) {
        self.iopub.status(msg, ExecutionState::Busy);
        let reply = content::aborted_reply(self.execution_count);
        self.replier.reply(msg, reply).await;
        self.iopub.status(msg, ExecutionState::Idle);
    }

    /// Everything but execute: answered from the backend or from protocol state.
    async fn handle_simple(&mut self, req: &Request) {
        let backend = self.backend.as_ref();
        let reply = match &req.content {
            Typed::KernelInfoRequest(_) => content::kernel_info_reply(backend.kernel_info()),
            Typed::CompleteRequest(r) => {
                content::complete_reply(backend.complete(&r.code, r.cursor_pos).await)
            }
            Typed::InspectRequest(r) => {
                let detail = r.detail_level.unwrap_or(0) as u8;
                content::inspect_reply(backend.inspect(&r.code, r.cursor_pos, detail).await)
            }
            Typed::IsCompleteRequest(r) => {
                content::is_complete_reply(backend.is_complete(&r.code).await)
            }
            Typed::HistoryRequest(h) => {
                let (entries, output) = self.history_entries(h);
                content::history_reply(&entries, output)
            }
            // An unknown (or missing) hist_access_type: nothing matches.
            Typed::UnknownMessage(m) if m.msg_type == "history_request" => {
                content::history_reply(&[], false)
            }
            Typed::CommInfoRequest(_) => content::comm_info_reply(),
            Typed::ShutdownRequest(r) => {
                let reply = content::shutdown_reply(r.restart);
                self.replier.reply(&req.msg, reply).await;
                self.backend.shutdown(r.restart).await;
                let _ = self.shutdown.send(());
                return;
            }
            _ => {
                let other = req.msg_type();
                tracing::warn!("unsupported shell request {other}");
                content::unsupported(other)
            }
        };
        self.replier.reply(&req.msg, reply).await;
    }

    fn history_entries(&self, h: &jp::HistoryRequest) -> (Vec<&Entry>, bool) {
        let count = |n: i32| n.max(0) as usize;
        match h {
            jp::HistoryRequest::Tail { n, output, .. } => {
                let n = if *n <= 0 { 10 } else { count(*n) };
                (self.history.tail(n), *output)
            }
            jp::HistoryRequest::Range {
                session,
                start,
                stop,
                output,
                ..
            } => {
                let session = session.unwrap_or(0).into();
                let (start, stop) = (count(*start) as u32, count(*stop) as u32);
                (self.history.range(session, start, stop), *output)
            }
            jp::HistoryRequest::Search {
                pattern,
                unique,
                n,
                output,
                ..
            } => (self.history.search(pattern, count(*n), *unique), *output),
        }
    }

    /// Run one execute_request. After an error with stop_on_error, returns the requests that
    /// were already queued when it failed (taken before the reply goes out, so a request sent
    /// in reaction to the error reply is never aborted).
    async fn execute(
        &mut self,
        msg: &Message,
        exec: &jp::ExecuteRequest,
        queue: &mut mpsc::UnboundedReceiver<Request>,
    ) -> Vec<Request> {
        let silent = exec.silent;
        let store_history = !silent && exec.store_history;
        if store_history {
            self.execution_count += 1;
        }
        let count = self.execution_count;
        if !silent {
            self.iopub
                .send(msg, content::execute_input(&exec.code, count));
        }
        // Sorted by name, so they are evaluated in the same order every time.
        let mut expressions: Vec<_> = exec.user_expressions.iter().flatten().collect();
        expressions.sort();
        let user_expressions: Map<String, Value> = expressions
            .into_iter()
            .map(|(name, expr)| (name.clone(), Value::String(expr.clone())))
            .collect();
        let sink = self.sink_for(msg, count, silent);
        let req = ExecuteRequest {
            code: exec.code.clone(),
            execution_count: count,
            user_expressions,
        };
        let outcome = self.backend.execute(req, sink).await;
        if store_history {
            self.history.record(count, &exec.code);
        }
        // Outputs must be on the wire before the reply (frontends rely on this order).
        self.iopub.flush().await;
        let errored = matches!(outcome.status, ExecuteStatus::Error(_));
        let mut pending = vec![];
        if errored && exec.stop_on_error {
            while let Ok(next) = queue.try_recv() {
                pending.push(next);
            }
        }
        let reply = content::execute_reply(count, &outcome);
        self.replier.reply(msg, reply).await;
        pending
    }

    fn sink_for(&self, msg: &Message, count: u32, silent: bool) -> OutputSink {
        let iopub = self.iopub.clone();
        let parent = msg.clone();
        OutputSink::new(move |out: Output| {
            if silent && matches!(out, Output::ExecuteResult { .. }) {
                return;
            }
            iopub.send(&parent, content::output(&out, count));
        })
    }
}
