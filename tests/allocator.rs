//! The kiosk's malloc settings (glibc): a process of its own, since they are process-wide.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn large_blocks_keep_their_own_mapping_after_one_is_freed() {
    use renshe_kiosk::shell::{configure_allocator, heap_use};
    // The test runs only under the settings the kiosk makes itself.
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_some() {
        return;
    }
    configure_allocator();
    const SIZE: usize = 4 << 20; // a receipt picture's worth
                                 // Left alone, glibc would raise its threshold to 4 MiB when this block is freed...
    let first = std::hint::black_box(vec![1u8; SIZE]);
    drop(first);
    // ...and serve the next one from an arena, where its space stays held after it is freed.
    let before = heap_use().expect("glibc").mapped;
    let second = std::hint::black_box(vec![2u8; SIZE]);
    let during = heap_use().expect("glibc").mapped;
    drop(second);
    let after = heap_use().expect("glibc").mapped;
    assert!(
        during >= before + SIZE as u64,
        "the second block was not mapped on its own: {before} → {during} bytes mapped"
    );
    assert!(
        after + SIZE as u64 <= during,
        "the freed block's mapping was kept: {during} → {after} bytes mapped"
    );
}
