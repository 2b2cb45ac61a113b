//! Administration requests (docs/protocol.md §2.8) as mqadmin sends them: create, delete and list
//! topics and subscription groups, and the broker's runtime info.
//!
//! Topic and group requests are answered on whichever shard's port was asked; changes go to the
//! owner shard and return once every shard has them (see [`crate::broker::metadata::topic_owner`]).
//! The runtime info is the asked shard's own: each shard is a broker of its own in the cluster, and
//! mqadmin asks every broker address for its figures.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use serde::Serialize;

use crate::broker::admin::stats::ShardStats;
use crate::broker::handler::Handled;
use crate::broker::metadata::groups;
use crate::broker::metadata::topics;
use crate::broker::scheduled::schedule;
use crate::broker::{BrokerContext, BrokerError, ShardMsg};
use crate::storage::store::Store;
use crate::storage::PhysicalOffset;
use crate::wire::body;
use crate::wire::body::{DataVersion, KvTable, TopicConfig};
use crate::wire::codes::VERSION_CURRENT;
use crate::wire::headers::{
    CreateTopicRequestHeader, DeleteSubscriptionGroupRequestHeader, DeleteTopicRequestHeader,
};
use crate::wire::RemotingCommand;

/// Most queues UPDATE_AND_CREATE_TOPIC accepts per broker (Java has no cap; an absurd count
/// would allocate consume queues by the million).
pub const TOPIC_QUEUES_MAX: i32 = 1024;

/// The `brokerVersionDesc` shardmq reports: the protocol level it answers like.
pub const VERSION_DESC: &str = "V5_3_3";

/// UPDATE_AND_CREATE_TOPIC (17): create or replace a topic, idempotently.
pub async fn create_topic(ctx: Rc<BrokerContext>, request: RemotingCommand) -> Handled {
    let header: CreateTopicRequestHeader = request.decode_header()?;
    let config = TopicConfig {
        attributes: parse_attributes(header.attributes.as_deref().unwrap_or("")),
        order: header.order,
        perm: header.perm,
        read_queue_nums: header.read_queue_nums,
        topic_filter_type: header.topic_filter_type,
        topic_name: header.topic,
        topic_sys_flag: header.topic_sys_flag.unwrap_or(0),
        write_queue_nums: header.write_queue_nums,
    };
    ctx.topics.create(creatable(config)?).await?;
    Ok(RemotingCommand::success(&request))
}

/// UPDATE_AND_CREATE_TOPIC_LIST (18), 5.x's batch create: a body
/// `{"topicConfigList":[TopicConfig, …]}`, every topic checked as UPDATE_AND_CREATE_TOPIC
/// checks one, then all created or replaced in one change of the topic table, or none.
pub async fn create_topic_list(ctx: Rc<BrokerContext>, request: RemotingCommand) -> Handled {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct CreateTopicList {
        topic_config_list: Vec<TopicConfig>,
    }
    let list: CreateTopicList = body::decode(&request.body, "UPDATE_AND_CREATE_TOPIC_LIST body")
        .map_err(|err| BrokerError::InvalidParameter(err.to_string()))?;
    if list.topic_config_list.len() > crate::limits::BROKER_TOPICS_MAX {
        return Err(BrokerError::TooManyTopics);
    }
    let configs = list
        .topic_config_list
        .into_iter()
        .map(creatable)
        .collect::<Result<Vec<_>, _>>()?;
    ctx.topics.create_list(configs).await?;
    Ok(RemotingCommand::success(&request))
}

/// `config` if an admin may create it: a valid name that is not a system topic, queue
/// counts in `1..=TOPIC_QUEUES_MAX`, a known filter type. INVALID_PARAMETER otherwise.
fn creatable(config: TopicConfig) -> Result<TopicConfig, BrokerError> {
    topics::validate_topic(&config.topic_name)?;
    if topics::is_system_topic(&config.topic_name) {
        return Err(BrokerError::SystemTopic(config.topic_name));
    }
    for (field, n) in [
        ("readQueueNums", config.read_queue_nums),
        ("writeQueueNums", config.write_queue_nums),
    ] {
        if !(1..=TOPIC_QUEUES_MAX).contains(&n) {
            return Err(BrokerError::InvalidParameter(format!(
                "{field} {n} is outside 1..={TOPIC_QUEUES_MAX}"
            )));
        }
    }
    if !matches!(
        config.topic_filter_type.as_str(),
        "SINGLE_TAG" | "MULTI_TAG"
    ) {
        return Err(BrokerError::InvalidParameter(format!(
            "topicFilterType {} is neither SINGLE_TAG nor MULTI_TAG",
            config.topic_filter_type
        )));
    }
    Ok(config)
}

/// DELETE_TOPIC_IN_BROKER (215). The topic's consume queues and offsets belong to the store
/// and offset families, which drop them when the topic leaves the table.
pub async fn delete_topic(ctx: Rc<BrokerContext>, request: RemotingCommand) -> Handled {
    let header: DeleteTopicRequestHeader = request.decode_header()?;
    if topics::is_system_topic(&header.topic) {
        return Err(BrokerError::SystemTopic(header.topic));
    }
    ctx.topics.delete(&header.topic).await?;
    Ok(RemotingCommand::success(&request))
}

/// 5.x `TopicConfigAndMappingSerializeWrapper`; 4.9 readers ignore the mapping fields, and
/// Java's readers `shardOfFirstQueue`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AllTopicConfig {
    data_version: DataVersion,
    mapping_data_version: DataVersion,
    shard_of_first_queue: BTreeMap<String, usize>,
    topic_config_table: BTreeMap<String, TopicConfig>,
    topic_queue_mapping_detail_map: BTreeMap<String, serde_json::Value>,
    topic_queue_mapping_info_map: BTreeMap<String, serde_json::Value>,
}

/// GET_TOPIC_CONFIG (351), what mqadmin 5's topicStatus asks each broker of a route: this
/// shard's config of `topic` (the queues it hosts), as Java's `TopicConfigAndQueueMapping`
/// without a static-topic mapping (shardmq has none); TOPIC_NOT_EXIST when it hosts none.
pub fn topic_config(ctx: &BrokerContext, request: &RemotingCommand) -> Handled {
    let topic = topic_field(request)?;
    let own = ctx
        .topics
        .get(topic)
        .filter(|_| ctx.topics.table().get(topic).is_none());
    let shard = ctx.shard.id().index();
    let config = own.or_else(|| ctx.topics.table().config_on(topic, shard));
    let config = config.ok_or_else(|| BrokerError::TopicNotExist(topic.to_owned()))?;
    Ok(body::json_response(request, &config))
}

/// QUERY_TOPIC_CONSUME_BY_WHO (300): the groups consuming `topic` here, those whose live
/// consumers subscribe to it and those with offsets on it, as Java's `GroupList`.
pub fn topic_consumed_by(ctx: &BrokerContext, request: &RemotingCommand) -> Handled {
    let topic = topic_field(request)?;
    let mut groups: BTreeSet<String> = ctx
        .clients
        .groups_subscribed_to(topic)
        .into_iter()
        .collect();
    groups.extend(ctx.offsets.groups_of_topic(topic));
    Ok(body::json_response(
        request,
        &serde_json::json!({ "groupList": groups }),
    ))
}

fn topic_field(request: &RemotingCommand) -> Result<&str, BrokerError> {
    let topic = request.ext_fields.get("topic").filter(|t| !t.is_empty());
    topic.ok_or_else(|| BrokerError::InvalidParameter("the request has no topic".into()))
}

/// GET_ALL_TOPIC_CONFIG (21): this shard's topics (the shared table and its own topic),
/// with the counts it hosts, and where each spread one starts (docs/protocol.md §2.8.2),
/// from which a slave rebuilds the table with its placement (docs/replication.md).
pub fn all_topic_config(ctx: &BrokerContext, request: &RemotingCommand) -> Handled {
    let table = ctx.topics.table();
    let wrapper = ctx.topics.wrapper_of(&table);
    let all = AllTopicConfig {
        mapping_data_version: DataVersion {
            timestamp: wrapper.data_version.timestamp,
            ..DataVersion::default()
        },
        shard_of_first_queue: ctx.topics.first_shards_of(&table, &wrapper),
        data_version: wrapper.data_version,
        topic_config_table: wrapper.topic_config_table,
        topic_queue_mapping_detail_map: BTreeMap::new(),
        topic_queue_mapping_info_map: BTreeMap::new(),
    };
    Ok(body::json_response(request, &all))
}

/// GET_ALL_CONSUMER_OFFSET (43): this shard's consumer offsets as its
/// `consumerOffset.json` holds them, data version included (docs/protocol.md §2.8.10); what
/// a slave of this shard takes.
pub fn all_consumer_offset(ctx: &BrokerContext, request: &RemotingCommand) -> Handled {
    let mut response = RemotingCommand::success(request);
    response.body = ctx.offsets.encode().into();
    Ok(response)
}

/// GET_ALL_DELAY_OFFSET (45): this shard's delay cursors as its `delayOffset.json` holds
/// them, data version included (docs/protocol.md §2.8.10).
pub fn all_delay_offset(ctx: &BrokerContext, request: &RemotingCommand) -> Handled {
    let mut response = RemotingCommand::success(request);
    response.body = schedule::encode(&ctx.schedule.offsets()).into();
    Ok(response)
}

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200): create or replace a group from its
/// `SubscriptionGroupConfig` body.
pub async fn update_group(ctx: Rc<BrokerContext>, request: RemotingCommand) -> Handled {
    if request.body.is_empty() {
        let why = "UPDATE_AND_CREATE_SUBSCRIPTIONGROUP needs a SubscriptionGroupConfig body";
        return Err(BrokerError::InvalidParameter(why.to_owned()));
    }
    let config = groups::decode_config(&request.body)?;
    ctx.groups.update(config).await?;
    Ok(RemotingCommand::success(&request))
}

/// GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201): every group, as `subscriptionGroup.json` holds
/// them.
pub fn all_group_config(ctx: &BrokerContext, request: &RemotingCommand) -> Handled {
    Ok(body::json_response(request, &ctx.groups.table().wrapper()))
}

/// DELETE_SUBSCRIPTIONGROUP (207). With `cleanOffset` the group's consumer offsets go too,
/// on every shard (each keeps its own queues' offsets).
pub async fn delete_group(ctx: Rc<BrokerContext>, request: RemotingCommand) -> Handled {
    let header: DeleteSubscriptionGroupRequestHeader = request.decode_header()?;
    ctx.groups.delete(&header.group_name).await?;
    if header.clean_offset == Some(true) {
        let msg = ShardMsg::DeleteGroupOffsets(header.group_name.clone());
        for (shard, reply) in ctx.shard.gather(msg).await {
            if let Err(err) = reply {
                tracing::warn!(%shard, %err, "a shard kept the deleted group's offsets");
            }
        }
    }
    Ok(RemotingCommand::success(&request))
}

/// What GET_BROKER_RUNTIME_INFO reports beyond the [`BrokerContext`]: figures of the shard's
/// data path and connections, under keys Java's brokers lack, so a test can wait on them
/// instead of sleeping.
#[derive(Debug, Clone, Copy)]
pub struct ShardFigures {
    /// Pulls this shard holds until a message arrives (`parkedPulls`).
    pub parked_pulls: usize,
    /// Connections open on this shard's ports (`connections`).
    pub connections: usize,
    /// Bytes queued for those connections' peers and not yet written
    /// (`queuedResponseBytes`).
    pub queued_response_bytes: usize,
}

/// GET_BROKER_RUNTIME_INFO (28): the KVTable `mqadmin brokerStatus` prints and
/// `clusterList` parses, for this shard's broker: its traffic and rates, its CommitLog, and
/// the keys of Java's request thread pools, 0 because requests here never queue for a pool,
/// Java's `scheduleMessageOffset_<level>` ("cursor,end" of each delay level's schedule
/// queue), and the timer service's progress. Every value Java tools parse as a number is one.
/// `figures` are reported too.
pub async fn runtime_info(
    ctx: Rc<BrokerContext>,
    request: RemotingCommand,
    figures: ShardFigures,
) -> Handled {
    let mut table = RuntimeTable::default();
    table.put("brokerVersionDesc", VERSION_DESC);
    table.put("brokerVersion", VERSION_CURRENT);
    table.put("brokerActive", true);
    table.put("bootTimestamp", ctx.boot_ms);
    table.put("runtime", uptime_text(ctx.clock.wall_ms() - ctx.boot_ms));
    table.put("shards", ctx.shard.count());
    table.put("parkedPulls", figures.parked_pulls);
    table.put("connections", figures.connections);
    table.put("queuedResponseBytes", figures.queued_response_bytes);
    traffic_info(&mut table, &ctx.stats);
    for (level, cursor, end) in ctx.schedule.progress() {
        table.put(
            &format!("scheduleMessageOffset_{level}"),
            format!("{cursor},{end}"),
        );
    }
    timer_info(&mut table, &ctx);
    // shardmq's own: this shard's half messages waiting for an end, the checks sent, and
    // the last check round (transactions due, time taken).
    table.put("transactionHalfPending", ctx.transactions.pending());
    table.put("transactionChecksSent", ctx.transactions.checks_sent());
    let (checked, took) = ctx.transactions.last_round();
    table.put("transactionLastRoundChecked", checked);
    table.put("transactionLastRoundMs", took.as_millis());
    store_info(&mut table, &ctx.store).await?;
    for key in IDLE_COUNTERS {
        table.put(key, 0);
    }
    for key in ["timerEnqueueTps", "timerDequeueTps"] {
        table.put(key, "0.0");
    }
    Ok(body::json_response(&request, &KvTable { table: table.0 }))
}

/// The timer service's progress: Java's `timerOffsetBehind` (timer-queue messages not yet
/// listed by due time) and `timerReadBehind` (seconds the delivered-until mark lags the clock),
/// and `timerPending` (timers listed, not delivered) and `timerDeliveredUntil` (ms: every
/// listed timer due before it was delivered), which Java lacks.
fn timer_info(table: &mut RuntimeTable, ctx: &BrokerContext) {
    let progress = ctx.timers.progress();
    table.put("timerOffsetBehind", progress.offset_behind);
    let behind_ms = ctx.clock.wall_ms() - progress.delivered_until;
    table.put("timerReadBehind", behind_ms.max(0) / 1000);
    table.put("timerPending", progress.pending);
    table.put("timerDeliveredUntil", progress.delivered_until);
}

/// The runtime KVTable being filled; every value is text, as in Java's.
#[derive(Default)]
struct RuntimeTable(BTreeMap<String, String>);

impl RuntimeTable {
    fn put(&mut self, key: &str, value: impl ToString) {
        self.0.insert(key.to_owned(), value.to_string());
    }
}

/// Messages in and out: rates over 10 s, 1 min and 10 min, and totals since the shard
/// started and at the last two midnights.
fn traffic_info(table: &mut RuntimeTable, stats: &ShardStats) {
    table.put("putTps", stats.put_tps());
    let get_tps = stats.get_tps();
    // 4.9 tools read Java 4.9's misspelling, 5.x tools the corrected key.
    table.put("getTransferedTps", &get_tps);
    table.put("getTransferredTps", get_tps);
    let (now, days) = (stats.traffic.totals(), stats.days());
    table.put("msgPutTotalTodayNow", now.stored);
    table.put("msgPutTotalTodayMorning", days.today_morning.stored);
    table.put("msgPutTotalYesterdayMorning", days.yesterday_morning.stored);
    table.put("msgGetTotalTodayNow", now.pulled);
    table.put("msgGetTotalTodayMorning", days.today_morning.pulled);
    table.put("msgGetTotalYesterdayMorning", days.yesterday_morning.pulled);
}

/// The CommitLog's extent, what is not yet written, flushed or dispatched, the disk's use,
/// and when its oldest message was stored (-1 for an empty log, as Java). Java has no
/// `commitLogWrittenOffset`: its appends are in the page cache at once, while here an
/// ASYNC_FLUSH append reaches the files a moment later, and a process killed before then
/// loses it, which tests need to see.
async fn store_info(table: &mut RuntimeTable, store: &Store) -> Result<(), BrokerError> {
    let log = store.log();
    let (min, end) = (log.min_offset(), log.end());
    table.put("commitLogMinOffset", min.0);
    table.put("commitLogMaxOffset", end.0);
    table.put("commitLogWrittenOffset", log.written().0);
    table.put("dispatchBehindBytes", end.0 - store.reput_offset().0);
    // shardmq's: the slaves copying this shard's log, how far one has stored, and what is
    // not copied yet, in bytes and as the age of its oldest record (docs/replication.md).
    let replicas = store.replicas();
    let acked = replicas.acked_end();
    table.put("haConnectionCount", replicas.count());
    table.put("haSlaveAckOffset", acked);
    table.put("haBehindBytes", end.0.saturating_sub(acked));
    let behind_ms = match acked >= end.0 {
        true => 0,
        false => store
            .store_time(PhysicalOffset(acked))
            .await?
            .map_or(-1, |stored| (store.now_ms() - stored).max(0)),
    };
    table.put("haBehindMs", behind_ms);
    let unflushed = end.0.saturating_sub(log.flushed().0);
    table.put("remainHowManyDataToFlush", human_bytes(unflushed));
    let used = store.disk().used_percent(&store.config().shard_dir());
    // Java reports -1 for a store path it cannot measure.
    let ratio = used.map_or(-1.0, |percent| f64::from(percent) / 100.0);
    table.put("commitLogDiskRatio", format!("{ratio:?}"));
    let earliest = store.store_time(min).await?;
    table.put("earliestMessageTimeStamp", earliest.unwrap_or(-1));
    let damage = store.damage();
    table.put("commitLogDamagedRanges", damage.log_ranges);
    table.put("commitLogDamagedBytes", damage.log_bytes);
    table.put("damagedRecordsLeftOut", damage.records);
    Ok(())
}

/// Java's thread-pool and page-cache keys, and the 5.x timer wheel's congestion.
const IDLE_COUNTERS: &[&str] = &[
    "sendThreadPoolQueueSize",
    "pullThreadPoolQueueSize",
    "sendThreadPoolQueueHeadWaitTimeMills",
    "pullThreadPoolQueueHeadWaitTimeMills",
    "pageCacheLockTimeMills",
    "timerCongestNum",
];

/// Java's `MixAll.humanReadableByteCount(bytes, false)`: `"512 B"`, `"1.5 KiB"`.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut scaled = bytes as f64 / 1024.0;
    let mut unit = 0;
    while scaled >= 1024.0 && unit + 1 < UNITS.len() {
        scaled /= 1024.0;
        unit += 1;
    }
    format!("{scaled:.1} {}", UNITS[unit])
}

/// Java's `runtime` text for how long the broker has run.
fn uptime_text(ms: i64) -> String {
    let seconds = ms.max(0) / 1000;
    let (days, hours) = (seconds / 86_400, seconds % 86_400 / 3600);
    let (minutes, seconds) = (seconds % 3600 / 60, seconds % 60);
    format!("[ {days} days, {hours} hours, {minutes} minutes, {seconds} seconds ]")
}

/// 5.x attributes as mqadmin sends them: `+key=value,+key2=value2` (a `-key` removes, which
/// on a full replacement means leaving it out).
fn parse_attributes(text: &str) -> BTreeMap<String, String> {
    text.split(',')
        .filter_map(|item| item.trim().strip_prefix('+'))
        .filter_map(|item| item.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_read_as_java_prints_them() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 << 20), "5.0 MiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
        assert_eq!(human_bytes(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn uptime_reads_in_days_hours_minutes_seconds() {
        assert_eq!(uptime_text(0), "[ 0 days, 0 hours, 0 minutes, 0 seconds ]");
        let ms = ((2 * 24 + 3) * 3600 + 4 * 60 + 5) * 1000 + 999;
        assert_eq!(uptime_text(ms), "[ 2 days, 3 hours, 4 minutes, 5 seconds ]");
        assert_eq!(uptime_text(-5), "[ 0 days, 0 hours, 0 minutes, 0 seconds ]");
    }

    #[test]
    fn attributes_parse_the_plus_form() {
        let parsed = parse_attributes("+message.type=NORMAL, -gone ,+a=b=c");
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed["message.type"], "NORMAL");
        assert_eq!(parsed["a"], "b=c");
        assert!(parse_attributes("").is_empty());
    }
}
