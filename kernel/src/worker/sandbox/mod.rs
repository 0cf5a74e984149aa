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

mod capabilities;
mod filesystem;
mod namespaces;
mod process;
mod report;
mod seccomp;
#[cfg(test)]
mod tests;

use capabilities::*;
use filesystem::*;
use namespaces::*;
use process::*;
pub use report::*;
use seccomp::*;

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
/// Colon-separated files of the DuckDB tables (`%load --engine duckdb`), read where they lie
/// (read-only; every worker, questions included, gets them).
pub const ENGINE_FILES_ENV: &str = "LLM_ANALYTICS_WORKER_ENGINE_FILES";
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
    ENGINE_FILES_ENV,
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

/// What the sandbox needs to know, read from the environment the kernel set.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub scratch: Option<PathBuf>,
    pub site_packages: Vec<PathBuf>,
    pub data_dirs: Vec<PathBuf>,
    pub read_paths: Vec<PathBuf>,
    pub engine_files: Vec<PathBuf>,
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
            engine_files: split_paths(var(ENGINE_FILES_ENV)),
            deny: split_paths(var(DENY_ENV)),
            notebook_dir: std::env::current_dir().ok(),
            home: var("HOME").map(PathBuf::from),
            memory_mb: memory_mb_from(var(MEMORY_ENV).as_deref()),
        }
    }
}

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
