//! T15, transactional messages: a `TransactionMQProducer` sends half messages, its local
//! transactions commit, roll back or leave the outcome open, and the broker asks a producer of
//! the group about the open ones (CHECK_TRANSACTION_STATE) until it hears an answer.
//!
//! What a user sees, with a consumer of a new group on each topic from its first offset:
//! - a committed message is consumed once, with the id its send returned; a rolled-back one
//!   never is; an open one is checked after `transactionTimeOut`, again every
//!   `transactionCheckInterval` while the answer is UNKNOW, and is consumed once the answer
//!   is COMMIT, never when it is ROLLBACK; the broker never asks about a transaction the
//!   producer ended;
//! - when the producer process that sent an open message is gone, another producer process of
//!   the same group gets the check and its answer decides;
//! - a message still open after `transactionCheckMax` checks is checked no more and is
//!   discarded into `TRANS_CHECK_MAX_TIME_TOPIC`, where a consumer finds it; it never reaches
//!   its own topic.
//!
//! That a message is never consumed is seen without waiting a fixed time: each topic has one
//! queue, so its messages are consumed in the order the broker made them visible, and once the
//! decision about a message has been taken (its producer printed the check it answered), a
//! "marker" message is sent and committed. When the consumer has the marker, it has everything
//! the broker made visible before it.
//!
//! Only the Rust client has a transactional producer: ali-ons has none (it sends no
//! END_TRANSACTION and ignores CHECK_TRANSACTION_STATE), and the PyPI `rocketmq` binding exposes
//! none of the C++ client's `TransactionMQProducer` (tests/interop/README.md).

mod common;
mod interop;

use interop::cluster::{Consume, Produce, Running};
use interop::report::{is_message_id, Report, Sent};
use interop::{unique, Client, Cluster};

use common::{wait_until, PATIENCE};

/// The broker's transaction check, shortened for the test: an open transaction is first
/// checked 2 s after it was sent (time enough for a producer to end the others), then every
/// 500 ms.
const TIMEOUT: &str = "transactionTimeOut=2000";
const INTERVAL: &str = "transactionCheckInterval=500";

/// The discard topic of transactions still open after `transactionCheckMax` checks.
const CHECK_MAX_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";

/// What each message's local transaction returns, and how the checks of it are answered:
/// 0 commits, 1 rolls back, 2 stays open through its first check and commits at the second,
/// 3 stays open and rolls back at its first check.
const OUTCOMES: &str = "commit,rollback,unknown:unknown:commit,unknown:rollback";

fn transactions(client: Client) {
    client.require();
    // Enough checks for the second scenario's producer to be replaced while the message is
    // still open (checks count while no producer of the group is connected, too).
    let cluster = Cluster::start_with_settings(&[TIMEOUT, INTERVAL, "transactionCheckMax=200"]);
    ended_and_checked(&cluster, client);
    checked_by_another_producer(&cluster, client);
    drop(cluster);

    let cluster = Cluster::start_with_settings(&[TIMEOUT, INTERVAL, "transactionCheckMax=2"]);
    discarded_after_check_max(&cluster, client, 2);
}

/// Commit, rollback, and both decided by checks.
fn ended_and_checked(cluster: &Cluster, client: Client) {
    let topic = unique("T15", client);
    cluster.create_topic(&topic, 1);
    let consumer = start_consumer(cluster, client, &topic);

    let group = unique("pg15", client);
    let produce = Produce::new(&topic, &group, 4)
        .transactions(OUTCOMES)
        .serving_checks()
        .for_seconds(180);
    let mut producer = cluster.start_producer(client, &produce);
    let sent = producer.wait_for("4 transactional sends", |r| r.sent().len() == 4);
    let sent = sorted_sends(&sent);
    let states = ["COMMIT_MESSAGE", "ROLLBACK_MESSAGE", "UNKNOW", "UNKNOW"];
    for (result, state) in sent.iter().zip(states) {
        assert_sent_ok(result);
        assert_eq!(result.local_state.as_deref(), Some(state), "{result:?}");
    }

    // Message 2: UNKNOW at its first check, so checked again, and COMMIT then; message 3:
    // ROLLBACK at its first check.
    producer.wait_for("the checks that decide messages 2 and 3", |r| {
        let decided = |index, answer: &str| r.checks_of(index).iter().any(|c| c.answer == answer);
        decided(2, "COMMIT_MESSAGE") && decided(3, "ROLLBACK_MESSAGE")
    });

    let marker = send_marker(cluster, client, &topic);
    let received = consumer_until(
        consumer,
        &["body-0", "body-2", "marker-body-0"],
        "the committed messages and the marker",
    );
    let producer = producer.stop();
    producer.assert_ok();

    assert_eq!(
        received.bodies(),
        ["body-0", "body-2", "marker-body-0"],
        "{}: committed messages once each, the rolled-back ones never",
        received.label
    );
    assert_ids(&received, &[("body-0", &sent[0]), ("body-2", &sent[2])]);
    assert_ids(&received, &[("marker-body-0", &marker)]);

    for check in producer.checked() {
        let index = check.index.expect("a check names one of the messages sent");
        assert!(
            index == 2 || index == 3,
            "the broker asked about message {index}, a transaction the producer ended: {check:?}"
        );
        assert_eq!(
            check.id(),
            sent[index as usize].msg_id.as_deref(),
            "{check:?}"
        );
        assert_eq!(check.topic.as_deref(), Some(topic.as_str()), "{check:?}");
        assert_eq!(check.body, Some(format!("body-{index}")), "{check:?}");
    }
    let answers = |index| -> Vec<String> {
        let checks = producer.checks_of(index).into_iter();
        checks.map(|check| check.answer).collect()
    };
    assert_eq!(answers(2)[..2], ["UNKNOW", "COMMIT_MESSAGE"]);
    assert_eq!(answers(3)[0], "ROLLBACK_MESSAGE");
    println!(
        "checks: message 2 {:?}, message 3 {:?}",
        answers(2),
        answers(3)
    );
}

/// The producer that sent an open message is killed; a second producer process of the group,
/// started after, gets the check and commits it.
fn checked_by_another_producer(cluster: &Cluster, client: Client) {
    let topic = unique("T15b", client);
    cluster.create_topic(&topic, 1);
    let consumer = start_consumer(cluster, client, &topic);

    let group = unique("pg15b", client);
    // It answers UNKNOW to any check that reaches it before it is killed.
    let first = Produce::new(&topic, &group, 1)
        .transactions("unknown")
        .serving_checks()
        .for_seconds(180);
    let mut first = cluster.start_producer(client, &first);
    let sent = first.wait_for("a transactional send left open", |r| r.sent().len() == 1);
    let sent = sorted_sends(&sent).remove(0);
    assert_sent_ok(&sent);
    assert_eq!(sent.local_state.as_deref(), Some("UNKNOW"), "{sent:?}");
    // The broker knows it as a producer of the group (its heartbeat), then sees it gone.
    cluster.wait_producers(0, &group, 1);
    let first = first.kill();
    cluster.wait_producers(0, &group, 0);

    // Sends nothing, answers COMMIT for message 0 (its key names it).
    let second = Produce::new(&topic, &group, 0)
        .transactions("unknown:commit")
        .serving_checks()
        .for_seconds(180);
    let mut second = cluster.start_producer(client, &second);
    second.wait_started();
    second.wait_for("the check of the first producer's message", |r| {
        r.checks_of(0).iter().any(|c| c.answer == "COMMIT_MESSAGE")
    });

    let marker = send_marker(cluster, client, &topic);
    let received = consumer_until(
        consumer,
        &["body-0", "marker-body-0"],
        "the message the second producer committed, and the marker",
    );
    let second = second.stop();
    second.assert_ok();
    assert!(second.sent().is_empty(), "the second producer sent nothing");

    assert_eq!(
        received.bodies(),
        ["body-0", "marker-body-0"],
        "{}: the message committed once",
        received.label
    );
    assert_ids(&received, &[("body-0", &sent), ("marker-body-0", &marker)]);
    for check in second.checked().iter().chain(&first.checked()) {
        assert_eq!(check.index, Some(0), "{check:?}");
        assert_eq!(check.id(), sent.msg_id.as_deref(), "{check:?}");
    }
    println!(
        "checks: {} by the first producer before it was killed, {} by the second",
        first.checked().len(),
        second.checked().len()
    );
}

/// A message whose checks are all answered UNKNOW is checked `check_max` times, then
/// discarded into [`CHECK_MAX_TOPIC`] and never consumed from its own topic.
fn discarded_after_check_max(cluster: &Cluster, client: Client, check_max: usize) {
    let topic = unique("T15c", client);
    cluster.create_topic(&topic, 1);
    let consumer = start_consumer(cluster, client, &topic);

    let group = unique("pg15c", client);
    let produce = Produce::new(&topic, &group, 1)
        .transactions("unknown")
        .serving_checks()
        .for_seconds(180);
    let mut producer = cluster.start_producer(client, &produce);
    let sent = producer.wait_for("a transactional send left open", |r| r.sent().len() == 1);
    let sent = sorted_sends(&sent).remove(0);
    assert_sent_ok(&sent);
    producer.wait_for(&format!("{check_max} checks"), |r| {
        r.checks_of(0).len() >= check_max
    });

    // The broker creates the discard topic when it first discards into it.
    let what = format!("the route of {CHECK_MAX_TOPIC}");
    wait_until(PATIENCE, &what, || cluster.route(CHECK_MAX_TOPIC).is_ok());
    let discard = Consume::new(CHECK_MAX_TOPIC, &unique("cg15d", client))
        .starting_at_first()
        .until(1, 90);
    let discarded = cluster.consume(client, &discard).finish();
    discarded.assert_ok();

    let marker = send_marker(cluster, client, &topic);
    let received = consumer_until(consumer, &["marker-body-0"], "the marker");
    let producer = producer.stop();
    producer.assert_ok();

    assert_eq!(discarded.bodies(), ["body-0"], "{}", discarded.label);
    assert_ids(&discarded, &[("body-0", &sent)]);
    assert_eq!(
        received.bodies(),
        ["marker-body-0"],
        "{}: the discarded message never reaches its topic",
        received.label
    );
    assert_ids(&received, &[("marker-body-0", &marker)]);
    let times: Vec<_> = producer
        .checked()
        .into_iter()
        .map(|c| c.check_times)
        .collect();
    println!("checks before the discard, their TRANSACTION_CHECK_TIMES: {times:?}");
    assert_eq!(
        producer.checks_of(0).len(),
        check_max,
        "checks of a message answered UNKNOW every time, transactionCheckMax={check_max}: {:#?}",
        producer.checked()
    );
}

/// A push consumer of a new group from the first offset of `topic`, running until killed.
fn start_consumer(cluster: &Cluster, client: Client, topic: &str) -> Running {
    let consume = Consume::new(topic, &unique("cg15", client))
        .starting_at_first()
        .for_seconds(180);
    let mut consumer = cluster.consume(client, &consume);
    consumer.wait_started();
    consumer
}

/// Sends the marker, `marker-body-0`, with a plain producer, and returns its send result.
fn send_marker(cluster: &Cluster, client: Client, topic: &str) -> Sent {
    let produce = Produce::new(topic, &unique("pg15m", client), 1).prefixed("marker-");
    let report = cluster.produce(client, &produce);
    report.assert_all_sent(1);
    report.sent().remove(0)
}

/// Waits until the consumer has received every one of `bodies`, then kills it and returns
/// everything it received.
fn consumer_until(mut consumer: Running, bodies: &[&str], what: &str) -> Report {
    consumer.wait_for(what, |report| {
        let received = report.bodies();
        bodies.iter().all(|body| received.iter().any(|b| b == body))
    });
    consumer.kill()
}

/// The sends, in message order.
fn sorted_sends(report: &Report) -> Vec<Sent> {
    let mut sent = report.sent();
    sent.sort_by_key(|s| s.index);
    sent
}

fn assert_sent_ok(result: &Sent) {
    assert_eq!(result.status.as_deref(), Some("SEND_OK"), "{result:?}");
    let id = result.msg_id.as_deref().unwrap_or_default();
    assert!(is_message_id(id), "a message id: {result:?}");
}

/// Each `(body, send)`: the message with that body was received with the id its send returned.
fn assert_ids(received: &Report, expected: &[(&str, &Sent)]) {
    for (body, sent) in expected {
        let message = received
            .received()
            .into_iter()
            .find(|m| m.body.as_deref() == Some(body));
        let message = message.unwrap_or_else(|| panic!("{body} in {}", received.label));
        assert_eq!(message.id(), sent.msg_id.as_deref(), "{body}: {message:?}");
    }
}

#[test]
fn rust_client_transactions() {
    transactions(Client::Rust);
}
