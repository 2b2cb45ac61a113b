//! The checkpoint: where recovery may start. It names a CommitLog offset `reput` that is a
//! record boundary below which the log is synced and every record is in a synced
//! ConsumeQueue, so recovery scans and re-dispatches only what lies past it.
//!
//! The page keeps RocketMQ's first fields (docs/protocol.md §4.5: physic, logics and index message
//! timestamps, master flushed and confirm offsets) and adds shardmq's own after them, with a
//! sequence number and a CRC. Two slots (pages 0 and 1) are written alternately and the valid
//! one with the higher sequence wins, so a torn checkpoint write loses one checkpoint, never
//! the store.

use std::cell::Cell;
use std::path::PathBuf;
use std::rc::Rc;

use super::error::StoreResult;
use super::io::{alloc_block, Disk, SegmentFile, IO_ALIGN};
use super::offsets::PhysicalOffset;

const MAGIC: u32 = 0x5348_4350; // "SHCP"
const BODY: usize = 80;

/// What a checkpoint records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Checkpoint {
    /// Store time of the newest record below `reput`.
    pub physic_msg_timestamp: i64,
    /// Same, for the ConsumeQueues.
    pub logics_msg_timestamp: i64,
    /// Same, for the IndexFiles (whose own state page says precisely what they hold).
    pub index_msg_timestamp: i64,
    /// Recovery scans and re-dispatches the log from here.
    pub reput: PhysicalOffset,
    /// The log's synced end when the checkpoint was taken (for information and tests).
    pub log_flushed: PhysicalOffset,
    /// Written before the ConsumeQueues are flushed and cleared after: while set, queue files
    /// may hold entries at or past `reput`, and recovery must wipe them.
    pub queues_dirty: bool,
}

/// A file of two one-page slots written alternately, each page carrying a sequence number
/// and a CRC of its own: the valid page with the higher sequence wins, so a torn write loses
/// the newest page, never the file. The checkpoint and the index's state page are kept so.
#[derive(Debug)]
pub(super) struct SlotPages {
    file: SegmentFile,
    seq: Cell<u64>,
}

impl SlotPages {
    /// Opens (or creates) the file and returns the newest page `decode` accepts; `decode`
    /// gives a page's sequence number with its contents.
    pub(super) async fn open<T>(
        disk: &Disk,
        path: PathBuf,
        decode: impl Fn(&[u8]) -> Option<(u64, T)>,
    ) -> StoreResult<(SlotPages, Option<T>)> {
        let file = disk.open(&path, true).await?;
        file.pre_allocate(2 * IO_ALIGN as u64).await?;
        if let Some(dir) = path.parent() {
            disk.sync_dir(dir).await?;
        }
        let bytes = file.read_at(0, 2 * IO_ALIGN).await?;
        let best = bytes
            .chunks(IO_ALIGN)
            .filter_map(decode)
            .max_by_key(|(seq, _)| *seq);
        let seq = best.as_ref().map_or(0, |(seq, _)| *seq);
        let pages = SlotPages {
            file,
            seq: Cell::new(seq),
        };
        Ok((pages, best.map(|(_, page)| page)))
    }

    /// Writes the page `encode` fills, given the next sequence number, into the older slot
    /// and syncs it.
    pub(super) async fn write(&self, encode: impl FnOnce(u64, &mut [u8])) -> StoreResult<()> {
        let seq = self.seq.get() + 1;
        let mut page = alloc_block(IO_ALIGN);
        encode(seq, page.as_bytes_mut());
        let slot = (seq % 2) * IO_ALIGN as u64;
        self.file.write_at(Rc::new(page), slot).await?;
        self.file.fdatasync().await?;
        self.seq.set(seq);
        Ok(())
    }
}

/// The checkpoint file, open for rewriting.
#[derive(Debug)]
pub struct CheckpointFile(SlotPages);

impl CheckpointFile {
    /// Opens (or creates) the file and reads the newest valid checkpoint, if any.
    pub async fn open(
        disk: &Disk,
        path: PathBuf,
    ) -> StoreResult<(CheckpointFile, Option<Checkpoint>)> {
        let (pages, cp) = SlotPages::open(disk, path, decode).await?;
        Ok((CheckpointFile(pages), cp))
    }

    /// Writes `cp` into the older slot and syncs it.
    pub async fn write(&self, cp: &Checkpoint) -> StoreResult<()> {
        self.0.write(|seq, page| encode(cp, seq, page)).await
    }
}

fn encode(cp: &Checkpoint, seq: u64, page: &mut [u8]) {
    let fields: [u64; 9] = [
        cp.physic_msg_timestamp as u64,
        cp.logics_msg_timestamp as u64,
        cp.index_msg_timestamp as u64,
        0, // master flushed offset
        0, // confirm offset
        cp.reput.0,
        cp.log_flushed.0,
        seq,
        u64::from(cp.queues_dirty),
    ];
    for (i, v) in fields.iter().enumerate() {
        page[i * 8..i * 8 + 8].copy_from_slice(&v.to_be_bytes());
    }
    page[72..76].copy_from_slice(&MAGIC.to_be_bytes());
    let crc = crc32fast::hash(&page[..76]);
    page[76..BODY].copy_from_slice(&crc.to_be_bytes());
}

fn decode(page: &[u8]) -> Option<(u64, Checkpoint)> {
    if page.len() < BODY {
        return None;
    }
    let u64_at = |i: usize| u64::from_be_bytes(page[i * 8..i * 8 + 8].try_into().expect("8"));
    let magic = u32::from_be_bytes(page[72..76].try_into().ok()?);
    let crc = u32::from_be_bytes(page[76..BODY].try_into().ok()?);
    if magic != MAGIC || crc != crc32fast::hash(&page[..76]) {
        return None;
    }
    let cp = Checkpoint {
        physic_msg_timestamp: u64_at(0) as i64,
        logics_msg_timestamp: u64_at(1) as i64,
        index_msg_timestamp: u64_at(2) as i64,
        reput: PhysicalOffset(u64_at(5)),
        log_flushed: PhysicalOffset(u64_at(6)),
        queues_dirty: u64_at(8) != 0,
    };
    Some((u64_at(7), cp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::io::{Faults, MemDisk};
    use crate::storage::run_local;

    #[test]
    fn newest_valid_slot_wins_and_a_torn_slot_is_skipped() {
        run_local(|| async {
            let mem = MemDisk::new(1, Faults::default());
            let disk = Disk::Mem(mem.clone());
            let path = PathBuf::from("/cp");
            let (f, none) = CheckpointFile::open(&disk, path.clone()).await.unwrap();
            assert!(none.is_none());
            let cp = |n| Checkpoint {
                reput: PhysicalOffset(n),
                ..Checkpoint::default()
            };
            f.write(&cp(10)).await.unwrap();
            f.write(&cp(20)).await.unwrap();
            drop(f);
            let (_, got) = CheckpointFile::open(&disk, path.clone()).await.unwrap();
            assert_eq!(got, Some(cp(20)));
            mem.corrupt(&path, 8); // slot 0 holds seq 2 (20)
            let (_, got) = CheckpointFile::open(&disk, path).await.unwrap();
            assert_eq!(got, Some(cp(10)));
        });
    }
}
