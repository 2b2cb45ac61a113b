//! QUERY_MESSAGE: messages sent with KEYS and UNIQ_KEY are found by key and by unique key on
//! the shard that stored them (newest `maxNum`, in log order, within the time range), a miss
//! is QUERY_NOT_FOUND, a bad header a clear error, and the index answers the same after a
//! graceful restart and after a kill. With `messageIndexEnable=false` new keys are not filed.

mod common;

use std::net::TcpStream;

use common::*;
use serde_json::json;

const QUERY_MESSAGE: i32 = 12;
const QUERY_NOT_FOUND: i64 = 22;
const TOPIC: &str = "queried";

/// Asks shard `conn` for `key` of `topic` within `[begin, end]`.
fn query(
    conn: &mut TcpStream,
    topic: &str,
    key: &str,
    max_num: i32,
    range: (i64, i64),
    unique: bool,
) -> (serde_json::Value, Vec<Record>) {
    let fields = json!({
        "topic": topic, "key": key, "maxNum": max_num.to_string(),
        "beginTimestamp": range.0.to_string(), "endTimestamp": range.1.to_string(),
        "_UNIQUE_KEY_QUERY": unique.to_string(),
    });
    let (header, body) = request(conn, QUERY_MESSAGE, fields);
    (header, split_records(&body))
}

/// The records of a query body, which holds them back to back.
fn split_records(mut body: &[u8]) -> Vec<Record> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let size = u32::from_be_bytes(body[..4].try_into().expect("4")) as usize;
        out.push(decode_record(&body[..size]));
        body = &body[size..];
    }
    out
}

const ALL_TIME: (i64, i64) = (0, i64::MAX);

/// Queries until the answer holds `count` records: a send is acknowledged before reput files
/// its keys.
fn wait_found(conn: &mut TcpStream, key: &str, count: usize) -> (serde_json::Value, Vec<Record>) {
    wait_for(PATIENCE, &format!("{count} records under {key}"), || {
        let (header, records) = query(conn, TOPIC, key, 64, ALL_TIME, false);
        assert_eq!(code_of(&header), SUCCESS, "{key}: {header}");
        (records.len() == count).then_some((header, records))
    })
}

fn send(conn: &mut TcpStream, topic: &str, body: &str, uniq: &str, keys: &str) -> i64 {
    let props = properties(&[("UNIQ_KEY", uniq), ("KEYS", keys)]);
    let sent = send_v2(conn, topic, 0, body.as_bytes(), &props);
    assert_eq!(code_of(&sent), SUCCESS, "{sent}");
    decode_offset_message_id(sent["extFields"]["msgId"].as_str().expect("msgId")).1
}

fn bodies(records: &[Record]) -> Vec<String> {
    let text = |r: &Record| String::from_utf8(r.body.clone()).expect("UTF-8");
    records.iter().map(text).collect()
}

/// Sends the messages the test queries for to `conn`'s shard; returns the offsets of the
/// five messages sent last, which share the key `shared` with the first, oldest first.
fn send_keyed(conn: &mut TcpStream) -> Vec<i64> {
    send(conn, TOPIC, "order one", "UNIQ-A", "order-1 shared");
    send(conn, "other", "not this topic", "UNIQ-X", "order-1");
    send(conn, TOPIC, "Aa body", "UNIQ-AA", "Aa");
    // "BB" has the Java hash of "Aa": the broker must not answer one for the other.
    send(conn, TOPIC, "BB body", "UNIQ-BB", "BB");
    let mut shared = Vec::new();
    for i in 0..5 {
        let keys = format!("shared order-{}", i + 2);
        shared.push(send(
            conn,
            TOPIC,
            &format!("shared {i}"),
            &format!("UNIQ-{i}"),
            &keys,
        ));
    }
    shared
}

/// What every restart must still answer.
fn assert_answers(conn: &mut TcpStream) {
    let (header, one) = wait_found(conn, "order-1", 1);
    assert_eq!(bodies(&one), ["order one"]);
    assert_eq!(one[0].topic, TOPIC);
    let updated: i64 = header["extFields"]["indexLastUpdateTimestamp"]
        .as_str()
        .expect("indexLastUpdateTimestamp")
        .parse()
        .expect("a number");
    assert!(updated >= one[0].store_timestamp, "{header}");
    assert!(header["extFields"]["indexLastUpdatePhyoffset"].is_string());

    let (_, by_uniq) = query(conn, TOPIC, "UNIQ-3", 1, ALL_TIME, true);
    assert_eq!(bodies(&by_uniq), ["shared 3"]);
    assert_eq!(bodies(&wait_found(conn, "Aa", 1).1), ["Aa body"]);
    assert_eq!(bodies(&wait_found(conn, "BB", 1).1), ["BB body"]);
    assert_eq!(wait_found(conn, "shared", 6).1.len(), 6);
}

#[test]
fn keys_and_unique_keys_are_found_on_the_shard_that_stored_them() {
    let broker = Broker::start(2, &[]);
    let mut shard1 = broker.connect(1);
    let before = now_ms() - 1000;
    let shared = send_keyed(&mut shard1);
    assert_answers(&mut shard1);

    // maxNum picks the newest, answered in log order as Java does.
    let (header, newest) = query(&mut shard1, TOPIC, "shared", 3, ALL_TIME, false);
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    assert_eq!(bodies(&newest), ["shared 2", "shared 3", "shared 4"]);
    let offsets: Vec<i64> = newest.iter().map(|r| r.physical_offset).collect();
    assert_eq!(offsets, shared[2..]);
    // A unique-key query asks for 32 whatever its maxNum, and the key is not unique here.
    let (_, as_unique) = query(&mut shard1, TOPIC, "shared", 1, ALL_TIME, true);
    assert_eq!(as_unique.len(), 6);

    // Time ranges: the index keeps whole seconds, so a range ending well before the sends
    // finds nothing and one around them finds everything.
    let (header, none) = query(&mut shard1, TOPIC, "shared", 64, (0, before - 5000), false);
    assert_eq!(code_of(&header), QUERY_NOT_FOUND, "{header}");
    assert!(none.is_empty());
    let around = (before, now_ms() + 1000);
    assert_eq!(
        query(&mut shard1, TOPIC, "shared", 64, around, false)
            .1
            .len(),
        6
    );

    // Misses: an unknown key, another topic's key, another shard's messages.
    let mut shard0 = broker.connect(0);
    for (shard, topic, key) in [
        (1, TOPIC, "no-such-key"),
        (1, "no-such-topic", "order-1"),
        (0, TOPIC, "order-1"),
    ] {
        let conn = if shard == 0 { &mut shard0 } else { &mut shard1 };
        let (header, records) = query(conn, topic, key, 64, ALL_TIME, false);
        assert_eq!(code_of(&header), QUERY_NOT_FOUND, "{topic}#{key}: {header}");
        assert_eq!(
            header["remark"],
            "can not find message, maybe time range not correct"
        );
        assert!(records.is_empty());
        assert!(header["extFields"]["indexLastUpdateTimestamp"].is_string());
    }
    let (header, _) = query(&mut shard1, TOPIC, "order-1", 0, ALL_TIME, false);
    assert_eq!(code_of(&header), QUERY_NOT_FOUND, "maxNum 0: {header}");
}

#[test]
fn a_malformed_header_is_refused_naming_the_field() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    let full = json!({"topic": TOPIC, "key": "k", "maxNum": "8",
                      "beginTimestamp": "0", "endTimestamp": "9"});
    for (field, value) in [
        ("key", None),
        ("topic", None),
        ("maxNum", Some("eight")),
        ("beginTimestamp", Some("")),
        ("endTimestamp", Some("99999999999999999999")),
    ] {
        let mut fields = full.clone();
        match value {
            None => drop(fields.as_object_mut().expect("object").remove(field)),
            Some(v) => fields[field] = json!(v),
        }
        let (header, body) = request(&mut conn, QUERY_MESSAGE, fields);
        assert_eq!(code_of(&header), SYSTEM_ERROR, "{field}: {header}");
        let remark = header["remark"].as_str().expect("remark");
        assert!(remark.contains(field), "{field}: {remark}");
        assert!(body.is_empty());
    }
    let (header, _) = request(&mut conn, QUERY_MESSAGE, full);
    assert_eq!(code_of(&header), QUERY_NOT_FOUND, "still serving: {header}");
}

#[test]
fn the_index_answers_the_same_after_a_restart_and_after_a_kill() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    send_keyed(&mut conn);
    assert_answers(&mut conn);
    drop(conn);

    let (store, dir) = broker.store_dir();
    assert_eq!(broker.stop(), Some(0));
    let broker = Broker::start_in(1, &[], store.clone(), dir.clone());
    let mut conn = broker.connect(0);
    assert_answers(&mut conn);
    // Filed after the restart, then the process is killed before any shutdown work.
    send(&mut conn, TOPIC, "late", "UNIQ-LATE", "late shared");
    assert_eq!(bodies(&wait_found(&mut conn, "late", 1).1), ["late"]);
    drop(conn);
    broker.kill();

    let broker = Broker::start_in(1, &[], store, dir);
    let mut conn = broker.connect(0);
    assert_answers_after_late(&mut conn);
}

#[test]
fn with_message_index_disabled_new_keys_are_not_filed() {
    let broker = Broker::start(1, &["-o", "messageIndexEnable=false"]);
    let mut conn = broker.connect(0);
    send(&mut conn, TOPIC, "unfiled", "UNIQ-OFF", "off-key");
    // Dispatched: reput files a record's keys right after its ConsumeQueue entry.
    let body = pull_until_found(&mut conn, TOPIC, 0, 0);
    assert_eq!(decode_record(&body).body, b"unfiled");
    let assert_unfiled = |conn: &mut TcpStream| {
        for (key, unique) in [("off-key", false), ("UNIQ-OFF", true)] {
            let (header, records) = query(conn, TOPIC, key, 64, ALL_TIME, unique);
            assert_eq!(code_of(&header), QUERY_NOT_FOUND, "{key}: {header}");
            assert!(records.is_empty());
        }
    };
    assert_unfiled(&mut conn);
    drop(conn);

    // Turned on again, the index files what arrives from then on, as Java's does.
    let (store, dir) = broker.store_dir();
    assert_eq!(broker.stop(), Some(0));
    let broker = Broker::start_in(1, &[], store, dir);
    let mut conn = broker.connect(0);
    send(&mut conn, TOPIC, "filed", "UNIQ-ON", "on-key");
    assert_eq!(bodies(&wait_found(&mut conn, "on-key", 1).1), ["filed"]);
    assert_unfiled(&mut conn);
}

fn assert_answers_after_late(conn: &mut TcpStream) {
    assert_eq!(bodies(&wait_found(conn, "late", 1).1), ["late"]);
    let (_, shared) = wait_found(conn, "shared", 7);
    assert_eq!(bodies(&shared).last().map(String::as_str), Some("late"));
    assert_eq!(bodies(&wait_found(conn, "order-1", 1).1), ["order one"]);
    let (_, by_uniq) = query(conn, TOPIC, "UNIQ-LATE", 1, ALL_TIME, true);
    assert_eq!(bodies(&by_uniq), ["late"]);
}
