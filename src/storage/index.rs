//! A shard's IndexFiles: the hash index of message keys that QUERY_MESSAGE searches
//! (docs/protocol.md §2.7.7, §4.4). Reput files every consumable record under `topic#UNIQ_KEY` and
//! `topic#key` for each space-separated key of `KEYS`, in RocketMQ's file layout
//! ([`mod@file`]) under `shard-<k>/index/<yyyyMMddHHmmssSSS>`, a new file whenever
//! the newest is full. The log stays the single truth: lookups only name candidate offsets,
//! and the store reads and checks each record before answering.
//!
//! Lives on one shard. Inserts never touch the disk: the file being written keeps its header
//! and slots in memory ([`Writing`]), and the checkpoint writes what changed. Lookups read full
//! files with DMA reads. Methods take `&self` and never hold a borrow across an await.
//!
//! Crash safety. The index keeps its own two-slot state page (`index/state`, like the
//! checkpoint): the newest durable file, its header, the log offset below which every record is
//! indexed (`covered`), and a `slots_dirty_to` mark. A flush (1) writes and syncs the new
//! entries of every changed file, leaving the durable slot bytes of a page shared with entries
//! as they were; (2) if the file the state names got entries, records in the state that its
//! slots may now reference entries up to its count, all synced; (3) writes and syncs the
//! changed header and slot pages; (4) writes the new state. Recovery deletes files newer than
//! the state's, and if the mark is set, rebuilds the named file's slots as the state saw
//! them: the first entry a slot got after the state holds the slot's old value as its
//! `prevIndex`, and those entries are synced, so even torn slot pages are repaired by reading
//! only the entries added since. Entries past the state's count are ignored (and later
//! overwritten); reput re-dispatches from the checkpoint and records below `covered` are
//! skipped, being indexed already. Chains are followed only to strictly smaller entry
//! numbers, so no bytes can make a lookup loop.
//!
//! [`mod@file`] holds the byte layout and a file's in-memory part, `state` the state page,
//! [`lookup`](Lookup) the lookups.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use glommio::io::DmaBuffer;

use super::error::{StoreError, StoreResult};
use super::io::{align_up, Disk, SegmentFile};
use super::offsets::PhysicalOffset;
use super::retention::local_time;
use file::{key_hash_after, topic_hash, Entry, Header, Writing, ENTRY_SIZE, HEADER_SIZE};
use state::{IndexState, StateFile};

pub mod file;
mod lookup;
mod state;
#[cfg(test)]
mod tests;

pub use file::Geometry;
pub use lookup::Lookup;

/// Name of the index's state page file inside `index/`.
const STATE_FILE: &str = "state";

/// Entries read at once when recovery repairs slots.
const REPAIR_CHUNK: u32 = 4096;

/// A record's keys as the index files them: the hash of `topic#key` for its UNIQ_KEY and
/// each of its KEYS. Up to four without an allocation (a client sets a UNIQ_KEY on every
/// message, and most messages have a key or none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyHashes {
    first: [i32; 4],
    len: u8,
    more: Vec<i32>,
}

impl KeyHashes {
    /// The hashes of the keys of a record of `topic`; empty keys are not filed.
    pub fn of(topic: &str, uniq_key: Option<&str>, keys: Option<&str>) -> KeyHashes {
        let mut out = KeyHashes::default();
        let keys = keys.into_iter().flat_map(|k| k.split(' '));
        let mut topic_code = None;
        for key in uniq_key.into_iter().chain(keys) {
            if key.is_empty() {
                continue;
            }
            let topic_code = *topic_code.get_or_insert_with(|| topic_hash(topic));
            out.push(key_hash_after(topic_code, key));
        }
        out
    }

    fn push(&mut self, hash: i32) {
        match self.first.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = hash;
                self.len += 1;
            }
            None => self.more.push(hash),
        }
    }

    /// In the order the keys came.
    pub fn iter(&self) -> impl Iterator<Item = i32> + '_ {
        let first = &self.first[..usize::from(self.len)];
        first.iter().chain(&self.more).copied()
    }
}

/// One index file.
#[derive(Debug)]
struct IndexFile {
    header: Header,
    /// Opened or created by the first flush of a new file.
    file: Option<SegmentFile>,
    /// Present while the file takes entries or holds some not yet flushed.
    writing: Option<Box<Writing>>,
}

/// A key filed while a flush runs, inserted when it ends.
#[derive(Debug, Clone, Copy)]
struct Pending {
    key_hash: i32,
    offset: u64,
    timestamp: i64,
}

#[derive(Debug)]
struct Inner {
    /// Every file, by name (its creation time as a 17-digit number), oldest first.
    files: BTreeMap<u64, IndexFile>,
    /// What the state page says.
    durable: IndexState,
    /// Records below this offset are indexed already: reput re-dispatching them after a
    /// restart adds nothing.
    skip_below: u64,
    pending: Vec<Pending>,
}

/// A shard's index.
#[derive(Debug)]
pub struct Index {
    disk: Disk,
    dir: PathBuf,
    geo: Geometry,
    state_file: StateFile,
    inner: RefCell<Inner>,
    flushing: Cell<bool>,
}

impl Index {
    /// Opens the index in `dir`, recovering it to its last durable state (see the module
    /// docs). Files must have the geometry they were created with.
    pub async fn open(disk: Disk, dir: PathBuf, geo: Geometry) -> StoreResult<Index> {
        geo.validate();
        disk.create_dir_all(&dir).await?;
        disk.sync_dir(&dir).await?;
        if let Some(parent) = dir.parent() {
            disk.sync_dir(parent).await?;
        }
        let (state_file, state) = StateFile::open(&disk, dir.join(STATE_FILE)).await?;
        let state = state.unwrap_or_default();
        check_geometry(&dir, state.geo, geo)?;
        let (files, named) = open_files(&disk, &dir, geo, state.file).await?;
        disk.sync_dir(&dir).await?;
        let index = Index {
            disk,
            dir,
            geo,
            state_file,
            inner: RefCell::new(Inner {
                files,
                durable: state,
                skip_below: state.covered,
                pending: Vec::new(),
            }),
            flushing: Cell::new(false),
        };
        if state.file != 0 {
            let Some(file) = named else {
                let detail = format!("the state names {} which is missing", state.file);
                return Err(StoreError::Corrupt {
                    what: "index",
                    detail,
                });
            };
            index.recover_newest(state, file).await?;
        }
        Ok(index)
    }

    /// Loads the file the state names, repairing its slots if a flush was cut while writing
    /// them.
    async fn recover_newest(&self, state: IndexState, file: SegmentFile) -> StoreResult<()> {
        let count = state.header.count;
        let writing = if count >= self.geo.entries {
            None
        } else {
            let mut w = Writing::load(self.geo, &file, &state.header).await?;
            if state.slots_dirty_to > count {
                self.repair_slots(&mut w, &file, count, state.slots_dirty_to)
                    .await?;
                w.set_header(&state.header);
                if write_head_runs(&file, |page| w.head_run(page)).await? {
                    w.head_written();
                }
                let clean = IndexState {
                    slots_dirty_to: 0,
                    ..state
                };
                self.state_file.write(&clean).await?;
                self.inner.borrow_mut().durable = clean;
            }
            w.forget_past(count);
            Some(Box::new(w))
        };
        let f = IndexFile {
            header: state.header,
            file: Some(file),
            writing,
        };
        self.inner.borrow_mut().files.insert(state.file, f);
        Ok(())
    }

    /// Gives every slot that got entries in `[from, to)` the value it had before the first of
    /// them: that entry's `prevIndex`. Walking backwards lets the earliest entry win.
    async fn repair_slots(
        &self,
        w: &mut Writing,
        file: &SegmentFile,
        from: u32,
        to: u32,
    ) -> StoreResult<()> {
        let mut end = to;
        while end > from {
            let start = end.saturating_sub(REPAIR_CHUNK).max(from);
            let len = ((end - start) as u64 * ENTRY_SIZE) as usize;
            let bytes = file.read_at(self.geo.entry_pos(start), len).await?;
            if bytes.len() < len {
                let detail = format!("entries {start}..{end} of {}", file.path().display());
                return Err(StoreError::Corrupt {
                    what: "index file",
                    detail,
                });
            }
            for chunk in bytes.chunks_exact(ENTRY_SIZE as usize).rev() {
                let e = Entry::decode(chunk);
                // A synced entry's prevIndex is below the state's count; anything else
                // would be damage, and an empty chain is the safe reading of it.
                let prev = if e.prev < from { e.prev } else { 0 };
                w.set_slot(self.geo.slot_of(e.key_hash), prev);
            }
            end = start;
        }
        Ok(())
    }

    /// Says where the recovered log ends: records appended from there on are new, whatever
    /// the state covers. The state covers only synced log bytes, so this changes nothing
    /// unless damage cut synced records off the log.
    pub fn log_recovered(&self, end: PhysicalOffset) {
        let mut inner = self.inner.borrow_mut();
        inner.skip_below = inner.skip_below.min(end.0);
    }

    /// Files the keys of the record at `offset`, stored at `timestamp`, that reput
    /// dispatches. Never waits: the newest file's slots are in memory, and a new file exists
    /// only in memory until the next flush.
    pub fn add(&self, offset: u64, timestamp: i64, keys: &KeyHashes) {
        let mut inner = self.inner.borrow_mut();
        if offset < inner.skip_below {
            return;
        }
        for key_hash in keys.iter() {
            let p = Pending {
                key_hash,
                offset,
                timestamp,
            };
            if self.flushing.get() {
                inner.pending.push(p);
            } else {
                self.put(&mut inner, p);
            }
        }
    }

    /// Java's `IndexFile.putKey` into the newest file, starting a new one when it is full.
    fn put(&self, inner: &mut Inner, p: Pending) {
        let geo = self.geo;
        let room = inner
            .files
            .last_key_value()
            .is_some_and(|(_, f)| f.writing.is_some() && f.header.count < geo.entries);
        if !room {
            let last = inner.files.last_key_value();
            let name = next_name(last.map(|(n, _)| *n), p.timestamp);
            let header = Header::after(last.map(|(_, f)| &f.header));
            let f = IndexFile {
                header,
                file: None,
                writing: Some(Box::new(Writing::new(geo))),
            };
            inner.files.insert(name, f);
        }
        let f = inner.files.last_entry().expect("a file").into_mut();
        let (h, w) = (&mut f.header, f.writing.as_mut().expect("writable"));
        let slot = geo.slot_of(p.key_hash);
        let prev = Some(w.slot(slot)).filter(|&v| v < h.count).unwrap_or(0);
        if h.count == 1 {
            h.begin_timestamp = p.timestamp;
            h.begin_offset = p.offset;
        }
        let seconds = (p.timestamp - h.begin_timestamp) / 1000;
        let entry = Entry {
            key_hash: p.key_hash,
            offset: p.offset,
            time_diff: seconds.clamp(0, i64::from(i32::MAX)) as i32,
            prev,
        };
        w.push_entry(h.count, &entry);
        w.set_slot(slot, h.count);
        if prev == 0 {
            h.slots_used += 1;
        }
        h.count += 1;
        h.end_offset = p.offset;
        h.end_timestamp = p.timestamp;
        w.set_header(h);
    }

    /// Makes everything filed so far durable (the steps in the module docs) and records that
    /// every record below `covered` is indexed. The checkpoint calls this with its reput
    /// offset, below which the log is synced; keys filed while it runs wait in memory.
    pub async fn flush(&self, covered: PhysicalOffset) -> StoreResult<()> {
        if self.flushing.replace(true) {
            return Ok(());
        }
        let result = self.flush_inner(covered).await;
        self.flushing.set(false);
        let mut inner = self.inner.borrow_mut();
        for p in std::mem::take(&mut inner.pending) {
            self.put(&mut inner, p);
        }
        result
    }

    /// The flush in the module docs' four steps, each over the files that changed.
    async fn flush_inner(&self, covered: PhysicalOffset) -> StoreResult<()> {
        let changed = self.changed_files();
        if changed.is_empty() {
            return Ok(());
        }
        self.write_entries(&changed).await?;
        self.mark_slots_dirty().await?;
        self.write_heads(&changed).await?;
        self.record_flushed(changed, covered).await
    }

    /// The files holding entries not yet written.
    fn changed_files(&self) -> Vec<u64> {
        let inner = self.inner.borrow();
        let files = inner.files.iter();
        files
            .filter(|(_, f)| {
                f.writing
                    .as_ref()
                    .is_some_and(|w| w.changed(f.header.count))
            })
            .map(|(name, _)| *name)
            .collect()
    }

    /// Step 1: writes and syncs the new entries of every changed file.
    async fn write_entries(&self, changed: &[u64]) -> StoreResult<()> {
        for &name in changed {
            let file = self.file_of(name).await?;
            let writes = {
                let inner = self.inner.borrow();
                let f = &inner.files[&name];
                f.writing
                    .as_ref()
                    .expect("changed")
                    .entry_writes(f.header.count)
            };
            for (pos, buf) in writes {
                file.write_at(Rc::new(buf), pos).await?;
            }
            file.fdatasync().await?;
        }
        Ok(())
    }

    /// Step 2: if the file the state names got entries, records that its slots may now
    /// reference entries up to its count.
    async fn mark_slots_dirty(&self) -> StoreResult<()> {
        let mark = {
            let inner = self.inner.borrow();
            let d = inner.durable;
            let named = inner.files.get(&d.file).filter(|f| f.writing.is_some());
            named
                .filter(|f| f.header.count > d.header.count)
                .map(|f| IndexState {
                    slots_dirty_to: f.header.count,
                    ..d
                })
        };
        if let Some(mark) = mark {
            self.state_file.write(&mark).await?;
            self.inner.borrow_mut().durable = mark;
        }
        Ok(())
    }

    /// Step 3: writes and syncs the changed header and slot pages.
    async fn write_heads(&self, changed: &[u64]) -> StoreResult<()> {
        for &name in changed {
            let file = self.file_of(name).await?;
            let run = |page| {
                let inner = self.inner.borrow();
                inner.files.get(&name)?.writing.as_ref()?.head_run(page)
            };
            if write_head_runs(&file, run).await? {
                let mut inner = self.inner.borrow_mut();
                let f = inner.files.get_mut(&name).expect("kept");
                f.writing.as_mut().expect("changed").head_written();
            }
        }
        Ok(())
    }

    /// Step 4: writes the new state, then lets go of the in-memory part of files now full.
    async fn record_flushed(&self, changed: Vec<u64>, covered: PhysicalOffset) -> StoreResult<()> {
        let state = {
            let inner = self.inner.borrow();
            let (&file, newest) = inner.files.last_key_value().expect("changed files");
            IndexState {
                file,
                header: newest.header,
                covered: covered.0,
                slots_dirty_to: 0,
                geo: Some(self.geo),
            }
        };
        self.state_file.write(&state).await?;
        let mut inner = self.inner.borrow_mut();
        inner.durable = state;
        for name in changed {
            let f = inner.files.get_mut(&name).expect("kept");
            let count = f.header.count;
            let w = f.writing.as_mut().expect("changed");
            w.flushed_to(count);
            if count >= self.geo.entries {
                f.writing = None;
            }
        }
        Ok(())
    }

    /// The open file `name`, created and preallocated on its first flush.
    async fn file_of(&self, name: u64) -> StoreResult<SegmentFile> {
        let existing = self
            .inner
            .borrow()
            .files
            .get(&name)
            .and_then(|f| f.file.clone());
        if let Some(file) = existing {
            return Ok(file);
        }
        let file = self
            .disk
            .open(&self.dir.join(file_name(name)), true)
            .await?;
        file.pre_allocate(align_up(self.geo.file_size())).await?;
        self.disk.sync_dir(&self.dir).await?;
        let mut inner = self.inner.borrow_mut();
        inner.files.get_mut(&name).expect("kept").file = Some(file.clone());
        Ok(file)
    }

    /// Deletes the files whose every entry points below `log_min` (the log's oldest stored
    /// offset after retention), oldest first, as Java does; the newest file always stays.
    /// Returns how many went.
    pub async fn delete_before(&self, log_min: PhysicalOffset) -> StoreResult<usize> {
        let doomed: Vec<SegmentFile> = {
            let mut inner = self.inner.borrow_mut();
            let newest = inner.files.last_key_value().map(|(n, _)| *n);
            let names: Vec<u64> = inner
                .files
                .iter()
                .take_while(|(name, f)| {
                    Some(**name) != newest && f.writing.is_none() && f.header.end_offset < log_min.0
                })
                .map(|(name, _)| *name)
                .collect();
            let files = names.iter().filter_map(|n| inner.files.remove(n));
            files.filter_map(|f| f.file).collect()
        };
        for file in &doomed {
            self.disk.remove(&file.path()).await?;
        }
        if !doomed.is_empty() {
            self.disk.sync_dir(&self.dir).await?;
        }
        Ok(doomed.len())
    }

    /// Names of the index files, oldest first (including one not yet created on disk).
    pub fn file_names(&self) -> Vec<String> {
        let inner = self.inner.borrow();
        inner.files.keys().map(|&n| file_name(n)).collect()
    }

    /// Heap bytes held by the files being written.
    pub fn heap_bytes(&self) -> usize {
        let inner = self.inner.borrow();
        let writing = inner.files.values().filter_map(|f| f.writing.as_ref());
        writing.map(|w| w.heap_bytes()).sum()
    }
}

/// Writes the head runs `run` gives (from page 0 on) and syncs them; returns whether there
/// were any.
async fn write_head_runs(
    file: &SegmentFile,
    run: impl Fn(usize) -> Option<(u64, usize, DmaBuffer)>,
) -> StoreResult<bool> {
    let mut page = 0;
    let mut wrote = false;
    while let Some((at, next, buf)) = run(page) {
        file.write_at(Rc::new(buf), at).await?;
        page = next;
        wrote = true;
    }
    if wrote {
        file.fdatasync().await?;
    }
    Ok(wrote)
}

/// Fails unless the state was written with `geo` (or with none, being new).
fn check_geometry(dir: &Path, written: Option<Geometry>, geo: Geometry) -> StoreResult<()> {
    let Some(written) = written.filter(|&w| w != geo) else {
        return Ok(());
    };
    let detail = format!(
        "{} was written with maxHashSlotNum {} and maxIndexNum {}, not {} and {}: \
         index files keep the geometry they were created with",
        dir.display(),
        written.slots,
        written.entries,
        geo.slots,
        geo.entries
    );
    Err(StoreError::Corrupt {
        what: "index",
        detail,
    })
}

/// Opens the files in `dir` up to `newest`, the one the state names, checking each has the
/// size of `geo`; deletes those after it, whose contents were never made durable. Returns
/// the older files with their headers, and `newest` apart: its header comes from the state.
async fn open_files(
    disk: &Disk,
    dir: &Path,
    geo: Geometry,
    newest: u64,
) -> StoreResult<(BTreeMap<u64, IndexFile>, Option<SegmentFile>)> {
    let mut files = BTreeMap::new();
    let mut named = None;
    for name in disk
        .list_dir(dir)
        .await?
        .iter()
        .filter_map(|n| parse_name(n))
    {
        let path = dir.join(file_name(name));
        if name > newest {
            disk.remove(&path).await?;
            continue;
        }
        let file = disk.open(&path, false).await?;
        let size = file.size().await?;
        if size != align_up(geo.file_size()) {
            let detail = format!(
                "{} has {size} bytes, not the {} of its maxHashSlotNum and maxIndexNum",
                path.display(),
                align_up(geo.file_size()),
            );
            return Err(StoreError::Corrupt {
                what: "index file",
                detail,
            });
        }
        if name == newest {
            named = Some(file);
            continue;
        }
        let header = Header::decode(&file.read_at(0, HEADER_SIZE as usize).await?);
        let file = Some(file);
        files.insert(
            name,
            IndexFile {
                header,
                file,
                writing: None,
            },
        );
    }
    Ok((files, named))
}

/// The name of a file created at `ms` after the newest, `last`: local time as
/// `yyyyMMddHHmmssSSS` (Java's `timeMillisToHumanString`), moved past `last` if the clock
/// gives the same or an earlier one, so names always sort in creation order.
fn next_name(last: Option<u64>, ms: i64) -> u64 {
    let ms = ms.max(0);
    let name = match local_time(ms) {
        Some(at) => {
            let day = i64::from(at.year()) * 10_000 + i64::from(at.month()) * 100;
            let day = day + i64::from(at.day());
            let time = i64::from(at.hour()) * 10_000 + i64::from(at.minute()) * 100;
            let time = time + i64::from(at.second());
            ((day * 1_000_000 + time) * 1000 + ms % 1000) as u64
        }
        None => ms as u64,
    };
    match last {
        Some(last) if name <= last => last + 1,
        _ => name,
    }
}

fn file_name(name: u64) -> String {
    format!("{name:017}")
}

fn parse_name(name: &str) -> Option<u64> {
    let digits = name.len() == 17 && name.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| name.parse().ok()).flatten()
}
