//! `produce`: sends `count` messages in one of the client's send styles and prints a `sent`
//! line per acknowledged send (per batch in batch mode). Transaction mode is in
//! [`crate::transaction`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use rocketmq_client_rust::{
    ClientError, ClientRuntime, DefaultMQProducer, LocalTransactionState, SendResult,
};
use rocketmq_model::common::message::message_queue::MessageQueue;
use rocketmq_model::common::message::message_single::Message;
use serde_json::{json, Value};

use crate::credentials::CredentialArgs;
use crate::output;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// `send_with_timeout`, one after another.
    Sync,
    /// `send_with_callback_timeout` for every message, at most 128 awaiting their callbacks.
    Async,
    /// `send_oneway`: no result comes back.
    Oneway,
    /// `send_batch_with_timeout` with `--batch-size` messages per call.
    Batch,
    /// A `TransactionMQProducer`: `send_message_in_transaction`, one after another, each local
    /// transaction and each check of it answered as `--outcomes` says.
    Transaction,
}

#[derive(Debug, Args)]
pub struct ProduceArgs {
    /// NameServer address list, `host:port[;host:port]`.
    #[arg(long)]
    pub(crate) namesrv: String,
    #[arg(long)]
    pub(crate) topic: String,
    #[arg(long, default_value = "interop_pg")]
    pub(crate) group: String,
    #[arg(long, default_value_t = 1)]
    pub(crate) count: usize,
    #[arg(long, value_enum, default_value = "sync")]
    mode: Mode,
    /// Tags given to messages in turn, comma-separated; an empty item sends a message untagged.
    #[arg(long, default_value = "TagA")]
    tags: String,
    /// Message i gets key `<key-prefix><i>` and body `<body-prefix><i>`.
    #[arg(long, default_value = "key-")]
    pub(crate) key_prefix: String,
    #[arg(long, default_value = "body-")]
    body_prefix: String,
    /// Body sizes in bytes given to messages in turn, comma-separated: the body's text, then
    /// `0123456789abcdefghijklmnopqrstuvwxyz` repeated and cut to the size; 0 leaves the text.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    body_sizes: Vec<usize>,
    #[arg(long, default_value_t = 10)]
    batch_size: usize,
    /// Send every message with `send_with_selector`, the queue chosen by one order id for all
    /// (sync mode only: each send is acknowledged before the next starts).
    #[arg(long)]
    orderly: bool,
    /// Transaction mode: message i's item, the `i mod n`-th of these comma-separated ones, says
    /// what its local transaction returns (`commit`, `rollback` or `unknown`), then, after
    /// colons, the answers to the broker's checks of it in turn, the last one again for every
    /// later check; with none, checks are answered with the local outcome. E.g.
    /// `commit,rollback,unknown:unknown:commit`. A check names its message by its key.
    #[arg(long, value_delimiter = ',', value_parser = Outcome::parse, default_value = "commit")]
    pub(crate) outcomes: Vec<Outcome>,
    /// Transaction mode: after the sends, go on answering the broker's checks until stdin
    /// ends (or `--seconds` passed), as a producer of the group that stays up does.
    #[arg(long)]
    pub(crate) serve_checks: bool,
    /// Timeout of one send call.
    #[arg(long, default_value_t = 3000)]
    send_timeout_ms: u64,
    /// Upper bound of the whole run; async callbacks still missing then count as failures.
    #[arg(long, default_value_t = 60)]
    pub(crate) seconds: u64,
    #[command(flatten)]
    pub(crate) credentials: CredentialArgs,
}

/// What a local transaction returns, or what a check of it is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Commit,
    Rollback,
    Unknown,
}

impl State {
    fn parse(text: &str) -> Result<State, String> {
        match text {
            "commit" => Ok(State::Commit),
            "rollback" => Ok(State::Rollback),
            "unknown" => Ok(State::Unknown),
            other => Err(format!("{other:?}: commit, rollback or unknown")),
        }
    }

    pub(crate) fn local(self) -> LocalTransactionState {
        match self {
            State::Commit => LocalTransactionState::CommitMessage,
            State::Rollback => LocalTransactionState::RollbackMessage,
            State::Unknown => LocalTransactionState::Unknown,
        }
    }
}

/// One `--outcomes` item: a message's local transaction outcome and its check answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub(crate) local: State,
    answers: Vec<State>,
}

impl Outcome {
    fn parse(text: &str) -> Result<Outcome, String> {
        let mut states = text.split(':').map(State::parse);
        let local = states.next().unwrap_or(Ok(State::Unknown))?;
        let answers = states.collect::<Result<Vec<State>, String>>()?;
        Ok(Outcome { local, answers })
    }

    /// The answer to the `nth` check (1 for the first) of this message.
    pub(crate) fn answer(&self, nth: usize) -> State {
        let last = self.answers.len().saturating_sub(1);
        self.answers
            .get(nth.saturating_sub(1).min(last))
            .copied()
            .unwrap_or(self.local)
    }
}

impl ProduceArgs {
    pub(crate) fn message(&self, index: usize) -> Message {
        let tags: Vec<&str> = self.tags.split(',').collect();
        let tag = tags[index % tags.len()];
        let mut builder = Message::builder()
            .topic(self.topic.as_str())
            .key(format!("{}{index}", self.key_prefix))
            .body_slice(self.body(index).as_bytes());
        if !tag.is_empty() {
            builder = builder.tags(tag);
        }
        builder.build_unchecked()
    }

    fn body(&self, index: usize) -> String {
        const FILLER: &str = "0123456789abcdefghijklmnopqrstuvwxyz";
        let mut body = format!("{}{index}", self.body_prefix);
        let size = self
            .body_sizes
            .get(index % self.body_sizes.len().max(1))
            .copied()
            .unwrap_or(0);
        while body.len() < size {
            let missing = size - body.len();
            body.push_str(&FILLER[..missing.min(FILLER.len())]);
        }
        body
    }

    /// Message `index`'s `--outcomes` item.
    pub(crate) fn outcome(&self, index: usize) -> &Outcome {
        &self.outcomes[index % self.outcomes.len()]
    }
}

pub async fn run(args: ProduceArgs, runtime: Arc<ClientRuntime>) -> bool {
    if args.mode == Mode::Transaction {
        return crate::transaction::run(args, runtime).await;
    }
    if args.serve_checks {
        output::error("start", None, "--serve-checks is for transaction mode");
        output::done(&json!({ "ok": false, "sent": 0, "failed": args.count }));
        return false;
    }
    let mut builder = DefaultMQProducer::builder(runtime)
        .producer_group(args.group.clone())
        .name_server_addr(args.namesrv.clone());
    if let Some(hook) = args.credentials.rpc_hook() {
        builder = builder.rpc_hook(hook);
    }
    let mut producer = builder.build();
    if let Err(error) = producer.start().await {
        output::error("start", None, &output::describe(&error));
        output::done(&json!({ "ok": false, "sent": 0, "failed": args.count }));
        return false;
    }
    output::started(json!({
        "client": "rust", "role": "producer", "mode": format!("{:?}", args.mode),
        "orderly": args.orderly, "accessKey": args.credentials.shown(),
    }));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let (sent, failed) = match args.mode {
        Mode::Sync if args.orderly => send_orderly(&producer, &args, deadline).await,
        _ if args.orderly => {
            output::error("send", None, "--orderly sends in sync mode only");
            (0, args.count)
        }
        Mode::Sync => send_sync(&producer, &args, deadline).await,
        Mode::Async => send_async(&producer, &args, deadline).await,
        Mode::Oneway => send_oneway(&producer, &args, deadline).await,
        Mode::Batch => send_batch(&producer, &args, deadline).await,
        Mode::Transaction => unreachable!("transaction mode runs a producer of its own"),
    };
    producer.shutdown().await;
    let ok = failed == 0 && sent == args.count;
    output::done(&json!({ "ok": ok, "sent": sent, "failed": failed }));
    ok
}

/// The fields of a send result a user of the client sees.
pub(crate) fn result_fields(result: &SendResult) -> Value {
    json!({
        "status": result.send_status.to_string(),
        "msgId": result.msg_id.as_ref().map(|id| id.to_string()),
        "offsetMsgId": result.offset_msg_id,
        "queueId": result.message_queue.as_ref().map(|mq| mq.queue_id()),
        "brokerName": result.message_queue.as_ref().map(|mq| mq.broker_name().to_string()),
        "queueOffset": result.queue_offset,
    })
}

pub(crate) fn sent_line(index: usize, extra: Value) {
    let mut fields = json!({ "index": index });
    if let (Some(map), Some(extra)) = (fields.as_object_mut(), extra.as_object()) {
        map.extend(extra.clone());
    }
    output::line("sent", fields);
}

/// Sends one after another; stops at the first failure (the client already retried it).
async fn send_sync(
    producer: &DefaultMQProducer,
    args: &ProduceArgs,
    deadline: Instant,
) -> (usize, usize) {
    for index in 0..args.count {
        if Instant::now() > deadline {
            output::error("send", Some(index), "run time limit reached");
            return (index, args.count - index);
        }
        match producer
            .send_with_timeout(args.message(index), args.send_timeout_ms)
            .await
        {
            Ok(Some(result)) => sent_line(index, result_fields(&result)),
            Ok(None) => {
                output::error("send", Some(index), "send returned no result");
                return (index, args.count - index);
            }
            Err(error) => {
                output::error("send", Some(index), &output::describe(&error));
                return (index, args.count - index);
            }
        }
    }
    (args.count, 0)
}

/// The order id every message of an orderly run carries: messages with one id go to one
/// queue, the `id mod queues`-th of the route's write queues, as Java's
/// `SelectMessageQueueByHash` picks it.
const ORDER_ID: i64 = 1;

/// Sends one after another with `send_with_selector`, each to the queue [`ORDER_ID`]
/// selects; stops at the first failure.
async fn send_orderly(
    producer: &DefaultMQProducer,
    args: &ProduceArgs,
    deadline: Instant,
) -> (usize, usize) {
    let by_order_id = |queues: &[MessageQueue], _: &Message, id: &i64| {
        let len = i64::try_from(queues.len()).ok().filter(|&len| len > 0)?;
        queues
            .get(usize::try_from(id.rem_euclid(len)).ok()?)
            .cloned()
    };
    for index in 0..args.count {
        if Instant::now() > deadline {
            output::error("send", Some(index), "run time limit reached");
            return (index, args.count - index);
        }
        match producer
            .send_with_selector_timeout(
                args.message(index),
                by_order_id,
                ORDER_ID,
                args.send_timeout_ms,
            )
            .await
        {
            Ok(Some(result)) => sent_line(index, result_fields(&result)),
            Ok(None) => {
                output::error("send", Some(index), "send returned no result");
                return (index, args.count - index);
            }
            Err(error) => {
                output::error("send", Some(index), &output::describe(&error));
                return (index, args.count - index);
            }
        }
    }
    (args.count, 0)
}

/// At most this many async sends wait for their callbacks at once. rocketmq-client-rust
/// 1.0.0 keeps at most 512 requests pending per client (rocketmq-transport's
/// `TransportClient`) and fails a request past that with
/// `transport.admission.queue_saturated` at once instead of waiting, so an application
/// sending asynchronously bounds its own in-flight sends, as this driver does.
const ASYNC_IN_FLIGHT_MAX: usize = 128;

type Callback = (usize, Result<Value, String>);

/// Starts the sends with at most [`ASYNC_IN_FLIGHT_MAX`] awaiting their callbacks, and
/// collects every callback until all arrived or the deadline passed.
///
/// The first send goes alone: until one send has its topic's route, the client looks the
/// route up again for every send it is given, and a burst of lookups at the NameServer
/// connection saturates it as well.
async fn send_async(
    producer: &DefaultMQProducer,
    args: &ProduceArgs,
    deadline: Instant,
) -> (usize, usize) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Callback>();
    let mut tally = Tally::default();
    let mut in_flight = 0;
    let mut next = 0;
    while next < args.count {
        let window = if tally.answered() == 0 {
            1
        } else {
            ASYNC_IN_FLIGHT_MAX
        };
        if in_flight == window {
            if !tally.wait_callback(&mut rx, deadline).await {
                break;
            }
            in_flight -= 1;
            continue;
        }
        let index = next;
        next += 1;
        let tx = tx.clone();
        let callback = move |result: Option<&SendResult>, error: Option<&ClientError>| {
            let outcome = match (result, error) {
                (Some(result), _) => Ok(result_fields(result)),
                (None, Some(error)) => Err(output::describe(error)),
                (None, None) => Err("callback without result or error".to_string()),
            };
            let _ = tx.send((index, outcome));
        };
        match producer
            .send_with_callback_timeout(args.message(index), callback, args.send_timeout_ms)
            .await
        {
            Ok(()) => in_flight += 1,
            Err(error) => {
                output::error("send", Some(index), &output::describe(&error));
                tally.failed += 1;
            }
        }
    }
    drop(tx);
    while in_flight > 0 && tally.wait_callback(&mut rx, deadline).await {
        in_flight -= 1;
    }
    if in_flight > 0 || next < args.count {
        output::error("callback", None, "callbacks missing at the run time limit");
        tally.failed += in_flight + (args.count - next);
    }
    (tally.sent, tally.failed)
}

/// Async sends answered so far.
#[derive(Debug, Default)]
struct Tally {
    sent: usize,
    failed: usize,
}

impl Tally {
    fn answered(&self) -> usize {
        self.sent + self.failed
    }

    /// Reports the next callback; false when none came before the deadline.
    async fn wait_callback(
        &mut self,
        rx: &mut tokio::sync::mpsc::UnboundedReceiver<Callback>,
        deadline: Instant,
    ) -> bool {
        match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
            Ok(Some((index, Ok(fields)))) => {
                sent_line(index, fields);
                self.sent += 1;
                true
            }
            Ok(Some((index, Err(error)))) => {
                output::error("callback", Some(index), &error);
                self.failed += 1;
                true
            }
            Ok(None) | Err(_) => false,
        }
    }
}

/// Oneway sends have no result: a `sent` line only says the client accepted the message.
async fn send_oneway(
    producer: &DefaultMQProducer,
    args: &ProduceArgs,
    deadline: Instant,
) -> (usize, usize) {
    for index in 0..args.count {
        if Instant::now() > deadline {
            output::error("send", Some(index), "run time limit reached");
            return (index, args.count - index);
        }
        if let Err(error) = producer.send_oneway(args.message(index)).await {
            output::error("send", Some(index), &output::describe(&error));
            return (index, args.count - index);
        }
        sent_line(index, json!({}));
    }
    (args.count, 0)
}

/// One `sent` line per batch, with `index` the first message of the batch and `size` its length.
async fn send_batch(
    producer: &DefaultMQProducer,
    args: &ProduceArgs,
    deadline: Instant,
) -> (usize, usize) {
    let batch_size = args.batch_size.max(1);
    let mut first = 0;
    while first < args.count {
        let last = (first + batch_size).min(args.count);
        if Instant::now() > deadline {
            output::error("send", Some(first), "run time limit reached");
            return (first, args.count - first);
        }
        let messages: Vec<Message> = (first..last).map(|index| args.message(index)).collect();
        match producer
            .send_batch_with_timeout(messages, args.send_timeout_ms)
            .await
        {
            Ok(result) => {
                let mut fields = result_fields(&result);
                fields["size"] = json!(last - first);
                sent_line(first, fields);
            }
            Err(error) => {
                output::error("send", Some(first), &output::describe(&error));
                return (first, args.count - first);
            }
        }
        first = last;
    }
    (args.count, 0)
}
