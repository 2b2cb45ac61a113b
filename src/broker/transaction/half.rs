//! What a half message, its op record and the records that end it look like
//! (docs/protocol.md §5.8): pure functions of a send's or a stored record's fields, used by the
//! send path, END_TRANSACTION and the check service.
//!
//! - A **half message** is stored in `RMQ_SYS_TRANS_HALF_TOPIC` queue 0 with its transaction
//!   bits reset to NOT_TYPE (so reput files it there, and only there) and `REAL_TOPIC`,
//!   `REAL_QID` and `__transactionId__` (its UNIQ_KEY) added, as Java stores it.
//! - A **checked copy** is the half message appended again before each check, with
//!   `TRANSACTION_CHECK_TIMES` (the checks so far, this one included) and
//!   `TRAN_PREPARED_QUEUE_OFFSET` (the half queue offset of the transaction's first record,
//!   its identity) set. The copy carries the check count across restarts, and keeps the
//!   oldest record a restart must read recent.
//! - An **op record** in `RMQ_SYS_TRANS_OP_HALF_TOPIC` queue 0 ends a transaction: tag `d`,
//!   body `"<first half queue offset>,"` as Java writes it, and two properties of shardmq's
//!   own: how it ended ([`End`]) and the CommitLog offset of the half record its effect was
//!   built from.
//! - The **effect** is written right after its op record: the committed message in its real
//!   topic and queue (sysflag COMMIT, PREPARED_TRANSACTION_OFFSET = that half record,
//!   `TRAN_MSG`, `REAL_TOPIC` and `REAL_QID` removed, as Java's `EndTransactionProcessor`
//!   writes it), or the discarded message in `TRANS_CHECK_MAX_TIME_TOPIC`. A rollback has none.

use std::net::SocketAddr;

use crate::broker::scheduled::delay;
use crate::wire::properties::{self, keys, Builder};
use crate::wire::record::{
    PhysicalOffset, QueueOffset, RecordFields, RecordVersion, RecordView, SysFlag, TransactionType,
};
use crate::wire::topics::{TRANS_CHECK_MAX_TIME_TOPIC, TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC};
use crate::wire::WireError;

/// The op records' tag (Java's `TransactionalMessageUtil.REMOVE_TAG`).
pub const OP_TAG: &str = "d";

/// Op record property: how the transaction ended (shardmq's own key).
pub const END_KEY: &str = "__transactionEnd__";
/// Op record property: the CommitLog offset of the half record the effect is built from
/// (shardmq's own key).
pub const HALF_OFFSET_KEY: &str = "__halfCommitLogOffset__";

/// How a transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The producer committed: the message goes to its real topic.
    Commit,
    /// The producer rolled back: nothing is delivered.
    Rollback,
    /// `transactionCheckMax` checks went unanswered: the message goes to
    /// `TRANS_CHECK_MAX_TIME_TOPIC`.
    Discard,
}

impl End {
    pub fn as_str(self) -> &'static str {
        match self {
            End::Commit => "commit",
            End::Rollback => "rollback",
            End::Discard => "discard",
        }
    }

    pub fn parse(text: &str) -> Option<End> {
        match text {
            "commit" => Some(End::Commit),
            "rollback" => Some(End::Rollback),
            "discard" => Some(End::Discard),
            _ => None,
        }
    }

    /// Whether a record follows the op record.
    pub fn has_effect(self) -> bool {
        self != End::Rollback
    }
}

/// Whether a send with properties `props` is a half message, by Java's rule: `TRAN_MSG=true`,
/// except a message a consumer of a client before 4.6.1 sends back (reconsumed, with a delay
/// level), which keeps the property from its first life. The properties are only read for
/// a send that says `TRAN_MSG`.
pub fn is_half(tran_msg: bool, reconsume_times: i32, props: &str) -> bool {
    tran_msg && !(reconsume_times > 0 && delay::delay_level(props).is_some())
}

/// The properties a half message is stored with: the send's, with `REAL_TOPIC`, `REAL_QID`
/// and `__transactionId__` (its UNIQ_KEY, when it has one) set.
pub fn half_properties(props: &str, topic: &str, queue_id: u32) -> Result<String, WireError> {
    let replaced = [keys::REAL_TOPIC, keys::REAL_QID, keys::TRANSACTION_ID];
    let mut half = Builder::new();
    half.extend_from(props, |k| !replaced.contains(&k))?;
    if let Some(uniq) = properties::get(props, keys::UNIQ_KEY) {
        half.push(keys::TRANSACTION_ID, uniq)?;
    }
    half.push(keys::REAL_TOPIC, topic)?
        .push(keys::REAL_QID, &queue_id.to_string())?;
    Ok(half.finish())
}

/// Points `fields` (a send's) at the half queue: topic, queue 0, NOT_TYPE, `props`.
pub fn as_half<'a>(fields: &mut RecordFields<'a>, props: &'a str) {
    fields.topic = TRANS_HALF_TOPIC;
    fields.version = RecordVersion::for_topic(TRANS_HALF_TOPIC);
    fields.queue_id = 0;
    fields.sysflag = fields.sysflag.with_transaction(TransactionType::NotType);
    fields.properties = props;
}

/// When a half message stored at `stored_ms` is first checked: `transactionTimeOut` after,
/// or its `CHECK_IMMUNITY_TIME_IN_SECONDS` (−1 meaning the timeout) when it sets one, as
/// Java's `getImmunityTime` reads it; an unreadable value means the timeout.
pub fn first_check_ms(props: &str, stored_ms: i64, timeout_ms: i64) -> i64 {
    stored_ms.saturating_add(immunity_ms(props, timeout_ms))
}

/// The wait before a half message may be checked (see [`first_check_ms`]).
pub fn immunity_ms(props: &str, timeout_ms: i64) -> i64 {
    match properties::get(props, keys::CHECK_IMMUNITY_TIME_IN_SECONDS)
        .and_then(|v| v.trim().parse::<i64>().ok())
    {
        Some(-1) | None => timeout_ms,
        Some(seconds) => seconds.saturating_mul(1000),
    }
}

/// What a restart reads off a half record: the transaction it belongs to (the half queue
/// offset of its first record) and the checks it had.
pub fn identity(record: &RecordView<'_>) -> (u64, u32) {
    let [first, checks] = properties::get_each(
        record.properties(),
        [
            keys::TRAN_PREPARED_QUEUE_OFFSET,
            keys::TRANSACTION_CHECK_TIMES,
        ],
    );
    let first = first
        .and_then(|v| v.parse().ok())
        .unwrap_or(record.queue_offset().0);
    let checks = checks.and_then(|v| v.parse().ok()).unwrap_or(0);
    (first, checks)
}

/// The properties of the copy appended for check number `checks` of the transaction whose
/// first half record is at queue offset `first`.
pub fn checked_properties(props: &str, first: u64, checks: u32) -> Result<String, WireError> {
    let replaced = [
        keys::TRANSACTION_CHECK_TIMES,
        keys::TRAN_PREPARED_QUEUE_OFFSET,
    ];
    let mut copy = Builder::new();
    copy.extend_from(props, |k| !replaced.contains(&k))?
        .push(keys::TRANSACTION_CHECK_TIMES, &checks.to_string())?
        .push(keys::TRAN_PREPARED_QUEUE_OFFSET, &first.to_string())?;
    Ok(copy.finish())
}

/// The fields of a record copying `half` into the half queue again with `props`.
pub fn copy_fields<'a>(half: &RecordView<'a>, props: &'a str) -> RecordFields<'a> {
    RecordFields {
        queue_offset: QueueOffset(0),
        physical_offset: PhysicalOffset(0),
        store_timestamp_ms: 0,
        properties: props,
        ..half.fields()
    }
}

/// The real topic and queue a half record names; `None` when it names none readable.
pub fn destination<'a>(half: &RecordView<'a>) -> Option<(&'a str, u32)> {
    let [topic, queue] =
        properties::get_each(half.properties(), [keys::REAL_TOPIC, keys::REAL_QID]);
    Some((topic?, queue?.parse().ok()?))
}

/// The properties of the committed message: the half's without `TRAN_MSG`, `REAL_TOPIC` and
/// `REAL_QID`, with `WAIT=false` (nobody waits for its flush).
pub fn committed_properties(props: &str) -> Result<String, WireError> {
    let dropped = [keys::TRAN_MSG, keys::REAL_TOPIC, keys::REAL_QID, keys::WAIT];
    let mut kept = Builder::new();
    kept.extend_from(props, |k| !dropped.contains(&k))?
        .push(keys::WAIT, "false")?;
    Ok(kept.finish())
}

/// The effect record of `end` for the half record `half` stored at `half_offset`, with
/// `props` from [`committed_properties`] for a commit (the half's own for a discard).
/// `None` for a rollback, and for a commit whose half names no destination.
pub fn effect_fields<'a>(
    end: End,
    half: &RecordView<'a>,
    half_offset: PhysicalOffset,
    props: &'a str,
) -> Option<RecordFields<'a>> {
    let (topic, queue_id, sysflag) = match end {
        End::Rollback => return None,
        End::Commit => {
            let (topic, queue_id) = destination(half)?;
            let sysflag = half.sysflag().with_transaction(TransactionType::Commit);
            (topic, queue_id, sysflag)
        }
        End::Discard => (TRANS_CHECK_MAX_TIME_TOPIC, 0, half.sysflag()),
    };
    Some(RecordFields {
        version: RecordVersion::for_topic(topic),
        queue_id,
        queue_offset: QueueOffset(0),
        physical_offset: PhysicalOffset(0),
        sysflag,
        store_timestamp_ms: 0,
        prepared_transaction_offset: half_offset,
        topic,
        properties: props,
        ..half.fields()
    })
}

/// Whether `record` is the effect of `end` for the half record at `half_offset`.
pub fn is_effect(record: &RecordView<'_>, end: End, half_offset: PhysicalOffset) -> bool {
    let topic_fits = match end {
        End::Commit => record.sysflag().transaction() == TransactionType::Commit,
        End::Discard => record.topic() == TRANS_CHECK_MAX_TIME_TOPIC,
        End::Rollback => false,
    };
    topic_fits && record.prepared_transaction_offset() == half_offset
}

/// An op record's body: the transaction's first half queue offset, comma-terminated.
pub fn op_body(first: u64) -> String {
    format!("{first},")
}

/// The half queue offsets an op body names (Java 5.x batches several, each comma-terminated).
pub fn op_offsets(body: &[u8]) -> impl Iterator<Item = u64> + '_ {
    body.split(|&b| b == b',')
        .filter_map(|part| std::str::from_utf8(part).ok()?.trim().parse().ok())
}

/// The properties of an op record.
pub fn op_properties(end: End, half_offset: PhysicalOffset) -> Result<String, WireError> {
    let mut props = Builder::new();
    props
        .push(keys::TAGS, OP_TAG)?
        .push(keys::WAIT, "false")?
        .push(END_KEY, end.as_str())?
        .push(HALF_OFFSET_KEY, &half_offset.0.to_string())?;
    Ok(props.finish())
}

/// An op record's end and half record offset; `None` for an op record that does not say
/// (one written by Java, which only names offsets).
pub fn op_end(record: &RecordView<'_>) -> Option<(End, PhysicalOffset)> {
    let [end, offset] = properties::get_each(record.properties(), [END_KEY, HALF_OFFSET_KEY]);
    Some((End::parse(end?)?, PhysicalOffset(offset?.parse().ok()?)))
}

/// The fields of an op record stored by `store_host` at `now_ms`.
pub fn op_fields<'a>(
    body: &'a [u8],
    props: &'a str,
    store_host: SocketAddr,
    now_ms: i64,
) -> RecordFields<'a> {
    RecordFields {
        version: RecordVersion::for_topic(TRANS_OP_HALF_TOPIC),
        queue_id: 0,
        flag: 0,
        queue_offset: QueueOffset(0),
        physical_offset: PhysicalOffset(0),
        sysflag: SysFlag(0),
        born_timestamp_ms: now_ms,
        born_host: store_host,
        store_timestamp_ms: 0,
        store_host,
        reconsume_times: 0,
        prepared_transaction_offset: PhysicalOffset(0),
        body,
        topic: TRANS_OP_HALF_TOPIC,
        properties: props,
    }
}

#[cfg(test)]
#[path = "half_tests.rs"]
mod tests;
