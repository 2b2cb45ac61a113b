//! The broker stopped (SIGTERM) or killed with SIGKILL and started again on the same store:
//! acknowledged messages are all there, once each, in queue order, with their bodies.
//!
//! - ASYNC_FLUSH (the default): a send is acknowledged before its bytes reach the disk, but
//!   the log writer hands them to the disk at once (it does not wait for the flush interval
//!   to write), so a kill once the broker reports them written (`commitLogWrittenOffset`)
//!   loses none of them, though none is synced yet.
//! - SYNC_FLUSH: a send is acknowledged only once synced, so a kill in the middle of a stream
//!   of sends loses none of the acknowledged ones, whenever it lands.

mod common;

use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{
    code_of, create_topic, offset_field, properties, pull, request, send_v2, try_send_v2,
    wait_all_written, wait_until, Broker, GET_MAX_OFFSET, PATIENCE, PULL_FOUND,
};
use serde_json::json;
use shardmq::wire::record::RecordView;

fn keys(i: u64) -> String {
    properties(&[("KEYS", &format!("key-{i}"))])
}

fn body(i: u64) -> Vec<u8> {
    format!("crash-body-{i}-{}", "x".repeat((i % 300) as usize)).into_bytes()
}

/// Sends messages `from..from + count` to queue 0 of `topic`, each acknowledged in order.
fn send_all(conn: &mut TcpStream, topic: &str, from: u64, count: u64) {
    for i in from..from + count {
        let response = send_v2(conn, topic, 0, &body(i), &keys(i));
        assert_eq!(code_of(&response), 0, "send {i}: {response}");
        assert_eq!(response["extFields"]["queueOffset"], i.to_string());
    }
}

fn max_offset(conn: &mut TcpStream, topic: &str) -> u64 {
    let (header, _) = request(conn, GET_MAX_OFFSET, json!({"topic": topic, "queueId": 0}));
    assert_eq!(code_of(&header), 0, "{header}");
    offset_field(&header) as u64
}

/// Pulls queue 0 of `topic` from offset 0 to its end and checks that message `i` is at
/// offset `i` with its own key and body. Returns how many there are.
fn pull_all(conn: &mut TcpStream, topic: &str) -> u64 {
    let mut next = 0u64;
    loop {
        let (header, records) = pull(conn, topic, 0, next);
        if code_of(&header) != PULL_FOUND {
            return next;
        }
        let mut rest = &records[..];
        while !rest.is_empty() {
            let record = RecordView::parse(rest).expect("a whole record");
            assert_eq!(record.queue_offset().0, next);
            assert_eq!(record.keys(), Some(format!("key-{next}").as_str()));
            assert_eq!(record.body(), body(next), "body of message {next}");
            assert!(record.body_crc_matches());
            rest = &rest[record.total_size() as usize..];
            next += 1;
        }
    }
}

/// Starts a broker again on `store`; returns it with the max offset and the number of
/// messages pulled from queue 0 of `topic`. Recovery runs before the port opens, so one
/// look is enough.
fn restart_and_count(
    store: (
        std::path::PathBuf,
        Option<std::sync::Arc<tempfile::TempDir>>,
    ),
    extra: &[&str],
    topic: &str,
) -> (Broker, u64, u64) {
    let broker = Broker::start_in(1, extra, store.0, store.1);
    let mut conn = broker.connect(0);
    let max = max_offset(&mut conn, topic);
    let pulled = pull_all(&mut conn, topic);
    drop(conn);
    (broker, max, pulled)
}

#[test]
fn a_graceful_restart_keeps_every_message_exactly_once() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    assert_eq!(code_of(&create_topic(&mut conn, "restart", 1)), 0);
    send_all(&mut conn, "restart", 0, 100);
    drop(conn);
    let store = broker.store_dir();
    assert_eq!(broker.stop(), Some(0));

    let (_broker, max, pulled) = restart_and_count(store, &[], "restart");
    assert_eq!((max, pulled), (100, 100));
}

#[test]
fn async_flush_keeps_acknowledged_messages_across_sigkill() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    assert_eq!(code_of(&create_topic(&mut conn, "crash_async", 1)), 0);
    send_all(&mut conn, "crash_async", 0, 50);
    // Written, not synced: a kill of the process leaves what is in the files, and waiting for
    // a sync would hide a writer that holds appends until the flush interval.
    wait_all_written(&mut conn);
    let store = broker.store_dir();
    broker.kill();

    let (broker, max, pulled) = restart_and_count(store, &[], "crash_async");
    assert_eq!((max, pulled), (50, 50));

    // The restarted broker appends after what it recovered.
    let mut conn = broker.connect(0);
    send_all(&mut conn, "crash_async", 50, 10);
    assert_eq!(pull_all(&mut conn, "crash_async"), 60);
}

#[test]
fn sync_flush_keeps_every_acknowledged_message_across_sigkill_under_load() {
    let sync = ["-o", "flushDiskType=SYNC_FLUSH"];
    let broker = Broker::start(1, &sync);
    let mut conn = broker.connect(0);
    assert_eq!(code_of(&create_topic(&mut conn, "crash_sync", 1)), 0);
    drop(conn);

    // A producer sends until the broker dies; it counts what was acknowledged.
    let addr = broker.addr(0);
    let counted = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&counted);
    let producer = std::thread::spawn(move || {
        let mut conn = TcpStream::connect(addr).expect("connect");
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut acked = 0u64;
        loop {
            match try_send_v2(&mut conn, "crash_sync", 0, &body(acked), &keys(acked)) {
                Some(response) if code_of(&response) == 0 => acked += 1,
                _ => return acked,
            }
            count.store(acked, Ordering::Relaxed);
        }
    });
    // The kill lands in the middle of the stream: after some sends were acknowledged.
    wait_until(PATIENCE, "100 acknowledged sends", || {
        counted.load(Ordering::Relaxed) >= 100
    });
    let store = broker.store_dir();
    broker.kill();
    let acked = producer.join().expect("producer thread");
    assert!(
        acked > 0,
        "the producer got acknowledgements before the kill"
    );

    let (_broker, max, pulled) = restart_and_count(store, &sync, "crash_sync");
    // One send may have been stored but not acknowledged when the kill landed.
    assert!(
        pulled >= acked && pulled <= acked + 1,
        "acknowledged {acked}, recovered {pulled}"
    );
    assert_eq!(max, pulled);
}
