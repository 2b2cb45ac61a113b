//! Damaged bytes cost only the record they hit. A flipped byte in the middle of a CommitLog
//! segment, with the checkpoint lost (recovery rescans) or intact (the record is read back
//! from disk), and a flipped byte in a ConsumeQueue entry: after a restart every other
//! acknowledged message is still served byte for byte, the consumer moves past the damaged
//! one, and the broker reports what it left out.

mod common;

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::net::TcpStream;
use std::os::unix::fs::FileExt;
use std::path::Path;

use common::*;

const TOPIC: &str = "Damaged";
const MESSAGES: usize = 300;
/// The message whose bytes are damaged.
const VICTIM: usize = 150;

fn body(i: usize) -> Vec<u8> {
    format!("message {i:04} ").repeat(60).into_bytes()
}

/// Sends the messages to queue 0 and returns each one's log offset.
fn fill(conn: &mut TcpStream) -> Vec<u64> {
    assert_eq!(code_of(&create_topic(conn, TOPIC, 1)), SUCCESS);
    create_group(conn, "cg");
    let offsets = (0..MESSAGES)
        .map(|i| {
            let sent = send_v2(conn, TOPIC, 0, &body(i), "");
            assert_eq!(code_of(&sent), SUCCESS, "{sent}");
            let id = sent["extFields"]["msgId"].as_str().expect("msgId");
            decode_offset_message_id(id).1 as u64
        })
        .collect();
    wait_all_written(conn);
    offsets
}

fn flip(path: &Path, at: u64) {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut byte = [0u8];
    file.read_exact_at(&mut byte, at).expect("read");
    byte[0] ^= 0x5a;
    file.write_all_at(&byte, at).expect("write");
    file.sync_all().expect("sync");
}

fn segment(store: &Path) -> std::path::PathBuf {
    store.join("shard-0/commitlog/00000000000000000000")
}

/// Every message the queue serves, by its body's number, pulling from 0 to the end.
fn consume(conn: &mut TcpStream) -> BTreeMap<usize, Vec<u8>> {
    let mut got = BTreeMap::new();
    let mut offset = 0u64;
    loop {
        let (header, body) = pull(conn, TOPIC, 0, offset);
        let next: u64 = header["extFields"]["nextBeginOffset"]
            .as_str()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a pull names the next offset: {header}"));
        let mut at = 0;
        while at < body.len() {
            let size = u32::from_be_bytes(body[at..at + 4].try_into().expect("4")) as usize;
            let record = decode_record(&body[at..at + size]);
            let text = String::from_utf8_lossy(&record.body[8..12]).into_owned();
            got.insert(text.parse().expect("numbered"), record.body);
            at += size;
        }
        if next as usize >= MESSAGES {
            return got;
        }
        assert!(next > offset, "the consumer moves on: {header}");
        offset = next;
    }
}

fn assert_all_but_the_victim(got: &BTreeMap<usize, Vec<u8>>) {
    let missing: Vec<usize> = (0..MESSAGES).filter(|i| !got.contains_key(i)).collect();
    assert_eq!(missing, vec![VICTIM], "only the damaged message is missing");
    for (i, bytes) in got {
        assert_eq!(bytes, &body(*i), "message {i} byte for byte");
    }
}

/// Stops the broker, damages its store with `damage`, starts it again on the same store.
fn restart_after(broker: Broker, damage: impl FnOnce(&Path)) -> Broker {
    let (store, dir) = broker.store_dir();
    assert_eq!(broker.stop(), Some(0));
    damage(&store);
    Broker::start_in(1, &[], store, dir)
}

#[test]
fn a_damaged_record_with_the_checkpoint_lost_costs_only_that_record() {
    let broker = Broker::start(1, &[]);
    let offsets = fill(&mut broker.connect(0));
    let broker = restart_after(broker, |store| {
        flip(&segment(store), offsets[VICTIM] + 500);
        std::fs::remove_file(store.join("shard-0/checkpoint")).expect("checkpoint");
    });
    let mut conn = broker.connect(0);
    assert_all_but_the_victim(&consume(&mut conn));
    let info = runtime_info(&mut conn);
    assert_eq!(runtime_long(&info, "commitLogDamagedRanges"), 1, "{info}");
    let span = offsets[VICTIM + 1] - offsets[VICTIM];
    assert_eq!(runtime_long(&info, "commitLogDamagedBytes"), span as i64);
}

#[test]
fn a_damaged_record_read_back_from_disk_is_never_served() {
    let broker = Broker::start(1, &[]);
    let offsets = fill(&mut broker.connect(0));
    let broker = restart_after(broker, |store| {
        flip(&segment(store), offsets[VICTIM] + 500);
    });
    let mut conn = broker.connect(0);
    assert_all_but_the_victim(&consume(&mut conn));
    let info = runtime_info(&mut conn);
    assert_eq!(runtime_long(&info, "damagedRecordsLeftOut"), 1, "{info}");
}

#[test]
fn a_damaged_consume_queue_entry_does_not_stop_the_consumer() {
    let broker = Broker::start(1, &[]);
    fill(&mut broker.connect(0));
    let broker = restart_after(broker, |store| {
        let queue = store.join("shard-0/consumequeue").join(TOPIC).join("0");
        // A high byte of the entry's log offset: it now points far past the log.
        flip(&queue.join("00000000000000000000"), VICTIM as u64 * 20 + 2);
    });
    let mut conn = broker.connect(0);
    assert_all_but_the_victim(&consume(&mut conn));
    let info = runtime_info(&mut conn);
    assert_eq!(runtime_long(&info, "damagedRecordsLeftOut"), 1, "{info}");
}
