//! Master/slave replication of each shard's CommitLog (docs/replication.md), in RocketMQ's
//! classic HA protocol: shard k of a slave process follows shard k of its master, copying
//! the master's log byte for byte at the same offsets; reput then builds the slave's
//! ConsumeQueues and index from the copy as it builds any.
//!
//! - [`wire`]: the two frames (the slave's offset report, the master's transfer header).
//! - [`master`]: the master's HA port: one connection per slave, fed from the log's read
//!   path (the tail from memory, older records from disk), never blocking the shard.
//! - [`slave`]: the slave's side: connect, report, append each transfer where the log ends,
//!   report again; reconnect after any failure, resuming from its own end.

pub mod master;
pub mod slave;
pub mod wire;

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Duration;

use futures_lite::AsyncRead;
use glommio::net::TcpStream;

use crate::storage::StoreError;

/// Why an HA connection ended.
#[derive(Debug)]
pub enum HaError {
    Io(io::Error),
    /// The peer closed the connection.
    Closed,
    /// The peer said nothing for the housekeeping interval.
    Silent(Duration),
    /// A frame that cannot be right: the connection is closed.
    Protocol(String),
    /// The master is not one this slave can copy (another shard count).
    Unfit(String),
    /// The two logs do not line up: the master sent records for `offset`, the slave's log
    /// ends at `end` (or the slave asked for an offset the master does not hold).
    Diverged {
        offset: u64,
        end: u64,
    },
    Store(StoreError),
}

impl std::fmt::Display for HaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HaError::Io(err) => write!(f, "{err}"),
            HaError::Closed => f.write_str("the peer closed the connection"),
            HaError::Silent(after) => write!(f, "nothing heard for {} ms", after.as_millis()),
            HaError::Protocol(why) => write!(f, "protocol error: {why}"),
            HaError::Unfit(why) => f.write_str(why),
            HaError::Diverged { offset, end } if offset > end => write!(
                f,
                "the master's log goes on at {offset}, past this slave's end {end}: the slave \
                 fell behind the master's retention (a slave on an empty store copies what \
                 the master keeps)"
            ),
            HaError::Diverged { offset, end } => write!(
                f,
                "the master's log goes on at {offset}, before this slave's end {end}: the \
                 slave holds records the master does not, and they are left as they are"
            ),
            HaError::Store(err) => write!(f, "{err}"),
        }
    }
}

impl From<io::Error> for HaError {
    fn from(err: io::Error) -> Self {
        HaError::Io(err)
    }
}

impl From<StoreError> for HaError {
    fn from(err: StoreError) -> Self {
        HaError::Store(err)
    }
}

/// Fills `buf` from `stream`, failing with [`HaError::Silent`] when nothing completes it
/// within `patience`. The stream is borrowed only while a read is polled, so another task
/// may write to it meanwhile.
async fn read_exact(
    stream: &RefCell<TcpStream>,
    buf: &mut [u8],
    patience: Duration,
) -> Result<(), HaError> {
    let read = async {
        let mut at = 0;
        while at < buf.len() {
            let n = std::future::poll_fn(|cx| {
                Pin::new(&mut *stream.borrow_mut()).poll_read(cx, &mut buf[at..])
            })
            .await?;
            if n == 0 {
                return Err(HaError::Closed);
            }
            at += n;
        }
        Ok(())
    };
    within(patience, read).await
}

/// Reads what `stream` has into `buf` (at least a byte), failing with [`HaError::Silent`]
/// when nothing comes within `patience` and [`HaError::Closed`] at its end.
async fn read_some(
    stream: &RefCell<TcpStream>,
    buf: &mut [u8],
    patience: Duration,
) -> Result<usize, HaError> {
    let read = async {
        let n = std::future::poll_fn(|cx| Pin::new(&mut *stream.borrow_mut()).poll_read(cx, buf))
            .await?;
        match n {
            0 => Err(HaError::Closed),
            n => Ok(n),
        }
    };
    within(patience, read).await
}

/// `work`, or [`HaError::Silent`] after `patience`.
async fn within<T>(
    patience: Duration,
    work: impl Future<Output = Result<T, HaError>>,
) -> Result<T, HaError> {
    let late = async {
        glommio::timer::sleep(patience).await;
        Err(HaError::Silent(patience))
    };
    futures_lite::future::or(work, late).await
}
