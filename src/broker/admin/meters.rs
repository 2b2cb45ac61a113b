//! What the Prometheus endpoint exports (docs/operations.md, "Metrics"), counted per shard.
//!
//! The data path adds to [`Meters`] where it already counts traffic: a send per stored
//! message (its topic and type, its size), a pull per answer (its topic and group), the
//! dispatcher per request (its code, its answer's code, how long it took), a handed-back
//! message per dead letter. Each is a `RefCell` map found by `&str` keys, allocating only
//! for a series seen the first time; a histogram is a fixed row of bucket counters, the
//! buckets RocketMQ 5's broker exports, so what is exported is exact and merging shards is
//! adding rows.
//!
//! A scrape asks every shard over the mesh for a [`ShardMetrics`]: a copy of its counters
//! and the gauges read at that moment (tables, connections, storage, consumer lag).

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use crate::broker::clients::registry::ConnectionCounts;
use crate::broker::BrokerContext;
use crate::storage::{QueueId, QueueOffset};

/// RocketMQ 5's `rocketmq_message_size` buckets, bytes.
pub const MESSAGE_SIZE_BUCKETS: [f64; 6] = [
    1024.0,
    4096.0,
    524_288.0,
    1_048_576.0,
    2_097_152.0,
    4_194_304.0,
];

/// RocketMQ 5's `rocketmq_rpc_latency` buckets, milliseconds.
pub const RPC_LATENCY_BUCKETS: [f64; 9] = [1.0, 3.0, 5.0, 7.0, 10.0, 100.0, 1000.0, 2000.0, 3000.0];

/// RocketMQ 5's `rocketmq_finish_message_latency` buckets: seconds (5 s, 1 min, 10 min, 1 h,
/// 12 h, 1 d), under a name that says milliseconds, as Java exports them.
pub const FINISH_LATENCY_BUCKETS: [f64; 6] = [5.0, 60.0, 600.0, 3600.0, 43_200.0, 86_400.0];

/// Counts of values at most each bound, and of all values with their sum.
#[derive(Debug, Clone, PartialEq)]
pub struct Buckets<const N: usize> {
    /// Values at most bound `i` and above bound `i - 1` (not cumulative).
    pub counts: [u64; N],
    pub count: u64,
    pub sum: f64,
}

impl<const N: usize> Default for Buckets<N> {
    fn default() -> Self {
        Buckets {
            counts: [0; N],
            count: 0,
            sum: 0.0,
        }
    }
}

impl<const N: usize> Buckets<N> {
    fn record(&mut self, bounds: &[f64; N], value: f64) {
        if let Some(i) = bounds.iter().position(|&bound| value <= bound) {
            self.counts[i] += 1;
        }
        self.count += 1;
        self.sum += value;
    }

    /// `(bound, values in the bucket)` for each bound and then `+Inf` (not cumulative: the
    /// exposition encoder sums them into the `le` buckets).
    pub fn rows(&self, bounds: &[f64; N]) -> Vec<(f64, u64)> {
        let mut rows: Vec<(f64, u64)> = bounds.iter().copied().zip(self.counts).collect();
        let bounded: u64 = self.counts.iter().sum();
        rows.push((f64::INFINITY, self.count - bounded));
        rows
    }
}

/// RocketMQ 5's `message_type` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageType {
    Normal,
    Fifo,
    Delay,
    Transaction,
}

impl MessageType {
    /// Every type, in the order of their discriminants.
    pub const ALL: [MessageType; 4] = [
        MessageType::Normal,
        MessageType::Fifo,
        MessageType::Delay,
        MessageType::Transaction,
    ];

    pub fn label(self) -> &'static str {
        match self {
            MessageType::Normal => "normal",
            MessageType::Fifo => "fifo",
            MessageType::Delay => "delay",
            MessageType::Transaction => "transaction",
        }
    }
}

/// Messages stored in one topic with one type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InCounts {
    pub messages: u64,
    pub bytes: u64,
    pub sizes: Buckets<6>,
}

/// Messages one group pulled from one topic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutCounts {
    pub messages: u64,
    pub bytes: u64,
    /// Pull answers that carried them.
    pub pulls: u64,
}

/// Transactions of one topic its producers ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EndedCounts {
    pub commits: u64,
    pub rollbacks: u64,
    /// Seconds from a committed half message's birth to its commit (Java records commits
    /// only).
    pub finish_latency: Buckets<6>,
}

/// Requests answered with one code: `(request code, response code, long polling)`.
pub type RpcKey = (i32, i32, bool);

/// The counters of one shard. The maps the data path updates per message hash with
/// foldhash (seeded per process): SipHash, the standard one, took half of the 76 ns a stored
/// message's counting cost (benches/meters.rs).
#[derive(Debug, Default)]
pub struct Meters {
    messages_in: RefCell<foldhash::HashMap<String, [InCounts; 4]>>,
    messages_out: RefCell<foldhash::HashMap<String, foldhash::HashMap<String, OutCounts>>>,
    rpc: RefCell<foldhash::HashMap<RpcKey, Buckets<9>>>,
    dead_letters: RefCell<HashMap<String, HashMap<String, u64>>>,
    transactions: RefCell<foldhash::HashMap<String, EndedCounts>>,
}

impl Meters {
    /// A message sent was stored in `topic` as a record of `bytes` bytes. Retry and
    /// dead-letter topics are not counted, as in Java.
    pub fn message_in(&self, topic: &str, kind: MessageType, bytes: usize) {
        if is_retry_or_dead_letter(topic) {
            return;
        }
        let mut table = self.messages_in.borrow_mut();
        let counts = match table.get_mut(topic) {
            Some(kinds) => kinds,
            None => table.entry(topic.to_owned()).or_default(),
        };
        let counts = &mut counts[kind as usize];
        counts.messages += 1;
        counts.bytes += bytes as u64;
        counts.sizes.record(&MESSAGE_SIZE_BUCKETS, bytes as f64);
    }

    /// A pull answer carried `messages` messages, `bytes` bytes, of `topic` to `group`.
    pub fn messages_out(&self, topic: &str, group: &str, messages: u64, bytes: u64) {
        if messages == 0 || is_retry_or_dead_letter(topic) {
            return;
        }
        let mut table = self.messages_out.borrow_mut();
        let groups = match table.get_mut(topic) {
            Some(groups) => groups,
            None => table.entry(topic.to_owned()).or_default(),
        };
        let counts = match groups.get_mut(group) {
            Some(counts) => counts,
            None => groups.entry(group.to_owned()).or_default(),
        };
        counts.messages += messages;
        counts.bytes += bytes;
        counts.pulls += 1;
    }

    /// Calls `f` with every topic's messages and bytes in, all types together.
    pub fn each_in(&self, mut f: impl FnMut(&str, u64, u64)) {
        for (topic, kinds) in self.messages_in.borrow().iter() {
            let messages = kinds.iter().map(|c| c.messages).sum();
            f(topic, messages, kinds.iter().map(|c| c.bytes).sum());
        }
    }

    /// Calls `f` with every topic and group's counts out.
    pub fn each_out(&self, mut f: impl FnMut(&str, &str, &OutCounts)) {
        for (topic, groups) in self.messages_out.borrow().iter() {
            for (group, counts) in groups {
                f(topic, group, counts);
            }
        }
    }

    /// A request was answered `took` after it arrived.
    pub fn rpc(&self, key: RpcKey, took: Duration) {
        let ms = took.as_secs_f64() * 1000.0;
        let mut table = self.rpc.borrow_mut();
        table
            .entry(key)
            .or_default()
            .record(&RPC_LATENCY_BUCKETS, ms);
    }

    /// A message `group` handed back went to its dead-letter queue; `topic` is its own.
    pub fn dead_letter(&self, group: &str, topic: &str) {
        let mut table = self.dead_letters.borrow_mut();
        *table
            .entry(group.to_owned())
            .or_default()
            .entry(topic.to_owned())
            .or_default() += 1;
    }
}

impl Meters {
    /// A producer committed (or rolled back) a transaction of `topic` whose half message it
    /// sent at `born_ms`; `now_ms` is now.
    pub fn transaction_ended(&self, topic: &str, committed: bool, born_ms: i64, now_ms: i64) {
        let mut table = self.transactions.borrow_mut();
        let counts = match table.get_mut(topic) {
            Some(counts) => counts,
            None => table.entry(topic.to_owned()).or_default(),
        };
        if committed {
            counts.commits += 1;
            // Whole seconds, as Java records them.
            let seconds = (now_ms - born_ms).max(0) / 1000;
            counts
                .finish_latency
                .record(&FINISH_LATENCY_BUCKETS, seconds as f64);
        } else {
            counts.rollbacks += 1;
        }
    }
}

fn is_retry_or_dead_letter(topic: &str) -> bool {
    topic.starts_with("%RETRY%") || topic.starts_with("%DLQ%")
}

/// A shard's counters and gauges at a scrape; sent over the mesh.
#[derive(Debug, Clone, Default)]
pub struct ShardMetrics {
    /// The shard's broker name: the `node_id` of its series.
    pub broker_name: String,
    pub messages_in: Vec<(String, MessageType, InCounts)>,
    /// `(topic, group, counts)`.
    pub messages_out: Vec<(String, String, OutCounts)>,
    pub rpc: Vec<(RpcKey, Buckets<9>)>,
    /// `(group, topic, messages)`.
    pub dead_letters: Vec<(String, String, u64)>,
    /// Transactions ended, by topic.
    pub transactions: Vec<(String, EndedCounts)>,
    /// Transactions pending (half messages with no end yet), by topic.
    pub half_messages: Vec<(String, u64)>,
    pub topics: usize,
    pub groups: usize,
    pub broker_permission: i32,
    /// Bytes used on the disk of the store (-1: not known).
    pub storage_size: i64,
    pub flush_behind_bytes: u64,
    pub dispatch_behind_bytes: u64,
    /// Age of the oldest message stored, ms; `None` for an empty log.
    pub message_reserve_time_ms: Option<i64>,
    pub connections: ConnectionCounts,
    pub consumer_lag: Vec<ConsumerLag>,
}

/// One group's position on one topic of this shard, summed over the topic's queues here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsumerLag {
    pub group: String,
    pub topic: String,
    /// Messages stored and not yet committed.
    pub lag_messages: i64,
    /// Age of the oldest message not committed, ms (0 when none).
    pub lag_latency_ms: i64,
}

/// This shard's metrics now.
pub async fn snapshot(ctx: &BrokerContext) -> ShardMetrics {
    let meters = &ctx.stats.traffic.meters;
    let messages_in = meters
        .messages_in
        .borrow()
        .iter()
        .flat_map(|(topic, kinds)| {
            MessageType::ALL
                .into_iter()
                .zip(kinds)
                .filter(|(_, counts)| counts.messages > 0)
                .map(|(kind, counts)| (topic.clone(), kind, counts.clone()))
        })
        .collect();
    let mut messages_out = Vec::new();
    meters.each_out(|topic, group, counts| {
        messages_out.push((topic.to_owned(), group.to_owned(), *counts));
    });
    let rpc = meters
        .rpc
        .borrow()
        .iter()
        .map(|(key, buckets)| (*key, buckets.clone()))
        .collect();
    let dead_letters = meters
        .dead_letters
        .borrow()
        .iter()
        .flat_map(|(group, topics)| {
            topics
                .iter()
                .map(|(topic, n)| (group.clone(), topic.clone(), *n))
        })
        .collect();
    let transactions = meters
        .transactions
        .borrow()
        .iter()
        .map(|(topic, counts)| (topic.clone(), counts.clone()))
        .collect();
    let store = &ctx.store;
    let log = store.log();
    let end = log.end();
    let earliest = store.store_time(log.min_offset()).await.ok().flatten();
    let now = ctx.clock.wall_ms();
    ShardMetrics {
        broker_name: ctx.identity.broker_name.clone(),
        messages_in,
        messages_out,
        rpc,
        dead_letters,
        transactions,
        half_messages: ctx.transactions.pending_by_topic(),
        topics: ctx.topics.table().len(),
        groups: ctx.groups.table().len(),
        broker_permission: ctx.config().broker_permission,
        storage_size: store
            .disk()
            .used_bytes(&store.config().shard_dir())
            .map_or(-1, |bytes| i64::try_from(bytes).unwrap_or(i64::MAX)),
        flush_behind_bytes: end.0.saturating_sub(log.flushed().0),
        dispatch_behind_bytes: end.0.saturating_sub(store.reput_offset().0),
        message_reserve_time_ms: earliest.map(|stored| (now - stored).max(0)),
        connections: ctx.clients.connection_counts(),
        consumer_lag: consumer_lag(ctx, now).await,
    }
}

/// Every consumer group with live consumers here, on each topic they subscribe to that
/// this shard hosts queues of: messages not committed, and the age of the oldest of them
/// (Java's `ConsumerLagCalculator`; pull positions are not tracked, so a group's inflight
/// messages are none and its ready messages are its lag).
async fn consumer_lag(ctx: &BrokerContext, now_ms: i64) -> Vec<ConsumerLag> {
    let mut lags = Vec::new();
    for group in ctx.clients.consumer_groups() {
        let committed = ctx.offsets.group_offsets(&group);
        for topic in ctx.clients.subscribed_topics(&group) {
            if topic.starts_with("%RETRY%") {
                continue;
            }
            let Some(meta) = ctx.topics.meta(&topic) else {
                continue;
            };
            let mut lag = ConsumerLag {
                group: group.clone(),
                topic: topic.clone(),
                ..ConsumerLag::default()
            };
            let mut oldest: Option<i64> = None;
            for queue_id in 0..u32::try_from(meta.write_queue_nums).unwrap_or(0) {
                let max = ctx.store.queue_range(&topic, QueueId(queue_id)).1 .0 as i64;
                let offset = committed
                    .get(&topic)
                    .and_then(|queues| queues.get(&(queue_id as i32)))
                    .copied()
                    .filter(|&offset| offset >= 0)
                    .unwrap_or(max);
                if offset >= max {
                    continue;
                }
                lag.lag_messages += max - offset;
                let at = QueueOffset(offset as u64);
                let stored = ctx.store.store_time_at(&topic, QueueId(queue_id), at).await;
                if let Ok(Some(stored)) = stored {
                    if stored > 0 {
                        oldest = Some(oldest.map_or(stored, |o: i64| o.min(stored)));
                    }
                }
                glommio::yield_if_needed().await;
            }
            lag.lag_latency_ms = oldest.map_or(0, |stored| (now_ms - stored).max(0));
            lags.push(lag);
        }
    }
    lags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_count_each_value_once() {
        let mut buckets = Buckets::<6>::default();
        for size in [10.0, 1024.0, 1025.0, 5_000_000.0] {
            buckets.record(&MESSAGE_SIZE_BUCKETS, size);
        }
        let rows = buckets.rows(&MESSAGE_SIZE_BUCKETS);
        assert_eq!(rows[0], (1024.0, 2));
        assert_eq!(rows[1], (4096.0, 1));
        assert_eq!(rows[5], (4_194_304.0, 0));
        assert_eq!(rows[6], (f64::INFINITY, 1));
        assert_eq!(buckets.sum, 10.0 + 1024.0 + 1025.0 + 5_000_000.0);
    }
}
