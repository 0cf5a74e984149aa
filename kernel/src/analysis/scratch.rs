//! The kernel's scratch directory for Arrow files: on tmpfs when there is one, so
//! the worker maps the data without a disk in between.
//!
//! tmpfs is memory, so leftovers matter: a kernel that is SIGKILLed (Jupyter's
//! "shutdown now", a crash) never runs its cleanup. The directory name carries the
//! kernel's pid, and every kernel start removes directories whose kernel is gone.

use std::path::{Path, PathBuf};

const PREFIX: &str = "llm-analytics-";

/// Where scratch directories live.
pub fn base() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// A fresh scratch directory for this process, after sweeping stale ones.
pub fn create() -> std::io::Result<tempfile::TempDir> {
    let base = base();
    sweep_stale(&base, PREFIX);
    tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{}-", std::process::id()))
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir_in(base)
}

/// Remove our user's `<prefix><pid>-*` directories in `base` whose process no
/// longer exists. Returns how many were removed.
pub fn sweep_stale(base: &Path, prefix: &str) -> usize {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(base) else {
        return 0;
    };
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = owner_pid(&name.to_string_lossy(), prefix) else {
            continue;
        };
        let owned = entry.metadata().is_ok_and(|m| m.is_dir() && m.uid() == uid);
        if owned && !process_exists(pid) && std::fs::remove_dir_all(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The pid in `<prefix><pid>-<random>`.
fn owner_pid(name: &str, prefix: &str) -> Option<u32> {
    let (pid, random) = name.strip_prefix(prefix)?.split_once('-')?;
    (!random.is_empty()).then_some(())?;
    pid.parse().ok()
}

fn process_exists(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_owner_pids() {
        assert_eq!(owner_pid("llm-analytics-123-abC9", PREFIX), Some(123));
        assert_eq!(owner_pid("llm-analytics-abC9", PREFIX), None);
        assert_eq!(owner_pid("llm-analytics-123-", PREFIX), None);
        assert_eq!(owner_pid("llm-analytics-worker-9-x", PREFIX), None);
        assert_eq!(
            owner_pid("llm-analytics-worker-9-x", "llm-analytics-worker-"),
            Some(9)
        );
    }

    #[test]
    fn sweeps_only_dead_owners() {
        let base = tempfile::tempdir().unwrap();
        let dead = base.path().join(format!("{PREFIX}{}-x1", u32::MAX - 1));
        let alive = base
            .path()
            .join(format!("{PREFIX}{}-x2", std::process::id()));
        let unrelated = base.path().join("keep-me");
        for dir in [&dead, &alive, &unrelated] {
            std::fs::create_dir(dir).unwrap();
            std::fs::write(dir.join("1-data.arrow"), b"x").unwrap();
        }
        assert_eq!(sweep_stale(base.path(), PREFIX), 1);
        assert!(!dead.exists());
        assert!(alive.exists() && unrelated.exists());
    }
}
