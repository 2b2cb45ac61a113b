//! A slave keeps its master's metadata and offsets in step, as Java's `SlaveSynchronize`
//! does (docs/replication.md "What else the slave copies"): once its registrations have
//! named the master, and then every [`SYNC_PERIOD`], each slave shard asks its master's
//! shard over the remoting protocol and takes what it answers:
//!
//! - shard 0, which owns the process-wide tables: the topic table (GET_ALL_TOPIC_CONFIG of
//!   every master shard, rebuilt with its placement, [`CopiedTopics::from_shards`]) and the
//!   subscription groups (GET_ALL_SUBSCRIPTIONGROUP_CONFIG), each only when the master's
//!   data version differs from the slave's, through the owner's ordinary path (journaled,
//!   published to every shard, registered);
//! - every shard k: master shard k's consumer offsets (GET_ALL_CONSUMER_OFFSET) and delay
//!   cursors (GET_ALL_DELAY_OFFSET), which overwrite its own as Java's do.
//!
//! A round that fails is logged (the first failure at once, then at most every
//! [`FAILURE_LOG_INTERVAL`] with the count of failed rounds) and tried again a period
//! later; nothing of it stops the shard. A master runs none of this.

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::broker::clients::offsets::ConsumerOffsets;
use crate::broker::context::delay_offsets_path;
use crate::broker::metadata::groups::SubscriptionGroupWrapper;
use crate::broker::metadata::owned_table::TABLES_OWNER;
use crate::broker::metadata::topics::{CopiedTopics, ShardTopicConfigs};
use crate::broker::scheduled::schedule;
use crate::broker::BrokerContext;
use crate::client::{ClientOptions, Pool};
use crate::config::ports::SHARD_PORT_STRIDE;
use crate::wire::body::{self, KvTable};
use crate::wire::codes::request_code;
use crate::wire::{ExtFields, RemotingCommand};

/// How often a slave takes its master's tables and offsets: Java 4.x's `SlaveSynchronize`
/// period (5.x stretches it to a minute).
pub const SYNC_PERIOD: Duration = Duration::from_secs(10);

/// How soon a slave whose registrations have not named its master yet looks again.
const MASTER_UNKNOWN_PAUSE: Duration = Duration::from_secs(1);

/// Least time between two log lines about failed rounds, while they keep failing.
pub const FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(300);

/// Synchronizes this slave shard with its master's until `closing` resolves.
pub async fn run(ctx: Rc<BrokerContext>, closing: impl Future<Output = ()>) {
    let mut closing = pin!(closing);
    let pool = Pool::new(ClientOptions::signed_by(ctx.config().acl.credentials()));
    let mut failures = Failures::default();
    let shard = ctx.shard.id().index();
    loop {
        let pause = match ctx.master.addr() {
            None => MASTER_UNKNOWN_PAUSE,
            Some(master) => {
                let round = async { Some(round(&ctx, &pool, master).await) };
                let stop = async {
                    closing.as_mut().await;
                    None
                };
                match futures_lite::future::or(round, stop).await {
                    None => return,
                    Some(Ok(())) => failures.succeeded(shard, master),
                    Some(Err(error)) => failures.failed(shard, master, &error),
                }
                SYNC_PERIOD
            }
        };
        let wait = async {
            glommio::timer::sleep(pause).await;
            true
        };
        let stop = async {
            closing.as_mut().await;
            false
        };
        if !futures_lite::future::or(stop, wait).await {
            return;
        }
    }
}

/// One round against `master` (this shard's master's main address): each part is tried
/// whatever became of the others, as Java's are; the errors are joined.
async fn round(ctx: &BrokerContext, pool: &Pool, master: SocketAddr) -> Result<(), String> {
    let mut errors = Vec::new();
    if ctx.shard.id().index() == TABLES_OWNER {
        if let Err(error) = sync_topics(ctx, pool, master).await {
            errors.push(format!("topics: {error}"));
        }
        if let Err(error) = sync_groups(ctx, pool, master).await {
            errors.push(format!("subscription groups: {error}"));
        }
    }
    if let Err(error) = sync_consumer_offsets(ctx, pool, master).await {
        errors.push(format!("consumer offsets: {error}"));
    }
    if let Err(error) = sync_delay_offsets(ctx, pool, master).await {
        errors.push(format!("delay offsets: {error}"));
    }
    match errors.is_empty() {
        true => Ok(()),
        false => Err(errors.join("; ")),
    }
}

/// The topic table, when the master's version differs from this one's: GET_ALL_TOPIC_CONFIG
/// of every master shard, whose shares add up to the table and whose `shardOfFirstQueue`
/// gives its placement (docs/protocol.md §2.8.2).
async fn sync_topics(ctx: &BrokerContext, pool: &Pool, master: SocketAddr) -> Result<(), String> {
    let shards = ctx.shard.count();
    let first: ShardTopicConfigs = ask(pool, master, request_code::GET_ALL_TOPIC_CONFIG).await?;
    if first.data_version == ctx.topics.table().data_version {
        return Ok(());
    }
    // Shares read with another shard count would place queues on shards that are not the
    // ones the log copies follow.
    let info: KvTable = ask(pool, master, request_code::GET_BROKER_RUNTIME_INFO).await?;
    let theirs = info
        .table
        .get("shards")
        .and_then(|n| n.parse::<usize>().ok());
    if theirs != Some(shards) {
        return Err(format!(
            "the master runs {} shards and this slave {shards}: a slave needs its master's \
             shard count",
            theirs.map_or_else(|| "an unknown number of".to_owned(), |n| n.to_string())
        ));
    }
    let mut answers = vec![first];
    for shard in 1..shards {
        let addr = shard_addr(master, shard)?;
        answers.push(ask(pool, addr, request_code::GET_ALL_TOPIC_CONFIG).await?);
    }
    let own: BTreeSet<String> = (0..shards)
        .map(|shard| ctx.config().shard_broker_name(shard))
        .collect();
    let copied = CopiedTopics::from_shards(&answers, &own)?;
    let (count, version) = (copied.topics.len(), copied.data_version.counter);
    ctx.topics
        .adopt(copied)
        .await
        .map_err(|error| error.to_string())?;
    tracing::info!(%master, topics = count, version, "took the master's topic table");
    Ok(())
}

/// The subscription-group table, when the master's version differs from this one's.
async fn sync_groups(ctx: &BrokerContext, pool: &Pool, master: SocketAddr) -> Result<(), String> {
    let code = request_code::GET_ALL_SUBSCRIPTIONGROUP_CONFIG;
    let wrapper: SubscriptionGroupWrapper = ask(pool, master, code).await?;
    if wrapper.data_version == ctx.groups.table().data_version {
        return Ok(());
    }
    let (count, version) = (
        wrapper.subscription_group_table.len(),
        wrapper.data_version.counter,
    );
    ctx.groups
        .adopt(wrapper)
        .await
        .map_err(|error| error.to_string())?;
    tracing::info!(%master, groups = count, version, "took the master's subscription groups");
    Ok(())
}

/// Master shard k's consumer offsets over this shard's; written by the shard's ordinary
/// offset persistence.
async fn sync_consumer_offsets(
    ctx: &BrokerContext,
    pool: &Pool,
    master: SocketAddr,
) -> Result<(), String> {
    let body = ask_body(pool, master, request_code::GET_ALL_CONSUMER_OFFSET).await?;
    let theirs = ConsumerOffsets::decode(&body)?;
    ctx.offsets
        .take_masters(&theirs)
        .map_err(|error| error.to_string())?;
    Ok(())
}

/// Master shard k's delay cursors over this shard's, written at once (a slave's delay
/// service does not run, so nothing else writes them).
async fn sync_delay_offsets(
    ctx: &BrokerContext,
    pool: &Pool,
    master: SocketAddr,
) -> Result<(), String> {
    let body = ask_body(pool, master, request_code::GET_ALL_DELAY_OFFSET).await?;
    let theirs = schedule::decode(&body)?;
    if ctx.schedule.take_masters(&theirs) {
        let path = delay_offsets_path(&ctx.config(), ctx.shard.id().index());
        ctx.schedule.persist(&path).await?;
    }
    Ok(())
}

/// Master shard `shard`'s main address, `shard` port strides past shard 0's.
fn shard_addr(master: SocketAddr, shard: usize) -> Result<SocketAddr, String> {
    u16::try_from(shard)
        .ok()
        .and_then(|shard| shard.checked_mul(SHARD_PORT_STRIDE))
        .and_then(|stride| master.port().checked_add(stride))
        .map(|port| SocketAddr::new(master.ip(), port))
        .ok_or_else(|| format!("master shard {shard} has no port past {master}"))
}

/// The JSON body of `code`'s answer from `addr`.
async fn ask<T: DeserializeOwned>(pool: &Pool, addr: SocketAddr, code: i32) -> Result<T, String> {
    let body = ask_body(pool, addr, code).await?;
    body::decode(&body, "answer body").map_err(|error| format!("{addr}: {error}"))
}

/// The body of `code`'s answer from `addr`, a request without fields.
async fn ask_body(pool: &Pool, addr: SocketAddr, code: i32) -> Result<Bytes, String> {
    let request = RemotingCommand::request(code, ExtFields::new(), Bytes::new());
    match pool.request_ok(addr, request).await {
        Ok(answer) => Ok(answer.body),
        Err(error) => Err(format!("request {code} to {addr}: {error}")),
    }
}

/// Failed rounds, so that a master down for hours costs a line every few minutes, not one
/// per round.
#[derive(Debug, Default)]
struct Failures {
    /// Rounds failed in a row.
    failed: u64,
    /// When the last line about them was logged.
    logged: Option<Instant>,
}

impl Failures {
    fn failed(&mut self, shard: usize, master: SocketAddr, error: &str) {
        self.failed += 1;
        let due = self
            .logged
            .map_or(true, |at| at.elapsed() >= FAILURE_LOG_INTERVAL);
        if due {
            tracing::warn!(
                shard, %master, failed_rounds = self.failed, error,
                "slave synchronization failed; the next round retries"
            );
            self.logged = Some(Instant::now());
        }
    }

    fn succeeded(&mut self, shard: usize, master: SocketAddr) {
        if self.failed > 0 {
            tracing::info!(
                shard, %master, failed_rounds = self.failed,
                "slave synchronization works again"
            );
        }
        *self = Failures::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_shards_are_a_port_stride_apart() {
        let master: SocketAddr = "10.0.0.1:10911".parse().expect("addr");
        assert_eq!(shard_addr(master, 0), Ok(master));
        let third = shard_addr(master, 2).expect("in range");
        assert_eq!(third, "10.0.0.1:10919".parse().expect("addr"));
        assert!(shard_addr("10.0.0.1:65530".parse().expect("addr"), 2).is_err());
    }
}
