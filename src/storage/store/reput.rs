//! Reput: filing each appended record in its ConsumeQueue and the index, from what its
//! append left ([`super::super::filing`]) or from the log's bytes (docs/storage.md, "Reput").

use super::*;

impl Store {
    /// Dispatches every record appended since the last reput into its ConsumeQueue. Returns
    /// how many records it dispatched.
    pub async fn reput(&self) -> StoreResult<usize> {
        if self.reputting.replace(true) {
            return Ok(0);
        }
        let result = self.reput_inner().await;
        self.reputting.set(false);
        result
    }

    /// Files the records whose appends left their filing without reading them; reads the
    /// rest of the log a block at a time (a zero-copy window on the tail, or one DMA read
    /// after a restart) and dispatches every whole record in it; a record crossing the window
    /// is read on its own.
    async fn reput_inner(&self) -> StoreResult<usize> {
        let seg_size = self.config.log.segment_size;
        let block = self.config.log.block_size as u64;
        let mut count = 0;
        loop {
            let pos = self.reput_from.get();
            let end = self.log().end().0;
            if pos >= end {
                return Ok(count);
            }
            // Debug builds read every record, to check its filing against it (`dispatch`).
            if !cfg!(debug_assertions) {
                if let Some(filing) = self.filings.take(pos) {
                    self.file(filing);
                    count += 1;
                    glommio::yield_if_needed().await;
                    continue;
                }
            }
            let seg_end = pos - pos % seg_size + seg_size;
            let window_end = end.min(seg_end).min(pos - pos % block + block);
            // The bytes after a segment's filler are never in the tail: a window reaching
            // into them fails, and the record-by-record path below takes over.
            let len = (window_end - pos) as usize;
            let window = match self.log().read(PhysicalOffset(pos), len).await {
                Ok(w) => w,
                Err(StoreError::OutOfRange { .. }) => LogBytes::Owned(Vec::new()),
                Err(e) => return Err(e),
            };
            let mut at = 0usize;
            while let Some(head) = window.get(at..at + 8) {
                let size = u32::from_be_bytes(head[..4].try_into().expect("4")) as usize;
                if u32::from_be_bytes(head[4..].try_into().expect("4")) == MAGIC_BLANK {
                    self.reput_from.set(seg_end);
                    break;
                }
                let Some(rec) = window.get(at..at + size) else {
                    break;
                };
                self.dispatch(pos + at as u64, rec)?;
                at += size;
                count += 1;
            }
            if self.reput_from.get() == pos && at == 0 {
                // The record at `pos` runs past the window: read it whole.
                let head = self.log().read(PhysicalOffset(pos), 8).await?;
                let size = u32::from_be_bytes(head[..4].try_into().expect("4")) as usize;
                if u32::from_be_bytes(head[4..].try_into().expect("4")) == MAGIC_BLANK {
                    self.reput_from.set(seg_end);
                    continue;
                }
                let rec = self.log().read(PhysicalOffset(pos), size).await?;
                self.dispatch(pos, &rec)?;
                count += 1;
            }
            glommio::yield_if_needed().await;
        }
    }

    /// Files one stored record in its ConsumeQueue and moves the reput point past it. The
    /// record was appended by this process or verified by recovery: its CRC is not checked
    /// again.
    pub(super) fn dispatch(&self, pos: u64, rec: &[u8]) -> StoreResult<()> {
        let appended = self.filings.take(pos);
        let filing = match appended {
            Some(filing) if !cfg!(debug_assertions) => filing,
            appended => {
                let parsed = self.parse_filing(pos, rec)?;
                if let Some(filing) = &appended {
                    assert!(
                        filing.same_as(&parsed),
                        "the append's filing {filing:?} is not the record's {parsed:?}"
                    );
                }
                appended.unwrap_or(parsed)
            }
        };
        self.file(filing);
        Ok(())
    }

    /// How the record at `pos` is filed, from its bytes.
    fn parse_filing(&self, pos: u64, rec: &[u8]) -> StoreResult<Filing> {
        let meta = match scan_verified(rec) {
            Scanned::Record(meta) if meta.physical_offset.0 == pos => meta,
            _ => {
                let detail = format!("no record at {pos} during reput");
                return Err(StoreError::Corrupt {
                    what: "commit log",
                    detail,
                });
            }
        };
        let queue = if !consumable(meta.sysflag) {
            None
        } else if names_a_directory(meta.topic) {
            Some(self.queue_or_create(meta.topic, QueueId(meta.queue_id)))
        } else {
            // Damaged topic bytes (the CRC covers only the body) must not name a path.
            self.damaged_record(pos, &"its topic cannot name a queue directory");
            self.lost_records.set(self.lost_records.get() + 1);
            None
        };
        Ok(Filing {
            pos,
            size: meta.total_size,
            store_timestamp: meta.store_timestamp_ms,
            keys: self.key_hashes(queue.is_some(), meta.topic, &meta.filing_properties()),
            queue,
            queue_offset: meta.queue_offset,
            tags_code: tags_code(&meta),
        })
    }

    /// Files a record in its ConsumeQueue and the index, and moves the reput point past it.
    fn file(&self, filing: Filing) {
        if let Some(q) = &filing.queue {
            self.file_in(q, &filing);
        }
        self.reput_timestamp.set(filing.store_timestamp);
        self.reput_from.set(filing.pos + u64::from(filing.size));
    }

    fn file_in(&self, q: &Queue, f: &Filing) {
        let entry = CqEntry {
            physical_offset: PhysicalOffset(f.pos),
            size: f.size,
            tags_code: f.tags_code,
        };
        let missing = f.queue_offset.0.saturating_sub(q.cq.max_offset().0);
        if missing > 0 && missing <= self.lost_records.get() {
            // Records of this queue were lost in the damaged range just stepped over.
            q.cq.push_holes(f.queue_offset, entry.physical_offset);
            self.lost_records.set(self.lost_records.get() - missing);
        } else if missing > 0 && q.cq.max_offset().0 == 0 && self.log_starts_late.get() {
            q.cq.start_at(f.queue_offset, entry.physical_offset);
        }
        if let Err(error) = q.cq.push(f.queue_offset, entry) {
            // Only a record recovery read back can get here: a field the CRC does not cover
            // (queue offset, topic) was damaged. It stays in the log, out of its queue, and
            // the record after it in its real queue may skip its offset.
            self.damaged_record(f.pos, &error);
            self.lost_records.set(self.lost_records.get() + 1);
            return;
        }
        q.next.set(q.next.get().max(f.queue_offset.0 + 1));
        // Without an index the filing holds no keys.
        self.index.add(f.pos, f.store_timestamp, &f.keys);
        if let Some(listener) = &*self.dispatch_listener.borrow() {
            listener(&q.topic, q.id, f.queue_offset, f.tags_code);
        }
    }
}
