//! GET_MAX_OFFSET (30), GET_MIN_OFFSET (31), SEARCH_OFFSET_BY_TIMESTAMP (29) and
//! GET_EARLIEST_MSG_STORETIME (32): a queue's offsets and times as this shard's store holds
//! them. Consumers ask for them to decide where to start (a broadcasting or new consumer
//! with CONSUME_FROM_LAST_OFFSET asks for the max offset; CONSUME_FROM_TIMESTAMP searches by
//! time), and admin tools for progress.
//!
//! A queue the store does not have answers 0 (its earliest store time -1), as Java's broker
//! does: clients read these answers as "nothing stored yet", not as errors.

use std::rc::Rc;

use crate::broker::{BrokerContext, BrokerError};
use crate::storage::QueueId;
use crate::wire::headers::{
    GetEarliestMsgStoretimeRequestHeader, GetEarliestMsgStoretimeResponseHeader,
    GetMaxOffsetRequestHeader, GetMinOffsetRequestHeader, OffsetResponseHeader,
    SearchOffsetRequestHeader,
};
use crate::wire::RemotingCommand;

pub fn max_offset(
    ctx: &BrokerContext,
    request: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let header: GetMaxOffsetRequestHeader = request.decode_header()?;
    let (_, max) = ctx
        .store
        .queue_range(&header.topic, queue_id(header.queue_id)?);
    Ok(offset_response(request, max.0))
}

pub fn min_offset(
    ctx: &BrokerContext,
    request: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let header: GetMinOffsetRequestHeader = request.decode_header()?;
    let (min, _) = ctx
        .store
        .queue_range(&header.topic, queue_id(header.queue_id)?);
    Ok(offset_response(request, min.0))
}

/// The first offset whose message was stored at or after the timestamp (the store's search
/// reads ConsumeQueue entries, so it waits on the disk).
pub async fn search_by_time(
    ctx: Rc<BrokerContext>,
    request: RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let header: SearchOffsetRequestHeader = request.decode_header()?;
    let queue = queue_id(header.queue_id)?;
    let offset = ctx
        .store
        .offset_by_time(&header.topic, queue, header.timestamp)
        .await?;
    Ok(offset_response(&request, offset.0))
}

/// When the queue's oldest message still stored was stored, -1 when it has none (Java
/// answers SUCCESS with -1 then, and `MQAdmin.earliestMsgStoreTime` returns it as is).
pub async fn earliest_store_time(
    ctx: Rc<BrokerContext>,
    request: RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let header: GetEarliestMsgStoretimeRequestHeader = request.decode_header()?;
    let queue = queue_id(header.queue_id)?;
    let (min, _) = ctx.store.queue_range(&header.topic, queue);
    let stored = ctx.store.store_time_at(&header.topic, queue, min).await?;
    let mut response = RemotingCommand::success(&request);
    response.set_header(&GetEarliestMsgStoretimeResponseHeader {
        timestamp: stored.unwrap_or(-1),
    });
    Ok(response)
}

pub(in crate::broker) fn queue_id(queue_id: i32) -> Result<QueueId, BrokerError> {
    u32::try_from(queue_id)
        .map(QueueId)
        .map_err(|_| BrokerError::InvalidParameter(format!("queueId {queue_id} is negative")))
}

fn offset_response(request: &RemotingCommand, offset: u64) -> RemotingCommand {
    let mut response = RemotingCommand::success(request);
    // Offsets are below 2^63: the store refuses larger ones.
    response.set_header(&OffsetResponseHeader {
        offset: offset as i64,
    });
    response
}
