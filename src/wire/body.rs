//! The JSON bodies more than one layer reads (docs/protocol.md §1.9, §2.9): what a client reads
//! from a route lookup or a cluster listing, what a broker sends in REGISTER_BROKER, a
//! topic's config and permission bits, the KV table; and the JSON codec every body goes
//! through.
//!
//! Every side uses these types: the NameServer parses registrations and writes routes, the
//! broker writes registrations and keeps its topic table in [`TopicConfig`]s. Fields are declared
//! in alphabetical order because fastjson sorts keys and some clients (Go) split the text rather
//! than parse it; maps are `BTreeMap` for the same reason. Output is always compact, standard JSON
//! (quoted numeric keys), which every client in docs/clients.md accepts. Input may be fastjson's
//! non-standard form with unquoted numeric keys (`{0:"10.0.0.1:10911"}`): [`decode`] quotes them
//! before parsing.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Topic permission bits (docs/protocol.md §5.1).
pub mod perm {
    pub const PRIORITY: i32 = 8;
    pub const READ: i32 = 4;
    pub const WRITE: i32 = 2;
    pub const INHERIT: i32 = 1;
}

/// The KV namespace whose entries a registering broker gets back (`orderTopicConf` strings).
pub const NAMESPACE_ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

/// How one broker name hosts a topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueData {
    pub broker_name: String,
    pub perm: i32,
    pub read_queue_nums: i32,
    #[serde(default)]
    pub topic_sys_flag: i32,
    pub write_queue_nums: i32,
}

/// The addresses of one broker name: id 0 is the master, ids ≥ 1 are slaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerData {
    /// serde_json writes integer map keys quoted (`{"0":"…"}`), the form 4.9.4+ clients ask
    /// for and older ones accept.
    pub broker_addrs: BTreeMap<i64, String>,
    pub broker_name: String,
    pub cluster: String,
    /// 5.x field; older clients ignore it.
    #[serde(default)]
    pub enable_acting_master: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_name: Option<String>,
}

/// GET_ROUTEINFO_BY_TOPIC response body, and REGISTER_TOPIC_IN_NAMESRV request body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicRouteData {
    #[serde(default)]
    pub broker_datas: Vec<BrokerData>,
    /// Always `{}`: some client versions copy it without a null check.
    #[serde(default)]
    pub filter_server_table: BTreeMap<String, Vec<String>>,
    /// Only when the NameServer keeps order configs for the topic; an empty string means
    /// something else to some clients, so absent stays absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    #[serde(default)]
    pub queue_datas: Vec<QueueData>,
}

/// GET_BROKER_CLUSTER_INFO response body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInfo {
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    pub cluster_addr_table: BTreeMap<String, Vec<String>>,
}

/// GET_ALL_TOPIC_LIST_FROM_NAMESERVER and GET_TOPICS_BY_CLUSTER response body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicList {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
    pub topic_list: Vec<String>,
}

/// GET_KVLIST_BY_NAMESPACE and REGISTER_BROKER response body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvTable {
    #[serde(default)]
    pub table: BTreeMap<String, String>,
}

/// A broker's version of its topic configs; the NameServer re-reads the topics of a
/// registration only when this changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataVersion {
    #[serde(default)]
    pub counter: i64,
    /// 5.x field; absent from 4.9 brokers.
    #[serde(default)]
    pub state_version: i64,
    #[serde(default)]
    pub timestamp: i64,
}

impl DataVersion {
    /// The next version of a table changed at `now_ms` (Java `DataVersion.nextVersion`).
    pub fn advance(&mut self, now_ms: i64) {
        self.counter += 1;
        self.timestamp = now_ms;
    }
}

/// One topic as a broker configures it (Java `TopicConfig`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfig {
    /// 5.x; 4.9 readers ignore it.
    pub attributes: BTreeMap<String, String>,
    pub order: bool,
    pub perm: i32,
    pub read_queue_nums: i32,
    pub topic_filter_type: String,
    pub topic_name: String,
    pub topic_sys_flag: i32,
    pub write_queue_nums: i32,
}

/// Java's field defaults, which a body that leaves a field out means.
impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            attributes: BTreeMap::new(),
            order: false,
            perm: perm::READ | perm::WRITE,
            read_queue_nums: 16,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_name: String::new(),
            topic_sys_flag: 0,
            write_queue_nums: 16,
        }
    }
}

/// The topic part of a REGISTER_BROKER body (5.x `TopicConfigAndMappingSerializeWrapper`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicConfigSerializeWrapper {
    #[serde(default)]
    pub data_version: DataVersion,
    #[serde(default)]
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    /// Static-topic mappings (5.x): never produced here, kept as `{}` because some 5.x
    /// NameServer paths read it without a null check.
    #[serde(default)]
    pub topic_queue_mapping_info_map: BTreeMap<String, serde_json::Value>,
}

/// REGISTER_BROKER request body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterBrokerBody {
    #[serde(default)]
    pub filter_server_list: Vec<String>,
    #[serde(default)]
    pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
}

/// A body that is not the JSON it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    /// What was being read, e.g. "REGISTER_BROKER body".
    pub what: &'static str,
    pub why: String,
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the {} is not valid JSON: {}", self.what, self.why)
    }
}

impl std::error::Error for BodyError {}

/// The `bodyCrc32` of a REGISTER_BROKER request: Java's `UtilAll.crc32`, CRC-32 (IEEE)
/// masked to 31 bits. 0 tells the NameServer not to check.
pub fn body_crc32(body: &[u8]) -> i32 {
    // The mask leaves 31 bits, which always fit an i32.
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

/// Parses a body written by fastjson or by a standard JSON writer.
pub fn decode<T: DeserializeOwned>(body: &[u8], what: &'static str) -> Result<T, BodyError> {
    let text = quote_bare_keys(body);
    serde_json::from_slice(&text).map_err(|err| BodyError {
        what,
        why: err.to_string(),
    })
}

/// A SUCCESS response to `request` whose body is `value` as JSON.
pub fn json_response<T: Serialize>(
    request: &super::RemotingCommand,
    value: &T,
) -> super::RemotingCommand {
    let mut response = super::RemotingCommand::success(request);
    response.body = bytes::Bytes::from(encode(value));
    response
}

/// Compact standard JSON.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing these types cannot fail: every map key is a string or an integer.
    serde_json::to_vec(value).unwrap_or_else(|err| panic!("JSON body encodes: {err}"))
}

/// Rewrites fastjson's bare object keys as strings: integers (`{0:"a",-1:"b"}`), and whole
/// objects (`{{"brokerName":"b","queueId":0,"topic":"T"}:5}`, the MessageQueue keys of stats
/// and reset bodies), which become a string holding the object's text. Everything else,
/// string contents included, stays byte for byte as it was; anything that is not JSON stays
/// not JSON, for the parser to reject.
pub fn quote_bare_keys(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 16);
    let mut i = 0;
    let mut in_string = false;
    // True right after `{` or `,` (and whitespace): where an object key may start.
    let mut key_position = false;
    while let Some(&byte) = text.get(i) {
        if in_string {
            out.push(byte);
            match byte {
                b'\\' => {
                    if let Some(&escaped) = text.get(i + 1) {
                        out.push(escaped);
                        i += 1;
                    }
                }
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if key_position {
            if let Some(end) = bare_key_end(text, i) {
                let key = &text[i..end];
                if byte == b'{' {
                    let key = String::from_utf8_lossy(key).into_owned();
                    out.extend_from_slice(serde_json::Value::String(key).to_string().as_bytes());
                } else {
                    out.push(b'"');
                    out.extend_from_slice(key);
                    out.push(b'"');
                }
                i = end;
                key_position = false;
                continue;
            }
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b',' => key_position = true,
            _ if byte.is_ascii_whitespace() => {}
            _ => key_position = false,
        }
        if byte == b'"' {
            key_position = false;
        }
        out.push(byte);
        i += 1;
    }
    out
}

/// Where a bare key starting at `start` ends, when one does: an integer or a whole object,
/// followed (after whitespace) by `:`.
fn bare_key_end(text: &[u8], start: usize) -> Option<usize> {
    let end = match *text.get(start)? {
        b'{' => object_end(text, start)?,
        first @ (b'-' | b'0'..=b'9') => {
            let digits = count_while(&text[start + 1..], u8::is_ascii_digit);
            if first == b'-' && digits == 0 {
                return None;
            }
            start + 1 + digits
        }
        _ => return None,
    };
    let after = end + count_while(&text[end..], u8::is_ascii_whitespace);
    (text.get(after) == Some(&b':')).then_some(end)
}

/// The index just past the object that opens at `start`, strings skipped; `None` when it
/// does not close.
fn object_end(text: &[u8], start: usize) -> Option<usize> {
    let (mut depth, mut in_string, mut i) = (0usize, false, start);
    while let Some(&byte) = text.get(i) {
        match (in_string, byte) {
            (true, b'\\') => i += 1,
            (true, b'"') => in_string = false,
            (true, _) => {}
            (false, b'"') => in_string = true,
            (false, b'{') => depth += 1,
            (false, b'}') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn count_while(bytes: &[u8], pred: impl Fn(&u8) -> bool) -> usize {
    bytes.iter().take_while(|b| pred(b)).count()
}

#[cfg(test)]
#[path = "body_tests.rs"]
mod tests;
