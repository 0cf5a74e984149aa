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
