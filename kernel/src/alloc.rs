//! The kernel's allocator, and giving parse memory back.
//!
//! A `%load` allocates a few hundred MB on rayon's threads and frees it once the Arrow
//! file is written, usually from another thread. mimalloc parks such frees on the owning
//! thread's list until that thread allocates again, so an idle pool would keep the whole
//! parse resident (measured: ~200 MB after a 100 MB load). `release_freed_memory` makes
//! every pool thread, and the caller, collect now.

// polars and the CSV reader allocate heavily while parsing; mimalloc keeps large fresh
// allocations cheap.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Return memory freed by the last parse to the operating system.
pub fn release_freed_memory() {
    // SAFETY: mi_collect only walks the calling thread's own heap.
    rayon::broadcast(|_| unsafe { libmimalloc_sys::mi_collect(true) });
    unsafe { libmimalloc_sys::mi_collect(true) };
}
