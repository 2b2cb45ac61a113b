//! Micro bench of the CommitLog record codec: encode into a reused buffer, the
//! recovery/reput `check` (structure, body CRC, properties scan), and what a pull checks of a
//! record read back from disk before serving it (`is_record_of`: structure, owner, body CRC).
//!
//! Run: `cargo bench --bench record` (bench profile: release, thin
//! LTO). One run on the 2-core development machine (AMD EPYC, shared), 2026-12-06; records
//! carry topic "TopicTest" and 4 properties (TAGS, KEYS, WAIT, UNIQ_KEY) around a body of
//! 128 B, 1 KiB and 16 KiB:
//!
//! ```text
//! encode (incl. body CRC)           311 B     45.3 ns/record    6542 MiB/s
//! patch 3 append-time fields        311 B      2.0 ns/record
//! check (incl. body CRC, props)     311 B    117.5 ns/record    2524 MiB/s
//! served from disk: is_record_of    311 B     53.1 ns/record    5582 MiB/s
//! encode (incl. body CRC)          1207 B     89.2 ns/record   12911 MiB/s
//! patch 3 append-time fields       1207 B      2.2 ns/record
//! check (incl. body CRC, props)    1207 B    149.1 ns/record    7720 MiB/s
//! served from disk: is_record_of   1207 B     78.0 ns/record   14761 MiB/s
//! encode (incl. body CRC)         16567 B    520.9 ns/record   30333 MiB/s
//! patch 3 append-time fields      16567 B      2.1 ns/record
//! check (incl. body CRC, props)   16567 B    428.2 ns/record   36896 MiB/s
//! served from disk: is_record_of  16567 B    359.3 ns/record   43974 MiB/s
//! ```

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use shardmq::storage::record::is_record_of;
use shardmq::storage::QueueId;
use shardmq::wire::record::{
    check, set_physical_offset, set_queue_offset, set_store_timestamp, PhysicalOffset, QueueOffset,
    RecordFields, RecordVersion, Scan, SysFlag,
};

const PROPERTIES: &str = "TAGS\u{1}TagA\u{2}KEYS\u{1}order-1 order-2\u{2}WAIT\u{1}true\u{2}\
                          UNIQ_KEY\u{1}7F0000010D4818B4AAC2513C5A9D0000\u{2}";

fn fields(body: &[u8]) -> RecordFields<'_> {
    let host = SocketAddr::new(Ipv4Addr::new(10, 0, 0, 1).into(), 10_911);
    RecordFields {
        version: RecordVersion::V1,
        queue_id: 1,
        flag: 0,
        queue_offset: QueueOffset(0),
        physical_offset: PhysicalOffset(0),
        sysflag: SysFlag(0),
        born_timestamp_ms: 1_700_000_000_000,
        born_host: host,
        store_timestamp_ms: 0,
        store_host: host,
        reconsume_times: 0,
        prepared_transaction_offset: PhysicalOffset(0),
        body,
        topic: "TopicTest",
        properties: PROPERTIES,
    }
}

/// Runs `step` in rounds until a second has passed; returns operations per second.
fn measure(mut step: impl FnMut(u64)) -> f64 {
    for i in 0..10_000 {
        step(i);
    }
    let (mut done, started) = (0u64, Instant::now());
    while started.elapsed() < Duration::from_secs(1) {
        for _ in 0..10_000 {
            step(done);
            done += 1;
        }
    }
    done as f64 / started.elapsed().as_secs_f64()
}

/// Prints one line; throughput in bytes only where the work grows with the record.
fn report(name: &str, record_size: usize, ops: f64, per_byte: bool) {
    let ns = 1e9 / ops;
    let rate = if per_byte {
        format!(
            "{:>7.0} MiB/s",
            ops * record_size as f64 / (1024.0 * 1024.0)
        )
    } else {
        String::new()
    };
    let line = format!("{name:<30} {record_size:>6} B {ns:>8.1} ns/record {rate}");
    println!("{}", line.trim_end());
}

fn bench_size(body_size: usize) {
    let body = vec![0x5Au8; body_size];
    let record = fields(&body);
    let mut out = BytesMut::with_capacity(2 * body_size + 1024);
    let size = record.encoded_len().expect("bench record is valid");

    let ops = measure(|i| {
        out.clear();
        let mut stamped = record;
        stamped.queue_offset = QueueOffset(i);
        stamped.physical_offset = PhysicalOffset(i * size as u64);
        black_box(stamped.encode(&mut out).expect("encodes"));
    });
    report("encode (incl. body CRC)", size, ops, true);

    let mut encoded = out.to_vec();
    let ops = measure(|i| {
        let bytes = black_box(&mut encoded[..]);
        set_queue_offset(bytes, QueueOffset(i)).expect("patches");
        set_physical_offset(bytes, PhysicalOffset(i)).expect("patches");
        set_store_timestamp(bytes, i as i64).expect("patches");
    });
    report("patch 3 append-time fields", size, ops, false);

    let ops = measure(|_| match check(black_box(&encoded)) {
        Ok(Scan::Message(meta)) => {
            black_box(meta.tags_hash);
        }
        other => panic!("bench record rejected: {other:?}"),
    });
    report("check (incl. body CRC, props)", size, ops, true);

    // What a pull checks of a record it read from disk before serving it.
    let at = PhysicalOffset(1 << 20);
    set_physical_offset(&mut encoded, at).expect("patches");
    let ops = measure(|_| {
        let ok = is_record_of(black_box(&encoded), at, "TopicTest", QueueId(1));
        assert!(black_box(ok), "bench record rejected");
    });
    report("served from disk: is_record_of", size, ops, true);
}

fn main() {
    for body_size in [128, 1024, 16 * 1024] {
        bench_size(body_size);
    }
}
