//! Giving freed heap memory back to the system.
//!
//! glibc keeps what a thread frees in that thread's arena. After the catalogue's first sync
//! and the finder's index build (both on the I/O runtime's workers), hundreds of megabytes
//! were free but still held that way, scattered between live blocks, so no trim threshold
//! released them (docs/memory-findings.md). `malloc_trim(0)` walks every arena and returns
//! the free pages, also those in the middle of one.

/// Returns the heap's free pages to the system (glibc); does nothing elsewhere. Costs a few
/// milliseconds: call it after a burst of work (the sync, the index, the end of a session),
/// never per frame.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn trim_heap() {
    if std::env::var_os("RENSHE_NO_MALLOC_TRIM").is_some() {
        return;
    }
    let started = std::time::Instant::now();
    // SAFETY: malloc_trim takes no pointers and is thread-safe (it locks each arena).
    let released = unsafe { libc::malloc_trim(0) };
    tracing::debug!(
        released = released != 0,
        micros = started.elapsed().as_micros() as u64,
        "heap trimmed"
    );
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn trim_heap() {}
