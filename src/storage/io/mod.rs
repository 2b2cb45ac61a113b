//! The storage I/O interface: every byte the store puts on or takes from a device goes through
//! [`Disk`] and [`SegmentFile`]. Two implementations sit behind it:
//!
//! - [`dma`]: glommio `DmaFile` (O_DIRECT through io_uring), the production path;
//! - [`mem`]: an in-memory disk that injects faults from a seed (failed writes and syncs,
//!   torn writes at any byte, a crash that keeps only what was synced), for deterministic
//!   recovery tests.
//!
//! Both are shard-local (`Rc`, never `Send`) and async. Invariants the callers keep and both
//! implementations assert: a write starts at a multiple of [`IO_ALIGN`] and its length is a
//! multiple of [`IO_ALIGN`]; buffers come from [`alloc_block`] so O_DIRECT accepts them.
//! Directory listing and creation use blocking calls and are meant for start-up only.

pub mod dma;
pub mod mem;

use std::future::Future;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;

use glommio::io::{DmaBuffer, ReadResult};

use super::error::StoreResult;

pub use mem::{Faults, MemDisk, SimRng};

/// Alignment of every write position and length. 4 KiB satisfies O_DIRECT on 512-byte and
/// 4 KiB-sector devices alike.
pub const IO_ALIGN: usize = 4096;

/// Rounds `n` up to a multiple of [`IO_ALIGN`].
pub const fn align_up(n: u64) -> u64 {
    n.div_ceil(IO_ALIGN as u64) * IO_ALIGN as u64
}

/// Rounds `n` down to a multiple of [`IO_ALIGN`].
pub const fn align_down(n: u64) -> u64 {
    n / IO_ALIGN as u64 * IO_ALIGN as u64
}

thread_local! {
    /// Whether this thread's buffers come from its executor's registered io memory.
    static REGISTERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Makes the buffers this thread allocates from now on come from its glommio executor's
/// registered io memory while that has room, and from the heap once it is full. The kernel
/// pins a heap buffer's pages for every O_DIRECT transfer and unpins them after; a registered
/// buffer was pinned once, when the executor started, and goes out with `WriteFixed` /
/// `ReadFixed`. Blocks live long (they double as the tail cache), so the memory they take is
/// what the shard registered for them (docs/storage.md, "Registered buffers").
///
/// Only for a thread running a glommio executor, which every allocation then needs.
pub fn use_registered_memory() {
    REGISTERED.set(true);
}

/// An aligned buffer of `size` bytes, its contents unspecified.
fn dma_buffer(size: usize) -> DmaBuffer {
    if REGISTERED.get() {
        glommio::allocate_dma_buffer(size)
    } else {
        glommio::allocate_dma_buffer_global(size)
    }
}

/// Allocates a zeroed, aligned buffer of `size` bytes (a multiple of [`IO_ALIGN`]).
pub fn alloc_block(size: usize) -> DmaBuffer {
    assert!(
        size > 0 && size % IO_ALIGN == 0,
        "block size {size} not aligned"
    );
    let mut buf = dma_buffer(size);
    buf.as_bytes_mut().fill(0);
    buf
}

/// [`alloc_block`] holding `front` at its start: the front is copied and only the rest zeroed.
pub fn block_holding(front: &[u8], size: usize) -> DmaBuffer {
    assert!(
        size > 0 && size % IO_ALIGN == 0 && front.len() <= size,
        "block size {size} not aligned or under {}",
        front.len()
    );
    let mut buf = dma_buffer(size);
    let (copied, rest) = buf.as_bytes_mut().split_at_mut(front.len());
    copied.copy_from_slice(front);
    rest.fill(0);
    buf
}

/// A place to keep segment files: a real directory tree or the in-memory simulation.
#[derive(Debug, Clone)]
pub enum Disk {
    /// O_DIRECT files through glommio.
    Dma,
    /// The fault-injecting in-memory disk.
    Mem(MemDisk),
}

impl Disk {
    /// Opens `path` for reading and writing, creating an empty file when `create` is set.
    pub async fn open(&self, path: &Path, create: bool) -> StoreResult<SegmentFile> {
        match self {
            Disk::Dma => dma::open(path, create).await.map(SegmentFile::Dma),
            Disk::Mem(disk) => disk.open(path, create).map(SegmentFile::Mem),
        }
    }

    /// Names of the regular files directly inside `dir`, sorted; empty when `dir` is absent.
    pub async fn list_dir(&self, dir: &Path) -> StoreResult<Vec<String>> {
        match self {
            Disk::Dma => dma::list_dir(dir),
            Disk::Mem(disk) => Ok(disk.list_dir(dir)),
        }
    }

    /// Names of the subdirectories directly inside `dir`, sorted; empty when `dir` is absent.
    pub async fn list_subdirs(&self, dir: &Path) -> StoreResult<Vec<String>> {
        match self {
            Disk::Dma => dma::list_subdirs(dir),
            Disk::Mem(disk) => Ok(disk.list_subdirs(dir)),
        }
    }

    /// Creates `dir` and its parents.
    pub async fn create_dir_all(&self, dir: &Path) -> StoreResult<()> {
        match self {
            Disk::Dma => dma::create_dir_all(dir),
            Disk::Mem(disk) => {
                disk.create_dir_all(dir);
                Ok(())
            }
        }
    }

    /// Makes the names in `dir` durable (files created or deleted there), as a file's own
    /// sync does not. The memory disk treats names as durable at once.
    pub async fn sync_dir(&self, dir: &Path) -> StoreResult<()> {
        match self {
            Disk::Dma => dma::sync_dir(dir).await,
            Disk::Mem(_) => Ok(()),
        }
    }

    /// Percentage of the space of the file system holding `path` that is in use (for the
    /// memory disk: of its capacity, 0 when it has none).
    pub fn used_percent(&self, path: &Path) -> StoreResult<u32> {
        match self {
            Disk::Dma => dma::used_percent(path),
            Disk::Mem(disk) => Ok(disk.used_percent()),
        }
    }

    /// Bytes in use on the file system holding `path` (for the memory disk: by its files).
    pub fn used_bytes(&self, path: &Path) -> StoreResult<u64> {
        match self {
            Disk::Dma => dma::used_bytes(path),
            Disk::Mem(disk) => Ok(disk.used_bytes()),
        }
    }

    /// Deletes the file at `path`.
    pub async fn remove(&self, path: &Path) -> StoreResult<()> {
        match self {
            Disk::Dma => dma::remove(path).await,
            Disk::Mem(disk) => disk.remove(path),
        }
    }
}

/// An open file of the store (a CommitLog or ConsumeQueue segment, the checkpoint). Cheap to
/// clone: the flusher and readers share one descriptor.
#[derive(Debug, Clone)]
pub enum SegmentFile {
    Dma(Rc<glommio::io::DmaFile>),
    Mem(mem::MemFile),
}

impl SegmentFile {
    /// Reserves `size` bytes (the file reads as zeros up to there), so appends never wait for
    /// block allocation and a full disk shows up when a segment is created, not mid-write.
    pub async fn pre_allocate(&self, size: u64) -> StoreResult<()> {
        match self {
            SegmentFile::Dma(f) => dma::pre_allocate(f, size).await,
            SegmentFile::Mem(f) => f.pre_allocate(size),
        }
    }

    /// Writes all of `buf` at `pos`; both aligned to [`IO_ALIGN`]. The caller keeps its `Rc`,
    /// so a written block can stay in the tail cache without a copy.
    pub async fn write_at(&self, buf: Rc<DmaBuffer>, pos: u64) -> StoreResult<()> {
        assert!(pos % IO_ALIGN as u64 == 0, "unaligned write position {pos}");
        assert!(
            buf.len() % IO_ALIGN == 0,
            "unaligned write length {}",
            buf.len()
        );
        match self {
            SegmentFile::Dma(f) => dma::write_at(f, buf, pos).await,
            SegmentFile::Mem(f) => f.write_at(buf.as_bytes(), pos).await,
        }
    }

    /// Reads up to `size` bytes at `pos` (any alignment) inside the file; callers never read
    /// past the end (O_DIRECT reads there fail on some devices).
    pub async fn read_at(&self, pos: u64, size: usize) -> StoreResult<ReadBuf> {
        match self {
            SegmentFile::Dma(f) => dma::read_at(f, pos, size).await.map(|data| ReadBuf::Dma {
                // The read's buffer covers the pages around the range.
                held: (align_up(pos + size as u64) - align_down(pos)) as usize,
                start: 0,
                len: data.len(),
                data,
            }),
            SegmentFile::Mem(f) => f.read_at(pos, size).await.map(ReadBuf::Mem),
        }
    }

    /// Makes every completed write to this file durable.
    pub async fn fdatasync(&self) -> StoreResult<()> {
        match self {
            SegmentFile::Dma(f) => dma::fdatasync(f).await,
            SegmentFile::Mem(f) => f.fdatasync().await,
        }
    }

    /// Makes `[pos, pos + len)` read as zeros, durably (page-aligned range), keeping the file
    /// size and its preallocation. Recovery uses it so bytes past a cut can never be read as
    /// data again after a later crash.
    pub async fn discard(&self, pos: u64, len: u64) -> StoreResult<()> {
        assert!(
            pos % IO_ALIGN as u64 == 0 && len % IO_ALIGN as u64 == 0,
            "unaligned discard"
        );
        if len == 0 {
            return Ok(());
        }
        match self {
            SegmentFile::Dma(f) => dma::discard(f, pos, len).await,
            SegmentFile::Mem(f) => f.discard(pos, len),
        }
    }

    /// Makes `[pos, pos + len)` read as zeros, durably (page-aligned range), giving its blocks
    /// back: the sparse counterpart of [`SegmentFile::discard`], for files that take space
    /// only as they are written.
    pub async fn punch_hole(&self, pos: u64, len: u64) -> StoreResult<()> {
        assert!(
            pos % IO_ALIGN as u64 == 0 && len % IO_ALIGN as u64 == 0,
            "unaligned hole"
        );
        if len == 0 {
            return Ok(());
        }
        match self {
            SegmentFile::Dma(f) => dma::punch_hole(f, pos, len).await,
            SegmentFile::Mem(f) => f.discard(pos, len),
        }
    }

    /// Cuts or extends the file to `size` bytes; an extension reads as zeros and takes no
    /// blocks until written (a sparse file).
    pub async fn truncate(&self, size: u64) -> StoreResult<()> {
        match self {
            SegmentFile::Dma(f) => dma::truncate(f, size).await,
            SegmentFile::Mem(f) => f.truncate(size),
        }
    }

    /// A position before which the file reads only zeros: the start of its first range
    /// holding data where the file system tells holes from data (`SEEK_DATA`), else 0.
    pub fn data_start(&self) -> StoreResult<u64> {
        match self {
            SegmentFile::Dma(f) => dma::data_start(f),
            SegmentFile::Mem(f) => f.data_start(),
        }
    }

    /// A position at and past which the file reads only zeros: the end of its last range
    /// holding data where the file system tells holes from data (`SEEK_DATA` and
    /// `SEEK_HOLE`; ext4, XFS, btrfs, tmpfs), else its size. A sparse ConsumeQueue segment
    /// holding a few entries answers with a few KiB, so opening it reads only those.
    pub async fn data_end(&self) -> StoreResult<u64> {
        match self {
            SegmentFile::Dma(f) => dma::data_end(f).await,
            SegmentFile::Mem(f) => f.data_end(),
        }
    }

    /// Current length of the file.
    pub async fn size(&self) -> StoreResult<u64> {
        match self {
            SegmentFile::Dma(f) => dma::size(f).await,
            SegmentFile::Mem(f) => f.size(),
        }
    }

    /// The path the file was opened with.
    pub fn path(&self) -> PathBuf {
        match self {
            SegmentFile::Dma(f) => f.path().map(|p| p.to_path_buf()).unwrap_or_default(),
            SegmentFile::Mem(f) => f.path().to_path_buf(),
        }
    }
}

/// Bytes read from a file: the DMA read buffer itself (no copy) or the simulation's copy.
#[derive(Debug)]
pub enum ReadBuf {
    Dma {
        /// The whole read; these bytes are `[start, start + len)` of it.
        data: ReadResult,
        start: usize,
        len: usize,
        /// The size of the DMA buffer `data` is a window on, which the window keeps alive.
        held: usize,
    },
    Mem(Vec<u8>),
}

impl ReadBuf {
    /// `[start, start + len)` of this buffer: the same DMA buffer, shared (no copy).
    pub fn slice(&self, start: usize, len: usize) -> ReadBuf {
        assert!(start + len <= self.len(), "slice past the end");
        match self {
            ReadBuf::Dma {
                data,
                start: at,
                held,
                ..
            } => ReadBuf::Dma {
                data: data.clone(),
                start: at + start,
                len,
                held: *held,
            },
            ReadBuf::Mem(v) => ReadBuf::Mem(v[start..start + len].to_vec()),
        }
    }

    /// These bytes and `next`'s as one window, when `next` follows them in the same read.
    pub fn joined(&self, next: &ReadBuf) -> Option<ReadBuf> {
        match (self, next) {
            (
                ReadBuf::Dma {
                    data,
                    start,
                    len,
                    held,
                },
                ReadBuf::Dma {
                    data: next_data,
                    start: next_start,
                    len: next_len,
                    ..
                },
            ) if same_read(data, next_data) && start + len == *next_start => Some(ReadBuf::Dma {
                data: data.clone(),
                start: *start,
                len: len + next_len,
                held: *held,
            }),
            _ => None,
        }
    }

    /// The memory this buffer keeps alive: all of the DMA buffer it is a window on.
    pub fn held_bytes(&self) -> usize {
        match self {
            ReadBuf::Dma { held, .. } => *held,
            ReadBuf::Mem(v) => v.len(),
        }
    }
}

/// Whether two reads are the same one: two live reads of some bytes cannot start at the same
/// address.
fn same_read(a: &ReadResult, b: &ReadResult) -> bool {
    !a.is_empty() && a.as_ptr() == b.as_ptr() && a.len() == b.len()
}

impl Deref for ReadBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            ReadBuf::Dma {
                data, start, len, ..
            } => &data[*start..*start + *len],
            ReadBuf::Mem(v) => v,
        }
    }
}

/// Runs `futs` with at most `limit` of them in flight at once, each polled to completion (an
/// I/O future owns its buffer until then), and returns their outputs in order, or the first
/// error: after one, no further future is started and those in flight are finished.
pub async fn try_join_bounded<T, F: Future<Output = StoreResult<T>>>(
    futs: impl IntoIterator<Item = F>,
    limit: usize,
) -> StoreResult<Vec<T>> {
    assert!(limit > 0);
    let mut waiting = futs.into_iter().enumerate();
    let mut running: Vec<(usize, Pin<Box<F>>)> = Vec::with_capacity(limit);
    let mut outputs: Vec<Option<T>> = Vec::new();
    let mut failed = None;
    std::future::poll_fn(|cx| loop {
        while failed.is_none() && running.len() < limit {
            let Some((at, fut)) = waiting.next() else {
                break;
            };
            outputs.push(None);
            running.push((at, Box::pin(fut)));
        }
        if running.is_empty() {
            return Poll::Ready(());
        }
        let before = running.len();
        let mut i = 0;
        while i < running.len() {
            match running[i].1.as_mut().poll(cx) {
                Poll::Ready(result) => {
                    let (at, _) = running.swap_remove(i);
                    match result {
                        Ok(v) => outputs[at] = Some(v),
                        Err(e) => {
                            failed.get_or_insert(e);
                        }
                    }
                }
                Poll::Pending => i += 1,
            }
        }
        if running.len() == before {
            return Poll::Pending;
        }
    })
    .await;
    match failed {
        Some(e) => Err(e),
        None => Ok(outputs.into_iter().map(|o| o.expect("completed")).collect()),
    }
}

/// Polls all `futs` at once until every one completes (an I/O future owns its buffer until
/// then, so none is dropped early) and returns their outputs in order.
pub async fn join_all<T, F: Future<Output = T>>(futs: Vec<F>) -> Vec<T> {
    let mut futs: Vec<Pin<Box<F>>> = futs.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<T>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (fut, out) in futs.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match fut.as_mut().poll(cx) {
                    Poll::Ready(v) => *out = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("completed")).collect()
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;

    use super::try_join_bounded;
    use crate::storage::error::StoreError;
    use crate::storage::run_local;

    #[test]
    fn bounded_join_keeps_order_and_limit_and_stops_after_an_error() {
        run_local(|| async {
            let (running, most) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
            let started = Rc::new(Cell::new(0));
            let task = |i: u32, fail: bool| {
                let (running, most, started) = (running.clone(), most.clone(), started.clone());
                async move {
                    started.set(started.get() + 1);
                    running.set(running.get() + 1);
                    most.set(most.get().max(running.get()));
                    for _ in 0..=(i % 3) {
                        futures_lite::future::yield_now().await;
                    }
                    running.set(running.get() - 1);
                    if fail {
                        return Err(StoreError::DiskFull);
                    }
                    Ok(i)
                }
            };
            let all = try_join_bounded((0..20).map(|i| task(i, false)), 4).await;
            assert_eq!(all.unwrap(), (0..20).collect::<Vec<_>>());
            assert_eq!((most.get(), started.get()), (4, 20));
            started.set(0);
            let failed = try_join_bounded((0..20).map(|i| task(i, i == 5)), 4).await;
            assert!(matches!(failed, Err(StoreError::DiskFull)));
            assert!(started.get() < 20, "{} started", started.get());
            assert_eq!(running.get(), 0);
        });
    }
}
