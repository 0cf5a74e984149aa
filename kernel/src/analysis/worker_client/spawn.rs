//! A worker process's life: spawned (environment, process group, event reader), restarted, killed, and why it died.

use super::*;

impl Worker {
    /// Start the worker process; returns at once (Python imports continue in the background).
    /// `engine_files`: the files of the DuckDB tables, readable where they lie.
    pub fn spawn(
        launch: &Arc<Launch>,
        interrupt: Arc<InterruptHandle>,
        role: Role,
        engine_files: &[PathBuf],
    ) -> anyhow::Result<Self> {
        let scratch = worker_scratch();
        let mut cmd = Command::new(&launch.exe);
        let mut env = worker_env(scratch.as_ref().map(|d| d.path()), launch);
        if !engine_files.is_empty() {
            let files = std::env::join_paths(engine_files)?;
            env.push((crate::worker::sandbox::ENGINE_FILES_ENV.into(), files));
        }
        cmd.arg("worker");
        if role == Role::Spark {
            cmd.arg("--spark");
        }
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
        if launch.unvalidated {
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
            launch: launch.clone(),
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

    pub(super) async fn exit_description(&mut self) -> String {
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

    /// Kill this process and start a fresh one in its place (not configured yet).
    pub(super) async fn restart(&mut self) {
        self.kill().await;
        match Worker::spawn(
            &self.launch.clone(),
            self.interrupt.clone(),
            self.role,
            &self.engine_files.clone(),
        ) {
            Ok(fresh) => *self = fresh,
            Err(e) => tracing::error!("could not restart the Python worker: {e}"),
        }
    }

    /// Whether the process has ended (crashed, killed) since it was spawned.
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    pub async fn kill(&mut self) {
        self.interrupt.pid.store(0, Ordering::SeqCst);
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}
