//! One process per store: `storePathRootDir/lock`, held for the life of the process.
//!
//! Two brokers on one store would both append at the same CommitLog offsets and overwrite
//! each other's acknowledged messages, so the second one must refuse to start. The lock is a
//! POSIX record lock (`fcntl(F_SETLK)`) on the file, the kind Java's `FileChannel.tryLock`
//! takes on the same file name, so a Java broker and shardmq on one directory refuse each
//! other too. The kernel drops the lock when the process ends, however it ends: a stale file
//! left by a killed broker never blocks a restart. The holder writes its process id into the
//! file so the one refused can name it.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use rustix::fs::{fcntl_lock, FlockOperation};

/// The lock file's name under `storePathRootDir` (Java's is the same).
pub const LOCK_FILE: &str = "lock";

/// The held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct StoreLock {
    // The lock lives as long as this descriptor: POSIX record locks are released when the
    // process closes any descriptor of the file, so nothing else here opens it.
    _file: File,
}

/// Why the store could not be locked.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds the lock; `holder` is the process id it wrote, if readable.
    Held {
        path: PathBuf,
        holder: Option<u32>,
    },
    Io {
        path: PathBuf,
        error: io::Error,
    },
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::Held { path, holder } => {
                let store = path.parent().unwrap_or(path).display();
                match holder {
                    Some(pid) => write!(f, "store {store} is in use by process {pid}")?,
                    None => write!(f, "store {store} is in use by another process")?,
                }
                write!(
                    f,
                    " (it holds {}); stop that process or give this one another \
                     storePathRootDir",
                    path.display()
                )
            }
            LockError::Io { path, error } => {
                write!(f, "cannot lock {}: {error}", path.display())
            }
        }
    }
}

impl std::error::Error for LockError {}

impl StoreLock {
    /// Takes the lock of the store under `root` without waiting, or says who holds it.
    pub fn acquire(root: &Path) -> Result<StoreLock, LockError> {
        let path = root.join(LOCK_FILE);
        let io_error = |error: io::Error| LockError::Io {
            path: path.clone(),
            error,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_error)?;
        match fcntl_lock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(errno)
                if errno == rustix::io::Errno::AGAIN || errno == rustix::io::Errno::ACCESS =>
            {
                return Err(LockError::Held {
                    holder: read_holder(&mut file),
                    path,
                });
            }
            Err(errno) => return Err(io_error(errno.into())),
        }
        file.set_len(0).map_err(io_error)?;
        file.rewind().map_err(io_error)?;
        writeln!(file, "{}", std::process::id()).map_err(io_error)?;
        Ok(StoreLock { _file: file })
    }
}

fn read_holder(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_writes_its_pid_and_a_relock_after_release_succeeds() {
        let dir = crate::storage::test_dir("store-lock");
        std::fs::create_dir_all(&dir).expect("dir");
        let lock = StoreLock::acquire(&dir).expect("first lock");
        let text = std::fs::read_to_string(dir.join(LOCK_FILE)).expect("read");
        assert_eq!(text.trim(), std::process::id().to_string());
        drop(lock);
        // A file left behind (as by a killed process) does not block the next holder.
        let again = StoreLock::acquire(&dir).expect("relock");
        drop(again);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn refusal_names_the_store_the_holder_and_the_way_out() {
        let error = LockError::Held {
            path: PathBuf::from("/data/store/lock"),
            holder: Some(4242),
        };
        assert_eq!(
            error.to_string(),
            "store /data/store is in use by process 4242 (it holds /data/store/lock); stop \
             that process or give this one another storePathRootDir"
        );
    }
}
