//! `admin`: operations of the client's admin API (`DefaultMQAdminExt`), one per run, as an
//! operator runs `mqadmin`.
//!
//! `admin reset-offset` is `mqadmin resetOffsetByTime`: `OffsetAdmin::reset_offset_by_timestamp`
//! looks the topic's route up at the NameServer and sends INVOKE_BROKER_TO_RESET_OFFSET (222)
//! to the master of every broker in it (queue id -1, offset -1: every queue of the topic on
//! that broker, to the first message stored at or after the timestamp). It prints one `reset`
//! line with the offset table the brokers answered, or an `error` line with the broker's code.
//! Unlike `mqadmin`, it does not fall back to committing offsets itself (its "old" reset) when
//! a broker answers CONSUMER_NOT_ONLINE: the broker's own answer is what is reported.

use std::sync::Arc;

use clap::{Args, Subcommand};
use rocketmq_client_rust::{ClientRuntime, DefaultMQAdminExt, OffsetAdmin};
use serde_json::{json, Value};

use crate::output;

#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Reset a consumer group's offsets on a topic to a time (`mqadmin resetOffsetByTime`).
    ResetOffset(ResetOffsetArgs),
}

#[derive(Debug, Args)]
struct ResetOffsetArgs {
    /// NameServer address list, `host:port[;host:port]`.
    #[arg(long)]
    namesrv: String,
    #[arg(long)]
    topic: String,
    /// The consumer group whose offsets are reset.
    #[arg(long)]
    group: String,
    /// Milliseconds since the epoch: each queue goes to its first message stored at or after
    /// this time (its end when every message is older).
    #[arg(long)]
    timestamp: u64,
    /// The request's `isForce`: reset even to an offset past the group's current one.
    #[arg(long)]
    force: bool,
}

pub async fn run(args: AdminArgs, runtime: Arc<ClientRuntime>) -> bool {
    match args.command {
        AdminCommand::ResetOffset(args) => reset_offset(args, runtime).await,
    }
}

async fn reset_offset(args: ResetOffsetArgs, runtime: Arc<ClientRuntime>) -> bool {
    // The admin client's futures are boxed: laid out inline they nest deep enough to overflow
    // the compiler's query depth on a build without incremental caches (a clean checkout).
    let mut admin = DefaultMQAdminExt::new(runtime);
    admin.set_namesrv_addr(args.namesrv.as_str());
    if let Err(error) = Box::pin(admin.start()).await {
        output::error("start", None, &output::describe(&error));
        output::done(&json!({ "ok": false }));
        return false;
    }
    output::started(json!({ "client": "rust", "role": "admin", "command": "reset-offset" }));
    let result = Box::pin(admin.reset_offset_by_timestamp(
        None,
        args.topic.as_str().into(),
        args.group.as_str().into(),
        args.timestamp,
        args.force,
    ))
    .await;
    Box::pin(admin.shutdown()).await;
    match result {
        Ok(table) => {
            let mut offsets: Vec<Value> = table
                .iter()
                .map(|(queue, offset)| {
                    json!({
                        "topic": queue.topic_str(),
                        "brokerName": queue.broker_name().as_str(),
                        "queueId": queue.queue_id(),
                        "offset": offset,
                    })
                })
                .collect();
            offsets.sort_by_key(|o| (o["brokerName"].to_string(), o["queueId"].as_i64()));
            output::line(
                "reset",
                json!({ "topic": args.topic, "group": args.group,
                        "timestamp": args.timestamp, "offsets": offsets }),
            );
            output::done(&json!({ "ok": true, "queues": table.len() }));
            true
        }
        Err(error) => {
            output::error("reset", None, &output::describe(&error));
            output::done(&json!({ "ok": false }));
            false
        }
    }
}
