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

use super::master::ShardLog;
use super::wire::{self, Header, HEADER_LEN};
use super::{read_exact, within, HaError};
use crate::net::write_all;
use crate::storage::{PhysicalOffset, StoreError};

/// Pause between two attempts to reach the master.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

/// Follows the master's shard until `closing` resolves. `master` gives its HA address at
/// each (re)connection; while it gives none, the slave asks again after a pause.
pub async fn follow(
    ctx: ShardLog,
    master: impl Fn() -> Option<SocketAddr>,
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
                            tracing::warn!(shard, %master, end, %error, "not following the master");
                            last_failure = failure;
                        } else {
                            tracing::debug!(shard, %master, end, %error, "not following the master");
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

/// Copies from `master` until the connection fails; sets `connected` once the master has
/// answered.
async fn copy_from(
    ctx: &ShardLog,
    master: SocketAddr,
    connected: &std::cell::Cell<bool>,
) -> Result<(), HaError> {
    let config = &ctx.config;
    let patience = config.ha_housekeeping_interval;
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
