//! CONSUMER_SEND_MSG_BACK (36) (docs/protocol.md §2.5.6, §5.7): a push consumer failed to consume
//! a message and hands it back. The broker re-stores it in the group's retry topic, to be
//! delivered again after a delay level, or in the group's dead-letter topic once it was
//! redelivered as often as allowed.
//!
//! Each consumer group's retry topic is also created at its first heartbeat, as Java does,
//! so its consumers have a route for it before anything is retried.
//!
//! Runs on the shard that stored the message (the client sends it to the broker the message
//! came from, and the physical offset is that shard's). The retry and dead-letter topics are
//! created on first use through the topic owner, which registers them with the NameServers
//! before this answers, so consumers find their route. The group's config decides as in
//! Java: an unknown group is created when auto-creation allows (else
//! SUBSCRIPTION_GROUP_NOT_EXIST), a group with no retry queues drops the message, and its
//! `retryMaxTimes` is the redelivery limit of clients too old to send their own.

use std::rc::Rc;

use crate::broker::data::send_rules::{dlq_topic_of, retry_topic_of};
use crate::broker::metadata::topics::{group_topic_config, TopicMeta};
use crate::broker::scheduled::delay;
use crate::broker::scheduled::schedule::put_copy;
use shards::ShardId;

use crate::broker::{BrokerContext, BrokerError, ShardMsg, ShardReply};
use crate::limits::RECORD_SIZE_MAX;
use crate::storage::log_buffer::LogBytes;
use crate::storage::store::Store;
use crate::wire::headers::ConsumerSendMsgBackRequestHeader;
use crate::wire::message_id::{write_offset_message_id, MESSAGE_ID_LEN_V6};
use crate::wire::properties::{self, keys};
use crate::wire::record::{
    check, PhysicalOffset, QueueOffset, RecordFields, RecordVersion, RecordView, Scan,
    RECORD_SIZE_MIN,
};
use crate::wire::RemotingCommand;

/// `MQVersion.V3_4_9`: clients from this version on send their own `maxReconsumeTimes`.
const VERSION_WITH_MAX_RECONSUME_TIMES: i32 = 121;

/// Where a failed message goes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `%RETRY%<group>`, after this delay level.
    Retry { level: i64 },
    /// `%DLQ%<group>`, at once.
    DeadLetter,
}

impl Target {
    /// Java's rule: a message already redelivered `max` times, or one the consumer sends
    /// with a negative level, is a dead letter; otherwise level `delay_level`, or
    /// `3 + reconsumeTimes` when the consumer leaves it to the broker (0).
    pub fn of(delay_level: i32, reconsume_times: i32, max_reconsume_times: i32) -> Target {
        if reconsume_times >= max_reconsume_times || delay_level < 0 {
            Target::DeadLetter
        } else if delay_level == 0 {
            Target::Retry {
                level: 3 + i64::from(reconsume_times),
            }
        } else {
            Target::Retry {
                level: i64::from(delay_level),
            }
        }
    }

    fn topic(self, group: &str) -> String {
        match self {
            Target::Retry { .. } => retry_topic_of(group),
            Target::DeadLetter => dlq_topic_of(group),
        }
    }
}

/// The redelivery limit in force: the client's, when its version sends one, else the
/// group's `retryMaxTimes`.
pub fn max_reconsume_times(
    header: &ConsumerSendMsgBackRequestHeader,
    version: i32,
    group_max: i32,
) -> i32 {
    match header.max_reconsume_times {
        Some(max) if version >= VERSION_WITH_MAX_RECONSUME_TIMES => max,
        _ => group_max,
    }
}

/// Handles a CONSUMER_SEND_MSG_BACK: SUCCESS once the message is stored again.
pub async fn consumer_send_msg_back(
    ctx: Rc<BrokerContext>,
    request: RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let header: ConsumerSendMsgBackRequestHeader = request.decode_header()?;
    let group = ctx.groups.find_or_create(&header.group).await?;
    let success = RemotingCommand::success(&request);
    if group.retry_queue_nums <= 0 {
        // Java's answer for a group configured without retries: the message is dropped.
        return Ok(success);
    }
    let original = stored_record(&ctx.store, header.offset).await?;
    let view =
        RecordView::parse(&original).map_err(|_| BrokerError::SendBackNotFound(header.offset))?;
    let max = max_reconsume_times(&header, request.version, group.retry_max_times);
    let target = Target::of(header.delay_level, view.reconsume_times(), max);
    // Java creates the retry topic whatever the target: consumers subscribe to it.
    writable_group_topic(&ctx, retry_topic_of(&header.group)).await?;
    let topic = target.topic(&header.group);
    if target == Target::DeadLetter {
        writable_group_topic(&ctx, topic.clone()).await?;
    }
    let properties = resent_properties(&view, target, ctx.store_host())?;
    let fields = RecordFields {
        version: RecordVersion::for_topic(&topic),
        queue_id: 0,
        queue_offset: QueueOffset(0),
        physical_offset: PhysicalOffset(0),
        store_timestamp_ms: 0,
        store_host: ctx.store_host(),
        reconsume_times: view.reconsume_times().saturating_add(1),
        prepared_transaction_offset: PhysicalOffset(0),
        topic: &topic,
        properties: &properties,
        ..view.fields()
    };
    match ctx.topics.write_host(&topic, 0) {
        None => store_resent(&ctx, fields).await?,
        Some(shard) => resend_on(&ctx, shard, &fields).await?,
    }
    if target == Target::DeadLetter {
        // The message's own topic: the one it came from when it was a retry.
        let origin = view.property(keys::RETRY_TOPIC).unwrap_or(view.topic());
        let meters = &ctx.stats.traffic.meters;
        meters.dead_letter(&header.group, origin);
    }
    Ok(success)
}

/// Has shard `shard`, which hosts the group's retry or dead-letter queue, store the message.
async fn resend_on(
    ctx: &BrokerContext,
    shard: usize,
    fields: &RecordFields<'_>,
) -> Result<(), BrokerError> {
    let illegal = |e: crate::wire::WireError| BrokerError::MessageIllegal(e.to_string());
    let record = fields.to_vec().map_err(illegal)?;
    let msg = ShardMsg::Resend(record.into());
    match ctx.shard.request(ShardId::new(shard), msg).await {
        Ok(ShardReply::Resent(stored)) => stored,
        Ok(other) => Err(BrokerError::Mesh(format!("unexpected reply {other:?}"))),
        Err(err) => Err(BrokerError::Mesh(err.to_string())),
    }
}

/// Stores a message handed back on another shard ([`ShardMsg::Resend`]): the record that
/// shard built, stored as this shard's own.
pub async fn store_forwarded(ctx: &BrokerContext, record: &[u8]) -> Result<(), BrokerError> {
    let view = RecordView::parse(record)
        .map_err(|e| BrokerError::PutFailed(format!("handed-back record: {e}")))?;
    let fields = RecordFields {
        store_host: ctx.store_host(),
        ..view.fields()
    };
    store_resent(ctx, fields).await
}

/// Gives consumer groups their retry topics, as Java does when a group's consumer first
/// heartbeats. A failure is only logged: the first send-back of the group tries again.
pub async fn create_retry_topics(ctx: &BrokerContext, topics: &[String]) {
    for topic in topics {
        if let Err(error) = ctx.topics.create_if_absent(group_topic_config(topic)).await {
            tracing::warn!(topic, %error, "retry topic not created at heartbeat");
        }
    }
}

/// Creates `topic` (one read-write queue) unless it exists; refuses a topic an admin made
/// read-only.
async fn writable_group_topic(ctx: &BrokerContext, topic: String) -> Result<(), BrokerError> {
    let config = ctx
        .topics
        .create_if_absent(group_topic_config(&topic))
        .await?;
    if !TopicMeta::of(&config).writable() {
        let why = format!("the topic[{topic}] sending message is forbidden");
        return Err(BrokerError::NoPermission(why));
    }
    Ok(())
}

/// Stores the resent message, through the schedule topic when it is a retry.
async fn store_resent(
    ctx: &BrokerContext,
    mut fields: RecordFields<'_>,
) -> Result<(), BrokerError> {
    let failed = |e: crate::broker::BrokerError| BrokerError::PutFailed(e.to_string());
    let parked = delay::park(
        ctx.schedule.levels(),
        ctx.timers.rules(),
        fields.topic,
        fields.queue_id,
        fields.sysflag,
        fields.properties,
        || ctx.store.now_ms(),
    )
    .map_err(failed)?;
    if let Some(parked) = &parked {
        parked.apply(&mut fields);
    }
    put_copy(&ctx.store, &fields)
        .await
        .map(drop)
        .map_err(failed)
}

/// The properties of the resent message: the original's, with `RETRY_TOPIC` (the topic it
/// was first sent to) and `ORIGIN_MESSAGE_ID` (the first delivery's offset id) kept from an
/// earlier round or set now, `WAIT=false`, and the retry's `DELAY` level (none for a dead
/// letter). `UNIQ_KEY` and everything else are kept.
fn resent_properties(
    view: &RecordView<'_>,
    target: Target,
    store_host: std::net::SocketAddr,
) -> Result<String, BrokerError> {
    let replaced = [keys::DELAY, keys::WAIT];
    let mut out = properties::Builder::new();
    let mut put = || -> Result<(), crate::wire::WireError> {
        out.extend_from(view.properties(), |k| !replaced.contains(&k))?;
        if view.property(keys::RETRY_TOPIC).is_none() {
            out.push(keys::RETRY_TOPIC, view.topic())?;
        }
        if view.property(keys::ORIGIN_MESSAGE_ID).is_none() {
            let mut id = String::with_capacity(MESSAGE_ID_LEN_V6);
            write_offset_message_id(&mut id, store_host, view.physical_offset());
            out.push(keys::ORIGIN_MESSAGE_ID, &id)?;
        }
        out.push(keys::WAIT, "false")?;
        if let Target::Retry { level } = target {
            out.push(keys::DELAY, &level.to_string())?;
        }
        Ok(())
    };
    put().map_err(|e| BrokerError::PutFailed(e.to_string()))?;
    Ok(out.finish())
}

/// The record that starts at physical `offset` of this shard's log, checked whole (size,
/// magic, body CRC, and that it says it is stored there). Anything else, an offset inside a
/// record or past the log included, is Java's "look message by offset failed".
async fn stored_record(store: &Store, offset: i64) -> Result<LogBytes, BrokerError> {
    let missing = || BrokerError::SendBackNotFound(offset);
    let at = PhysicalOffset(u64::try_from(offset).map_err(|_| missing())?);
    let head = store.read(at, 4).await.map_err(|_| missing())?;
    let size = head
        .get(..4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(|b| u32::from_be_bytes(b) as usize)
        .filter(|size| (RECORD_SIZE_MIN..=RECORD_SIZE_MAX).contains(size))
        .ok_or_else(missing)?;
    let bytes = store.read(at, size).await.map_err(|_| missing())?;
    match check(&bytes) {
        Ok(Scan::Message(meta)) if meta.physical_offset == at => Ok(bytes),
        _ => Err(missing()),
    }
}

#[cfg(test)]
#[path = "send_back_tests.rs"]
mod tests;
