//! Heap allocations of request building, the harness's hot path: a single message should
//! cost only the two buffers of its header (the client takes each command by value), and a
//! batch the same two once its reused body buffer has grown.

use shardmq::wire::SerializeType;
use shardmq_bench::message::{MessageShape, Template};

#[path = "../../benches/support/counting_alloc.rs"]
mod counting_alloc;

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
        transactional: false,
    };
    let mut template = Template::new(&shape, Some("broker-a"), 7, 1_700_000_000_000);
    for _ in 0..4 {
        drop(template.next(0, 1_700_000_000_000));
    }
    counting_alloc::set_counting(true);
    let before = counting_alloc::allocations();
    for round in 0..rounds {
        let command = template.next((round % 8) as i32, 1_700_000_000_000 + round as i64);
        std::hint::black_box(&command);
        drop(command);
    }
    counting_alloc::set_counting(false);
    (counting_alloc::allocations() - before) as f64 / rounds as f64
}

#[test]
fn a_request_costs_only_its_header_buffers() {
    assert_eq!(allocations_per_request(1, 10_000), 2.0);
    assert_eq!(allocations_per_request(16, 1_000), 2.0);
}
