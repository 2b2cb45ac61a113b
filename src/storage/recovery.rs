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
            if let Some(size) = rest
                .get(..4)
                .map(|b| u32::from_be_bytes(b.try_into().expect("4")))
            {
                let size = u64::from(size);
                if size > rest.len() as u64 && size <= seg_end - here && buf.len() as u64 == asked {
                    want = want.max(size);
                    break here;
                }
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
