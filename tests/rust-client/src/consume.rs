//! `consume`: runs a push consumer for a bounded time or message count and prints a `received`
//! line per delivered message, as the listener sees it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use rocketmq_client_rust::{
    ClientResult, ClientRuntime, ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus,
    ConsumeOrderlyContext, ConsumeOrderlyStatus, DefaultMQPushConsumer, MQPushConsumer,
    MessageListenerConcurrently, MessageListenerOrderly,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_protocol::protocol::heartbeat::message_model::MessageModel;
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;

use crate::credentials::CredentialArgs;
use crate::output;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Model {
    Clustering,
    Broadcasting,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StartAt {
    /// CONSUME_FROM_LAST_OFFSET, the client's default.
    Last,
    /// CONSUME_FROM_FIRST_OFFSET.
    First,
}

#[derive(Debug, Args)]
pub struct ConsumeArgs {
    /// NameServer address list, `host:port[;host:port]`.
    #[arg(long)]
    namesrv: String,
    #[arg(long)]
    topic: String,
    #[arg(long, default_value = "interop_cg")]
    group: String,
    /// Subscription expression, e.g. `*` or `TagA || TagC`.
    #[arg(long, default_value = "*")]
    expr: String,
    #[arg(long, value_enum, default_value = "clustering")]
    model: Model,
    #[arg(long, value_enum, default_value = "last")]
    from: StartAt,
    /// Consume with a `MessageListenerOrderly`: one queue's messages one batch at a time, in
    /// queue order, under the broker's lock on the queue (LOCK_BATCH_MQ).
    #[arg(long)]
    orderly: bool,
    /// Stop after this many messages; 0 runs for `--seconds`.
    #[arg(long, default_value_t = 0)]
    count: usize,
    /// Upper bound of the whole run.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    #[command(flatten)]
    credentials: CredentialArgs,
}

/// Hands every delivered message to the printing loop and acknowledges it.
struct Forward(UnboundedSender<Value>);

impl MessageListenerConcurrently for Forward {
    fn consume_message(
        &self,
        messages: &[&MessageExt],
        _context: &ConsumeConcurrentlyContext,
    ) -> ClientResult<ConsumeConcurrentlyStatus> {
        for message in messages {
            let _ = self.0.send(message_fields(message));
        }
        Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
    }
}

impl MessageListenerOrderly for Forward {
    fn consume_message(
        &self,
        messages: &[&MessageExt],
        _context: &mut ConsumeOrderlyContext,
    ) -> ClientResult<ConsumeOrderlyStatus> {
        for message in messages {
            let _ = self.0.send(message_fields(message));
        }
        Ok(ConsumeOrderlyStatus::Success)
    }
}

fn message_fields(message: &MessageExt) -> Value {
    let inner = message.message_inner();
    json!({
        "msgId": message.msg_id().to_string(),
        "uniqKey": inner.property("UNIQ_KEY"),
        "topic": message.topic().to_string(),
        "brokerName": message.broker_name(),
        "queueId": message.queue_id(),
        "queueOffset": message.queue_offset(),
        "tags": message.get_tags().map(|tags| tags.to_string()),
        "keys": inner.keys().map(|keys| keys.join(" ")),
        "body": message.body().map(|body| String::from_utf8_lossy(&body).into_owned()),
        "reconsumeTimes": message.reconsume_times(),
    })
}

pub async fn run(args: ConsumeArgs, runtime: Arc<ClientRuntime>) -> bool {
    let model = match args.model {
        Model::Clustering => MessageModel::Clustering,
        Model::Broadcasting => MessageModel::Broadcasting,
    };
    let from = match args.from {
        StartAt::Last => ConsumeFromWhere::ConsumeFromLastOffset,
        StartAt::First => ConsumeFromWhere::ConsumeFromFirstOffset,
    };
    let mut consumer = DefaultMQPushConsumer::builder(runtime)
        .consumer_group(args.group.clone())
        .name_server_addr(args.namesrv.clone())
        .message_model(model)
        .consume_from_where(from)
        .rpc_hook(args.credentials.rpc_hook())
        .build();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let subscribed = consumer
        .subscribe(args.topic.as_str(), args.expr.as_str())
        .await;
    if let Err(error) = subscribed {
        output::error("subscribe", None, &output::describe(&error));
        output::done(&json!({ "ok": false, "received": 0 }));
        return false;
    }
    if args.orderly {
        consumer.register_message_listener_orderly(Forward(tx));
    } else {
        consumer.register_message_listener_concurrently(Forward(tx));
    }
    if let Err(error) = consumer.start().await {
        output::error("start", None, &output::describe(&error));
        output::done(&json!({ "ok": false, "received": 0 }));
        consumer.shutdown().await;
        return false;
    }
    output::started(json!({
        "client": "rust", "role": "consumer", "group": args.group, "orderly": args.orderly,
        "accessKey": args.credentials.shown(),
    }));

    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut received = 0;
    while args.count == 0 || received < args.count {
        match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
            Ok(Some(fields)) => {
                output::line("received", fields);
                received += 1;
            }
            Ok(None) | Err(_) => break,
        }
    }
    consumer.shutdown().await;
    // A count that was asked for and not reached is a failure; a timed run always succeeds.
    let ok = args.count == 0 || received >= args.count;
    output::done(&json!({ "ok": ok, "received": received }));
    ok
}
