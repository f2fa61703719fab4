//! Giving freed heap memory back to the system.
//!
//! glibc keeps what a thread frees in that thread's arena. After the catalogue's first sync
//! and the finder's index build (both on the I/O runtime's workers), hundreds of megabytes
//! were free but still held that way, scattered between live blocks, so no trim threshold
//! released them (docs/memory-findings.md). `malloc_trim(0)` walks every arena and returns
//! the free pages, also those in the middle of one.
//!
//! glibc also opens a new arena whenever a thread finds the others locked, up to eight per
//! core. On a busy machine (the 10,000-session soak beside a build) the kiosk's threads
//! opened them one after another and each kept its own scattered free memory: +23 MB over
//! 1,500 sessions, all anonymous, while the live heap stayed at 16 MB (heaptrack). Two
//! arenas (the main thread's and one for every other thread) keep it flat: −0.3 MB over the
//! same run, and 6 MB less from the start ([`configure_allocator`]).

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

/// The heap as glibc counts it: bytes in live allocations, and bytes it holds from the system
/// for them (arenas and large mappings). Growth in the first is data kept; growth in the
/// second alone is free memory the allocator did not give back. `None` elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapUse {
    pub in_use: u64,
    pub held: u64,
    /// Of both: the blocks in mappings of their own (at least [`MMAP_THRESHOLD`] each),
    /// which go back to the system the moment they are freed.
    pub mapped: u64,
}

/// Walks every arena (it locks each in turn): for benches and diagnostics, not per frame.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn heap_use() -> Option<HeapUse> {
    // SAFETY: mallinfo2 takes no pointers and returns a plain struct.
    let info = unsafe { libc::mallinfo2() };
    Some(HeapUse {
        in_use: (info.uordblks + info.hblkhd) as u64,
        held: (info.arena + info.hblkhd) as u64,
        mapped: info.hblkhd as u64,
    })
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn heap_use() -> Option<HeapUse> {
    None
}

/// The most malloc arenas the kiosk uses (glibc), unless `MALLOC_ARENA_MAX` says otherwise.
pub const ARENAS: i32 = 2;

/// Allocations from this size up get their own mapping, given back to the system when freed
/// (glibc), unless `MALLOC_MMAP_THRESHOLD_` says otherwise. It is glibc's starting value;
/// setting it keeps it there. Left alone, glibc raises the threshold to the size of every
/// mapped block freed (up to 32 MiB), so after one receipt image or catalogue page such
/// buffers come from the arenas instead and their freed space stays held between live blocks.
pub const MMAP_THRESHOLD: i32 = 128 * 1024;

/// Sets up glibc's malloc for a process that runs for weeks: at most [`ARENAS`] arenas and a
/// fixed [`MMAP_THRESHOLD`]. What the environment sets (glibc reads it itself) is left to win.
/// Call it first thing in `main`, before any thread is started: arenas already open stay
/// open. Does nothing elsewhere.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn configure_allocator() {
    // SAFETY: mallopt takes no pointers; called before other threads allocate.
    unsafe {
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            libc::mallopt(libc::M_ARENA_MAX, ARENAS);
        }
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn configure_allocator() {}
