//! The read side of a shard's store: reads by physical offset, pulls of a queue range with
//! count, byte and tag limits, search by store time, the record or store time at an offset a
//! client names, and queries by key. Records come back as [`LogBytes`]: windows on the
//! in-memory tail or DMA read buffers, never re-encoded.

use std::collections::HashSet;

use super::consume_queue::CqEntry;
use super::error::{StoreError, StoreResult};
use super::log_buffer::LogBytes;
use super::offsets::{PhysicalOffset, QueueId, QueueOffset};
use super::record::RECORD_SIZE_MIN;
use super::record::{self, consumable, scan, scan_verified, Scanned};
use super::record::{BLANK_HEADER, STORE_TIMESTAMP_PREFIX};
use super::store::Store;
use crate::limits::{QUERY_BYTES_MAX, QUERY_MESSAGES_MAX, RECORD_SIZE_MAX};

/// The answer to a pull: records in queue order and where the next pull starts.
#[derive(Debug)]
pub struct GetResult {
    pub records: Vec<LogBytes>,
    /// The queue offset after the last entry examined (filtered-out entries count).
    pub next: QueueOffset,
    pub min: QueueOffset,
    pub max: QueueOffset,
    /// Bytes from the last entry examined to the log's end (0 when none was): how far
    /// behind the writers this reader is (Java's `maxOffsetPy - maxPhyOffsetPulling`).
    pub behind: u64,
}

/// What a query by key found.
#[derive(Debug)]
pub struct KeyQuery {
    /// The matching records, in log order.
    pub records: Vec<LogBytes>,
    /// Store time of the newest entry of the newest index file (Java's
    /// `indexLastUpdateTimestamp`), 0 without an index file.
    pub index_last_update_timestamp: i64,
    /// Its log offset (Java's `indexLastUpdatePhyoffset`).
    pub index_last_update_offset: PhysicalOffset,
}

impl Store {
    /// Reads `size` bytes of the log at `offset` (one record, or a run of them in a segment).
    pub async fn read(&self, offset: PhysicalOffset, size: usize) -> StoreResult<LogBytes> {
        self.log().read(offset, size).await
    }

    /// Up to `max_count` records of (topic, queue) from `from`, at most `max_bytes` in all
    /// (at least one record if any), skipping entries whose tag code is not in `tags`.
    pub async fn get_messages(
        &self,
        topic: &str,
        queue_id: QueueId,
        from: QueueOffset,
        max_count: usize,
        max_bytes: usize,
        tags: Option<&[i64]>,
    ) -> StoreResult<GetResult> {
        let Some(q) = self.queue(topic, queue_id) else {
            let zero = QueueOffset(0);
            return Ok(GetResult {
                records: Vec::new(),
                next: zero,
                min: zero,
                max: zero,
                behind: 0,
            });
        };
        let (min, max) = (q.cq.min_offset(), q.cq.max_offset());
        let mut result = GetResult {
            records: Vec::new(),
            next: from,
            min,
            max,
            behind: 0,
        };
        if from < min || from >= max {
            result.next = if from < min { min } else { max };
            return Ok(result);
        }
        let log_min = self.log().min_offset();
        let (mut bytes, mut at) = (0usize, from.0);
        // Filtered entries cost a look but no read; scan a bounded window beyond max_count.
        let entries =
            q.cq.entries(from, max_count.saturating_mul(4).max(32))
                .await?;
        let mut wanted = Vec::new();
        let mut examined = None;
        for e in entries {
            if wanted.len() == max_count {
                break;
            }
            examined = Some(e.physical_offset);
            let keep = !e.is_hole() && tags.map_or(true, |t| t.contains(&e.tags_code));
            if keep && e.physical_offset >= log_min {
                if !(RECORD_SIZE_MIN..=RECORD_SIZE_MAX).contains(&(e.size as usize)) {
                    self.damaged_record(e.physical_offset.0, &"its ConsumeQueue entry's size");
                    at += 1;
                    continue;
                }
                if !wanted.is_empty() && bytes + e.size as usize > max_bytes {
                    break;
                }
                bytes += e.size as usize;
                wanted.push((e.physical_offset, e.size as usize));
            }
            at += 1;
        }
        result.records = self.read_verified(topic, queue_id, &wanted).await?;
        result.next = QueueOffset(at);
        let end = self.log().end().0;
        result.behind = examined.map_or(0, |at| end.saturating_sub(at.0));
        Ok(result)
    }

    /// The records of (topic, queue) at `ranges`; each one read from the device is checked to
    /// be the record its ConsumeQueue entry says, CRC included. One that is not is left out
    /// and reported, so damage costs a consumer that record and nothing more.
    async fn read_verified(
        &self,
        topic: &str,
        queue_id: QueueId,
        ranges: &[(PhysicalOffset, usize)],
    ) -> StoreResult<Vec<LogBytes>> {
        let read = match self.log().read_many(ranges).await {
            Ok(records) => records.into_iter().map(Ok).collect(),
            // An entry points outside the stored log: read the ranges one by one to find it.
            Err(StoreError::OutOfRange { .. }) => {
                let mut each = Vec::with_capacity(ranges.len());
                for &(offset, size) in ranges {
                    each.push(self.log().read(offset, size).await);
                }
                each
            }
            Err(e) => return Err(e),
        };
        let mut records = Vec::with_capacity(ranges.len());
        for (&(offset, _), bytes) in ranges.iter().zip(read) {
            let bytes = match bytes {
                Ok(bytes) => bytes,
                Err(StoreError::OutOfRange { .. }) => {
                    self.damaged_record(offset.0, &"its ConsumeQueue entry points past the log");
                    continue;
                }
                Err(e) => return Err(e),
            };
            // What this process appended and holds in memory is what reput filed.
            let trusted = !self.came_from_device(offset, &bytes);
            if trusted || record::is_record_of(&bytes, offset, topic, queue_id) {
                records.push(bytes);
            } else {
                self.damaged_record(offset.0, &"it does not verify (CRC, size or owner)");
            }
        }
        Ok(records)
    }

    /// The oldest and next queue offsets of (topic, queue); zeros for an unknown queue.
    pub fn queue_range(&self, topic: &str, queue_id: QueueId) -> (QueueOffset, QueueOffset) {
        self.queue(topic, queue_id)
            .map_or((QueueOffset(0), QueueOffset(0)), |q| {
                (q.cq.min_offset(), QueueOffset(q.next.get()))
            })
    }

    /// The ConsumeQueue entry at `at`, if stored and dispatched.
    pub async fn entry(
        &self,
        topic: &str,
        queue_id: QueueId,
        at: QueueOffset,
    ) -> StoreResult<Option<CqEntry>> {
        match self.queue(topic, queue_id) {
            Some(q) => q.cq.entry(at).await,
            None => Ok(None),
        }
    }

    /// Up to `max_count` ConsumeQueue entries of (topic, queue) from `from` on, as
    /// dispatched (holes included); none for an unknown queue.
    pub async fn entries(
        &self,
        topic: &str,
        queue_id: QueueId,
        from: QueueOffset,
        max_count: usize,
    ) -> StoreResult<Vec<CqEntry>> {
        match self.queue(topic, queue_id) {
            Some(q) => q.cq.entries(from, max_count).await,
            None => Ok(Vec::new()),
        }
    }

    /// The first queue offset whose record was stored at or after `timestamp` (the queue's
    /// max offset if none), by binary search over the ConsumeQueue.
    pub async fn offset_by_time(
        &self,
        topic: &str,
        queue_id: QueueId,
        timestamp: i64,
    ) -> StoreResult<QueueOffset> {
        let Some(q) = self.queue(topic, queue_id) else {
            return Ok(QueueOffset(0));
        };
        let (mut lo, mut hi) = (q.cq.min_offset().0, q.cq.max_offset().0);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let e =
                q.cq.entry(QueueOffset(mid))
                    .await?
                    .ok_or(StoreError::OutOfRange {
                        offset: mid,
                        size: 1,
                    })?;
            let stored =
                self.store_time(e.physical_offset)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt {
                        what: "commit log",
                        detail: format!("no record for queue offset {mid}"),
                    })?;
            if stored < timestamp {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(QueueOffset(lo))
    }

    /// The record that starts at `offset`, checked whole (structure, body CRC) and against
    /// its own PHYSICALOFFSET; `None` when no record starts there. The offset comes from a
    /// client (VIEW_MESSAGE_BY_ID), so it may point anywhere: past the end, inside a record,
    /// into a deleted segment or the unwritten end of one.
    pub async fn record_at(&self, offset: PhysicalOffset) -> StoreResult<Option<LogBytes>> {
        let Some(head) = self.read_if_stored(offset, BLANK_HEADER).await? else {
            return Ok(None);
        };
        let Some(size) = record::message_size(&head) else {
            return Ok(None);
        };
        let Some(bytes) = self.read_if_stored(offset, size).await? else {
            return Ok(None);
        };
        // Bytes inside a body can look like a record head; only a record written here
        // carries this offset and a matching CRC.
        let starts_here = matches!(scan(&bytes), Scanned::Record(m) if m.physical_offset == offset);
        Ok(starts_here.then_some(bytes))
    }

    /// Store time of the record at `offset`, read from its first bytes only; `None` when
    /// none is stored there.
    pub async fn store_time(&self, offset: PhysicalOffset) -> StoreResult<Option<i64>> {
        let prefix = self.read_if_stored(offset, STORE_TIMESTAMP_PREFIX).await?;
        Ok(prefix.and_then(|p| record::store_timestamp(&p)))
    }

    /// Store time of the message at `at` in (topic, queue); `None` when the queue has no
    /// such entry or its record is gone.
    pub async fn store_time_at(
        &self,
        topic: &str,
        queue_id: QueueId,
        at: QueueOffset,
    ) -> StoreResult<Option<i64>> {
        match self.entry(topic, queue_id, at).await? {
            Some(e) => self.store_time(e.physical_offset).await,
            None => Ok(None),
        }
    }

    /// Store time of the newest message filed in the ConsumeQueue of (topic, queue); `None`
    /// when it has none or its record is gone. A message just stored but not yet filed by
    /// reput is not seen.
    pub async fn last_store_time(
        &self,
        topic: &str,
        queue_id: QueueId,
    ) -> StoreResult<Option<i64>> {
        let Some(q) = self.queue(topic, queue_id) else {
            return Ok(None);
        };
        match q.cq.max_offset().0.checked_sub(1) {
            Some(last) => self.store_time_at(topic, queue_id, QueueOffset(last)).await,
            None => Ok(None),
        }
    }

    /// The records of `topic` whose `KEYS` hold `key` or whose `UNIQ_KEY` is `key`, filed in
    /// the index with a store time within `[begin_ms, end_ms]` (to the second, as Java's
    /// index keeps it): the newest `max_num` of them (at most
    /// [`QUERY_MESSAGES_MAX`], and [`QUERY_BYTES_MAX`] bytes past the first), answered in log
    /// order as Java does. Every candidate the index names is read and checked, so a hash
    /// collision or an entry a crash left behind never answers.
    pub async fn query_by_key(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin_ms: i64,
        end_ms: i64,
    ) -> StoreResult<KeyQuery> {
        let max = max_num.min(QUERY_MESSAGES_MAX);
        let (timestamp, offset) = self.index().last_update();
        let mut found: Vec<(PhysicalOffset, LogBytes)> = Vec::new();
        let (mut seen, mut bytes) = (HashSet::new(), 0);
        let mut lookup = self.index().lookup(topic, key, begin_ms, end_ms);
        while found.len() < max {
            let Some(at) = lookup.next().await? else {
                break;
            };
            // A record re-filed after a restart, or whose keys repeat, is named twice.
            if !seen.insert(at) {
                continue;
            }
            let Some(record) = self.keyed_record(at, topic, key).await? else {
                continue;
            };
            if !found.is_empty() && bytes + record.len() > QUERY_BYTES_MAX {
                break;
            }
            bytes += record.len();
            found.push((at, record));
        }
        found.sort_by_key(|(at, _)| *at);
        Ok(KeyQuery {
            records: found.into_iter().map(|(_, record)| record).collect(),
            index_last_update_timestamp: timestamp,
            index_last_update_offset: offset,
        })
    }

    /// The record at `offset` if one starts there, is consumable, belongs to `topic` and has
    /// `key` among its keys or as its unique key.
    async fn keyed_record(
        &self,
        offset: PhysicalOffset,
        topic: &str,
        key: &str,
    ) -> StoreResult<Option<LogBytes>> {
        let Some(bytes) = self.record_at(offset).await? else {
            return Ok(None);
        };
        let Scanned::Record(meta) = scan_verified(&bytes) else {
            return Ok(None);
        };
        let keyed = meta.uniq_key == Some(key)
            || meta
                .keys
                .is_some_and(|keys| keys.split(' ').any(|k| k == key));
        let hit = keyed && meta.topic == topic && consumable(meta.sysflag);
        Ok(hit.then_some(bytes))
    }

    /// [`Store::read`], with bytes the log does not hold (deleted, not yet written, across
    /// a segment end, beyond any offset Java's signed longs can name) as `None`; other
    /// failures stay errors.
    async fn read_if_stored(
        &self,
        offset: PhysicalOffset,
        size: usize,
    ) -> StoreResult<Option<LogBytes>> {
        if offset.0 > i64::MAX as u64 {
            return Ok(None);
        }
        match self.log().read(offset, size).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(StoreError::OutOfRange { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
