//! Heap allocations of request building, the harness's hot path: a single message should
//! cost only the two buffers of its header (the client takes each command by value), and a
//! batch the same two once its reused body buffer has grown.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use shardmq::wire::SerializeType;
use shardmq_bench::message::{MessageShape, Template};

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// The system allocator, counting calls on threads that turned counting on.
struct CountingAllocator;

// SAFETY: every call is forwarded unchanged to the system allocator; the thread-local
// counters are const-initialised `Cell`s without destructors, so touching them here cannot
// allocate or observe a destroyed value.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
    }
}

/// Allocations per request over `rounds` requests, after a few to warm buffers up.
fn allocations_per_request(batch: usize, rounds: u64) -> f64 {
    let shape = MessageShape {
        group: "bench_producer".into(),
        topic: "BenchTopic".into(),
        size: 1024,
        batch,
        tag: Some("TagA".into()),
        keys: true,
        serialize_type: SerializeType::RocketMq,
        born_property: true,
    };
    let mut template = Template::new(&shape, Some("broker-a"), 7, 1_700_000_000_000);
    for _ in 0..4 {
        drop(template.next(0, 1_700_000_000_000));
    }
    COUNTING.with(|on| on.set(true));
    let before = ALLOCATIONS.with(Cell::get);
    for round in 0..rounds {
        let command = template.next((round % 8) as i32, 1_700_000_000_000 + round as i64);
        std::hint::black_box(&command);
        drop(command);
    }
    COUNTING.with(|on| on.set(false));
    (ALLOCATIONS.with(Cell::get) - before) as f64 / rounds as f64
}

#[test]
fn a_request_costs_only_its_header_buffers() {
    assert_eq!(allocations_per_request(1, 10_000), 2.0);
    assert_eq!(allocations_per_request(16, 1_000), 2.0);
}
