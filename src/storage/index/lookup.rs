//! Lookups: the candidate offsets of one key, newest first, read from the files being
//! written in memory and from full files with DMA reads.

use super::file::{self, Entry, Header};
use super::Index;
use crate::limits::INDEX_LOOKUP_ENTRIES_MAX;
use crate::storage::error::StoreResult;
use crate::storage::offsets::PhysicalOffset;

impl Index {
    /// A lookup of `key` in `topic` among entries stored within `[begin_ms, end_ms]`.
    pub fn lookup(&self, topic: &str, key: &str, begin_ms: i64, end_ms: i64) -> Lookup<'_> {
        Lookup {
            index: self,
            key_hash: file::key_hash(topic, key),
            begin: begin_ms,
            end: end_ms,
            files: self.inner.borrow().files.keys().copied().collect(),
            at: None,
            last: false,
            steps: 0,
        }
    }

    /// The newest file's end time and end offset (Java's `indexLastUpdateTimestamp` and
    /// `indexLastUpdatePhyoffset`), zeros without any file.
    pub fn last_update(&self) -> (i64, PhysicalOffset) {
        let inner = self.inner.borrow();
        inner
            .files
            .last_key_value()
            .map_or((0, PhysicalOffset(0)), |(_, f)| {
                (f.header.end_timestamp, PhysicalOffset(f.header.end_offset))
            })
    }

    fn header(&self, name: u64) -> Option<Header> {
        self.inner.borrow().files.get(&name).map(|f| f.header)
    }

    /// Slot `slot` of file `name`; `None` once the file is gone.
    async fn slot(&self, name: u64, slot: u32) -> StoreResult<Option<u32>> {
        let file = {
            let inner = self.inner.borrow();
            let Some(f) = inner.files.get(&name) else {
                return Ok(None);
            };
            if let Some(w) = &f.writing {
                return Ok(Some(w.slot(slot)));
            }
            f.file.clone()
        };
        let Some(file) = file else { return Ok(None) };
        self.gone_is_none(name, file::read_slot(&file, self.geo, slot).await)
    }

    /// Entry `index` of file `name`; `None` once the file is gone.
    async fn entry(&self, name: u64, index: u32) -> StoreResult<Option<Entry>> {
        let file = {
            let inner = self.inner.borrow();
            let Some(f) = inner.files.get(&name) else {
                return Ok(None);
            };
            if let Some(e) = f.writing.as_ref().and_then(|w| w.entry(index)) {
                return Ok(Some(e));
            }
            f.file.clone()
        };
        let Some(file) = file else { return Ok(None) };
        self.gone_is_none(name, file::read_entry(&file, self.geo, index).await)
    }

    /// A read of a file retention deleted meanwhile finds nothing rather than failing.
    fn gone_is_none<T>(&self, name: u64, read: StoreResult<T>) -> StoreResult<Option<T>> {
        match read {
            Ok(v) => Ok(Some(v)),
            Err(_) if !self.inner.borrow().files.contains_key(&name) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A lookup in progress: candidate offsets for one key, newest first, as Java's
/// `IndexService.queryOffset` visits them (newest file first, files whose time range meets
/// the query's, chains until an entry older than the range). Candidates share the key's
/// hash, so the caller checks each record.
#[derive(Debug)]
pub struct Lookup<'a> {
    index: &'a Index,
    key_hash: i32,
    begin: i64,
    end: i64,
    /// Files not searched yet, newest last.
    files: Vec<u64>,
    /// The file being searched and the entry to read next.
    at: Option<(u64, u32)>,
    /// The file being searched starts before `begin`: no older file can match.
    last: bool,
    steps: usize,
}

impl Lookup<'_> {
    /// The next candidate, or `None` when there is none (or [`INDEX_LOOKUP_ENTRIES_MAX`] entries
    /// were examined).
    pub async fn next(&mut self) -> StoreResult<Option<PhysicalOffset>> {
        let index = self.index;
        while self.steps < INDEX_LOOKUP_ENTRIES_MAX {
            let Some((name, i)) = self.at else {
                if self.last {
                    return Ok(None);
                }
                let Some(name) = self.files.pop() else {
                    return Ok(None);
                };
                let Some(h) = index.header(name) else {
                    continue;
                };
                self.last = h.begin_timestamp < self.begin;
                if h.time_matches(self.begin, self.end) {
                    let slot = index.geo.slot_of(self.key_hash);
                    let first = index.slot(name, slot).await?;
                    self.at = first.filter(|&v| v > 0 && v < h.count).map(|v| (name, v));
                }
                continue;
            };
            self.steps += 1;
            if self.steps % 1024 == 0 {
                glommio::yield_if_needed().await;
            }
            let (Some(h), Some(e)) = (index.header(name), index.entry(name, i).await?) else {
                self.at = None;
                continue;
            };
            let time = h.time_of(&e);
            let older = e.prev > 0 && e.prev < i && time >= self.begin;
            self.at = older.then_some((name, e.prev));
            if e.key_hash == self.key_hash && (self.begin..=self.end).contains(&time) {
                return Ok(Some(PhysicalOffset(e.offset)));
            }
        }
        Ok(None)
    }
}
