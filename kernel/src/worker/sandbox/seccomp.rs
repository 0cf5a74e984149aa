//! The system-call filter (seccomp BPF), installed last.

use super::*;

pub(super) const BPF_LD_W_ABS: u16 = 0x20;
pub(super) const BPF_JEQ_K: u16 = 0x15;
pub(super) const BPF_JGE_K: u16 = 0x35;
pub(super) const BPF_JSET_K: u16 = 0x45;
pub(super) const BPF_RET_K: u16 = 0x06;
pub(super) const RET_ALLOW: u32 = 0x7fff_0000;
pub(super) const RET_ERRNO: u32 = 0x0005_0000;
pub(super) const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub(super) const OFFSET_NR: u32 = 0;
pub(super) const OFFSET_ARCH: u32 = 4;

#[cfg(target_arch = "x86_64")]
pub(super) const AUDIT_ARCH: Option<u32> = Some(0xC000_003E);
#[cfg(target_arch = "aarch64")]
pub(super) const AUDIT_ARCH: Option<u32> = Some(0xC000_00B7);
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub(super) const AUDIT_ARCH: Option<u32> = None;

pub(super) fn ret_errno(e: i32) -> u32 {
    RET_ERRNO | (e as u32 & 0xffff)
}

pub(super) fn ins(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// Offset of the low 32 bits of syscall argument `i` in `struct seccomp_data` (little endian).
pub(super) fn arg_lo(i: u32) -> u32 {
    16 + 8 * i
}

pub(super) fn arg_hi(i: u32) -> u32 {
    20 + 8 * i
}

/// Syscalls refused with EPERM, whatever their arguments.
pub(super) fn denied_syscalls() -> Vec<libc::c_long> {
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
pub(super) fn refused_prctl_options() -> [libc::c_int; 5] {
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

pub(super) fn seccomp(signals_scoped: bool, report: &mut Report) {
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
