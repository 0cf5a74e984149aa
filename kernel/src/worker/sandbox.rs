//! Containment of the worker process: defense in depth behind the AST validator.
//!
//! The worker runs model-written code (questions) and the user's own `%%python` cells. Both run
//! under this sandbox, which `apply` installs once at start-up, before Python initialises, while
//! the process has a single thread. Every layer degrades on its own: when the running kernel lacks
//! a feature the worker still starts, and the report says which layers are active (kernel log at
//! start-up, `%sandbox` in a notebook).
//!
//! Layers, in the order they are applied:
//! 1. **environment**: only an allowlist of variables survives (the kernel already spawns the
//!    worker with a cleared environment; the worker checks again). No API keys, no database URLs,
//!    no Jupyter connection details.
//! 2. **resource limits** (`setrlimit`): address space, open files, file size, core dumps, CPU time.
//! 3. **namespaces**: a private network namespace (`unshare(CLONE_NEWNET)`): no interface but a
//!    loopback that is down, and none of the host's abstract sockets; a private IPC namespace
//!    (`CLONE_NEWIPC`): none of the host's SysV segments, queues, semaphores or POSIX message
//!    queues. Not root: inside a user namespace created for them.
//! 4. **filesystem** (Landlock): a read-only allowlist (system libraries, the Python environment,
//!    the kernel's Arrow files, the notebook folder minus hidden entries at any depth), a private
//!    read-write scratch directory, no execute right anywhere, no TCP bind/connect, and (Landlock
//!    ABI >= 6) no signal and no abstract-socket connection to processes outside the worker.
//! 5. **capabilities**: every capability is dropped (matters when the kernel runs as root).
//! 6. **parent death signal** and **not dumpable**: the worker is killed when the kernel exits,
//!    and never dumps core (no core-dump helper runs on its behalf).
//! 7. **system calls** (seccomp BPF): no exec, no new process (threads only), no socket, no
//!    ptrace or access to other processes' memory, no io_uring, no mount/namespace/keyring/bpf/
//!    module calls, no SysV IPC or POSIX message queues, no raising limits, no
//!    chmod/chown/utime/xattr, no signal to another process, no TIOCSTI, and no prctl that would
//!    undo layer 6 (PR_SET_PDEATHSIG, PR_SET_DUMPABLE) or rewrite what /proc shows (PR_SET_MM).

use serde_json::{json, Value};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The worker's private read-write directory (created by the kernel, removed with the worker).
pub const SCRATCH_ENV: &str = "LLM_ANALYTICS_SCRATCH";
/// Colon-separated paths the worker must never read (the connection file, the kernel's data dir).
pub const DENY_ENV: &str = "LLM_ANALYTICS_WORKER_DENY";
/// Colon-separated directories holding the kernel's Arrow files (read-only for the worker).
pub const DATA_DIRS_ENV: &str = "LLM_ANALYTICS_WORKER_DATA_DIRS";
/// Colon-separated extra paths the user lets `%%python` read (read-only).
pub const READ_PATHS_ENV: &str = "LLM_ANALYTICS_WORKER_READ_PATHS";
/// The worker's address-space limit in MB.
pub const MEMORY_ENV: &str = "LLM_ANALYTICS_WORKER_MEMORY_MB";

/// Cap on the address space when LLM_ANALYTICS_WORKER_MEMORY_MB is not set (or 75% of RAM).
pub const DEFAULT_MEMORY_MB: u64 = 8192;
/// Smallest accepted setting: Python with pandas, scipy and scikit-learn imported maps ~1.8 GB.
pub const MIN_MEMORY_MB: u64 = 2048;
pub const OPEN_FILES: u64 = 1024;
pub const FILE_SIZE_BYTES: u64 = 1 << 30;
/// A last resort: per-question timeouts are enforced by the kernel.
pub const CPU_SECONDS: u64 = 3600;
/// The walk of a folder whose hidden entries must stay unreadable (the notebook folder, $HOME)
/// lists directories at most this deep below the folder...
pub const WALK_MAX_DEPTH: usize = 8;
/// ...and looks at most at this many entries. Past either bound nothing more is granted.
pub const WALK_MAX_ENTRIES: usize = 20_000;
/// At most this many granted paths are listed in the report (the count is always given).
const REPORT_READABLE_MAX: usize = 200;

/// Kernel variables passed through to the worker, by exact name.
const PASS_EXACT: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TERM",
    "LLM_ANALYTICS_SITE_PACKAGES",
    "LLM_ANALYTICS_LOG",
    MEMORY_ENV,
    READ_PATHS_ENV,
];
/// Kernel variables passed through to the worker, by prefix (locale and thread-pool settings).
const PASS_PREFIXES: &[&str] = &["LC_", "OPENBLAS_", "OMP_", "MKL_", "NUMEXPR_"];
/// Variables the kernel sets for the worker: the sandbox's own settings.
pub const SET_BY_KERNEL: &[&str] = &[
    SCRATCH_ENV,
    DENY_ENV,
    DATA_DIRS_ENV,
    "TMPDIR",
    "MPLCONFIGDIR",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "PYTHONDONTWRITEBYTECODE",
    "JOBLIB_MULTIPROCESSING",
];

/// Whether the kernel passes its variable `name` on to the worker.
pub fn passes_through(name: &str) -> bool {
    PASS_EXACT.contains(&name) || PASS_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Whether the worker keeps variable `name` in its environment.
pub fn worker_keeps(name: &str) -> bool {
    passes_through(name) || SET_BY_KERNEL.contains(&name)
}

/// The default address-space limit: 75% of physical memory, at most DEFAULT_MEMORY_MB.
pub fn default_memory_mb() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    if pages <= 0 || page <= 0 {
        return DEFAULT_MEMORY_MB;
    }
    let ram_mb = (pages as u64).saturating_mul(page as u64) >> 20;
    (ram_mb * 3 / 4).clamp(MIN_MEMORY_MB, DEFAULT_MEMORY_MB)
}

/// The memory limit in MB from LLM_ANALYTICS_WORKER_MEMORY_MB, else the default.
pub fn memory_mb_from(value: Option<&str>) -> u64 {
    value
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|mb| *mb >= 256)
        .map(|mb| mb.max(MIN_MEMORY_MB))
        .unwrap_or_else(default_memory_mb)
}

// ---------------------------------------------------------------------------
// Report

#[derive(Debug, Clone)]
pub struct Layer {
    pub name: &'static str,
    pub active: bool,
    pub detail: String,
}

/// What `apply` managed to install, for the kernel log and `%sandbox`.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub layers: Vec<Layer>,
    pub limits: Vec<(&'static str, String)>,
    pub scratch: Option<PathBuf>,
    pub readable: Vec<PathBuf>,
    /// Microseconds spent installing the sandbox.
    pub setup_us: u128,
}

impl Report {
    fn layer(&mut self, name: &'static str, active: bool, detail: impl Into<String>) {
        self.layers.push(Layer {
            name,
            active,
            detail: detail.into(),
        });
    }

    pub fn to_json(&self) -> Value {
        json!({
            "layers": self.layers.iter().map(|l| json!({
                "name": l.name, "active": l.active, "detail": l.detail,
            })).collect::<Vec<_>>(),
            "limits": self.limits.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
            "scratch": self.scratch.as_ref().map(|p| p.display().to_string()),
            "readable": self.readable.iter().take(REPORT_READABLE_MAX).map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "readable_count": self.readable.len(),
            "setup_us": self.setup_us as u64,
        })
    }
}

/// One line for the kernel log: which layers are on.
pub fn summary(report: &Value) -> String {
    let layers = report["layers"].as_array().cloned().unwrap_or_default();
    let on: Vec<&str> = layers
        .iter()
        .filter(|l| l["active"] == true)
        .filter_map(|l| l["name"].as_str())
        .collect();
    let off: Vec<&str> = layers
        .iter()
        .filter(|l| l["active"] != true)
        .filter_map(|l| l["name"].as_str())
        .collect();
    let mut s = format!("worker sandbox: active layers: {}", on.join(", "));
    if !off.is_empty() {
        s.push_str(&format!("; NOT active: {}", off.join(", ")));
    }
    let limits: Vec<String> = report["limits"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|l| {
                    format!(
                        "{}={}",
                        l["name"].as_str().unwrap_or(""),
                        l["value"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if !limits.is_empty() {
        s.push_str(&format!("; limits: {}", limits.join(", ")));
    }
    s
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `%sandbox`: the worker's report plus the kernel's own layers, as text/plain and escaped HTML.
pub fn render(report: &Value, kernel_layers: &[(String, bool, String)]) -> Value {
    let mut rows: Vec<(String, String, String)> = kernel_layers
        .iter()
        .map(|(n, a, d)| (n.clone(), if *a { "on" } else { "OFF" }.into(), d.clone()))
        .collect();
    for l in report["layers"].as_array().into_iter().flatten() {
        rows.push((
            l["name"].as_str().unwrap_or("").to_string(),
            if l["active"] == true { "on" } else { "OFF" }.into(),
            l["detail"].as_str().unwrap_or("").to_string(),
        ));
    }
    let limits: Vec<(String, String)> = report["limits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            (
                l["name"].as_str().unwrap_or("").to_string(),
                l["value"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(5).max(5);
    let mut text = String::from("Containment layers\n");
    let mut html = String::from(
        "<table><thead><tr><th>layer</th><th>state</th><th>detail</th></tr></thead><tbody>",
    );
    for (name, state, detail) in &rows {
        text.push_str(&format!("  {name:<width$}  {state:<3}  {detail}\n"));
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape_html(name),
            escape_html(state),
            escape_html(detail)
        ));
    }
    html.push_str("</tbody></table>");
    if !limits.is_empty() {
        text.push_str("Limits\n");
        html.push_str("<table><thead><tr><th>limit</th><th>value</th></tr></thead><tbody>");
        let lw = limits.iter().map(|l| l.0.len()).max().unwrap_or(5);
        for (name, value) in &limits {
            text.push_str(&format!("  {name:<lw$}  {value}\n"));
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td></tr>",
                escape_html(name),
                escape_html(value)
            ));
        }
        html.push_str("</tbody></table>");
    }
    if let Some(scratch) = report["scratch"].as_str() {
        text.push_str(&format!(
            "Scratch directory (read-write, also TMPDIR and SCRATCH): {scratch}\n"
        ));
        html.push_str(&format!(
            "<p>Scratch directory (read-write, also <code>TMPDIR</code> and <code>SCRATCH</code>): <code>{}</code></p>",
            escape_html(scratch)
        ));
    }
    json!({"text/plain": text, "text/html": html})
}

// ---------------------------------------------------------------------------
// Configuration

/// What the sandbox needs to know, read from the environment the kernel set.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub scratch: Option<PathBuf>,
    pub site_packages: Vec<PathBuf>,
    pub data_dirs: Vec<PathBuf>,
    pub read_paths: Vec<PathBuf>,
    pub deny: Vec<PathBuf>,
    pub notebook_dir: Option<PathBuf>,
    pub home: Option<PathBuf>,
    pub memory_mb: u64,
}

fn split_paths(value: Option<String>) -> Vec<PathBuf> {
    value
        .map(|v| {
            v.split(':')
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default()
}

impl Config {
    /// From the worker's environment; `build_site_packages` is the value baked at build time.
    pub fn from_env(build_site_packages: Option<&str>) -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let site = var("LLM_ANALYTICS_SITE_PACKAGES").or(build_site_packages.map(String::from));
        Config {
            scratch: var(SCRATCH_ENV).map(PathBuf::from),
            site_packages: split_paths(site),
            data_dirs: split_paths(var(DATA_DIRS_ENV)),
            read_paths: split_paths(var(READ_PATHS_ENV)),
            deny: split_paths(var(DENY_ENV)),
            notebook_dir: std::env::current_dir().ok(),
            home: var("HOME").map(PathBuf::from),
            memory_mb: memory_mb_from(var(MEMORY_ENV).as_deref()),
        }
    }
}

// ---------------------------------------------------------------------------
// Apply

/// Install every layer that the running kernel supports; never fails.
pub fn apply(cfg: &Config) -> Report {
    let started = std::time::Instant::now();
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    let mut report = Report::default();
    let scratch = ensure_scratch(cfg);
    scrub_environment(&mut report, scratch.as_deref());
    report.scratch = scratch.clone();
    resource_limits(cfg, &mut report);
    namespaces(&mut report);
    let (readable, notes) = readable_paths(cfg, scratch.as_deref());
    report.readable = readable.iter().map(|(p, _)| p.clone()).collect();
    let signals_scoped = landlock(&readable, &notes, scratch.as_deref(), &mut report);
    capabilities(&mut report);
    parent_death_and_dumpable(parent, &mut report);
    seccomp(signals_scoped, &mut report);
    report.setup_us = started.elapsed().as_micros();
    report
}

/// PR_SET_PDEATHSIG and PR_SET_DUMPABLE=0, set after every credential change (a user-namespace
/// switch resets both) and before seccomp, which then refuses to change them again.
fn parent_death_and_dumpable(parent: libc::pid_t, report: &mut Report) {
    // SAFETY: prctl and getppid with constant arguments.
    let (death, orphaned, dumpable) = unsafe {
        let death = libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0;
        let orphaned = libc::getppid() != parent;
        libc::prctl(libc::PR_SET_DUMPABLE, 0);
        (
            death,
            orphaned,
            libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0),
        )
    };
    if orphaned {
        // The kernel died while the signal was reset (user-namespace switch): nobody will
        // ever read our output, and PR_SET_PDEATHSIG only fires for a parent that dies later.
        std::process::exit(1);
    }
    report.layer(
        "parent death",
        death,
        "the worker is killed (SIGKILL) when the kernel exits; seccomp refuses to clear it",
    );
    report.layer(
        "not dumpable",
        dumpable == 0,
        "PR_SET_DUMPABLE=0: no core dump (no core-dump helper runs for the worker), \
         /proc/<worker>/mem closed to other unprivileged processes; seccomp refuses to undo it",
    );
}

/// The scratch directory from the kernel, or one of our own when started by hand.
fn ensure_scratch(cfg: &Config) -> Option<PathBuf> {
    let dir = match &cfg.scratch {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("llm-analytics-worker-{}", std::process::id())),
    };
    use std::os::unix::fs::DirBuilderExt;
    let _ = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir);
    for sub in ["matplotlib", "cache"] {
        let _ = std::fs::create_dir_all(dir.join(sub));
    }
    dir.canonicalize().ok()
}

fn scrub_environment(report: &mut Report, scratch: Option<&Path>) {
    let names: Vec<std::ffi::OsString> = std::env::vars_os().map(|(k, _)| k).collect();
    let mut removed = 0;
    for name in names {
        if !name.to_str().is_some_and(worker_keeps) {
            // SAFETY (edition 2021: safe fn): the worker is single-threaded at this point.
            std::env::remove_var(&name);
            removed += 1;
        }
    }
    if let Some(dir) = scratch {
        let set_default = |k: &str, v: &Path| {
            if std::env::var_os(k).is_none() {
                std::env::set_var(k, v);
            }
        };
        set_default("TMPDIR", dir);
        set_default("MPLCONFIGDIR", &dir.join("matplotlib"));
        set_default("XDG_CACHE_HOME", &dir.join("cache"));
    }
    std::env::set_var("PYTHONDONTWRITEBYTECODE", "1");
    // No process pools (fork is denied): joblib runs serially without probing /dev/shm.
    std::env::set_var("JOBLIB_MULTIPROCESSING", "0");
    let kept = std::env::vars_os().count();
    let detail = if removed == 0 {
        format!("{kept} allowlisted variables (the kernel cleared the rest)")
    } else {
        format!("{kept} allowlisted variables; {removed} others removed by the worker")
    };
    report.layer("environment", true, detail);
}

fn set_limit(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) -> bool {
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain getrlimit/setrlimit on valid structs.
    unsafe {
        if libc::getrlimit(resource, &mut current) != 0 {
            return false;
        }
        // Never try to raise a hard limit (that would need privileges and fail).
        let hard = hard.min(current.rlim_max);
        let soft = soft.min(hard);
        let new = libc::rlimit {
            rlim_cur: soft,
            rlim_max: hard,
        };
        libc::setrlimit(resource, &new) == 0
    }
}

fn resource_limits(cfg: &Config, report: &mut Report) {
    let memory = cfg.memory_mb << 20;
    let results = [
        (
            "memory",
            set_limit(libc::RLIMIT_AS, memory, memory),
            format!("{} MB address space", cfg.memory_mb),
        ),
        (
            "open files",
            set_limit(libc::RLIMIT_NOFILE, OPEN_FILES, OPEN_FILES),
            OPEN_FILES.to_string(),
        ),
        (
            "file size",
            set_limit(libc::RLIMIT_FSIZE, FILE_SIZE_BYTES, FILE_SIZE_BYTES),
            format!("{} MB per file", FILE_SIZE_BYTES >> 20),
        ),
        (
            "cpu time",
            set_limit(libc::RLIMIT_CPU, CPU_SECONDS, CPU_SECONDS + 60),
            format!("{CPU_SECONDS} s per worker (questions time out earlier)"),
        ),
        ("core dumps", set_limit(libc::RLIMIT_CORE, 0, 0), "0".into()),
        (
            "locked memory",
            set_limit(libc::RLIMIT_MEMLOCK, 64 << 10, 64 << 10),
            "64 KB".into(),
        ),
    ];
    let mut failed = vec![];
    for (name, ok, value) in results {
        if ok {
            report.limits.push((name, value));
        } else {
            failed.push(name);
        }
    }
    report.limits.push((
        "processes",
        "none: threads only (fork/exec denied by seccomp)".into(),
    ));
    report.limits.push((
        "output",
        format!(
            "text 5 MB per cell; rich outputs 5 MB per question, 64 MB per %%python cell \
             (kernel hard caps: {} MB per question, {} MB per cell, {} MB per message)",
            crate::limits::MAX_QUESTION_OUTPUT_BYTES >> 20,
            crate::limits::MAX_CALL_OUTPUT_BYTES >> 20,
            crate::limits::MAX_LINE_BYTES >> 20
        ),
    ));
    // A write past RLIMIT_FSIZE must fail with EFBIG rather than kill the worker.
    // SAFETY: setting a signal disposition to SIG_IGN.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let detail = if failed.is_empty() {
        "memory, open files, file size, CPU time, core dumps".to_string()
    } else {
        format!("could not set: {}", failed.join(", "))
    };
    report.layer("rlimits", failed.is_empty(), detail);
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Private network and IPC namespaces: directly when root, else inside a new user namespace
/// (mapping only our own uid and gid).
fn namespaces(report: &mut Report) {
    // SAFETY: unshare on the calling (only) thread; getuid/getgid have no preconditions.
    let mut net = unsafe { libc::unshare(libc::CLONE_NEWNET) } == 0;
    let net_err = (!net).then(std::io::Error::last_os_error);
    let mut ipc = unsafe { libc::unshare(libc::CLONE_NEWIPC) } == 0;
    let ipc_err = (!ipc).then(std::io::Error::last_os_error);
    let mut user = String::new();
    if !net || !ipc {
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        if unsafe { libc::unshare(libc::CLONE_NEWUSER) } == 0 {
            let _ = std::fs::write("/proc/self/setgroups", "deny");
            let maps = std::fs::write("/proc/self/uid_map", format!("{uid} {uid} 1"))
                .and_then(|_| std::fs::write("/proc/self/gid_map", format!("{gid} {gid} 1")));
            user = match maps {
                Ok(()) => "user + ".into(),
                Err(e) => format!("user (id maps failed: {e}) + "),
            };
            net = net || unsafe { libc::unshare(libc::CLONE_NEWNET) } == 0;
            ipc = ipc || unsafe { libc::unshare(libc::CLONE_NEWIPC) } == 0;
        } else {
            user = format!(
                "(no user namespace: {}) ",
                std::io::Error::from_raw_os_error(errno())
            );
        }
    }
    let why = |e: Option<std::io::Error>| e.map(|e| e.to_string()).unwrap_or_default();
    if net {
        report.layer(
            "network",
            true,
            format!("private {user}network namespace: no interface, loopback down"),
        );
    } else {
        report.layer(
            "network",
            false,
            format!(
                "no network namespace ({}) {user}; sockets are still denied by seccomp",
                why(net_err)
            ),
        );
    }
    if ipc {
        report.layer(
            "ipc",
            true,
            format!(
                "private {user}IPC namespace: no SysV shared memory, queues or semaphores of the host; \
                 SysV IPC and POSIX message queue calls also refused by seccomp"
            ),
        );
    } else {
        report.layer(
            "ipc",
            false,
            format!(
                "no IPC namespace ({}) {user}; SysV IPC and POSIX message queue calls are still refused by seccomp",
                why(ipc_err)
            ),
        );
    }
}

/// System paths the worker may read. Of /proc and /sys only what glibc, CPython, numpy,
/// OpenBLAS and joblib read (traced with strace over imports and typical work): no /proc/stat
/// or /proc/meminfo (host-wide activity), no /sys/fs/cgroup (host process ids, memory use).
const SYSTEM_READ: &[&str] = &[
    "/usr",
    "/lib",
    "/lib64",
    "/lib32",
    "/libx32",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/fonts",
    "/etc/mime.types",
    "/etc/ssl/openssl.cnf",
    "/etc/matplotlibrc",
    "/var/cache/fontconfig",
    // CPU model and features (numpy and OpenBLAS fall back to it on some architectures).
    "/proc/cpuinfo",
    // glibc's malloc.
    "/proc/sys/vm/overcommit_memory",
    // Core counts: glibc (get_nprocs, sysconf), OpenBLAS, os.cpu_count.
    "/sys/devices/system/cpu",
    // numpy's huge-page check.
    "/sys/kernel/mm/transparent_hugepage",
    // loky's cpu_count (joblib's process pools, or called directly) checks that these exist
    // (stat is not subject to Landlock), then reads them: a PermissionError would break it.
    // The CPU quota only, nothing else of the cgroup tree.
    "/sys/fs/cgroup/cpu.max",
    "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
    "/sys/fs/cgroup/cpu/cpu.cfs_period_us",
    "/dev/urandom",
    "/dev/random",
];

/// Paths the worker may read, with whether each is a directory, and notes for the report.
fn readable_paths(cfg: &Config, scratch: Option<&Path>) -> (Vec<(PathBuf, bool)>, Vec<String>) {
    let mut candidates: Vec<PathBuf> = SYSTEM_READ.iter().map(PathBuf::from).collect();
    // Our own /proc entry only: /proc/<kernel pid>/environ and friends stay unreadable.
    candidates.push(PathBuf::from(format!("/proc/{}", std::process::id())));
    candidates.extend(python_paths(&cfg.site_packages));
    candidates.extend(cfg.data_dirs.iter().cloned());
    candidates.extend(cfg.read_paths.iter().cloned());
    let canonical = |p: Option<&PathBuf>| {
        p.and_then(|p| p.canonicalize().ok())
            .filter(|p| p != Path::new("/"))
    };
    // The notebook folder, read-only, without its hidden entries ("/" would be everything).
    let notebook = canonical(cfg.notebook_dir.as_ref());
    let home = canonical(cfg.home.as_ref());
    candidates.extend(notebook.clone());

    let deny: Vec<PathBuf> = cfg
        .deny
        .iter()
        .filter_map(|p| p.canonicalize().ok())
        .collect();
    // Hidden entries of these folders (.env, .ssh, .git, .jupyter...), at any depth, are never
    // readable.
    let hide: Vec<PathBuf> = notebook.iter().chain(home.iter()).cloned().collect();
    let mut granter = Granter {
        deny: &deny,
        hide: &hide,
        scratch,
        limits: WalkLimits::default(),
        out: vec![],
        walks: vec![],
    };
    for path in candidates {
        if let Ok(real) = path.canonicalize() {
            granter.grant(&real, 0);
        }
    }
    let notes = granter
        .walks
        .iter()
        .map(|(root, walk)| {
            let label = if Some(root) == notebook.as_ref() {
                "notebook folder".to_string()
            } else if Some(root) == home.as_ref() {
                "home".to_string()
            } else {
                root.display().to_string()
            };
            walk.describe(&label)
        })
        .collect();
    let mut out = granter.out;
    out.sort();
    out.dedup();
    let paths = out
        .into_iter()
        .map(|p| {
            let dir = p.is_dir();
            (p, dir)
        })
        .collect();
    (paths, notes)
}

/// Turns candidate paths into Landlock rules that leave out denied paths and hidden entries.
struct Granter<'a> {
    deny: &'a [PathBuf],
    hide: &'a [PathBuf],
    scratch: Option<&'a Path>,
    limits: WalkLimits,
    out: Vec<PathBuf>,
    walks: Vec<(PathBuf, Walk)>,
}

impl Granter<'_> {
    /// Grant `path`: whole, or child by child along the way to a denied path or a folder whose
    /// hidden entries must stay out, which is walked (`walk_hiding`). `depth` 0 is a candidate.
    fn grant(&mut self, path: &Path, depth: usize) {
        if self.deny.iter().any(|d| path.starts_with(d)) || self.scratch == Some(path) {
            return;
        }
        if self.hide.iter().any(|h| h == path) {
            if !self.walks.iter().any(|(root, _)| root == path) {
                let walk = walk_hiding(path, self.deny, self.scratch, self.limits);
                self.out.extend(walk.grants.iter().cloned());
                self.walks.push((path.to_path_buf(), walk));
            }
            return;
        }
        // Reached through a symlink while splitting a parent: inside a walked folder only the
        // walk grants (an explicit candidate there, like a venv under $HOME, is granted whole).
        if depth > 0 && self.hide.iter().any(|h| path.starts_with(h)) {
            return;
        }
        let must_split = self.hide.iter().any(|h| h.starts_with(path))
            || self.deny.iter().any(|d| d.starts_with(path));
        if !must_split || !path.is_dir() {
            self.out.push(path.to_path_buf());
            return;
        }
        if depth > 16 {
            return; // a symlink loop: fail closed
        }
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        for entry in entries.flatten() {
            // Symlinks are granted as their targets (Landlock rules bind to inodes).
            let child = path.join(entry.file_name());
            let target = child.canonicalize().unwrap_or(child);
            self.grant(&target, depth + 1);
        }
    }
}

/// Bounds of `walk_hiding`.
#[derive(Debug, Clone, Copy)]
pub struct WalkLimits {
    pub max_depth: usize,
    pub max_entries: usize,
}

impl Default for WalkLimits {
    fn default() -> Self {
        WalkLimits {
            max_depth: WALK_MAX_DEPTH,
            max_entries: WALK_MAX_ENTRIES,
        }
    }
}

/// What `walk_hiding` granted and saw.
#[derive(Debug, Default)]
pub struct Walk {
    /// Directories granted whole and single files.
    pub grants: Vec<PathBuf>,
    /// Entries looked at.
    pub entries: usize,
    /// Hidden entries (and denied paths) left out.
    pub hidden: usize,
    /// Directories not (fully) listed because of the bounds: what was not seen is not granted.
    pub cut: usize,
    pub elapsed: std::time::Duration,
}

impl Walk {
    fn describe(&self, label: &str) -> String {
        let ms = self.elapsed.as_secs_f64() * 1000.0;
        let mut s = if self.hidden == 0 && self.cut == 0 {
            format!(
                "{label}: no hidden entry ({} entries checked in {ms:.0} ms)",
                self.entries
            )
        } else {
            format!(
                "{label}: {} hidden entries left out, {} rules ({} entries walked in {ms:.0} ms)",
                self.hidden,
                self.grants.len(),
                self.entries
            )
        };
        if self.cut > 0 {
            s.push_str(&format!(
                "; walk bounded ({WALK_MAX_DEPTH} levels, {WALK_MAX_ENTRIES} entries): {} directories past the bound are NOT readable",
                self.cut
            ));
        }
        s
    }
}

/// Grants for `root` that leave out every hidden entry (name starting with '.') at any depth.
///
/// Landlock cannot deny inside an allowed tree, so a directory with a hidden entry somewhere
/// below is never granted whole: its entries are granted one by one (files, and directories
/// with nothing hidden below) and its other directories are split the same way. The walk is
/// breadth-first and bounded (`limits`); it fails closed: a directory it did not list completely
/// is not granted, only what it saw in it. Symlinks are not followed and get no rule (a rule
/// would grant their target); one pointing inside the tree works when its target is granted.
///
/// Measured on the shared 2-core development VM (ext4, `walk_timing_10k_files`): 10,000 files
/// in 1,100 directories with a hidden entry in 100 of them (11,200 entries, 1,090 rules) walk in
/// 33-56 ms warm, 126 ms cold; the worker's whole sandbox set-up in that folder takes 53-157 ms
/// (2 ms in a small folder). A tree with nothing hidden takes the same walk and ends as one rule.
pub fn walk_hiding(
    root: &Path,
    deny: &[PathBuf],
    scratch: Option<&Path>,
    limits: WalkLimits,
) -> Walk {
    struct Node {
        path: PathBuf,
        dir: bool,
        depth: usize,
        parent: usize,
        children: Vec<usize>,
        /// Listed (maybe partly): its children may be granted one by one.
        listed: bool,
        /// Listed completely with nothing hidden, and so are all directories below.
        clean: bool,
    }
    let started = std::time::Instant::now();
    let mut walk = Walk::default();
    let mut nodes = vec![Node {
        path: root.to_path_buf(),
        dir: true,
        depth: 0,
        parent: usize::MAX,
        children: vec![],
        listed: false,
        clean: false,
    }];
    let mut queue = std::collections::VecDeque::from([0usize]);
    while let Some(i) = queue.pop_front() {
        if nodes[i].depth >= limits.max_depth || walk.entries >= limits.max_entries {
            walk.cut += 1;
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&nodes[i].path) else {
            continue; // unreadable: not granted
        };
        let mut clean = true;
        for entry in entries {
            if walk.entries >= limits.max_entries {
                walk.cut += 1;
                clean = false;
                break;
            }
            walk.entries += 1;
            let Ok(entry) = entry else {
                clean = false;
                continue;
            };
            let name = entry.file_name();
            let path = nodes[i].path.join(&name);
            if name.as_bytes().first() == Some(&b'.')
                || deny.iter().any(|d| path.starts_with(d))
                || scratch == Some(path.as_path())
            {
                walk.hidden += 1;
                clean = false;
                continue;
            }
            let Ok(kind) = entry.file_type() else {
                clean = false;
                continue;
            };
            if kind.is_symlink() {
                continue;
            }
            let child = nodes.len();
            nodes.push(Node {
                path,
                dir: kind.is_dir(),
                depth: nodes[i].depth + 1,
                parent: i,
                children: vec![],
                listed: false,
                clean: !kind.is_dir(),
            });
            nodes[i].children.push(child);
            if kind.is_dir() {
                queue.push_back(child);
            }
        }
        nodes[i].listed = true;
        nodes[i].clean = clean;
    }
    // Children come after their parent in breadth-first order: settle cleanliness bottom-up.
    for i in (0..nodes.len()).rev() {
        if nodes[i].dir && !nodes[i].listed {
            nodes[i].clean = false;
        }
        let parent = nodes[i].parent;
        if !nodes[i].clean && parent != usize::MAX {
            nodes[parent].clean = false;
        }
    }
    let mut stack = vec![0usize];
    while let Some(i) = stack.pop() {
        let node = &nodes[i];
        if node.clean {
            walk.grants.push(node.path.clone());
        } else if node.listed {
            stack.extend(node.children.iter().copied());
        }
    }
    walk.elapsed = started.elapsed();
    walk
}

/// The Python environment: site-packages, the venv around them, paths their .pth files add,
/// and the prefix of the libpython this process mapped (for a Python outside /usr).
fn python_paths(site_packages: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = vec![];
    for site in site_packages {
        out.push(site.clone());
        if let Some(venv) = site
            .ancestors()
            .take(5)
            .find(|a| a.join("pyvenv.cfg").is_file())
        {
            out.push(venv.to_path_buf());
        }
        if let Ok(entries) = std::fs::read_dir(site) {
            for e in entries.flatten() {
                if e.path().extension() == Some(OsStr::new("pth")) {
                    let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                    out.extend(
                        text.lines()
                            .map(str::trim)
                            .filter(|l| l.starts_with('/'))
                            .map(PathBuf::from)
                            .filter(|p| p.is_dir()),
                    );
                }
            }
        }
    }
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    for line in maps.lines() {
        let Some(path) = line.split_whitespace().nth(5) else {
            continue;
        };
        if !path.contains("libpython") {
            continue;
        }
        if let Some(dir) = Path::new(path).parent() {
            out.push(dir.to_path_buf());
            if matches!(
                dir.file_name().and_then(|n| n.to_str()),
                Some("lib" | "lib64")
            ) {
                if let Some(prefix) = dir.parent() {
                    out.push(prefix.to_path_buf());
                }
            }
        }
    }
    out
}

/// Landlock: returns whether signals to processes outside the worker are blocked.
fn landlock(
    readable: &[(PathBuf, bool)],
    notes: &[String],
    scratch: Option<&Path>,
    report: &mut Report,
) -> bool {
    use landlock::{
        Access, AccessFs, AccessNet, LandlockStatus, PathBeneath, PathFd, Ruleset, RulesetAttr,
        RulesetCreatedAttr, RulesetStatus, Scope, ABI,
    };
    let abi = ABI::V6;
    let read_dir = AccessFs::ReadFile | AccessFs::ReadDir;
    let read_file: landlock::BitFlags<AccessFs> = AccessFs::ReadFile.into();
    let scratch_rights =
        AccessFs::from_all(abi) & !(AccessFs::Execute | AccessFs::MakeChar | AccessFs::MakeBlock);
    let dev_rw = AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate;
    let mut rules: Vec<(&Path, landlock::BitFlags<AccessFs>)> = readable
        .iter()
        .map(|(path, is_dir)| (path.as_path(), if *is_dir { read_dir } else { read_file }))
        .collect();
    for dev in ["/dev/null", "/dev/zero", "/dev/full"] {
        rules.push((Path::new(dev), dev_rw));
    }
    if let Some(dir) = scratch {
        rules.push((dir, scratch_rights));
    }
    let built = (|| -> Result<landlock::RestrictionStatus, landlock::RulesetError> {
        let mut ruleset = Ruleset::default()
            .handle_access(AccessFs::from_all(abi))?
            .handle_access(AccessNet::from_all(abi))?
            .scope(Scope::from_all(abi))?
            .create()?;
        for (path, access) in rules {
            // A path that vanished since we looked has nothing to grant.
            if let Ok(fd) = PathFd::new(path) {
                ruleset = ruleset.add_rule(PathBeneath::new(fd, access))?;
            }
        }
        ruleset.restrict_self()
    })();
    match built {
        Ok(status) => {
            let abi_now = match status.landlock {
                LandlockStatus::Available { effective_abi, .. } => Some(effective_abi),
                _ => None,
            };
            let scoped = abi_now.is_some_and(|a| a >= ABI::V6)
                && status.ruleset != RulesetStatus::NotEnforced;
            let state = match status.ruleset {
                RulesetStatus::FullyEnforced => "fully enforced",
                RulesetStatus::PartiallyEnforced => "partially enforced (older kernel)",
                RulesetStatus::NotEnforced => "not enforced",
            };
            let abi_text = abi_now
                .map(|a| format!("{a:?}"))
                .unwrap_or_else(|| "unavailable".into());
            let active = status.ruleset != RulesetStatus::NotEnforced;
            let mut detail = format!(
                "Landlock ({abi_text}, {state}): read-only allowlist of {} paths, read-write scratch only, no execute, no TCP",
                readable.len()
            );
            for note in notes {
                detail.push_str("; ");
                detail.push_str(note);
            }
            report.layer("filesystem", active, detail);
            report.layer(
                "signals",
                scoped,
                if scoped {
                    "Landlock scope: no signal or abstract-socket connection outside the worker"
                        .to_string()
                } else {
                    "Landlock signal scoping unavailable (seccomp allows signals to the worker only)"
                        .to_string()
                },
            );
            scoped
        }
        Err(err) => {
            report.layer(
                "filesystem",
                false,
                format!("Landlock could not be applied: {err}"),
            );
            report.layer(
                "signals",
                false,
                "Landlock scoping unavailable (seccomp allows signals to the worker only)",
            );
            false
        }
    }
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_VERSION_3: u32 = 0x2008_0522;

fn capabilities(report: &mut Report) {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget/capset with a version-3 header and two data structs, as the ABI requires;
    // prctl calls with constant arguments.
    let (held, ok) = unsafe {
        libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr());
        let held = data.iter().map(|d| d.permitted.count_ones()).sum::<u32>();
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        );
        for cap in 0..64 {
            if libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) != 0
                && errno() == libc::EINVAL
            {
                break;
            }
        }
        let mut header = CapHeader {
            version: CAP_VERSION_3,
            pid: 0,
        };
        let empty = [CapData::default(); 2];
        let ok = libc::syscall(libc::SYS_capset, &mut header, empty.as_ptr()) == 0;
        (held, ok)
    };
    let detail = if held == 0 {
        "none held (not root)".to_string()
    } else if ok {
        format!("all {held} capabilities dropped (bounding, ambient, effective, permitted)")
    } else {
        format!(
            "could not drop capabilities: {}",
            std::io::Error::last_os_error()
        )
    };
    report.layer("capabilities", ok, detail);
}

// ---------------------------------------------------------------------------
// seccomp

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JEQ_K: u16 = 0x15;
const BPF_JGE_K: u16 = 0x35;
const BPF_JSET_K: u16 = 0x45;
const BPF_RET_K: u16 = 0x06;
const RET_ALLOW: u32 = 0x7fff_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: Option<u32> = Some(0xC000_003E);
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: Option<u32> = Some(0xC000_00B7);
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const AUDIT_ARCH: Option<u32> = None;

fn ret_errno(e: i32) -> u32 {
    RET_ERRNO | (e as u32 & 0xffff)
}

fn ins(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// Offset of the low 32 bits of syscall argument `i` in `struct seccomp_data` (little endian).
fn arg_lo(i: u32) -> u32 {
    16 + 8 * i
}

fn arg_hi(i: u32) -> u32 {
    20 + 8 * i
}

/// Syscalls refused with EPERM, whatever their arguments.
fn denied_syscalls() -> Vec<libc::c_long> {
    let mut v = vec![
        // No new program, no other process's memory.
        libc::SYS_execve,
        libc::SYS_execveat,
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_process_madvise,
        libc::SYS_pidfd_open,
        libc::SYS_pidfd_getfd,
        libc::SYS_pidfd_send_signal,
        libc::SYS_kcmp,
        libc::SYS_tkill,
        libc::SYS_migrate_pages,
        libc::SYS_move_pages,
        // No network at all (socketpair stays: it reaches nothing).
        libc::SYS_socket,
        // Kernel attack surface with no analysis use.
        libc::SYS_bpf,
        libc::SYS_perf_event_open,
        libc::SYS_userfaultfd,
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_pivot_root,
        libc::SYS_chroot,
        libc::SYS_setns,
        libc::SYS_unshare,
        libc::SYS_open_by_handle_at,
        libc::SYS_name_to_handle_at,
        libc::SYS_fsopen,
        libc::SYS_fsconfig,
        libc::SYS_fsmount,
        libc::SYS_fspick,
        libc::SYS_open_tree,
        libc::SYS_move_mount,
        libc::SYS_mount_setattr,
        libc::SYS_fanotify_init,
        libc::SYS_kexec_load,
        libc::SYS_kexec_file_load,
        libc::SYS_init_module,
        libc::SYS_finit_module,
        libc::SYS_delete_module,
        libc::SYS_reboot,
        libc::SYS_swapon,
        libc::SYS_swapoff,
        libc::SYS_acct,
        libc::SYS_quotactl,
        libc::SYS_syslog,
        libc::SYS_settimeofday,
        libc::SYS_clock_settime,
        libc::SYS_clock_adjtime,
        libc::SYS_adjtimex,
        libc::SYS_sethostname,
        libc::SYS_setdomainname,
        libc::SYS_vhangup,
        libc::SYS_setrlimit,
        // Landlock does not cover file metadata: no chmod/chown/utime/xattr anywhere.
        libc::SYS_fchmod,
        libc::SYS_fchmodat,
        libc::SYS_fchmodat2,
        libc::SYS_fchown,
        libc::SYS_fchownat,
        libc::SYS_utimensat,
        libc::SYS_setxattr,
        libc::SYS_lsetxattr,
        libc::SYS_fsetxattr,
        libc::SYS_removexattr,
        libc::SYS_lremovexattr,
        libc::SYS_fremovexattr,
        463, // setxattrat (Linux 6.13)
        466, // removexattrat (Linux 6.13)
        // SysV IPC is shared by every process of an IPC namespace: segments, queues and
        // semaphores of other kernels (and of the host) could be read, and new ones outlive the
        // worker outside its memory limit. Refused even inside the worker's own IPC namespace.
        // The multiplexed `ipc` call exists only on 32-bit ABIs, which the architecture check
        // already kills (i386) or refuses (x32).
        libc::SYS_shmget,
        libc::SYS_shmat,
        libc::SYS_shmdt,
        libc::SYS_shmctl,
        libc::SYS_msgget,
        libc::SYS_msgsnd,
        libc::SYS_msgrcv,
        libc::SYS_msgctl,
        libc::SYS_semget,
        libc::SYS_semop,
        libc::SYS_semtimedop,
        libc::SYS_semctl,
        // POSIX message queues live in the IPC namespace too.
        libc::SYS_mq_open,
        libc::SYS_mq_unlink,
        libc::SYS_mq_timedsend,
        libc::SYS_mq_timedreceive,
        libc::SYS_mq_notify,
        libc::SYS_mq_getsetattr,
    ];
    #[cfg(target_arch = "x86_64")]
    v.extend([
        libc::SYS_fork,
        libc::SYS_vfork,
        libc::SYS_iopl,
        libc::SYS_ioperm,
        libc::SYS_uselib,
        libc::SYS_chmod,
        libc::SYS_chown,
        libc::SYS_lchown,
        libc::SYS_utime,
        libc::SYS_utimes,
        libc::SYS_futimesat,
    ]);
    v
}

/// The BPF program for a worker whose pid is `pid`.
pub fn seccomp_program(pid: u32) -> Option<Vec<libc::sock_filter>> {
    let arch = AUDIT_ARCH?;
    let eperm = ret_errno(libc::EPERM);
    let mut p = vec![
        ins(BPF_LD_W_ABS, OFFSET_ARCH, 0, 0),
        ins(BPF_JEQ_K, arch, 1, 0),
        ins(BPF_RET_K, RET_KILL_PROCESS, 0, 0),
        ins(BPF_LD_W_ABS, OFFSET_NR, 0, 0),
    ];
    #[cfg(target_arch = "x86_64")]
    p.extend([
        // x32 system calls (nr | 0x40000000) would slip past a table of x86_64 numbers.
        ins(BPF_JGE_K, 0x4000_0000, 0, 1),
        ins(BPF_RET_K, ret_errno(libc::ENOSYS), 0, 0),
    ]);
    // From here on A holds the syscall number unless a matched block loaded an argument;
    // every such block ends with a return, so non-matching paths keep A intact.
    for nr in denied_syscalls() {
        p.push(ins(BPF_JEQ_K, nr as u32, 0, 1));
        p.push(ins(BPF_RET_K, eperm, 0, 0));
    }
    // clone3 passes its flags in memory, which seccomp cannot read: report it as missing,
    // and glibc falls back to clone(2), whose flags we can check.
    p.push(ins(BPF_JEQ_K, libc::SYS_clone3 as u32, 0, 1));
    p.push(ins(BPF_RET_K, ret_errno(libc::ENOSYS), 0, 0));
    // clone: threads (CLONE_THREAD) only, no new process.
    p.extend([
        ins(BPF_JEQ_K, libc::SYS_clone as u32, 0, 4),
        ins(BPF_LD_W_ABS, arg_lo(0), 0, 0),
        ins(BPF_JSET_K, libc::CLONE_THREAD as u32, 0, 1),
        ins(BPF_RET_K, RET_ALLOW, 0, 0),
        ins(BPF_RET_K, eperm, 0, 0),
    ]);
    // kill: only this process (pid), its own group (0, -pid: the worker leads its group).
    let neg = (pid as i32).wrapping_neg() as u32;
    p.extend([
        ins(BPF_JEQ_K, libc::SYS_kill as u32, 0, 6),
        ins(BPF_LD_W_ABS, arg_lo(0), 0, 0),
        ins(BPF_JEQ_K, pid, 3, 0),
        ins(BPF_JEQ_K, 0, 2, 0),
        ins(BPF_JEQ_K, neg, 1, 0),
        ins(BPF_RET_K, eperm, 0, 0),
        ins(BPF_RET_K, RET_ALLOW, 0, 0),
    ]);
    // Thread-directed signals and queued signals: this thread group only.
    for nr in [
        libc::SYS_tgkill,
        libc::SYS_rt_sigqueueinfo,
        libc::SYS_rt_tgsigqueueinfo,
    ] {
        p.extend([
            ins(BPF_JEQ_K, nr as u32, 0, 4),
            ins(BPF_LD_W_ABS, arg_lo(0), 0, 0),
            ins(BPF_JEQ_K, pid, 1, 0),
            ins(BPF_RET_K, eperm, 0, 0),
            ins(BPF_RET_K, RET_ALLOW, 0, 0),
        ]);
    }
    // ioctl: no typing into the terminal (TIOCSTI, CVE-2017-5226) or console tricks.
    p.extend([
        ins(BPF_JEQ_K, libc::SYS_ioctl as u32, 0, 5),
        ins(BPF_LD_W_ABS, arg_lo(1), 0, 0),
        ins(BPF_JEQ_K, libc::TIOCSTI as u32, 2, 0),
        ins(BPF_JEQ_K, libc::TIOCLINUX as u32, 1, 0),
        ins(BPF_RET_K, RET_ALLOW, 0, 0),
        ins(BPF_RET_K, eperm, 0, 0),
    ]);
    // prlimit64: reading limits is fine (getrlimit uses it), setting them is not.
    p.extend([
        ins(BPF_JEQ_K, libc::SYS_prlimit64 as u32, 0, 6),
        ins(BPF_LD_W_ABS, arg_lo(2), 0, 0),
        ins(BPF_JEQ_K, 0, 0, 2),
        ins(BPF_LD_W_ABS, arg_hi(2), 0, 0),
        ins(BPF_JEQ_K, 0, 1, 0),
        ins(BPF_RET_K, eperm, 0, 0),
        ins(BPF_RET_K, RET_ALLOW, 0, 0),
    ]);
    // prctl: nothing that undoes what `apply` set up or reaches other processes. The option
    // is an int (the kernel ignores the upper half), so the low word decides.
    let refused = refused_prctl_options();
    let n = refused.len() as u8;
    p.push(ins(BPF_JEQ_K, libc::SYS_prctl as u32, 0, n + 3));
    p.push(ins(BPF_LD_W_ABS, arg_lo(0), 0, 0));
    for (i, option) in refused.iter().enumerate() {
        // Matched: jump over the remaining comparisons and the allow, to the refusal.
        p.push(ins(BPF_JEQ_K, *option as u32, n - i as u8, 0));
    }
    p.push(ins(BPF_RET_K, RET_ALLOW, 0, 0));
    p.push(ins(BPF_RET_K, eperm, 0, 0));
    p.push(ins(BPF_RET_K, RET_ALLOW, 0, 0));
    Some(p)
}

/// prctl options refused with EPERM. Everything else is allowed: PR_SET_NAME (Python and
/// OpenBLAS name their threads), PR_SET_VMA (glibc names mappings), the PR_GET_* queries,
/// and the options that can only tighten (PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP,
/// PR_CAPBSET_DROP); raising capabilities fails for lack of any.
fn refused_prctl_options() -> [libc::c_int; 5] {
    [
        // The worker must die with the kernel (a worker outliving it would keep the data and
        // could wait for the next kernel's files).
        libc::PR_SET_PDEATHSIG,
        // Dumpable again would let a crash reach the core-dump helper and reopen
        // /proc/<worker>/mem to other processes.
        libc::PR_SET_DUMPABLE,
        // Rewrites /proc/<worker>/cmdline, environ, auxv (PR_SET_MM_MAP needs no capability).
        libc::PR_SET_MM,
        // Yama: would let another process ptrace the worker.
        libc::PR_SET_PTRACER,
        // Core scheduling cookies shared with other processes.
        libc::PR_SCHED_CORE,
    ]
}

fn seccomp(signals_scoped: bool, report: &mut Report) {
    let Some(program) = seccomp_program(std::process::id()) else {
        report.layer(
            "syscalls",
            false,
            "seccomp filter not built for this architecture",
        );
        return;
    };
    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: PR_SET_NO_NEW_PRIVS then seccomp(SET_MODE_FILTER) with a program that outlives the
    // call (the kernel copies it).
    let ok = unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &prog as *const libc::sock_fprog,
        ) == 0
    };
    let nnp = unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) } == 1;
    report.layer(
        "no_new_privs",
        nnp,
        "PR_SET_NO_NEW_PRIVS: no privilege gain through exec",
    );
    if ok {
        let signals = if signals_scoped {
            "signals to other processes refused (also by Landlock)"
        } else {
            "signals to other processes refused"
        };
        report.layer(
            "syscalls",
            true,
            format!(
                "seccomp filter ({} instructions): no exec, no fork (threads only), no socket, no ptrace, \
                 no io_uring, no mount/namespaces/keyring/bpf, no SysV IPC or message queues, no chmod/chown/utime, \
                 no raising limits, no TIOCSTI, no prctl undoing the parent death signal or dumpable state; {signals}",
                program.len()
            ),
        );
    } else {
        report.layer(
            "syscalls",
            false,
            format!(
                "seccomp filter not installed: {}",
                std::io::Error::last_os_error()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_allowlist() {
        for keep in [
            "PATH",
            "HOME",
            "LANG",
            "LC_ALL",
            "TZ",
            "OPENBLAS_NUM_THREADS",
            "OMP_NUM_THREADS",
            "LLM_ANALYTICS_SITE_PACKAGES",
            MEMORY_ENV,
        ] {
            assert!(passes_through(keep), "{keep} should pass");
        }
        for secret in [
            "OPENAI_API_KEY",
            "OPENAI_BASE_URL",
            "MONGODB_URL",
            "JPY_SESSION_NAME",
            "JPY_PARENT_PID",
            "AWS_SECRET_ACCESS_KEY",
            "LLM_ANALYTICS_UNSAFE_SKIP_VALIDATION",
            "SSH_AUTH_SOCK",
            "PYTHONPATH",
            "LD_PRELOAD",
        ] {
            assert!(!passes_through(secret), "{secret} must not pass");
            assert!(!worker_keeps(secret), "{secret} must not be kept");
        }
        assert!(worker_keeps(SCRATCH_ENV) && worker_keeps("TMPDIR"));
        assert!(
            !passes_through(SCRATCH_ENV),
            "the kernel sets it, never forwards it"
        );
    }

    #[test]
    fn memory_setting() {
        assert_eq!(memory_mb_from(Some("3072")), 3072);
        assert_eq!(memory_mb_from(Some("1024")), MIN_MEMORY_MB);
        assert_eq!(memory_mb_from(Some("junk")), default_memory_mb());
        assert_eq!(memory_mb_from(Some("10")), default_memory_mb());
        assert!(default_memory_mb() <= DEFAULT_MEMORY_MB);
    }

    /// Follow every jump of the program: all targets stay inside it and every path returns.
    #[test]
    fn seccomp_program_jumps_stay_inside() {
        let p = seccomp_program(4242).expect("supported arch");
        assert!(p.len() < 4096);
        for (i, f) in p.iter().enumerate() {
            if f.code & 0x07 == 0x05 {
                // BPF_JMP
                assert!(i + 1 + (f.jt as usize) < p.len(), "jt out of range at {i}");
                assert!(i + 1 + (f.jf as usize) < p.len(), "jf out of range at {i}");
            }
        }
        assert_eq!(p.last().unwrap().code, BPF_RET_K);
        assert_eq!(p.last().unwrap().k, RET_ALLOW);
    }

    /// A tiny BPF interpreter to check the filter's decisions without installing it.
    fn run(p: &[libc::sock_filter], nr: i64, args: [u64; 6]) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&(nr as u32).to_le_bytes());
        data[4..8].copy_from_slice(&AUDIT_ARCH.unwrap().to_le_bytes());
        for (i, a) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let f = p[pc];
            match f.code {
                BPF_LD_W_ABS => {
                    let k = f.k as usize;
                    acc = u32::from_le_bytes(data[k..k + 4].try_into().unwrap());
                    pc += 1;
                }
                BPF_RET_K => return f.k,
                BPF_JEQ_K | BPF_JGE_K | BPF_JSET_K => {
                    let hit = match f.code {
                        BPF_JEQ_K => acc == f.k,
                        BPF_JGE_K => acc >= f.k,
                        _ => acc & f.k != 0,
                    };
                    pc += 1 + if hit { f.jt } else { f.jf } as usize;
                }
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    #[test]
    fn seccomp_decisions() {
        let pid = 4242u32;
        let p = seccomp_program(pid).unwrap();
        let eperm = ret_errno(libc::EPERM);
        let none = [0u64; 6];
        assert_eq!(run(&p, libc::SYS_read, none), RET_ALLOW);
        assert_eq!(run(&p, libc::SYS_execve, none), eperm);
        assert_eq!(
            run(&p, libc::SYS_socket, [libc::AF_INET as u64, 1, 0, 0, 0, 0]),
            eperm
        );
        assert_eq!(run(&p, libc::SYS_ptrace, none), eperm);
        assert_eq!(run(&p, libc::SYS_io_uring_setup, none), eperm);
        assert_eq!(run(&p, libc::SYS_clone3, none), ret_errno(libc::ENOSYS));
        let thread = (libc::CLONE_VM | libc::CLONE_THREAD | libc::CLONE_SIGHAND) as u64;
        assert_eq!(run(&p, libc::SYS_clone, [thread, 0, 0, 0, 0, 0]), RET_ALLOW);
        let fork = libc::SIGCHLD as u64;
        assert_eq!(run(&p, libc::SYS_clone, [fork, 0, 0, 0, 0, 0]), eperm);
        // Signals: self, own group and 0 allowed; anyone else (the kernel, -1) refused.
        assert_eq!(
            run(&p, libc::SYS_kill, [pid as u64, 2, 0, 0, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(run(&p, libc::SYS_kill, [0, 2, 0, 0, 0, 0]), RET_ALLOW);
        let neg = (-(pid as i64)) as u64;
        assert_eq!(run(&p, libc::SYS_kill, [neg, 2, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(run(&p, libc::SYS_kill, [1, 9, 0, 0, 0, 0]), eperm);
        assert_eq!(run(&p, libc::SYS_kill, [u64::MAX, 9, 0, 0, 0, 0]), eperm);
        assert_eq!(
            run(&p, libc::SYS_tgkill, [pid as u64, 7, 2, 0, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(run(&p, libc::SYS_tgkill, [99, 99, 9, 0, 0, 0]), eperm);
        // prlimit64: reads allowed, writes refused.
        assert_eq!(
            run(&p, libc::SYS_prlimit64, [0, 9, 0, 0x7000, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(run(&p, libc::SYS_prlimit64, [0, 9, 0x7000, 0, 0, 0]), eperm);
        assert_eq!(
            run(&p, libc::SYS_prlimit64, [0, 9, 0x7fff_0000_0000, 0, 0, 0]),
            eperm
        );
        // ioctl: TIOCSTI refused even with high bits set; others allowed.
        let sti = libc::TIOCSTI;
        assert_eq!(run(&p, libc::SYS_ioctl, [2, sti, 0, 0, 0, 0]), eperm);
        assert_eq!(
            run(&p, libc::SYS_ioctl, [2, sti | (1 << 32), 0, 0, 0, 0]),
            eperm
        );
        assert_eq!(
            run(&p, libc::SYS_ioctl, [2, libc::TIOCGWINSZ, 0, 0, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(run(&p, libc::SYS_fchmodat, none), eperm);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            run(&p, libc::SYS_read | 0x4000_0000, none),
            ret_errno(libc::ENOSYS)
        );
    }

    /// The attack pass: prctl(PR_SET_PDEATHSIG, 0) let a worker outlive a killed kernel.
    #[test]
    fn seccomp_prctl_options() {
        let p = seccomp_program(4242).unwrap();
        let eperm = ret_errno(libc::EPERM);
        let prctl = |option: u64, arg: u64| run(&p, libc::SYS_prctl, [option, arg, 0, 0, 0, 0]);
        let set = |o: libc::c_int| o as u64;
        assert_eq!(prctl(set(libc::PR_SET_PDEATHSIG), 0), eperm);
        assert_eq!(prctl(set(libc::PR_SET_PDEATHSIG), 9), eperm);
        // The kernel reads the option as an int: junk in the upper half changes nothing.
        assert_eq!(prctl(set(libc::PR_SET_PDEATHSIG) | 1 << 32, 0), eperm);
        assert_eq!(prctl(set(libc::PR_SET_DUMPABLE), 1), eperm);
        assert_eq!(prctl(set(libc::PR_SET_MM), 14), eperm);
        assert_eq!(prctl(set(libc::PR_SET_PTRACER), u64::MAX), eperm);
        assert_eq!(prctl(set(libc::PR_SCHED_CORE), 1), eperm);
        // What Python, numpy and glibc use stays allowed.
        for ok in [
            libc::PR_SET_NAME,
            libc::PR_GET_NAME,
            libc::PR_GET_PDEATHSIG,
            libc::PR_GET_DUMPABLE,
            libc::PR_SET_VMA,
            libc::PR_SET_NO_NEW_PRIVS,
            libc::PR_GET_NO_NEW_PRIVS,
            libc::PR_SET_SECCOMP,
            libc::PR_CAPBSET_READ,
            libc::PR_SET_THP_DISABLE,
        ] {
            assert_eq!(prctl(set(ok), 0), RET_ALLOW, "prctl option {ok}");
        }
        // The block does not disturb the calls around it.
        assert_eq!(run(&p, libc::SYS_read, [0; 6]), RET_ALLOW);
        assert_eq!(run(&p, libc::SYS_getpid, [1, 0, 0, 0, 0, 0]), RET_ALLOW);
    }

    /// The attack pass: SysV IPC reached other kernels' segments and outlived the worker.
    #[test]
    fn seccomp_refuses_sysv_ipc_and_message_queues() {
        let p = seccomp_program(4242).unwrap();
        let eperm = ret_errno(libc::EPERM);
        for nr in [
            libc::SYS_shmget,
            libc::SYS_shmat,
            libc::SYS_shmdt,
            libc::SYS_shmctl,
            libc::SYS_msgget,
            libc::SYS_msgsnd,
            libc::SYS_msgrcv,
            libc::SYS_msgctl,
            libc::SYS_semget,
            libc::SYS_semop,
            libc::SYS_semtimedop,
            libc::SYS_semctl,
            libc::SYS_mq_open,
            libc::SYS_mq_unlink,
            libc::SYS_mq_timedsend,
            libc::SYS_mq_timedreceive,
            libc::SYS_mq_notify,
            libc::SYS_mq_getsetattr,
        ] {
            assert_eq!(run(&p, nr, [0x4c4c, 4096, 0o1666, 0, 0, 0]), eperm, "{nr}");
        }
        // Shared memory through files (memfd, mmap of the scratch dir) stays possible.
        assert_eq!(run(&p, libc::SYS_memfd_create, [0; 6]), RET_ALLOW);
        assert_eq!(run(&p, libc::SYS_mmap, [0, 4096, 3, 1, 3, 0]), RET_ALLOW);
    }

    fn touch(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn granted(paths: &[PathBuf], probe: &Path) -> bool {
        paths.iter().any(|g| probe.starts_with(g))
    }

    #[test]
    fn hidden_and_denied_entries_are_carved_out() {
        let root = tempfile::tempdir().unwrap();
        let nb = root.path().join("notebooks");
        std::fs::create_dir_all(nb.join("data")).unwrap();
        std::fs::create_dir_all(nb.join(".git")).unwrap();
        touch(&nb.join(".env"), "OPENAI_API_KEY=x");
        touch(&nb.join("sales.csv"), "a\n1\n");
        touch(&nb.join("runtime/kernel-1.json"), "{}");
        touch(&nb.join("runtime/other.txt"), "x");
        let nb = nb.canonicalize().unwrap();
        let deny = vec![nb.join("runtime/kernel-1.json")];
        let hide = vec![nb.clone()];
        let mut g = Granter {
            deny: &deny,
            hide: &hide,
            scratch: None,
            limits: WalkLimits::default(),
            out: vec![],
            walks: vec![],
        };
        g.grant(&nb, 0);
        g.out.sort();
        assert_eq!(
            g.out,
            vec![
                nb.join("data"),
                nb.join("runtime/other.txt"),
                nb.join("sales.csv")
            ]
        );
        // A tree with nothing to hide is granted whole.
        let mut g = Granter {
            deny: &deny,
            hide: &[],
            scratch: None,
            limits: WalkLimits::default(),
            out: vec![],
            walks: vec![],
        };
        g.grant(&nb.join("data"), 0);
        assert_eq!(g.out, vec![nb.join("data")]);
    }

    /// The attack pass: `project/.env`, `project/.git/config`, `a/b/.ssh/id_rsa` were readable.
    #[test]
    fn hidden_entries_below_the_top_level_are_left_out() {
        let root = tempfile::tempdir().unwrap();
        let nb = root.path().canonicalize().unwrap().join("nb");
        touch(&nb.join("data.csv"), "a\n1\n");
        touch(&nb.join("clean/x.csv"), "x");
        touch(&nb.join("clean/deep/y.csv"), "y");
        touch(&nb.join("project/.env"), "SECRET=1");
        touch(&nb.join("project/.git/config"), "[remote]");
        touch(&nb.join("project/README"), "hi");
        touch(&nb.join("project/src/main.py"), "print()");
        touch(&nb.join("a/b/.ssh/id_rsa"), "key");
        touch(&nb.join("a/b/.secret"), "s");
        touch(&nb.join("a/b/visible.txt"), "v");
        touch(&nb.join("a/c/z.txt"), "z");
        touch(&nb.join(".git/HEAD"), "ref");
        std::os::unix::fs::symlink("/etc", nb.join("etc-link")).unwrap();
        std::os::unix::fs::symlink(nb.join("project/.env"), nb.join("env-link")).unwrap();
        std::os::unix::fs::symlink(nb.join("a"), nb.join("clean/a-link")).unwrap();
        let walk = walk_hiding(&nb, &[], None, WalkLimits::default());
        let mut grants = walk.grants.clone();
        grants.sort();
        assert_eq!(
            grants,
            vec![
                nb.join("a/b/visible.txt"),
                nb.join("a/c"),
                nb.join("clean"),
                nb.join("data.csv"),
                nb.join("project/README"),
                nb.join("project/src"),
            ]
        );
        for secret in [
            "project/.env",
            "project/.git/config",
            "a/b/.ssh/id_rsa",
            "a/b/.secret",
            ".git/HEAD",
        ] {
            assert!(!granted(&grants, &nb.join(secret)), "{secret} granted");
        }
        assert_eq!(walk.hidden, 5);
        assert_eq!(walk.cut, 0);
        // The same through the granter, with the folder reached as a candidate's child.
        let hide = vec![nb.clone()];
        let mut g = Granter {
            deny: &[],
            hide: &hide,
            scratch: None,
            limits: WalkLimits::default(),
            out: vec![],
            walks: vec![],
        };
        g.grant(nb.parent().unwrap(), 0);
        assert!(!granted(&g.out, &nb.join("project/.env")));
        assert!(granted(&g.out, &nb.join("project/src/main.py")));
        assert_eq!(g.walks.len(), 1);
    }

    #[test]
    fn a_clean_tree_is_one_rule() {
        let root = tempfile::tempdir().unwrap();
        let nb = root.path().canonicalize().unwrap();
        for i in 0..20 {
            touch(&nb.join(format!("d{}/sub/f{i}.csv", i % 4)), "x");
        }
        let walk = walk_hiding(&nb, &[], None, WalkLimits::default());
        assert_eq!(walk.grants, vec![nb.clone()]);
        assert_eq!((walk.hidden, walk.cut), (0, 0));
        assert!(walk.describe("notebook folder").contains("no hidden entry"));
    }

    /// Past the depth or entry bound nothing is granted, not even a directory with nothing
    /// hidden that the walk did not finish.
    #[test]
    fn walk_bounds_fail_closed() {
        let root = tempfile::tempdir().unwrap();
        let nb = root.path().canonicalize().unwrap();
        touch(&nb.join("top.txt"), "t");
        touch(&nb.join("d1/f1.txt"), "1");
        touch(&nb.join("d1/d2/f2.txt"), "2");
        touch(&nb.join("d1/d2/d3/f3.txt"), "3");
        touch(&nb.join("d1/d2/d3/d4/.secret"), "s");
        let limits = WalkLimits {
            max_depth: 3,
            max_entries: 1000,
        };
        let walk = walk_hiding(&nb, &[], None, limits);
        let mut grants = walk.grants.clone();
        grants.sort();
        assert_eq!(
            grants,
            vec![
                nb.join("d1/d2/f2.txt"),
                nb.join("d1/f1.txt"),
                nb.join("top.txt")
            ]
        );
        assert_eq!(walk.cut, 1);
        assert!(walk.describe("notebook folder").contains("NOT readable"));

        let wide = nb.join("wide");
        for i in 0..50 {
            touch(&wide.join(format!("f{i:02}.csv")), "x");
        }
        let limits = WalkLimits {
            max_depth: 8,
            max_entries: 10,
        };
        let walk = walk_hiding(&wide, &[], None, limits);
        assert_eq!(walk.entries, 10);
        assert_eq!(walk.grants.len(), 10);
        assert!(walk.grants.iter().all(|g| g.is_file()));
        assert!(walk.cut >= 1);
    }

    /// A symlink in a folder granted for another reason must not grant a hidden entry of the
    /// notebook folder, and the worker's own scratch directory is never part of a read rule.
    #[test]
    fn symlinks_and_scratch_do_not_leak_hidden_entries() {
        let root = tempfile::tempdir().unwrap();
        let base = root.path().canonicalize().unwrap();
        let nb = base.join("nb");
        touch(&nb.join(".env"), "SECRET");
        touch(&nb.join("ok.csv"), "x");
        touch(&nb.join("scratch/tmp.txt"), "x");
        std::os::unix::fs::symlink(nb.join(".env"), base.join("env-link")).unwrap();
        let hide = vec![nb.clone()];
        let scratch = nb.join("scratch");
        let mut g = Granter {
            deny: &[],
            hide: &hide,
            scratch: Some(&scratch),
            limits: WalkLimits::default(),
            out: vec![],
            walks: vec![],
        };
        g.grant(&base, 0);
        assert!(!granted(&g.out, &nb.join(".env")), "{:?}", g.out);
        assert!(!granted(&g.out, &scratch.join("tmp.txt")), "{:?}", g.out);
        assert!(granted(&g.out, &nb.join("ok.csv")));
    }

    /// Of /sys and /proc only what the Python stack reads: no cgroup tree (host process ids,
    /// memory use), no host-wide /proc/stat or /proc/meminfo, no other process.
    #[test]
    fn system_paths_leave_out_cgroups_and_host_wide_proc() {
        let cfg = Config {
            memory_mb: 2048,
            ..Config::default()
        };
        let (paths, _) = readable_paths(&cfg, None);
        let own = PathBuf::from(format!("/proc/{}", std::process::id()));
        assert!(paths.iter().any(|(p, _)| *p == own));
        for (path, _) in &paths {
            for closed in ["/proc/stat", "/proc/meminfo", "/proc/1", "/proc/self"] {
                assert!(
                    !Path::new(closed).starts_with(path),
                    "{closed} via {path:?}"
                );
            }
            if path.starts_with("/sys/fs/cgroup") {
                let name = path.file_name().unwrap().to_string_lossy();
                assert!(
                    ["cpu.max", "cpu.cfs_quota_us", "cpu.cfs_period_us"].contains(&&*name),
                    "{path:?}"
                );
            }
            assert!(!Path::new("/sys/fs/cgroup").starts_with(path), "{path:?}");
        }
    }

    /// `cargo test --release -p llm-analytics-kernel walk_timing -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn walk_timing_10k_files() {
        let root = tempfile::tempdir().unwrap();
        let nb = root.path().canonicalize().unwrap();
        for d in 0..1000 {
            for f in 0..10 {
                touch(&nb.join(format!("g{}/d{d}/f{f}.csv", d % 100)), "x");
            }
            if d % 10 == 0 {
                touch(&nb.join(format!("g{}/d{d}/.hidden", d % 100)), "s");
            }
        }
        for round in 0..3 {
            let walk = walk_hiding(&nb, &[], None, WalkLimits::default());
            println!("round {round}: {}", walk.describe("10k files"));
        }
    }

    #[test]
    fn render_escapes_everything() {
        let report = json!({
            "layers": [{"name": "filesystem", "active": true, "detail": "<b>x</b>"}],
            "limits": [{"name": "memory", "value": "8192 MB"}],
            "scratch": "/tmp/<s>",
        });
        let out = render(
            &report,
            &[("validator".into(), false, "OFF <script>".into())],
        );
        let html = out["text/html"].as_str().unwrap();
        assert!(!html.contains("<script>") && !html.contains("<b>"));
        assert!(html.contains("&lt;script&gt;"));
        let text = out["text/plain"].as_str().unwrap();
        assert!(text.contains("filesystem") && text.contains("OFF <script>"));
        assert!(text.contains("8192 MB"));
    }
}
