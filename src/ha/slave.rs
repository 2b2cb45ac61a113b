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
use std::pin::pin;
use std::time::Duration;

use glommio::net::TcpStream;

use bytes::Bytes;

use super::master::ShardLog;
use super::wire::{self, Header, HEADER_LEN};
use super::{read_exact, within, HaError};
use crate::client::{self, ClientError, Connection};
use crate::net::write_all;
use crate::storage::{PhysicalOffset, StoreError};
use crate::wire::body::{self, KvTable};
use crate::wire::codes::request_code;
use crate::wire::{ExtFields, RemotingCommand};

/// Pause between two attempts to reach the master.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

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
        match master() {
            None if !waiting => {
                tracing::info!(shard, "waiting for a NameServer to name the master");
                waiting = true;
            }
            None => {}
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
            }
        }
        let pause = async {
            glommio::timer::sleep(RECONNECT_PAUSE).await;
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
    let conn = Connection::connect(main, patience)
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
    let mut head = [0; HEADER_LEN];
    loop {
        read_exact(&stream, &mut head, patience).await?;
        let header = Header::parse(head, size_max).map_err(HaError::Protocol)?;
        // The master accepted this slave: a later failure is news again.
        connected.set(true);
        let mut end = log.end().0;
        if header.offset != end && end == 0 {
            // An empty slave of a master whose oldest segments are gone: the copy begins
            // at the master's oldest record.
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
        if header.size > 0 {
            let mut records = vec![0; header.size];
            read_exact(&stream, &mut records, patience).await?;
            loop {
                match ctx
                    .store
                    .put_copied(PhysicalOffset(header.offset), &records)
                {
                    Err(StoreError::Busy) => log.copied_writable(&records).await?,
                    other => break drop(other?),
                }
            }
        }
        write_all(&stream, &wire::report(log.end().0)).await?;
    }
}
