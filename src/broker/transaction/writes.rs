//! What the transaction service appends: an end's op record and its effect back to back, a
//! check's copy, each encoded from the half record.

use std::time::Duration;

use super::half::{self, End};
use super::service::TransactionConfig;
use crate::broker::BrokerError;
use crate::storage::store::Store;
use crate::storage::{QueueId, StoreError};
use crate::wire::record::{PhysicalOffset, RecordFields, RecordView};
use crate::wire::WireError;

/// How long the service waits before it tries a failed append of an effect again.
const RETRY_AFTER: Duration = Duration::from_millis(200);

pub(super) fn illegal(e: WireError) -> BrokerError {
    BrokerError::MessageIllegal(e.to_string())
}

pub(super) fn encode(fields: &RecordFields<'_>) -> Result<Vec<u8>, BrokerError> {
    fields.to_vec().map_err(illegal)
}

/// The properties of `end`'s effect for `half`.
pub(super) fn effect_properties(end: End, half: &RecordView<'_>) -> Result<String, BrokerError> {
    match end {
        End::Commit => half::committed_properties(half.properties()).map_err(illegal),
        End::Rollback | End::Discard => Ok(half.properties().to_owned()),
    }
}

/// Writes the op record of `end` for transaction `first` and, right after it and when
/// `with_effect`, its effect built from the half record `half` at `half_offset`.
pub(super) async fn write_end(
    store: &Store,
    config: &TransactionConfig,
    first: u64,
    (end, with_effect): (End, bool),
    half: &RecordView<'_>,
    half_offset: PhysicalOffset,
) -> Result<(), BrokerError> {
    let props = effect_properties(end, half)?;
    let effect = half::effect_fields(end, half, half_offset, &props);
    if end == End::Commit && effect.is_none() {
        let why = "the half message names no REAL_TOPIC and REAL_QID".to_owned();
        return Err(BrokerError::MessageIllegal(why));
    }
    let body = half::op_body(first);
    let op_props = half::op_properties(end, half_offset).map_err(illegal)?;
    let op = half::op_fields(
        body.as_bytes(),
        &op_props,
        config.store_host,
        store.now_ms(),
    );
    let effect = effect.filter(|_| with_effect);
    let records: Vec<RecordFields<'_>> = std::iter::once(op).chain(effect).collect();
    put_retrying(store, &records).await
}

/// Appends `records` back to back, nothing in between: waits until the log has room for all
/// of them, then puts each without awaiting. A put that fails once the first is in (a full
/// disk as a segment opens) is tried again until it succeeds, so no other append comes
/// between.
pub(super) async fn put_retrying(
    store: &Store,
    records: &[RecordFields<'_>],
) -> Result<(), BrokerError> {
    let mut encoded = records.iter().map(encode).collect::<Result<Vec<_>, _>>()?;
    let total: u64 = encoded.iter().map(|r| r.len() as u64).sum();
    loop {
        match store.log().check_room(total) {
            Ok(()) => break,
            Err(StoreError::Busy) => store.writable(total).await?,
            Err(e) => return Err(e.into()),
        }
    }
    for (index, (fields, record)) in records.iter().zip(&mut encoded).enumerate() {
        let queue = QueueId(fields.queue_id);
        loop {
            match store.put(fields.topic, queue, record) {
                Ok(_) => break,
                Err(e) if index == 0 => return Err(e.into()),
                Err(StoreError::Busy) => store.writable(record.len() as u64).await?,
                Err(error) => {
                    tracing::error!(%error, topic = fields.topic, "a transaction's effect not stored; retrying");
                    glommio::timer::sleep(RETRY_AFTER).await;
                }
            }
        }
    }
    Ok(())
}
