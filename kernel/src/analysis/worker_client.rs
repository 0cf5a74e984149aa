//! The kernel's handle on the Python worker process: spawn, call, interrupt, kill.
//!
//! The worker is this same binary in `worker` mode, in its own process group so a SIGINT sent
//! by Jupyter to the kernel's group is not delivered twice; the kernel forwards it instead.

use crate::protocol::backend::{ErrorInfo, Output, OutputSink};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;

/// How long Python gets to honour an interrupt before the worker is killed.
pub const INTERRUPT_GRACE: Duration = Duration::from_secs(3);

#[derive(Debug)]
enum Event {
    Output(Output),
    Ready,
    Fatal(String),
    Reply {
        id: u64,
        ok: bool,
        value: Value,
        error: String,
        interrupted: bool,
    },
}

/// Why a call did not return a value.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// The process exited (crash, OOM kill, os._exit...).
    Died(String),
    /// The deadline passed; the worker is still busy and must be killed.
    Timeout,
    /// Interrupted and Python did not yield within the grace period.
    Unresponsive,
    /// KeyboardInterrupt reached the dispatcher itself.
    Interrupted,
    /// The runtime raised: a bug in the worker code, reported with its traceback.
    Failed(String),
}

/// Shared with the interrupt path, which must not wait for the worker lock.
#[derive(Default)]
pub struct InterruptHandle {
    pid: AtomicI32,
    busy: std::sync::atomic::AtomicBool,
    notify: Notify,
}

impl InterruptHandle {
    /// Send SIGINT to a busy worker and wake whoever waits on it.
    pub fn interrupt(&self) {
        let pid = self.pid.load(Ordering::SeqCst);
        if pid > 0 && self.busy.load(Ordering::SeqCst) {
            // SAFETY: kill(2) on a pid we spawned.
            unsafe {
                libc::kill(pid, libc::SIGINT);
            }
        }
        self.notify.notify_waiters();
    }

    /// Kill the worker at once (shutdown), without waiting for whoever holds it.
    pub fn kill_now(&self) {
        let pid = self.pid.swap(0, Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: kill(2) on a pid we spawned.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }

    /// A future that completes on the next interrupt.
    pub fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.notify.notified()
    }
}

pub struct Worker {
    child: Child,
    stdin: ChildStdin,
    events: mpsc::UnboundedReceiver<Event>,
    next_id: u64,
    ready: bool,
    configured: bool,
    interrupt: Arc<InterruptHandle>,
}

fn parse_event(line: &str) -> Option<Event> {
    let v: Value = serde_json::from_str(line).ok()?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let data = || v.get("data").cloned().unwrap_or_else(|| json!({}));
    let metadata = || v.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let display_id = v
        .pointer("/transient/display_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    Some(match v.get("event")?.as_str()? {
        "stream" => Event::Output(Output::Stream {
            name: s("name"),
            text: s("text"),
        }),
        "display_data" => Event::Output(Output::DisplayData {
            data: data(),
            metadata: metadata(),
            display_id,
        }),
        "update_display_data" => Event::Output(Output::UpdateDisplayData {
            data: data(),
            metadata: metadata(),
            display_id: display_id.unwrap_or_default(),
        }),
        "execute_result" => Event::Output(Output::ExecuteResult {
            data: data(),
            metadata: metadata(),
        }),
        "clear_output" => Event::Output(Output::ClearOutput {
            wait: v.get("wait").and_then(Value::as_bool).unwrap_or(false),
        }),
        "error" => Event::Output(Output::Error(ErrorInfo {
            ename: s("ename"),
            evalue: s("evalue"),
            traceback: v
                .get("traceback")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
        })),
        "ready" => Event::Ready,
        "fatal" => Event::Fatal(format!("{}\n{}", s("message"), s("traceback"))),
        "reply" => Event::Reply {
            id: v.get("id").and_then(Value::as_u64).unwrap_or(0),
            ok: v.get("ok").and_then(Value::as_bool).unwrap_or(false),
            value: v.get("value").cloned().unwrap_or(Value::Null),
            error: s("error"),
            interrupted: v
                .get("interrupted")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        },
        _ => return None,
    })
}

impl Worker {
    /// Start the worker process; returns at once (Python imports continue in the background).
    pub fn spawn(exe: &PathBuf, interrupt: Arc<InterruptHandle>) -> anyhow::Result<Self> {
        let mut cmd = Command::new(exe);
        cmd.arg("worker")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            // Own process group: Jupyter's killpg(SIGINT) must not reach Python directly.
            .process_group(0);
        let mut child = cmd.spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        interrupt
            .pid
            .store(child.id().map(|p| p as i32).unwrap_or(0), Ordering::SeqCst);
        let (tx, events) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                match parse_event(&line) {
                    Some(ev) => {
                        if tx.send(ev).is_err() {
                            return;
                        }
                    }
                    None => tracing::warn!("worker sent an unreadable line ({} bytes)", line.len()),
                }
            }
        });
        Ok(Self {
            child,
            stdin,
            events,
            next_id: 1,
            ready: false,
            configured: false,
            interrupt,
        })
    }

    /// Wait until Python is up (pandas imported).
    pub async fn wait_ready(&mut self) -> Result<(), CallError> {
        while !self.ready {
            match self.events.recv().await {
                Some(Event::Ready) => self.ready = true,
                Some(Event::Fatal(msg)) => return Err(CallError::Died(msg)),
                Some(_) => {}
                None => return Err(CallError::Died(self.exit_description().await)),
            }
        }
        Ok(())
    }

    async fn exit_description(&mut self) -> String {
        // The pipe closed; give the process a moment to be reaped so we can say why.
        let status = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
        match status {
            Ok(Ok(st)) => {
                use std::os::unix::process::ExitStatusExt;
                match st.signal() {
                    Some(9) => "the Python process was killed (SIGKILL: out of memory or a resource limit?)".into(),
                    Some(11) => "the Python process crashed (segmentation fault)".into(),
                    Some(sig) => format!("the Python process died from signal {sig}"),
                    None => format!("the Python process exited with status {}", st.code().unwrap_or(-1)),
                }
            }
            _ => "the Python process stopped responding".into(),
        }
    }

    /// Call a runtime function. Outputs stream to `sink`; `deadline` bounds the whole call.
    pub async fn call(
        &mut self,
        op: &str,
        args: Value,
        sink: Option<&OutputSink>,
        deadline: Option<Instant>,
    ) -> Result<Value, CallError> {
        self.wait_ready().await?;
        let id = self.next_id;
        self.next_id += 1;
        let line = json!({"id": id, "op": op, "args": args}).to_string() + "\n";
        if self.stdin.write_all(line.as_bytes()).await.is_err() {
            return Err(CallError::Died(self.exit_description().await));
        }
        let _ = self.stdin.flush().await;
        self.interrupt.busy.store(true, Ordering::SeqCst);
        let result = self.collect(id, sink, deadline).await;
        self.interrupt.busy.store(false, Ordering::SeqCst);
        result
    }

    async fn collect(
        &mut self,
        id: u64,
        sink: Option<&OutputSink>,
        deadline: Option<Instant>,
    ) -> Result<Value, CallError> {
        let far = Instant::now() + Duration::from_secs(365 * 24 * 3600);
        let mut deadline_at = deadline.unwrap_or(far);
        let mut interrupted = false;
        loop {
            let interrupt = self.interrupt.clone();
            tokio::select! {
                ev = self.events.recv() => match ev {
                    Some(Event::Output(out)) => { if let Some(s) = sink { s.send(out) } }
                    Some(Event::Reply { id: rid, ok, value, error, interrupted: intr }) if rid == id => {
                        return match (ok, intr) {
                            (true, _) => Ok(value),
                            (false, true) => Err(CallError::Interrupted),
                            (false, false) => Err(CallError::Failed(error)),
                        };
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

    pub async fn kill(&mut self) {
        self.interrupt.pid.store(0, Ordering::SeqCst);
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// Whether settings and datasets have been sent since the process started.
    pub fn is_configured(&self) -> bool {
        self.configured
    }

    pub fn mark_configured(&mut self) {
        self.configured = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_parse() {
        let ev = parse_event(r#"{"event":"stream","name":"stdout","text":"hi\n"}"#).unwrap();
        assert!(matches!(ev, Event::Output(Output::Stream { ref text, .. }) if text == "hi\n"));
        let ev = parse_event(r#"{"event":"reply","id":3,"ok":true,"value":{"a":1}}"#).unwrap();
        assert!(matches!(
            ev,
            Event::Reply {
                id: 3,
                ok: true,
                ..
            }
        ));
        let ev = parse_event(
            r#"{"event":"display_data","data":{"text/plain":"x"},"metadata":{},"transient":{"display_id":"d1"}}"#,
        )
        .unwrap();
        assert!(
            matches!(ev, Event::Output(Output::DisplayData { display_id: Some(ref d), .. }) if d == "d1")
        );
        assert!(parse_event("not json").is_none());
        assert!(parse_event(r#"{"event":"mystery"}"#).is_none());
    }
}
