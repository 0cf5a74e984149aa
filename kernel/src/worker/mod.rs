//! Worker mode: the same binary, started by the kernel, embedding CPython through pyo3.
//!
//! Protocol (JSON lines): the kernel writes `{"id", "op", "args"}` requests (the typed
//! `worker_client::Request`; bootstrap.py's `OPS` table is the only way in) on our stdin; we
//! write events (`{"event": "stream", ...}`) and one `{"event": "reply", "id", ...}` per request
//! on the original stdout. Python's own fd 1 is pointed at stderr so stray C-level prints can
//! never corrupt the protocol stream. Python code runs on this main thread, so SIGINT from the
//! kernel raises KeyboardInterrupt in `time.sleep` and tight loops alike.
//!
//! Before Python initialises, `sandbox::apply` contains the whole process (see sandbox/); its
//! report reaches Python as `_llm_channel.SANDBOX` (JSON) for the `ready` event and `%sandbox`.

pub mod sandbox;

use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict, PyModule, PyTuple};
use std::ffi::CString;
use std::io::{BufRead, Write};
use std::os::fd::FromRawFd;
use std::sync::Mutex;

/// The `llm_runtime` package (runtime/), imported by bootstrap.py from these sources, with
/// `llm_integrity` (integrity/), which the runtime's state imports first, and `llm_duck`
/// (duck/), imported on first use (only a session with a DuckDB table pays for duckdb).
const RUNTIME_PACKAGE: &[(&str, &str)] = &[
    ("llm_integrity", include_str!("integrity/__init__.py")),
    (
        "llm_integrity.restore",
        include_str!("integrity/restore.py"),
    ),
    ("llm_integrity.watch", include_str!("integrity/watch.py")),
    (
        "llm_integrity.threads",
        include_str!("integrity/threads.py"),
    ),
    ("llm_integrity.frames", include_str!("integrity/frames.py")),
    ("llm_duck", include_str!("duck/__init__.py")),
    ("llm_duck.engine", include_str!("duck/engine.py")),
    ("llm_duck.sqlcheck", include_str!("duck/sqlcheck.py")),
    ("llm_duck.profile", include_str!("duck/profile.py")),
    ("llm_duck.results", include_str!("duck/results.py")),
    ("llm_duck.readers", include_str!("duck/readers.py")),
    ("llm_spark", include_str!("spark/__init__.py")),
    ("llm_spark.profile", include_str!("spark/profile.py")),
    ("llm_runtime", include_str!("runtime/__init__.py")),
    ("llm_runtime.state", include_str!("runtime/state.py")),
    ("llm_runtime.output", include_str!("runtime/output.py")),
    ("llm_runtime.values", include_str!("runtime/values.py")),
    ("llm_runtime.datasets", include_str!("runtime/datasets.py")),
    ("llm_runtime.engines", include_str!("runtime/engines.py")),
    ("llm_runtime.results", include_str!("runtime/results.py")),
    ("llm_runtime.cells", include_str!("runtime/cells.py")),
    (
        "llm_runtime.questions",
        include_str!("runtime/questions.py"),
    ),
    (
        "llm_runtime.introspection",
        include_str!("runtime/introspection.py"),
    ),
];
const ARROW_BRIDGE_PY: &str = include_str!("arrow_bridge.py");
const BOOTSTRAP_PY: &str = include_str!("bootstrap.py");

/// site-packages of the environment this binary was built against (see build.rs).
const BUILD_SITE_PACKAGES: Option<&str> = option_env!("LLM_ANALYTICS_SITE_PACKAGES");
/// `sys.base_prefix` of the interpreter this binary links (see build.rs).
const BUILD_PYTHON_HOME: Option<&str> = option_env!("LLM_ANALYTICS_PYTHON_HOME");

static PROTOCOL_OUT: Mutex<Option<std::fs::File>> = Mutex::new(None);

fn send_line(line: &str) {
    if let Some(out) = PROTOCOL_OUT.lock().expect("protocol lock").as_mut() {
        // A failed write means the kernel is gone; PDEATHSIG will end us shortly.
        let _ = out
            .write_all(line.as_bytes())
            .and_then(|_| out.write_all(b"\n"))
            .and_then(|_| out.flush());
    }
}

/// Keep the protocol on a private fd and send fd 1 to stderr.
fn take_stdout_for_protocol() -> anyhow::Result<()> {
    // SAFETY: plain fd juggling at start-up, before any other thread exists.
    unsafe {
        let fd = libc::dup(1);
        if fd < 0 {
            anyhow::bail!("dup(stdout) failed");
        }
        libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        libc::dup2(2, 1);
        *PROTOCOL_OUT.lock().expect("protocol lock") = Some(std::fs::File::from_raw_fd(fd));
        // Die with the kernel rather than linger as an orphan holding the data.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    Ok(())
}

fn register_module(py: Python<'_>, name: &str, source: &str) -> PyResult<()> {
    let code = CString::new(source).expect("embedded source has no NUL");
    let file = CString::new(format!("<{name}>")).expect("no NUL");
    let cname = CString::new(name).expect("no NUL");
    let module = PyModule::from_code(py, &code, &file, &cname)?;
    py.import("sys")?
        .getattr("modules")?
        .set_item(name, module)?;
    Ok(())
}

fn add_site_packages(py: Python<'_>) -> PyResult<()> {
    let configured = std::env::var("LLM_ANALYTICS_SITE_PACKAGES").ok();
    let dirs = configured.as_deref().or(BUILD_SITE_PACKAGES).unwrap_or("");
    let site = py.import("site")?;
    for dir in dirs.split(':').filter(|d| !d.is_empty()) {
        site.call_method1("addsitedir", (dir,))?;
    }
    Ok(())
}

/// Which process this is: the user worker, a question worker, or the Spark engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    User,
    Question,
    Spark,
}

fn channel_module<'py>(
    py: Python<'py>,
    sandbox: &str,
    mode: Mode,
) -> PyResult<Bound<'py, PyModule>> {
    let m = PyModule::new(py, "_llm_channel")?;
    m.add("SANDBOX", sandbox)?;
    let runtime = PyDict::new(py);
    for (name, source) in RUNTIME_PACKAGE {
        runtime.set_item(name, source)?;
    }
    m.add("RUNTIME", runtime)?;
    // "question": this process runs one question's model code and is then killed.
    m.add(
        "ROLE",
        match mode {
            Mode::User => "user",
            Mode::Question => "question",
            Mode::Spark => "spark",
        },
    )?;
    let send = PyCFunction::new_closure(
        py,
        Some(c"send"),
        Some(c"Send one JSON line to the kernel."),
        |args: &Bound<'_, PyTuple>, _kw: Option<&Bound<'_, PyDict>>| -> PyResult<()> {
            let line: String = args.get_item(0)?.extract()?;
            send_line(&line);
            Ok(())
        },
    )?;
    m.add("send", send)?;
    Ok(m)
}

fn request_id(line: &str) -> serde_json::Value {
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v.get("id").cloned())
        .unwrap_or(serde_json::Value::Null)
}

/// Entry point of `llm-analytics-kernel worker [--question | --spark]`.
pub fn run(mode: Mode) -> anyhow::Result<()> {
    take_stdout_for_protocol()?;
    let report_json = if mode == Mode::Spark {
        // The Spark engine needs the network and runs no generated code: it takes only the
        // cluster's address, %load's sources and SQL the validator passed (worker/spark/).
        serde_json::json!({"spark_engine": "not sandboxed: runs no generated code"}).to_string()
    } else {
        // Contain the process while it is still single-threaded, before any Python code runs.
        let report = sandbox::apply(&sandbox::Config::from_env(BUILD_SITE_PACKAGES));
        report.to_json().to_string()
    };
    // Find the standard library where the linked interpreter has it, whatever `python3` is
    // first on PATH (a pyenv or conda one would give "No module named 'encodings'").
    if let Some(home) = BUILD_PYTHON_HOME {
        if std::path::Path::new(home).join("lib").is_dir()
            && std::env::var_os("PYTHONHOME").is_none()
        {
            // Still single-threaded here: no Python and no other thread yet.
            std::env::set_var("PYTHONHOME", home);
        }
    }
    Python::initialize();
    Python::attach(|py| -> anyhow::Result<()> {
        let start = || -> PyResult<Bound<'_, PyAny>> {
            add_site_packages(py)?;
            py.import("sys")?
                .getattr("modules")?
                .set_item("_llm_channel", channel_module(py, &report_json, mode)?)?;
            register_module(py, "arrow_bridge", ARROW_BRIDGE_PY)?;
            register_module(py, "llm_bootstrap", BOOTSTRAP_PY)?;
            let boot = py.import("llm_bootstrap")?;
            boot.call_method0("start")?;
            boot.getattr("dispatch")
        };
        let dispatch = match start() {
            Ok(d) => d,
            Err(e) => {
                let msg = format!("Python worker failed to start: {e}");
                let tb = e
                    .traceback(py)
                    .and_then(|t| t.format().ok())
                    .unwrap_or_default();
                send_line(
                    &serde_json::json!({"event": "fatal", "message": msg, "traceback": tb})
                        .to_string(),
                );
                anyhow::bail!(msg);
            }
        };
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            let line = line?;
            // An interrupt that landed while we were idle must not hit the next request.
            let _ = py.check_signals();
            match dispatch.call1((line.as_str(),)) {
                Ok(reply) => send_line(&reply.extract::<String>()?),
                Err(e) => {
                    // Only reachable if an interrupt lands outside the dispatcher's own try.
                    let reply = serde_json::json!({"event": "reply", "id": request_id(&line),
                        "ok": false, "error": e.to_string(), "interrupted": true});
                    send_line(&reply.to_string());
                }
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::RUNTIME_PACKAGE;

    /// A module added to runtime/ (or another embedded package) but not embedded would
    /// import on disk (tests) and fail in the worker.
    #[test]
    fn every_runtime_module_is_embedded() {
        let worker = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/worker");
        for (folder, package) in [
            ("runtime", "llm_runtime"),
            ("integrity", "llm_integrity"),
            ("duck", "llm_duck"),
            ("spark", "llm_spark"),
        ] {
            let mut on_disk: Vec<String> = std::fs::read_dir(worker.join(folder))
                .unwrap()
                .filter_map(|e| {
                    let name = e.unwrap().file_name().into_string().unwrap();
                    let stem = name.strip_suffix(".py")?.to_string();
                    Some(if stem == "__init__" {
                        package.to_string()
                    } else {
                        format!("{package}.{stem}")
                    })
                })
                .collect();
            let mut embedded: Vec<String> = RUNTIME_PACKAGE
                .iter()
                .map(|(n, _)| n.to_string())
                .filter(|n| n == package || n.starts_with(&format!("{package}.")))
                .collect();
            on_disk.sort();
            embedded.sort();
            assert_eq!(on_disk, embedded, "{folder}/");
        }
    }
}
