//! The timer index on disk (docs/protocol.md §5.6, docs/storage.md "Timer messages"): one
//! append-only file per minute of due time, `<shard dir>/timer/<minute start ms, %020d>`,
//! listing the timer messages due in that minute. The parked messages themselves stay in the
//! CommitLog (`rmq_sys_wheel_timer` queue 0); a file entry only says where one is and when it
//! is due, so the service loads one minute at a time and memory follows the timers of the
//! minute being delivered, not every pending timer.
//!
//! An entry is 32 bytes, big-endian: `due ms (i64) | timer-queue offset (u64) | physical
//! offset (u64) | size (u32) | CRC-32 of the 28 bytes before it (u32)`. A file is appended
//! in timer-queue order and synced before the service counts its entries as indexed, so after
//! a crash a file can only end with a torn entry (cut away when the files are scanned) and
//! the entries it already holds are exactly those of queue offset up to its last one.
//!
//! Blocking file I/O: the service calls these on glommio's blocking pool, never on the
//! reactor.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The span of due time one file covers.
pub const BUCKET_MS: i64 = 60_000;

/// Bytes of one entry.
pub const ENTRY_LEN: usize = 32;

/// One parked timer message: when it is due and where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerEntry {
    /// Due time, ms since the epoch. First, so entries sort by due time.
    pub due_ms: i64,
    /// Its offset in the timer queue.
    pub queue_offset: u64,
    /// Where its record is in the CommitLog, and how long.
    pub physical_offset: u64,
    pub size: u32,
}

impl TimerEntry {
    pub fn encode(&self) -> [u8; ENTRY_LEN] {
        let mut out = [0u8; ENTRY_LEN];
        out[0..8].copy_from_slice(&self.due_ms.to_be_bytes());
        out[8..16].copy_from_slice(&self.queue_offset.to_be_bytes());
        out[16..24].copy_from_slice(&self.physical_offset.to_be_bytes());
        out[24..28].copy_from_slice(&self.size.to_be_bytes());
        let crc = crc32fast::hash(&out[..28]);
        out[28..32].copy_from_slice(&crc.to_be_bytes());
        out
    }

    /// The entry in `bytes` (exactly [`ENTRY_LEN`] long); `None` when its CRC does not match.
    pub fn decode(bytes: &[u8]) -> Option<TimerEntry> {
        let bytes: &[u8; ENTRY_LEN] = bytes.try_into().ok()?;
        let word = |at: usize| {
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let long = |at: usize| u64::from(word(at)) << 32 | u64::from(word(at + 4));
        if crc32fast::hash(&bytes[..28]) != word(28) {
            return None;
        }
        Some(TimerEntry {
            due_ms: long(0) as i64,
            queue_offset: long(8),
            physical_offset: long(16),
            size: word(24),
        })
    }
}

/// The start of the minute `due_ms` falls in: the file it is listed in.
pub fn bucket_of(due_ms: i64) -> i64 {
    due_ms.div_euclid(BUCKET_MS) * BUCKET_MS
}

/// What the service knows of a file without loading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileInfo {
    /// Entries it holds.
    pub entries: u64,
    /// The timer-queue offset of its last entry: a later entry for this file must be beyond
    /// it (after a crash the service indexes again what it indexed since its state was
    /// written, and skips what a file already holds).
    pub last_queue_offset: u64,
}

/// The directory of the timer files and its operations.
#[derive(Debug, Clone)]
pub struct SlotFiles {
    dir: PathBuf,
}

impl SlotFiles {
    pub fn new(dir: PathBuf) -> SlotFiles {
        SlotFiles { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, bucket: i64) -> PathBuf {
        self.dir.join(format!("{bucket:020}"))
    }

    /// Every file, by minute, with torn tails cut away (creates the directory). Files of
    /// minutes before `keep_from`'s are removed: everything in them was delivered.
    pub fn scan(&self, keep_from: i64) -> io::Result<BTreeMap<i64, FileInfo>> {
        fs::create_dir_all(&self.dir)?;
        let mut found = BTreeMap::new();
        for item in fs::read_dir(&self.dir)? {
            let item = item?;
            let name = item.file_name();
            let Some(bucket) = name.to_str().and_then(|n| n.parse::<i64>().ok()) else {
                continue;
            };
            if bucket + BUCKET_MS <= keep_from {
                fs::remove_file(item.path())?;
                continue;
            }
            if let Some(info) = repair_tail(&item.path())? {
                found.insert(bucket, info);
            }
        }
        sync_dir(&self.dir)?;
        Ok(found)
    }

    /// Appends each file's entries (in timer-queue order) and syncs every file touched, and
    /// the directory when a file is new.
    pub fn append(&self, batch: &[(i64, Vec<TimerEntry>)]) -> io::Result<()> {
        let mut created = false;
        for (bucket, entries) in batch {
            let path = self.path(*bucket);
            created |= !path.exists();
            let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
            let mut bytes = Vec::with_capacity(entries.len() * ENTRY_LEN);
            for entry in entries {
                bytes.extend_from_slice(&entry.encode());
            }
            file.write_all(&bytes)?;
            file.sync_data()?;
        }
        if created {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// The entries of `bucket`'s file, sorted, and how many did not verify (damage).
    pub fn load(&self, bucket: i64) -> io::Result<(Vec<TimerEntry>, usize)> {
        let bytes = match fs::read(self.path(bucket)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
            Err(e) => return Err(e),
        };
        let mut entries = Vec::with_capacity(bytes.len() / ENTRY_LEN);
        let mut damaged = 0;
        for chunk in bytes.chunks_exact(ENTRY_LEN) {
            match TimerEntry::decode(chunk) {
                Some(entry) => entries.push(entry),
                None => damaged += 1,
            }
        }
        entries.sort_unstable();
        entries.dedup();
        Ok((entries, damaged))
    }

    /// Removes the files of `buckets`.
    pub fn remove(&self, buckets: &[i64]) -> io::Result<()> {
        for bucket in buckets {
            match fs::remove_file(self.path(*bucket)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        sync_dir(&self.dir)
    }
}

/// Cuts a file back to its last whole entry that verifies (an append torn by a crash) and
/// says what it holds; `None` (and the file removed) when nothing is left.
fn repair_tail(path: &Path) -> io::Result<Option<FileInfo>> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let len = file.metadata()?.len();
    let mut whole = len - len % ENTRY_LEN as u64;
    let mut last = None;
    while whole > 0 {
        let mut bytes = [0u8; ENTRY_LEN];
        file.seek(SeekFrom::Start(whole - ENTRY_LEN as u64))?;
        file.read_exact(&mut bytes)?;
        if let Some(entry) = TimerEntry::decode(&bytes) {
            last = Some(entry);
            break;
        }
        whole -= ENTRY_LEN as u64;
    }
    if whole != len {
        tracing::warn!(path = %path.display(), cut = len - whole, "timer index file ended in a torn entry; cut");
        file.set_len(whole)?;
        file.sync_all()?;
    }
    drop(file);
    match last {
        Some(entry) => Ok(Some(FileInfo {
            entries: whole / ENTRY_LEN as u64,
            last_queue_offset: entry.queue_offset,
        })),
        None => {
            fs::remove_file(path)?;
            Ok(None)
        }
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
#[path = "timer_slots_tests.rs"]
mod tests;
