//! The production I/O path: glommio `DmaFile` (O_DIRECT, io_uring). Reads and writes bypass the
//! page cache, so a completed `fdatasync` covers exactly the writes that completed before it.
//! Directory listing and creation are plain blocking calls, used at start-up only.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::rc::Rc;

use glommio::io::{DmaBuffer, DmaFile, OpenOptions, ReadResult};
use glommio::GlommioError;
use rustix::fs::SeekFrom;
use rustix::io::Errno;

use crate::storage::error::{StoreError, StoreResult};

/// glommio's own conversion to `io::Error` keeps only the kind of its file errors and drops
/// the OS error code, and with it "no space": keep the source, so [`StoreError::io`] can tell
/// a full disk from a failing one.
fn failed(op: &'static str) -> impl Fn(GlommioError<()>) -> StoreError + Copy {
    move |error| {
        let source = match error {
            GlommioError::EnhancedIoError { source, .. } => source,
            other => other.into(),
        };
        StoreError::io(op, source)
    }
}

pub(super) async fn open(path: &Path, create: bool) -> StoreResult<Rc<DmaFile>> {
    probe_device(path).await?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(create)
        .dma_open(path)
        .await
        .map_err(failed("opening a segment"))?;
    Ok(Rc::new(file))
}

thread_local! {
    /// Devices whose io_uring polling support glommio has already probed on this thread.
    static PROBED: RefCell<HashSet<u64>> = RefCell::new(HashSet::new());
}

/// glommio decides once per device and thread whether to poll for completions, by reading the
/// first block of the first `DmaFile` opened there. An empty file answers that read with
/// end-of-file, which it takes for "polling works"; on a device without poll queues every later
/// read then fails with EOPNOTSUPP. So the first open on each device goes to a file that holds
/// a real block. Blocking calls are fine here: this runs once per device, at start-up.
async fn probe_device(path: &Path) -> StoreResult<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let dev = fs::metadata(dir)
        .map_err(|e| StoreError::io("probing a device", e))?
        .dev();
    if PROBED.with(|p| p.borrow().contains(&dev)) {
        return Ok(());
    }
    let probe = dir.join(".dma-probe");
    fs::write(&probe, [0u8; 4096]).map_err(|e| StoreError::io("probing a device", e))?;
    let opened = OpenOptions::new().read(true).dma_open(&probe).await;
    let _ = fs::remove_file(&probe);
    let file = opened.map_err(failed("probing a device"))?;
    let _ = file.close().await;
    PROBED.with(|p| p.borrow_mut().insert(dev));
    Ok(())
}

pub(super) async fn pre_allocate(f: &DmaFile, size: u64) -> StoreResult<()> {
    f.pre_allocate(size, false)
        .await
        .map_err(failed("preallocating a segment"))
}

pub(super) async fn write_at(f: &DmaFile, buf: Rc<DmaBuffer>, pos: u64) -> StoreResult<()> {
    let want = buf.len();
    let wrote = f
        .write_rc_at(buf, pos)
        .await
        .map_err(failed("writing a block"))?;
    if wrote != want {
        // O_DIRECT writes are all-or-nothing per block except when the device is full.
        let short = io::Error::from(Errno::NOSPC);
        return Err(StoreError::io("writing a block", short));
    }
    Ok(())
}

pub(super) async fn read_at(f: &DmaFile, pos: u64, size: usize) -> StoreResult<ReadResult> {
    f.read_at(pos, size).await.map_err(failed("reading"))
}

pub(super) async fn fdatasync(f: &DmaFile) -> StoreResult<()> {
    f.fdatasync().await.map_err(failed("syncing"))
}

pub(super) async fn punch_hole(f: &DmaFile, pos: u64, len: u64) -> StoreResult<()> {
    let err = failed("punching a hole");
    f.deallocate(pos, len).await.map_err(err)?;
    f.fdatasync().await.map_err(err)
}

pub(super) async fn discard(f: &DmaFile, pos: u64, len: u64) -> StoreResult<()> {
    let err = failed("discarding a range");
    f.deallocate(pos, len).await.map_err(err)?;
    // Punching a hole gives the blocks back; take them again so later writes never allocate.
    f.pre_allocate(pos + len, true).await.map_err(err)?;
    f.fdatasync().await.map_err(err)
}

pub(super) async fn truncate(f: &DmaFile, size: u64) -> StoreResult<()> {
    f.truncate(size).await.map_err(failed("truncating"))
}

/// See [`super::SegmentFile::data_start`].
pub(super) fn data_start(f: &DmaFile) -> StoreResult<u64> {
    #[allow(unsafe_code)]
    // SAFETY: as in `data_end`: the descriptor is `f`'s, open while `f` is borrowed, and
    // `lseek` only moves its position, which positioned reads and writes never use.
    let fd = unsafe { BorrowedFd::borrow_raw(f.as_raw_fd()) };
    match rustix::fs::seek(fd, SeekFrom::Data(0)) {
        Ok(at) => Ok(at),
        // No data at all, or a file system that cannot tell: look from the start.
        Err(Errno::NXIO | Errno::INVAL | Errno::OPNOTSUPP) => Ok(0),
        Err(errno) => Err(StoreError::io("finding a file's data", errno.into())),
    }
}

pub(super) async fn data_end(f: &DmaFile) -> StoreResult<u64> {
    #[allow(unsafe_code)]
    // SAFETY: the descriptor is `f`'s and stays open while `f` is borrowed, which outlives
    // `fd`; `lseek` only moves the descriptor's position, which glommio's positioned reads
    // and writes never use.
    let fd = unsafe { BorrowedFd::borrow_raw(f.as_raw_fd()) };
    let err = |errno: Errno| StoreError::io("finding a file's data", errno.into());
    let (mut at, mut end) = (0, 0);
    loop {
        match rustix::fs::seek(fd, SeekFrom::Data(at)) {
            Ok(data) => {
                end = rustix::fs::seek(fd, SeekFrom::Hole(data)).map_err(err)?;
                at = end;
            }
            // No data at or past `at`.
            Err(Errno::NXIO) => return Ok(end),
            // A file system that cannot tell: all of the file may be data.
            Err(Errno::INVAL | Errno::OPNOTSUPP) => return size(f).await,
            Err(errno) => return Err(err(errno)),
        }
    }
}

pub(super) async fn size(f: &DmaFile) -> StoreResult<u64> {
    f.file_size().await.map_err(failed("sizing a file"))
}

pub(super) async fn remove(path: &Path) -> StoreResult<()> {
    glommio::io::remove(path)
        .await
        .map_err(failed("deleting a file"))
}

pub(super) async fn sync_dir(dir: &Path) -> StoreResult<()> {
    let err = failed("syncing a directory");
    let d = glommio::io::Directory::open(dir).await.map_err(err)?;
    d.sync().await.map_err(err)?;
    d.close().await.map_err(err)
}

pub(super) fn create_dir_all(dir: &Path) -> StoreResult<()> {
    fs::create_dir_all(dir).map_err(|e| StoreError::io("creating a directory", e))
}

pub(super) fn list_dir(dir: &Path) -> StoreResult<Vec<String>> {
    list(dir, |t| t.is_file())
}

pub(super) fn list_subdirs(dir: &Path) -> StoreResult<Vec<String>> {
    list(dir, |t| t.is_dir())
}

fn list(dir: &Path, keep: impl Fn(&fs::FileType) -> bool) -> StoreResult<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io("listing a directory", e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io("listing a directory", e))?;
        let kind = entry
            .file_type()
            .map_err(|e| StoreError::io("listing a directory", e))?;
        if keep(&kind) {
            if let Ok(name) = entry.file_name().into_string() {
                names.push(name);
            }
        }
    }
    names.sort();
    Ok(names)
}

/// Used share of the file system holding `path`, in percent, as `df` counts it: blocks in
/// use over blocks in use plus those available to unprivileged users.
pub(super) fn used_percent(path: &Path) -> StoreResult<u32> {
    let stat = rustix::fs::statvfs(path)
        .map_err(|errno| StoreError::io("measuring disk use", errno.into()))?;
    let used = stat.f_blocks.saturating_sub(stat.f_bfree) as u128;
    let usable = used + stat.f_bavail as u128;
    Ok(if usable == 0 {
        100
    } else {
        (used * 100).div_ceil(usable) as u32
    })
}

/// Bytes in use on the file system holding `path` (total less free, Java's
/// `rocketmq_storage_size`).
pub(super) fn used_bytes(path: &Path) -> StoreResult<u64> {
    let stat = rustix::fs::statvfs(path)
        .map_err(|errno| StoreError::io("measuring disk use", errno.into()))?;
    Ok(stat.f_blocks.saturating_sub(stat.f_bfree) * stat.f_frsize)
}

#[cfg(test)]
mod tests {
    use super::used_percent;
    use crate::storage::io::{alloc_block, Disk};
    use crate::storage::test_dir;
    use std::path::Path;
    use std::rc::Rc;

    #[test]
    fn write_sync_read_list_remove_on_a_real_file() {
        let dir = test_dir("dma-io");
        let ex = glommio::LocalExecutorBuilder::default().spawn(move || async move {
            let disk = Disk::Dma;
            disk.create_dir_all(&dir).await.unwrap();
            let path = dir.join("00000000000000000000");
            let f = disk.open(&path, true).await.unwrap();
            f.pre_allocate(64 * 1024).await.unwrap();
            assert_eq!(f.size().await.unwrap(), 64 * 1024);
            let mut b = alloc_block(8192);
            b.as_bytes_mut()[100..105].copy_from_slice(b"hello");
            f.write_at(Rc::new(b), 4096).await.unwrap();
            f.fdatasync().await.unwrap();
            assert_eq!(&*f.read_at(4196, 5).await.unwrap(), b"hello");
            assert_eq!(disk.list_dir(&dir).await.unwrap(), ["00000000000000000000"]);
            f.truncate(4096).await.unwrap();
            assert_eq!(f.size().await.unwrap(), 4096);
            disk.remove(&path).await.unwrap();
            assert!(disk.list_dir(&dir).await.unwrap().is_empty());
            std::fs::remove_dir_all(&dir).unwrap();
        });
        ex.unwrap().join().unwrap();
    }

    #[test]
    fn a_sparse_file_s_data_ends_with_its_last_written_block() {
        let dir = test_dir("dma-data-end");
        let ex = glommio::LocalExecutorBuilder::default().spawn(move || async move {
            let disk = Disk::Dma;
            disk.create_dir_all(&dir).await.unwrap();
            let f = disk.open(&dir.join("sparse"), true).await.unwrap();
            let size = 1 << 20;
            f.truncate(size).await.unwrap();
            let holes = f.data_end().await.unwrap();
            // A file system that cannot tell holes answers with the size.
            assert!(holes == 0 || holes == size, "{holes}");
            let mut b = alloc_block(4096);
            b.as_bytes_mut()[0] = 1;
            f.write_at(Rc::new(b), 8192).await.unwrap();
            f.fdatasync().await.unwrap();
            let end = f.data_end().await.unwrap();
            assert!(end == 12288 && holes == 0 || end == size, "{end}");
            std::fs::remove_dir_all(&dir).unwrap();
        });
        ex.unwrap().join().unwrap();
    }

    #[test]
    fn used_percent_of_a_real_file_system_is_a_percentage() {
        let used = used_percent(&std::env::temp_dir()).expect("statvfs");
        assert!(used <= 100);
        assert!(used_percent(Path::new("/no/such/dir")).is_err());
    }
}
