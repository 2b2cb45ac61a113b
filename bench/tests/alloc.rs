//! Heap allocations of request building, the harness's hot path: a single message should
//! cost only the two buffers of its header (the client takes each command by value), and a
//! batch the same two once its reused body buffer has grown. Signing (an account given) adds
//! only what computing the signature allocates: the header has room for its two fields.

use shardmq::wire::signature::{verify, Credentials, SigningKey};
use shardmq::wire::SerializeType;
use shardmq_bench::message::{MessageShape, Template};

#[path = "../../benches/support/counting_alloc.rs"]
mod counting_alloc;

fn shape(batch: usize, credentials: Option<Credentials>) -> MessageShape {
    MessageShape {
        group: "bench_producer".into(),
        topic: "BenchTopic".into(),
        size: 1024,
        batch,
        tag: Some("TagA".into()),
        keys: true,
        serialize_type: SerializeType::RocketMq,
        born_property: true,
        transactional: false,
        credentials,
    }
}

/// Allocations per request over `rounds` requests, after a few to warm buffers up.
fn allocations_per_request(batch: usize, rounds: u64, credentials: Option<Credentials>) -> f64 {
    let mut template = Template::new(
        &shape(batch, credentials),
        Some("broker-a"),
        7,
        1_700_000_000_000,
    );
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
    assert_eq!(allocations_per_request(1, 10_000, None), 2.0);
    assert_eq!(allocations_per_request(16, 1_000, None), 2.0);
}

#[test]
fn a_signed_request_adds_only_what_signing_allocates() {
    let account = || Some(Credentials::new("bench", "bench-secret"));
    for batch in [1, 16] {
        let signed = allocations_per_request(batch, 1_000, account());
        assert_eq!(signed, 2.0 + signing_allocations(batch), "batch {batch}");
    }
}

/// Allocations of computing one request's signature, as the template's signing does: the
/// header's two buffers are then the only others a signed request may cost.
fn signing_allocations(batch: usize) -> f64 {
    let mut template = Template::new(&shape(batch, None), Some("broker-a"), 7, 0);
    let command = template.next(0, 0);
    let key = SigningKey::new("bench-secret");
    let rounds = 1_000;
    counting_alloc::set_counting(true);
    let before = counting_alloc::allocations();
    for _ in 0..rounds {
        std::hint::black_box(verify(&command, &key, ""));
    }
    counting_alloc::set_counting(false);
    (counting_alloc::allocations() - before) as f64 / rounds as f64
}
