//! The interrupt path's handle: SIGINT to a busy worker, an interrupt kept for the next call, kill at once.

use super::*;

/// Shared with the interrupt path, which must not wait for the worker lock.
#[derive(Default)]
pub struct InterruptHandle {
    pub(super) pid: AtomicI32,
    pub(super) busy: std::sync::atomic::AtomicBool,
    /// An interrupt that came while no request was running (the worker still starting, its
    /// datasets loading): the next call of this cell ends at once instead of running.
    pub(super) pending: std::sync::atomic::AtomicBool,
    pub(super) notify: Notify,
}

impl InterruptHandle {
    /// Send SIGINT to a busy worker (or keep the interrupt for the call about to start) and
    /// wake whoever waits on it.
    pub fn interrupt(&self) {
        if self.busy.load(Ordering::SeqCst) {
            self.signal();
        } else {
            self.pending.store(true, Ordering::SeqCst);
        }
        self.notify.notify_waiters();
    }

    pub(super) fn signal(&self) {
        let pid = self.pid.load(Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: kill(2) on a pid we spawned.
            unsafe {
                libc::kill(pid, libc::SIGINT);
            }
        }
    }

    /// A new cell starts: an interrupt sent while nothing ran is not meant for it.
    pub fn clear_pending(&self) {
        self.pending.store(false, Ordering::SeqCst);
    }

    pub(super) fn take_pending(&self) -> bool {
        self.pending.swap(false, Ordering::SeqCst)
    }

    /// Kill the worker at once (shutdown), without waiting for whoever holds it.
    pub fn kill_now(&self) {
        let pid = self.pid.swap(0, Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: kill(2) on a pid we spawned.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }

    /// A future that completes on the next interrupt.
    pub fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.notify.notified()
    }
}
