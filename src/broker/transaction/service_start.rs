//! How a start rebuilds the pending transactions from the half and op queues, and writes
//! the effect the newest op record may have lost (the service's module docs say why this is
//! enough).

use std::collections::{BTreeMap, HashSet};
use std::rc::Rc;
use std::time::Duration;

use super::half::{self, End};
use super::{read_each, Pending, Transactions, SCAN_BATCH};
use crate::broker::transaction::writes::{effect_properties, illegal, put_retrying};
use crate::broker::BrokerError;
use crate::storage::store::Store;
use crate::storage::{PhysicalOffset, QueueId, QueueOffset};
use crate::wire::record::RecordView;
use crate::wire::topics::{TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC};

impl Transactions {
    /// Rebuilds the pending table from the half and op queues (module docs), writes the
    /// effect the newest op record may have lost, and opens ends.
    pub async fn open(&self) -> Result<(), BrokerError> {
        let log_end = self.store.log().end();
        let half_end = self.store.queue_range(TRANS_HALF_TOPIC, QueueId(0)).1 .0;
        let op_end = self.op_end();
        while self.store.reput_offset() < log_end {
            if self.store.reput().await? == 0 {
                glommio::timer::sleep(Duration::from_millis(1)).await;
            }
        }
        let ended = self.read_ops(op_end).await?;
        self.read_halves(half_end, &ended).await?;
        self.set_ready();
        tracing::info!(pending = self.pending(), "transaction queues read");
        Ok(())
    }

    /// The transactions op records from the saved progress on end, and the newest op
    /// record's missing effect written.
    async fn read_ops(&self, op_end: u64) -> Result<HashSet<u64>, BrokerError> {
        let mut ended = HashSet::new();
        let (op_min, _) = self.store.queue_range(TRANS_OP_HALF_TOPIC, QueueId(0));
        let from = self.saved.op_offset.max(op_min.0);
        scan(
            &self.store,
            TRANS_OP_HALF_TOPIC,
            from..op_end,
            |_, record| {
                ended.extend(half::op_offsets(record.body()));
            },
        )
        .await?;
        if op_end > op_min.0 {
            self.redo_newest_op(op_end - 1).await?;
        }
        Ok(ended)
    }

    /// Writes the effect of the op record at `at` when the record right after it is not
    /// that effect: the crash that ended the last run came between the two.
    async fn redo_newest_op(&self, at: u64) -> Result<(), BrokerError> {
        let store = &self.store;
        let Some(entry) = store
            .entry(TRANS_OP_HALF_TOPIC, QueueId(0), QueueOffset(at))
            .await?
        else {
            return Ok(());
        };
        let op_bytes = store
            .read(entry.physical_offset, entry.size as usize)
            .await?
            .to_vec();
        let op = RecordView::parse(&op_bytes).map_err(illegal)?;
        let Some((end, half_offset)) = half::op_end(&op) else {
            return Ok(());
        };
        if !end.has_effect() {
            return Ok(());
        }
        let next = entry.physical_offset.0 + u64::from(entry.size);
        if self.effect_follows(next, end, half_offset).await? {
            return Ok(());
        }
        let Some(half_bytes) = self.owned_record(half_offset).await? else {
            tracing::error!(
                offset = half_offset.0,
                "a transaction's end lost its effect and its half message is gone"
            );
            return Ok(());
        };
        let half = RecordView::parse(&half_bytes).map_err(illegal)?;
        tracing::warn!(
            end = end.as_str(),
            offset = half_offset.0,
            "writing the effect of a transaction's end that a crash lost"
        );
        let props = effect_properties(end, &half)?;
        if let Some(fields) = half::effect_fields(end, &half, half_offset, &props) {
            put_retrying(store, &[fields]).await?;
        }
        Ok(())
    }

    /// Whether the record at `at` (or, past a segment's filler, at the next segment's start)
    /// is the effect of `end` for the half record at `half_offset`.
    async fn effect_follows(
        &self,
        at: u64,
        end: End,
        half_offset: PhysicalOffset,
    ) -> Result<bool, BrokerError> {
        let store = &self.store;
        let segment = store.config().log.segment_size;
        let next_segment = at - at % segment + segment;
        for offset in [at, next_segment] {
            if let Some(bytes) = store.record_at(PhysicalOffset(offset)).await? {
                let record = RecordView::parse(&bytes).map_err(illegal)?;
                return Ok(half::is_effect(&record, end, half_offset));
            }
        }
        Ok(false)
    }

    /// Adds every transaction with a record from the saved progress on that `ended` does not
    /// name, each at its newest record.
    async fn read_halves(&self, half_end: u64, ended: &HashSet<u64>) -> Result<(), BrokerError> {
        let (half_min, _) = self.store.queue_range(TRANS_HALF_TOPIC, QueueId(0));
        let from = self.saved.half_offset.max(half_min.0);
        let timeout_ms = self.timeout_ms();
        let op_mark = self.saved.op_offset;
        // Filled apart: sends store new half messages (past `half_end`) while this reads.
        let mut found: BTreeMap<u64, Pending> = BTreeMap::new();
        scan(
            &self.store,
            TRANS_HALF_TOPIC,
            from..half_end,
            |offset, record| {
                let (first, checks) = half::identity(record);
                if ended.contains(&first) {
                    return;
                }
                let q = record.queue_offset().0;
                // A copy exists because its check was sent: it is due at the next round.
                let due_ms = if checks == 0 {
                    half::first_check_ms(
                        record.properties(),
                        record.store_timestamp_ms(),
                        timeout_ms,
                    )
                } else {
                    0
                };
                let pending = found.entry(first).or_insert_with(|| Pending {
                    checks,
                    due_ms,
                    op_mark,
                    records: Vec::new(),
                    newest_size: 0,
                    revived: true,
                    topic: half::destination(record)
                        .map_or_else(|| Rc::from(""), |(t, _)| Rc::from(t)),
                });
                pending.newest_size = record.total_size();
                pending.checks = checks;
                pending.due_ms = due_ms;
                pending.records.push((q, offset.0));
            },
        )
        .await?;
        let mut state = self.state.borrow_mut();
        for (first, pending) in found {
            state.insert(first, pending);
        }
        Ok(())
    }
}

/// Reads the records of (`topic`, 0) at `range`, in order, and hands each with its CommitLog
/// offset to `each`. Entries whose record is gone (retention) are skipped.
async fn scan(
    store: &Store,
    topic: &str,
    range: std::ops::Range<u64>,
    mut each: impl FnMut(PhysicalOffset, &RecordView<'_>),
) -> Result<(), BrokerError> {
    let mut at = range.start;
    while at < range.end {
        let want = SCAN_BATCH.min((range.end - at) as usize);
        let entries = store
            .entries(topic, QueueId(0), QueueOffset(at), want)
            .await?;
        if entries.is_empty() {
            break;
        }
        at += entries.len() as u64;
        let ranges: Vec<_> = entries
            .iter()
            .filter(|e| !e.is_hole())
            .map(|e| (e.physical_offset, e.size as usize))
            .collect();
        for (&(offset, _), bytes) in ranges.iter().zip(read_each(store, &ranges).await?) {
            let Some(bytes) = bytes else {
                continue;
            };
            match RecordView::parse(&bytes) {
                Ok(record) => each(offset, &record),
                Err(error) => {
                    tracing::error!(topic, offset = offset.0, %error, "unreadable transaction record skipped");
                }
            }
        }
        glommio::yield_if_needed().await;
    }
    Ok(())
}
