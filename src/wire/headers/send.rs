//! Producing (docs/protocol.md §2.4, §2.5.6, §2.6): SEND_MESSAGE (10), SEND_MESSAGE_V2 (310),
//! SEND_BATCH_MESSAGE (320), the send response, CONSUMER_SEND_MSG_BACK (36), END_TRANSACTION
//! (37) and CHECK_TRANSACTION_STATE (39).

use std::borrow::Cow;

use super::{command_header, optional_text, put, required_text, CommandHeader};
use crate::wire::codes::request_code;
use crate::wire::error::HeaderError;
use crate::wire::ExtFields;

/// The send request header. SEND_MESSAGE (10) names its fields in full; SEND_MESSAGE_V2 (310)
/// and SEND_BATCH_MESSAGE (320) use one letter each to parse faster. Both map to this struct:
/// [`CommandHeader`] reads the long names, [`SendMessageRequestHeader::decode_for`] picks by
/// request code. Its text fields borrow the ext fields they were read from (a send's header
/// is most of the cost of a small send, and copying its strings was a fifth of reading it);
/// a send redirected to a dead-letter topic owns what it rewrites.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendMessageRequestHeader<'a> {
    pub producer_group: Cow<'a, str>,
    pub topic: Cow<'a, str>,
    /// Template topic for auto-creation, normally `TBW102`.
    pub default_topic: Cow<'a, str>,
    pub default_topic_queue_nums: i32,
    /// Negative: the broker picks a writable queue.
    pub queue_id: i32,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub flag: i32,
    /// The properties string (docs/protocol.md §3.3), still encoded.
    pub properties: Option<Cow<'a, str>>,
    pub reconsume_times: Option<i32>,
    pub unit_mode: Option<bool>,
    pub max_reconsume_times: Option<i32>,
    pub batch: Option<bool>,
    /// The broker name the client targeted (`bname` / `n`).
    pub broker_name: Option<Cow<'a, str>>,
}

/// The wire keys of each field, in struct order.
struct SendKeys([&'static str; 14]);

const V1_KEYS: SendKeys = SendKeys([
    "producerGroup",
    "topic",
    "defaultTopic",
    "defaultTopicQueueNums",
    "queueId",
    "sysFlag",
    "bornTimestamp",
    "flag",
    "properties",
    "reconsumeTimes",
    "unitMode",
    "maxReconsumeTimes",
    "batch",
    "bname",
]);

const V2_KEYS: SendKeys = SendKeys([
    "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n",
]);

impl SendKeys {
    /// The field `key` names, if any. V2's keys are the letters from `a` in field order.
    fn slot(&self, key: &str) -> Option<usize> {
        match key.as_bytes() {
            [letter] if self.0[0] == "a" => {
                let slot = usize::from(letter.wrapping_sub(b'a'));
                (slot < self.0.len()).then_some(slot)
            }
            _ => self.0.iter().position(|name| *name == key),
        }
    }
}

/// The key names a send's header is read with: those of `code`, or the other code's when
/// the header has the other's first name and not its own (see
/// [`SendMessageRequestHeader::decode_for`]).
fn keys_for(code: i32, fields: &ExtFields) -> &'static SendKeys {
    let (expected, other) = match code {
        request_code::SEND_MESSAGE => (&V1_KEYS, &V2_KEYS),
        _ => (&V2_KEYS, &V1_KEYS),
    };
    match fields.get(expected.0[0]) {
        None if fields.get(other.0[0]).is_some() => other,
        _ => expected,
    }
}

impl<'a> SendMessageRequestHeader<'a> {
    /// Reads the header with the key names of `code`: long names for SEND_MESSAGE, one-letter
    /// names for SEND_MESSAGE_V2 and SEND_BATCH_MESSAGE (the Go client sends 320 with short
    /// names too). A header that has the other code's names throughout is read with those:
    /// the names say unambiguously what the client meant.
    pub fn decode_for(code: i32, fields: &'a ExtFields) -> Result<Self, HeaderError> {
        Self::decode_with(fields, keys_for(code, fields))
    }

    /// The topic [`SendMessageRequestHeader::decode_for`] reads, alone: what access control
    /// checks before the handler runs.
    pub fn topic_for(code: i32, fields: &ExtFields) -> Option<&str> {
        fields.get(keys_for(code, fields).0[1])
    }

    /// Writes the key names of `code`, as [`SendMessageRequestHeader::decode_for`] reads them.
    pub fn encode_for(&self, code: i32, fields: &mut ExtFields) {
        match code {
            request_code::SEND_MESSAGE => self.encode_with(fields, &V1_KEYS),
            _ => self.encode_with(fields, &V2_KEYS),
        }
    }

    /// Reads the fields in one pass over the header (a send's header is most of the cost of
    /// a small send, and a lookup per field would scan it fourteen times).
    fn decode_with(fields: &'a ExtFields, keys: &SendKeys) -> Result<Self, HeaderError> {
        let mut text = [None; 14];
        for (key, value) in fields.iter() {
            if let Some(slot) = keys.slot(key).and_then(|slot| text.get_mut(slot)) {
                *slot = Some(value);
            }
        }
        let [a, b, c, d, e, f, g, h, _, j, k, l, m, _] = keys.0;
        let [ta, tb, tc, td, te, tf, tg, th, ti, tj, tk, tl, tm, tn] = text;
        Ok(SendMessageRequestHeader {
            producer_group: required_str(a, ta)?,
            topic: required_str(b, tb)?,
            default_topic: required_str(c, tc)?,
            default_topic_queue_nums: required_text(d, td)?,
            queue_id: required_text(e, te)?,
            sys_flag: required_text(f, tf)?,
            born_timestamp: required_text(g, tg)?,
            flag: required_text(h, th)?,
            properties: ti.map(Cow::Borrowed),
            reconsume_times: optional_text(j, tj)?,
            unit_mode: optional_text(k, tk)?,
            max_reconsume_times: optional_text(l, tl)?,
            batch: optional_text(m, tm)?,
            broker_name: tn.map(Cow::Borrowed),
        })
    }

    /// The same header owning its text.
    pub fn into_owned(self) -> SendMessageRequestHeader<'static> {
        let owned = |text: Cow<'_, str>| Cow::Owned(text.into_owned());
        SendMessageRequestHeader {
            producer_group: owned(self.producer_group),
            topic: owned(self.topic),
            default_topic: owned(self.default_topic),
            properties: self.properties.map(owned),
            broker_name: self.broker_name.map(owned),
            ..self
        }
    }

    fn encode_with(&self, fields: &mut ExtFields, keys: &SendKeys) {
        let [a, b, c, d, e, f, g, h, i, j, k, l, m, n] = keys.0;
        fields.insert(a, &self.producer_group);
        fields.insert(b, &self.topic);
        fields.insert(c, &self.default_topic);
        put(fields, d, &self.default_topic_queue_nums);
        put(fields, e, &self.queue_id);
        put(fields, f, &self.sys_flag);
        put(fields, g, &self.born_timestamp);
        put(fields, h, &self.flag);
        if let Some(properties) = &self.properties {
            fields.insert(i, properties);
        }
        put_some(fields, j, &self.reconsume_times);
        put_some(fields, k, &self.unit_mode);
        put_some(fields, l, &self.max_reconsume_times);
        put_some(fields, m, &self.batch);
        if let Some(name) = &self.broker_name {
            fields.insert(n, name);
        }
    }
}

fn put_some<T: super::FieldValue>(fields: &mut ExtFields, key: &'static str, value: &Option<T>) {
    if let Some(value) = value {
        put(fields, key, value);
    }
}

/// A field whose text is the value, borrowed.
fn required_str<'a>(key: &'static str, text: Option<&'a str>) -> Result<Cow<'a, str>, HeaderError> {
    text.map(Cow::Borrowed)
        .ok_or(HeaderError::Missing { field: key })
}

impl CommandHeader for SendMessageRequestHeader<'static> {
    fn decode(fields: &ExtFields) -> Result<Self, HeaderError> {
        SendMessageRequestHeader::decode_with(fields, &V1_KEYS)
            .map(SendMessageRequestHeader::into_owned)
    }

    fn encode(&self, fields: &mut ExtFields) {
        self.encode_with(fields, &V1_KEYS);
    }
}

command_header! {
    /// The response to a send. `msgId`, `queueId` and `queueOffset` are required by Java
    /// clients; so are non-null ext fields on success, which `MSG_REGION` and `TRACE_ON`
    /// guarantee.
    pub struct SendMessageResponseHeader {
        /// Offset message id(s) of the stored record(s), comma-joined for a batch.
        req msg_id: String = "msgId",
        req queue_id: i32 = "queueId",
        /// Queue offset of the (first) stored record.
        req queue_offset: i64 = "queueOffset",
        opt transaction_id: String = "transactionId",
        opt batch_uniq_id: String = "batchUniqId",
        opt recall_handle: String = "recallHandle",
        opt msg_region: Cow<'static, str> = "MSG_REGION",
        opt trace_on: bool = "TRACE_ON",
    }
}

impl SendMessageResponseHeader {
    /// The header a Java broker sends: region `DefaultRegion`, tracing on.
    pub fn new(msg_id: String, queue_id: i32, queue_offset: i64) -> Self {
        SendMessageResponseHeader {
            msg_id,
            queue_id,
            queue_offset,
            msg_region: Some(Cow::Borrowed("DefaultRegion")),
            trace_on: Some(true),
            ..Default::default()
        }
    }
}

command_header! {
    /// CONSUMER_SEND_MSG_BACK (36) request: a message whose consumption failed.
    pub struct ConsumerSendMsgBackRequestHeader {
        /// Commit-log (physical) offset of the failed message.
        req offset: i64 = "offset",
        req group: String = "group",
        /// 0: the broker chooses; negative: straight to the DLQ.
        req delay_level: i32 = "delayLevel",
        opt origin_msg_id: String = "originMsgId",
        opt origin_topic: String = "originTopic",
        opt unit_mode: bool = "unitMode",
        opt max_reconsume_times: i32 = "maxReconsumeTimes",
        opt broker_name: String = "bname",
    }
}

command_header! {
    /// END_TRANSACTION (37) request, always oneway.
    pub struct EndTransactionRequestHeader {
        req producer_group: String = "producerGroup",
        /// Queue offset of the half message in the half topic.
        req tran_state_table_offset: i64 = "tranStateTableOffset",
        req commit_log_offset: i64 = "commitLogOffset",
        /// 0 unknown, 8 commit, 12 rollback.
        req commit_or_rollback: i32 = "commitOrRollback",
        req msg_id: String = "msgId",
        opt from_transaction_check: bool = "fromTransactionCheck",
        opt transaction_id: String = "transactionId",
        opt topic: String = "topic",
        opt broker_name: String = "bname",
    }
}

command_header! {
    /// CHECK_TRANSACTION_STATE (39), broker to producer, oneway.
    pub struct CheckTransactionStateRequestHeader {
        req tran_state_table_offset: i64 = "tranStateTableOffset",
        req commit_log_offset: i64 = "commitLogOffset",
        opt msg_id: String = "msgId",
        opt transaction_id: String = "transactionId",
        opt offset_msg_id: String = "offsetMsgId",
        opt topic: String = "topic",
        opt broker_name: String = "bname",
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::assert_round_trip;
    use super::*;

    fn sample_send() -> SendMessageRequestHeader<'static> {
        SendMessageRequestHeader {
            producer_group: "pg".into(),
            topic: "T".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: -1,
            sys_flag: 4,
            born_timestamp: 1_700_000_000_123,
            flag: 7,
            properties: Some("TAGS\u{1}a\u{2}UNIQ_KEY\u{1}K\u{2}".into()),
            reconsume_times: Some(2),
            unit_mode: Some(false),
            max_reconsume_times: Some(16),
            batch: Some(true),
            broker_name: Some("broker-a".into()),
        }
    }

    #[test]
    fn every_header_round_trips() {
        assert_round_trip(&sample_send());
        assert_round_trip(&SendMessageResponseHeader::sample());
        assert_round_trip(&ConsumerSendMsgBackRequestHeader::sample());
        assert_round_trip(&EndTransactionRequestHeader::sample());
        assert_round_trip(&CheckTransactionStateRequestHeader::sample());
    }

    #[test]
    fn v2_short_names_map_to_the_same_struct() {
        let header = sample_send();
        let mut short = ExtFields::new();
        header.encode_for(310, &mut short);
        assert_eq!(short.get("e"), Some("-1"));
        assert_eq!(short.get("n"), Some("broker-a"));
        assert_eq!(
            SendMessageRequestHeader::decode_for(310, &short),
            Ok(header.clone())
        );
        assert_eq!(
            SendMessageRequestHeader::decode_for(320, &short),
            Ok(header.clone())
        );
        let mut long = ExtFields::new();
        header.encode_for(10, &mut long);
        assert_eq!(long, {
            let mut fields = ExtFields::new();
            header.encode(&mut fields);
            fields
        });
        assert_eq!(
            SendMessageRequestHeader::decode_for(10, &long),
            Ok(header.clone())
        );
        // A client that mixes up code and names still means the same send.
        assert_eq!(
            SendMessageRequestHeader::decode_for(10, &short),
            Ok(header.clone())
        );
        assert_eq!(SendMessageRequestHeader::decode_for(310, &long), Ok(header));
        short.remove("a");
        let err = SendMessageRequestHeader::decode_for(310, &short).expect_err("no group");
        assert_eq!(err, HeaderError::Missing { field: "a" });
        long.remove("queueId");
        let err = SendMessageRequestHeader::decode_for(10, &long).expect_err("no queue");
        assert_eq!(err.field(), "queueId");
    }

    #[test]
    fn ali_ons_and_cpp_style_sends_decode() {
        // ali-ons: numbers and booleans as JSON values, no serializeTypeCurrentRPC.
        let ali_ons = br#"{"code":310,"language":"JAVA","version":121,"opaque":9,"flag":0,
            "extFields":{"a":"pg","b":"T","c":"TBW102","d":4,"e":1,"f":0,"g":1700000000000,
            "h":0,"i":"UNIQ_KEY\u0001K\u0002","j":0,"k":false,"l":16,"m":false}}"#;
        let command = crate::wire::header_json::decode(ali_ons).expect("valid");
        let header = SendMessageRequestHeader::decode_for(command.code, &command.ext_fields)
            .expect("valid header");
        assert_eq!(
            (header.queue_id, header.born_timestamp),
            (1, 1_700_000_000_000)
        );
        assert_eq!(header.unit_mode, Some(false));
        assert_eq!(header.properties.as_deref(), Some("UNIQ_KEY\u{1}K\u{2}"));
        // C++: long names, numbers as JSON values, booleans as "0"/"1".
        let cpp = br#"{"code":10,"language":"CPP","version":63,"opaque":1,"flag":0,
            "extFields":{"producerGroup":"pg","topic":"T","defaultTopic":"TBW102",
            "defaultTopicQueueNums":4,"queueId":2,"sysFlag":0,"bornTimestamp":"1","flag":0,
            "reconsumeTimes":0,"unitMode":"0","batch":"1"}}"#;
        let command = crate::wire::header_json::decode(cpp).expect("valid");
        let header = SendMessageRequestHeader::decode_for(command.code, &command.ext_fields)
            .expect("valid header");
        assert_eq!(
            (header.queue_id, header.unit_mode, header.batch),
            (2, Some(false), Some(true))
        );
    }

    #[test]
    fn new_response_carries_what_java_clients_read() {
        let mut fields = ExtFields::new();
        SendMessageResponseHeader::new("AB".into(), 2, 0).encode(&mut fields);
        assert_eq!(fields.get("queueId"), Some("2"));
        assert_eq!(fields.get("queueOffset"), Some("0"));
        assert_eq!(fields.get("MSG_REGION"), Some("DefaultRegion"));
        assert_eq!(fields.get("TRACE_ON"), Some("true"));
    }
}
