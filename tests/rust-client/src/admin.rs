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
//!
//! `admin get-broker-config` is `mqadmin getBrokerConfig -b`: `BrokerAdmin::get_broker_config`
//! sends GET_BROKER_CONFIG (26) to the one broker address given (no NameServer lookup) and
//! parses the properties text it answers. It prints one `config` line with every key and
//! value, sorted by key.
//!
//! `admin update-broker-config` is `mqadmin updateBrokerConfig -b -k -v`, with any number of
//! keys in one request: `BrokerAdmin::update_broker_config` sends UPDATE_BROKER_CONFIG (25)
//! to the broker address given, its body the `key=value` lines. The client checks one key
//! itself first (`Validators::check_broker_config`: `brokerPermission` must be a valid
//! permission) and sends nothing when that fails. It prints an `updated` line with the keys
//! sent, or an `error` line with the client's refusal or the broker's code and remark.
//!
//! Each takes `--access-key` and `--secret-key`: the admin client then signs every request as
//! that account ([`crate::credentials`]), for a broker that checks RocketMQ's plain ACL.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use clap::{Args, Subcommand};
use rocketmq_client_rust::{BrokerAdmin, ClientRuntime, DefaultMQAdminExt, OffsetAdmin};
use serde_json::{json, Value};

use crate::credentials::CredentialArgs;
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
    /// Print a broker's configuration in force (`mqadmin getBrokerConfig -b`).
    GetBrokerConfig(GetBrokerConfigArgs),
    /// Change keys of a broker's configuration while it runs (`mqadmin updateBrokerConfig -b`).
    UpdateBrokerConfig(UpdateBrokerConfigArgs),
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
    #[command(flatten)]
    credentials: CredentialArgs,
}

#[derive(Debug, Args)]
struct GetBrokerConfigArgs {
    /// NameServer address list, `host:port[;host:port]` (the client starts with it; the
    /// request goes to `--broker-addr` alone).
    #[arg(long)]
    namesrv: String,
    /// The broker to ask, `host:port`.
    #[arg(long)]
    broker_addr: String,
    #[command(flatten)]
    credentials: CredentialArgs,
}

#[derive(Debug, Args)]
struct UpdateBrokerConfigArgs {
    /// NameServer address list, `host:port[;host:port]` (the client starts with it; the
    /// request goes to `--broker-addr` alone).
    #[arg(long)]
    namesrv: String,
    /// The broker to change, `host:port`.
    #[arg(long)]
    broker_addr: String,
    /// A key and its new value, `key=value`; repeat it for more keys, all sent in one request.
    #[arg(long = "set", value_parser = parse_setting, required = true)]
    settings: Vec<(String, String)>,
    #[command(flatten)]
    credentials: CredentialArgs,
}

/// One `--set` item: `key=value`, split at the first `=`; the key must not be empty.
fn parse_setting(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("{text:?}: expected key=value")),
    }
}

pub async fn run(args: AdminArgs, runtime: Arc<ClientRuntime>) -> bool {
    match args.command {
        AdminCommand::ResetOffset(args) => reset_offset(args, runtime).await,
        AdminCommand::GetBrokerConfig(args) => get_broker_config(args, runtime).await,
        AdminCommand::UpdateBrokerConfig(args) => update_broker_config(args, runtime).await,
    }
}

/// An admin client started with `namesrv`, and its `started` line printed; `None` (with an
/// `error` and a `done` line printed) when it cannot start.
///
/// The admin client's futures are boxed, here and in every operation: laid out inline they
/// nest deep enough to overflow the compiler's query depth on a build without incremental
/// caches (a clean checkout).
///
/// With `credentials`, every request is signed as that account (`DefaultMQAdminExt::with_rpc_hook`
/// and the `AclClientRPCHook`, as `mqadmin` signs with the keys of its `conf/tools.yml`).
async fn start_admin(
    namesrv: &str,
    runtime: Arc<ClientRuntime>,
    command: &str,
    credentials: &CredentialArgs,
) -> Option<DefaultMQAdminExt> {
    let mut admin = match credentials.rpc_hook() {
        Some(hook) => DefaultMQAdminExt::with_rpc_hook(runtime, hook),
        None => DefaultMQAdminExt::new(runtime),
    };
    admin.set_namesrv_addr(namesrv);
    if let Err(error) = Box::pin(admin.start()).await {
        output::error("start", None, &output::describe(&error));
        output::done(&json!({ "ok": false }));
        return None;
    }
    output::started(json!({
        "client": "rust", "role": "admin", "command": command,
        "accessKey": credentials.shown(),
    }));
    Some(admin)
}

async fn get_broker_config(args: GetBrokerConfigArgs, runtime: Arc<ClientRuntime>) -> bool {
    let Some(mut admin) = start_admin(
        &args.namesrv,
        runtime,
        "get-broker-config",
        &args.credentials,
    )
    .await
    else {
        return false;
    };
    let result = Box::pin(admin.get_broker_config(args.broker_addr.as_str().into())).await;
    Box::pin(admin.shutdown()).await;
    match result {
        Ok(properties) => {
            let keys: BTreeMap<String, String> = properties
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect();
            output::line(
                "config",
                json!({ "brokerAddr": args.broker_addr, "keys": keys }),
            );
            output::done(&json!({ "ok": true, "keys": keys.len() }));
            true
        }
        Err(error) => {
            output::error("get-broker-config", None, &output::describe(&error));
            output::done(&json!({ "ok": false }));
            false
        }
    }
}

async fn update_broker_config(args: UpdateBrokerConfigArgs, runtime: Arc<ClientRuntime>) -> bool {
    let Some(mut admin) = start_admin(
        &args.namesrv,
        runtime,
        "update-broker-config",
        &args.credentials,
    )
    .await
    else {
        return false;
    };
    // A key given twice: the last value, as mqadmin's properties would have it.
    let properties: HashMap<_, _> = args
        .settings
        .iter()
        .map(|(key, value)| (key.as_str().into(), value.as_str().into()))
        .collect();
    let result =
        Box::pin(admin.update_broker_config(args.broker_addr.as_str().into(), properties)).await;
    Box::pin(admin.shutdown()).await;
    match result {
        Ok(()) => {
            let keys: BTreeMap<&str, &str> = args
                .settings
                .iter()
                .map(|(key, value)| (key.as_str(), value.as_str()))
                .collect();
            output::line(
                "updated",
                json!({ "brokerAddr": args.broker_addr, "keys": keys }),
            );
            output::done(&json!({ "ok": true }));
            true
        }
        Err(error) => {
            output::error("update-broker-config", None, &output::describe(&error));
            output::done(&json!({ "ok": false }));
            false
        }
    }
}

async fn reset_offset(args: ResetOffsetArgs, runtime: Arc<ClientRuntime>) -> bool {
    let Some(mut admin) =
        start_admin(&args.namesrv, runtime, "reset-offset", &args.credentials).await
    else {
        return false;
    };
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
