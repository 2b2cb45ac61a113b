//! Message lookups (docs/protocol.md §2.7.6, §2.7.7): VIEW_MESSAGE_BY_ID, the record at a CommitLog
//! offset, which clients decode from an offset message id (`mqadmin queryMsgById`, Java's
//! `viewMessage`), and QUERY_MESSAGE, the records filed in the index under a key or a unique
//! key (`mqadmin queryMsgByKey` / `queryMsgByUniqueKey`).
//!
//! An offset message id names the shard's own address, so the lookup reaches the shard whose
//! CommitLog the offset belongs to and is answered from this shard's store alone. A query by
//! key is answered the same way: each shard is a broker of its own in the topic's route, and
//! clients send the query to every broker of the route and merge the answers.

use std::rc::Rc;

use crate::broker::data::records;
use crate::broker::{BrokerContext, BrokerError};
use crate::limits::QUERY_UNIQUE_KEY_MESSAGES;
use crate::storage::PhysicalOffset;
use crate::wire::codes::response_code;
use crate::wire::headers::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
};
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
    let mut response = RemotingCommand::success(&request);
    response.shared_body = records::body(vec![record]);
    Ok(response)
}

/// QUERY_MESSAGE (12): the records of `topic` filed under `key` within
/// `[beginTimestamp, endTimestamp]`, concatenated, newest `maxNum` first chosen (capped at
/// 64; a unique-key query always asks for 32, as Java's broker does) and sent in log order.
/// Nothing found is Java's QUERY_NOT_FOUND; both answers carry the index's last update.
pub async fn query_message(
    ctx: Rc<BrokerContext>,
    request: RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let header: QueryMessageRequestHeader = request.decode_header()?;
    let max_num = if header.unique_key_query == Some(true) {
        QUERY_UNIQUE_KEY_MESSAGES
    } else {
        // Java finds nothing for a count of zero or less.
        usize::try_from(header.max_num).unwrap_or(0)
    };
    let found = ctx
        .store
        .query_by_key(
            &header.topic,
            &header.key,
            max_num,
            header.begin_timestamp,
            header.end_timestamp,
        )
        .await?;
    let mut response = if found.records.is_empty() {
        let remark = "can not find message, maybe time range not correct".to_owned();
        RemotingCommand::response_to(&request, response_code::QUERY_NOT_FOUND, Some(remark))
    } else {
        let mut ok = RemotingCommand::success(&request);
        ok.shared_body = records::body(found.records);
        ok
    };
    // Offsets are below 2^63: the store refuses larger ones.
    response.set_header(&QueryMessageResponseHeader {
        index_last_update_timestamp: found.index_last_update_timestamp,
        index_last_update_phyoffset: found.index_last_update_offset.0 as i64,
    });
    Ok(response)
}
