//! Helpers for black-box tests: start the real `shardmq` binary on loopback, speak raw
//! frames to it, stop it by its PID.
//!
//! Tests wait on conditions they can observe (a queue's max offset, a key of
//! GET_BROKER_RUNTIME_INFO, what a client reported), polled with [`wait_until`] or
//! [`wait_for`], never for a fixed time: a sleep long enough on an idle machine is too short
//! on a busy one, and it passes without showing that what it waited for happened. Deadlines
//! ([`PATIENCE`]) are generous enough for a busy 2-core machine that builds beside the
//! tests; they only bound how long a failure takes to show.

#![allow(dead_code)] // each test file uses a different part

mod broker;
mod scrape;

#[allow(unused_imports)] // as dead_code: not every test file starts a broker
pub use broker::*;
#[allow(unused_imports)] // as dead_code: not every test file scrapes the metrics
pub use scrape::*;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// How long a test waits for what it expects before it fails.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Polls `condition` until it gives `Some`, and returns that; panics, naming `what` was
/// awaited, once `within` has passed.
pub fn wait_for<T>(within: Duration, what: &str, condition: impl FnMut() -> Option<T>) -> T {
    poll_for(within, condition).unwrap_or_else(|| panic!("{what}: not within {within:?}"))
}

/// Polls `condition` until it gives `Some`, and returns that; `None` once `within` has
/// passed, for a caller that has something to undo before it fails.
pub fn poll_for<T>(within: Duration, mut condition: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    // Short pauses first, since most conditions hold within milliseconds.
    let mut pause = Duration::from_millis(5);
    loop {
        if let Some(found) = condition() {
            return Some(found);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// [`wait_for`] a condition that holds or not.
pub fn wait_until(within: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    wait_for(within, what, || condition().then_some(()));
}

/// [`wait_until`] inside a glommio executor, for a condition that must await: it pauses on
/// glommio's timer, so the executor's other tasks (the ones the test waits on) run meanwhile.
pub async fn wait_until_local<F>(within: Duration, what: &str, mut condition: impl FnMut() -> F)
where
    F: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    let mut pause = Duration::from_millis(5);
    while !condition().await {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        glommio::timer::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// A frame as the peer sees it on the wire.
#[derive(Debug)]
pub struct RawFrame {
    pub serialize_type: u8,
    pub header: Vec<u8>,
    pub body: Vec<u8>,
}

impl RawFrame {
    /// The header parsed as JSON (serialize type 0).
    pub fn json(&self) -> serde_json::Value {
        assert_eq!(self.serialize_type, 0, "expected a JSON header");
        serde_json::from_slice(&self.header).expect("response header is JSON")
    }
}

/// Builds a frame with a JSON header.
pub fn json_frame(header: &str, body: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    frame.extend_from_slice(&((4 + header.len() + body.len()) as u32).to_be_bytes());
    frame.extend_from_slice(&(header.len() as u32).to_be_bytes()); // serialize type 0
    frame.extend_from_slice(header.as_bytes());
    frame.extend_from_slice(body);
    frame
}

/// Reads one frame; `None` when the peer closed the connection.
pub fn read_frame(stream: &mut TcpStream) -> Option<RawFrame> {
    let mut prefix = [0u8; 8];
    if stream.read_exact(&mut prefix).is_err() {
        return None;
    }
    Some(read_frame_after(stream, prefix))
}

/// The rest of the frame whose first eight bytes (length and header-length words) were read.
fn read_frame_after(stream: &mut TcpStream, prefix: [u8; 8]) -> RawFrame {
    let length = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
    let word = u32::from_be_bytes([prefix[4], prefix[5], prefix[6], prefix[7]]);
    let header_len = (word & 0x00FF_FFFF) as usize;
    let mut header = vec![0; header_len];
    stream.read_exact(&mut header).expect("header");
    let mut body = vec![0; length - 4 - header_len];
    stream.read_exact(&mut body).expect("body");
    RawFrame {
        serialize_type: (word >> 24) as u8,
        header,
        body,
    }
}

/// True when the peer closed the connection (EOF or reset) within the stream's read timeout.
pub fn closed_by_peer(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => matches!(
            e.kind(),
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
        ),
    }
}

pub fn write_all(stream: &mut TcpStream, bytes: &[u8]) {
    stream.write_all(bytes).expect("write to broker");
}

/// A connection to `addr` with a read timeout.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
}

/// Sends a JSON-header request with `ext_fields` and returns the response header and body.
pub fn request(
    stream: &mut TcpStream,
    code: i32,
    ext_fields: serde_json::Value,
) -> (serde_json::Value, Vec<u8>) {
    request_with_body(stream, code, ext_fields, b"")
}

/// [`request`] with a body.
pub fn request_with_body(
    stream: &mut TcpStream,
    code: i32,
    ext_fields: serde_json::Value,
    body: &[u8],
) -> (serde_json::Value, Vec<u8>) {
    exchange(stream, code, ext_fields, body).unwrap_or_else(|error| {
        let local = stream.local_addr().ok();
        panic!("no response to request {code} on the connection from {local:?}: {error}")
    })
}

/// [`request_with_body`], but `None` when the connection fails (the broker died).
pub fn try_request_with_body(
    stream: &mut TcpStream,
    code: i32,
    ext_fields: serde_json::Value,
    body: &[u8],
) -> Option<(serde_json::Value, Vec<u8>)> {
    exchange(stream, code, ext_fields, body).ok()
}

/// One request and its response, or how the connection failed: an end of stream (the peer
/// closed) and a reset (its socket went with unread bytes, or it was not a broker's) say
/// different things when a test fails.
fn exchange(
    stream: &mut TcpStream,
    code: i32,
    ext_fields: serde_json::Value,
    body: &[u8],
) -> Result<(serde_json::Value, Vec<u8>), String> {
    static OPAQUE: AtomicI32 = AtomicI32::new(1);
    let opaque = OPAQUE.fetch_add(1, Ordering::Relaxed);
    let header = serde_json::json!({
        "code": code, "language": "JAVA", "version": 479, "opaque": opaque, "flag": 0,
        "extFields": ext_fields,
    });
    stream
        .write_all(&json_frame(&header.to_string(), body))
        .map_err(|error| format!("the write failed: {error}"))?;
    let mut prefix = [0u8; 8];
    stream
        .read_exact(&mut prefix)
        .map_err(|error| format!("the read failed: {error} ({:?})", error.kind()))?;
    let frame = read_frame_after(stream, prefix);
    let json = frame.json();
    assert_eq!(json["opaque"], opaque, "response to this request");
    Ok((json, frame.body))
}

/// `ext_fields` (a request's JSON object of ext fields) with the `AccessKey` and `Signature`
/// that `credentials` give over them and `body`, as a client's ACL hook signs
/// (docs/access-control.md §2). The broker signs what it reads: text as it is, a JSON number
/// or boolean as its JSON text; the fields keep their JSON types here.
pub fn sign(
    code: i32,
    ext_fields: &serde_json::Value,
    body: &[u8],
    credentials: &shardmq::wire::signature::Credentials,
) -> serde_json::Value {
    let mut ext = shardmq::wire::ExtFields::new();
    for (key, value) in ext_fields.as_object().into_iter().flatten() {
        match value {
            serde_json::Value::String(text) => ext.insert(key, text),
            other => ext.insert(key, other.to_string()),
        }
    }
    let body = bytes::Bytes::copy_from_slice(body);
    let mut command = shardmq::wire::RemotingCommand::request(code, ext, body);
    credentials.sign(&mut command);
    let mut signed = match ext_fields {
        serde_json::Value::Object(_) => ext_fields.clone(),
        _ => serde_json::json!({}),
    };
    for key in ["AccessKey", "Signature"] {
        signed[key] = serde_json::json!(command.ext_fields.get(key).expect(key));
    }
    signed
}

/// The response code of a response header.
pub fn code_of(header: &serde_json::Value) -> i64 {
    header["code"].as_i64().expect("numeric code")
}

/// A JSON body.
pub fn json_body(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).expect("JSON body")
}

pub const GET_ROUTEINFO_BY_TOPIC: i32 = 105;
pub const UPDATE_AND_CREATE_TOPIC: i32 = 17;
pub const GET_ALL_TOPIC_CONFIG: i32 = 21;
pub const SEND_MESSAGE_V2: i32 = 310;
pub const GET_MAX_OFFSET: i32 = 30;
pub const UPDATE_CONSUMER_OFFSET: i32 = 15;

/// Response codes the tests look for.
pub const SUCCESS: i64 = 0;
pub const SYSTEM_ERROR: i64 = 1;
pub const TOPIC_NOT_EXIST: i64 = 17;
pub const INVALID_PARAMETER: i64 = 29;

/// A message properties string: `name 0x01 value 0x02` per pair (docs/protocol.md §3.3).
pub fn properties(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{name}\u{1}{value}\u{2}"))
        .collect()
}

/// Sends one message to `queue` of `topic` the way a 5.x Java producer does
/// (SEND_MESSAGE_V2, one-letter header names; a new topic is created from TBW102) and
/// returns the response header.
pub fn send_v2(
    conn: &mut TcpStream,
    topic: &str,
    queue: i32,
    body: &[u8],
    properties: &str,
) -> serde_json::Value {
    try_send_v2(conn, topic, queue, body, properties).expect("a send response")
}

/// [`send_v2`], but `None` when the connection fails (the broker died).
pub fn try_send_v2(
    conn: &mut TcpStream,
    topic: &str,
    queue: i32,
    body: &[u8],
    properties: &str,
) -> Option<serde_json::Value> {
    let fields = serde_json::json!({
        "a": "pg", "b": topic, "c": "TBW102", "d": "4", "e": queue.to_string(), "f": "0",
        "g": "1700000000000", "h": "0", "i": properties, "j": "0", "k": "false", "m": "false"
    });
    Some(try_request_with_body(conn, SEND_MESSAGE_V2, fields, body)?.0)
}

/// The queue offset reported by a response header's `offset` field.
pub fn offset_field(header: &serde_json::Value) -> i64 {
    let offset = header["extFields"]["offset"].as_str().expect("offset");
    offset.parse().expect("a number")
}

/// Waits until queue `queue` of `topic` holds `count` messages: a send is acknowledged
/// before reput files it in its ConsumeQueue.
pub fn wait_max_offset(conn: &mut TcpStream, topic: &str, queue: i32, count: i64) {
    let fields = serde_json::json!({"topic": topic, "queueId": queue});
    let what = format!("queue {queue} of {topic} holding {count} messages");
    wait_until(PATIENCE, &what, || {
        let (header, _) = request(conn, GET_MAX_OFFSET, fields.clone());
        assert_eq!(code_of(&header), SUCCESS, "{header}");
        offset_field(&header) == count
    });
}

/// Wall-clock milliseconds since the epoch, as the broker stamps store times.
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.expect("clock after 1970").as_millis() as i64
}

/// Waits until the wall clock reads past `ms` and returns its reading: what is stored from
/// now on has a later store time than what was stored by `ms`.
pub fn wait_clock_past(ms: i64) -> i64 {
    wait_for(PATIENCE, &format!("the clock past {ms}"), || {
        Some(now_ms()).filter(|&now| now > ms)
    })
}

pub const GET_BROKER_RUNTIME_INFO: i32 = 28;

/// GET_BROKER_RUNTIME_INFO's table.
pub fn runtime_info(conn: &mut TcpStream) -> serde_json::Value {
    let (header, body) = request(conn, GET_BROKER_RUNTIME_INFO, serde_json::json!({}));
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    json_body(&body)["table"].clone()
}

/// The integer value of `key` in a runtime-info table, where every value is text.
pub fn runtime_long(table: &serde_json::Value, key: &str) -> i64 {
    let text = table[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {table}"));
    text.parse().unwrap_or_else(|_| panic!("{key}={text}"))
}

/// Waits until the shard behind `conn` has written every appended byte to its files (not
/// necessarily synced): what a kill of the process can no longer take back.
pub fn wait_all_written(conn: &mut TcpStream) {
    wait_until(PATIENCE, "every appended byte written", || {
        let table = runtime_info(conn);
        runtime_long(&table, "commitLogWrittenOffset") == runtime_long(&table, "commitLogMaxOffset")
    });
}

/// Waits until the shard behind `conn` has delivered every delayed message it holds and
/// filed the deliveries, so a pull sees all it will ever get from the delay service.
pub fn wait_delays_delivered(conn: &mut TcpStream) {
    wait_until(PATIENCE, "every delayed message delivered", || {
        let table = runtime_info(conn);
        let levels = table.as_object().expect("a table").iter();
        let mut progress = levels.filter(|(key, _)| key.starts_with("scheduleMessageOffset_"));
        let caught_up = progress.all(|(_, value)| {
            let (cursor, end) = value
                .as_str()
                .and_then(|v| v.split_once(','))
                .expect("cursor,end");
            cursor == end
        });
        caught_up && runtime_long(&table, "dispatchBehindBytes") == 0
    });
}

/// Waits until the shard behind `conn` holds `count` parked pulls.
pub fn wait_parked_pulls(conn: &mut TcpStream, count: i64) {
    wait_until(PATIENCE, &format!("{count} parked pulls"), || {
        runtime_long(&runtime_info(conn), "parkedPulls") == count
    });
}

/// The fields of a stored record (docs/protocol.md §3.1) a test compares; IPv4 hosts only.
#[derive(Debug, PartialEq, Eq)]
pub struct Record {
    pub queue_id: i32,
    pub queue_offset: i64,
    pub physical_offset: i64,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub body: Vec<u8>,
    pub topic: String,
    pub properties: String,
}

/// Decodes one v1 record with IPv4 hosts that fills `bytes` exactly.
pub fn decode_record(bytes: &[u8]) -> Record {
    let i32_at = |at: usize| i32::from_be_bytes(bytes[at..at + 4].try_into().expect("4"));
    let i64_at = |at: usize| i64::from_be_bytes(bytes[at..at + 8].try_into().expect("8"));
    assert_eq!(i32_at(0) as usize, bytes.len(), "TOTALSIZE");
    assert_eq!(i32_at(4) as u32, 0xDAA3_20A7, "v1 magic");
    let store_ip: [u8; 4] = bytes[64..68].try_into().expect("4");
    let store_host = SocketAddr::from((store_ip, i32_at(68) as u16));
    let body_len = i32_at(84) as usize;
    let body = bytes[88..88 + body_len].to_vec();
    let topic_at = 88 + body_len + 1;
    let topic_len = bytes[88 + body_len] as usize;
    let topic = String::from_utf8(bytes[topic_at..topic_at + topic_len].to_vec()).expect("UTF-8");
    let props_at = topic_at + topic_len + 2;
    let props_len = u16::from_be_bytes([bytes[props_at - 2], bytes[props_at - 1]]) as usize;
    assert_eq!(props_at + props_len, bytes.len(), "lengths add up");
    Record {
        queue_id: i32_at(12),
        queue_offset: i64_at(20),
        physical_offset: i64_at(28),
        store_timestamp: i64_at(56),
        store_host,
        body,
        topic,
        properties: String::from_utf8(bytes[props_at..].to_vec()).expect("UTF-8"),
    }
}

/// Decodes an offset message id (docs/protocol.md §3.5, IPv4): the store host and the offset.
pub fn decode_offset_message_id(id: &str) -> (SocketAddr, i64) {
    assert_eq!(id.len(), 32, "an IPv4 offset message id: {id}");
    let bytes: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&id[2 * i..2 * i + 2], 16).expect("hex"))
        .collect();
    let port = u32::from_be_bytes(bytes[4..8].try_into().expect("4"));
    let ip: [u8; 4] = bytes[..4].try_into().expect("4");
    let offset = i64::from_be_bytes(bytes[8..].try_into().expect("8"));
    (SocketAddr::from((ip, port as u16)), offset)
}

/// Asks the NameServer at `namesrv` for `topic`'s route until it lists `brokers` brokers
/// (registration is asynchronous at start-up), or 20 s pass; returns the last route.
pub fn wait_route(namesrv: SocketAddr, topic: &str, brokers: usize) -> serde_json::Value {
    let what = format!("route of {topic} listing {brokers} brokers");
    wait_for(PATIENCE, &what, || {
        let mut conn = TcpStream::connect(namesrv).ok()?;
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let fields = serde_json::json!({ "topic": topic });
        let (header, body) = request(&mut conn, GET_ROUTEINFO_BY_TOPIC, fields);
        if code_of(&header) != SUCCESS {
            return None;
        }
        let route = json_body(&body);
        let listed = route["brokerDatas"].as_array().map_or(0, Vec::len);
        (listed == brokers).then_some(route)
    })
}

/// Creates the subscription group `group` through `stream`, as mqadmin's updateSubGroup does.
pub fn create_group(stream: &mut TcpStream, group: &str) {
    let body = serde_json::json!({ "groupName": group }).to_string();
    let (header, _) = request_with_body(stream, 200, serde_json::json!({}), body.as_bytes());
    assert_eq!(code_of(&header), SUCCESS, "{header}");
}

/// Creates `topic` with `queues` read and write queues through `stream`, as mqadmin does.
pub fn create_topic(stream: &mut TcpStream, topic: &str, queues: i32) -> serde_json::Value {
    let (header, _) = request(
        stream,
        UPDATE_AND_CREATE_TOPIC,
        serde_json::json!({
            "topic": topic, "defaultTopic": "TBW102", "readQueueNums": queues.to_string(),
            "writeQueueNums": queues.to_string(), "perm": "6",
            "topicFilterType": "SINGLE_TAG", "topicSysFlag": "0", "order": "false",
        }),
    );
    header
}

/// Asks for a stats body (GET_TOPIC_STATS_INFO, GET_CONSUME_STATS), expects SUCCESS and
/// parses it with [`parse_stats_body`].
pub fn stats_request(
    conn: &mut TcpStream,
    code: i32,
    fields: serde_json::Value,
) -> (
    serde_json::Map<String, serde_json::Value>,
    Vec<(serde_json::Value, serde_json::Value)>,
) {
    let (header, body) = request(conn, code, fields);
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    parse_stats_body(&body)
}

/// The integer field `key` of a JSON object.
pub fn int(value: &serde_json::Value, key: &str) -> i64 {
    value[key]
        .as_i64()
        .unwrap_or_else(|| panic!("no integer {key} in {value}"))
}

/// A stats body whose `offsetTable` is keyed by MessageQueue objects, fastjson's non-JSON
/// form (docs/protocol.md §1.9.5): its other fields, and the table's (key, value) pairs in order.
pub fn parse_stats_body(
    body: &[u8],
) -> (
    serde_json::Map<String, serde_json::Value>,
    Vec<(serde_json::Value, serde_json::Value)>,
) {
    let text = std::str::from_utf8(body).expect("UTF-8 body");
    let mut p = FastjsonParser { text, at: 0 };
    let (mut fields, mut table) = (serde_json::Map::new(), Vec::new());
    p.expect('{');
    loop {
        let key = p.value();
        let key = key.as_str().expect("a field name").to_owned();
        p.expect(':');
        if key == "offsetTable" {
            p.expect('{');
            let mut more = !p.eat('}');
            while more {
                let queue = p.value();
                p.expect(':');
                table.push((queue, p.value()));
                more = !p.eat('}');
                if more {
                    p.expect(',');
                }
            }
        } else {
            fields.insert(key, p.value());
        }
        if p.eat('}') {
            break;
        }
        p.expect(',');
    }
    assert_eq!(p.at, text.len(), "one object: {text}");
    (fields, table)
}

/// Reads fastjson text a token at a time, each value with serde_json.
struct FastjsonParser<'a> {
    text: &'a str,
    at: usize,
}

impl FastjsonParser<'_> {
    fn value(&mut self) -> serde_json::Value {
        let rest = &self.text[self.at..];
        let mut values = serde_json::Deserializer::from_str(rest).into_iter();
        let value = values.next().expect("a value").expect("a JSON value");
        self.at += values.byte_offset();
        value
    }

    fn eat(&mut self, c: char) -> bool {
        let found = self.text[self.at..].starts_with(c);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect(&mut self, c: char) {
        assert!(
            self.eat(c),
            "expected {c:?} at {} of {}",
            self.at,
            self.text
        );
    }
}

pub const PULL_MESSAGE: i32 = 11;
pub const PULL_FOUND: i64 = 0;

/// Pulls up to 32 messages of (`topic`, `queue`) from `offset` for group `cg`, subscribed to
/// everything, without waiting; returns the response header and body.
pub fn pull(
    stream: &mut TcpStream,
    topic: &str,
    queue: i32,
    offset: u64,
) -> (serde_json::Value, Vec<u8>) {
    let fields = serde_json::json!({
        "consumerGroup": "cg", "topic": topic, "queueId": queue, "queueOffset": offset,
        "maxMsgNums": 32, "sysFlag": 4, "commitOffset": 0, "suspendTimeoutMillis": 0,
        "subscription": "*", "subVersion": 0, "expressionType": "TAG"
    });
    request(stream, PULL_MESSAGE, fields)
}

/// Pulls (`topic`, `queue`) from `offset` until a message is found; returns the body of the
/// first answer that found something.
pub fn pull_until_found(stream: &mut TcpStream, topic: &str, queue: i32, offset: u64) -> Vec<u8> {
    let what = format!("a message in {topic}/{queue} from {offset}");
    wait_for(PATIENCE, &what, || {
        let (header, body) = pull(stream, topic, queue, offset);
        (code_of(&header) == PULL_FOUND).then_some(body)
    })
}

/// Sends a HEART_BEAT with `body` and returns its response, skipping the
/// NOTIFY_CONSUMER_IDS_CHANGED the broker may push first.
pub fn heart_beat(stream: &mut TcpStream, body: &str) -> serde_json::Value {
    let header =
        r#"{"code":34,"language":"JAVA","version":479,"opaque":3,"flag":0,"extFields":{}}"#;
    write_all(stream, &json_frame(header, body.as_bytes()));
    loop {
        let frame = read_frame(stream).expect("a frame").json();
        if frame["flag"].as_i64().unwrap_or(0) & 1 == 1 {
            return frame;
        }
    }
}

/// The seeds a seeded simulation runs: `STORAGE_SIM_SEED=<seed>` replays one,
/// `STORAGE_SIM_SEEDS=<n>` runs the first n, and `default` of them run otherwise.
pub fn sim_seeds(default: u64) -> Vec<u64> {
    if let Ok(s) = std::env::var("STORAGE_SIM_SEED") {
        return vec![s.parse().expect("STORAGE_SIM_SEED is a number")];
    }
    let n = std::env::var("STORAGE_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    (0..n).collect()
}
