//! The master's side of replication: shard k listens on its HA port and feeds every slave
//! that connects from the offset the slave reports, as transfers of whole records read
//! through the log's read path (the tail from memory, older records from disk). An idle
//! connection gets a heartbeat every `haSendHeartbeatInterval`; the slave's reports tell
//! how far it has stored.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;

use glommio::net::{TcpListener, TcpStream};

use super::wire::{self, Header, HEADER_LEN, REPORT_LEN};
use super::{read_exact, HaError};
use crate::config::BrokerConfig;
use crate::net::{write_all, write_parts, AcceptFailures, Latch};
use crate::storage::record;
use crate::storage::replicas::Replicas;
use crate::storage::store::Store;
use crate::storage::PhysicalOffset;

/// What one shard's side of replication works with.
#[derive(Debug, Clone)]
pub struct ShardLog {
    pub shard: usize,
    /// Shards of this process: a slave's must be its master's.
    pub shards: usize,
    pub store: Rc<Store>,
    pub config: Rc<BrokerConfig>,
}

/// Bytes of the log read at once for a slave: one disk read of the size fio needs to keep
/// the disk busy, when the records are no longer in memory.
const READ_SIZE: usize = 1 << 20;

/// Accepts slaves on `listener` until `closing` resolves; each is fed by its own task,
/// which ends with the connection or at `closing`.
pub async fn serve(ctx: ShardLog, listener: TcpListener, closing: impl Future<Output = ()>) {
    let stopping = Rc::new(Latch::default());
    let accept = async {
        let mut failures = AcceptFailures::default();
        loop {
            match listener.accept().await {
                Ok(stream) => {
                    let (ctx, stopping) = (ctx.clone(), stopping.clone());
                    glommio::spawn_local(async move {
                        let fed = feed_slave(&ctx, stream);
                        futures_lite::future::or(fed, stopping.wait()).await;
                    })
                    .detach();
                }
                Err(error) => failures.failed(&error, "HA accept failed").await,
            }
        }
    };
    futures_lite::future::or(accept, closing).await;
    stopping.set();
}

/// Feeds one slave until its connection fails; logs why it ended.
async fn feed_slave(ctx: &ShardLog, stream: TcpStream) {
    let peer = stream.peer_addr().ok();
    let stream = RefCell::new(stream);
    let acked = Cell::new(0);
    let ended = feed(ctx, &stream, &acked, peer).await;
    let shard = ctx.shard;
    match ended {
        Err(error @ (HaError::Io(_) | HaError::Closed)) => {
            tracing::info!(shard, ?peer, acked = acked.get(), %error, "slave disconnected");
        }
        Err(error) => tracing::warn!(shard, ?peer, acked = acked.get(), %error, "slave dropped"),
        Ok(()) => {}
    }
}

async fn feed(
    ctx: &ShardLog,
    stream: &RefCell<TcpStream>,
    acked: &Cell<u64>,
    peer: Option<SocketAddr>,
) -> Result<(), HaError> {
    let patience = ctx.config.ha_housekeeping_interval;
    let mut report = [0; REPORT_LEN];
    read_exact(stream, &mut report, patience).await?;
    let from = wire::parse_report(report).map_err(HaError::Protocol)?;
    let log = ctx.store.log();
    let (oldest, end) = (log.min_offset().0, log.end().0);
    // A slave with an empty log copies what this master keeps, from its oldest record.
    let from = if from == 0 { oldest } else { from };
    if from > end || from < oldest {
        // One heartbeat for where this log goes on tells the slave why, in its own log.
        let goes_on = if from > end { end } else { oldest };
        let header = Header {
            offset: goes_on,
            size: 0,
        };
        write_all(stream, &header.encode()).await?;
        let why = match from > end {
            true => format!(
                "its log ends at {from}, past this master's end {end}: it holds records this \
                 master does not; it is left as it is"
            ),
            false => format!(
                "its log ends at {from}, before the oldest record this master keeps ({oldest}): \
                 it fell behind retention; a slave on an empty store copies from {oldest}"
            ),
        };
        return Err(HaError::Protocol(why));
    }
    acked.set(from);
    tracing::info!(shard = ctx.shard, ?peer, from, "slave connected");
    let replicas = ctx.store.replicas();
    replicas.connected(from);
    // Counted out however the feed ends, the task's cancellation at shutdown included.
    let _connected = Disconnect(replicas);
    let reports = async {
        loop {
            read_exact(stream, &mut report, patience).await?;
            let end = wire::parse_report(report).map_err(HaError::Protocol)?;
            if end > log.end().0 {
                // A SYNC_MASTER send would take it for a copy it has not got.
                let why = format!("a slave reported {end}, past this master's end");
                return Err(HaError::Protocol(why));
            }
            acked.set(end);
            replicas.acked(end);
        }
    };
    let transfers = async {
        let (batch, heartbeat) = (
            ctx.config.ha_transfer_batch_size,
            ctx.config.ha_send_heartbeat_interval,
        );
        // Read in large pieces, so that a slave far behind is fed at the disk's pace, and
        // send them as transfers of at most `haTransferBatchSize`, the next piece read
        // while this one is sent.
        let size = batch.max(READ_SIZE);
        let mut next = PhysicalOffset(from);
        let mut copied = log.read_copy(next, size).await?;
        let mut headers = Vec::new();
        loop {
            if copied.bytes.is_empty() {
                let grew = async {
                    log.wait_end_past(next).await;
                    true
                };
                let beat = async {
                    glommio::timer::sleep(heartbeat).await;
                    false
                };
                if !futures_lite::future::or(grew, beat).await {
                    let header = Header {
                        offset: next.0,
                        size: 0,
                    };
                    write_all(stream, &header.encode()).await?;
                }
                copied = log.read_copy(next, size).await?;
                continue;
            }
            let send = send_pieces(stream, &mut headers, next.0, &copied.bytes, batch);
            let ahead = log.read_copy(copied.next, size);
            let (sent, ahead) = futures_lite::future::zip(send, ahead).await;
            sent?;
            next = copied.next;
            copied = ahead?;
        }
    };
    futures_lite::future::or(reports, transfers).await
}

/// Sends `bytes`, whole records starting at `offset`, as transfers of at most `batch`
/// bytes (a larger record alone), their headers and the log's bytes written together with one
/// vectored write: one socket write per read of the log rather than two per transfer, which
/// at Java's 32 KiB transfers kept a catching-up slave waiting on the master's writes, and no
/// copy of the records (`headers` keeps the encoded headers).
async fn send_pieces(
    stream: &RefCell<TcpStream>,
    headers: &mut Vec<[u8; HEADER_LEN]>,
    mut offset: u64,
    bytes: &[u8],
    batch: usize,
) -> Result<(), HaError> {
    let pieces = record::pieces(bytes, batch);
    headers.clear();
    for piece in &pieces {
        let header = Header {
            offset,
            size: piece.len(),
        };
        headers.push(header.encode());
        offset += piece.len() as u64;
    }
    let mut parts = Vec::with_capacity(2 * pieces.len());
    for (header, piece) in headers.iter().zip(pieces) {
        parts.push(&header[..]);
        parts.push(piece);
    }
    write_parts(stream, &parts).await?;
    Ok(())
}

/// Counts a slave out of [`Replicas`] when its feed ends.
struct Disconnect<'a>(&'a Replicas);

impl Drop for Disconnect<'_> {
    fn drop(&mut self) {
        self.0.disconnected();
    }
}
