//! The global allocator of each wasm build (native builds keep the system's).
//!
//! dlmalloc, Rust's default on wasm32, is 7.2 kB of code (2.3 kB brotli) in every build.
//! - The first stage lives for one page view until the runtime takes over and allocates
//!   little (one banner, redrawn on a language click): a bump allocator that never frees
//!   and grows memory page by page is enough.
//! - The runtime and the interactive stage live as long as the page: lol_alloc's free-list
//!   allocator (2.7 kB brotli less than dlmalloc). It searches its free list linearly and
//!   does not merge neighbours, which is fine for a few hundred live allocations; the
//!   browser test `memory_stays_flat_over_many_choices` checks that a long session does not
//!   grow the heap.
//!
//! The lock is a no-op in practice (wasm32 without threads) and keeps this free of `unsafe`.

#[cfg(all(
    target_arch = "wasm32",
    feature = "boot",
    not(any(feature = "runtime", feature = "ui", feature = "returning"))
))]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::LeakingAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::LeakingAllocator::new());

#[cfg(all(
    target_arch = "wasm32",
    any(feature = "runtime", feature = "ui", feature = "returning")
))]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());
