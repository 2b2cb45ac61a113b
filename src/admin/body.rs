//! Reading the JSON bodies brokers and NameServers answer. Java's fastjson writes map keys
//! that are not strings bare: integers (`{0:"addr"}`) and, for the MessageQueue-keyed tables
//! of topic and consume statistics, whole objects (`{{"brokerName":"b","queueId":0,
//! "topic":"T"}:{…}}`). Both become string keys ([`quote_bare_keys`]), an object key its
//! JSON text, which [`queue_key`] reads back.

use serde::Deserialize;
use serde_json::Value;

use crate::wire::body::quote_bare_keys;

/// The body as JSON, fastjson's bare keys quoted; `None` when it is not JSON even then.
pub fn parse(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(&quote_bare_keys(body)).ok()
}

/// A MessageQueue written as a map key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueKey {
    pub topic: String,
    pub broker_name: String,
    pub queue_id: i64,
}

/// The MessageQueue of a key [`parse`] made from an object key.
pub fn queue_key(key: &str) -> Option<QueueKey> {
    serde_json::from_str(key).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fastjson_keys_become_strings() {
        let body =
            br#"{"offsetTable":{{"brokerName":"b-0","queueId":1,"topic":"T"}:{"maxOffset":5},
            {"brokerName":"b-0","queueId":0,"topic":"T"} : {"maxOffset":3}},"brokerAddrs":{0:"a:1"},
            "list":[{"x":1},{"y":"{not:a key}"}]}"#;
        let value = parse(body).expect("JSON once quoted");
        let table = value["offsetTable"].as_object().expect("table");
        let mut queues: Vec<(QueueKey, i64)> = table
            .iter()
            .map(|(k, v)| {
                (
                    queue_key(k).expect("a queue"),
                    v["maxOffset"].as_i64().expect("n"),
                )
            })
            .collect();
        queues.sort();
        assert_eq!(queues[0].0.queue_id, 0);
        assert_eq!(
            queues[1],
            (
                QueueKey {
                    topic: "T".into(),
                    broker_name: "b-0".into(),
                    queue_id: 1
                },
                5
            )
        );
        assert_eq!(value["brokerAddrs"]["0"], "a:1");
        assert_eq!(value["list"][1]["y"], "{not:a key}");
        assert!(parse(b"{{\"a\":1}").is_none());
    }
}
