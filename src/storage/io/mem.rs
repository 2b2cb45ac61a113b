//! An in-memory disk for deterministic fault tests. Each file keeps two images: `durable`
//! (what survives a crash) and `volatile` (what reads see), plus the writes issued since the
//! last successful sync. Faults come from one seeded generator, so a failing run replays from
//! its seed:
//!
//! - a write may fail, leaving any prefix of itself applied (a torn write at any byte);
//! - a sync may fail, leaving the pending writes pending;
//! - [`MemDisk::crash`] keeps, per pending write in issue order, nothing, all of it or a prefix
//!   of it, then makes the result the new durable image and invalidates every open handle.
//!
//! Creating, preallocating, truncating and deleting files are durable at once; the model is
//! about data, which is where the store's invariants live.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::storage::error::{StoreError, StoreResult};

/// A small deterministic generator (SplitMix64): fast, seedable, no dependency.
#[derive(Debug, Clone)]
pub struct SimRng(u64);

impl SimRng {
    pub fn new(seed: u64) -> Self {
        SimRng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u32) -> bool {
        self.below(1000) < u64::from(per_mille)
    }
}

/// Prints its seed if the thread panics while it is alive, so any failing seeded test says how
/// to replay it.
#[derive(Debug)]
pub struct SeedGuard(pub u64);

impl Drop for SeedGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("failing seed: {} (replay with this seed)", self.0);
        }
    }
}

/// Fault rates of a [`MemDisk`], in per mille per operation, and its capacity.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub write_fail_per_mille: u32,
    pub sync_fail_per_mille: u32,
    /// Total bytes of all files; growing past it fails with "no space".
    pub capacity_bytes: Option<u64>,
}

#[derive(Debug, Default)]
struct FileData {
    durable: Vec<u8>,
    volatile: Vec<u8>,
    /// Writes since the last successful sync, in issue order.
    pending: Vec<(u64, Vec<u8>)>,
    deleted: bool,
}

#[derive(Debug)]
struct State {
    files: BTreeMap<PathBuf, Rc<RefCell<FileData>>>,
    dirs: BTreeSet<PathBuf>,
    rng: SimRng,
    faults: Faults,
    /// Bumped by a crash; handles from an older epoch fail every operation.
    epoch: u64,
    syncs: u64,
    /// Writes started and not yet finished, and the most there ever were at once.
    writes_in_flight: u64,
    writes_in_flight_max: u64,
}

/// The in-memory disk; clones share the same files.
#[derive(Debug, Clone)]
pub struct MemDisk(Rc<RefCell<State>>);

/// An open in-memory file.
#[derive(Debug, Clone)]
pub struct MemFile {
    disk: MemDisk,
    path: PathBuf,
    data: Rc<RefCell<FileData>>,
    epoch: u64,
}

fn injected(what: &str) -> StoreError {
    StoreError::io(
        "simulated I/O",
        io::Error::other(format!("injected {what} failure")),
    )
}

impl MemDisk {
    pub fn new(seed: u64, faults: Faults) -> Self {
        MemDisk(Rc::new(RefCell::new(State {
            files: BTreeMap::new(),
            dirs: BTreeSet::new(),
            rng: SimRng::new(seed),
            faults,
            epoch: 0,
            syncs: 0,
            writes_in_flight: 0,
            writes_in_flight_max: 0,
        })))
    }

    /// Changes the fault rates, e.g. to recover without faults after a crash.
    pub fn set_faults(&self, faults: Faults) {
        self.0.borrow_mut().faults = faults;
    }

    /// Loses power: every write not covered by a successful sync is dropped, kept or torn at a
    /// random byte, and every open handle becomes unusable.
    pub fn crash(&self) {
        let mut st = self.0.borrow_mut();
        st.epoch += 1;
        let files: Vec<_> = st.files.values().cloned().collect();
        for file in files {
            let mut f = file.borrow_mut();
            let mut image = std::mem::take(&mut f.durable);
            for (pos, bytes) in std::mem::take(&mut f.pending) {
                let keep = match st.rng.below(3) {
                    0 => 0,
                    1 => bytes.len(),
                    _ => st.rng.below(bytes.len() as u64 + 1) as usize,
                };
                apply(&mut image, pos, &bytes[..keep]);
            }
            f.volatile = image.clone();
            f.durable = image;
        }
    }

    /// Flips one byte of the durable and visible images of `path` (bit rot, a bad sector).
    pub fn corrupt(&self, path: &Path, pos: u64) {
        let st = self.0.borrow();
        let file = st.files.get(path).expect("corrupting a missing file");
        let mut f = file.borrow_mut();
        let i = pos as usize;
        f.durable[i] ^= 0x5A;
        f.volatile[i] ^= 0x5A;
    }

    /// Successful syncs so far (group commit shows as few syncs for many appends).
    pub fn syncs(&self) -> u64 {
        self.0.borrow().syncs
    }

    /// The most writes that were ever in flight at once.
    pub fn writes_in_flight_max(&self) -> u64 {
        self.0.borrow().writes_in_flight_max
    }

    /// Used share of the capacity, in percent; 0 without a capacity.
    pub fn used_percent(&self) -> u32 {
        match self.0.borrow().faults.capacity_bytes {
            Some(cap) if cap > 0 => (self.used_bytes().saturating_mul(100) / cap).min(100) as u32,
            _ => 0,
        }
    }

    /// Bytes used by all files.
    pub fn used_bytes(&self) -> u64 {
        let st = self.0.borrow();
        st.files
            .values()
            .map(|f| f.borrow().volatile.len() as u64)
            .sum()
    }

    pub(super) fn open(&self, path: &Path, create: bool) -> StoreResult<MemFile> {
        let mut st = self.0.borrow_mut();
        if !st.files.contains_key(path) {
            if !create {
                let missing = io::Error::new(io::ErrorKind::NotFound, "no such file");
                return Err(StoreError::io("opening a segment", missing));
            }
            st.files.insert(path.to_path_buf(), Rc::default());
        }
        let data = Rc::clone(&st.files[path]);
        Ok(MemFile {
            disk: self.clone(),
            path: path.to_path_buf(),
            data,
            epoch: st.epoch,
        })
    }

    pub(super) fn list_dir(&self, dir: &Path) -> Vec<String> {
        let st = self.0.borrow();
        let names = st.files.keys().filter(|p| p.parent() == Some(dir));
        names
            .filter_map(|p| Some(p.file_name()?.to_str()?.to_owned()))
            .collect()
    }

    pub(super) fn list_subdirs(&self, dir: &Path) -> Vec<String> {
        let st = self.0.borrow();
        let names = st.dirs.iter().filter(|p| p.parent() == Some(dir));
        names
            .filter_map(|p| Some(p.file_name()?.to_str()?.to_owned()))
            .collect()
    }

    pub(super) fn create_dir_all(&self, dir: &Path) {
        let mut st = self.0.borrow_mut();
        for d in dir.ancestors() {
            st.dirs.insert(d.to_path_buf());
        }
    }

    pub(super) fn remove(&self, path: &Path) -> StoreResult<()> {
        let removed = self.0.borrow_mut().files.remove(path);
        match removed {
            Some(f) => {
                f.borrow_mut().deleted = true;
                Ok(())
            }
            None => Err(StoreError::io(
                "deleting a file",
                io::ErrorKind::NotFound.into(),
            )),
        }
    }

    /// Fails with "no space" if growing by `extra` bytes would pass the capacity.
    fn reserve(&self, extra: u64) -> StoreResult<()> {
        let cap = self.0.borrow().faults.capacity_bytes;
        match cap {
            Some(cap) if self.used_bytes() + extra > cap => Err(StoreError::DiskFull),
            _ => Ok(()),
        }
    }
}

/// Writes `bytes` at `pos` into `image`, growing it with zeros if needed.
fn apply(image: &mut Vec<u8>, pos: u64, bytes: &[u8]) {
    let start = pos as usize;
    let end = start + bytes.len();
    if image.len() < end {
        image.resize(end, 0);
    }
    image[start..end].copy_from_slice(bytes);
}

impl MemFile {
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn check(&self) -> StoreResult<()> {
        let stale = self.disk.0.borrow().epoch != self.epoch;
        if stale || self.data.borrow().deleted {
            let gone = io::Error::new(io::ErrorKind::NotFound, "file gone (crash or delete)");
            return Err(StoreError::io("using a file", gone));
        }
        Ok(())
    }

    fn roll(&self, per_mille: impl Fn(&Faults) -> u32) -> bool {
        let mut st = self.disk.0.borrow_mut();
        let p = per_mille(&st.faults);
        p > 0 && st.rng.chance(p)
    }

    pub(super) fn pre_allocate(&self, size: u64) -> StoreResult<()> {
        self.check()?;
        let len = self.data.borrow().volatile.len() as u64;
        if size > len {
            self.disk.reserve(size - len)?;
            let mut f = self.data.borrow_mut();
            f.volatile.resize(size as usize, 0);
            f.durable.resize(size as usize, 0);
        }
        Ok(())
    }

    pub(super) async fn write_at(&self, buf: &[u8], pos: u64) -> StoreResult<()> {
        // Let other tasks run, so several writes are really in flight at once, and finish
        // them out of order as a device may.
        let turns = {
            let mut st = self.disk.0.borrow_mut();
            st.writes_in_flight += 1;
            st.writes_in_flight_max = st.writes_in_flight_max.max(st.writes_in_flight);
            1 + st.rng.below(3)
        };
        for _ in 0..turns {
            futures_lite::future::yield_now().await;
        }
        self.disk.0.borrow_mut().writes_in_flight -= 1;
        self.check()?;
        let len = self.data.borrow().volatile.len() as u64;
        let end = pos + buf.len() as u64;
        if end > len {
            self.disk.reserve(end - len)?;
        }
        let fail = self.roll(|f| f.write_fail_per_mille);
        let keep = if fail {
            self.disk.0.borrow_mut().rng.below(buf.len() as u64 + 1) as usize
        } else {
            buf.len()
        };
        let mut f = self.data.borrow_mut();
        apply(&mut f.volatile, pos, &buf[..keep]);
        f.pending.push((pos, buf[..keep].to_vec()));
        if fail {
            return Err(injected("write"));
        }
        Ok(())
    }

    pub(super) async fn read_at(&self, pos: u64, size: usize) -> StoreResult<Vec<u8>> {
        self.check()?;
        let f = self.data.borrow();
        let start = (pos as usize).min(f.volatile.len());
        let end = (start + size).min(f.volatile.len());
        Ok(f.volatile[start..end].to_vec())
    }

    pub(super) async fn fdatasync(&self) -> StoreResult<()> {
        futures_lite::future::yield_now().await;
        self.check()?;
        if self.roll(|f| f.sync_fail_per_mille) {
            return Err(injected("sync"));
        }
        self.disk.0.borrow_mut().syncs += 1;
        let mut f = self.data.borrow_mut();
        let FileData {
            durable, pending, ..
        } = &mut *f;
        for (pos, bytes) in pending.drain(..) {
            apply(durable, pos, &bytes);
        }
        Ok(())
    }

    pub(super) fn discard(&self, pos: u64, len: u64) -> StoreResult<()> {
        self.check()?;
        let mut f = self.data.borrow_mut();
        let FileData {
            durable,
            volatile,
            pending,
            ..
        } = &mut *f;
        let (start, end) = (pos as usize, (pos + len) as usize);
        for image in [durable, volatile] {
            let stop = end.min(image.len());
            if start < stop {
                image[start..stop].fill(0);
            }
        }
        // A pending write into the range must not bring its bytes back on a crash.
        for (at, bytes) in pending.iter_mut() {
            let (a, b) = (*at as usize, *at as usize + bytes.len());
            let (lo, hi) = (a.max(start), b.min(end));
            if lo < hi {
                bytes[lo - a..hi - a].fill(0);
            }
        }
        Ok(())
    }

    pub(super) fn truncate(&self, size: u64) -> StoreResult<()> {
        self.check()?;
        let mut f = self.data.borrow_mut();
        let FileData {
            durable,
            volatile,
            pending,
            ..
        } = &mut *f;
        // Writes past the new end must not come back from the pending list on a crash.
        for (pos, bytes) in pending.iter_mut() {
            bytes.truncate(size.saturating_sub(*pos) as usize);
        }
        durable.resize(size as usize, 0);
        volatile.resize(size as usize, 0);
        Ok(())
    }

    /// The start of the first page holding a byte that is not zero (0 when none does).
    pub(super) fn data_start(&self) -> StoreResult<u64> {
        self.check()?;
        let f = self.data.borrow();
        let first = f.volatile.iter().position(|&b| b != 0).unwrap_or(0);
        Ok(super::align_down(first as u64))
    }

    /// The end of the last page holding a byte that is not zero: everything past it reads as
    /// zeros, as past a real file's last data range.
    pub(super) fn data_end(&self) -> StoreResult<u64> {
        self.check()?;
        let f = self.data.borrow();
        let last = f
            .volatile
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |i| i + 1);
        Ok(super::align_up(last as u64).min(f.volatile.len() as u64))
    }

    pub(super) fn size(&self) -> StoreResult<u64> {
        self.check()?;
        Ok(self.data.borrow().volatile.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::io::{alloc_block, Disk, SegmentFile};

    fn block(fill: u8) -> Rc<glommio::io::DmaBuffer> {
        let mut b = alloc_block(4096);
        b.as_bytes_mut().fill(fill);
        Rc::new(b)
    }

    async fn open(disk: &MemDisk, name: &str) -> SegmentFile {
        Disk::Mem(disk.clone())
            .open(Path::new(name), true)
            .await
            .unwrap()
    }

    #[test]
    fn crash_keeps_synced_bytes_and_invalidates_handles() {
        futures_lite::future::block_on(async {
            for seed in 0..50 {
                let _g = SeedGuard(seed);
                let disk = MemDisk::new(seed, Faults::default());
                let f = open(&disk, "/a").await;
                f.write_at(block(1), 0).await.unwrap();
                f.fdatasync().await.unwrap();
                f.write_at(block(2), 4096).await.unwrap();
                disk.crash();
                assert!(f.read_at(0, 1).await.is_err(), "stale handle must fail");
                let f = open(&disk, "/a").await;
                let data = f.read_at(0, 8192).await.unwrap();
                assert!(data[..4096].iter().all(|&b| b == 1));
                // The unsynced block is gone, whole or a prefix of it.
                let tail = &data[4096.min(data.len())..];
                let ones = tail.iter().take_while(|&&b| b == 2).count();
                assert!(tail[ones..].iter().all(|&b| b == 0));
            }
        });
    }

    #[test]
    fn failed_write_and_sync_are_reported() {
        futures_lite::future::block_on(async {
            let faults = Faults {
                write_fail_per_mille: 1000,
                sync_fail_per_mille: 1000,
                capacity_bytes: None,
            };
            let disk = MemDisk::new(7, faults);
            let f = open(&disk, "/b").await;
            assert!(f.write_at(block(3), 0).await.is_err());
            assert!(f.fdatasync().await.is_err());
        });
    }

    #[test]
    fn capacity_gives_disk_full() {
        futures_lite::future::block_on(async {
            let faults = Faults {
                capacity_bytes: Some(8192),
                ..Faults::default()
            };
            let disk = MemDisk::new(1, faults);
            let f = open(&disk, "/c").await;
            f.pre_allocate(8192).await.unwrap();
            let g = open(&disk, "/d").await;
            assert!(matches!(
                g.pre_allocate(4096).await,
                Err(StoreError::DiskFull)
            ));
        });
    }

    #[test]
    fn listing_and_removal() {
        futures_lite::future::block_on(async {
            let disk = MemDisk::new(1, Faults::default());
            let d = Disk::Mem(disk.clone());
            d.create_dir_all(Path::new("/r/x")).await.unwrap();
            open(&disk, "/r/x/2").await;
            open(&disk, "/r/x/1").await;
            assert_eq!(d.list_dir(Path::new("/r/x")).await.unwrap(), ["1", "2"]);
            assert_eq!(d.list_subdirs(Path::new("/r")).await.unwrap(), ["x"]);
            d.remove(Path::new("/r/x/1")).await.unwrap();
            assert_eq!(d.list_dir(Path::new("/r/x")).await.unwrap(), ["2"]);
        });
    }
}
