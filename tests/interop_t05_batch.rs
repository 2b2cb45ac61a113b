//! T5, batch send: one batch of 10 gets one SEND_OK result at queue offset 0 carrying 10
//! comma-joined message ids, and a consumer receives 10 messages with 10 distinct ids,
//! consecutive offsets in one queue, and their own bodies, keys and tags. ali-ons has no
//! batch send.
//!
//! The C++ client (PyPI `rocketmq`) reports an empty id for a batch with any broker: its send
//! result's id is the UNIQ_KEY of the message it sent, and it gives a batch's entries their
//! own UNIQ_KEYs but the batch itself none; its C API passes on no offset ids. The broker's
//! answer (10 comma-joined offset ids) is checked in `src/broker/data/send_tests.rs`.

mod common;
mod interop;

use std::collections::BTreeSet;

use interop::cluster::Produce;
use interop::{unique, Client, Cluster};

const MESSAGES: usize = 10;

fn batch(client: Client) {
    client.require();
    let cluster = Cluster::start();
    let topic = unique("T5", client);
    cluster.create_topic(&topic, 4);

    let produce = Produce::new(&topic, &unique("pg5", client), MESSAGES)
        .mode("batch")
        .batch_size(MESSAGES)
        .tags("TagA,TagB");
    let report = cluster.produce(client, &produce);
    report.assert_ok();
    let sent = report.sent();
    assert_eq!(sent.len(), 1, "one result for the batch: {sent:?}");
    let result = &sent[0];
    assert_eq!(result.size, MESSAGES as u64, "{result:?}");
    assert_eq!(result.status.as_deref(), Some("SEND_OK"), "{result:?}");
    assert_eq!(
        result.queue_offset,
        Some(0),
        "the batch's first offset: {result:?}"
    );
    if client == Client::Python {
        assert_eq!(result.msg_id.as_deref(), Some(""), "{result:?}");
    } else {
        report.assert_all_sent(MESSAGES);
    }

    let received =
        cluster.receive_all_from_first(client, &topic, &unique("cg5", client), MESSAGES, 60);
    let messages = received.received();
    let ids: BTreeSet<&str> = messages.iter().filter_map(|m| m.id()).collect();
    assert_eq!(ids.len(), MESSAGES, "distinct message ids: {messages:#?}");
    let queues: BTreeSet<i64> = messages.iter().filter_map(|m| m.queue_id).collect();
    assert_eq!(queues.len(), 1, "a batch lands in one queue");
    let mut offsets: Vec<i64> = messages.iter().filter_map(|m| m.queue_offset).collect();
    offsets.sort_unstable();
    assert_eq!(offsets, (0..MESSAGES as i64).collect::<Vec<_>>());
    for message in &messages {
        let index: usize = message
            .body
            .as_deref()
            .and_then(|b| b.strip_prefix("body-"))
            .and_then(|i| i.parse().ok())
            .unwrap_or_else(|| panic!("body of {message:?}"));
        assert_eq!(
            message.keys.as_deref(),
            Some(format!("key-{index}").as_str())
        );
        let tag = if index % 2 == 0 { "TagA" } else { "TagB" };
        assert_eq!(message.tags.as_deref(), Some(tag), "{message:?}");
    }
}

#[test]
fn rust_client_batch_send() {
    batch(Client::Rust);
}

#[test]
fn python_client_batch_send() {
    batch(Client::Python);
}
