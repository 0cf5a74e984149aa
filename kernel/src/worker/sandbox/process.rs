//! Layers on the process itself: parent-death signal and not dumpable, the scratch
//! directory, the environment allowlist, resource limits.

use super::*;

/// PR_SET_PDEATHSIG and PR_SET_DUMPABLE=0, set after every credential change (a user-namespace
/// switch resets both) and before seccomp, which then refuses to change them again.
pub(super) fn parent_death_and_dumpable(parent: libc::pid_t, report: &mut Report) {
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
pub(super) fn ensure_scratch(cfg: &Config) -> Option<PathBuf> {
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

pub(super) fn scrub_environment(report: &mut Report, scratch: Option<&Path>) {
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

pub(super) fn set_limit(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) -> bool {
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

pub(super) fn resource_limits(cfg: &Config, report: &mut Report) {
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

pub(super) fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}
