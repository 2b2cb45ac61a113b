//! What a client driver printed: its JSON-lines events, exit status and log, read as the
//! user-visible facts the scenarios assert on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

/// One acknowledged send (one batch in batch mode) as the client reported it.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Index of the (first) message: its key is `key-<index>`, its body `body-<index>`.
    pub index: u64,
    /// Messages in this send: 1, or the batch length.
    pub size: u64,
    /// `SEND_OK` etc.; absent for oneway sends, which have no result.
    pub status: Option<String>,
    pub msg_id: Option<String>,
    pub queue_id: Option<i64>,
    pub queue_offset: Option<i64>,
    /// The broker (shard) of the queue the send went to, as the send result names it (the
    /// Rust and ali-ons drivers).
    pub broker_name: Option<String>,
    /// A transactional send: what the local transaction returned (`COMMIT_MESSAGE`,
    /// `ROLLBACK_MESSAGE`, `UNKNOW`), as the client's send result gives it.
    pub local_state: Option<String>,
    /// A transactional send: the transaction id of the send result.
    pub transaction_id: Option<String>,
}

/// One check of a transaction (CHECK_TRANSACTION_STATE) as the producer's listener got it.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The index its key names (`<key-prefix><index>`), if it names one.
    pub index: Option<u64>,
    /// 1 for this producer's first check of the message, 2 for its second…
    pub nth: u64,
    /// What the listener answered: `COMMIT_MESSAGE`, `ROLLBACK_MESSAGE` or `UNKNOW`.
    pub answer: String,
    pub msg_id: Option<String>,
    pub transaction_id: Option<String>,
    pub uniq_key: Option<String>,
    pub topic: Option<String>,
    pub keys: Option<String>,
    pub body: Option<String>,
    /// The TRANSACTION_CHECK_TIMES property of the checked message, if the broker sets it.
    pub check_times: Option<String>,
}

impl Checked {
    /// The id that names the message: its UNIQ_KEY, the id the producer's send returned.
    pub fn id(&self) -> Option<&str> {
        self.uniq_key
            .as_deref()
            .or(self.transaction_id.as_deref())
            .or(self.msg_id.as_deref())
    }
}

/// One message delivered to a consumer's listener.
#[derive(Debug, Clone)]
pub struct Received {
    pub msg_id: Option<String>,
    pub uniq_key: Option<String>,
    pub topic: Option<String>,
    pub queue_id: Option<i64>,
    pub queue_offset: Option<i64>,
    pub tags: Option<String>,
    pub keys: Option<String>,
    pub body: Option<String>,
    /// How many times the message was consumed before, as the client gives it: above 0, a
    /// delivery from the group's retry topic, whose queue id and offset (the Rust client's) are
    /// those of the retry queue.
    pub reconsume_times: Option<i64>,
}

impl Received {
    /// The id that names this message across clients: UNIQ_KEY when the producer set one.
    pub fn id(&self) -> Option<&str> {
        self.uniq_key.as_deref().or(self.msg_id.as_deref())
    }
}

/// One queue's offset in the table an admin reset got back from the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetQueue {
    pub topic: String,
    pub broker_name: String,
    pub queue_id: i64,
    /// The offset the group's queue was set to.
    pub offset: i64,
}

/// A broker's configuration keys as an admin run printed them: a `config` line (every key the
/// broker answered) or an `updated` line (the keys of an accepted change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerConfig {
    /// The broker address the request went to.
    pub broker_addr: String,
    /// Each key with its value, as text.
    pub keys: BTreeMap<String, String>,
}

/// The whole output of one client run.
#[derive(Debug, Clone)]
pub struct Report {
    /// `<client> <role> <topic>`, for messages.
    pub label: String,
    pub events: Vec<Value>,
    /// Exit code; `None` when the harness had to kill the process.
    pub exit_code: Option<i32>,
    pub log: PathBuf,
    /// Where the C++ client (PyPI `rocketmq`) logs this run ([`Report::native_log`]); `None`
    /// for the other clients.
    pub native_log: Option<NativeLog>,
}

fn text(value: &Value, field: &str) -> Option<String> {
    value.get(field).and_then(Value::as_str).map(str::to_string)
}

fn number(value: &Value, field: &str) -> Option<i64> {
    value.get(field).and_then(Value::as_i64)
}

impl Report {
    fn of_kind(&self, event: &str) -> impl Iterator<Item = &Value> {
        let event = event.to_string();
        self.events
            .iter()
            .filter(move |value| value.get("event").and_then(Value::as_str) == Some(&event))
    }

    pub fn started(&self) -> bool {
        self.of_kind("started").next().is_some()
    }

    pub fn done(&self) -> Option<&Value> {
        self.of_kind("done").last()
    }

    pub fn errors(&self) -> Vec<String> {
        self.of_kind("error")
            .map(|value| {
                format!(
                    "{} #{}: {}",
                    text(value, "stage").unwrap_or_default(),
                    value.get("index").unwrap_or(&Value::Null),
                    text(value, "error").unwrap_or_default()
                )
            })
            .collect()
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.of_kind("sent")
            .map(|value| Sent {
                index: number(value, "index").unwrap_or(-1) as u64,
                size: number(value, "size").unwrap_or(1) as u64,
                status: text(value, "status"),
                msg_id: text(value, "msgId"),
                queue_id: number(value, "queueId"),
                queue_offset: number(value, "queueOffset"),
                broker_name: text(value, "brokerName"),
                local_state: text(value, "localState"),
                transaction_id: text(value, "transactionId"),
            })
            .collect()
    }

    /// The checks of transactions the producer's listener got, in the order it got them.
    pub fn checked(&self) -> Vec<Checked> {
        self.of_kind("checked")
            .map(|value| Checked {
                index: number(value, "index").map(|index| index as u64),
                nth: number(value, "nth").unwrap_or(0) as u64,
                answer: text(value, "answer").unwrap_or_default(),
                msg_id: text(value, "msgId"),
                transaction_id: text(value, "transactionId"),
                uniq_key: text(value, "uniqKey"),
                topic: text(value, "topic"),
                keys: text(value, "keys"),
                body: text(value, "body"),
                check_times: text(value, "checkTimes"),
            })
            .collect()
    }

    /// The checks of message `index` the producer got.
    pub fn checks_of(&self, index: u64) -> Vec<Checked> {
        let checks = self.checked().into_iter();
        checks.filter(|check| check.index == Some(index)).collect()
    }

    /// The offset table of an admin reset (a `reset` event), queue by queue, if it printed
    /// one.
    pub fn reset_offsets(&self) -> Option<Vec<ResetQueue>> {
        let last = self.of_kind("reset").last()?;
        let offsets = last.get("offsets").and_then(Value::as_array)?;
        let queues = offsets.iter().map(|entry| ResetQueue {
            topic: text(entry, "topic").unwrap_or_default(),
            broker_name: text(entry, "brokerName").unwrap_or_default(),
            queue_id: number(entry, "queueId").unwrap_or(-1),
            offset: number(entry, "offset").unwrap_or(-1),
        });
        Some(queues.collect())
    }

    /// The configuration an admin read of a broker's configuration got (its `config` line), if
    /// it printed one.
    pub fn broker_config(&self) -> Option<BrokerConfig> {
        broker_config(self.of_kind("config").last()?)
    }

    /// The keys of an admin change of a broker's configuration the broker accepted (its
    /// `updated` line), if it printed one.
    pub fn updated_config(&self) -> Option<BrokerConfig> {
        broker_config(self.of_kind("updated").last()?)
    }

    /// The queue ids of the topic the consumer held after its last rebalance, if the client
    /// reports them (a `queues` event; only the ali-ons driver does).
    pub fn queues(&self) -> Option<BTreeSet<i64>> {
        let last = self.of_kind("queues").last()?;
        let ids = last.get("queueIds").and_then(Value::as_array)?;
        Some(ids.iter().filter_map(Value::as_i64).collect())
    }

    pub fn received(&self) -> Vec<Received> {
        self.of_kind("received").map(received).collect()
    }

    /// The message ids the producer was given for its sends.
    pub fn sent_ids(&self) -> BTreeSet<String> {
        self.sent().into_iter().filter_map(|s| s.msg_id).collect()
    }

    /// Every id the consumer saw for the messages it received: ali-ons and the C++ client
    /// report one of the two (offset id or UNIQ_KEY) at send time, the Rust client the
    /// UNIQ_KEY, so a sent id is among these whichever the client reported.
    pub fn received_ids(&self) -> BTreeSet<String> {
        self.received()
            .into_iter()
            .flat_map(|m| [m.msg_id, m.uniq_key])
            .flatten()
            .collect()
    }

    /// Bodies received, sorted, as a user would list what arrived.
    pub fn bodies(&self) -> Vec<String> {
        let mut bodies: Vec<String> = self.received().into_iter().filter_map(|m| m.body).collect();
        bodies.sort();
        bodies
    }

    /// Bodies received, in the order the client delivered them to its listener.
    pub fn bodies_in_order(&self) -> Vec<String> {
        self.received().into_iter().filter_map(|m| m.body).collect()
    }

    /// Panics with everything the client said unless it ran to a successful `done`.
    pub fn assert_ok(&self) {
        let ok = self
            .done()
            .and_then(|done| done.get("ok"))
            .and_then(Value::as_bool)
            == Some(true);
        assert!(
            ok && self.exit_code == Some(0),
            "{} did not succeed (exit {:?}, done {:?}); errors: {:#?}\n{}",
            self.label,
            self.exit_code,
            self.done(),
            self.errors(),
            self.log_tail()
        );
    }

    /// Asserts the run succeeded and every one of `count` messages was acknowledged SEND_OK
    /// with a message id (a batch: one id per message, comma-separated).
    pub fn assert_all_sent(&self, count: usize) {
        self.assert_ok();
        let sent = self.sent();
        let total: u64 = sent.iter().map(|s| s.size).sum();
        assert_eq!(total, count as u64, "{}: messages acknowledged", self.label);
        for result in &sent {
            assert_eq!(result.status.as_deref(), Some("SEND_OK"), "{result:?}");
            let ids = result.msg_id.as_deref().unwrap_or_default();
            let ids: Vec<&str> = ids.split(',').collect();
            let expected = if result.size > 1 {
                result.size as usize
            } else {
                1
            };
            assert_eq!(ids.len(), expected, "message ids of {result:?}");
            assert!(
                ids.iter().all(|id| is_message_id(id)),
                "message ids of {result:?}"
            );
        }
    }

    /// What the C++ client (PyPI `rocketmq`) logged in this run, where it logs what it does
    /// not pass on to its user (a broker's refusal of a send, a refused heartbeat): files of its
    /// own named after the process id, not stderr ([`NativeLog`]). Empty for the other
    /// clients.
    pub fn native_log(&self) -> String {
        self.native_log
            .as_ref()
            .map(NativeLog::read)
            .unwrap_or_default()
    }

    /// The last lines of the client's stderr, where the client libraries log.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        format!("--- {} (last lines) ---\n{tail}", self.log.display())
    }
}

fn broker_config(value: &Value) -> Option<BrokerConfig> {
    let keys = value.get("keys").and_then(Value::as_object)?;
    let keys = keys.iter().map(|(key, value)| {
        let value = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_string);
        (key.clone(), value)
    });
    Some(BrokerConfig {
        broker_addr: text(value, "brokerAddr").unwrap_or_default(),
        keys: keys.collect(),
    })
}

fn received(value: &Value) -> Received {
    Received {
        msg_id: text(value, "msgId"),
        uniq_key: text(value, "uniqKey"),
        topic: text(value, "topic"),
        queue_id: number(value, "queueId"),
        queue_offset: number(value, "queueOffset"),
        tags: text(value, "tags"),
        keys: text(value, "keys"),
        body: text(value, "body"),
        reconsume_times: number(value, "reconsumeTimes"),
    }
}

/// The log of the C++ client (PyPI `rocketmq`) of one process:
/// `$HOME/logs/rocketmq-cpp/<pid>_rocketmq-cpp.log.<n>`, `HOME` being `.cache/python-home` for
/// the harness's runs. A file of that name left by an earlier process with the same id is kept:
/// the client then writes to the next free `<n>` (or on after what is there), so what was there
/// when the run began is left out.
#[derive(Debug, Clone)]
pub struct NativeLog {
    pid: u32,
    /// The files of this process id there were before the run, and their lengths.
    before: BTreeMap<PathBuf, u64>,
}

impl NativeLog {
    /// The log of process `pid`, taken before its client has written anything.
    pub fn of(pid: u32) -> NativeLog {
        NativeLog {
            pid,
            before: NativeLog::files(pid).into_iter().collect(),
        }
    }

    /// Every file of process id `pid`, with its length.
    fn files(pid: u32) -> Vec<(PathBuf, u64)> {
        let dir = super::repo_root().join(".cache/python-home/logs/rocketmq-cpp");
        let prefix = format!("{pid}_rocketmq-cpp.log.");
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut files: Vec<(PathBuf, u64)> = entries
            .flatten()
            .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
            .map(|entry| {
                let len = entry.metadata().map_or(0, |m| m.len());
                (entry.path(), len)
            })
            .collect();
        files.sort();
        files
    }

    /// What the run wrote, file after file.
    pub fn read(&self) -> String {
        let mut text = String::new();
        for (file, _) in NativeLog::files(self.pid) {
            let bytes = std::fs::read(&file).unwrap_or_default();
            let start = self.before.get(&file).copied().unwrap_or(0);
            let start = usize::try_from(start).unwrap_or(0);
            // A file shorter than it was was started afresh.
            let ours = bytes.get(start..).unwrap_or(&bytes);
            text.push_str(&String::from_utf8_lossy(ours));
        }
        text
    }
}

/// The body the drivers send for `text` and a `--body-sizes` item: the text, then the filler
/// `0123456789abcdefghijklmnopqrstuvwxyz` repeated and cut to `size` bytes; 0 (or a size
/// the text already reaches) leaves the text alone.
pub fn padded_body(text: &str, size: usize) -> String {
    const FILLER: &str = "0123456789abcdefghijklmnopqrstuvwxyz";
    let fill = size.saturating_sub(text.len());
    let mut body = String::with_capacity(text.len() + fill);
    body.push_str(text);
    body.extend(FILLER.chars().cycle().take(fill));
    body
}

/// Bodies `<prefix>0 .. <prefix>(count-1)`, sorted like [`Report::bodies`].
pub fn expected_bodies(prefix: &str, indexes: impl IntoIterator<Item = usize>) -> Vec<String> {
    let mut bodies: Vec<String> = indexes
        .into_iter()
        .map(|i| format!("{prefix}{i}"))
        .collect();
    bodies.sort();
    bodies
}

/// Queue offsets seen per queue id, in arrival order.
pub fn offsets_by_queue(pairs: impl IntoIterator<Item = (i64, i64)>) -> BTreeMap<i64, Vec<i64>> {
    let mut by_queue: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (queue, offset) in pairs {
        by_queue.entry(queue).or_default().push(offset);
    }
    by_queue
}

/// True when `id` looks like a RocketMQ message id: 32 upper-case hex digits.
pub fn is_message_id(id: &str) -> bool {
    id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit())
}
