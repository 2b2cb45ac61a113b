//! Finding the end of the CommitLog after a stop, clean or not. From the checkpoint's reput
//! offset (a record boundary with synced bytes below it) the scan verifies each record
//! (size, magic, body CRC, its own physical offset) and follows segment-end fillers; the
//! first torn, corrupt or empty position is the end. Everything stored past it is wiped (the
//! rest of that segment reads as zeros, later segments are deleted) before appends resume, so
//! a later crash can never make old bytes look like new records. Work is proportional to the
//! data written after the checkpoint.

use std::collections::BTreeMap;
use std::path::Path;

use super::error::StoreResult;
use super::io::{align_up, Disk, SegmentFile};
use super::offsets::parse_segment_name;
use super::record::{scan, Scanned};

/// Bytes read per step of the scan.
const SCAN_CHUNK: u64 = 4 << 20;

/// The log as recovery left it.
#[derive(Debug)]
pub struct RecoveredLog {
    pub segments: BTreeMap<u64, SegmentFile>,
    /// Where the next record goes.
    pub end: u64,
    /// The bytes from the start of `end`'s block up to `end`, for the log buffer.
    pub tail: Vec<u8>,
    /// Where the scan started (reput restarts here).
    pub start: u64,
}

/// Opens every segment in `dir`, scans from `from` (clamped to the stored range) and cuts
/// the log at the first position that holds no valid record.
pub async fn recover_log(
    disk: &Disk,
    dir: &Path,
    segment_size: u64,
    block_size: usize,
    from: u64,
) -> StoreResult<RecoveredLog> {
    let mut segments = BTreeMap::new();
    for name in disk.list_dir(dir).await? {
        if let Some(start) = parse_segment_name(&name) {
            segments.insert(start, disk.open(&dir.join(&name), false).await?);
        }
    }
    let first = segments.keys().next().copied().unwrap_or(0);
    let last = segments.keys().next_back().copied().unwrap_or(0);
    let start = from.clamp(first, last.max(first));
    let start = if segments.is_empty() {
        from - from % segment_size
    } else {
        start
    };
    let end = scan_from(&segments, segment_size, start).await?;
    cut(disk, &mut segments, segment_size, end).await?;
    // What the scan accepted may have been written but never synced before a process crash
    // (the device cache still holds it); the log counts it as flushed, so sync it now.
    for file in segments
        .range(start - start % segment_size..=end)
        .map(|(_, f)| f)
    {
        file.fdatasync().await?;
    }
    let block_start = end - end % block_size as u64;
    let tail = match segments.get(&(end - end % segment_size)) {
        Some(file) if end > block_start => {
            let seg = end - end % segment_size;
            file.read_at(block_start - seg, (end - block_start) as usize)
                .await?
                .to_vec()
        }
        _ => Vec::new(),
    };
    Ok(RecoveredLog {
        segments,
        end,
        tail,
        start,
    })
}

/// The first position at or after `pos` that holds no valid record.
async fn scan_from(
    segments: &BTreeMap<u64, SegmentFile>,
    segment_size: u64,
    mut pos: u64,
) -> StoreResult<u64> {
    let mut want = SCAN_CHUNK;
    loop {
        let seg = pos - pos % segment_size;
        let Some(file) = segments.get(&seg) else {
            return Ok(pos);
        };
        let seg_end = seg + segment_size;
        let asked = want.min(seg_end - pos);
        let buf = file.read_at(pos - seg, asked as usize).await?;
        want = SCAN_CHUNK;
        let mut at = 0usize;
        pos = loop {
            let here = pos + at as u64;
            let rest = &buf[at..];
            // A record that runs past this read but not past the segment: read on from it.
            // So does a size field cut by the read's end (a record has at least its 4 bytes).
            let size = rest
                .get(..4)
                .map_or(4, |b| u32::from_be_bytes(b.try_into().expect("4")).into());
            if size > rest.len() as u64 && size <= seg_end - here && buf.len() as u64 == asked {
                want = want.max(size);
                break here;
            }
            match scan(rest) {
                Scanned::Record(meta) if meta.physical_offset.0 == here => {
                    at += meta.total_size as usize;
                }
                Scanned::Blank => break seg_end,
                _ => return Ok(here),
            }
            if at == buf.len() {
                break pos + at as u64;
            }
        };
    }
}

/// Wipes everything stored at or past `end`: zeros for the rest of its segment, later
/// segments deleted. The partial page holding `end` is rewritten by the next log write (the
/// log buffer holds zeros past `end`).
async fn cut(
    disk: &Disk,
    segments: &mut BTreeMap<u64, SegmentFile>,
    segment_size: u64,
    end: u64,
) -> StoreResult<()> {
    let seg = end - end % segment_size;
    let later: Vec<u64> = segments.range(seg + 1..).map(|(s, _)| *s).collect();
    for s in later {
        let file = segments.remove(&s).expect("listed");
        disk.remove(&file.path()).await?;
    }
    if let Some(file) = segments.get(&seg) {
        let from = align_up(end - seg);
        file.discard(from, segment_size - from).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::rc::Rc;

    use super::*;
    use crate::storage::io::{align_down, alloc_block, MemDisk};
    use crate::storage::offsets::segment_name;
    use crate::storage::record::{encode, patch};
    use crate::storage::{run_local, PhysicalOffset, QueueId, QueueOffset};

    /// A record of exactly `size` bytes stamped for log offset `at`.
    fn record(size: usize, at: u64) -> Vec<u8> {
        let overhead = encode("T", QueueId(0), b"", None).len();
        let mut rec = encode("T", QueueId(0), &vec![7; size - overhead], None);
        patch(&mut rec, QueueOffset(0), PhysicalOffset(at), 1);
        rec
    }

    /// Records of the given sizes back to back from log offset `from`, and where they end.
    fn records(from: u64, sizes: &[usize]) -> (Vec<u8>, u64) {
        let mut image = Vec::new();
        for &size in sizes {
            image.extend(record(size, from + image.len() as u64));
        }
        let end = from + image.len() as u64;
        (image, end)
    }

    /// Writes `image` at log offset `at` of the segment starting at `seg`, creating it.
    async fn store(disk: &Disk, dir: &Path, segment_size: u64, seg: u64, at: u64, image: &[u8]) {
        let file = disk.open(&dir.join(segment_name(seg)), true).await.unwrap();
        file.pre_allocate(segment_size).await.unwrap();
        let first = align_down(at - seg);
        let mut buf = alloc_block(align_up(at - seg + image.len() as u64 - first) as usize);
        let old = file
            .read_at(first, (at - seg - first) as usize)
            .await
            .unwrap();
        buf.as_bytes_mut()[..old.len()].copy_from_slice(&old);
        let from = (at - seg - first) as usize;
        buf.as_bytes_mut()[from..from + image.len()].copy_from_slice(image);
        file.write_at(Rc::new(buf), first).await.unwrap();
    }

    fn mem() -> (Disk, PathBuf) {
        (
            Disk::Mem(MemDisk::new(1, Default::default())),
            PathBuf::from("/log"),
        )
    }

    #[test]
    fn a_size_field_split_by_a_read_is_read_on() {
        run_local(|| async {
            let (disk, dir) = mem();
            disk.create_dir_all(&dir).await.unwrap();
            let segment_size = 2 * SCAN_CHUNK;
            // The third record starts two bytes before the first read's end.
            let first = (SCAN_CHUNK as usize - 2) / 2;
            let sizes = [first, SCAN_CHUNK as usize - 2 - first, 3000, 500];
            let (image, end) = records(0, &sizes);
            store(&disk, &dir, segment_size, 0, 0, &image).await;
            let log = recover_log(&disk, &dir, segment_size, 8192, 0)
                .await
                .unwrap();
            assert_eq!(log.end, end);
        });
    }
}
