//! GET_TOPIC_STATS_INFO (202) and GET_CONSUME_STATS (208) (docs/protocol.md §2.8.5–§2.8.6): the
//! offsets of a topic's queues, and a consumer group's progress against them, as `mqadmin
//! topicStatus` and `consumerProgress` print them and `examineTopicStats` /
//! `examineConsumeStats` parse them.
//!
//! Each shard answers for its own queues under its own broker name: the tools ask every
//! broker of the topic's route, so a topic on two shards shows both sets of queues. Bodies
//! key their tables by MessageQueue objects ([`MqTable`]).
//!
//! Per-topic put rates and per-group consume rates are not counted, so `topicPutTps` and
//! `consumeTps` read 0.0; Java tools print them and nothing decides on them.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::rc::Rc;

use bytes::Bytes;
use serde::Serialize;

use crate::broker::admin::mq_table::MqTable;
use crate::broker::handler::Handled;
use crate::broker::{BrokerContext, BrokerError};
use crate::limits::STATS_QUEUES_MAX;
use crate::storage::{QueueId, QueueOffset};
use crate::wire::headers::{GetConsumeStatsRequestHeader, GetTopicStatsInfoRequestHeader};
use crate::wire::RemotingCommand;

/// Java `TopicOffset`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TopicOffset {
    last_update_timestamp: i64,
    max_offset: i64,
    min_offset: i64,
}

/// Java `OffsetWrapper`; 4.9 readers ignore `pullOffset`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OffsetWrapper {
    broker_offset: i64,
    consumer_offset: i64,
    last_timestamp: i64,
    pull_offset: i64,
}

/// GET_TOPIC_STATS_INFO: min and max offset of every queue of the topic, and when its
/// newest message was stored (0 for a queue that never had one, -1 when it is gone).
pub async fn topic_stats(ctx: Rc<BrokerContext>, request: RemotingCommand) -> Handled {
    let header: GetTopicStatsInfoRequestHeader = request.decode_header()?;
    let topic = header.topic.as_str();
    let Some(meta) = ctx.topics.meta(topic) else {
        return Err(BrokerError::TopicNotExist(header.topic));
    };
    let queues = queue_ids(meta.queue_count());
    check_queue_count(queues.len())?;
    let mut table = MqTable::new(&ctx.identity.broker_name);
    for queue_id in queues {
        let (min, max) = ctx.store.queue_range(topic, QueueId(queue_id));
        let last_update_timestamp = match max.0 {
            0 => 0,
            _ => (ctx.store.last_store_time(topic, QueueId(queue_id)).await?).unwrap_or(-1),
        };
        let offset = TopicOffset {
            last_update_timestamp,
            max_offset: as_long(max),
            min_offset: as_long(min),
        };
        table.push(topic, queue_id, &offset);
        glommio::yield_if_needed().await;
    }
    let body = format!(r#"{{"offsetTable":{},"topicPutTps":0.0}}"#, table.finish());
    Ok(with_body(&request, body))
}

/// GET_CONSUME_STATS: for every read queue of the group's topics, the queue's max offset,
/// the group's committed offset (0 without one) and when the last consumed message was
/// stored. Topics the broker does not know are left out, as Java does.
pub async fn consume_stats(ctx: Rc<BrokerContext>, request: RemotingCommand) -> Handled {
    let header: GetConsumeStatsRequestHeader = request.decode_header()?;
    let group = header.consumer_group.as_str();
    let committed = ctx.offsets.group_offsets(group);
    let topics: Vec<(String, Range<u32>)> = topics_to_report(&ctx, &header, &committed)
        .into_iter()
        .filter_map(|topic| {
            let queues = queue_ids(ctx.topics.meta(&topic)?.read_queue_nums);
            Some((topic, queues))
        })
        .collect();
    check_queue_count(topics.iter().map(|(_, queues)| queues.len()).sum())?;
    let mut table = MqTable::new(&ctx.identity.broker_name);
    for (topic, queues) in &topics {
        let stored = committed.get(topic);
        for queue_id in queues.clone() {
            let consumer_offset = stored
                .and_then(|q| q.get(&(queue_id as i32)))
                .map_or(0, |&offset| offset.max(0));
            let offsets = OffsetWrapper {
                broker_offset: as_long(ctx.store.queue_range(topic, QueueId(queue_id)).1),
                consumer_offset,
                last_timestamp: last_consumed_time(&ctx, topic, queue_id, consumer_offset).await?,
                // Pull positions are not tracked; a pull never lags the commit it carries.
                pull_offset: consumer_offset,
            };
            table.push(topic, queue_id, &offsets);
            glommio::yield_if_needed().await;
        }
    }
    let body = format!(r#"{{"consumeTps":0.0,"offsetTable":{}}}"#, table.finish());
    Ok(with_body(&request, body))
}

/// Java's choice of topics: the `;`-separated `topicList` when given; else `topic`, or
/// every topic the group has committed offsets on, kept only if the group's live
/// consumers subscribe to it (when it has any).
fn topics_to_report(
    ctx: &BrokerContext,
    header: &GetConsumeStatsRequestHeader,
    committed: &BTreeMap<String, crate::broker::clients::offsets::QueueOffsets>,
) -> BTreeSet<String> {
    let listed = header.topic_list.as_deref().unwrap_or("").split(';');
    let listed: BTreeSet<String> = listed
        .filter(|topic| !topic.is_empty())
        .map(str::to_owned)
        .collect();
    if !listed.is_empty() {
        return listed;
    }
    let mut topics: BTreeSet<String> = match header.topic.as_deref() {
        Some(topic) if !topic.trim().is_empty() => BTreeSet::from([topic.to_owned()]),
        _ => committed.keys().cloned().collect(),
    };
    let subscribed = ctx.clients.subscribed_topics(&header.consumer_group);
    if !subscribed.is_empty() {
        topics.retain(|topic| subscribed.contains(topic));
    }
    topics
}

/// Store time of the last message the group consumed (the one before its committed
/// offset); 0 when there is none, as Java leaves it.
async fn last_consumed_time(
    ctx: &BrokerContext,
    topic: &str,
    queue_id: u32,
    consumer_offset: i64,
) -> Result<i64, BrokerError> {
    let Some(last) = consumer_offset.checked_sub(1).filter(|&o| o >= 0) else {
        return Ok(0);
    };
    let at = QueueOffset(last as u64);
    let stored = ctx
        .store
        .store_time_at(topic, QueueId(queue_id), at)
        .await?;
    Ok(stored.filter(|&time| time > 0).unwrap_or(0))
}

/// Queue ids `0..count`; none for a negative count.
fn queue_ids(count: i32) -> Range<u32> {
    0..u32::try_from(count).unwrap_or(0)
}

fn check_queue_count(queues: usize) -> Result<(), BrokerError> {
    if queues > STATS_QUEUES_MAX {
        return Err(BrokerError::InvalidParameter(format!(
            "the stats would list {queues} queues, more than the {STATS_QUEUES_MAX} one \
             answer holds; ask for fewer topics"
        )));
    }
    Ok(())
}

/// Queue offsets count messages: far below i64::MAX.
fn as_long(offset: QueueOffset) -> i64 {
    offset.0 as i64
}

fn with_body(request: &RemotingCommand, body: String) -> RemotingCommand {
    let mut response = RemotingCommand::success(request);
    response.body = Bytes::from(body);
    response
}
