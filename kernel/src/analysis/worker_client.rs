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
//! Containment on this side (the worker contains itself, see worker/sandbox.rs): the worker
//! starts with a cleared environment plus an allowlist, gets a private scratch directory that is
//! removed with it, and everything it sends is bounded (line size, a short event queue that
//! back-pressures the pipe, output bytes per call, stderr bytes per worker). Outputs of
//! question workers are filtered: no clear_output, only text/plain, PNG/JPEG and HTML that
//! passes a strict table-markup check.

use crate::limits::{MAX_CALL_OUTPUT_BYTES, MAX_LINE_BYTES, MAX_QUESTION_OUTPUT_BYTES};
use crate::protocol::backend::{ErrorInfo, Output, OutputSink};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;

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

#[derive(Debug)]
enum Event {
    Output(Output),
    Ready(Value),
    Fatal(String),
    /// A line longer than MAX_LINE_BYTES was dropped.
    Oversized,
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
    /// A question worker broke the protocol (forged or stray message) and was killed.
    Protocol(String),
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
    exe: PathBuf,
    /// The kernel's directory of Arrow files, the only part of tmpfs the worker reads.
    data_dir: PathBuf,
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

/// A message's kind, for the error that ends a question worker.
fn event_kind(ev: &Event) -> &'static str {
    match ev {
        Event::Output(_) => "output",
        Event::Ready(_) => "ready",
        Event::Fatal(_) => "fatal",
        Event::Oversized => "oversized",
        Event::Reply { .. } => "reply",
    }
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
        "ready" => Event::Ready(v.get("sandbox").cloned().unwrap_or(Value::Null)),
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
    pub fn spawn(
        exe: &PathBuf,
        interrupt: Arc<InterruptHandle>,
        data_dir: &std::path::Path,
        role: Role,
    ) -> anyhow::Result<Self> {
        let scratch = worker_scratch();
        let mut cmd = Command::new(exe);
        let mut env = worker_env(scratch.as_ref().map(|d| d.path()), data_dir);
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
            let mut reader = BufReader::new(stdout);
            let mut line = Vec::new();
            loop {
                let ev = match read_line_capped(&mut reader, &mut line, MAX_LINE_BYTES).await {
                    Ok(Some(true)) => match parse_event(&String::from_utf8_lossy(&line)) {
                        Some(ev) => ev,
                        None => {
                            tracing::warn!("worker sent an unreadable line ({} bytes)", line.len());
                            continue;
                        }
                    },
                    Ok(Some(false)) => Event::Oversized,
                    Ok(None) | Err(_) => return,
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
            match self.events.recv().await {
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
    async fn send(&mut self, op: &str, args: Value) -> Result<u64, CallError> {
        let id = self.next_id;
        self.next_id += 1;
        let line = json!({"id": id, "op": op, "args": args}).to_string() + "\n";
        if self.stdin.write_all(line.as_bytes()).await.is_err() {
            return Err(CallError::Died(self.exit_description().await));
        }
        let _ = self.stdin.flush().await;
        Ok(id)
    }

    /// Send a question worker's set-up requests now, while Python is still importing; their
    /// replies are checked by `finish_preload` when the worker is taken into use.
    pub async fn preload(&mut self, requests: Vec<(&str, Value)>) -> Result<(), CallError> {
        for (op, args) in requests {
            let id = self.send(op, args).await?;
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
        op: &str,
        args: Value,
        sink: Option<&OutputSink>,
        deadline: Option<Instant>,
    ) -> Result<Value, CallError> {
        if self.role == Role::Question {
            self.finish_preload().await?;
        }
        self.wait_ready().await?;
        self.discard_stale()?;
        let id = self.send(op, args).await?;
        self.interrupt.busy.store(true, Ordering::SeqCst);
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
            Ok(mut value) if op == "load_dataset" => {
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

/// A fresh private directory for one worker process, with the matplotlib font cache copied in
/// so the worker does not rebuild it (it cannot run `fc-list` anyway).
fn worker_scratch() -> Option<tempfile::TempDir> {
    // A kernel exits without running destructors, so its last worker's directory
    // stays behind; names carry the kernel's pid.
    super::scratch::sweep_stale(&std::env::temp_dir(), SCRATCH_PREFIX);
    let dir = tempfile::Builder::new()
        .prefix(&format!("{SCRATCH_PREFIX}{}-", std::process::id()))
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir()
        .map_err(|e| tracing::warn!("no scratch directory for the worker: {e}"))
        .ok()?;
    let mpl = dir.path().join("matplotlib");
    let _ = std::fs::create_dir_all(&mpl);
    let _ = std::fs::create_dir_all(dir.path().join("cache"));
    let env = |k: &str| std::env::var_os(k).map(PathBuf::from);
    let home = env("HOME");
    let sources = [
        env("MPLCONFIGDIR"),
        env("XDG_CACHE_HOME").map(|d| d.join("matplotlib")),
        home.as_ref().map(|h| h.join(".cache/matplotlib")),
        home.as_ref().map(|h| h.join(".config/matplotlib")),
        home.as_ref().map(|h| h.join(".matplotlib")),
    ];
    'found: for src in sources.into_iter().flatten() {
        let Ok(entries) = std::fs::read_dir(&src) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("fontlist-") && name.ends_with(".json") {
                let _ = std::fs::copy(e.path(), mpl.join(&*name));
                break 'found;
            }
        }
    }
    Some(dir)
}

const SCRATCH_PREFIX: &str = "llm-analytics-worker-";

/// The connection file named on the kernel's command line (`-f PATH`), if any.
fn connection_file() -> Option<PathBuf> {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "-f" || a == "--connection-file" {
            return args.next().map(PathBuf::from);
        }
        if let Some(p) = a.strip_prefix("--connection-file=") {
            return Some(PathBuf::from(p));
        }
    }
    None
}

/// The worker's whole environment: the allowlisted part of ours plus the sandbox's settings.
fn worker_env(
    scratch: Option<&std::path::Path>,
    data_dir: &std::path::Path,
) -> Vec<(String, std::ffi::OsString)> {
    worker_env_from(std::env::vars_os(), scratch, data_dir)
}

/// `worker_env` from a given environment (tests pass one full of secrets).
fn worker_env_from(
    vars: impl Iterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
    scratch: Option<&std::path::Path>,
    data_dir: &std::path::Path,
) -> Vec<(String, std::ffi::OsString)> {
    use crate::worker::sandbox;
    let mut env: Vec<(String, std::ffi::OsString)> = vars
        .filter_map(|(k, v)| k.into_string().ok().map(|k| (k, v)))
        .filter(|(k, _)| sandbox::passes_through(k))
        .collect();
    if let Some(dir) = scratch {
        env.push((sandbox::SCRATCH_ENV.into(), dir.into()));
        env.push(("TMPDIR".into(), dir.into()));
        env.push(("MPLCONFIGDIR".into(), dir.join("matplotlib").into()));
        env.push(("XDG_CACHE_HOME".into(), dir.join("cache").into()));
    }
    env.push(("PYTHONDONTWRITEBYTECODE".into(), "1".into()));
    env.push(("JOBLIB_MULTIPROCESSING".into(), "0".into()));
    // The kernel's Arrow files: this directory only, not all of /dev/shm.
    env.push((sandbox::DATA_DIRS_ENV.into(), data_dir.into()));
    // Never readable, even inside an allowed folder: the HMAC key and the kernel's own records.
    let settings = super::settings::Settings::from_lookup(&|k| std::env::var(k).ok());
    let deny: Vec<String> = connection_file()
        .into_iter()
        .chain(data_dir_entries_to_hide(&settings.data_dir))
        .map(|p| p.display().to_string())
        .collect();
    env.push((sandbox::DENY_ENV.into(), deny.join(":").into()));
    env
}

/// The kernel's data directory (history, spool, input history) is hidden from the worker,
/// except for the Python environment the worker itself runs from, which install.sh puts in the
/// same directory by default (~/.local/share/llm-analytics/venv).
fn data_dir_entries_to_hide(data_dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let python_env = std::env::var("LLM_ANALYTICS_SITE_PACKAGES")
        .ok()
        .or(option_env!("LLM_ANALYTICS_SITE_PACKAGES").map(String::from))
        .unwrap_or_default();
    entries_to_hide(data_dir, &python_env)
}

/// `data_dir`, or its entries but the one holding `python_env` (colon-separated site-packages).
fn entries_to_hide(data_dir: &std::path::Path, python_env: &str) -> Vec<std::path::PathBuf> {
    // Compared as real paths: the venv may be reached through a symlink (the sandbox denies
    // canonical paths, so a symlinked venv inside the data directory would be denied too).
    let real = |p: &std::path::Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let python_env: Vec<PathBuf> = python_env
        .split(':')
        .filter(|sp| !sp.is_empty())
        .map(|sp| real(std::path::Path::new(sp)))
        .collect();
    let inside = |entry: &std::path::Path| {
        let entry = real(entry);
        python_env.iter().any(|sp| sp.starts_with(&entry))
    };
    if !inside(data_dir) {
        return vec![data_dir.to_path_buf()];
    }
    std::fs::read_dir(data_dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| !inside(p))
                .collect()
        })
        .unwrap_or_default()
}

/// Copy the worker's stderr to ours, up to MAX_STDERR_BYTES per worker, then drain it.
async fn forward_stderr(mut stderr: tokio::process::ChildStderr) {
    let mut buf = vec![0u8; 64 << 10];
    let mut forwarded = 0usize;
    let mut out = tokio::io::stderr();
    loop {
        let n = match stderr.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if forwarded < MAX_STDERR_BYTES {
            let take = n.min(MAX_STDERR_BYTES - forwarded);
            let _ = out.write_all(&buf[..take]).await;
            forwarded += n;
            if forwarded >= MAX_STDERR_BYTES {
                let note = format!(
                    "\n[llm-analytics: worker stderr truncated after {} MB]\n",
                    MAX_STDERR_BYTES >> 20
                );
                let _ = out.write_all(note.as_bytes()).await;
            }
        }
    }
}

/// Read one line (without its newline) into `line`, keeping at most `max` bytes.
/// `Some(true)`: a complete line; `Some(false)`: a longer line was skipped; `None`: end of input.
async fn read_line_capped<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<bool>> {
    line.clear();
    let mut overflow = false;
    let mut any = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(any.then_some(!overflow));
        }
        any = true;
        let (chunk, used, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], i + 1, true),
            None => (available, available.len(), false),
        };
        if !overflow {
            if line.len() + chunk.len() <= max {
                line.extend_from_slice(chunk);
            } else {
                overflow = true;
                line.clear();
                line.shrink_to(64 << 10);
            }
        }
        reader.consume(used);
        if done {
            return Ok(Some(!overflow));
        }
    }
}

/// Say once per kernel process which containment layers the worker reports.
fn log_sandbox_once(report: &Value) {
    static LOGGED: std::sync::Once = std::sync::Once::new();
    if report.is_null() {
        return;
    }
    let summary = crate::worker::sandbox::summary(report);
    let inactive = report["layers"]
        .as_array()
        .is_some_and(|a| a.iter().any(|l| l["active"] != true));
    let mut first = false;
    LOGGED.call_once(|| first = true);
    if first {
        // Straight to stderr: the default log filter hides info, and this is asked for once.
        eprintln!("[llm-analytics] {summary}");
        if inactive {
            tracing::warn!("some worker containment layers are not active (see %sandbox)");
        }
    } else {
        tracing::debug!("{summary}");
    }
}

/// The kernel's own containment facts, for `%sandbox`.
pub fn kernel_layers(settings: &super::settings::Settings) -> Vec<(String, bool, String)> {
    let question_timeout = settings.max_execution_timeout;
    let validator_on = !settings.skip_validation;
    // SAFETY: prctl(PR_GET_DUMPABLE) has no arguments to get wrong.
    let dumpable = unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) };
    vec![
        (
            "validator".into(),
            validator_on,
            if validator_on {
                "AST allowlist (code-guard) checks generated code before it runs".into()
            } else {
                format!("OFF ({SKIP_VALIDATION_ENV}=1): only the sandbox contains generated code")
            },
        ),
        (
            "kernel process".into(),
            dumpable == 0,
            if dumpable == 0 {
                "not dumpable: its /proc files (environ, mem) are closed to same-user processes"
                    .into()
            } else {
                "dumpable (PR_SET_DUMPABLE failed)".into()
            },
        ),
        (
            "output safety".into(),
            true,
            "question outputs: text, PNG/JPEG and escaped table HTML only; no clear_output".into(),
        ),
        (
            "timeout".into(),
            true,
            format!(
                "each question's code stops after {} s (then the worker is restarted)",
                question_timeout.as_secs_f64()
            ),
        ),
    ]
}

fn json_text_size(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        Value::Array(a) => a.iter().map(json_text_size).sum(),
        Value::Object(o) => o.iter().map(|(k, v)| k.len() + json_text_size(v)).sum(),
        _ => 8,
    }
}

fn output_size(out: &Output) -> usize {
    match out {
        Output::Stream { text, .. } => text.len(),
        Output::DisplayData { data, metadata, .. }
        | Output::UpdateDisplayData { data, metadata, .. }
        | Output::ExecuteResult { data, metadata } => {
            json_text_size(data) + json_text_size(metadata)
        }
        Output::Error(e) => {
            e.ename.len() + e.evalue.len() + e.traceback.iter().map(String::len).sum::<usize>()
        }
        Output::ClearOutput { .. } => 8,
    }
}

/// Keep only what model code may show: no clear_output (it could hide the code that ran), and
/// in rich outputs only text/plain, PNG/JPEG and HTML that is escaped table markup.
fn untrusted_output(out: Output) -> Option<Output> {
    let filter = |data: Value| -> Option<Value> {
        let Value::Object(map) = data else {
            return None;
        };
        let kept: serde_json::Map<String, Value> = map
            .into_iter()
            .filter(|(mime, v)| match (mime.as_str(), v.as_str()) {
                ("text/plain", Some(_)) => true,
                ("image/png" | "image/jpeg", Some(b64)) => b64
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"+/=\n\r".contains(&c)),
                ("text/html", Some(html)) => {
                    let ok = html_is_safe(&strip_style_blocks(html));
                    if !ok {
                        tracing::warn!("dropped unsafe HTML from generated code");
                    }
                    ok
                }
                _ => false,
            })
            .map(|(mime, v)| match (mime.as_str(), v.as_str()) {
                ("text/html", Some(html)) => {
                    let cleaned = strip_style_blocks(html);
                    (mime, Value::String(cleaned))
                }
                _ => (mime, v),
            })
            .collect();
        (!kept.is_empty()).then_some(Value::Object(kept))
    };
    match out {
        Output::ClearOutput { .. } => None,
        Output::DisplayData {
            data,
            metadata,
            display_id,
        } => filter(data).map(|data| Output::DisplayData {
            data,
            metadata,
            display_id,
        }),
        Output::UpdateDisplayData {
            data,
            metadata,
            display_id,
        } => filter(data).map(|data| Output::UpdateDisplayData {
            data,
            metadata,
            display_id,
        }),
        Output::ExecuteResult { data, metadata } => {
            filter(data).map(|data| Output::ExecuteResult { data, metadata })
        }
        other => Some(other),
    }
}

/// pandas' notebook tables open with a fixed `<style scoped>` block. CSS can fetch URLs in
/// many spellings (`url(`, `image-set("...")`, `@font-face src`...), so no style block from a
/// worker is shown: they are removed here, and `html_is_safe` refuses any that remain.
pub fn strip_style_blocks(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    loop {
        let lower = rest.to_ascii_lowercase();
        let Some(start) = lower.find("<style") else {
            out.push_str(rest);
            return out;
        };
        let Some(end) = lower[start..].find("</style>") else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..start]);
        rest = &rest[start + end + "</style>".len()..];
    }
}

/// Whether `html` is table markup as pandas' `to_html(escape=True)` writes it: a few table
/// tags, a few attributes, no script, no event handler, no URL, no comment, no style block,
/// class names from a short list and inline CSS limited to alignment keywords. Anything else
/// is refused, not repaired.
pub fn html_is_safe(html: &str) -> bool {
    const TAGS: &[&str] = &[
        "table", "thead", "tbody", "tfoot", "tr", "th", "td", "div", "p", "span", "br", "caption",
        "b", "i", "em", "strong", "small", "code",
    ];
    const ATTRS: &[&str] = &[
        "border", "class", "style", "rowspan", "colspan", "valign", "halign", "scoped",
    ];
    /// Class names a table may carry (others could borrow the page's own styling).
    const CLASSES: &[&str] = &["dataframe", "llm-analytics-profile"];
    /// Inline CSS: `property: keyword;` pairs for alignment only.
    fn css_ok(css: &str) -> bool {
        css.split(';')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .all(|decl| {
                let Some((prop, value)) = decl.split_once(':') else {
                    return false;
                };
                matches!(
                    prop.trim().to_ascii_lowercase().as_str(),
                    "text-align" | "vertical-align" | "white-space"
                ) && {
                    let v = value.trim();
                    !v.is_empty() && v.bytes().all(|c| c.is_ascii_lowercase() || c == b'-')
                }
            })
    }
    fn attr_value_ok(attr: &str, value: &str) -> bool {
        match attr {
            "style" => css_ok(value),
            "class" => value.split_whitespace().all(|c| CLASSES.contains(&c)),
            _ => value
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b' '),
        }
    }
    let b = html.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        i += 1;
        let closing = b.get(i) == Some(&b'/');
        if closing {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_alphanumeric() {
            i += 1;
        }
        let name = html[start..i].to_ascii_lowercase();
        if !TAGS.contains(&name.as_str()) {
            return false;
        }
        // Attributes up to '>'.
        loop {
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            match b.get(i) {
                None => return false,
                Some(b'>') => {
                    i += 1;
                    break;
                }
                Some(b'/') if b.get(i + 1) == Some(&b'>') => {
                    i += 2;
                    break;
                }
                _ => {}
            }
            if closing {
                return false;
            }
            let a0 = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-') {
                i += 1;
            }
            let attr = html[a0..i].to_ascii_lowercase();
            if !ATTRS.contains(&attr.as_str()) {
                return false;
            }
            if b.get(i) == Some(&b'=') {
                i += 1;
                let value = if b.get(i) == Some(&b'"') {
                    let v0 = i + 1;
                    let Some(len) = html[v0..].find('"') else {
                        return false;
                    };
                    i = v0 + len + 1;
                    &html[v0..v0 + len]
                } else {
                    let v0 = i;
                    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-') {
                        i += 1;
                    }
                    &html[v0..i]
                };
                if !attr_value_ok(&attr, value) {
                    return false;
                }
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// install.sh with a symlinked venv (LLM_ANALYTICS_HOME/venv -> the real one inside the
    /// default data directory): the venv must stay readable, the rest of the directory not.
    #[test]
    fn data_dir_hiding_keeps_a_symlinked_python_environment() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        let site = data.join("venv/lib/python3/site-packages");
        std::fs::create_dir_all(&site).unwrap();
        std::fs::write(data.join("history.sqlite3"), "x").unwrap();
        std::fs::create_dir_all(root.path().join("home")).unwrap();
        let link = root.path().join("home/venv");
        std::os::unix::fs::symlink(data.join("venv"), &link).unwrap();
        let via_link = link.join("lib/python3/site-packages");
        for env in [site.display().to_string(), via_link.display().to_string()] {
            assert_eq!(
                entries_to_hide(&data, &env),
                vec![data.join("history.sqlite3")],
                "{env}"
            );
        }
        let elsewhere = root.path().join("other-site");
        assert_eq!(
            entries_to_hide(&data, &elsewhere.display().to_string()),
            vec![data.clone()]
        );
    }

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

    #[test]
    fn pandas_tables_pass_the_html_check() {
        let plain = "<table border=\"1\" class=\"dataframe\">\n  <thead>\n    <tr style=\"text-align: right;\">\n      <th></th>\n      <th>a&lt;b</th>\n    </tr>\n  </thead>\n  <tbody>\n    <tr>\n      <th rowspan=\"2\" valign=\"top\">r1</th>\n      <td>&lt;img src=x onerror=alert(1)&gt;</td>\n    </tr>\n  </tbody>\n</table><p>Showing 10 of 50 rows</p>";
        assert!(html_is_safe(plain));
        let notebook = "<div>\n<style scoped>\n    .dataframe tbody tr th:only-of-type {\n        vertical-align: middle;\n    }\n</style>\n<table border=\"1\" class=\"dataframe\"><tr><th colspan=\"2\" halign=\"left\">x</th></tr></table>\n<p>2 rows × 2 columns</p>\n</div>";
        assert!(!html_is_safe(notebook), "style blocks are refused");
        assert!(html_is_safe(&strip_style_blocks(notebook)));
        assert!(html_is_safe("<div class=\"llm-analytics-profile\"><table border=\"0\" class=\"dataframe\"></table></div>"));
    }

    #[test]
    fn injected_html_fails_the_check() {
        for bad in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<table onmouseover=\"alert(1)\"></table>",
            "<td style=\"background:url(https://evil/x)\">x</td>",
            "<td style=\"background:u&#114;l(https://evil/x)\">x</td>",
            "<style>td { background: url(https://evil/?d=1) }</style>",
            "<style>@import 'https://evil/x.css';</style>",
            "<style>td{}</style><script>alert(1)</script>",
            "<style>td{} </style ><svg onload=alert(1)>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<!-- x --><table></table>",
            "<iframe src=\"https://evil\"></iframe>",
            "<table",
            "<td class=\"a\"x onclick=\"y\">",
            "<style>unterminated",
            "<style>td { background-image: image-set(\"https://evil/?d=1\" 1x) }</style>",
            "<style>@font-face { font-family: x; src: local(a), \"https://evil/f\" }</style>",
            "<td style=\"background-image: image-set('https://evil/?d=1' 1x)\">x</td>",
            "<td style=\"content: 'x'\">x</td>",
            "<table id=\"notebook-container\"></table>",
            "<table class=\"jp-OutputArea\"></table>",
            "<td valign=\"top&quot;\">x</td>",
        ] {
            assert!(!html_is_safe(bad), "accepted: {bad}");
        }
    }

    #[test]
    fn style_blocks_are_removed_from_worker_html() {
        let html = "<STYLE scoped>td{background:image-set('https://e/' 1x)}</style><table class=\"dataframe\"><tr style=\"text-align: right;\"><td>1</td></tr></table>";
        let cleaned = strip_style_blocks(html);
        assert!(!cleaned.to_ascii_lowercase().contains("style>"));
        assert!(html_is_safe(&cleaned));
        // Removing a block can only leave text around it, never join a new tag that passes.
        assert!(!html_is_safe(&strip_style_blocks(
            "<sty<style></style>le>x</style>"
        )));
        let out = untrusted_output(Output::DisplayData {
            data: json!({"text/html": html}),
            metadata: json!({}),
            display_id: None,
        });
        match out {
            Some(Output::DisplayData { data, .. }) => {
                assert!(!data["text/html"].as_str().unwrap().contains("image-set"))
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn untrusted_outputs_are_filtered() {
        let out = untrusted_output(Output::DisplayData {
            data: json!({"text/html": "<script>x</script>", "text/plain": "x",
                         "application/javascript": "alert(1)", "image/svg+xml": "<svg onload=x>",
                         "text/markdown": "![x](https://evil/?d=1)"}),
            metadata: json!({}),
            display_id: None,
        });
        match out {
            Some(Output::DisplayData { data, .. }) => assert_eq!(data, json!({"text/plain": "x"})),
            other => panic!("unexpected {other:?}"),
        }
        assert!(untrusted_output(Output::ClearOutput { wait: false }).is_none());
        assert!(untrusted_output(Output::ExecuteResult {
            data: json!({"text/html": "<b onclick=x>"}),
            metadata: json!({})
        })
        .is_none());
        assert!(matches!(
            untrusted_output(Output::Stream {
                name: "stdout".into(),
                text: "<b>".into()
            }),
            Some(Output::Stream { .. })
        ));
    }

    #[tokio::test]
    async fn long_lines_are_skipped_not_buffered() {
        let data = format!("{}\nshort\n{}", "x".repeat(100), "tail-without-newline");
        let mut reader = BufReader::with_capacity(16, data.as_bytes());
        let mut line = Vec::new();
        assert_eq!(
            read_line_capped(&mut reader, &mut line, 10).await.unwrap(),
            Some(false)
        );
        assert_eq!(
            read_line_capped(&mut reader, &mut line, 10).await.unwrap(),
            Some(true)
        );
        assert_eq!(line, b"short");
        assert_eq!(
            read_line_capped(&mut reader, &mut line, 100).await.unwrap(),
            Some(true)
        );
        assert_eq!(line, b"tail-without-newline");
        assert_eq!(
            read_line_capped(&mut reader, &mut line, 100).await.unwrap(),
            None
        );
    }

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

    async fn question_worker(script: &str) -> (tempfile::TempDir, Worker) {
        let (dir, exe) = fake_worker(script);
        let mut w = Worker::spawn(
            &exe,
            Arc::new(InterruptHandle::default()),
            dir.path(),
            Role::Question,
        )
        .unwrap();
        w.preload(vec![("configure", json!({}))]).await.unwrap();
        (dir, w)
    }

    #[tokio::test]
    async fn a_reply_to_another_request_ends_a_question_worker() {
        let script = format!(
            "{READY}\nread a\necho '{{\"event\":\"reply\",\"id\":1,\"ok\":true,\"value\":{{}}}}'\n\
             read b\necho '{{\"event\":\"reply\",\"id\":7,\"ok\":true,\"value\":{{\"status\":\"ok\"}}}}'\nsleep 30"
        );
        let (_dir, mut w) = question_worker(&script).await;
        let got = w.call("run_question", json!({}), None, None).await;
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
        let got = w.call("run_question", json!({}), None, None).await;
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
        let got = w
            .call("run_question", json!({}), None, Some(deadline))
            .await;
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
        )
        .unwrap();
        w.wait_ready().await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(w.events.len() <= EVENT_QUEUE, "{} queued", w.events.len());
        w.kill().await;
    }

    #[test]
    fn worker_env_has_no_secrets() {
        let secrets = [
            ("OPENAI_API_KEY", "sk-canary-1"),
            ("MONGODB_URL", "mongodb://u:canary-2@db/x"),
            ("JPY_SESSION_NAME", "/home/u/secret-canary-3.ipynb"),
            ("AWS_SECRET_ACCESS_KEY", "canary-4"),
            ("GITHUB_TOKEN", "canary-5"),
        ];
        let vars = secrets
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .chain([
                ("PATH".into(), "/usr/bin".into()),
                ("LANG".into(), "C.UTF-8".into()),
            ]);
        let env = worker_env_from(
            vars,
            Some(std::path::Path::new("/tmp/scratch")),
            std::path::Path::new("/dev/shm/llm-analytics-1-x"),
        );
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        for k in &names {
            assert!(
                crate::worker::sandbox::worker_keeps(k),
                "{k} would be stripped by the worker"
            );
        }
        for (name, value) in secrets {
            assert!(!names.contains(&name), "{name} reached the worker");
            assert!(
                !env.iter().any(|(_, v)| v.to_string_lossy().contains(value)),
                "the value of {name} reached the worker"
            );
        }
        assert!(
            names.contains(&"PATH"),
            "the allowlist passes PATH: {names:?}"
        );
        assert!(names.contains(&"TMPDIR") && names.contains(&crate::worker::sandbox::SCRATCH_ENV));
    }
}
