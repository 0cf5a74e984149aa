//! Layer 7: the seccomp program, run through a small BPF interpreter.

use super::*;

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
