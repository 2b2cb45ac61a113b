//! The transaction service of one shard (docs/protocol.md §5.8): which half messages are
//! pending, their ends (END_TRANSACTION) and their checks (CHECK_TRANSACTION_STATE).
//!
//! # State, and where it comes from
//!
//! The pending transactions are a table in memory, keyed by the half queue offset of each
//! transaction's first record ([`half`] explains the records). Every fact in it is in the
//! log: a half message stored, a copy appended for a check, an op record ending one. A
//! start rebuilds the table by reading the half and op queues from the progress this shard
//! last wrote (`<shard dir>/config/transactionProgress.json`), so a crash or a restart loses
//! no pending transaction and revives no ended one. Until that read is done, ends wait
//! ([`Transactions::ready`]).
//!
//! The progress names a half queue offset H below which every transaction has ended or has a
//! later record, and an op queue offset O below which no op record ends a transaction with a
//! record at or past H: for each pending transaction the service keeps the op queue's end
//! when its newest record was appended (`op_mark`); H is the oldest newest record, O the
//! least mark. Each check appends a copy, so H trails the head by about a check interval
//! plus `transactionTimeOut`, and so does what a start reads. The file is written after
//! each check round and at shutdown, after the CommitLog is flushed, so it never runs ahead
//! of the log.
//!
//! # Ending a transaction exactly once
//!
//! An end writes its op record, then its effect (the committed or discarded message), with
//! no other append in between: room for both is made first and both puts are synchronous, and
//! ends and checks take turns. A crash loses what was not synced, so two things can go
//! missing, and a start repairs each:
//!
//! - the effect of an op record that is there: the log ends in order, so only the newest op
//!   record can be in that state; a start looks right after it and writes the effect if it
//!   is not there;
//! - the op record of an effect that is there, on a device that kept a later write and not
//!   an earlier one: the transaction is pending again, "revived"; before an effect is written
//!   for a revived transaction the index is asked for one (its real topic and UNIQ_KEY).
//!
//! A committed message is therefore delivered once, and a rolled-back one never.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::half::{self, End};
use super::writes::{encode, illegal, write_end};
use crate::broker::clients::registry::ClientRegistry;
use crate::broker::metadata::config_file::write_atomic;
use crate::broker::BrokerError;
use crate::storage::log_buffer::LogBytes;
use crate::storage::store::{PutResult, Store};
use crate::storage::{QueueId, StoreError};
use crate::wire::codes::request_code;
use crate::wire::command::FLAG_ONEWAY;
use crate::wire::headers::{CheckTransactionStateRequestHeader, EndTransactionRequestHeader};
use crate::wire::message_id::offset_message_id;
use crate::wire::properties::{self, keys};
use crate::wire::record::{PhysicalOffset, RecordFields, RecordView};
use crate::wire::topics::{TRANS_CHECK_MAX_TIME_TOPIC, TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC};
use crate::wire::{ExtFields, RemotingCommand};

/// Ends and checks one shard's transactions, with Java's settings.
#[derive(Debug, Clone)]
pub struct TransactionConfig {
    /// `transactionTimeOut`.
    pub timeout: Duration,
    /// `transactionCheckInterval`.
    pub check_interval: Duration,
    /// `transactionCheckMax`.
    pub check_max: u32,
    /// The shard's advertised address: STOREHOST of op records, and the address in the
    /// offset message ids checks carry.
    pub store_host: SocketAddr,
    /// The shard's broker name, which checks carry (`bname`).
    pub broker_name: String,
    /// `<shard dir>/config/transactionProgress.json`.
    pub progress_path: PathBuf,
}

/// Records read at once while a start scans the half and op queues.
const SCAN_BATCH: usize = 256;

/// Records a check round reads at once.
const CHECK_READ_BATCH: usize = 256;

/// A transaction a producer (or its answer to a check) ended: what the metrics count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub committed: bool,
    /// The topic it was sent to (`REAL_TOPIC`).
    pub topic: String,
    /// When the producer sent the half message, ms since the epoch.
    pub born_ms: i64,
}

/// One pending transaction.
#[derive(Debug, Clone)]
struct Pending {
    /// Checks so far.
    checks: u32,
    /// When it may be checked next (ms since the epoch).
    due_ms: i64,
    /// The op queue's end when its newest record was appended.
    op_mark: u64,
    /// Half queue offset and CommitLog offset of each of its records, oldest first: an end
    /// may name any of them, and the newest is the one a check copies.
    records: Vec<(u64, u64)>,
    /// The size of its newest record.
    newest_size: u32,
    /// Found pending by a start: a crash may have kept its effect and lost its op record
    /// (the device kept a later write and not an earlier one), so before an effect is
    /// written for it the index is asked whether one exists.
    revived: bool,
    /// The topic it was sent to (`REAL_TOPIC`), shared with [`State::topics`].
    topic: Rc<str>,
}

impl Pending {
    fn newest(&self) -> (u64, u64) {
        self.records.last().copied().unwrap_or_default()
    }
}

#[derive(Debug, Default)]
struct State {
    /// First half queue offset → transaction.
    pending: BTreeMap<u64, Pending>,
    /// Half queue offset of any pending transaction's record → its first.
    records: HashMap<u64, u64>,
    /// Pending transactions by topic (`rocketmq_half_messages`).
    topics: HashMap<Rc<str>, u64>,
}

impl State {
    /// Makes `pending` (first half queue offset `first`) pending, counted under its topic.
    fn insert(&mut self, first: u64, mut pending: Pending) {
        for &(q, _) in &pending.records {
            self.records.insert(q, first);
        }
        pending.topic = self.shared_topic(&pending.topic);
        *self.topics.entry(Rc::clone(&pending.topic)).or_default() += 1;
        self.pending.insert(first, pending);
    }

    /// The one string of topic `name` that pending transactions share, new when no pending
    /// transaction names it.
    fn shared_topic(&self, name: &str) -> Rc<str> {
        match self.topics.get_key_value(name) {
            Some((shared, _)) => Rc::clone(shared),
            None => Rc::from(name),
        }
    }

    /// Forgets transaction `first`, which ended.
    fn remove(&mut self, first: u64) {
        let Some(done) = self.pending.remove(&first) else {
            return;
        };
        for (q, _) in done.records {
            self.records.remove(&q);
        }
        if let Some(count) = self.topics.get_mut(&*done.topic) {
            *count -= 1;
            if *count == 0 {
                self.topics.remove(&*done.topic);
            }
        }
    }
}

/// What `transactionProgress.json` holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// Every transaction with a record below it has ended or has a record at or past it.
    pub half_offset: u64,
    /// No op record below it ends a transaction with a record at or past `half_offset`.
    pub op_offset: u64,
}

/// Reads the progress at start-up; a missing file means the queues' starts.
pub fn load(path: &Path) -> Result<Progress, String> {
    match std::fs::read(path) {
        Ok(text) => serde_json::from_slice(&text).map_err(|e| {
            format!(
                "{} is unreadable ({e}); move it away to read the transaction queues whole",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Progress::default()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// The transaction service of one shard.
pub struct Transactions {
    store: Rc<Store>,
    clients: Rc<ClientRegistry>,
    config: TransactionConfig,
    /// `transactionTimeOut` and `transactionCheckMax` as they stand now (they start as
    /// `config`'s; [`Transactions::set_limits`]).
    limits: Cell<(Duration, u32)>,
    saved: Progress,
    state: RefCell<State>,
    ready: Cell<bool>,
    ready_wakers: RefCell<Vec<Waker>>,
    /// Ends and check appends, one at a time (see the module docs).
    turn: glommio::sync::Semaphore,
    /// Round-robin over a group's producers.
    next_channel: Cell<usize>,
    checks_sent: Cell<u64>,
    /// The last check round: transactions it looked at, and how long it took.
    last_round: Cell<(usize, Duration)>,
}

impl std::fmt::Debug for Transactions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transactions")
            .field("config", &self.config)
            .field("pending", &self.state.borrow().pending.len())
            .finish_non_exhaustive()
    }
}

impl Transactions {
    /// The service of `store`, starting from a loaded progress file; it serves ends once
    /// [`Transactions::run`] has read the queues.
    pub fn new(
        store: Rc<Store>,
        clients: Rc<ClientRegistry>,
        config: TransactionConfig,
        saved: Progress,
    ) -> Transactions {
        Transactions {
            store,
            clients,
            limits: Cell::new((config.timeout, config.check_max)),
            config,
            saved,
            state: RefCell::default(),
            ready: Cell::new(false),
            ready_wakers: RefCell::default(),
            turn: glommio::sync::Semaphore::new(1),
            next_channel: Cell::new(0),
            checks_sent: Cell::new(0),
            last_round: Cell::new((0, Duration::ZERO)),
        }
    }

    /// Half messages waiting for an end.
    pub fn pending(&self) -> usize {
        self.state.borrow().pending.len()
    }

    /// Half messages waiting for an end, by the topic they were sent to.
    pub fn pending_by_topic(&self) -> Vec<(String, u64)> {
        let state = self.state.borrow();
        state
            .topics
            .iter()
            .map(|(t, n)| (t.to_string(), *n))
            .collect()
    }

    /// CHECK_TRANSACTION_STATE requests sent since start.
    pub fn checks_sent(&self) -> u64 {
        self.checks_sent.get()
    }

    /// The last check round: the due transactions it checked or discarded, and its time.
    pub fn last_round(&self) -> (usize, Duration) {
        self.last_round.get()
    }

    fn op_end(&self) -> u64 {
        self.store.queue_range(TRANS_OP_HALF_TOPIC, QueueId(0)).1 .0
    }

    /// From now on a half message stored is first checked `timeout` after it was stored,
    /// and a transaction is discarded after `check_max` checks (UPDATE_BROKER_CONFIG).
    pub fn set_limits(&self, timeout: Duration, check_max: u32) {
        self.limits.set((timeout, check_max));
    }

    fn timeout_ms(&self) -> i64 {
        i64::try_from(self.limits.get().0.as_millis()).unwrap_or(i64::MAX)
    }

    /// The send path stored a half message (from `props`) at `put`: it is pending now, and
    /// an end naming it is honoured as soon as it arrives.
    pub fn half_stored(&self, put: &PutResult, props: &str) {
        let due_ms = half::first_check_ms(props, put.store_timestamp, self.timeout_ms());
        let q = put.queue_offset.0;
        let topic = properties::get(props, keys::REAL_TOPIC).unwrap_or_default();
        let op_mark = self.op_end();
        let mut state = self.state.borrow_mut();
        let pending = Pending {
            checks: 0,
            due_ms,
            op_mark,
            records: vec![(q, put.offset.0)],
            newest_size: put.size,
            revived: false,
            topic: state.shared_topic(topic),
        };
        state.insert(q, pending);
    }

    /// Resolves once the start's read of the queues is done.
    pub fn ready(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(|cx| {
            if self.ready.get() {
                return Poll::Ready(());
            }
            self.ready_wakers.borrow_mut().push(cx.waker().clone());
            Poll::Pending
        })
    }

    fn set_ready(&self) {
        self.ready.set(true);
        for waker in self.ready_wakers.borrow_mut().drain(..) {
            waker.wake();
        }
    }

    /// END_TRANSACTION: commits or rolls back the pending transaction whose record the
    /// header names, after checking it as Java's `EndTransactionProcessor` does (a half record
    /// at `commitLogOffset`, at `tranStateTableOffset` of the half queue, of `producerGroup`).
    /// An end for a transaction that has already ended changes nothing.
    pub async fn end(
        &self,
        header: &EndTransactionRequestHeader,
    ) -> Result<Option<Ended>, BrokerError> {
        let end = match header.commit_or_rollback {
            0 => return Ok(None),
            8 => End::Commit,
            12 => End::Rollback,
            other => {
                let why = format!("commitOrRollback {other} (expected 0, 8 or 12)");
                return Err(BrokerError::InvalidParameter(why));
            }
        };
        self.ready().await;
        let offset = u64::try_from(header.commit_log_offset).map_err(|_| not_found(header))?;
        let bytes = self
            .owned_record(PhysicalOffset(offset))
            .await?
            .ok_or_else(|| not_found(header))?;
        let record = RecordView::parse(&bytes).map_err(|_| not_found(header))?;
        let names_it = record.topic() == TRANS_HALF_TOPIC
            && i64::try_from(record.queue_offset().0) == Ok(header.tran_state_table_offset)
            && record.property(keys::PGROUP) == Some(header.producer_group.as_str())
            && self.same_message(&header.msg_id, &record);
        if !names_it {
            return Err(not_found(header));
        }
        if header.from_transaction_check != Some(true) && self.immunity_passed(&record) {
            return Err(BrokerError::IllegalOperation(format!(
                "the transaction of {} outlived its CHECK_IMMUNITY_TIME_IN_SECONDS; its check \
                 decides it",
                header.msg_id
            )));
        }
        let _turn = self.take_turn().await?;
        let first = self
            .state
            .borrow()
            .records
            .get(&record.queue_offset().0)
            .copied();
        let Some(first) = first else {
            return Err(BrokerError::TransactionNotFound(format!(
                "the transaction at half queue offset {} has already ended",
                header.tran_state_table_offset
            )));
        };
        self.end_pending(first, end, &record, PhysicalOffset(offset))
            .await?;
        Ok(Some(Ended {
            committed: end == End::Commit,
            topic: half::destination(&record).map_or_else(String::new, |(t, _)| t.to_owned()),
            born_ms: record.born_timestamp_ms(),
        }))
    }

    /// Whether an end's `msgId` names `record`: its UNIQ_KEY (what clients send) or its
    /// offset message id. Java does not look; here a half message lost in a crash, whose
    /// offsets a later one of the same group took, is not ended by the first one's end.
    /// An empty id, or a record without a UNIQ_KEY, passes.
    fn same_message(&self, msg_id: &str, record: &RecordView<'_>) -> bool {
        let Some(uniq) = record.uniq_key() else {
            return true;
        };
        msg_id.is_empty()
            || msg_id == uniq
            || msg_id.eq_ignore_ascii_case(&offset_message_id(
                self.config.store_host,
                record.physical_offset(),
            ))
    }

    /// The record at `offset`, copied out of the log: a reference into the log's in-memory
    /// tail kept across an append makes that append copy the whole block (measured: 88 % of
    /// a shard's time, transactional sends at a tenth of their rate).
    async fn owned_record(&self, offset: PhysicalOffset) -> Result<Option<Vec<u8>>, BrokerError> {
        Ok(self
            .store
            .record_at(offset)
            .await?
            .map(|bytes| bytes.to_vec()))
    }

    /// Java 5.x: a producer's own end (not a check's) after a message's immunity time is
    /// refused, and its check decides.
    fn immunity_passed(&self, record: &RecordView<'_>) -> bool {
        let props = record.properties();
        if properties::get(props, keys::CHECK_IMMUNITY_TIME_IN_SECONDS).is_none() {
            return false;
        }
        let age = self.store.now_ms() - record.store_timestamp_ms();
        age > half::immunity_ms(props, self.timeout_ms())
    }

    /// Writes `end` for the pending transaction `first` from its record `half` at
    /// `half_offset`, and forgets it. Call with the turn held.
    async fn end_pending(
        &self,
        first: u64,
        end: End,
        half: &RecordView<'_>,
        half_offset: PhysicalOffset,
    ) -> Result<(), BrokerError> {
        let revived = self
            .state
            .borrow()
            .pending
            .get(&first)
            .filter(|p| p.revived)
            .cloned();
        let effect = match revived {
            Some(pending) if end.has_effect() => !self.effect_exists(&pending, end, half).await?,
            _ => end.has_effect(),
        };
        write_end(
            &self.store,
            &self.config,
            first,
            (end, effect),
            half,
            half_offset,
        )
        .await?;
        self.forget(first);
        Ok(())
    }

    /// Whether the index holds `end`'s effect for a record of `pending` (of which `half` is
    /// one): the effect keeps the half message's UNIQ_KEY, in the topic `end` writes to.
    /// Without a UNIQ_KEY or the index (`messageIndexEnable=false`) nothing can be found.
    async fn effect_exists(
        &self,
        pending: &Pending,
        end: End,
        half: &RecordView<'_>,
    ) -> Result<bool, BrokerError> {
        let Some(key) = half.uniq_key() else {
            return Ok(false);
        };
        let topic = match end {
            End::Commit => half::destination(half).map(|(topic, _)| topic),
            End::Discard => Some(TRANS_CHECK_MAX_TIME_TOPIC),
            End::Rollback => None,
        };
        let Some(topic) = topic else {
            return Ok(false);
        };
        let found = self
            .store
            .query_by_key(topic, key, usize::MAX, 0, i64::MAX)
            .await?;
        let offsets = || pending.records.iter().map(|&(_, at)| PhysicalOffset(at));
        let exists = found
            .records
            .iter()
            .filter_map(|r| RecordView::parse(r).ok())
            .any(|r| offsets().any(|at| half::is_effect(&r, end, at)));
        if exists {
            tracing::warn!(
                key,
                end = end.as_str(),
                "a transaction's effect outlived its op record; not written again"
            );
        }
        Ok(exists)
    }

    /// Reads the queues, then checks due transactions every `transactionCheckInterval` until
    /// `closing` completes; writes the progress after each round and at the end.
    pub async fn run(self: Rc<Self>, closing: impl Future<Output = ()>) -> Result<(), String> {
        let mut ticker = shards::Ticker::new(self.config.check_interval, closing);
        match ticker.unless_closed(self.open()).await {
            None => return Ok(()),
            Some(Err(error)) => return Err(format!("transaction queues not read: {error}")),
            Some(Ok(())) => {}
        }
        while ticker.tick().await {
            if let Err(error) = self.check_round().await {
                tracing::error!(%error, "transaction check round failed; retrying next round");
            }
            if let Err(error) = self.persist().await {
                tracing::error!(%error, "transaction progress not persisted; retrying");
            }
        }
        self.persist().await
    }

    /// Checks every due transaction: one that had `transactionCheckMax` checks is discarded,
    /// any other is appended again as its next check and its check sent to a live producer
    /// of its group (none online: the check still counts, as in Java).
    pub async fn check_round(&self) -> Result<(), BrokerError> {
        let now = self.store.now_ms();
        let mut due: Vec<(u64, PhysicalOffset, usize)> = {
            let state = self.state.borrow();
            let due = state.pending.iter().filter(|(_, p)| p.due_ms <= now);
            due.map(|(&first, p)| (first, PhysicalOffset(p.newest().1), p.newest_size as usize))
                .collect()
        };
        // In log order, so that neighbouring records share the reads.
        due.sort_by_key(|&(_, at, _)| at);
        let started = std::time::Instant::now();
        for batch in due.chunks(CHECK_READ_BATCH) {
            let ranges: Vec<_> = batch.iter().map(|&(_, at, size)| (at, size)).collect();
            let records = self.read_records(&ranges).await?;
            for (&(first, at, _), record) in batch.iter().zip(records) {
                self.check_one(first, at, record).await?;
                glommio::yield_if_needed().await;
            }
        }
        self.last_round.set((due.len(), started.elapsed()));
        Ok(())
    }

    /// The records at `ranges` (in increasing offset order), read together and copied out
    /// of the log; `None` for one that is not there (retention removed it).
    async fn read_records(
        &self,
        ranges: &[(PhysicalOffset, usize)],
    ) -> Result<Vec<Option<Vec<u8>>>, BrokerError> {
        let read = read_each(&self.store, ranges).await?;
        let copied = read.iter().zip(ranges).map(|(bytes, &(at, _))| {
            let bytes = bytes.as_deref()?;
            let starts_here = RecordView::parse(bytes).is_ok_and(|r| r.physical_offset() == at);
            starts_here.then(|| bytes.to_vec())
        });
        Ok(copied.collect())
    }

    /// Checks transaction `first` from its newest record, at `at` and read as `record`, or
    /// discards it after `transactionCheckMax` checks; one an end took meanwhile is left.
    async fn check_one(
        &self,
        first: u64,
        at: PhysicalOffset,
        record: Option<Vec<u8>>,
    ) -> Result<(), BrokerError> {
        let _turn = self.take_turn().await?;
        let checks = match self.state.borrow().pending.get(&first) {
            Some(pending) if pending.newest().1 == at.0 => pending.checks,
            _ => return Ok(()),
        };
        let Some(bytes) = record else {
            // Retention removed it (older than fileReservedTime): Java skips it too.
            tracing::warn!(
                first,
                "a pending half message is gone from the log; dropped"
            );
            self.forget(first);
            return Ok(());
        };
        let record = RecordView::parse(&bytes).map_err(illegal)?;
        if checks >= self.limits.get().1 {
            tracing::warn!(
                first,
                checks,
                "transaction discarded after transactionCheckMax checks"
            );
            self.end_pending(first, End::Discard, &record, at).await
        } else {
            self.check(first, checks + 1, &record).await
        }
    }

    async fn take_turn(&self) -> Result<glommio::sync::Permit<'_>, BrokerError> {
        self.turn
            .acquire_permit(1)
            .await
            .map_err(|e| BrokerError::Store(e.to_string()))
    }

    /// Drops transaction `first` from the table, with every record offset that named it.
    fn forget(&self, first: u64) {
        self.state.borrow_mut().remove(first);
    }

    /// Appends check number `checks` of transaction `first` (from its newest record `half`)
    /// and sends it.
    async fn check(
        &self,
        first: u64,
        checks: u32,
        half: &RecordView<'_>,
    ) -> Result<(), BrokerError> {
        let props = half::checked_properties(half.properties(), first, checks).map_err(illegal)?;
        let fields = half::copy_fields(half, &props);
        let mut copy = encode(&fields)?;
        let put = self
            .store
            .put_waiting(TRANS_HALF_TOPIC, QueueId(0), &mut copy)
            .await?;
        let q = put.queue_offset.0;
        let op_mark = self.op_end();
        {
            let mut state = self.state.borrow_mut();
            state.records.insert(q, first);
            if let Some(pending) = state.pending.get_mut(&first) {
                pending.checks = checks;
                pending.due_ms = put.store_timestamp;
                pending.op_mark = op_mark;
                pending.records.push((q, put.offset.0));
                pending.newest_size = put.size;
            }
        }
        let copy = RecordView::parse(&copy).map_err(illegal)?;
        self.send_check(&copy)
    }

    /// Sends CHECK_TRANSACTION_STATE for the half record `copy` to one live producer of its
    /// group, in turn; with none online nothing is sent.
    fn send_check(&self, copy: &RecordView<'_>) -> Result<(), BrokerError> {
        let group = copy.property(keys::PGROUP).unwrap_or_default();
        let channels = self.clients.producer_channels(group);
        if channels.is_empty() {
            tracing::debug!(
                group,
                "no producer of the group online to check a transaction"
            );
            return Ok(());
        }
        let turn = self.next_channel.get();
        self.next_channel.set(turn.wrapping_add(1));
        let channel = &channels[turn % channels.len()];
        let Some((topic, queue_id)) = half::destination(copy) else {
            // Not one the send path stored: nobody can be asked; it is discarded in time.
            let offset = copy.physical_offset().0;
            tracing::warn!(
                offset,
                "a half message names no REAL_TOPIC and REAL_QID; not checked"
            );
            return Ok(());
        };
        let body = encode(&RecordFields {
            topic,
            queue_id,
            version: crate::wire::record::RecordVersion::for_topic(topic),
            ..copy.fields()
        })?;
        let uniq = copy.uniq_key().map(str::to_owned);
        let header = CheckTransactionStateRequestHeader {
            tran_state_table_offset: copy.queue_offset().0 as i64,
            commit_log_offset: copy.physical_offset().0 as i64,
            msg_id: uniq.clone(),
            transaction_id: uniq,
            offset_msg_id: Some(offset_message_id(
                self.config.store_host,
                copy.physical_offset(),
            )),
            topic: Some(TRANS_HALF_TOPIC.to_owned()),
            broker_name: Some(self.config.broker_name.clone()),
        };
        let mut command = RemotingCommand::request(
            request_code::CHECK_TRANSACTION_STATE,
            ExtFields::with_capacity(7),
            Bytes::from(body),
        );
        command.flag |= FLAG_ONEWAY;
        command.opaque = channel.next_opaque();
        command.set_header(&header);
        if channel.send(&command) {
            self.checks_sent.set(self.checks_sent.get() + 1);
        } else {
            tracing::debug!(group, "transaction check to a closed connection");
        }
        Ok(())
    }

    /// The progress as of now (module docs).
    pub fn progress(&self) -> Progress {
        let state = self.state.borrow();
        let half_end = self.store.queue_range(TRANS_HALF_TOPIC, QueueId(0)).1 .0;
        let half_offset = state.pending.values().map(|p| p.newest().0).min();
        let op_offset = state.pending.values().map(|p| p.op_mark).min();
        Progress {
            half_offset: half_offset.unwrap_or(half_end),
            op_offset: op_offset.unwrap_or_else(|| self.op_end()),
        }
    }

    /// Writes the progress, after making the log durable up to now.
    pub async fn persist(&self) -> Result<(), String> {
        if !self.ready.get() {
            return Ok(());
        }
        let progress = self.progress();
        let path = self.config.progress_path.clone();
        self.store
            .log()
            .flush()
            .await
            .map_err(|e| format!("commit log flush before {}: {e}", path.display()))?;
        let bytes = serde_json::to_vec(&progress).map_err(|e| e.to_string())?;
        let target = path.clone();
        glommio::executor()
            .spawn_blocking(move || write_atomic(&target, &bytes))
            .await
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

fn not_found(header: &EndTransactionRequestHeader) -> BrokerError {
    BrokerError::TransactionNotFound(format!(
        "no half message of group {} at commitLogOffset {} and tranStateTableOffset {}",
        header.producer_group, header.commit_log_offset, header.tran_state_table_offset
    ))
}

/// The bytes at `ranges` (in increasing offset order), read together; when that fails, each
/// alone, `None` for one retention removed.
async fn read_each(
    store: &Store,
    ranges: &[(PhysicalOffset, usize)],
) -> Result<Vec<Option<LogBytes>>, BrokerError> {
    if let Ok(all) = store.log().read_many(ranges).await {
        return Ok(all.into_iter().map(Some).collect());
    }
    let mut each = Vec::with_capacity(ranges.len());
    for &(offset, size) in ranges {
        match store.read(offset, size).await {
            Ok(bytes) => each.push(Some(bytes)),
            Err(StoreError::OutOfRange { .. }) => each.push(None),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(each)
}

#[path = "service_start.rs"]
mod start;

#[cfg(test)]
#[path = "sim_tests.rs"]
mod sim_tests;
