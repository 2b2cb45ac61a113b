//! Message lookups (REMOTING.md §2.7.6): VIEW_MESSAGE_BY_ID, the record at a CommitLog
//! offset, which clients decode from an offset message id (`mqadmin queryMsgById`, Java's
//! `viewMessage`).
//!
//! An offset message id names the shard's own address, so the lookup reaches the shard whose
//! CommitLog the offset belongs to and is answered from this shard's store alone.

use std::rc::Rc;

use bytes::Bytes;

use super::{BrokerContext, BrokerError};
use crate::storage::PhysicalOffset;
use crate::wire::codes::response_code;
use crate::wire::headers::ViewMessageRequestHeader;
use crate::wire::RemotingCommand;

/// VIEW_MESSAGE_BY_ID (33): the stored record verbatim, as Java sends it. An offset where
/// no record starts (negative, past the end, inside a record, deleted) is Java's
/// SYSTEM_ERROR "can not find message by the offset".
pub async fn view_message_by_id(
    ctx: Rc<BrokerContext>,
    request: RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let header: ViewMessageRequestHeader = request.decode_header()?;
    let not_found = BrokerError::MessageNotFound {
        offset: header.offset,
    };
    let Ok(offset) = u64::try_from(header.offset) else {
        return Err(not_found);
    };
    let record = ctx.store.record_at(PhysicalOffset(offset)).await?;
    let record = record.ok_or(not_found)?;
    let mut response = RemotingCommand::response_to(&request, response_code::SUCCESS, None);
    response.body = Bytes::copy_from_slice(&record);
    Ok(response)
}
