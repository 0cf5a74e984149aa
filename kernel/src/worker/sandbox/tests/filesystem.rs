//! Layer 4: the paths the worker may read (system paths, the cgroup memory limit) and the
//! walk that leaves hidden and denied entries out of allowed folders.

use super::*;

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
            // Limits only (CPU quota; the memory limit DuckDB reads), never usage or other
            // processes.
            let name = path.file_name().unwrap().to_string_lossy();
            assert!(
                [
                    "cpu.max",
                    "cpu.cfs_quota_us",
                    "cpu.cfs_period_us",
                    "memory.max",
                    "memory.limit_in_bytes"
                ]
                .contains(&&*name),
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

/// DuckDB reads the memory limit of its cgroup; exactly that file is granted, for v1 and v2.
#[test]
fn only_the_cgroup_memory_limit_file_is_named() {
    let v1 = "4:memory:/process_api/abc\n3:cpuset:/\n0::/\n";
    assert_eq!(
        cgroup_memory_limits(v1),
        [
            PathBuf::from("/sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes"),
            PathBuf::from("/sys/fs/cgroup/memory.max"),
        ]
    );
    assert_eq!(
        cgroup_memory_limits("0::/user.slice/x.scope\n"),
        [PathBuf::from(
            "/sys/fs/cgroup/user.slice/x.scope/memory.max"
        )]
    );
    assert!(cgroup_memory_limits("4:memory:/../../etc\n").is_empty());
}
