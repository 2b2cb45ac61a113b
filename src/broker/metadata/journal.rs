//! A config table kept on disk as a snapshot in Java's layout (`topics.json`,
//! `subscriptionGroup.json`) plus a journal of the changes made since (docs/storage.md
//! "Config files").
//!
//! Each batch of changes appends one line to `<file>.journal`: the table's data version
//! after the batch and the state of every entry the batch touched (`put`: the entry as it
//! is now, `remove`: its name). So persisting a batch costs its own size, not the table's.
//! When the journal has grown past the snapshot, the owner rotates it to
//! `<file>.journal.old`, writes a new snapshot in the background and then deletes the old
//! journal: the writes a table of n entries needs stay O(1) per change on average.
//!
//! Reading is the snapshot, then the old journal, then the journal, each record applied
//! when its data version counter is newer than the snapshot's (a crash between the new
//! snapshot and the deletion of the old journal replays nothing twice). A last line cut
//! short by a crash is dropped: the batch it held was never acknowledged, because a batch
//! is answered only once its line is on disk. Any other bad line stops the start with its
//! file and line number.
//!
//! The functions here are blocking; the owner calls them off the reactor.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::broker::metadata::config_file;
use crate::wire::body::{self, DataVersion};

/// A journal smaller than this is never compacted, whatever the snapshot's size.
pub const COMPACT_MIN_BYTES: u64 = 64 * 1024;

/// One batch of changes: the table's version after it, the entries it created or replaced
/// (`E`, as they are now) and the names it removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record<E> {
    pub data_version: DataVersion,
    #[serde(default = "Vec::new", skip_serializing_if = "Vec::is_empty")]
    pub put: Vec<E>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
}

/// A table the owner persists as a snapshot and a journal.
pub trait Journaled: Clone + Send + 'static {
    /// The journal line (JSON, no newline) of the changes made since the last call, which
    /// are then forgotten; `None` when there were none.
    fn take_record(&mut self) -> Option<Vec<u8>>;

    /// The whole table as its snapshot file holds it.
    fn snapshot(&self) -> Vec<u8>;

    /// The table's data version counter, which orders its journal records.
    fn counter(&self) -> i64;
}

/// The journal line of a table at `data_version` whose entries named in `unsaved` changed
/// (which it empties): each one as `entry` finds it now, or removed when it finds none.
/// `None` when nothing changed.
pub fn record_of<E: Serialize>(
    data_version: &DataVersion,
    unsaved: &mut BTreeSet<Arc<str>>,
    entry: impl Fn(&str) -> Option<E>,
) -> Option<Vec<u8>> {
    if unsaved.is_empty() {
        return None;
    }
    let mut record = Record {
        data_version: data_version.clone(),
        put: Vec::new(),
        remove: Vec::new(),
    };
    for name in std::mem::take(unsaved) {
        match entry(&name) {
            Some(entry) => record.put.push(entry),
            None => record.remove.push(name.to_string()),
        }
    }
    Some(body::encode(&record))
}

/// `<file>.journal`: the changes since the snapshot `file`.
pub fn journal_path(file: &Path) -> PathBuf {
    config_file::sibling(file, ".journal")
}

/// `<file>.journal.old`: the journal being folded into a new snapshot.
pub fn old_journal_path(file: &Path) -> PathBuf {
    config_file::sibling(file, ".journal.old")
}

/// Applies to the table just read from the snapshot `file` (at data version counter
/// `since`) every journal record newer than it, oldest first.
pub fn replay<E: DeserializeOwned>(
    file: &Path,
    since: i64,
    mut apply: impl FnMut(Record<E>),
) -> Result<(), String> {
    for path in [old_journal_path(file), journal_path(file)] {
        let Some(bytes) = config_file::read_optional(&path)? else {
            continue;
        };
        let mut lines = bytes.split(|&b| b == b'\n').enumerate().peekable();
        while let Some((index, line)) = lines.next() {
            if line.is_empty() {
                continue;
            }
            let last = lines.peek().map_or(true, |(_, rest)| rest.is_empty());
            match serde_json::from_slice::<Record<E>>(line) {
                Ok(record) if record.data_version.counter > since => apply(record),
                Ok(_) => {}
                Err(err) if last => {
                    tracing::warn!(
                        file = %path.display(), line = index + 1, %err,
                        "dropping the journal's last line, cut short by a crash"
                    );
                }
                Err(err) => {
                    return Err(format!("{} line {}: {err}", path.display(), index + 1));
                }
            }
        }
    }
    Ok(())
}

/// Writes the snapshot `bytes` to `file` and deletes both journals: what a start does once
/// it has read them, so that the snapshot alone holds the table. Blocking.
pub fn replace_all(file: &Path, bytes: &[u8]) -> io::Result<()> {
    config_file::write_atomic(file, bytes)?;
    remove_if_present(&old_journal_path(file))?;
    remove_if_present(&journal_path(file))
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

/// The owner's open journal of one table.
#[derive(Debug)]
pub struct Journal {
    file: PathBuf,
    journal: File,
    /// Bytes in the journal, and in the snapshot when it was last written.
    journal_bytes: u64,
    snapshot_bytes: u64,
}

impl Journal {
    /// Opens (creating it if needed) the journal of the snapshot `file`. Blocking.
    pub fn open(file: &Path) -> io::Result<Self> {
        if let Some(dir) = file.parent() {
            fs::create_dir_all(dir)?;
        }
        let journal = append_to(&journal_path(file))?;
        sync_dir(file)?;
        let journal_bytes = journal.metadata()?.len();
        let snapshot_bytes = fs::metadata(file).map_or(0, |m| m.len());
        Ok(Journal {
            file: file.to_owned(),
            journal,
            journal_bytes,
            snapshot_bytes,
        })
    }

    /// Appends `record` as one line and waits until it is on disk. On failure the journal
    /// is cut back to where it was, so a half-written line cannot sit before later ones.
    /// Blocking.
    pub fn append(&mut self, record: &[u8]) -> io::Result<()> {
        let mut line = Vec::with_capacity(record.len() + 1);
        line.extend_from_slice(record);
        line.push(b'\n');
        let written = self
            .journal
            .write_all(&line)
            .and_then(|()| self.journal.sync_data());
        if let Err(err) = written {
            if let Err(cut) = self.journal.set_len(self.journal_bytes) {
                tracing::error!(file = %self.file.display(), %cut, "cannot cut the journal back");
            }
            return Err(err);
        }
        self.journal_bytes += line.len() as u64;
        Ok(())
    }

    /// Whether the journal has outgrown the snapshot enough to fold it in.
    pub fn wants_compaction(&self) -> bool {
        self.journal_bytes > self.snapshot_bytes.max(COMPACT_MIN_BYTES)
    }

    /// Starts a compaction: moves the journal aside as the old journal (unless one is still
    /// there from a compaction that failed: then the journal keeps growing, and the new
    /// snapshot makes it redundant all the same) and opens a new one. Returns what
    /// [`Compaction::run`] needs to write the snapshot of the table as it is now. Blocking.
    pub fn rotate(&mut self) -> io::Result<Compaction> {
        let old = old_journal_path(&self.file);
        if !old.exists() {
            let current = journal_path(&self.file);
            fs::rename(&current, &old)?;
            self.journal = append_to(&current)?;
            self.journal_bytes = 0;
            // Both names must be on disk before a line is acknowledged from the new file.
            sync_dir(&self.file)?;
        }
        Ok(Compaction {
            file: self.file.clone(),
        })
    }

    /// Records the size of a snapshot a compaction wrote.
    pub fn compacted(&mut self, snapshot_bytes: u64) {
        self.snapshot_bytes = snapshot_bytes;
    }

    /// Replaces the snapshot by `snapshot` and empties both journals: for a table whose
    /// data version did not move forward (a slave taking its master's older version),
    /// whose records replay would skip as not newer than the snapshot. The journals go
    /// first: a crash in between leaves the previous snapshot alone, an older table but a
    /// whole one. No compaction may run meanwhile. Blocking.
    pub fn restart(&mut self, snapshot: &[u8]) -> io::Result<()> {
        remove_if_present(&old_journal_path(&self.file))?;
        self.journal.set_len(0)?;
        self.journal.sync_all()?;
        self.journal_bytes = 0;
        config_file::write_atomic(&self.file, snapshot)?;
        self.snapshot_bytes = snapshot.len() as u64;
        Ok(())
    }
}

/// A compaction under way: the snapshot to write, then the old journal to delete.
#[derive(Debug)]
pub struct Compaction {
    file: PathBuf,
}

impl Compaction {
    /// Writes `snapshot` atomically, then deletes the old journal it covers; returns the
    /// snapshot's size. Blocking.
    pub fn run(self, snapshot: &[u8]) -> io::Result<u64> {
        config_file::write_atomic(&self.file, snapshot)?;
        remove_if_present(&old_journal_path(&self.file))?;
        Ok(snapshot.len() as u64)
    }
}

fn append_to(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Makes the entries of `file`'s directory durable (a journal just created or renamed).
fn sync_dir(file: &Path) -> io::Result<()> {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir)?.sync_all(),
        _ => File::open(".")?.sync_all(),
    }
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
