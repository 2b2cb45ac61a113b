//! The storage layer's error type. I/O failures keep the operation that failed so a log line
//! says what the store was doing; `Clone` because one failed group commit answers every
//! appender that was waiting on it.

use std::fmt;
use std::io;
use std::rc::Rc;

use rustix::io::Errno;

/// Why a storage operation did not happen.
#[derive(Debug, Clone)]
pub enum StoreError {
    /// The device or file system refused an operation.
    Io {
        op: &'static str,
        source: Rc<io::Error>,
    },
    /// No space left for a new segment or a write; reads keep working.
    DiskFull,
    /// The in-memory log buffer is full of bytes not yet written; retry after
    /// [`CommitLog::writable`](super::commit_log::CommitLog::writable).
    Busy,
    /// A write or sync failed earlier; the store no longer accepts appends because the bytes
    /// after its last successful sync are of unknown state until a restart recovers them.
    Failed,
    /// A record, or the records of one append (a batch), larger than a segment less its
    /// filler can never be stored.
    RecordTooLarge { size: usize, max: usize },
    /// A read named bytes the log does not hold (deleted, not yet written, or past the end).
    OutOfRange { offset: u64, size: usize },
    /// Bytes on disk do not form what the store wrote (a bad checkpoint or index file), or
    /// records copied from another log are not whole, sound records at their positions.
    Corrupt { what: &'static str, detail: String },
    /// Records copied from another log start at `offset`, but this log ends at `end`: a
    /// copy never leaves a gap nor writes over what it holds.
    NotContiguous { offset: u64, end: u64 },
    /// A put on a slave's store, which only takes its master's records.
    CopiesOnly,
}

impl StoreError {
    /// Wraps an I/O error, turning "no space" into [`StoreError::DiskFull`] so callers can
    /// answer with a clear code.
    pub fn io(op: &'static str, source: io::Error) -> Self {
        if source.raw_os_error() == Some(Errno::NOSPC.raw_os_error()) {
            return StoreError::DiskFull;
        }
        StoreError::Io {
            op,
            source: Rc::new(source),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Io { op, source } => write!(f, "storage I/O failed while {op}: {source}"),
            StoreError::DiskFull => write!(f, "disk full: appends refused, reads still served"),
            StoreError::Busy => write!(f, "log buffer full: the disk is behind the appenders"),
            StoreError::Failed => write!(f, "store failed after an I/O error; restart to recover"),
            StoreError::RecordTooLarge { size, max } => {
                write!(
                    f,
                    "{size} bytes of records in one append exceed the maximum of {max}"
                )
            }
            StoreError::OutOfRange { offset, size } => {
                write!(f, "no stored bytes at offset {offset} (+{size})")
            }
            StoreError::Corrupt { what, detail } => write!(f, "corrupt {what}: {detail}"),
            StoreError::CopiesOnly => {
                write!(
                    f,
                    "this store copies its master's log and takes no other record"
                )
            }
            StoreError::NotContiguous { offset, end } => write!(
                f,
                "copied records start at offset {offset}, but the log ends at {end}"
            ),
        }
    }
}

impl std::error::Error for StoreError {}

/// Result of a storage operation.
pub type StoreResult<T> = Result<T, StoreError>;
