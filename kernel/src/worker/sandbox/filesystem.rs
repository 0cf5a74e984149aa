//! The filesystem layer (Landlock): what the worker may read and write, with hidden entries
//! carved out of allowed folders at any depth.

use super::*;

mod walk;

pub(super) use walk::*;

/// System paths the worker may read. Of /proc and /sys only what glibc, CPython, numpy,
/// OpenBLAS and joblib read (traced with strace over imports and typical work): no /proc/stat
/// or /proc/meminfo (host-wide activity), no /sys/fs/cgroup (host process ids, memory use).
pub(super) const SYSTEM_READ: &[&str] = &[
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

/// The one file of the cgroup tree that states this process's memory limit (v1 and v2),
/// from `/proc/self/cgroup`: DuckDB reads it when it connects and fails if it cannot. A
/// limit, not usage or other processes.
pub(super) fn cgroup_memory_limits(self_cgroup: &str) -> Vec<PathBuf> {
    self_cgroup
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            let path = path.trim_start_matches('/');
            if path.split('/').any(|c| c == "..") {
                return None;
            }
            match controllers {
                "" => Some(Path::new("/sys/fs/cgroup").join(path).join("memory.max")),
                c if c.split(',').any(|c| c == "memory") => Some(
                    Path::new("/sys/fs/cgroup/memory")
                        .join(path)
                        .join("memory.limit_in_bytes"),
                ),
                _ => None,
            }
        })
        .collect()
}

/// Paths the worker may read, with whether each is a directory, and notes for the report.
pub(super) fn readable_paths(
    cfg: &Config,
    scratch: Option<&Path>,
) -> (Vec<(PathBuf, bool)>, Vec<String>) {
    let mut candidates: Vec<PathBuf> = SYSTEM_READ.iter().map(PathBuf::from).collect();
    // Our own /proc entry only: /proc/<kernel pid>/environ and friends stay unreadable.
    candidates.push(PathBuf::from(format!("/proc/{}", std::process::id())));
    candidates.extend(cgroup_memory_limits(
        &std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default(),
    ));
    candidates.extend(python_paths(&cfg.site_packages));
    candidates.extend(cfg.data_dirs.iter().cloned());
    candidates.extend(cfg.read_paths.iter().cloned());
    candidates.extend(cfg.engine_files.iter().cloned());
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

/// The Python environment: site-packages, the venv around them, paths their .pth files add,
/// and the prefix of the libpython this process mapped (for a Python outside /usr).
pub(super) fn python_paths(site_packages: &[PathBuf]) -> Vec<PathBuf> {
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
pub(super) fn landlock(
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
