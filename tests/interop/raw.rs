//! The harness's own raw requests to the broker (topic creation, runtime figures, offsets,
//! pulls that read records back), each on a connection of its own, signed as the admin
//! account when the broker checks the plain ACL.

use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;
use shardmq::wire::signature::Credentials;

use super::cluster::{
    Cluster, GET_BROKER_RUNTIME_INFO, PULL_MESSAGE, PULL_WITH_SUBSCRIPTION, SUCCESS,
};
use crate::common::{json_frame, read_frame};

impl Cluster {
    /// `parkedPulls` of GET_BROKER_RUNTIME_INFO at the shard listening on `port`.
    pub(super) fn parked_pulls(&self, port: u16) -> usize {
        let table = self.runtime_table(port);
        let parked = table["parkedPulls"].as_str().expect("parkedPulls");
        parked.parse().expect("a count")
    }

    /// GET_BROKER_RUNTIME_INFO's table at the shard listening on `port` (every value is text).
    pub(super) fn runtime_table(&self, port: u16) -> Value {
        let header = serde_json::json!({
            "code": GET_BROKER_RUNTIME_INFO, "language": "JAVA", "version": 453, "opaque": 4,
            "flag": 0, "serializeTypeCurrentRPC": "JSON", "extFields": {},
        });
        let (response, body) = self.request_with_body(port, &header);
        assert_eq!(
            response["code"], SUCCESS,
            "GET_BROKER_RUNTIME_INFO at {port}: {response}"
        );
        let info: Value = serde_json::from_slice(&body).expect("a runtime-info body");
        info["table"].clone()
    }

    pub(super) fn request(&self, port: u16, header: &Value) -> Value {
        self.request_with_body(port, header).0
    }

    /// Every raw request of the harness goes through here: signed as the admin account when
    /// the broker checks the plain ACL, as `mqadmin` signs with its configured keys.
    pub(super) fn request_with_body(&self, port: u16, header: &Value) -> (Value, Vec<u8>) {
        request_as(port, header, self.admin())
    }
}

/// The `offset` field of a response header, a number sent as text.
pub(super) fn offset_field(response: &Value) -> i64 {
    let offset = response["extFields"]["offset"].as_str();
    let offset = offset.unwrap_or_else(|| panic!("no offset in {response}"));
    offset.parse().expect("a number")
}

/// Sends `header` (no body) to 127.0.0.1:`port`, signed as `credentials` when given, and
/// returns the response header and body.
pub(super) fn request_as(
    port: u16,
    header: &Value,
    credentials: Option<&Credentials>,
) -> (Value, Vec<u8>) {
    let mut header = header.clone();
    if let Some(credentials) = credentials {
        let code = header["code"].as_i64().expect("a request code");
        let code = i32::try_from(code).expect("a request code");
        header["extFields"] = crate::common::sign(code, &header["extFields"], b"", credentials);
    }
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect for a request");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    crate::common::write_all(&mut stream, &json_frame(&header.to_string(), b""));
    let frame = read_frame(&mut stream).expect("a response frame");
    (frame.json(), frame.body)
}

/// A PULL_MESSAGE of up to `max` messages of `topic`'s `queue` from `offset`, by a group of its
/// own that commits nothing and is not held.
pub(super) fn raw_pull(
    topic: &str,
    queue: u32,
    offset: impl ToString,
    max: u32,
) -> serde_json::Value {
    serde_json::json!({
        "code": PULL_MESSAGE, "language": "JAVA", "version": 453, "opaque": 3,
        "flag": 0, "serializeTypeCurrentRPC": "JSON",
        "extFields": {
            "consumerGroup": "interop_raw_reader", "topic": topic,
            "queueId": queue.to_string(), "queueOffset": offset.to_string(),
            "maxMsgNums": max.to_string(), "sysFlag": PULL_WITH_SUBSCRIPTION.to_string(),
            "commitOffset": "0", "suspendTimeoutMillis": "0", "subscription": "*",
            "subVersion": "0", "expressionType": "TAG",
        },
    })
}
