//! fastjson's form of a `Map<MessageQueue, V>` (docs/protocol.md §1.9.5), the `offsetTable` of
//! TopicStatsTable, ConsumeStats and ResetOffsetBody: each key is the MessageQueue object
//! itself, `{{"brokerName":"b","queueId":0,"topic":"T"}:{…},…}`. That is not JSON, so
//! serde cannot write it; this writes it by hand, compact, keys in fastjson's sorted order,
//! which is what Java's parser and the Go client's splitter read.

use serde::Serialize;

/// The MessageQueue of a key, fields in fastjson's (alphabetical) order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MessageQueue<'a> {
    broker_name: &'a str,
    queue_id: u32,
    topic: &'a str,
}

/// A `Map<MessageQueue, V>` being written, for the queues of one broker.
#[derive(Debug)]
pub struct MqTable<'a> {
    broker_name: &'a str,
    text: String,
}

impl<'a> MqTable<'a> {
    pub fn new(broker_name: &'a str) -> Self {
        MqTable {
            broker_name,
            text: String::from("{"),
        }
    }

    /// Adds the entry of queue `queue_id` of `topic`.
    pub fn push(&mut self, topic: &str, queue_id: u32, value: &impl Serialize) {
        if self.text.len() > 1 {
            self.text.push(',');
        }
        let key = MessageQueue {
            broker_name: self.broker_name,
            queue_id,
            topic,
        };
        self.text.push_str(&to_json(&key));
        self.text.push(':');
        self.text.push_str(&to_json(value));
    }

    /// The map's text.
    pub fn finish(mut self) -> String {
        self.text.push('}');
        self.text
    }
}

/// Compact JSON of a value made of strings and numbers.
pub fn to_json(value: &impl Serialize) -> String {
    // Structs of strings and finite numbers always serialize.
    serde_json::to_string(value).unwrap_or_else(|err| panic!("stats body encode: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Offsets {
        max_offset: i64,
        min_offset: i64,
    }

    #[test]
    fn keys_are_message_queue_objects() {
        let mut table = MqTable::new("broker-a-0");
        assert_eq!(MqTable::new("b").finish(), "{}");
        table.push(
            "T",
            0,
            &Offsets {
                max_offset: 5,
                min_offset: 0,
            },
        );
        table.push(
            "T\"q",
            1,
            &Offsets {
                max_offset: 0,
                min_offset: 0,
            },
        );
        assert_eq!(
            table.finish(),
            concat!(
                r#"{{"brokerName":"broker-a-0","queueId":0,"topic":"T"}:{"maxOffset":5,"minOffset":0},"#,
                r#"{"brokerName":"broker-a-0","queueId":1,"topic":"T\"q"}:{"maxOffset":0,"minOffset":0}}"#
            )
        );
    }
}
