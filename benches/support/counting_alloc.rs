//! A global allocator that counts allocations on threads that ask for it, for benches and
//! tests that check a hot path does not allocate. Included by path where needed: each
//! binary declares its own `#[global_allocator]` through this module.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    static LIVE_BYTES: Cell<i64> = const { Cell::new(0) };
}

/// The system allocator, counting calls on threads that turned counting on.
pub struct CountingAllocator;

// SAFETY: every call is forwarded unchanged to the system allocator; the thread-local
// counters are const-initialised `Cell`s without destructors, so touching them here cannot
// allocate or observe a destroyed value.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as i64);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        track(-(layout.size() as i64));
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as i64 - layout.size() as i64);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn count(bytes: i64) {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
    }
    track(bytes);
}

/// Live heap bytes are tracked on every thread, counting or not; a block freed on another
/// thread than the one that allocated it skews both threads' figures.
fn track(bytes: i64) {
    LIVE_BYTES.with(|n| n.set(n.get() + bytes));
}

/// Starts or stops counting on this thread.
#[allow(dead_code)] // each includer uses its own subset
pub fn set_counting(on: bool) {
    COUNTING.with(|c| c.set(on));
}

/// Allocations counted on this thread so far.
#[allow(dead_code)]
pub fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// Heap bytes allocated and not yet freed by this thread, since it started.
#[allow(dead_code)]
pub fn live_bytes() -> i64 {
    LIVE_BYTES.with(Cell::get)
}
