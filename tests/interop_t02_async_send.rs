//! T2, async send: 1000 sends started without waiting for each other all complete
//! successfully (1000 success callbacks, no failure), and the offsets each queue handed out
//! are contiguous from 0. The Rust driver keeps at most 128 sends in flight, below the
//! client's own limit (`tests/rust-client/src/produce.rs`); ali-ons has no callback API: its
//! sends are 1000 promises awaited together.

mod common;
mod interop;

use interop::cluster::Produce;
use interop::report::offsets_by_queue;
use interop::{unique, Client, Cluster};

const MESSAGES: usize = 1000;

fn async_send(client: Client) {
    client.require();
    let cluster = Cluster::start();
    let topic = unique("T2", client);
    cluster.create_topic(&topic, 4);

    let produce = Produce::new(&topic, &unique("pg2", client), MESSAGES).mode("async");
    let report = cluster.produce(client, &produce);
    report.assert_all_sent(MESSAGES);

    let sent = report.sent();
    let mut indexes: Vec<u64> = sent.iter().map(|s| s.index).collect();
    indexes.sort_unstable();
    assert_eq!(
        indexes,
        (0..MESSAGES as u64).collect::<Vec<_>>(),
        "one callback per send"
    );
    // Completion order is free; the set of offsets per queue must still have no gap.
    if sent.iter().all(|s| s.queue_id.is_some()) {
        let by_queue = offsets_by_queue(
            sent.iter()
                .map(|s| (s.queue_id.unwrap_or(-1), s.queue_offset.unwrap_or(-1))),
        );
        for (queue, mut offsets) in by_queue {
            offsets.sort_unstable();
            let expected: Vec<i64> = (0..offsets.len() as i64).collect();
            assert_eq!(offsets, expected, "offsets of queue {queue}");
        }
    } else {
        let mut offsets: Vec<i64> = sent.iter().filter_map(|s| s.queue_offset).collect();
        offsets.sort_unstable();
        offsets.dedup();
        let most = offsets.last().copied().unwrap_or(-1);
        assert!(
            most < MESSAGES as i64,
            "queue offsets stay within the count sent: {most}"
        );
    }
}

#[test]
fn rust_client_async_send() {
    async_send(Client::Rust);
}

#[test]
fn node_client_async_send() {
    async_send(Client::Node);
}

#[test]
fn python_client_async_send() {
    async_send(Client::Python);
}
