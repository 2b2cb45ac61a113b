//! A slave of a master whose log no longer starts at 0 (retention deleted its oldest
//! segments; forced here with `diskSpaceCleanForciblyRatio=1`, which deletes every settled
//! segment but the one being written):
//!
//! - on an empty store it copies what the master keeps, from the master's oldest record at
//!   the same offsets, its queues starting where the master's do, and it reads the same
//!   messages; after a restart it still does, and goes on copying;
//! - stopped while the master's retention passes its end, it is refused when it comes back,
//!   says why in its own log, and keeps every record it has.

mod common;

use std::net::TcpStream;

use common::{
    code_of, create_topic, pull_until_found, request, runtime_info, runtime_long, send_v2,
    slave_args, wait_until, Broker, PATIENCE, SUCCESS,
};
use serde_json::json;

const TOPIC: &str = "Retained";
const GET_MAX_OFFSET: i32 = 30;
const GET_MIN_OFFSET: i32 = 31;
/// Bodies of 4 KiB: a test segment (4 MiB) holds about a thousand, so the queue's oldest
/// kept offset is past the first block of ConsumeQueue entries (1,024), which a restart
/// finds by where the queue file's data starts.
const BODY: usize = 4 << 10;
/// Messages sent first: the master keeps the last segment or two of them.
const FIRST: usize = 2_500;

fn queue_offset(conn: &mut TcpStream, code: i32) -> i64 {
    let (header, _) = request(conn, code, json!({"topic": TOPIC, "queueId": 0}));
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    common::offset_field(&header)
}

/// The queue's (min, max) offsets.
fn queue_range(conn: &mut TcpStream) -> (i64, i64) {
    (
        queue_offset(conn, GET_MIN_OFFSET),
        queue_offset(conn, GET_MAX_OFFSET),
    )
}

fn log_offset(conn: &mut TcpStream, key: &str) -> i64 {
    runtime_long(&runtime_info(conn), key)
}

/// Sends messages `from..to`, each body its number followed by filler.
fn send(conn: &mut TcpStream, range: std::ops::Range<usize>) {
    for n in range {
        let mut body = format!("message {n} ").into_bytes();
        body.resize(BODY, b'.');
        let header = send_v2(conn, TOPIC, 0, &body, "");
        assert_eq!(code_of(&header), SUCCESS, "{header}");
    }
}

/// The test brokers' segment size (tests/common: `mappedFileSizeCommitLog`).
const SEGMENT: i64 = 4 << 20;

/// Waits until the master's retention is done: forced, it deletes every segment below the
/// one being written, a pass at a time. Returns the master's oldest offset then.
fn wait_master_settled(conn: &mut TcpStream) -> i64 {
    let end = log_offset(conn, "commitLogMaxOffset");
    let active = end - end % SEGMENT;
    let what = format!("the master's retention down to its active segment {active}");
    common::wait_until(PATIENCE, &what, || {
        log_offset(conn, "commitLogMinOffset") == active
    });
    active
}

/// Waits until the master's log starts past `offset`.
fn wait_master_min_past(conn: &mut TcpStream, offset: i64) -> i64 {
    let what = format!("the master's retention past {offset}");
    common::wait_for(PATIENCE, &what, || {
        Some(log_offset(conn, "commitLogMinOffset")).filter(|&min| min > offset)
    })
}

/// The bodies of the first messages of the queue from `offset`, as a pull answers (once the
/// broker knows the topic: a slave takes its master's topics every few seconds).
fn bodies_from(conn: &mut TcpStream, offset: i64) -> Vec<Vec<u8>> {
    let body = pull_until_found(conn, TOPIC, 0, offset as u64);
    let mut records = Vec::new();
    let mut at = 0;
    while at < body.len() {
        let size = u32::from_be_bytes(body[at..at + 4].try_into().expect("4")) as usize;
        records.push(common::decode_record(&body[at..at + size]).body);
        at += size;
    }
    records
}

fn start_slave(master: &Broker, store: (std::path::PathBuf, Option<std::path::PathBuf>)) -> Broker {
    let args = slave_args(master.listen_port, master.namesrv_port, true);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (store, log) = store;
    let log = log.as_deref().map(|path| ("info", path));
    Broker::spawn(1, &args, store, None, log)
}

#[test]
fn a_new_slave_copies_what_the_master_keeps_and_one_left_behind_is_refused() {
    let master = Broker::start(
        1,
        &[
            "-o",
            "diskSpaceCleanForciblyRatio=1",
            "-o",
            "cleanFileForciblyEnable=true",
        ],
    );
    let mut on_master = master.connect(0);
    assert_eq!(code_of(&create_topic(&mut on_master, TOPIC, 1)), SUCCESS);
    send(&mut on_master, 0..FIRST);
    let oldest = wait_master_settled(&mut on_master);
    let (min, max) = queue_range(&mut on_master);
    assert!(
        min > 1024 && max == FIRST as i64,
        "master's queue {min}..{max}"
    );

    // A slave on an empty store begins at the master's oldest record.
    let stores = tempfile::tempdir().expect("stores");
    let store = stores.path().join("slave");
    let slave = start_slave(&master, (store.clone(), None));
    let mut on_slave = slave.connect(0);
    let end = log_offset(&mut on_master, "commitLogMaxOffset");
    wait_until(PATIENCE, "the slave holding the master's log", || {
        log_offset(&mut on_slave, "commitLogMaxOffset") == end
    });
    assert_eq!(log_offset(&mut on_slave, "commitLogMinOffset"), oldest);
    wait_until(PATIENCE, "the slave's queue", || {
        queue_range(&mut on_slave) == (min, max)
    });
    let expected = bodies_from(&mut on_master, min);
    assert_eq!(bodies_from(&mut on_slave, min), expected);
    assert!(expected[0].starts_with(format!("message {min} ").as_bytes()));

    // After a restart the queue still begins there, and the copy goes on.
    drop(on_slave);
    assert_eq!(slave.stop(), Some(0));
    let slave = start_slave(&master, (store.clone(), None));
    let mut on_slave = slave.connect(0);
    assert_eq!(queue_range(&mut on_slave), (min, max));
    assert_eq!(bodies_from(&mut on_slave, min), expected);
    send(&mut on_master, FIRST..FIRST + 10);
    wait_until(PATIENCE, "the slave copying on", || {
        queue_range(&mut on_slave).1 == FIRST as i64 + 10
    });
    let slave_end = log_offset(&mut on_slave, "commitLogMaxOffset");

    // Stopped while the master's retention passes its end: refused, and kept as it is.
    drop(on_slave);
    assert_eq!(slave.stop(), Some(0));
    send(&mut on_master, FIRST + 10..2 * FIRST);
    wait_master_min_past(&mut on_master, slave_end);
    let log = stores.path().join("slave.log");
    let slave = start_slave(&master, (store, Some(log.clone())));
    wait_until(PATIENCE, "the slave saying why it does not follow", || {
        std::fs::read_to_string(&log)
            .is_ok_and(|text| text.contains("fell behind the master's retention"))
    });
    let mut on_slave = slave.connect(0);
    assert_eq!(log_offset(&mut on_slave, "commitLogMaxOffset"), slave_end);
    assert_eq!(queue_range(&mut on_slave), (min, FIRST as i64 + 10));
}
