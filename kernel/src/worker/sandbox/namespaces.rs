//! Private network and IPC namespaces, inside a user namespace made for them.

use super::*;

/// Private network and IPC namespaces: directly when root, else inside a new user namespace
/// (mapping only our own uid and gid).
pub(super) fn namespaces(report: &mut Report) {
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
