//! GET_CONSUMER_RUNNING_INFO (307) and CONSUME_MESSAGE_DIRECTLY (309): an admin's request
//! forwarded to the consumer it names, and the consumer's answer returned as it is
//! (docs/protocol.md §2.8.12). The consumer must have sent a heartbeat for its group to this
//! shard; each shard is a broker of its own.

use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;

use crate::broker::clients::calls::CallFailed;
use crate::broker::{BrokerContext, BrokerError};
use crate::wire::message_id::decode_offset_message_id;
use crate::wire::{RemotingCommand, SerializeType};

/// How long the consumer may take to answer (Java's `callClient`).
pub const CONSUMER_CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The oldest client version that answers these requests (Java's `V3_1_8_SNAPSHOT`).
const VERSION_MIN: i32 = 62;

/// GET_CONSUMER_RUNNING_INFO: `{consumerGroup, clientId, jstackEnable}` forwarded as it came.
pub async fn consumer_running_info(
    ctx: Rc<BrokerContext>,
    request: RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let forward = forwarded(&request, request.body.clone());
    call_consumer(&ctx, &request, forward).await
}

/// CONSUME_MESSAGE_DIRECTLY: `{consumerGroup, clientId, msgId, brokerName}`; the message the
/// offset id names is read from this shard's log and sent as the body, with `brokerName`
/// this shard's.
pub async fn consume_message_directly(
    ctx: Rc<BrokerContext>,
    request: RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let msg_id = field(&request, "msgId")?;
    let (_, offset) = decode_offset_message_id(msg_id).map_err(|_| {
        BrokerError::InvalidParameter(format!("msgId {msg_id} is not an offset message id"))
    })?;
    let record = ctx.store.record_at(offset).await?;
    let record = record.ok_or(BrokerError::MessageNotFound {
        offset: offset.0 as i64,
    })?;
    let mut forward = forwarded(&request, Bytes::copy_from_slice(&record));
    forward
        .ext_fields
        .insert("brokerName", &ctx.identity.broker_name);
    call_consumer(&ctx, &request, forward).await
}

/// A new request with `request`'s code and fields and `body`.
fn forwarded(request: &RemotingCommand, body: Bytes) -> RemotingCommand {
    let mut forward = RemotingCommand::request(request.code, request.ext_fields.clone(), body);
    // A binary header could not be read by clients that only read JSON (ali-ons).
    forward.serialize_type = SerializeType::Json;
    forward
}

fn field<'a>(request: &'a RemotingCommand, name: &str) -> Result<&'a str, BrokerError> {
    request
        .ext_fields
        .get(name)
        .ok_or_else(|| BrokerError::InvalidParameter(format!("the request has no {name}")))
}

/// Sends `forward` to the consumer `request` names and answers `request` with its answer.
async fn call_consumer(
    ctx: &BrokerContext,
    request: &RemotingCommand,
    forward: RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let (group, client_id) = (
        field(request, "consumerGroup")?,
        field(request, "clientId")?,
    );
    let Some((channel, version)) = ctx.clients.consumer_channel(group, client_id) else {
        return Err(BrokerError::ClientCall(format!(
            "The Consumer <{group}> <{client_id}> not online"
        )));
    };
    if version < VERSION_MIN {
        return Err(BrokerError::ClientCall(format!(
            "The Consumer <{client_id}> Version <{version}> too low to finish, please upgrade it to V3_1_8_SNAPSHOT"
        )));
    }
    match ctx
        .client_calls
        .call(&channel, forward, CONSUMER_CALL_TIMEOUT)
        .await
    {
        Ok(mut answer) => {
            answer.opaque = request.opaque;
            answer.serialize_type = request.serialize_type;
            Ok(answer)
        }
        Err(CallFailed::Timeout) => Err(BrokerError::ClientTimeout(format!(
            "consumer <{group}> <{client_id}> Timeout: no answer within {} ms",
            CONSUMER_CALL_TIMEOUT.as_millis()
        ))),
        Err(CallFailed::Closed) => Err(BrokerError::ClientCall(format!(
            "invoke consumer <{group}> <{client_id}> Exception: the connection closed"
        ))),
    }
}
