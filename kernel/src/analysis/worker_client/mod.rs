//! The kernel's handle on the Python worker process: spawn, call, interrupt, kill.
//!
//! The worker is this same binary in `worker` mode, in its own process group so a SIGINT sent
//! by Jupyter to the kernel's group is not delivered twice; the kernel forwards it instead.
//!
//! Two roles. The *user* worker holds the `%%python` namespace and the datasets and only ever
//! runs the user's own code. A *question* worker runs exactly one question's model-written
//! code and is then killed: model code never shares a process with anything a later cell
//! uses, so nothing it does in Python (patched modules, audit hooks, threads, forged protocol
//! lines) can outlive its question. A question worker is distrusted from the start: it may
//! only send the events of the one request in flight; a reply with another id, a second
//! `ready`, an oversized line or any event outside a call ends it and the cell says why.
//!
//! Containment on this side (the worker contains itself, see worker/sandbox/): the worker
//! starts with a cleared environment plus an allowlist, gets a private scratch directory that is
//! removed with it, and everything it sends is bounded (line size, a short event queue that
//! back-pressures the pipe, output bytes per call, stderr bytes per worker). Outputs of
//! question workers are filtered: no clear_output, only text/plain, PNG/JPEG and HTML that
//! passes a strict table-markup check.

mod environment;
mod framing;
mod output_policy;
mod report;
mod request;

use crate::limits::{MAX_CALL_OUTPUT_BYTES, MAX_LINE_BYTES, MAX_QUESTION_OUTPUT_BYTES};
use crate::protocol::backend::{ErrorInfo, Output, OutputSink};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;

use environment::{worker_env, worker_scratch};
use framing::{event_kind, forward_stderr, parse_event, Event, Line, WorkerLines};
use futures::StreamExt;
use output_policy::html_is_safe;
use output_policy::{output_size, untrusted_output};
pub use report::kernel_layers;
pub use request::Request;
use tokio_util::codec::FramedRead;

/// How long Python gets to honour an interrupt before the worker is killed.
pub const INTERRUPT_GRACE: Duration = Duration::from_secs(3);
/// Parsed events waiting for the kernel; when full, the reader stops reading and the
/// worker blocks on its pipe (memory stays bounded whatever the worker sends).
const EVENT_QUEUE: usize = 16;
/// How long a question worker may take to start and load the datasets.
const QUESTION_WORKER_START: Duration = Duration::from_secs(120);
/// Bytes of worker stderr forwarded to the kernel log per worker process.
pub const MAX_STDERR_BYTES: usize = 4 << 20;

/// Which code a worker process runs (see the module comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Question,
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
    /// A question worker broke the protocol (forged or stray message) and was killed.
    Protocol(String),
}

/// Shared with the interrupt path, which must not wait for the worker lock.
#[derive(Default)]
pub struct InterruptHandle {
    pid: AtomicI32,
    busy: std::sync::atomic::AtomicBool,
    /// An interrupt that came while no request was running (the worker still starting, its
    /// datasets loading): the next call of this cell ends at once instead of running.
    pending: std::sync::atomic::AtomicBool,
    notify: Notify,
}

impl InterruptHandle {
    /// Send SIGINT to a busy worker (or keep the interrupt for the call about to start) and
    /// wake whoever waits on it.
    pub fn interrupt(&self) {
        if self.busy.load(Ordering::SeqCst) {
            self.signal();
        } else {
            self.pending.store(true, Ordering::SeqCst);
        }
        self.notify.notify_waiters();
    }

    fn signal(&self) {
        let pid = self.pid.load(Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: kill(2) on a pid we spawned.
            unsafe {
                libc::kill(pid, libc::SIGINT);
            }
        }
    }

    /// A new cell starts: an interrupt sent while nothing ran is not meant for it.
    pub fn clear_pending(&self) {
        self.pending.store(false, Ordering::SeqCst);
    }

    fn take_pending(&self) -> bool {
        self.pending.swap(false, Ordering::SeqCst)
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
    exe: PathBuf,
    /// The kernel's directory of Arrow files, the only part of tmpfs the worker reads.
    data_dir: PathBuf,
    /// The DuckDB tables' files, readable where they lie (kept for a restart).
    engine_files: Vec<PathBuf>,
    /// The worker's private read-write directory; removed when the worker is dropped.
    _scratch: Option<tempfile::TempDir>,
    stdin: ChildStdin,
    events: mpsc::Receiver<Event>,
    next_id: u64,
    ready: bool,
    configured: bool,
    interrupt: Arc<InterruptHandle>,
    role: Role,
    /// Requests sent ahead (a question worker's set-up), whose replies are still due, in order.
    pending: std::collections::VecDeque<u64>,
}

impl Worker {
    /// Start the worker process; returns at once (Python imports continue in the background).
    /// `engine_files`: the files of the DuckDB tables, readable where they lie.
    pub fn spawn(
        exe: &PathBuf,
        interrupt: Arc<InterruptHandle>,
        data_dir: &std::path::Path,
        role: Role,
        engine_files: &[PathBuf],
    ) -> anyhow::Result<Self> {
        let scratch = worker_scratch();
        let mut cmd = Command::new(exe);
        let mut env = worker_env(scratch.as_ref().map(|d| d.path()), data_dir);
        if !engine_files.is_empty() {
            let files = std::env::join_paths(engine_files)?;
            env.push((crate::worker::sandbox::ENGINE_FILES_ENV.into(), files));
        }
        cmd.arg("worker");
        if role == Role::Question {
            // Model code needs no file but the datasets' Arrow files: its working directory is
            // its own scratch, so the notebook folder (and any extra read path) is not granted.
            cmd.arg("--question");
            env.retain(|(k, _)| k != crate::worker::sandbox::READ_PATHS_ENV);
            if let Some(dir) = scratch.as_ref() {
                cmd.current_dir(dir.path());
            }
        }
        cmd.env_clear()
            .envs(env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Own process group: Jupyter's killpg(SIGINT) must not reach Python directly.
            .process_group(0);
        if std::env::var(SKIP_VALIDATION_ENV).as_deref() == Ok("1") {
            tracing::error!(
                "{SKIP_VALIDATION_ENV}=1: the AST validator is OFF; generated code is contained by the worker sandbox ONLY"
            );
        }
        let mut child = cmd.spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        interrupt
            .pid
            .store(child.id().map(|p| p as i32).unwrap_or(0), Ordering::SeqCst);
        tokio::spawn(forward_stderr(stderr));
        let (tx, events) = mpsc::channel(EVENT_QUEUE);
        tokio::spawn(async move {
            let mut lines = FramedRead::new(stdout, WorkerLines::new(MAX_LINE_BYTES));
            while let Some(line) = lines.next().await {
                let ev = match line {
                    Ok(Line::Text(text)) => match parse_event(&text) {
                        Some(ev) => ev,
                        None => {
                            tracing::warn!("worker sent an unreadable line ({} bytes)", text.len());
                            continue;
                        }
                    },
                    Ok(Line::Oversized) => Event::Oversized,
                    Ok(Line::NotUtf8) => {
                        tracing::warn!("worker sent a line that is not UTF-8");
                        continue;
                    }
                    Err(_) => return,
                };
                if tx.send(ev).await.is_err() {
                    return;
                }
            }
        });
        Ok(Self {
            child,
            exe: exe.clone(),
            data_dir: data_dir.to_path_buf(),
            engine_files: engine_files.to_vec(),
            _scratch: scratch,
            stdin,
            events,
            next_id: 1,
            ready: false,
            configured: false,
            interrupt,
            role,
            pending: Default::default(),
        })
    }

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

    async fn exit_description(&mut self) -> String {
        // The pipe closed; give the process a moment to be reaped so we can say why.
        let status = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
        match status {
            Ok(Ok(st)) => {
                use std::os::unix::process::ExitStatusExt;
                match st.signal() {
                    Some(9) => "the Python process was killed (SIGKILL: out of memory or a resource limit?)".into(),
                    Some(11) => "the Python process crashed (segmentation fault; writing into the loaded data, which is read-only, also does this)".into(),
                    Some(24) => format!("the Python process used up its CPU time limit ({} s, RLIMIT_CPU)", crate::worker::sandbox::CPU_SECONDS),
                    Some(25) => "the Python process exceeded the file size limit (RLIMIT_FSIZE)".into(),
                    Some(31) => "the Python process made a forbidden system call (seccomp, SIGSYS)".into(),
                    Some(6) => "the Python process aborted (SIGABRT; possibly out of memory under the worker's memory limit)".into(),
                    Some(sig) => format!("the Python process died from signal {sig}"),
                    None if st.code() == Some(70) => "the worker ended itself because a question left a thread running (integrity protection)".into(),
                    None => format!("the Python process exited with status {}", st.code().unwrap_or(-1)),
                }
            }
            _ => "the Python process stopped responding".into(),
        }
    }

    /// Write one request; its reply is collected by `collect`.
    async fn send(&mut self, request: &Request) -> Result<u64, CallError> {
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

    async fn collect(
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

    /// Kill this process and start a fresh one in its place (not configured yet).
    async fn restart(&mut self) {
        self.kill().await;
        match Worker::spawn(
            &self.exe.clone(),
            self.interrupt.clone(),
            &self.data_dir.clone(),
            self.role,
            &self.engine_files.clone(),
        ) {
            Ok(fresh) => *self = fresh,
            Err(e) => tracing::error!("could not restart the Python worker: {e}"),
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

/// Disables the AST check of generated code (and only that); the sandbox stays on.
pub use super::settings::SKIP_VALIDATION_ENV;

use report::log_sandbox_once;

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in worker: a shell script that plays `script` (a question worker's side of the
    /// protocol), so the kernel's side can be tested against messages a hostile one would send.
    fn fake_worker(script: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("worker.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        (dir, path)
    }

    const READY: &str = r#"echo '{"event":"ready","sandbox":null}'"#;

    fn run_question() -> Request {
        Request::RunQuestion {
            code: String::new(),
            execution_count: 0,
            variables: String::new(),
        }
    }

    async fn question_worker(script: &str) -> (tempfile::TempDir, Worker) {
        let (dir, exe) = fake_worker(script);
        let mut w = Worker::spawn(
            &exe,
            Arc::new(InterruptHandle::default()),
            dir.path(),
            Role::Question,
            &[],
        )
        .unwrap();
        w.preload(vec![Request::Configure {
            settings: json!({}),
        }])
        .await
        .unwrap();
        (dir, w)
    }

    #[tokio::test]
    async fn a_reply_to_another_request_ends_a_question_worker() {
        let script = format!(
            "{READY}\nread a\necho '{{\"event\":\"reply\",\"id\":1,\"ok\":true,\"value\":{{}}}}'\n\
             read b\necho '{{\"event\":\"reply\",\"id\":7,\"ok\":true,\"value\":{{\"status\":\"ok\"}}}}'\nsleep 30"
        );
        let (_dir, mut w) = question_worker(&script).await;
        let got = w.call(run_question(), None, None).await;
        assert!(
            matches!(&got, Err(CallError::Protocol(why)) if why.contains("request 7")),
            "{got:?}"
        );
    }

    #[tokio::test]
    async fn messages_between_calls_end_a_question_worker() {
        let script = format!(
            "{READY}\nread a\necho '{{\"event\":\"reply\",\"id\":1,\"ok\":true,\"value\":{{}}}}'\n\
             echo '{{\"event\":\"stream\",\"name\":\"stdout\",\"text\":\"<script>late</script>\"}}'\nsleep 30"
        );
        let (_dir, mut w) = question_worker(&script).await;
        w.finish_preload().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let got = w.call(run_question(), None, None).await;
        assert!(
            matches!(&got, Err(CallError::Protocol(why)) if why.contains("no request was running")),
            "{got:?}"
        );
    }

    #[tokio::test]
    async fn the_deadline_holds_whatever_the_worker_sends() {
        let script = format!(
            "{READY}\nread a\necho '{{\"event\":\"reply\",\"id\":1,\"ok\":true,\"value\":{{}}}}'\n\
             read b\nwhile true; do echo '{{\"event\":\"stream\",\"name\":\"stdout\",\"text\":\"x\"}}'; done"
        );
        let (_dir, mut w) = question_worker(&script).await;
        let started = Instant::now();
        let deadline = Instant::now() + Duration::from_millis(500);
        let got = w.call(run_question(), None, Some(deadline)).await;
        assert!(matches!(got, Err(CallError::Timeout)), "{got:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_flood_between_calls_stays_bounded() {
        // A user worker whose background thread floods: the queue holds EVENT_QUEUE events and
        // the pipe pushes back, whatever the worker sends.
        let script = format!(
            "{READY}\nwhile true; do echo '{{\"event\":\"stream\",\"name\":\"stdout\",\"text\":\"xxxxxxxxxxxxxxxx\"}}'; done"
        );
        let (dir, exe) = fake_worker(&script);
        let mut w = Worker::spawn(
            &exe,
            Arc::new(InterruptHandle::default()),
            dir.path(),
            Role::User,
            &[],
        )
        .unwrap();
        w.wait_ready().await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(w.events.len() <= EVENT_QUEUE, "{} queued", w.events.len());
        w.kill().await;
    }
}
