//! T1, sync send with each real client: 100 sends to a 4-queue topic are all SEND_OK, each
//! with a message id, spread round-robin over the 4 queues with offsets 0, 1, 2, … per queue,
//! and a consumer of a new group then receives exactly those 100 messages.

mod common;
mod interop;

use interop::cluster::{Consume, Produce};
use interop::report::{expected_bodies, offsets_by_queue};
use interop::{unique, Client, Cluster};

const MESSAGES: usize = 100;

fn sync_send(client: Client) {
    if !client.available() {
        return;
    }
    let cluster = Cluster::start();
    let topic = unique("T1", client);
    cluster.create_topic(&topic, 4);

    let report = cluster.produce(
        client,
        &Produce::new(&topic, &unique("pg1", client), MESSAGES),
    );
    report.assert_all_sent(MESSAGES);
    let sent = report.sent();
    // The C++ client reports no queue id; the other two show the round-robin spread.
    if sent.iter().all(|s| s.queue_id.is_some()) {
        let by_queue = offsets_by_queue(
            sent.iter()
                .map(|s| (s.queue_id.unwrap_or(-1), s.queue_offset.unwrap_or(-1))),
        );
        assert_eq!(by_queue.len(), 4, "all four queues used: {by_queue:?}");
        for (queue, offsets) in by_queue {
            let expected: Vec<i64> = (0..offsets.len() as i64).collect();
            assert_eq!(offsets, expected, "offsets of queue {queue}");
        }
    }

    let consumer = cluster.consume(
        client,
        &Consume::new(&topic, &unique("cg1", client))
            .starting_at_first()
            .until(MESSAGES, 60),
    );
    let received = consumer.finish();
    received.assert_ok();
    assert_eq!(received.bodies(), expected_bodies("body-", 0..MESSAGES));
}

#[test]
fn rust_client_sync_send() {
    sync_send(Client::Rust);
}

#[test]
fn node_client_sync_send() {
    sync_send(Client::Node);
}

#[test]
fn python_client_sync_send() {
    sync_send(Client::Python);
}
