//! The slave's side of replication: shard k connects to its master's shard k, reports where
//! its log ends, appends every transfer exactly there (a transfer for any other offset
//! means the logs diverge: the connection ends and nothing is written), and reports again.
//! After any failure it waits a moment and reconnects, resuming from its own end, so either
//! side may restart at any time. The master's address is asked for at every connection
//! (`haMasterAddress`, or what the NameServers named, docs/replication.md), so a slave
//! follows a master that moved, and waits while none is known.

use std::cell::RefCell;
use std::future::Future;
use std::net::SocketAddr;
use std::ops::Range;
use std::pin::pin;
use std::time::Duration;

use bytes::Bytes;
use glommio::net::TcpStream;

use super::master::ShardLog;
use super::wire::{self, Header, HEADER_LEN};
use super::{read_some, within, HaError};
use crate::client::{self, ClientError, ClientOptions, Connection};
use crate::net::write_all;
use crate::storage::{PhysicalOffset, StoreError};
use crate::wire::body::{self, KvTable};
use crate::wire::codes::request_code;
use crate::wire::{ExtFields, RemotingCommand};

/// Pause between two attempts to reach the master.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);
/// Pause between two looks for the master's name, which the shard's registrations learn
/// (the first one a moment after start-up): a look costs nothing.
const NAMING_PAUSE: Duration = Duration::from_millis(50);

/// Where this slave shard's master shard listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MasterAddrs {
    /// Its HA port, which the log is copied from.
    pub ha: SocketAddr,
    /// Its main port, which answers GET_BROKER_RUNTIME_INFO with its shard count; unknown
    /// to a slave that has no NameServer to name it (then the count is not checked).
    pub main: Option<SocketAddr>,
}

/// Follows the master's shard until `closing` resolves. `master` gives its addresses at
/// each (re)connection; while it gives none, the slave asks again after a pause.
pub async fn follow(
    ctx: ShardLog,
    master: impl Fn() -> Option<MasterAddrs>,
    closing: impl Future<Output = ()>,
) {
    let mut closing = pin!(closing);
    let shard = ctx.shard;
    // A master that stays away (or keeps refusing) is logged once per kind of failure.
    let mut last_failure = String::new();
    let mut waiting = false;
    loop {
        let pause = match master() {
            None if !waiting => {
                tracing::info!(shard, "waiting for a NameServer to name the master");
                waiting = true;
                NAMING_PAUSE
            }
            None => NAMING_PAUSE,
            Some(master) => {
                waiting = false;
                let connected = std::cell::Cell::new(false);
                let copying = async { Some(copy_from(&ctx, master, &connected).await) };
                let stop = async {
                    closing.as_mut().await;
                    None
                };
                match futures_lite::future::or(copying, stop).await {
                    None => return,
                    Some(Ok(())) => {}
                    Some(Err(error)) => {
                        let end = ctx.store.log().end().0;
                        let failure = error.to_string();
                        if connected.get() || failure != last_failure {
                            tracing::warn!(shard, master = %master.ha, end, %error, "not following the master");
                            last_failure = failure;
                        } else {
                            tracing::debug!(shard, master = %master.ha, end, %error, "not following the master");
                        }
                    }
                }
                RECONNECT_PAUSE
            }
        };
        let pause = async {
            glommio::timer::sleep(pause).await;
            true
        };
        let stop = async {
            closing.as_mut().await;
            false
        };
        if !futures_lite::future::or(pause, stop).await {
            return;
        }
    }
}

/// Checks that the master at `main` runs as many shards as this slave: shard k of each
/// copies the other's shard k, and the queues of a topic are placed by the shard count, so
/// copies of a master with another count would hold the queues in other places. A master
/// that does not say (a Java broker) is one shard.
async fn check_shards(ctx: &ShardLog, main: SocketAddr) -> Result<(), HaError> {
    let patience = ctx.config.ha_housekeeping_interval;
    let unreachable = |error: ClientError| {
        let why = format!("asking the master at {main} for its shard count: {error}");
        HaError::Io(std::io::Error::other(why))
    };
    let options = ClientOptions {
        connect_timeout: patience,
        ..ClientOptions::signed_by(ctx.config.acl.credentials())
    };
    let conn = Connection::connect_with(main, &options)
        .await
        .map_err(unreachable)?;
    let request = RemotingCommand::request(
        request_code::GET_BROKER_RUNTIME_INFO,
        ExtFields::new(),
        Bytes::new(),
    );
    let answer = conn.request(request, patience).await;
    conn.close();
    let answer = client::success(answer.map_err(unreachable)?).map_err(unreachable)?;
    let info: KvTable = body::decode(&answer.body, "runtime info")
        .map_err(|error| HaError::Protocol(format!("{main}: {error}")))?;
    let theirs = match info.table.get("shards") {
        None => 1,
        Some(n) => n
            .parse::<usize>()
            .map_err(|_| HaError::Protocol(format!("{main} names its shard count {n:?}")))?,
    };
    if theirs != ctx.shards {
        return Err(HaError::Unfit(format!(
            "the master at {main} runs {theirs} shard(s) and this slave {}: a slave needs \
             its master's shard count (start it with --shards {theirs}); not copying",
            ctx.shards
        )));
    }
    Ok(())
}

/// Copies from `master` until the connection fails; sets `connected` once the master has
/// answered.
async fn copy_from(
    ctx: &ShardLog,
    master: MasterAddrs,
    connected: &std::cell::Cell<bool>,
) -> Result<(), HaError> {
    let config = &ctx.config;
    let patience = config.ha_housekeeping_interval;
    if let Some(main) = master.main {
        check_shards(ctx, main).await?;
    }
    let master = master.ha;
    let connect = async {
        let stream = TcpStream::connect_timeout(master, patience).await;
        stream.map_err(|error| HaError::Io(error.into()))
    };
    let stream = within(patience, connect).await?;
    stream
        .set_nodelay(true)
        .map_err(|error| HaError::Io(error.into()))?;
    let stream = RefCell::new(stream);
    let log = ctx.store.log();
    write_all(&stream, &wire::report(log.end().0)).await?;
    tracing::info!(shard = ctx.shard, %master, from = log.end().0, "following the master");
    // A transfer never crosses a segment end; one record may exceed the batch size.
    let size_max = config
        .ha_transfer_batch_size
        .max(config.mapped_file_size_commit_log as usize);
    let mut inbox = Inbox::default();
    loop {
        inbox.fill(&stream, patience).await?;
        let reported = log.end().0;
        while let Some((header, records)) = inbox.next(size_max)? {
            // The master accepted this slave: a later failure is news again.
            connected.set(true);
            let mut end = log.end().0;
            if header.offset != end && end == 0 {
                // An empty slave of a master whose oldest segments are gone: the copy
                // begins at the master's oldest record.
                ctx.store
                    .start_log_at(PhysicalOffset(header.offset))
                    .await?;
                tracing::info!(
                    shard = ctx.shard,
                    from = header.offset,
                    "the copy begins at the master's oldest record"
                );
                end = header.offset;
            }
            if header.offset != end {
                return Err(HaError::Diverged {
                    offset: header.offset,
                    end,
                });
            }
            let records = &inbox.buf[records];
            if records.is_empty() {
                // A heartbeat: the master waits for a report.
                write_all(&stream, &wire::report(end)).await?;
                continue;
            }
            loop {
                match ctx.store.put_copied(PhysicalOffset(header.offset), records) {
                    Err(StoreError::Busy) => log.copied_writable(records).await?,
                    other => break drop(other?),
                }
            }
        }
        if log.end().0 != reported {
            write_all(&stream, &wire::report(log.end().0)).await?;
        }
    }
}

/// Bytes read at least at once from the master, when a transfer needs no more.
const INBOX_READ: usize = 1 << 20;

/// The master's transfers as they arrive: each socket read takes whatever the master has
/// sent, many transfers at Java's 32 KiB, and the slave reports once per read rather than
/// once per transfer (as Java's slave does), so a slave far behind is not held to a round
/// trip per transfer.
#[derive(Default)]
struct Inbox {
    buf: Vec<u8>,
    /// The unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    /// Bytes the transfer under way needs in all, once its header is read and checked.
    wanted: usize,
}

impl Inbox {
    /// The next whole transfer read, with where its bytes lie in `buf`.
    fn next(&mut self, size_max: usize) -> Result<Option<(Header, Range<usize>)>, HaError> {
        let unread = &self.buf[self.start..self.end];
        let Some(head) = unread.get(..HEADER_LEN) else {
            return Ok(None);
        };
        let head: [u8; HEADER_LEN] = head.try_into().expect("a header's length");
        let header = Header::parse(head, size_max).map_err(HaError::Protocol)?;
        let at = self.start + HEADER_LEN;
        if self.end - at < header.size {
            self.wanted = HEADER_LEN + header.size;
            return Ok(None);
        }
        self.start = at + header.size;
        self.wanted = 0;
        Ok(Some((header, at..at + header.size)))
    }

    /// Reads what the master has sent (at least a byte), first making room for the whole
    /// transfer under way.
    async fn fill(
        &mut self,
        stream: &RefCell<TcpStream>,
        patience: Duration,
    ) -> Result<(), HaError> {
        let unread = self.end - self.start;
        let room = self.wanted.max(unread + INBOX_READ);
        if self.buf.len() - self.start < room {
            // Move the unread bytes to the front, and grow for a transfer larger than all.
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, unread);
            if self.buf.len() < room {
                self.buf.resize(room, 0);
            }
        }
        let read = read_some(stream, &mut self.buf[self.end..], patience).await?;
        self.end += read;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(offset: u64, body: &[u8]) -> Vec<u8> {
        let header = Header {
            offset,
            size: body.len(),
        };
        [&header.encode()[..], body].concat()
    }

    #[test]
    fn the_inbox_yields_whole_transfers_and_waits_for_the_rest() {
        let mut bytes = framed(100, b"first");
        bytes.extend(framed(105, b""));
        let second = framed(105, b"second, in two reads");
        bytes.extend(&second[..HEADER_LEN + 3]);
        let mut inbox = Inbox {
            end: bytes.len(),
            buf: bytes,
            ..Inbox::default()
        };
        let (header, at) = inbox.next(64).expect("sound").expect("whole");
        assert_eq!((header.offset, &inbox.buf[at]), (100, &b"first"[..]));
        let (header, at) = inbox.next(64).expect("sound").expect("whole");
        assert_eq!((header.offset, at.len()), (105, 0), "a heartbeat");
        assert!(inbox.next(64).expect("sound").is_none(), "a part only");
        assert_eq!(
            inbox.wanted,
            second.len(),
            "room asked for the whole transfer"
        );
        inbox.buf.extend(&second[HEADER_LEN + 3..]);
        inbox.end = inbox.buf.len();
        let (header, at) = inbox.next(64).expect("sound").expect("whole");
        assert_eq!(
            (header.offset, &inbox.buf[at]),
            (105, &b"second, in two reads"[..])
        );
        assert!(inbox.next(64).expect("sound").is_none());

        // A transfer larger than a master sends is refused before anything is read for it.
        let mut inbox = Inbox {
            buf: framed(0, &[7; 65]),
            ..Inbox::default()
        };
        inbox.end = inbox.buf.len();
        assert!(inbox.next(64).is_err());
    }
}
