//! T17, resetting a consumer group's offsets by time: after a group has consumed 100 messages,
//! an operator resets its offsets on the topic to the store time of message 50, as
//! `mqadmin resetOffsetByTime` does (INVOKE_BROKER_TO_RESET_OFFSET to every broker of the
//! topic's route). The broker answers with the offset table it set, each queue at the first
//! message stored at or after that time, and the group consumes again from there.
//!
//! What a user sees, on a 1-queue topic (so the topic's order is the queue's and message `i`
//! is at offset `i`):
//! - the reset's answer lists the queue at offset 50;
//! - a push consumer of the group that is running all along receives messages 50–99 again
//!   (at offsets 50–99), and none of 0–49 again; the group's committed offset ends at 100
//!   again;
//! - with the group offline (its consumer consumed all 100, committed 100 and was stopped),
//!   the committed offset reads 50 right after the reset, and a consumer process of the group
//!   started afterwards receives exactly messages 50–99, once each, and commits 100.
//!
//! The broker resets as Java RocketMQ 5.x does by default (`useServerSideResetOffset`): it
//! commits the new offsets itself and answers the group's next pull of each queue
//! PULL_OFFSET_MOVED with the new offset (it pushes no RESET_CONSUMER_CLIENT_OFFSET, 220, to
//! the consumers as 4.x brokers did). Each client follows that answer its own way
//! (tests/interop/README.md, the client quirks):
//! - the Rust client, as Java's, drops the queue, stores 50, takes the queue again and pulls
//!   from 50;
//! - ali-ons keeps the queue, stores 50 and pulls from 50;
//! - the C++ client under the PyPI binding only pulls from 50: its stored offset stays at 100
//!   and its next pull commits 100 again before the messages it re-consumes are done. What
//!   its user sees here is the same (50–99 again, none of 0–49, 100 committed in the end).
//!
//! That next pull may be one the consumer parked at the broker before the reset (long
//! polling: all three clients ask the broker to hold a pull for up to 15 s when there is
//! nothing new), so the re-consumption can take that long to start, more on a busy machine:
//! the wait for it is [`PATIENCE`] (60 s), which only bounds how long a failure takes to show.
//!
//! Message 50 must be stored later than message 49 for its store time to select it: the
//! messages are sent in two runs of 50, the second one once the broker's clock (the machine's)
//! is past the store time of message 49; the test reads both store times back from the broker
//! (a raw pull of each offset) and checks it. The second run's messages are `late-body-0` …
//! `late-body-49`, so message `50 + i` is `late-body-i`.
//!
//! The reset is sent by the Rust client's admin API (`DefaultMQAdminExt`, the Rust driver's
//! `admin reset-offset`) whichever client produces and consumes: ali-ons and the PyPI binding
//! have none (tests/interop/README.md).

mod common;
mod interop;

use interop::cluster::{Consume, Produce, Running};
use interop::report::{Received, Report, ResetQueue};
use interop::{unique, Client, Cluster};

use common::{poll_for, wait_clock_past, PATIENCE};

/// Messages sent before the pause (0–49) and after it (50–99).
const HALF: usize = 50;
const ALL: i64 = 2 * HALF as i64;
/// The second run's prefix: message `HALF + i` has body `late-body-i`.
const LATE: &str = "late-";

/// Fills the 1-queue `topic` with messages 0–99, 50–99 stored strictly later than 0–49, and
/// returns the store time of message 50; with a running `consumer`, waits until it has received
/// all 100.
fn fill_topic(
    cluster: &Cluster,
    client: Client,
    topic: &str,
    consumer: Option<&mut Running>,
) -> i64 {
    let early = cluster.produce(client, &Produce::new(topic, &unique("pg17", client), HALF));
    early.assert_all_sent(HALF);
    let stored_49 = cluster.record_at(0, topic, 0, HALF as i64 - 1);
    assert_eq!(
        stored_49.body,
        format!("body-{}", HALF - 1),
        "{stored_49:?}"
    );
    wait_clock_past(stored_49.store_timestamp);
    let late = Produce::new(topic, &unique("pg17", client), HALF).prefixed(LATE);
    cluster.produce(client, &late).assert_all_sent(HALF);

    let stored_50 = cluster.record_at(0, topic, 0, HALF as i64);
    assert_eq!(stored_50.queue_offset, HALF as i64, "{stored_50:?}");
    assert_eq!(stored_50.body, format!("{LATE}body-0"), "{stored_50:?}");
    assert!(
        stored_50.store_timestamp > stored_49.store_timestamp,
        "message 50 stored after message 49: {stored_49:?}, {stored_50:?}"
    );
    assert_eq!(
        cluster.max_offset(0, topic, 0),
        ALL,
        "messages in the queue"
    );
    if let Some(consumer) = consumer {
        consumer.wait_for("all 100 messages", |report| {
            report.received().len() >= ALL as usize
        });
    }
    stored_50.store_timestamp
}

/// Waits until the group's committed offset on the topic's queue reads `offset`; a failure
/// names the last value read.
fn wait_committed(cluster: &Cluster, group: &str, topic: &str, offset: i64) {
    let mut last = None;
    let reached = poll_for(PATIENCE, || {
        last = cluster.committed_offset(0, group, topic, 0);
        (last == Some(offset)).then_some(())
    });
    assert!(
        reached.is_some(),
        "{group}'s committed offset on {topic}/0 at {offset} within {PATIENCE:?}: it reads {last:?}"
    );
}

/// Resets `group` to `timestamp` with the Rust client's admin API, whichever client consumes
/// (only the Rust client has one), and asserts the broker's answer: the topic's one queue, at
/// offset 50.
fn reset_to_message_50(cluster: &Cluster, topic: &str, group: &str, timestamp: i64) {
    let reset = cluster.reset_offset_by_time(Client::Rust, topic, group, timestamp);
    reset.assert_ok();
    let route = cluster.route(topic).expect("the topic's route");
    let broker_name = route["queueDatas"][0]["brokerName"]
        .as_str()
        .expect("a broker name")
        .to_string();
    let expected = ResetQueue {
        topic: topic.to_string(),
        broker_name,
        queue_id: 0,
        offset: HALF as i64,
    };
    assert_eq!(
        reset.reset_offsets(),
        Some(vec![expected]),
        "{}: the offset table the broker answered; events {:#?}",
        reset.label,
        reset.events
    );
}

/// Bodies of the topic's messages `range` (0–49 `body-i`, 50–99 `late-body-i`), sorted.
fn bodies_of(range: std::ops::Range<usize>) -> Vec<String> {
    let mut bodies: Vec<String> = range
        .map(|i| {
            if i < HALF {
                format!("body-{i}")
            } else {
                format!("{LATE}body-{}", i - HALF)
            }
        })
        .collect();
    bodies.sort();
    bodies
}

/// Every delivery of `body` to the consumer's listener, in order.
fn deliveries(report: &Report, body: &str) -> Vec<Received> {
    let received = report.received().into_iter();
    received
        .filter(|m| m.body.as_deref() == Some(body))
        .collect()
}

/// Asserts that each delivery of message `index` (of the topic's one queue) names its queue
/// offset, `index`, unless it came from the group's retry topic: the Rust client sometimes fails
/// to start a consume task for a burst of messages, sends them back and consumes them again
/// from the retry topic, and such a delivery carries the retry queue's offset
/// (tests/interop/README.md, the client quirks).
fn assert_offsets(label: &str, index: usize, deliveries: &[Received]) {
    for message in deliveries {
        if message.reconsume_times.unwrap_or(0) == 0 {
            assert_eq!(
                message.queue_offset,
                Some(index as i64),
                "{label}: message {index} at its offset: {message:?}"
            );
        }
    }
}

/// The group's consumer runs through the reset and consumes messages 50–99 a second time.
fn consumer_online(cluster: &Cluster, client: Client) {
    let topic = unique("T17", client);
    cluster.create_topic(&topic, 1);
    let group = unique("cg17", client);
    let consume = Consume::new(&topic, &group)
        .starting_at_first()
        .for_seconds(240);
    let mut consumer = cluster.consume(client, &consume);
    consumer.wait_started();

    let timestamp = fill_topic(cluster, client, &topic, Some(&mut consumer));
    let before = consumer.snapshot();
    assert_eq!(
        before.bodies(),
        bodies_of(0..ALL as usize),
        "{}: every message once before the reset",
        before.label
    );
    // The consumer has committed all it consumed: the reset moves the offset back from 100.
    wait_committed(cluster, &group, &topic, ALL);

    reset_to_message_50(cluster, &topic, &group, timestamp);

    consumer.wait_for("messages 50-99 again after the reset", |report| {
        (0..HALF).all(|i| deliveries(report, &format!("{LATE}body-{i}")).len() >= 2)
    });
    wait_committed(cluster, &group, &topic, ALL);
    let report = consumer.kill();

    for i in 0..HALF {
        let early = deliveries(&report, &format!("body-{i}"));
        assert_eq!(
            early.len(),
            1,
            "{}: message {i} not consumed again: {early:?}",
            report.label
        );
        assert_offsets(&report.label, i, &early);
        let late = deliveries(&report, &format!("{LATE}body-{i}"));
        assert_offsets(&report.label, HALF + i, &late);
    }
    println!(
        "received {} messages in all, {} after the reset",
        report.received().len(),
        report.received().len() - before.received().len()
    );
}

/// The group has consumed everything and stopped; after the reset a new consumer process of
/// the group starts where the reset put it.
fn consumer_offline(cluster: &Cluster, client: Client) {
    let topic = unique("T17b", client);
    cluster.create_topic(&topic, 1);
    let group = unique("cg17b", client);
    let timestamp = fill_topic(cluster, client, &topic, None);

    let everything = bodies_of(0..ALL as usize);
    let first = consume_until_committed(cluster, client, &topic, &group, true, &everything);
    assert_eq!(first.bodies(), everything, "{}", first.label);

    reset_to_message_50(cluster, &topic, &group, timestamp);
    assert_eq!(
        cluster.committed_offset(0, &group, &topic, 0),
        Some(HALF as i64),
        "the offline group's committed offset right after the reset"
    );

    // Where a new group would start (the default, the last offset) does not matter: the group
    // has an offset.
    let late = bodies_of(HALF..ALL as usize);
    let second = consume_until_committed(cluster, client, &topic, &group, false, &late);
    assert_eq!(
        second.bodies(),
        late,
        "{}: exactly messages 50-99, once each",
        second.label
    );
    for i in 0..HALF {
        let copies = deliveries(&second, &format!("{LATE}body-{i}"));
        assert_offsets(&second.label, HALF + i, &copies);
    }
}

/// Runs a push consumer of `group` (from the first offset, for a new group, when
/// `from_first`) until it has received every one of `bodies` and the broker holds the commits
/// of all it consumed, the topic's queue at 100, then stops it with SIGKILL and returns its
/// report. It waits on the broker's offsets rather than on the client's shutdown: the Rust
/// client's shutdown persists the offsets it has updated so far, and the update for the last
/// messages its listener took can come after that, so the group's next consumer would get
/// them again (tests/interop/README.md, the client quirks).
fn consume_until_committed(
    cluster: &Cluster,
    client: Client,
    topic: &str,
    group: &str,
    from_first: bool,
    bodies: &[String],
) -> Report {
    let mut consume = Consume::new(topic, group).for_seconds(240);
    if from_first {
        consume = consume.starting_at_first();
    }
    let mut consumer = cluster.consume(client, &consume);
    let what = format!("{} messages", bodies.len());
    let received = consumer.wait_for(&what, |report| {
        let received = report.bodies();
        bodies.iter().all(|body| received.contains(body))
    });
    wait_committed(cluster, group, topic, ALL);
    // A message the client sent back came again from the group's retry topic: that queue's
    // offset is the group's too.
    if received
        .received()
        .iter()
        .any(|m| m.reconsume_times.unwrap_or(0) > 0)
    {
        let retry = format!("%RETRY%{group}");
        let end = cluster.max_offset(0, &retry, 0);
        wait_committed(cluster, group, &retry, end);
    }
    consumer.kill()
}

fn reset_offset(client: Client) {
    client.require();
    // The reset is the Rust driver's, whichever client consumes.
    Client::Rust.require();
    let cluster = Cluster::start();
    consumer_online(&cluster, client);
    consumer_offline(&cluster, client);
}

#[test]
fn rust_client_reset_offset_by_time() {
    reset_offset(Client::Rust);
}

#[test]
fn node_client_reset_offset_by_time() {
    reset_offset(Client::Node);
}

#[test]
fn python_client_reset_offset_by_time() {
    reset_offset(Client::Python);
}
