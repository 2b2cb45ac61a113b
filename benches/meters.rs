//! What the metrics counters add to each message on the data path: a stored message's
//! `Meters::message_in` (its type comes from the send's one pass over its properties), a
//! pull answer's `messages_out`, and a request's `rpc` with the `Instant` it is timed by.
//!
//! Run: `cargo bench --bench meters` (release profile). Each operation runs over 100 topics
//! in turn, as a broker with many topics would call it; figures are ns per call (see
//! bench/RESULTS.md, "Metrics").

use std::hint::black_box;
use std::time::{Duration, Instant};

use shardmq::broker::admin::meters::{MessageType, Meters};

const CALLS: usize = 2_000_000;

fn time(name: &str, mut call: impl FnMut(usize)) {
    // Warm up: every series exists before the timed calls, as in a running broker.
    for i in 0..CALLS / 10 {
        call(i);
    }
    let started = Instant::now();
    for i in 0..CALLS {
        call(i);
    }
    let took = started.elapsed();
    println!(
        "{name:<48} {:>7.1} ns/call",
        took.as_nanos() as f64 / CALLS as f64
    );
}

fn main() {
    let topics: Vec<String> = (0..100).map(|i| format!("BenchTopic{i}")).collect();
    let meters = Meters::default();
    time("message_in", |i| {
        meters.message_in(&topics[i % 100], MessageType::Normal, black_box(1200));
    });
    time("messages_out (one pull answer)", |i| {
        meters.messages_out(
            &topics[i % 100],
            "bench_consumer",
            black_box(32),
            black_box(38_400),
        );
    });
    time("rpc (Instant::now + elapsed + record)", |i| {
        let started = Instant::now();
        let code = black_box(i as i32 % 4);
        meters.rpc((310, code, false), started.elapsed().max(Duration::ZERO));
    });
}
