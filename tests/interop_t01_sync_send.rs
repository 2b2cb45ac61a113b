//! T1, sync send with each real client: 100 sends to a 4-queue topic are all SEND_OK, each
//! with a message id, spread round-robin over the 4 queues with offsets 0, 1, 2, … per queue,
//! and a consumer of a new group then receives exactly those 100 messages.

mod common;
mod interop;

use interop::cluster::Produce;
use interop::report::offsets_by_queue;
use interop::{unique, Client, Cluster};

const MESSAGES: usize = 100;

fn sync_send(client: Client) {
    client.require();
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

    cluster.receive_all_from_first(client, &topic, &unique("cg1", client), MESSAGES, 60);
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
