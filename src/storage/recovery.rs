//! Finding the end of the CommitLog after a stop, clean or not. From the checkpoint's reput
//! offset (a record boundary with synced bytes below it) the scan verifies each record
//! (size, magic, body CRC, its own physical offset) and follows segment-end fillers. At the
//! first position that holds no valid record, it tells a torn tail from damage inside the
//! log: if bytes were written there and a valid record follows later (found by the physical
//! offset every record carries), the bytes between are a damaged range, reported, and the
//! scan goes on after it; otherwise the log ends there. Each record it accepts goes to the
//! caller, which files it in the ConsumeQueues, so a restart reads the log only once.
//! Everything stored past the end is wiped (the rest of that segment reads as zeros, later
//! segments are deleted) before appends resume, so a later crash can never make old bytes
//! look like new records. Work is proportional to the data written after the checkpoint; the
//! scan reads each segment in large chunks with the next ones already in flight, so the disk
//! reads on while a chunk is verified.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use glommio::Task;

use super::error::StoreResult;
use super::io::{align_up, Disk, ReadBuf, SegmentFile};
use super::offsets::parse_segment_name;
use super::record::{physical_offset, scan, Scanned, STORE_TIMESTAMP_PREFIX};

/// Bytes per read of the scan.
const SCAN_CHUNK: u64 = 1 << 20;
/// Reads the scan keeps in flight: 8 MiB queued at the disk (the queue depth of the fio run
/// the recovery target compares with), so the disk reads on while a chunk is verified and
/// filed.
const SCAN_READS_IN_FLIGHT: usize = 8;

/// The CommitLog's segment files, opened, and where recovery scans from.
#[derive(Debug)]
pub struct LogFiles {
    pub segments: BTreeMap<u64, SegmentFile>,
    /// The checkpoint's reput offset clamped to the stored range: a record boundary, where
    /// the scan starts and reput restarts.
    pub start: u64,
}

impl LogFiles {
    /// Opens every segment in `dir`, to scan from `from` (clamped to the stored range).
    pub async fn open(
        disk: &Disk,
        dir: &Path,
        segment_size: u64,
        from: u64,
    ) -> StoreResult<LogFiles> {
        let mut segments = BTreeMap::new();
        for name in disk.list_dir(dir).await? {
            if let Some(start) = parse_segment_name(&name) {
                segments.insert(start, disk.open(&dir.join(&name), false).await?);
            }
        }
        let first = segments.keys().next().copied().unwrap_or(0);
        let last = segments.keys().next_back().copied().unwrap_or(0);
        let start = if segments.is_empty() {
            from - from % segment_size
        } else {
            from.clamp(first, last.max(first))
        };
        Ok(LogFiles { segments, start })
    }

    /// The oldest offset the log holds after recovery: the cut keeps the first segment, and
    /// with none the log starts at `start`'s.
    pub fn min_offset(&self) -> u64 {
        self.segments.keys().next().copied().unwrap_or(self.start)
    }
}

/// The log as recovery left it.
#[derive(Debug)]
pub struct RecoveredLog {
    pub segments: BTreeMap<u64, SegmentFile>,
    /// Where the next record goes.
    pub end: u64,
    /// The bytes from the start of `end`'s block up to `end`, for the log buffer.
    pub tail: Vec<u8>,
}

/// Scans `files` from their start, handing each verified record to `visit` with its offset,
/// in log order, and each damaged range `[start, end)` it steps over to `stepped_over` before
/// the records after it; cuts the log at its torn tail. An error from `visit` stops the scan
/// and is returned.
pub async fn recover_log(
    disk: &Disk,
    files: LogFiles,
    segment_size: u64,
    block_size: usize,
    mut visit: impl FnMut(u64, &[u8]) -> StoreResult<()>,
    mut stepped_over: impl FnMut(u64, u64),
) -> StoreResult<RecoveredLog> {
    let LogFiles {
        mut segments,
        start,
    } = files;
    let mut pos = start;
    let end = loop {
        let stop = scan_from(&segments, segment_size, pos, SCAN_CHUNK, &mut visit).await?;
        match next_record_after(&segments, segment_size, stop).await? {
            Some(next) => {
                stepped_over(stop, next);
                pos = next;
            }
            None => break stop,
        }
    };
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
    })
}

/// Where the first valid record after the invalid position `from` starts, in its segment or
/// a later one; `None` when nothing was written at `from` (the log simply ends there) or no
/// valid record follows (a torn tail). Only reached when a scan stops, so its cost, at most
/// one read of the rest of the log, is paid after a crash or damage, never on a clean stop.
async fn next_record_after(
    segments: &BTreeMap<u64, SegmentFile>,
    segment_size: u64,
    from: u64,
) -> StoreResult<Option<u64>> {
    let first = from - from % segment_size;
    let Some(file) = segments.get(&first) else {
        return Ok(None);
    };
    let head = file.read_at(from - first, 8).await?;
    if head.iter().all(|&b| b == 0) {
        return Ok(None);
    }
    for (&seg, file) in segments.range(first..) {
        let file_end = file.size().await?.min(segment_size);
        let mut at = if seg == first { from - seg + 1 } else { 0 };
        while at + STORE_TIMESTAMP_PREFIX as u64 <= file_end {
            let len = SCAN_CHUNK.min(file_end - at) as usize;
            let buf = file.read_at(at, len).await?;
            let candidates = buf.len().saturating_sub(STORE_TIMESTAMP_PREFIX - 1);
            for i in 0..candidates {
                // Most bytes after a torn tail are zeros, which begin no record.
                if buf[i..i + 4] == [0; 4] {
                    continue;
                }
                let pos = seg + at + i as u64;
                let prefix = &buf[i..i + STORE_TIMESTAMP_PREFIX];
                if physical_offset(prefix) == Some(pos)
                    && valid_record_at(file, seg, segment_size, pos).await?
                {
                    return Ok(Some(pos));
                }
            }
            if buf.len() < len || candidates == 0 {
                break;
            }
            at += candidates as u64;
        }
    }
    Ok(None)
}

/// Whether a whole record that verifies (CRC included) and claims `pos` starts at `pos`.
async fn valid_record_at(
    file: &SegmentFile,
    seg: u64,
    segment_size: u64,
    pos: u64,
) -> StoreResult<bool> {
    let head = file.read_at(pos - seg, 4).await?;
    let Ok(size) = <[u8; 4]>::try_from(&head[..]) else {
        return Ok(false);
    };
    let size = u64::from(u32::from_be_bytes(size));
    if size > seg + segment_size - pos {
        return Ok(false);
    }
    let bytes = file.read_at(pos - seg, size as usize).await?;
    Ok(matches!(scan(&bytes), Scanned::Record(m) if m.physical_offset.0 == pos))
}

/// The first position at or after `pos` that holds no valid record, reading `chunk` bytes
/// at a time; each record before it goes to `visit`.
async fn scan_from(
    segments: &BTreeMap<u64, SegmentFile>,
    segment_size: u64,
    mut pos: u64,
    chunk: u64,
    visit: &mut impl FnMut(u64, &[u8]) -> StoreResult<()>,
) -> StoreResult<u64> {
    loop {
        let seg = pos - pos % segment_size;
        let Some(file) = segments.get(&seg) else {
            return Ok(pos);
        };
        let stop = scan_segment(file, seg, segment_size, pos, chunk, visit).await?;
        if stop < seg + segment_size {
            return Ok(stop);
        }
        pos = stop;
    }
}

/// Scans the segment at `seg` from `pos` on, handing each record to `visit`. Returns where
/// its records stop: the segment's end after its filler (or a record that ends exactly
/// there), else the first position that holds no valid record.
async fn scan_segment(
    file: &SegmentFile,
    seg: u64,
    segment_size: u64,
    pos: u64,
    chunk: u64,
    visit: &mut impl FnMut(u64, &[u8]) -> StoreResult<()>,
) -> StoreResult<u64> {
    let seg_end = seg + segment_size;
    // Never read past the file's end: O_DIRECT reads there fail on some devices.
    let file_end = file.size().await?.min(segment_size);
    let mut reads = ReadAhead::new(file.clone(), pos - seg, file_end, chunk);
    let mut here = pos;
    // The first bytes of the record at `here` when it runs past the chunk it starts in.
    let mut split = Vec::new();
    while let Some(Chunk { buf, more }) = reads.next().await? {
        let mut at = 0;
        loop {
            let gathered = !split.is_empty();
            let mut more = more;
            if gathered {
                // Complete the size field first, then the record it announces.
                let want = match split.get(..4) {
                    Some(size) => u32::from_be_bytes(size.try_into().expect("4")) as usize,
                    None => 4,
                };
                let take = want.saturating_sub(split.len()).min(buf.len() - at);
                split.extend_from_slice(&buf[at..at + take]);
                at += take;
                more |= at < buf.len();
                if split.len() < want && more {
                    break;
                }
            } else if at == buf.len() {
                break;
            }
            let rest = if gathered { &split[..] } else { &buf[at..] };
            match next_step(rest, here, seg_end, more) {
                Step::Record(size) => {
                    visit(here, &rest[..size])?;
                    here += size as u64;
                    if gathered {
                        split.clear();
                    } else {
                        at += size;
                    }
                }
                // The size field is whole now: gather the record it announces.
                Step::Gather if gathered => {}
                Step::Gather => {
                    split.extend_from_slice(&buf[at..]);
                    break;
                }
                Step::Filler => return Ok(seg_end),
                Step::End => return Ok(here),
            }
        }
        if !more {
            break;
        }
    }
    Ok(here)
}

/// What the scan does with the bytes `rest` it has at log offset `here`.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// A record of this size: the next starts after it.
    Record(usize),
    /// The record (or its size field) runs past `rest` but not past the segment: wait for
    /// the next chunk's bytes.
    Gather,
    /// The segment-end filler.
    Filler,
    /// Torn, corrupt or empty: the log ends at `here`.
    End,
}

/// Decides [`Step`] for the bytes `rest` at log offset `here`; `more` says whether the
/// segment has bytes after them.
fn next_step(rest: &[u8], here: u64, seg_end: u64, more: bool) -> Step {
    // A record holds at least its 4-byte size.
    let size = rest
        .get(..4)
        .map_or(4, |b| u32::from_be_bytes(b.try_into().expect("4")).into());
    if size > rest.len() as u64 && size <= seg_end - here && more {
        return Step::Gather;
    }
    match scan(rest) {
        Scanned::Record(meta) if meta.physical_offset.0 == here => {
            Step::Record(meta.total_size as usize)
        }
        Scanned::Blank => Step::Filler,
        _ => Step::End,
    }
}

/// One read of [`ReadAhead`]: its bytes, and whether the file has more after them.
struct Chunk {
    buf: ReadBuf,
    more: bool,
}

/// Reads a file from `pos` to `end` in order, `chunk` bytes at a time (the first read stops
/// at a multiple of `chunk`), with up to [`SCAN_READS_IN_FLIGHT`] reads issued ahead: the
/// disk works on the next chunks while the scan verifies one.
struct ReadAhead {
    file: SegmentFile,
    chunk: u64,
    next: u64,
    end: u64,
    /// Position, length and task of each issued read, oldest first.
    reads: VecDeque<(u64, usize, Task<StoreResult<ReadBuf>>)>,
}

impl ReadAhead {
    fn new(file: SegmentFile, pos: u64, end: u64, chunk: u64) -> Self {
        assert!(chunk > 0, "scan chunk");
        ReadAhead {
            file,
            chunk,
            next: pos,
            end,
            reads: VecDeque::new(),
        }
    }

    /// The next chunk, or `None` past the end. A short read ends the file early.
    async fn next(&mut self) -> StoreResult<Option<Chunk>> {
        self.issue();
        let Some((pos, len, read)) = self.reads.pop_front() else {
            return Ok(None);
        };
        let buf = read.await?;
        // glommio submits the new read when this task next waits; until then the reads
        // issued before keep the disk busy.
        self.issue();
        let more = buf.len() == len && pos + (len as u64) < self.end;
        Ok(Some(Chunk { buf, more }))
    }

    fn issue(&mut self) {
        while self.reads.len() < SCAN_READS_IN_FLIGHT && self.next < self.end {
            let pos = self.next;
            let len = (pos / self.chunk * self.chunk + self.chunk).min(self.end) - pos;
            let file = self.file.clone();
            let read = glommio::spawn_local(async move { file.read_at(pos, len as usize).await });
            self.reads.push_back((pos, len as usize, read));
            self.next += len;
        }
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
    use crate::storage::io::{align_down, alloc_block, MemDisk, SimRng};
    use crate::storage::offsets::segment_name;
    use crate::storage::record::{blank_header, encode, patch};
    use crate::storage::{run_local, PhysicalOffset, QueueId, QueueOffset, StoreError};

    const SEGMENT: u64 = 256 << 10;

    /// A record of exactly `size` bytes stamped for log offset `at`.
    fn record(size: usize, at: u64) -> Vec<u8> {
        let overhead = encode("T", QueueId(0), b"", None).len();
        let mut rec = encode("T", QueueId(0), &vec![7; size - overhead], None);
        patch(&mut rec, QueueOffset(0), PhysicalOffset(at), 1);
        rec
    }

    /// Records of the given sizes back to back from log offset `from`, and their offsets.
    fn records(from: u64, sizes: &[usize]) -> (Vec<u8>, Vec<u64>) {
        let mut image = Vec::new();
        let mut offsets = Vec::new();
        for &size in sizes {
            offsets.push(from + image.len() as u64);
            image.extend(record(size, from + image.len() as u64));
        }
        (image, offsets)
    }

    /// Writes `image` at log offset `at`, into the segment holding it (created if missing).
    async fn store(disk: &Disk, dir: &Path, at: u64, image: &[u8]) -> SegmentFile {
        let seg = at - at % SEGMENT;
        let file = disk.open(&dir.join(segment_name(seg)), true).await.unwrap();
        if file.size().await.unwrap() < SEGMENT {
            file.pre_allocate(SEGMENT).await.unwrap();
        }
        let first = align_down(at - seg);
        let from = (at - seg - first) as usize;
        let mut buf = alloc_block(align_up((from + image.len()) as u64) as usize);
        let old = file.read_at(first, from).await.unwrap();
        buf.as_bytes_mut()[..from].copy_from_slice(&old);
        buf.as_bytes_mut()[from..from + image.len()].copy_from_slice(image);
        file.write_at(Rc::new(buf), first).await.unwrap();
        file
    }

    /// An empty log directory on a fresh memory disk.
    async fn mem() -> (Disk, PathBuf) {
        let (disk, dir) = (
            Disk::Mem(MemDisk::new(1, Default::default())),
            PathBuf::from("/log"),
        );
        disk.create_dir_all(&dir).await.unwrap();
        (disk, dir)
    }

    async fn segments(disk: &Disk, dir: &Path) -> BTreeMap<u64, SegmentFile> {
        let mut segments = BTreeMap::new();
        for name in disk.list_dir(dir).await.unwrap() {
            let start = parse_segment_name(&name).unwrap();
            segments.insert(start, disk.open(&dir.join(&name), false).await.unwrap());
        }
        segments
    }

    /// Where a scan from `from` in `chunk`-byte reads says the log ends, and the offsets of
    /// the records it handed over, each checked to be that whole record.
    async fn scan_log(disk: &Disk, dir: &Path, from: u64, chunk: u64) -> (u64, Vec<u64>) {
        let segments = segments(disk, dir).await;
        let mut seen = Vec::new();
        let mut visit = |pos, rec: &[u8]| {
            let whole = matches!(scan(rec), Scanned::Record(m)
                if m.physical_offset.0 == pos && m.total_size as usize == rec.len());
            assert!(whole, "record at {pos}");
            seen.push(pos);
            Ok(())
        };
        let end = scan_from(&segments, SEGMENT, from, chunk, &mut visit).await;
        (end.unwrap(), seen)
    }

    #[test]
    fn records_split_by_reads_are_read_whole() {
        run_local(|| async {
            let (disk, dir) = mem().await;
            let mut rng = SimRng::new(7);
            let sizes: Vec<usize> = (0..40).map(|_| 100 + rng.below(9000) as usize).collect();
            let (image, offsets) = records(0, &sizes);
            let stop = image.len() as u64;
            assert!(stop < SEGMENT);
            store(&disk, &dir, 0, &image).await;
            // Reads smaller and larger than the records, aligned or not, from the start or
            // from a record in the middle.
            for chunk in [1000, 4096, 5000, 65536, SEGMENT] {
                for first in [0, 17] {
                    let got = scan_log(&disk, &dir, offsets[first], chunk).await;
                    assert_eq!(got, (stop, offsets[first..].to_vec()), "chunk {chunk}");
                }
            }
        });
    }

    #[test]
    fn a_size_field_split_by_a_read_is_read_on() {
        run_local(|| async {
            for cut in 1..=7 {
                let (disk, dir) = mem().await;
                // The second record starts `cut` bytes before the first read's end.
                let (image, offsets) = records(0, &[4096 - cut, 3000, 500]);
                store(&disk, &dir, 0, &image).await;
                let got = scan_log(&disk, &dir, 0, 4096).await;
                assert_eq!(got, (image.len() as u64, offsets), "cut {cut}");
            }
        });
    }

    #[test]
    fn a_size_field_split_by_the_first_read_is_read_on() {
        run_local(|| async {
            let (disk, dir) = mem().await;
            let segment_size = 2 * SCAN_CHUNK;
            let file = disk.open(&dir.join(segment_name(0)), true).await.unwrap();
            file.pre_allocate(segment_size).await.unwrap();
            let first = (SCAN_CHUNK as usize - 2) / 2;
            let sizes = [first, SCAN_CHUNK as usize - 2 - first, 3000, 500];
            let (image, offsets) = records(0, &sizes);
            let mut buf = alloc_block(align_up(image.len() as u64) as usize);
            buf.as_bytes_mut()[..image.len()].copy_from_slice(&image);
            file.write_at(Rc::new(buf), 0).await.unwrap();
            let files = LogFiles::open(&disk, &dir, segment_size, 0).await.unwrap();
            let mut seen = Vec::new();
            let visit = |pos, _: &[u8]| {
                seen.push(pos);
                Ok(())
            };
            let log = recover_log(&disk, files, segment_size, 8192, visit, |_, _| ()).await;
            assert_eq!(log.unwrap().end, image.len() as u64);
            assert_eq!(seen, offsets);
        });
    }

    #[test]
    fn a_filler_moves_the_scan_to_the_next_segment() {
        run_local(|| async {
            // The filler starts `cut` bytes before a read's end: its header split or whole.
            for cut in [1, 3, 4, 7, 8, 100] {
                let (disk, dir) = mem().await;
                let filler_at = 3 * 4096 - cut;
                let first = filler_at as usize / 2;
                let (mut image, mut offsets) = records(0, &[first, filler_at as usize - first]);
                image.extend(blank_header((SEGMENT - filler_at) as u32));
                store(&disk, &dir, 0, &image).await;
                let (next, next_offsets) = records(SEGMENT, &[2000, 3000]);
                store(&disk, &dir, SEGMENT, &next).await;
                offsets.extend(next_offsets);
                for chunk in [4096, SEGMENT] {
                    let got = scan_log(&disk, &dir, 0, chunk).await;
                    assert_eq!(got, (SEGMENT + 5000, offsets.clone()), "cut {cut}");
                }
            }
        });
    }

    #[test]
    fn a_filler_with_no_next_segment_ends_the_log_at_the_segment_end() {
        run_local(|| async {
            let (disk, dir) = mem().await;
            let (mut image, offsets) = records(0, &[5000]);
            image.extend(blank_header((SEGMENT - 5000) as u32));
            store(&disk, &dir, 0, &image).await;
            assert_eq!(scan_log(&disk, &dir, 0, 4096).await, (SEGMENT, offsets));
        });
    }

    #[test]
    fn a_torn_record_split_by_a_read_ends_the_log() {
        run_local(|| async {
            let (whole, offsets) = records(0, &[3000, 3000, 3000]);
            let torn_at = offsets[1];
            // The second record crosses the read end at 4096: lose its last bytes, or flip
            // one on either side of the read end.
            let mut cut = whole.clone();
            cut.truncate(torn_at as usize + 2000);
            let mut flips = Vec::new();
            for at in [4000, 4200] {
                let mut flipped = whole.clone();
                flipped[at] ^= 1;
                flips.push(flipped);
            }
            for image in [cut].iter().chain(&flips) {
                let (disk, dir) = mem().await;
                store(&disk, &dir, 0, image).await;
                let got = scan_log(&disk, &dir, 0, 4096).await;
                assert_eq!(got, (torn_at, vec![0]));
            }
        });
    }

    #[test]
    fn a_record_past_the_segment_end_or_the_file_end_ends_the_log() {
        run_local(|| async {
            // The last record's size says it runs past the segment end.
            let (disk, dir) = mem().await;
            let (mut image, _) = records(0, &[5000]);
            let mut last = record(3000, 5000);
            last[..4].copy_from_slice(&((SEGMENT - 4000) as u32).to_be_bytes());
            image.extend(last);
            store(&disk, &dir, 0, &image).await;
            assert_eq!(scan_log(&disk, &dir, 0, 4096).await, (5000, vec![0]));
            // A segment file cut short inside its second record, or right after it.
            for (len, stop, seen) in [(8000, 5000, 1), (8192, 8192, 2)] {
                let (disk, dir) = mem().await;
                let (image, offsets) = records(0, &[5000, 3192, 100]);
                let file = store(&disk, &dir, 0, &image).await;
                file.truncate(len).await.unwrap();
                let got = scan_log(&disk, &dir, 0, 4096).await;
                assert_eq!(got, (stop, offsets[..seen].to_vec()), "file of {len}");
            }
        });
    }

    /// Recovers the log in `dir` from 0: its end, the records handed over, the damaged ranges.
    async fn recover(disk: &Disk, dir: &Path) -> (u64, Vec<u64>, Vec<(u64, u64)>) {
        let files = LogFiles::open(disk, dir, SEGMENT, 0).await.unwrap();
        let (mut seen, mut damaged) = (Vec::new(), Vec::new());
        let visit = |pos, _: &[u8]| {
            seen.push(pos);
            Ok(())
        };
        let stepped_over = |start, end| damaged.push((start, end));
        let log = recover_log(disk, files, SEGMENT, 8192, visit, stepped_over);
        let end = log.await.unwrap().end;
        (end, seen, damaged)
    }

    #[test]
    fn a_damaged_record_inside_the_log_costs_only_that_record() {
        run_local(|| async {
            let (mut image, offsets) = records(0, &[3000, 3000, 3000, 3000, 3000]);
            image.extend(blank_header((SEGMENT - 15000) as u32));
            let (next, next_offsets) = records(SEGMENT, &[2000]);
            // A flipped byte in a body (the CRC catches it), in the size field, in the
            // physical offset field: each makes record 2 unreadable, nothing else.
            for at in [2000, 1, 30] {
                let (disk, dir) = mem().await;
                let mut damaged = image.clone();
                damaged[offsets[2] as usize + at] ^= 0x5a;
                store(&disk, &dir, 0, &damaged).await;
                store(&disk, &dir, SEGMENT, &next).await;
                let (end, seen, ranges) = recover(&disk, &dir).await;
                let mut kept = offsets.clone();
                kept.remove(2);
                kept.extend(&next_offsets);
                assert_eq!(seen, kept, "byte {at}");
                assert_eq!(ranges, vec![(offsets[2], offsets[3])], "byte {at}");
                assert_eq!(end, SEGMENT + 2000, "byte {at}");
            }
        });
    }

    #[test]
    fn damage_up_to_a_segment_end_resumes_in_the_next_segment() {
        run_local(|| async {
            let (disk, dir) = mem().await;
            let (mut image, offsets) = records(0, &[3000, 3000]);
            image.extend(blank_header((SEGMENT - 6000) as u32));
            image[offsets[1] as usize + 2000] ^= 0x5a;
            store(&disk, &dir, 0, &image).await;
            let (next, next_offsets) = records(SEGMENT, &[2000, 1000]);
            store(&disk, &dir, SEGMENT, &next).await;
            let (end, seen, ranges) = recover(&disk, &dir).await;
            assert_eq!(seen, [&offsets[..1], &next_offsets[..]].concat());
            assert_eq!(ranges, vec![(offsets[1], SEGMENT)]);
            assert_eq!(end, SEGMENT + 3000);
        });
    }

    #[test]
    fn a_torn_tail_is_cut_and_not_reported() {
        run_local(|| async {
            let (disk, dir) = mem().await;
            let (mut image, offsets) = records(0, &[3000, 3000, 3000]);
            // The last record was being written: its second half never arrived.
            let torn = offsets[2] as usize + 1500;
            image[torn..].fill(0);
            store(&disk, &dir, 0, &image).await;
            let (end, seen, ranges) = recover(&disk, &dir).await;
            assert_eq!(
                (end, seen, ranges),
                (offsets[2], offsets[..2].to_vec(), vec![])
            );
            // The cut wiped the torn bytes: a second recovery finds a clean end.
            let (end, _, ranges) = recover(&disk, &dir).await;
            assert_eq!((end, ranges), (offsets[2], vec![]));
        });
    }

    /// Recovers a log that holds no record.
    async fn recover_empty(disk: &Disk, files: LogFiles) -> StoreResult<RecoveredLog> {
        let visit = |_, _: &[u8]| unreachable!("no record");
        recover_log(disk, files, SEGMENT, 8192, visit, |_, _| ()).await
    }

    #[test]
    fn an_empty_log_ends_where_the_scan_starts() {
        run_local(|| async {
            let (disk, dir) = mem().await;
            assert_eq!(scan_log(&disk, &dir, 0, 4096).await, (0, vec![]));
            let from = 3 * SEGMENT + 100;
            let files = LogFiles::open(&disk, &dir, SEGMENT, from).await.unwrap();
            assert_eq!(
                (files.start, files.min_offset()),
                (3 * SEGMENT, 3 * SEGMENT)
            );
            let log = recover_empty(&disk, files).await;
            assert_eq!(log.unwrap().end, 3 * SEGMENT);
            store(&disk, &dir, 0, &[0; 4096]).await;
            assert_eq!(scan_log(&disk, &dir, 0, 4096).await, (0, vec![]));
            let files = LogFiles::open(&disk, &dir, SEGMENT, 0).await.unwrap();
            let log = recover_empty(&disk, files).await;
            let log = log.unwrap();
            assert_eq!((log.end, log.tail.len()), (0, 0));
        });
    }

    #[test]
    fn a_visitor_error_stops_the_scan() {
        run_local(|| async {
            let (disk, dir) = mem().await;
            let (image, offsets) = records(0, &[3000, 3000, 3000]);
            store(&disk, &dir, 0, &image).await;
            let segments = segments(&disk, &dir).await;
            let mut seen = Vec::new();
            let mut visit = |pos, _: &[u8]| {
                seen.push(pos);
                if pos == offsets[1] {
                    return Err(StoreError::Failed);
                }
                Ok(())
            };
            let end = scan_from(&segments, SEGMENT, 0, 4096, &mut visit).await;
            assert!(matches!(end, Err(StoreError::Failed)));
            assert_eq!(seen, offsets[..2]);
        });
    }
}
