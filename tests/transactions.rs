//! Transactional messages over the raw protocol (docs/protocol.md §2.6, §5.8): a half message
//! is answered SEND_OK and stays invisible; END_TRANSACTION commits it into its queue once or
//! rolls it back; an unanswered one is checked back with a producer of its group, on the
//! producer's own connection, and discarded into TRANS_CHECK_MAX_TIME_TOPIC after
//! `transactionCheckMax` checks (also one whose group has no producer online, or which names
//! no group); a `kill -9` between a half message and its end loses nothing.
//! END_TRANSACTION is oneway for real clients; these requests ask for the answer to see it.

mod common;

use std::net::TcpStream;
use std::time::Instant;

use common::{
    code_of, create_topic, decode_offset_message_id, free_port, heart_beat, http_get,
    metrics_settings, pull, read_frame, request, request_with_body, runtime_info, runtime_long,
    samples, send_v2, value, wait_for, wait_max_offset, Broker, PATIENCE, PULL_FOUND,
    SEND_MESSAGE_V2, SUCCESS, SYSTEM_ERROR,
};
use serde_json::{json, Value};
use shardmq::wire::record::{RecordView, TransactionType};

const END_TRANSACTION: i32 = 37;
const CHECK_TRANSACTION_STATE: i64 = 39;
const COMMIT: i32 = 8;
const ROLLBACK: i32 = 12;
const NO_PERMISSION: i64 = 16;
const MESSAGE_ILLEGAL: i64 = 13;

/// Quick checks: first check 300 ms after the send, a round every 200 ms, 3 checks at most.
const FAST_CHECKS: [&str; 6] = [
    "-o",
    "transactionTimeOut=300",
    "-o",
    "transactionCheckInterval=200",
    "-o",
    "transactionCheckMax=3",
];

/// A half message as a Java `TransactionMQProducer` sends it.
struct Half {
    uniq: String,
    queue_offset: i64,
    commit_log_offset: i64,
}

fn half_properties(group: &str, uniq: &str) -> String {
    format!(
        "TRAN_MSG\u{1}true\u{2}PGROUP\u{1}{group}\u{2}UNIQ_KEY\u{1}{uniq}\u{2}WAIT\u{1}true\u{2}"
    )
}

fn send_with(conn: &mut TcpStream, topic: &str, group: &str, props: &str, body: &[u8]) -> Value {
    let fields = json!({
        "a": group, "b": topic, "c": "TBW102", "d": "4", "e": "0", "f": "4",
        "g": "1700000000000", "h": "0", "i": props, "j": "0", "k": "false", "m": "false"
    });
    request_with_body(conn, SEND_MESSAGE_V2, fields, body).0
}

fn send_half(conn: &mut TcpStream, topic: &str, group: &str, uniq: &str) -> Half {
    let sent = send_with(
        conn,
        topic,
        group,
        &half_properties(group, uniq),
        uniq.as_bytes(),
    );
    assert_eq!(code_of(&sent), SUCCESS, "{sent}");
    let fields = &sent["extFields"];
    assert_eq!(fields["transactionId"], uniq, "{sent}");
    assert_eq!(fields["queueId"], "0", "the real queue: {sent}");
    let (_, commit_log_offset) = decode_offset_message_id(fields["msgId"].as_str().expect("id"));
    Half {
        uniq: uniq.to_owned(),
        queue_offset: fields["queueOffset"]
            .as_str()
            .expect("offset")
            .parse()
            .expect("n"),
        commit_log_offset,
    }
}

fn end(conn: &mut TcpStream, group: &str, half: &Half, how: i32, from_check: bool) -> Value {
    let fields = json!({
        "producerGroup": group, "tranStateTableOffset": half.queue_offset.to_string(),
        "commitLogOffset": half.commit_log_offset.to_string(),
        "commitOrRollback": how.to_string(), "fromTransactionCheck": from_check.to_string(),
        "msgId": half.uniq, "transactionId": half.uniq,
    });
    request(conn, END_TRANSACTION, fields).0
}

/// Registers `conn` as a producer of `group`.
fn register_producer(conn: &mut TcpStream, group: &str, client: &str) {
    let body = format!(
        r#"{{"clientID":"{client}","producerDataSet":[{{"groupName":"{group}"}}],"consumerDataSet":[]}}"#
    );
    assert_eq!(code_of(&heart_beat(conn, &body)), SUCCESS);
}

/// Waits for a CHECK_TRANSACTION_STATE on a producer's connection (answers go on another, so
/// that a check sent again meanwhile is not taken for the answer): its header fields and
/// the message it carries.
fn next_check(conn: &mut TcpStream) -> (Value, Vec<u8>) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        assert!(Instant::now() < deadline, "no check within {PATIENCE:?}");
        let Some(frame) = read_frame(conn) else {
            panic!("the producer's connection closed");
        };
        let header = frame.json();
        if header["code"] == CHECK_TRANSACTION_STATE {
            assert_eq!(
                header["flag"].as_i64().unwrap_or(0) & 2,
                2,
                "oneway: {header}"
            );
            return (header["extFields"].clone(), frame.body);
        }
    }
}

/// The message of the half message a check names, as the check's fields give it.
fn checked(fields: &Value, uniq: &str) -> Half {
    let number = |key: &str| fields[key].as_str().expect(key).parse().expect("a number");
    assert_eq!(fields["msgId"], uniq, "{fields}");
    Half {
        uniq: uniq.to_owned(),
        queue_offset: number("tranStateTableOffset"),
        commit_log_offset: number("commitLogOffset"),
    }
}

/// The records of `topic`'s queue 0 from `offset`.
fn records(conn: &mut TcpStream, topic: &str, offset: u64) -> Vec<Vec<u8>> {
    let (header, body) = pull(conn, topic, 0, offset);
    if code_of(&header) != PULL_FOUND {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut rest = &body[..];
    while !rest.is_empty() {
        let record = RecordView::parse(rest).expect("a record");
        let size = record.total_size() as usize;
        out.push(rest[..size].to_vec());
        rest = &rest[size..];
    }
    out
}

fn uniq_keys(records: &[Vec<u8>]) -> Vec<Option<String>> {
    let key = |r: &Vec<u8>| {
        RecordView::parse(r)
            .expect("a record")
            .uniq_key()
            .map(str::to_owned)
    };
    records.iter().map(key).collect()
}

fn max_offset(conn: &mut TcpStream, topic: &str) -> i64 {
    let (header, _) = request(conn, 30, json!({"topic": topic, "queueId": 0}));
    common::offset_field(&header)
}

#[test]
fn commit_delivers_once_and_rollback_never() {
    let metrics_port = free_port();
    let settings = metrics_settings(metrics_port);
    let settings: Vec<&str> = settings.iter().map(String::as_str).collect();
    let broker = Broker::start(1, &settings);
    let mut conn = broker.connect(0);
    create_topic(&mut conn, "TX1", 1);

    let committed = send_half(&mut conn, "TX1", "tpg", "0A0000010000000000000000000000C1");
    let rolled = send_half(&mut conn, "TX1", "tpg", "0A0000010000000000000000000000C2");
    assert_eq!(
        rolled.queue_offset,
        committed.queue_offset + 1,
        "half queue offsets"
    );
    assert_eq!(
        max_offset(&mut conn, "TX1"),
        0,
        "half messages are not in their queue"
    );

    assert_eq!(
        code_of(&end(&mut conn, "tpg", &rolled, ROLLBACK, false)),
        SUCCESS
    );
    assert_eq!(
        code_of(&end(&mut conn, "tpg", &committed, COMMIT, false)),
        SUCCESS
    );
    wait_max_offset(&mut conn, "TX1", 0, 1);
    let got = records(&mut conn, "TX1", 0);
    assert_eq!(got.len(), 1, "only the committed message");
    let record = RecordView::parse(&got[0]).expect("record");
    assert_eq!(record.uniq_key(), Some(committed.uniq.as_str()));
    assert_eq!(record.body(), committed.uniq.as_bytes());
    assert_eq!(record.sysflag().transaction(), TransactionType::Commit);
    assert_eq!(
        record.prepared_transaction_offset().0 as i64,
        committed.commit_log_offset
    );
    assert_eq!(record.property("TRAN_MSG"), None);
    assert_eq!(record.property("REAL_TOPIC"), None);
    assert_eq!(record.property("PGROUP"), Some("tpg"));

    // Ended once: a second end of either changes nothing.
    for (half, how) in [(&committed, COMMIT), (&rolled, COMMIT), (&rolled, ROLLBACK)] {
        assert_eq!(
            code_of(&end(&mut conn, "tpg", half, how, false)),
            SYSTEM_ERROR
        );
    }
    // Ends that name no half message: a bogus offset, the wrong group, an ordinary message.
    let bogus = Half {
        uniq: "X".into(),
        queue_offset: 0,
        commit_log_offset: 12_345,
    };
    assert_eq!(
        code_of(&end(&mut conn, "tpg", &bogus, COMMIT, false)),
        SYSTEM_ERROR
    );
    let pending = send_half(&mut conn, "TX1", "tpg", "0A0000010000000000000000000000C3");
    assert_eq!(
        code_of(&end(&mut conn, "other", &pending, COMMIT, false)),
        SYSTEM_ERROR
    );
    let shifted = Half {
        queue_offset: pending.queue_offset + 1,
        ..pending
    };
    assert_eq!(
        code_of(&end(&mut conn, "tpg", &shifted, COMMIT, false)),
        SYSTEM_ERROR
    );
    let info = runtime_info(&mut conn);
    assert_eq!(runtime_long(&info, "transactionHalfPending"), 1, "{info}");
    assert_eq!(max_offset(&mut conn, "TX1"), 1, "nothing else delivered");

    // Counted once each, by their topic, as Java's EndTransactionProcessor counts them; the
    // finish latency (whole seconds from the half message's birth) of the commit only.
    let (_, _, text) = http_get(metrics_port, "/metrics", "text/plain");
    let scrape = samples(&text);
    let topic = [("topic", "TX1")];
    assert_eq!(
        value(&scrape, "rocketmq_commit_messages_total", &topic),
        Some(1.0)
    );
    assert_eq!(
        value(&scrape, "rocketmq_rollback_messages_total", &topic),
        Some(1.0)
    );
    let latency = "rocketmq_finish_message_latency_milliseconds_count";
    assert_eq!(value(&scrape, latency, &topic), Some(1.0), "{text}");
    // The one left pending.
    assert_eq!(value(&scrape, "rocketmq_half_messages", &topic), Some(1.0));
}

#[test]
fn sends_java_refuses_are_refused() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    create_topic(&mut conn, "TX2", 1);
    let delayed = format!("{}DELAY\u{1}3\u{2}", half_properties("tpg", "U1"));
    let sent = send_with(&mut conn, "TX2", "tpg", &delayed, b"x");
    assert_eq!(code_of(&sent), MESSAGE_ILLEGAL, "{sent}");
    // A PREPARED sysflag without TRAN_MSG would be stored where no queue files it.
    let sent = send_with(&mut conn, "TX2", "tpg", "UNIQ_KEY\u{1}U2\u{2}", b"x");
    assert_eq!(code_of(&sent), MESSAGE_ILLEGAL, "{sent}");
    drop(broker);

    let broker = Broker::start(1, &["-o", "rejectTransactionMessage=true"]);
    let mut conn = broker.connect(0);
    create_topic(&mut conn, "TX2", 1);
    let sent = send_with(&mut conn, "TX2", "tpg", &half_properties("tpg", "U3"), b"x");
    assert_eq!(code_of(&sent), NO_PERMISSION, "{sent}");
}

#[test]
fn an_unended_transaction_is_checked_with_a_producer_of_its_group() {
    let broker = Broker::start(1, &FAST_CHECKS);
    let mut conn = broker.connect(0);
    create_topic(&mut conn, "TX3", 1);
    let mut producer = broker.connect(0);
    register_producer(&mut producer, "tpg3", "producer-1");
    let half = send_half(&mut conn, "TX3", "tpg3", "0A0000010000000000000000000000D1");

    let (fields, body) = next_check(&mut producer);
    let record = RecordView::parse(&body).expect("the checked message");
    assert_eq!(record.topic(), "TX3", "the real topic");
    assert_eq!(record.uniq_key(), Some(half.uniq.as_str()));
    assert_eq!(record.property("TRAN_MSG"), Some("true"));
    assert_eq!(fields["transactionId"], half.uniq);
    let answer = checked(&fields, &half.uniq);
    assert_eq!(
        code_of(&end(&mut conn, "tpg3", &answer, COMMIT, true)),
        SUCCESS
    );
    wait_max_offset(&mut conn, "TX3", 0, 1);
    let got = records(&mut conn, "TX3", 0);
    assert_eq!(got.len(), 1);
    assert_eq!(
        RecordView::parse(&got[0]).expect("record").uniq_key(),
        Some(half.uniq.as_str())
    );
    // The producer's own late end finds the transaction over.
    assert_eq!(
        code_of(&end(&mut conn, "tpg3", &half, COMMIT, false)),
        SYSTEM_ERROR
    );
    assert_eq!(max_offset(&mut conn, "TX3"), 1, "delivered once");
}

#[test]
fn a_transaction_nobody_answers_is_discarded_after_the_last_check() {
    let broker = Broker::start(1, &FAST_CHECKS);
    let mut conn = broker.connect(0);
    create_topic(&mut conn, "TX4", 1);
    let mut producer = broker.connect(0);
    register_producer(&mut producer, "tpg4", "producer-1");
    let half = send_half(&mut conn, "TX4", "tpg4", "0A0000010000000000000000000000E1");
    // A half message of a group with no producer online is checked all the same (nobody
    // hears it) and discarded too.
    let orphan = send_half(
        &mut conn,
        "TX4",
        "nobody",
        "0A0000010000000000000000000000E2",
    );
    // So is one that names no producer group at all.
    let groupless = "0A0000010000000000000000000000E3";
    let props = format!("TRAN_MSG\u{1}true\u{2}UNIQ_KEY\u{1}{groupless}\u{2}");
    let sent = send_with(&mut conn, "TX4", "tpg4", &props, b"no group");
    assert_eq!(code_of(&sent), SUCCESS, "{sent}");

    let mut checks = Vec::new();
    for _ in 0..3 {
        let (fields, _) = next_check(&mut producer);
        checks.push(checked(&fields, &half.uniq));
    }
    assert!(
        checks
            .windows(2)
            .all(|w| w[0].queue_offset < w[1].queue_offset),
        "each check names a new copy"
    );
    wait_for(PATIENCE, "all three discarded", || {
        (max_offset(&mut conn, "TRANS_CHECK_MAX_TIME_TOPIC") == 3).then_some(())
    });
    let discarded = uniq_keys(&records(&mut conn, "TRANS_CHECK_MAX_TIME_TOPIC", 0));
    assert!(
        discarded.contains(&Some(half.uniq.clone())),
        "{discarded:?}"
    );
    assert!(
        discarded.contains(&Some(orphan.uniq.clone())),
        "{discarded:?}"
    );
    assert!(
        discarded.contains(&Some(groupless.to_owned())),
        "{discarded:?}"
    );
    let info = runtime_info(&mut conn);
    assert_eq!(runtime_long(&info, "transactionHalfPending"), 0, "{info}");
    // Discarded is ended: a late answer to the last check changes nothing.
    let last = checks.last().expect("three checks");
    assert_eq!(
        code_of(&end(&mut conn, "tpg4", last, COMMIT, true)),
        SYSTEM_ERROR
    );
    assert_eq!(max_offset(&mut conn, "TX4"), 0);
}

#[test]
fn a_kill_between_half_message_and_end_loses_nothing() {
    // SYNC_FLUSH: an acknowledged send is durable, with everything stored before it.
    let args = [&FAST_CHECKS[..4], &["-o", "flushDiskType=SYNC_FLUSH"]].concat();
    let broker = Broker::start(1, &args);
    let mut conn = broker.connect(0);
    create_topic(&mut conn, "TX5", 1);
    let pending = send_half(&mut conn, "TX5", "tpg5", "0A0000010000000000000000000000F1");
    let ended = send_half(&mut conn, "TX5", "tpg5", "0A0000010000000000000000000000F2");
    assert_eq!(
        code_of(&end(&mut conn, "tpg5", &ended, COMMIT, false)),
        SUCCESS
    );
    // The end has no acknowledgement of its own: a send after it says it is on the disk.
    let marker = send_v2(
        &mut conn,
        "TX5-marker",
        0,
        b"after the end",
        "WAIT\u{1}true\u{2}",
    );
    assert_eq!(code_of(&marker), SUCCESS, "{marker}");
    let (store, dir) = broker.store_dir();
    drop(conn);
    broker.kill();
    let broker = Broker::start_in(1, &args, store, dir);

    let mut conn = broker.connect(0);
    let mut producer = broker.connect(0);
    register_producer(&mut producer, "tpg5", "producer-2");
    let (fields, _) = next_check(&mut producer);
    let answer = checked(&fields, &pending.uniq);
    assert_eq!(
        code_of(&end(&mut conn, "tpg5", &answer, COMMIT, true)),
        SUCCESS
    );
    wait_max_offset(&mut conn, "TX5", 0, 2);
    let ids = uniq_keys(&records(&mut conn, "TX5", 0));
    assert_eq!(ids, [Some(ended.uniq.clone()), Some(pending.uniq.clone())]);
}
