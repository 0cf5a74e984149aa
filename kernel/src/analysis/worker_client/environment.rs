//! What a worker process starts with: a cleared environment plus an allowlist, a private
//! scratch directory, and the paths it must never read (the connection file, the kernel's
//! data directory but for the Python environment inside it).

use super::*;

/// A fresh private directory for one worker process, with the matplotlib font cache copied in
/// so the worker does not rebuild it (it cannot run `fc-list` anyway).
pub(super) fn worker_scratch() -> Option<tempfile::TempDir> {
    // A kernel exits without running destructors, so its last worker's directory
    // stays behind; names carry the kernel's pid.
    super::super::scratch::sweep_stale(&std::env::temp_dir(), SCRATCH_PREFIX);
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

/// How every worker of this kernel starts, decided once from the settings when the kernel
/// starts: the binary, the kernel's directory of Arrow files (the only part of tmpfs a
/// worker reads), and the paths no worker may read.
#[derive(Debug)]
pub struct Launch {
    pub exe: PathBuf,
    pub arrow_dir: PathBuf,
    /// The connection file (HMAC key) and the kernel's data directory but the Python
    /// environment inside it.
    hidden: Vec<PathBuf>,
    /// LLM_ANALYTICS_UNSAFE_SKIP_VALIDATION is set: said loudly at every spawn.
    pub unvalidated: bool,
}

impl Launch {
    pub fn new(
        exe: PathBuf,
        arrow_dir: PathBuf,
        settings: &super::super::settings::Settings,
    ) -> Self {
        let hidden = connection_file()
            .into_iter()
            .chain(data_dir_entries_to_hide(&settings.data_dir))
            .collect();
        Self {
            exe,
            arrow_dir,
            hidden,
            unvalidated: settings.skip_validation,
        }
    }

    /// For tests of the process handling: no path hidden.
    #[cfg(test)]
    pub fn plain(exe: PathBuf, arrow_dir: PathBuf) -> Self {
        Self {
            exe,
            arrow_dir,
            hidden: vec![],
            unvalidated: false,
        }
    }
}

/// The worker's whole environment: the allowlisted part of ours plus the sandbox's settings.
pub(super) fn worker_env(
    scratch: Option<&std::path::Path>,
    launch: &Launch,
) -> Vec<(String, std::ffi::OsString)> {
    worker_env_from(std::env::vars_os(), scratch, launch)
}

/// `worker_env` from a given environment (tests pass one full of secrets).
fn worker_env_from(
    vars: impl Iterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
    scratch: Option<&std::path::Path>,
    launch: &Launch,
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
    env.push((
        sandbox::DATA_DIRS_ENV.into(),
        launch.arrow_dir.clone().into(),
    ));
    // Never readable, even inside an allowed folder: the HMAC key and the kernel's own records.
    let deny: Vec<String> = launch
        .hidden
        .iter()
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
        let launch = Launch::plain(
            PathBuf::from("/bin/true"),
            PathBuf::from("/dev/shm/llm-analytics-1-x"),
        );
        let env = worker_env_from(vars, Some(std::path::Path::new("/tmp/scratch")), &launch);
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
