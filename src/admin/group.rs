//! The consumer and producer group verbs: updateSubGroup, deleteSubGroup, consumerProgress,
//! consumerConnection, producerConnection, resetOffsetByTime, skipAccumulatedMessage.

use std::collections::{BTreeMap, BTreeSet};

use clap::Args;
use serde::Deserialize;
use serde_json::{json, Value};

use super::body::{queue_key, QueueKey};
use super::{Admin, AdminError, Brokers, Common};
use crate::wire::codes::request_code::*;
use crate::wire::codes::version_desc;

/// The retry topic of a consumer group, whose route names the brokers the group uses.
fn retry_topic(group: &str) -> String {
    format!("%RETRY%{group}")
}

#[derive(Debug, Args)]
pub struct UpdateSubGroupArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// With -c, every master.
    #[command(flatten)]
    brokers: Brokers,
    #[arg(short = 'g', long = "groupName")]
    group: String,
    #[arg(short = 's', long = "consumeEnable", action = clap::ArgAction::Set)]
    consume_enable: Option<bool>,
    #[arg(short = 'm', long = "consumeFromMinEnable", action = clap::ArgAction::Set)]
    from_min: Option<bool>,
    #[arg(short = 'd', long = "consumeBroadcastEnable", action = clap::ArgAction::Set)]
    broadcast: Option<bool>,
    #[arg(short = 'o', long = "consumeMessageOrderly", action = clap::ArgAction::Set)]
    orderly: Option<bool>,
    #[arg(short = 'q', long = "retryQueueNums")]
    retry_queues: Option<i32>,
    #[arg(short = 'r', long = "retryMaxTimes")]
    retry_max_times: Option<i32>,
    #[arg(short = 'i', long = "brokerId")]
    broker_id: Option<i64>,
    #[arg(short = 'w', long = "whichBrokerWhenConsumeSlowly")]
    when_slow: Option<i64>,
    #[arg(short = 'a', long = "notifyConsumerIdsChanged", action = clap::ArgAction::Set)]
    notify: Option<bool>,
}

#[derive(Debug, Args)]
pub struct DeleteSubGroupArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// With -c, every master.
    #[command(flatten)]
    brokers: Brokers,
    #[arg(short = 'g', long = "groupName")]
    group: String,
    /// Remove the group's consumer offsets too.
    #[arg(short = 'r', long = "removeOffset", default_value_t = false, action = clap::ArgAction::Set)]
    remove_offset: bool,
}

#[derive(Debug, Args)]
pub struct ConsumerProgressArgs {
    #[command(flatten)]
    pub(super) common: Common,
    #[arg(short = 'g', long = "groupName")]
    group: String,
    /// Only this topic.
    #[arg(short = 't', long = "topicName")]
    topic: Option<String>,
}

#[derive(Debug, Args)]
pub struct ConsumerConnectionArgs {
    #[command(flatten)]
    pub(super) common: Common,
    #[arg(short = 'g', long = "consumerGroup")]
    group: String,
    /// Ask this broker instead of one of the group's route.
    #[arg(short = 'b', long = "brokerAddr")]
    broker: Option<String>,
}

#[derive(Debug, Args)]
pub struct ProducerConnectionArgs {
    #[command(flatten)]
    pub(super) common: Common,
    #[arg(short = 'g', long = "producerGroup")]
    group: String,
    #[arg(short = 't', long = "topic")]
    topic: String,
}

#[derive(Debug, Args)]
pub struct ResetOffsetArgs {
    #[command(flatten)]
    pub(super) common: Common,
    #[arg(short = 'g', long = "group")]
    group: String,
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// `now`, milliseconds since the epoch, or local time `yyyy-MM-dd#HH:mm:ss:SSS`.
    #[arg(short = 's', long = "timestamp")]
    timestamp: String,
    #[arg(short = 'f', long = "force", default_value_t = true, action = clap::ArgAction::Set)]
    force: bool,
}

#[derive(Debug, Args)]
pub struct SkipArgs {
    #[command(flatten)]
    pub(super) common: Common,
    #[arg(short = 'g', long = "group")]
    group: String,
    #[arg(short = 't', long = "topic")]
    topic: String,
    #[arg(short = 'f', long = "force", default_value_t = true, action = clap::ArgAction::Set)]
    force: bool,
}

/// updateSubGroup: UPDATE_AND_CREATE_SUBSCRIPTIONGROUP with the group's config as body; the
/// flags not given keep mqadmin's defaults.
pub fn update_sub_group(args: UpdateSubGroupArgs) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let addrs = admin.addresses(&args.brokers, false)?;
    let config = json!({
        "groupName": args.group,
        "consumeEnable": args.consume_enable.unwrap_or(true),
        "consumeFromMinEnable": args.from_min.unwrap_or(false),
        "consumeBroadcastEnable": args.broadcast.unwrap_or(false),
        "consumeMessageOrderly": args.orderly.unwrap_or(false),
        "retryQueueNums": args.retry_queues.unwrap_or(1),
        "retryMaxTimes": args.retry_max_times.unwrap_or(16),
        "brokerId": args.broker_id.unwrap_or(0),
        "whichBrokerWhenConsumeSlowly": args.when_slow.unwrap_or(1),
        "notifyConsumerIdsChangedEnable": args.notify.unwrap_or(true),
    });
    let body = config.to_string();
    let mut lines = Vec::new();
    for addr in &addrs {
        admin.call(
            addr,
            UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
            &[],
            body.as_bytes(),
        )?;
        lines.push(format!("create subscription group to {addr} success."));
    }
    lines.push(format!("SubscriptionGroupConfig{config}"));
    admin.print(&lines, json!({ "brokers": addrs, "config": config }));
    Ok(())
}

/// deleteSubGroup: DELETE_SUBSCRIPTIONGROUP on one broker or every master of a cluster.
pub fn delete_sub_group(args: DeleteSubGroupArgs) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let addrs = admin.addresses(&args.brokers, false)?;
    let fields = [
        ("groupName", args.group.clone()),
        ("cleanOffset", args.remove_offset.to_string()),
        // What 4.9 brokers read.
        ("removeOffset", args.remove_offset.to_string()),
    ];
    let mut lines = Vec::new();
    for addr in &addrs {
        admin.call(addr, DELETE_SUBSCRIPTIONGROUP, &fields, b"")?;
        lines.push(match &args.brokers.cluster {
            Some(cluster) if args.brokers.broker.is_none() => format!(
                "delete subscription group [{}] from broker [{addr}] in cluster [{cluster}] success.",
                args.group
            ),
            _ => format!("delete subscription group [{}] from broker [{addr}] success.", args.group),
        });
    }
    admin.print(&lines, json!({ "group": args.group, "brokers": addrs }));
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct OffsetWrapper {
    #[serde(default)]
    pub(super) broker_offset: i64,
    #[serde(default)]
    pub(super) consumer_offset: i64,
    #[serde(default)]
    pull_offset: i64,
    #[serde(default)]
    last_timestamp: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ConsumeStats {
    #[serde(default)]
    pub(super) offset_table: BTreeMap<String, OffsetWrapper>,
    #[serde(default)]
    consume_tps: f64,
}

/// consumerProgress -g: GET_CONSUME_STATS from every broker of the group's retry topic
/// route, merged.
pub fn consumer_progress(args: ConsumerProgressArgs) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let route = admin.route(&retry_topic(&args.group))?;
    let mut fields = vec![("consumerGroup", args.group.clone())];
    if let Some(topic) = &args.topic {
        fields.push(("topic", topic.clone()));
    }
    let (mut queues, mut tps): (Vec<(QueueKey, OffsetWrapper)>, f64) = (Vec::new(), 0.0);
    for broker in &route.broker_datas {
        let Some(addr) = broker.select_addr() else {
            continue;
        };
        let stats: ConsumeStats = admin.call_json(addr, GET_CONSUME_STATS, &fields)?;
        tps += stats.consume_tps;
        queues.extend(
            stats
                .offset_table
                .into_iter()
                .filter_map(|(k, v)| Some((queue_key(&k)?, v))),
        );
    }
    queues.sort_by(|a, b| a.0.cmp(&b.0));
    let mut lines = vec![format!(
        "{:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20} {:<20}{}",
        "#Topic",
        "#Broker Name",
        "#QID",
        "#Broker Offset",
        "#Consumer Offset",
        "#Diff",
        "#Inflight",
        "#LastTime"
    )];
    let (mut diff_total, mut inflight_total, mut rows) = (0i64, 0i64, Vec::new());
    for (queue, offsets) in &queues {
        let diff = offsets.broker_offset - offsets.consumer_offset;
        let inflight = offsets.pull_offset - offsets.consumer_offset;
        diff_total += diff;
        inflight_total += inflight;
        let last = match offsets.last_timestamp {
            0 => "N/A".to_owned(),
            ms => super::human_time(ms).chars().take(19).collect(),
        };
        lines.push(format!(
            "{:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20} {:<20} {last}",
            queue.topic,
            queue.broker_name,
            queue.queue_id,
            offsets.broker_offset,
            offsets.consumer_offset,
            diff,
            inflight
        ));
        rows.push(json!({
            "topic": queue.topic, "brokerName": queue.broker_name, "queueId": queue.queue_id,
            "brokerOffset": offsets.broker_offset, "consumerOffset": offsets.consumer_offset,
            "diff": diff, "inflight": inflight, "lastTimestamp": offsets.last_timestamp,
        }));
    }
    lines.push(String::new());
    lines.push(format!("Consume TPS: {tps:.2}"));
    lines.push(format!("Consume Diff Total: {diff_total}"));
    lines.push(format!("Consume Inflight Total: {inflight_total}"));
    admin.print(
        &lines,
        json!({
            "group": args.group, "queues": rows, "consumeTps": tps,
            "diffTotal": diff_total, "inflightTotal": inflight_total,
        }),
    );
    Ok(())
}

#[derive(Debug, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Connection {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_addr: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    version: i32,
}

impl Connection {
    /// The client's version by its name (`V4_9_4`), as mqadmin prints it; the number when
    /// the name is not known.
    fn version_desc(&self) -> String {
        version_desc(self.version).unwrap_or_else(|| self.version.to_string())
    }

    fn json(&self) -> Value {
        json!({
            "clientId": self.client_id, "clientAddr": self.client_addr,
            "language": self.language, "version": self.version,
            "versionDesc": self.version_desc(),
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConsumerConnection {
    #[serde(default)]
    connection_set: Vec<Connection>,
    #[serde(default)]
    subscription_table: BTreeMap<String, Value>,
    #[serde(default)]
    consume_type: Value,
    #[serde(default)]
    message_model: Value,
    #[serde(default)]
    consume_from_where: Value,
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

/// consumerConnection: GET_CONSUMER_CONNECTION_LIST from -b, else from a broker of the
/// group's retry topic route.
pub fn consumer_connection(args: ConsumerConnectionArgs) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let addr = match &args.broker {
        Some(addr) => addr.clone(),
        None => admin
            .route(&retry_topic(&args.group))?
            .broker_datas
            .iter()
            .find_map(|b| b.select_addr().map(str::to_owned))
            .ok_or_else(|| AdminError::Usage(format!("no broker serves group {}", args.group)))?,
    };
    let fields = [("consumerGroup", args.group.clone())];
    let found: ConsumerConnection =
        admin.call_json(&addr, GET_CONSUMER_CONNECTION_LIST, &fields)?;
    let row = |c: [&str; 4]| format!("{:<36} {:<22} {:<10} {}", c[0], c[1], c[2], c[3]);
    let mut lines = vec![row(["#ClientId", "#ClientAddr", "#Language", "#Version"])];
    for c in &found.connection_set {
        lines.push(row([
            &c.client_id,
            &c.client_addr,
            &c.language,
            &c.version_desc(),
        ]));
    }
    lines.push(String::new());
    lines.push("Below is subscription:".into());
    lines.push(format!("{:<20} {}", "#Topic", "#SubExpression"));
    for (topic, sub) in &found.subscription_table {
        lines.push(format!("{topic:<20} {}", text(&sub["subString"])));
    }
    lines.push(String::new());
    lines.push(format!("ConsumeType: {}", text(&found.consume_type)));
    lines.push(format!("MessageModel: {}", text(&found.message_model)));
    lines.push(format!(
        "ConsumeFromWhere: {}",
        text(&found.consume_from_where)
    ));
    let connections: Vec<Value> = found.connection_set.iter().map(Connection::json).collect();
    admin.print(
        &lines,
        json!({
            "broker": addr, "connections": connections, "subscriptions": found.subscription_table,
            "consumeType": found.consume_type, "messageModel": found.message_model,
            "consumeFromWhere": found.consume_from_where,
        }),
    );
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProducerConnection {
    #[serde(default)]
    connection_set: Vec<Connection>,
}

/// producerConnection: GET_PRODUCER_CONNECTION_LIST from every broker of the topic's route
/// (mqadmin asks one at random; a producer is connected to the brokers it sent to, which
/// with shards are several), connections listed once each.
pub fn producer_connection(args: ProducerConnectionArgs) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let route = admin.route(&args.topic)?;
    let fields = [("producerGroup", args.group.clone())];
    let (mut seen, mut connections) = (BTreeSet::new(), Vec::new());
    for broker in &route.broker_datas {
        let Some(addr) = broker.select_addr() else {
            continue;
        };
        // A broker the group never reached answers "not found": not an error here.
        let Ok(found) =
            admin.call_json::<ProducerConnection>(addr, GET_PRODUCER_CONNECTION_LIST, &fields)
        else {
            continue;
        };
        for c in found.connection_set {
            if seen.insert(c.client_id.clone()) {
                connections.push(c);
            }
        }
    }
    if connections.is_empty() {
        return Err(AdminError::Usage(format!(
            "Not found the producer group connection of {} on the brokers of {}",
            args.group, args.topic
        )));
    }
    let lines: Vec<String> = connections
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                "{:04}  {:<32} {:<22} {:<8} {}",
                i + 1,
                c.client_id,
                c.client_addr,
                c.language,
                c.version_desc()
            )
        })
        .collect();
    let list: Vec<Value> = connections.iter().map(Connection::json).collect();
    admin.print(&lines, json!({ "group": args.group, "connections": list }));
    Ok(())
}

/// The `-s` of resetOffsetByTime: `now`, epoch milliseconds, or local
/// `yyyy-MM-dd#HH:mm:ss:SSS`.
fn parse_timestamp(text: &str) -> Result<i64, AdminError> {
    if text == "now" {
        return Ok(jiff::Timestamp::now().as_millisecond());
    }
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    jiff::civil::DateTime::strptime("%Y-%m-%d#%H:%M:%S:%3f", text)
        .ok()
        .and_then(|at| at.to_zoned(jiff::tz::TimeZone::system()).ok())
        .map(|at| at.timestamp().as_millisecond())
        .ok_or_else(|| {
            AdminError::Usage(format!(
            "-s `{text}`: expected now, milliseconds since the epoch, or yyyy-MM-dd#HH:mm:ss:SSS"
        ))
        })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResetOffsetBody {
    #[serde(default)]
    offset_table: BTreeMap<String, i64>,
}

/// INVOKE_BROKER_TO_RESET_OFFSET to the master of every broker of the topic's route; the
/// offsets each answers, by queue.
fn reset(
    admin: &Admin,
    group: &str,
    topic: &str,
    timestamp: i64,
    force: bool,
) -> Result<Vec<(QueueKey, i64)>, AdminError> {
    let route = admin.route(topic)?;
    let fields = [
        ("topic", topic.to_owned()),
        ("group", group.to_owned()),
        ("timestamp", timestamp.to_string()),
        ("isForce", force.to_string()),
        ("offset", "-1".to_owned()),
        ("queueId", "-1".to_owned()),
    ];
    let mut queues = Vec::new();
    for broker in &route.broker_datas {
        let Some(addr) = broker.select_addr() else {
            continue;
        };
        let body: ResetOffsetBody =
            admin.call_json(addr, INVOKE_BROKER_TO_RESET_OFFSET, &fields)?;
        queues.extend(
            body.offset_table
                .into_iter()
                .filter_map(|(k, v)| Some((queue_key(&k)?, v))),
        );
    }
    queues.sort();
    Ok(queues)
}

fn reset_table(queues: &[(QueueKey, i64)]) -> (Vec<String>, Vec<Value>) {
    let mut lines = vec![format!(
        "{:<40}  {:<40}  {:<40}",
        "#brokerName", "#queueId", "#offset"
    )];
    let mut rows = Vec::new();
    for (queue, offset) in queues {
        lines.push(format!(
            "{:<40}  {:<40}  {:<40}",
            queue.broker_name, queue.queue_id, offset
        ));
        rows.push(
            json!({"brokerName": queue.broker_name, "queueId": queue.queue_id, "offset": offset}),
        );
    }
    (lines, rows)
}

/// resetOffsetByTime: every queue of the topic to its first message stored at or after the
/// time, done by the brokers (the 5.x way; a broker that does not reset for an offline group
/// answers CONSUMER_NOT_ONLINE, reported as it is).
pub fn reset_offset_by_time(args: ResetOffsetArgs) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let timestamp = parse_timestamp(&args.timestamp)?;
    let queues = reset(&admin, &args.group, &args.topic, timestamp, args.force)?;
    let (table, rows) = reset_table(&queues);
    let mut lines = vec![format!(
        "start reset consumer offset by specified, group[{}], topic[{}], force[{}], timestamp(string)[{}], timestamp(long)[{timestamp}]",
        args.group, args.topic, args.force, args.timestamp
    )];
    lines.extend(table);
    admin.print(&lines, json!({ "group": args.group, "topic": args.topic, "timestamp": timestamp, "offsets": rows }));
    Ok(())
}

/// skipAccumulatedMessage: resetOffsetByTime to the end (timestamp -1).
pub fn skip_accumulated(args: SkipArgs) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let queues = reset(&admin, &args.group, &args.topic, -1, args.force)?;
    let (lines, rows) = reset_table(&queues);
    admin.print(
        &lines,
        json!({ "group": args.group, "topic": args.topic, "offsets": rows }),
    );
    Ok(())
}
