//! The kernel's allocator, and giving parse memory back.
//!
//! A `%load` allocates a few hundred MB on rayon's threads and frees it once the Arrow
//! file is written, usually from another thread. mimalloc parks such frees on the owning
//! thread's list until that thread allocates again, so an idle pool would keep the whole
//! parse resident (measured: ~200 MB after a 100 MB load). `release_freed_memory` makes
//! every pool thread, and the caller, collect now.
//!
//! Not at once, though: fresh pages cost page faults, a large share of a load's time in a
//! VM, and back-to-back loads ("Run All") reuse the warm ones. `release_after` gives the
//! memory back once no other parse has started for a few seconds.

// polars and the CSV reader allocate heavily while parsing; mimalloc keeps large fresh
// allocations cheap.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counts parses, so a delayed release can tell whether another one started since.
static PARSES: AtomicU64 = AtomicU64::new(0);

/// A parse finished: return its memory to the OS after `delay`, unless another parse
/// has started by then (that one reuses it, and schedules its own release).
pub fn release_after(delay: Duration) {
    let parse = PARSES.fetch_add(1, Ordering::SeqCst) + 1;
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        if PARSES.load(Ordering::SeqCst) == parse {
            release_freed_memory();
        }
    });
}

/// Return memory freed by the last parse to the operating system.
pub fn release_freed_memory() {
    // SAFETY: mi_collect only walks the calling thread's own heap.
    rayon::broadcast(|_| unsafe { libmimalloc_sys::mi_collect(true) });
    unsafe { libmimalloc_sys::mi_collect(true) };
}
