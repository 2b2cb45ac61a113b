//! REGISTER_BROKER bodies in both of the forms a broker may send (docs/protocol.md §2.9.2),
//! and the split of a large topic table into parts that each fit a frame.
//!
//! The plain form is the JSON of [`RegisterBrokerBody`] ([`super::body`]). The compressed
//! form (header `compressed=true`, Java's `compressedRegister`) is one zlib stream (deflate
//! with the two-byte header and the Adler-32 trailer) of these fields, every integer a
//! big-endian `i32`:
//!
//! 1. the length of the data version's JSON, then that JSON;
//! 2. the number of topics, then per topic the length of its line, then the line: the
//!    topic's name, read queues, write queues, permission and filter type separated by single
//!    spaces, and in 5.x a sixth field, the attributes as a JSON object (see
//!    [`encode_topic_line`]); the order flag and the system flag are not carried;
//! 3. the length of the filter-server list's JSON (an array of strings), then that JSON;
//! 4. 5.x only: the number of static-topic mappings, then per mapping its length and JSON.
//!    A 4.9 broker's stream ends after part 3.
//!
//! Decoding never trusts a length: the stream is inflated into at most
//! [`limits::REGISTER_BODY_INFLATED_MAX`] bytes (more is refused), and every length is
//! checked against the bytes left before anything is read.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{Read, Write};

use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;

use super::body::{
    self, DataVersion, RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper,
};
use crate::limits;

/// The deflate level of the bodies shardmq's broker compresses. Java uses 9; on a table of
/// 20 000 topics 6 gives a body within 1 % of 9's in less time (docs/protocol.md §2.9.2 has
/// the figures), and it runs on the shard's own thread.
pub const COMPRESSION_LEVEL: u32 = 6;

/// A compressed REGISTER_BROKER body that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterBodyError {
    /// Not a zlib stream, or a damaged one.
    Inflate(String),
    /// Inflates to more than [`limits::REGISTER_BODY_INFLATED_MAX`] bytes.
    TooLarge,
    /// The stream ends inside a field.
    Truncated { field: &'static str },
    /// A length below zero or past the end of the stream.
    BadLength { field: &'static str, length: i64 },
    /// A topic line that is not `name read write perm filterType [attributes]`.
    BadTopicLine(String),
    /// A JSON part that does not parse.
    Json(String),
}

impl fmt::Display for RegisterBodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the compressed REGISTER_BROKER body ")?;
        match self {
            RegisterBodyError::Inflate(why) => write!(f, "is not a zlib stream: {why}"),
            RegisterBodyError::TooLarge => write!(
                f,
                "inflates to more than {} bytes; register in parts (enableSplitRegistration)",
                limits::REGISTER_BODY_INFLATED_MAX
            ),
            RegisterBodyError::Truncated { field } => write!(f, "ends inside the {field}"),
            RegisterBodyError::BadLength { field, length } => {
                write!(f, "gives the {field} a length of {length}, past its end")
            }
            RegisterBodyError::BadTopicLine(why) => write!(f, "has a bad topic line: {why}"),
            RegisterBodyError::Json(why) => write!(f, "has bad JSON: {why}"),
        }
    }
}

impl std::error::Error for RegisterBodyError {}

/// A topic as one line of the compressed form: `name read write perm filterType`, and the
/// attributes as a sixth field when there are any. Left out when empty, so a 4.9
/// NameServer, which takes exactly five fields, reads the line too.
pub fn encode_topic_line(config: &TopicConfig) -> String {
    let mut line = format!(
        "{} {} {} {} {}",
        config.topic_name,
        config.read_queue_nums,
        config.write_queue_nums,
        config.perm,
        config.topic_filter_type
    );
    if !config.attributes.is_empty() {
        line.push(' ');
        line.push_str(&String::from_utf8_lossy(&body::encode(&config.attributes)));
    }
    line
}

/// Reads a line of [`encode_topic_line`]. Numbers must be decimal `i32`s and the filter
/// type `SINGLE_TAG` or `MULTI_TAG`, as Java requires; attributes that do not parse are
/// dropped, as Java drops them. Order and system flag take their defaults.
pub fn decode_topic_line(line: &str) -> Result<TopicConfig, RegisterBodyError> {
    let bad = |why: &str| {
        let shown: String = line
            .chars()
            .take(limits::HEADER_ERROR_VALUE_CHARS_MAX)
            .collect();
        RegisterBodyError::BadTopicLine(format!("{why} in {shown:?}"))
    };
    let mut fields = line.splitn(6, ' ');
    let mut next = |what: &str| fields.next().ok_or_else(|| bad(&format!("no {what}")));
    let name = next("topic name")?;
    let number = |text: &str, what: &str| -> Result<i32, RegisterBodyError> {
        text.parse::<i32>()
            .map_err(|_| bad(&format!("{what} is not a number")))
    };
    let read_queue_nums = number(next("read queue count")?, "read queue count")?;
    let write_queue_nums = number(next("write queue count")?, "write queue count")?;
    let perm = number(next("permission")?, "permission")?;
    let filter = next("filter type")?;
    if !matches!(filter, "SINGLE_TAG" | "MULTI_TAG") {
        return Err(bad("unknown filter type"));
    }
    if name.is_empty() {
        return Err(bad("empty topic name"));
    }
    let attributes = fields
        .next()
        .and_then(|json| {
            body::decode::<BTreeMap<String, String>>(json.as_bytes(), "attributes").ok()
        })
        .unwrap_or_default();
    Ok(TopicConfig {
        attributes,
        perm,
        read_queue_nums,
        topic_filter_type: filter.to_owned(),
        topic_name: name.to_owned(),
        write_queue_nums,
        ..TopicConfig::default()
    })
}

/// The compressed form of `body` at deflate `level` (0-9).
pub fn encode_compressed(body: &RegisterBrokerBody, level: u32) -> Vec<u8> {
    let wrapper = &body.topic_config_serialize_wrapper;
    let mut plain = Vec::new();
    put_bytes(&mut plain, &body::encode(&wrapper.data_version));
    put_len(&mut plain, wrapper.topic_config_table.len());
    for config in wrapper.topic_config_table.values() {
        put_bytes(&mut plain, encode_topic_line(config).as_bytes());
    }
    put_bytes(&mut plain, &body::encode(&body.filter_server_list));
    put_len(&mut plain, wrapper.topic_queue_mapping_info_map.len());
    for mapping in wrapper.topic_queue_mapping_info_map.values() {
        put_bytes(&mut plain, &body::encode(mapping));
    }
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::new(level.min(9)));
    // Writing to a Vec cannot fail.
    encoder
        .write_all(&plain)
        .and_then(|()| encoder.finish())
        .unwrap_or_else(|err| panic!("deflate into memory: {err}"))
}

/// The length a [`encode_compressed`] body has before it is compressed.
pub fn compressed_plain_len(body: &RegisterBrokerBody) -> usize {
    let wrapper = &body.topic_config_serialize_wrapper;
    let topics: usize = wrapper
        .topic_config_table
        .values()
        .map(|config| 4 + encode_topic_line(config).len())
        .sum();
    let mappings: usize = wrapper
        .topic_queue_mapping_info_map
        .values()
        .map(|mapping| 4 + body::encode(mapping).len())
        .sum();
    4 + body::encode(&wrapper.data_version).len()
        + 4
        + topics
        + 4
        + body::encode(&body.filter_server_list).len()
        + 4
        + mappings
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    // Parts are bounded far below i32::MAX by limits::REGISTER_PART_BYTES_MAX.
    let len = i32::try_from(len).unwrap_or(i32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// Reads a compressed body (header `compressed=true`) written by a 4.9 or 5.x broker.
pub fn decode_compressed(data: &[u8]) -> Result<RegisterBrokerBody, RegisterBodyError> {
    let plain = inflate(data)?;
    let mut reader = Reader { rest: &plain };
    let version = reader.bytes("data version")?;
    let data_version: DataVersion =
        body::decode(version, "data version").map_err(|err| RegisterBodyError::Json(err.why))?;
    let count = reader.int("topic count")?;
    let mut topic_config_table = BTreeMap::new();
    // No allocation is sized by `count`: each topic takes at least 4 bytes of the stream.
    for _ in 0..count.max(0) {
        let line = reader.bytes("topic line")?;
        let line = std::str::from_utf8(line)
            .map_err(|_| RegisterBodyError::BadTopicLine("not UTF-8".into()))?;
        let config = decode_topic_line(line)?;
        topic_config_table.insert(config.topic_name.clone(), config);
    }
    let filters = reader.bytes("filter server list")?;
    // Java logs a list it cannot read and goes on with none.
    let filter_server_list: Vec<String> =
        body::decode(filters, "filter server list").unwrap_or_default();
    let mut topic_queue_mapping_info_map = BTreeMap::new();
    // A 4.9 broker's stream ends here.
    if !reader.rest.is_empty() {
        let mappings = reader.int("mapping count")?;
        for _ in 0..mappings.max(0) {
            let json = reader.bytes("topic queue mapping")?;
            let mapping: serde_json::Value = body::decode(json, "topic queue mapping")
                .map_err(|err| RegisterBodyError::Json(err.why))?;
            let topic = mapping
                .get("topic")
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| {
                    RegisterBodyError::Json("a topic queue mapping without topic".into())
                })?
                .to_owned();
            topic_queue_mapping_info_map.insert(topic, mapping);
        }
    }
    Ok(RegisterBrokerBody {
        filter_server_list,
        topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
            data_version,
            topic_config_table,
            topic_queue_mapping_info_map,
        },
    })
}

/// Inflates `data`, refusing a stream longer than [`limits::REGISTER_BODY_INFLATED_MAX`]
/// before more is held.
fn inflate(data: &[u8]) -> Result<Vec<u8>, RegisterBodyError> {
    let cap = limits::REGISTER_BODY_INFLATED_MAX;
    let mut plain = Vec::new();
    let take = u64::try_from(cap + 1).unwrap_or(u64::MAX);
    ZlibDecoder::new(data)
        .take(take)
        .read_to_end(&mut plain)
        .map_err(|err| RegisterBodyError::Inflate(err.to_string()))?;
    if plain.len() > cap {
        return Err(RegisterBodyError::TooLarge);
    }
    Ok(plain)
}

/// Big-endian fields of an inflated body.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn int(&mut self, field: &'static str) -> Result<i32, RegisterBodyError> {
        let Some((head, rest)) = self.rest.split_first_chunk::<4>() else {
            return Err(RegisterBodyError::Truncated { field });
        };
        self.rest = rest;
        Ok(i32::from_be_bytes(*head))
    }

    fn bytes(&mut self, field: &'static str) -> Result<&'a [u8], RegisterBodyError> {
        let length = self.int(field)?;
        let len = usize::try_from(length)
            .ok()
            .filter(|&len| len <= self.rest.len())
            .ok_or(RegisterBodyError::BadLength {
                field,
                length: i64::from(length),
            })?;
        let (bytes, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(bytes)
    }
}

/// How a broker registers: the form of its bodies and how many topics a part holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisterForm {
    /// Java's `compressedRegister`.
    pub compressed: bool,
    /// Java's `splitRegistrationSize` when `enableSplitRegistration` is on: most topics in
    /// one part. Whatever it says, a part holds at most
    /// [`limits::REGISTER_PART_BYTES_MAX`] bytes before compression.
    pub topics_per_part: Option<usize>,
}

/// The bytes a topic adds to the JSON form of a body (`"name":{…},`), which is never less
/// than what it adds to the compressed form before compression (4 + its line).
fn topic_json_len(name: &str, config: &TopicConfig) -> usize {
    body::encode(&name).len() + 1 + body::encode(config).len() + 1
}

/// Splits `wrapper` into the wrappers of the parts a registration sends, in order, every
/// one with `wrapper`'s data version: at most `form.topics_per_part` topics and
/// [`limits::REGISTER_PART_BYTES_MAX`] bytes each (never fewer than one topic), the static
/// mappings with the last. A table that fits is one part; an empty one is one empty part.
pub fn split(
    wrapper: TopicConfigSerializeWrapper,
    form: RegisterForm,
) -> Vec<TopicConfigSerializeWrapper> {
    let TopicConfigSerializeWrapper {
        data_version,
        topic_config_table,
        topic_queue_mapping_info_map,
    } = wrapper;
    // No more parts than a NameServer follows in one round.
    let fewest = topic_config_table
        .len()
        .div_ceil(limits::REGISTER_PARTS_MAX);
    let topics_max = form
        .topics_per_part
        .unwrap_or(usize::MAX)
        .max(fewest)
        .max(1);
    let empty = |data_version: &DataVersion| TopicConfigSerializeWrapper {
        data_version: data_version.clone(),
        ..TopicConfigSerializeWrapper::default()
    };
    // The data version, the keys of both wrappers, the filter list: a few hundred bytes.
    let fixed = body::encode(&RegisterBrokerBody {
        filter_server_list: Vec::new(),
        topic_config_serialize_wrapper: empty(&data_version),
    })
    .len();
    let mappings_len: usize = topic_queue_mapping_info_map
        .iter()
        .map(|(topic, mapping)| body::encode(topic).len() + body::encode(mapping).len() + 2)
        .sum();
    let mut parts = vec![empty(&data_version)];
    let mut part_len = fixed;
    for (name, config) in topic_config_table {
        let len = topic_json_len(&name, &config);
        let current = parts.last().map_or(0, |p| p.topic_config_table.len());
        if current > 0
            && (current >= topics_max || part_len + len > limits::REGISTER_PART_BYTES_MAX)
        {
            parts.push(empty(&data_version));
            part_len = fixed;
        }
        part_len += len;
        if let Some(part) = parts.last_mut() {
            part.topic_config_table.insert(name, config);
        }
    }
    if !topic_queue_mapping_info_map.is_empty() {
        if part_len + mappings_len > limits::REGISTER_PART_BYTES_MAX {
            parts.push(empty(&data_version));
        }
        if let Some(part) = parts.last_mut() {
            part.topic_queue_mapping_info_map = topic_queue_mapping_info_map;
        }
    }
    parts
}

/// The body of one part, compressed or JSON.
pub fn encode_part(wrapper: TopicConfigSerializeWrapper, compressed: bool) -> Vec<u8> {
    let body = RegisterBrokerBody {
        filter_server_list: Vec::new(),
        topic_config_serialize_wrapper: wrapper,
    };
    if compressed {
        encode_compressed(&body, COMPRESSION_LEVEL)
    } else {
        body::encode(&body)
    }
}

#[cfg(test)]
#[path = "register_body_tests.rs"]
mod tests;
