//! INVOKE_BROKER_TO_RESET_OFFSET (222), mqadmin's `resetOffsetByTime` and
//! `skipAccumulatedMessage`, answered as a Java 5.x broker answers it by default
//! (`useServerSideResetOffset=true`): the group's committed offset of each of the shard's
//! queues of the topic becomes the first offset stored at or after `timestamp` (a negative
//! timestamp: the queue's end), or, for one `queueId` with an `offset`, that offset; the
//! group's next pull of each queue is answered PULL_OFFSET_MOVED there
//! ([`crate::broker::data::pull`]), so a running consumer moves too, and one that starts
//! later reads from there. `isForce` is read and, as in Java 5.x, changes nothing: the
//! offset moves either way. The answer's body is Java's ResetOffsetBody, the new offset of
//! each queue.

use std::rc::Rc;

use bytes::Bytes;

use crate::broker::admin::mq_table::MqTable;
use crate::broker::handler::Handled;
use crate::broker::{BrokerContext, BrokerError};
use crate::config::BrokerRole;
use crate::storage::QueueId;
use crate::wire::headers::ResetOffsetRequestHeader;
use crate::wire::RemotingCommand;

/// INVOKE_BROKER_TO_RESET_OFFSET (222).
pub async fn reset_offset(ctx: Rc<BrokerContext>, request: RemotingCommand) -> Handled {
    let header: ResetOffsetRequestHeader = request.decode_header()?;
    if ctx.config().broker_role == BrokerRole::Slave {
        let why = "Can not reset offset in slave broker".to_owned();
        return Err(BrokerError::ResetRefused(why));
    }
    let (topic, group) = (header.topic.as_str(), header.group.as_str());
    let Some(meta) = ctx.topics.meta(topic) else {
        return Err(BrokerError::TopicNotExist(header.topic));
    };
    if !ctx.knows_group(group) {
        return Err(BrokerError::SubscriptionGroupNotExist(header.group));
    }
    let one_queue = header.queue_id.and_then(|q| u32::try_from(q).ok());
    let queues: Vec<u32> = match one_queue {
        Some(queue_id) => vec![queue_id],
        None => (0..u32::try_from(meta.read_queue_nums).unwrap_or(0)).collect(),
    };
    if queues.is_empty() {
        return Err(BrokerError::ResetRefused("No queues to reset.".to_owned()));
    }
    // An offset counts for one queue only, as in Java.
    let asked = header
        .offset
        .filter(|&offset| offset != -1 && one_queue.is_some());
    let mut targets = Vec::with_capacity(queues.len());
    for queue_id in queues {
        let offset = match asked {
            Some(offset) => in_queue(&ctx, topic, queue_id, offset)?,
            None => at_time(&ctx, topic, queue_id, header.timestamp).await?,
        };
        targets.push((queue_id, offset));
    }
    let mut table = MqTable::new(&ctx.identity.broker_name);
    for &(queue_id, offset) in &targets {
        // Queue ids here are below the topic's queue count, an i32.
        ctx.offsets.reset(group, topic, queue_id as i32, offset)?;
        table.push(topic, queue_id, &offset);
    }
    tracing::info!(
        topic,
        group,
        queues = targets.len(),
        "consumer offsets reset"
    );
    let mut response = RemotingCommand::success(&request);
    response.body = Bytes::from(format!(r#"{{"offsetTable":{}}}"#, table.finish()));
    Ok(response)
}

/// `offset` of queue `queue_id`, when the queue holds it (its end included).
fn in_queue(
    ctx: &BrokerContext,
    topic: &str,
    queue_id: u32,
    offset: i64,
) -> Result<i64, BrokerError> {
    let (min, max) = ctx.store.queue_range(topic, QueueId(queue_id));
    let (min, max) = (min.0 as i64, max.0 as i64);
    if !(min..=max).contains(&offset) {
        return Err(BrokerError::ResetRefused(format!(
            "Target offset {offset} not in consume queue range [{min}-{max}]"
        )));
    }
    Ok(offset)
}

/// The first offset of queue `queue_id` stored at or after `timestamp`; its end for a
/// negative timestamp.
async fn at_time(
    ctx: &BrokerContext,
    topic: &str,
    queue_id: u32,
    timestamp: i64,
) -> Result<i64, BrokerError> {
    let queue = QueueId(queue_id);
    let offset = if timestamp < 0 {
        ctx.store.queue_range(topic, queue).1
    } else {
        ctx.store.offset_by_time(topic, queue, timestamp).await?
    };
    Ok(offset.0 as i64)
}
