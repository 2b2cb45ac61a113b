//! What an operator with thousands of topics observes on a broker with two shards:
//!
//! - the store takes disk space in proportion to the messages it holds, not to the queues
//!   configured: a queue holding one message takes a block or so of its ConsumeQueue file,
//!   not a preallocated segment (docs/storage.md, "ConsumeQueue");
//! - creating a topic costs the broker as much with thousands of topics as with a few,
//!   measured without a clock: by the bytes the process passes to `write` (`wchar` of
//!   `/proc/<pid>/io`) while it creates a thousand topics one request at a time, first on an
//!   almost empty table, then on one of thousands. A broker that rewrites its whole topic
//!   table at each change writes bytes in proportion to the topics it already has.
//!
//! `wchar` counts write(2) and its kin, not io_uring: the broker's sockets (answers,
//! registrations with the NameServer) and its store go through io_uring and do not show in
//! it. What shows is what it writes through the file API — its JSON files, `topics.json`
//! among them — and 8-byte eventfd wake-ups.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Read;
use std::net::TcpStream;
use std::ops::Range;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::*;
use serde_json::json;

const TOPICS: usize = 5_000;
const QUEUES: i32 = 4;
/// Topics created one request at a time first, and again last: each such stretch is measured.
const STRETCH: usize = 1_000;
/// Topics that get one message each, one in every `TOPICS / WRITTEN`.
const WRITTEN: usize = 1_000;
/// Requests in flight on each of two connections.
const WINDOW: usize = 8;
const UPDATE_AND_CREATE_TOPIC_LIST: i32 = 18;
/// A ConsumeQueue entry (docs/storage.md): log offset (8 bytes), size (4), tag hash (8).
const CQ_ENTRY: usize = 20;

/// What a queue holding one message may take on disk. A sparse segment allocates one 4 KiB
/// block for its first entry (docs/storage.md, "ConsumeQueue"); 16 times that leaves room
/// for a filesystem allocating in larger units and is still a ninetieth of the
/// 5 980 160-byte segment a preallocating store reserves for every queue.
const ONE_MESSAGE_QUEUE_MAX: u64 = 64 << 10;

/// How many times more a topic created among the last thousand may cost than one among the
/// first, besides compactions. Every creation here records the same change (names of one
/// length, the same queues), so its own bytes are the same early and late; the margin covers
/// what is written per batch of changes rather than per change, batches being sized by
/// timing.
const LATE_COST_FACTOR_MAX: u64 = 3;
/// Whole-table writes the last stretch may hold besides: a journal of changes compacted
/// once it outgrows the table is rewritten once per table's worth of changes — here at most
/// once in a stretch of 1 000 creations on a table of 4 000 to 5 000 topics, but a journal
/// with a minimum size may be compacted there and not at all in the first stretch, which
/// alone would make the last cost several times the first. Rewriting the table at each
/// batch of changes writes it a hundred times or more in that stretch.
const COMPACTIONS_MAX: u64 = 2;
/// Fewer bytes than this per created topic means `wchar` does not see where the broker
/// records its topics (each takes about 180 bytes of JSON in `topics.json`, a record of its
/// creation scarcely less): the measure would be blind, not the cost constant.
const RECORD_MIN: u64 = 64;

fn topic(i: usize) -> String {
    format!("many-{i:05}")
}

/// Bytes the process `pid` has passed to write syscalls so far (`wchar`, proc(5)).
fn written_by(pid: u32) -> u64 {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).expect("the broker's io stats");
    let value = io
        .lines()
        .find_map(|line| line.strip_prefix("wchar:"))
        .unwrap_or_else(|| panic!("no wchar in {io}"));
    value.trim().parse().expect("a byte count")
}

/// Sends `requests` (code, header fields, body) on `conn` with up to `WINDOW` unanswered at
/// a time, and checks that each is answered SUCCESS.
fn pipelined(conn: &mut TcpStream, requests: Vec<(i32, serde_json::Value, Vec<u8>)>) {
    let mut pending = HashSet::new();
    let mut requests = requests.into_iter().enumerate();
    loop {
        while pending.len() < WINDOW {
            let Some((opaque, (code, fields, body))) = requests.next() else {
                break;
            };
            let header = json!({
                "code": code, "language": "JAVA", "version": 479, "opaque": opaque, "flag": 0,
                "extFields": fields,
            });
            write_all(conn, &json_frame(&header.to_string(), &body));
            pending.insert(opaque);
        }
        if pending.is_empty() {
            return;
        }
        let answer = read_frame(conn).expect("an answer").json();
        let opaque = answer["opaque"].as_u64().expect("opaque") as usize;
        assert!(pending.remove(&opaque), "an answer to a request: {answer}");
        assert_eq!(code_of(&answer), SUCCESS, "{answer}");
    }
}

/// Creates the topics `range` with UPDATE_AND_CREATE_TOPIC, one topic a request, `WINDOW`
/// requests in flight on each shard's port.
fn create_one_at_a_time(broker: &Broker, range: Range<usize>) {
    std::thread::scope(|scope| {
        for shard in 0..broker.shards {
            let mut conn = broker.connect(shard);
            let requests = range
                .clone()
                .filter(|i| i % usize::from(broker.shards) == usize::from(shard))
                .map(|i| {
                    let fields = json!({
                        "topic": topic(i), "defaultTopic": "TBW102",
                        "readQueueNums": QUEUES.to_string(),
                        "writeQueueNums": QUEUES.to_string(), "perm": "6",
                        "topicFilterType": "SINGLE_TAG", "topicSysFlag": "0", "order": "false",
                    });
                    (UPDATE_AND_CREATE_TOPIC, fields, Vec::new())
                })
                .collect();
            scope.spawn(move || pipelined(&mut conn, requests));
        }
    });
}

/// Creates the topics `range` with UPDATE_AND_CREATE_TOPIC_LIST, 500 a request.
fn create_listed(conn: &mut TcpStream, range: Range<usize>) {
    let numbers: Vec<usize> = range.collect();
    for chunk in numbers.chunks(500) {
        let configs: Vec<_> = chunk
            .iter()
            .map(|&i| {
                json!({
                    "topicName": topic(i), "readQueueNums": QUEUES, "writeQueueNums": QUEUES,
                    "perm": 6
                })
            })
            .collect();
        let body = json!({ "topicConfigList": configs }).to_string();
        let (header, _) = request_with_body(
            conn,
            UPDATE_AND_CREATE_TOPIC_LIST,
            json!({}),
            body.as_bytes(),
        );
        assert_eq!(code_of(&header), SUCCESS, "{header}");
    }
}

/// The bytes the broker passed to write syscalls while it created `range` one at a time.
fn bytes_to_create(broker: &Broker, range: Range<usize>) -> u64 {
    let before = written_by(broker.pid());
    create_one_at_a_time(broker, range);
    written_by(broker.pid()) - before
}

/// The topic table as GET_ALL_TOPIC_CONFIG serializes it: about what a whole-table write takes.
fn table_bytes(conn: &mut TcpStream) -> u64 {
    let (header, body) = request(conn, GET_ALL_TOPIC_CONFIG, json!({}));
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    body.len() as u64
}

/// The topics that get a message, each with the shard it is sent to (its queue 0 there).
fn written_topics() -> impl Iterator<Item = (String, u16)> {
    (0..WRITTEN).map(|k| (topic(k * (TOPICS / WRITTEN)), (k % 2) as u16))
}

fn queue_dir(store: &Path, shard: u16, topic: &str, queue: &str) -> std::path::PathBuf {
    let shard = format!("shard-{shard}");
    store
        .join(shard)
        .join("consumequeue")
        .join(topic)
        .join(queue)
}

/// Whether entry 0 of queue 0 of `topic` on `shard` is in its file: a non-zero size.
fn first_entry_on_disk(store: &Path, shard: u16, topic: &str) -> bool {
    let file = queue_dir(store, shard, topic, "0").join(format!("{:020}", 0));
    let mut entry = [0; CQ_ENTRY];
    let read = std::fs::File::open(file).and_then(|mut file| file.read_exact(&mut entry));
    read.is_ok() && entry[8..12] != [0; 4]
}

/// Allocated bytes (st_blocks × 512) of each queue directory under each shard's
/// `consumequeue/<topic>/<queue>/`, by (shard, topic, queue).
fn allocated_per_queue(store: &Path, shards: u16) -> BTreeMap<(u16, String, String), u64> {
    let names = |dir: &Path| -> Vec<String> {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let names = entries.map(|entry| entry.expect("an entry").file_name());
        names
            .map(|name| name.to_string_lossy().into_owned())
            .collect()
    };
    let mut queues = BTreeMap::new();
    for shard in 0..shards {
        let root = store.join(format!("shard-{shard}")).join("consumequeue");
        for topic in names(&root) {
            for queue in names(&root.join(&topic)) {
                let dir = queue_dir(store, shard, &topic, &queue);
                let allocated = names(&dir)
                    .iter()
                    .map(|file| {
                        let meta = std::fs::metadata(dir.join(file)).expect("a queue file");
                        meta.blocks() * 512
                    })
                    .sum();
                queues.insert((shard, topic.clone(), queue), allocated);
            }
        }
    }
    queues
}

#[test]
fn thousands_of_topics_take_disk_by_their_data_and_cost_alike_to_create() {
    let broker = Broker::start(2, &[]);
    wait_route(broker.namesrv_addr(), "TBW102", 2);
    let mut conn = broker.connect(0);

    let first = bytes_to_create(&broker, 0..STRETCH);
    create_listed(&mut conn, STRETCH..TOPICS - STRETCH);
    let last = bytes_to_create(&broker, TOPICS - STRETCH..TOPICS);
    let table = table_bytes(&mut conn);
    for i in [0, STRETCH, TOPICS - 1] {
        let route = wait_route(broker.namesrv_addr(), &topic(i), 2);
        let queues = route["queueDatas"].as_array().expect("queueDatas");
        let count: i64 = queues.iter().map(|q| int(q, "writeQueueNums")).sum();
        assert_eq!(count, i64::from(QUEUES), "{route}");
    }

    // Disk use: one small message to queue 0 of a thousand topics, half on each shard.
    let mut conns = [broker.connect(0), broker.connect(1)];
    for (topic, shard) in written_topics() {
        let conn = &mut conns[usize::from(shard)];
        let sent = send_v2(conn, &topic, 0, b"one", "");
        assert_eq!(code_of(&sent), SUCCESS, "{sent}");
        assert_eq!(sent["extFields"]["queueId"], "0", "{sent}");
    }
    for (topic, shard) in written_topics() {
        let conn = &mut conns[usize::from(shard)];
        let (header, _) = request(
            conn,
            GET_MAX_OFFSET,
            json!({ "topic": topic, "queueId": 0 }),
        );
        assert_eq!(code_of(&header), SUCCESS, "{header}");
        assert_eq!(offset_field(&header), 1, "{topic}: {header}");
    }
    wait_until(PATIENCE, "every queue's entry in its file", || {
        written_topics().all(|(topic, shard)| first_entry_on_disk(&broker.store, shard, &topic))
    });
    let queues = allocated_per_queue(&broker.store, broker.shards);
    let written: BTreeSet<(u16, String, String)> = written_topics()
        .map(|(topic, shard)| (shard, topic, "0".to_owned()))
        .collect();
    for key in &written {
        let allocated = queues.get(key).copied().unwrap_or_default();
        assert!(
            allocated <= ONE_MESSAGE_QUEUE_MAX,
            "queue {key:?} holds one message in {allocated} allocated bytes"
        );
    }
    let total: u64 = queues.values().sum();
    eprintln!(
        "{WRITTEN} messages in {} queues of {TOPICS} topics: {} queue directories, \
         {total} bytes allocated",
        TOPICS * QUEUES as usize,
        queues.len()
    );
    assert!(
        total <= WRITTEN as u64 * ONE_MESSAGE_QUEUE_MAX,
        "{WRITTEN} messages take {total} allocated bytes in {} queue directories",
        queues.len()
    );

    // Creation cost: the last thousand against the first.
    let allowed = LATE_COST_FACTOR_MAX * first + COMPACTIONS_MAX * table;
    let per_topic = |bytes: u64| bytes / STRETCH as u64;
    let figures = format!(
        "the broker wrote {} bytes per topic for the first {STRETCH} created and {} for the \
         last {STRETCH}, {:.1} times as many; allowed: {} ({LATE_COST_FACTOR_MAX} times as \
         many, plus {COMPACTIONS_MAX} writes of the {table}-byte table of {TOPICS} topics)",
        per_topic(first),
        per_topic(last),
        last as f64 / first as f64,
        per_topic(allowed),
    );
    eprintln!("{figures}");
    assert!(
        first >= RECORD_MIN * STRETCH as u64,
        "wchar does not see where topics are recorded: {figures}"
    );
    assert!(
        last <= allowed,
        "creating a topic costs more with more topics: {figures}"
    );
}
