//! Seeded simulation of one shard's transactions over the memory disk: random half sends,
//! ends (the producer's, duplicates, late answers to checks), check rounds answered or not,
//! flushes and power cuts (writes not synced are dropped, kept or torn, each on its own), for
//! several lives per seed. Each transaction's fate (commit or rollback) is drawn when it is
//! sent; every end and every check answer says that fate.
//!
//! After every start: no transaction is delivered twice, none delivered unless its fate is
//! commit, and every commit the broker took before a flush is delivered. After the last
//! life, checks are answered until nothing is pending: every commit whose half message was
//! flushed is delivered exactly once.
//!
//! Replay one seed with `TRANSACTION_SIM_SEED=<seed>`.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;

use super::*;
use crate::broker::clients::registry::{ClientChannel, ClientRegistry};
use crate::broker::transaction::writes::put_retrying;
use crate::clock::ManualClock;
use crate::storage::config::{FlushPolicy, LogConfig, StoreConfig};
use crate::storage::index::Geometry;
use crate::storage::io::mem::SeedGuard;
use crate::storage::io::{Disk, Faults, MemDisk, SimRng};
use crate::storage::QueueOffset;
use crate::wire::codes::request_code;
use crate::wire::record::{RecordVersion, SysFlag, TransactionType};

const LIVES: usize = 5;
const TOPIC: &str = "T";
const GROUP: &str = "pg";

/// What the simulation knows of one transaction.
#[derive(Debug, Clone, Default)]
struct Tx {
    commit: bool,
    /// Its half record's offsets as the send stored it.
    half: (u64, u64),
    /// Its half message is durable (a flush after the send succeeded).
    half_durable: bool,
    /// A power cut came before its half message was durable: it may or may not be there.
    half_in_doubt: bool,
    /// The broker took a commit of it (an end answered SUCCESS) ...
    committed: bool,
    /// ... and a flush after that succeeded.
    committed_durable: bool,
}

/// A producer connection that keeps the checks it is sent.
#[derive(Debug, Default)]
struct Producer {
    checks: RefCell<Vec<RemotingCommand>>,
    opaque: Cell<i32>,
}

impl ClientChannel for Producer {
    fn id(&self) -> u64 {
        1
    }
    fn remote_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 40001))
    }
    fn send(&self, command: &RemotingCommand) -> bool {
        self.checks.borrow_mut().push(command.clone());
        true
    }
    fn next_opaque(&self) -> i32 {
        self.opaque.set(self.opaque.get() + 1);
        self.opaque.get()
    }
}

fn store_config() -> StoreConfig {
    let log = LogConfig {
        segment_size: 32 * 1024,
        flush_interval_ms: 3_600_000,
        ..LogConfig::small(FlushPolicy::Async)
    };
    StoreConfig {
        log,
        cq_entries_per_segment: 1024,
        index: Geometry::SMALL,
        ..StoreConfig::new(PathBuf::from("/sim"), 0)
    }
}

fn uniq(n: usize) -> String {
    format!("0A00000100000000000000000000{n:04X}")
}

/// One shard's store and transaction service, as a start builds them.
struct Shard {
    store: Rc<Store>,
    tx: Rc<Transactions>,
    producer: Rc<Producer>,
    clock: ManualClock,
}

impl Shard {
    async fn start(mem: &MemDisk, clock_ms: i64, progress: &std::path::Path) -> Shard {
        let clock = ManualClock::new(clock_ms);
        let store = Store::open(Disk::Mem(mem.clone()), store_config(), clock.clock()).await;
        let store = Rc::new(store.unwrap_or_else(|e| panic!("recovery failed: {e}")));
        let clients = Rc::new(ClientRegistry::new());
        let producer = Rc::new(Producer::default());
        let body = format!(r#"{{"clientID":"p1","producerDataSet":[{{"groupName":"{GROUP}"}}]}}"#);
        let heartbeat = RemotingCommand::request(
            request_code::HEART_BEAT,
            ExtFields::new(),
            Bytes::from(body),
        );
        clients
            .heart_beat(&producer, &heartbeat, 0)
            .expect("producer registered");
        let config = TransactionConfig {
            timeout: Duration::from_secs(1),
            check_interval: Duration::from_secs(1),
            check_max: 1000,
            store_host: SocketAddr::from(([127, 0, 0, 1], 10911)),
            broker_name: "broker-a-0".into(),
            progress_path: progress.to_owned(),
        };
        let saved = load(progress).expect("progress readable");
        let tx = Rc::new(Transactions::new(store.clone(), clients, config, saved));
        tx.open().await.expect("transaction queues read");
        Shard {
            store,
            tx,
            producer,
            clock,
        }
    }

    /// Stores a half message as the send path does.
    fn send_half(&self, n: usize) -> Option<(u64, u64)> {
        let key = uniq(n);
        let props = format!("TRAN_MSG\u{1}true\u{2}PGROUP\u{1}{GROUP}\u{2}UNIQ_KEY\u{1}{key}\u{2}");
        let half_props = half::half_properties(&props, TOPIC, 0).expect("props");
        let mut fields = RecordFields {
            version: RecordVersion::V1,
            queue_id: 0,
            flag: 0,
            queue_offset: QueueOffset(0),
            physical_offset: PhysicalOffset(0),
            sysflag: SysFlag(0).with_transaction(TransactionType::Prepared),
            born_timestamp_ms: self.clock.wall_ms(),
            born_host: SocketAddr::from(([127, 0, 0, 1], 40001)),
            store_timestamp_ms: 0,
            store_host: SocketAddr::from(([127, 0, 0, 1], 10911)),
            reconsume_times: 0,
            prepared_transaction_offset: PhysicalOffset(0),
            body: key.as_bytes(),
            topic: TOPIC,
            properties: &props,
        };
        half::as_half(&mut fields, &half_props);
        let mut record = encode(&fields).expect("encode");
        let put = self
            .store
            .put(TRANS_HALF_TOPIC, QueueId(0), &mut record)
            .ok()?;
        self.tx.half_stored(&put, &half_props);
        Some((put.queue_offset.0, put.offset.0))
    }

    /// Ends transaction `n` (whose record is at `at`) with its fate; whether the broker took it.
    async fn end(&self, n: usize, at: (u64, u64), commit: bool, from_check: bool) -> bool {
        let header = EndTransactionRequestHeader {
            producer_group: GROUP.into(),
            tran_state_table_offset: at.0 as i64,
            commit_log_offset: at.1 as i64,
            commit_or_rollback: if commit { 8 } else { 12 },
            msg_id: uniq(n),
            from_transaction_check: Some(from_check),
            ..Default::default()
        };
        self.tx.end(&header).await.is_ok()
    }

    /// The checks sent since the last call: (transaction number, record offsets).
    fn take_checks(&self) -> Vec<(usize, (u64, u64))> {
        let checks = self.producer.checks.take();
        checks
            .iter()
            .map(|c| {
                let h: CheckTransactionStateRequestHeader = c.decode_header().expect("header");
                let key = h.msg_id.expect("msgId");
                let n = usize::from_str_radix(&key[28..], 16).expect("number");
                (
                    n,
                    (h.tran_state_table_offset as u64, h.commit_log_offset as u64),
                )
            })
            .collect()
    }

    /// How often each transaction was delivered to its topic.
    async fn deliveries(&self) -> BTreeMap<usize, usize> {
        self.store.reput().await.expect("reput");
        let (min, max) = self.store.queue_range(TOPIC, QueueId(0));
        let got = self
            .store
            .get_messages(TOPIC, QueueId(0), min, usize::MAX, usize::MAX, None)
            .await
            .expect("pull");
        assert_eq!(got.next, max, "the pull reads the whole queue");
        let mut count = BTreeMap::new();
        for bytes in &got.records {
            let record = RecordView::parse(bytes).expect("a record");
            assert_eq!(record.sysflag().transaction(), TransactionType::Commit);
            let key = record.uniq_key().expect("UNIQ_KEY");
            let n = usize::from_str_radix(&key[28..], 16).expect("number");
            *count.entry(n).or_insert(0) += 1;
        }
        count
    }
}

fn check_invariants(txs: &[Tx], delivered: &BTreeMap<usize, usize>, seed: u64) {
    for (&n, &times) in delivered {
        assert!(
            times <= 1,
            "seed {seed}: transaction {n} delivered {times} times"
        );
        assert!(
            txs[n].commit,
            "seed {seed}: rolled-back transaction {n} delivered"
        );
    }
    for (n, tx) in txs.iter().enumerate() {
        if tx.committed_durable {
            assert_eq!(
                delivered.get(&n),
                Some(&1),
                "seed {seed}: durable commit {n} lost"
            );
        }
    }
}

/// One life of random work.
async fn work(shard: &Shard, rng: &mut SimRng, txs: &mut Vec<Tx>) {
    for _ in 0..rng.below(120) {
        match rng.below(12) {
            0..=3 => {
                let n = txs.len();
                if let Some(half) = shard.send_half(n) {
                    let commit = rng.chance(600);
                    txs.push(Tx {
                        commit,
                        half,
                        ..Tx::default()
                    });
                }
            }
            4..=6 if !txs.is_empty() => {
                // The producer's own end, sometimes again.
                let n = rng.below(txs.len() as u64) as usize;
                let tx = txs[n].clone();
                if shard.end(n, tx.half, tx.commit, false).await && tx.commit {
                    txs[n].committed = true;
                }
            }
            7 => {
                shard.clock.advance(Duration::from_millis(rng.below(1500)));
                shard.tx.check_round().await.expect("check round");
                for (n, at) in shard.take_checks() {
                    if rng.chance(700) {
                        let commit = txs[n].commit;
                        if shard.end(n, at, commit, true).await && commit {
                            txs[n].committed = true;
                        }
                    }
                }
            }
            8 | 9 => {
                if shard.store.log().flush().await.is_ok() {
                    for tx in txs.iter_mut().filter(|tx| !tx.half_in_doubt) {
                        tx.half_durable = true;
                        tx.committed_durable |= tx.committed;
                    }
                }
            }
            10 => {
                shard.tx.persist().await.expect("progress persisted");
            }
            _ => {
                shard.store.reput().await.expect("reput");
            }
        }
    }
    if rng.chance(500) {
        // End the life right after a commit of a durable half message: the cut may tear its
        // op record and effect apart.
        let _ = shard.store.log().flush().await;
        let open = txs
            .iter()
            .position(|tx| tx.commit && tx.half_durable && !tx.committed);
        if let Some(n) = open {
            if shard.end(n, txs[n].half, true, false).await {
                txs[n].committed = true;
            }
        }
    }
}

async fn simulate(seed: u64) -> usize {
    let _guard = SeedGuard(seed);
    let mut rng = SimRng::new(seed);
    let mem = MemDisk::new(seed, Faults::default());
    let dir = crate::storage::test_dir("transaction-sim");
    std::fs::create_dir_all(&dir).expect("dir");
    let progress = dir.join("transactionProgress.json");
    let mut txs: Vec<Tx> = Vec::new();
    let mut clock_ms = 1_700_000_000_000i64;
    for _life in 0..LIVES {
        let shard = Shard::start(&mem, clock_ms, &progress).await;
        check_invariants(&txs, &shard.deliveries().await, seed);
        work(&shard, &mut rng, &mut txs).await;
        clock_ms = shard.clock.wall_ms() + 1000;
        drop(shard);
        mem.crash();
        // A half message the cut may have lost: nothing is known of it any more but that it is
        // delivered at most once, and only if its fate is commit.
        for tx in txs.iter_mut() {
            tx.half_in_doubt |= !tx.half_durable;
            // A commit taken since the last flush may be lost with it.
            tx.committed = tx.committed_durable;
        }
    }
    // The last start: answer every check until nothing is pending.
    let shard = Shard::start(&mem, clock_ms, &progress).await;
    check_invariants(&txs, &shard.deliveries().await, seed);
    for round in 0.. {
        let by_topic: u64 = shard.tx.pending_by_topic().iter().map(|(_, n)| n).sum();
        assert_eq!(
            by_topic,
            shard.tx.pending() as u64,
            "seed {seed}: counted by topic"
        );
        if shard.tx.pending() == 0 {
            assert!(
                shard.tx.pending_by_topic().is_empty(),
                "seed {seed}: no topic left"
            );
            break;
        }
        assert!(round < 50, "seed {seed}: transactions stay pending");
        shard.clock.advance(Duration::from_secs(2));
        shard.tx.check_round().await.expect("check round");
        for (n, at) in shard.take_checks() {
            let commit = txs[n].commit;
            assert!(
                shard.end(n, at, commit, true).await,
                "seed {seed}: answer to {n}"
            );
        }
    }
    let delivered = shard.deliveries().await;
    check_invariants(&txs, &delivered, seed);
    for (n, tx) in txs.iter().enumerate() {
        if tx.half_durable && tx.commit {
            assert_eq!(
                delivered.get(&n),
                Some(&1),
                "seed {seed}: commit {n} never delivered: {tx:?}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(dir);
    txs.len()
}

/// A shard with one durable half message of transaction 0, and that transaction's record.
async fn shard_with_one_half(mem: &MemDisk, progress: &std::path::Path) -> (Shard, Vec<u8>) {
    let shard = Shard::start(mem, 1_700_000_000_000, progress).await;
    let (_, at) = shard.send_half(0).expect("stored");
    shard.store.log().flush().await.expect("flush");
    let bytes = shard
        .store
        .record_at(PhysicalOffset(at))
        .await
        .expect("read");
    (shard, bytes.expect("the half record").to_vec())
}

#[test]
fn an_op_record_whose_effect_a_crash_lost_gets_it_at_start() {
    crate::storage::run_local(|| async {
        let mem = MemDisk::new(1, Faults::default());
        let progress = crate::storage::test_dir("transaction-redo").join("progress.json");
        let (shard, bytes) = shard_with_one_half(&mem, &progress).await;
        let half = RecordView::parse(&bytes).expect("record");
        // What a cut between the two writes leaves: the op record alone.
        let config = shard.tx.config.clone();
        let op_only = (End::Commit, false);
        write_end(
            &shard.store,
            &config,
            0,
            op_only,
            &half,
            half.physical_offset(),
        )
        .await
        .expect("op");
        shard.store.log().flush().await.expect("flush");
        drop(shard);
        mem.crash();

        let shard = Shard::start(&mem, 1_700_000_001_000, &progress).await;
        assert_eq!(shard.tx.pending(), 0, "the op record ended it");
        assert_eq!(
            shard.deliveries().await.get(&0),
            Some(&1),
            "its effect written"
        );
        drop(shard);
        mem.crash();
        let shard = Shard::start(&mem, 1_700_000_002_000, &progress).await;
        assert_eq!(shard.deliveries().await.get(&0), Some(&1), "and only once");
    });
}

#[test]
fn an_effect_whose_op_record_a_crash_lost_is_not_written_again() {
    crate::storage::run_local(|| async {
        let mem = MemDisk::new(2, Faults::default());
        let progress = crate::storage::test_dir("transaction-index").join("progress.json");
        let (shard, bytes) = shard_with_one_half(&mem, &progress).await;
        let half = RecordView::parse(&bytes).expect("record");
        // What a device that kept the later write and lost the earlier leaves: the effect
        // alone.
        let props = half::committed_properties(half.properties()).expect("props");
        let at = half.physical_offset();
        let effect = half::effect_fields(End::Commit, &half, at, &props).expect("commit");
        put_retrying(&shard.store, &[effect]).await.expect("effect");
        shard.store.log().flush().await.expect("flush");
        drop(shard);
        mem.crash();

        let shard = Shard::start(&mem, 1_700_000_001_000, &progress).await;
        assert_eq!(shard.tx.pending(), 1, "no op record: still pending");
        let q = half.queue_offset().0;
        assert!(
            shard.end(0, (q, at.0), true, true).await,
            "the check's answer"
        );
        assert_eq!(shard.tx.pending(), 0);
        assert_eq!(shard.deliveries().await.get(&0), Some(&1), "delivered once");
    });
}

#[test]
fn every_transaction_ends_once_across_crashes() {
    let seeds: Vec<u64> = match std::env::var("TRANSACTION_SIM_SEED") {
        Ok(seed) => vec![seed.parse().expect("a seed")],
        Err(_) => (0..40).collect(),
    };
    crate::storage::run_local(move || async move {
        let mut checked = 0;
        for seed in seeds {
            checked += simulate(seed).await;
        }
        assert!(checked > 0, "no transaction was ever sent");
    });
}
