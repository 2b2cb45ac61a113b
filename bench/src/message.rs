//! Builds send requests from a template. The fields every message shares (group, topic,
//! flags …) are encoded once; per message only the queue id, born timestamp and properties
//! (UNIQ_KEY, KEYS) are written, straight into the new header's text, and the body is a
//! shared `Bytes`. A batch body is encoded into a buffer reused across requests.
//!
//! The client's `request` takes the command by value, so each message still costs the two
//! allocations of its `ExtFields` (one text, one index); nothing else on this path allocates.
//! With an account, each request is signed last (`AccessKey`, `Signature`: one HMAC-SHA1 over
//! the fields and the body, and the signing's own allocations), into room the header
//! reserved for them; without one, the only cost is the check.

use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use shardmq::wire::batch::{encode_entry, BatchEntry};
use shardmq::wire::codes::request_code;
use shardmq::wire::headers::send::SendMessageRequestHeader;
use shardmq::wire::message_id::UniqKeyGenerator;
use shardmq::wire::record::SysFlag;
use shardmq::wire::signature::{Credentials, ACCESS_KEY, SIGNATURE};
use shardmq::wire::topics::AUTO_CREATE_TOPIC_KEY_TOPIC;
use shardmq::wire::{ExtFields, RemotingCommand, SerializeType};

/// The send header's one-letter keys that change per message (docs/protocol.md §2.4).
const KEY_QUEUE_ID: &str = "e";
const KEY_BORN_TIMESTAMP: &str = "g";
const KEY_PROPERTIES: &str = "i";
/// Queues a topic the broker creates from TBW102 gets at most (a Java producer's
/// `defaultTopicQueueNums`).
pub const DEFAULT_TOPIC_QUEUE_NUMS: i32 = 4;
/// Hex digits of a UNIQ_KEY after its fixed prefix: milliseconds since the month's start
/// (8) and a counter (4).
const UNIQ_SUFFIX_LEN: usize = 12;
/// Characters of a signature: the Base64 of a 20-byte HMAC-SHA1.
const SIGNATURE_LEN: usize = 28;

/// The property `e2e` producers stamp with the send time in microseconds since the epoch,
/// finer than the record's millisecond born timestamp.
pub const BORN_US_PROPERTY: &str = "BENCH_BORN_US";

/// Wall-clock milliseconds since the epoch, as born timestamps are.
pub fn now_ms() -> i64 {
    now_us() / 1000
}

/// Wall-clock microseconds since the epoch.
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_micros() as i64)
}

/// What a template needs to know about the messages.
#[derive(Debug, Clone)]
pub struct MessageShape {
    pub group: String,
    pub topic: String,
    pub size: usize,
    pub batch: usize,
    pub tag: Option<String>,
    pub keys: bool,
    pub serialize_type: SerializeType,
    /// Stamp [`BORN_US_PROPERTY`] on every message.
    pub born_property: bool,
    /// Half messages of a transactional producer (`TRAN_MSG`, `PGROUP`, sysflag PREPARED).
    pub transactional: bool,
    /// The account that signs every request, if any.
    pub credentials: Option<Credentials>,
}

/// One sender's request factory; each sender task owns one, so no state is shared.
#[derive(Debug)]
pub struct Template {
    code: i32,
    serialize_type: SerializeType,
    fixed: ExtFields,
    /// Room for each request's fields: how many, and their keys' and values' bytes.
    entries: usize,
    text_bytes: usize,
    body: Bytes,
    batch: usize,
    tag: Option<String>,
    keys: bool,
    born_property: bool,
    /// `PGROUP` of half messages; `None` for ordinary ones.
    producer_group: Option<String>,
    uniq_prefix: String,
    month_start_ms: i64,
    counter: u64,
    batch_body: BytesMut,
    entry_properties: String,
    credentials: Option<Credentials>,
}

impl Template {
    /// `sender` makes keys of two senders of one process differ.
    pub fn new(shape: &MessageShape, broker_name: Option<&str>, sender: u32, now_ms: i64) -> Self {
        let code = if shape.batch > 1 {
            request_code::SEND_BATCH_MESSAGE
        } else {
            request_code::SEND_MESSAGE_V2
        };
        let header = SendMessageRequestHeader {
            producer_group: shape.group.as_str().into(),
            topic: shape.topic.as_str().into(),
            default_topic: AUTO_CREATE_TOPIC_KEY_TOPIC.into(),
            default_topic_queue_nums: DEFAULT_TOPIC_QUEUE_NUMS,
            reconsume_times: Some(0),
            unit_mode: Some(false),
            batch: Some(shape.batch > 1),
            broker_name: broker_name.map(Into::into),
            sys_flag: if shape.transactional {
                SysFlag::TRANSACTION_PREPARED as i32
            } else {
                0
            },
            ..SendMessageRequestHeader::default()
        };
        let mut fixed = ExtFields::new();
        header.encode_for(code, &mut fixed);
        for key in [KEY_QUEUE_ID, KEY_BORN_TIMESTAMP, KEY_PROPERTIES] {
            fixed.remove(key);
        }
        let mut generator =
            UniqKeyGenerator::new([127, 0, 0, 1].into(), std::process::id(), sender as i32);
        let first = generator.next_key(now_ms);
        let prefix_len = first.len() - UNIQ_SUFFIX_LEN;
        let span = u32::from_str_radix(&first[prefix_len..prefix_len + 8], 16).unwrap_or(0);
        let text_bytes = fixed.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
            + 64
            + shape.tag.as_ref().map_or(0, |tag| tag.len() + 8)
            + if shape.keys { 32 } else { 0 }
            + if shape.born_property { 40 } else { 0 }
            + if shape.transactional {
                32 + shape.group.len()
            } else {
                0
            }
            + shape.credentials.as_ref().map_or(0, |account| {
                ACCESS_KEY.len() + account.access_key.len() + SIGNATURE.len() + SIGNATURE_LEN
            });
        // Queue id, born timestamp and properties; AccessKey and Signature when signed.
        let entries = fixed.len() + 3 + if shape.credentials.is_some() { 2 } else { 0 };
        Template {
            code,
            serialize_type: shape.serialize_type,
            fixed,
            entries,
            text_bytes,
            body: Bytes::from(vec![b'x'; shape.size]),
            batch: shape.batch,
            tag: shape.tag.clone(),
            keys: shape.keys,
            born_property: shape.born_property,
            producer_group: shape.transactional.then(|| shape.group.clone()),
            uniq_prefix: first[..prefix_len].to_owned(),
            month_start_ms: now_ms - i64::from(span),
            counter: 0,
            batch_body: BytesMut::with_capacity(shape.batch * (shape.size + 128)),
            entry_properties: String::with_capacity(128),
            credentials: shape.credentials.clone(),
        }
    }

    /// Messages per request.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Body bytes per request.
    pub fn body_bytes(&self) -> usize {
        self.body.len() * self.batch
    }

    /// The next request, to `queue_id`, born at `born_ms`.
    pub fn next(&mut self, queue_id: i32, born_ms: i64) -> RemotingCommand {
        let mut fields = ExtFields::with_capacities(self.entries, self.text_bytes);
        for (key, value) in self.fixed.iter() {
            fields.insert(key, value);
        }
        fields.insert_with(KEY_QUEUE_ID, |text| push_number(text, queue_id));
        fields.insert_with(KEY_BORN_TIMESTAMP, |text| push_number(text, born_ms));
        let body = if self.batch > 1 {
            self.batch_body(born_ms)
        } else {
            let mut properties = std::mem::take(&mut self.entry_properties);
            properties.clear();
            self.write_properties(&mut properties, born_ms);
            fields.insert(KEY_PROPERTIES, &properties);
            self.entry_properties = properties;
            self.body.clone()
        };
        let mut command = RemotingCommand::request(self.code, fields, body);
        command.serialize_type = self.serialize_type;
        crate::account::sign(&mut command, self.credentials.as_ref());
        command
    }

    fn batch_body(&mut self, born_ms: i64) -> Bytes {
        let mut properties = std::mem::take(&mut self.entry_properties);
        for _ in 0..self.batch {
            properties.clear();
            self.write_properties(&mut properties, born_ms);
            let entry = BatchEntry {
                flag: 0,
                body: &self.body,
                properties: &properties,
            };
            // The shape is checked against the wire limits before the run starts.
            let _ = encode_entry(&mut self.batch_body, &entry);
        }
        self.entry_properties = properties;
        self.batch_body.split().freeze()
    }

    /// TAGS, KEYS and UNIQ_KEY as Java writes them (docs/protocol.md §3.3).
    fn write_properties(&mut self, out: &mut String, now_ms: i64) {
        self.counter += 1;
        if let Some(tag) = &self.tag {
            let _ = write!(out, "TAGS\u{1}{tag}\u{2}");
        }
        if self.keys {
            let _ = write!(out, "KEYS\u{1}k{}\u{2}", self.counter);
        }
        if self.born_property {
            let _ = write!(out, "{BORN_US_PROPERTY}\u{1}{}\u{2}", now_us());
        }
        if let Some(group) = &self.producer_group {
            let _ = write!(out, "TRAN_MSG\u{1}true\u{2}PGROUP\u{1}{group}\u{2}");
        }
        let span = now_ms.wrapping_sub(self.month_start_ms) as u32;
        let _ = write!(
            out,
            "UNIQ_KEY\u{1}{}{span:08X}{:04X}\u{2}WAIT\u{1}true\u{2}",
            self.uniq_prefix, self.counter as u16
        );
    }
}

fn push_number(text: &mut String, value: impl std::fmt::Display) {
    let _ = write!(text, "{value}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use shardmq::wire::batch;
    use shardmq::wire::properties;

    fn shape(batch: usize) -> MessageShape {
        MessageShape {
            group: "g".into(),
            topic: "T".into(),
            size: 16,
            batch,
            tag: Some("TagA".into()),
            keys: true,
            serialize_type: SerializeType::RocketMq,
            born_property: true,
            transactional: false,
            credentials: None,
        }
    }

    #[test]
    fn single_message_header_decodes() {
        let mut template = Template::new(&shape(1), Some("broker-a"), 1, 1_700_000_000_000);
        let command = template.next(3, 1_700_000_000_123);
        let header = SendMessageRequestHeader::decode_for(command.code, &command.ext_fields)
            .expect("header");
        assert_eq!(
            (header.queue_id, header.born_timestamp),
            (3, 1_700_000_000_123)
        );
        assert_eq!(header.broker_name.as_deref(), Some("broker-a"));
        let props = header.properties.expect("properties");
        assert_eq!(properties::get(&props, "TAGS"), Some("TagA"));
        assert_eq!(properties::get(&props, "KEYS"), Some("k1"));
        let uniq = properties::get(&props, "UNIQ_KEY").expect("uniq key");
        assert_eq!(uniq.len(), 32);
        assert!(properties::get(&props, BORN_US_PROPERTY).is_some());
        assert_eq!(command.body.len(), 16);
        let next = template.next(4, 1_700_000_000_124);
        let props = next.ext_fields.get("i").expect("properties");
        assert_ne!(properties::get(props, "UNIQ_KEY"), Some(uniq));
    }

    #[test]
    fn batch_body_holds_every_entry() {
        let mut template = Template::new(&shape(5), None, 1, 1_700_000_000_000);
        for _ in 0..2 {
            let command = template.next(0, 1_700_000_000_000);
            assert_eq!(command.code, request_code::SEND_BATCH_MESSAGE);
            let entries = batch::decode(&command.body).expect("batch");
            assert_eq!(entries.len(), 5);
            assert!(entries.iter().all(|e| e.body.len() == 16));
        }
    }

    #[test]
    fn transactional_messages_are_half_messages_of_the_group() {
        let half = MessageShape {
            transactional: true,
            ..shape(1)
        };
        let mut template = Template::new(&half, None, 1, 1_700_000_000_000);
        let command = template.next(0, 1_700_000_000_000);
        let header = SendMessageRequestHeader::decode_for(command.code, &command.ext_fields)
            .expect("header");
        assert_eq!(header.sys_flag, SysFlag::TRANSACTION_PREPARED as i32);
        let props = header.properties.expect("properties");
        assert_eq!(properties::get(&props, "TRAN_MSG"), Some("true"));
        assert_eq!(properties::get(&props, "PGROUP"), Some("g"));
        assert!(properties::get(&props, "UNIQ_KEY").is_some());
        let plain = Template::new(&shape(1), None, 1, 0).next(0, 0);
        let plain = SendMessageRequestHeader::decode_for(plain.code, &plain.ext_fields);
        assert_eq!(plain.expect("header").sys_flag, 0);
    }

    #[test]
    fn with_an_account_every_request_is_signed_last() {
        use shardmq::wire::signature::signature;
        for batch in [1, 4] {
            let signed = MessageShape {
                credentials: Some(Credentials::new("bench", "bench-secret")),
                ..shape(batch)
            };
            let mut template = Template::new(&signed, Some("broker-a"), 1, 1_700_000_000_000);
            let mut seen = Vec::new();
            for n in 0..3 {
                let command = template.next(n, 1_700_000_000_000 + i64::from(n));
                assert_eq!(command.ext_fields.get(ACCESS_KEY), Some("bench"));
                let given = command.ext_fields.get(SIGNATURE).expect("signed");
                assert_eq!(given, signature(&command, "bench-secret"));
                assert_ne!(given, signature(&command, "another-secret"));
                seen.push(given.to_owned());
                let header =
                    SendMessageRequestHeader::decode_for(command.code, &command.ext_fields);
                assert_eq!(header.expect("header").queue_id, n);
            }
            seen.dedup();
            assert_eq!(seen.len(), 3, "each request has its own signature");
        }
        let plain = Template::new(&shape(1), None, 1, 0).next(0, 0);
        assert_eq!(plain.ext_fields.get(ACCESS_KEY), None);
        assert_eq!(plain.ext_fields.get(SIGNATURE), None);
    }
}
