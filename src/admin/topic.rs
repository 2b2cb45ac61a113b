//! The topic verbs: topicList, topicRoute, topicStatus, updateTopic, deleteTopic.

use std::collections::BTreeMap;

use clap::Args;
use serde::Deserialize;
use serde_json::{json, Value};

use super::body::{queue_key, QueueKey};
use super::{human_time, perm_text, read_body, Admin, AdminError, Brokers, Common};
use crate::wire::codes::request_code::*;

#[derive(Debug, Args)]
pub struct TopicListArgs {
    #[command(flatten)]
    pub(super) common: Common,
}

#[derive(Debug, Args)]
pub struct TopicRouteArgs {
    #[command(flatten)]
    pub(super) common: Common,
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// A table of the route's brokers and queues instead of its JSON.
    #[arg(short = 'l', long = "list")]
    list: bool,
}

#[derive(Debug, Args)]
pub struct TopicStatusArgs {
    #[command(flatten)]
    pub(super) common: Common,
    #[arg(short = 't', long = "topic")]
    topic: String,
}

#[derive(Debug, Args)]
pub struct UpdateTopicArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// With -c, every master.
    #[command(flatten)]
    brokers: Brokers,
    #[arg(short = 't', long = "topic")]
    topic: String,
    #[arg(short = 'r', long = "readQueueNums", default_value_t = 8)]
    read_queues: i32,
    #[arg(short = 'w', long = "writeQueueNums", default_value_t = 8)]
    write_queues: i32,
    /// 2 write, 4 read, 6 both.
    #[arg(short = 'p', long = "perm", default_value_t = 6)]
    perm: i32,
    #[arg(short = 'o', long = "order", default_value_t = false, action = clap::ArgAction::Set)]
    order: bool,
}

#[derive(Debug, Args)]
pub struct DeleteTopicArgs {
    #[command(flatten)]
    pub(super) common: Common,
    #[arg(short = 'c', long = "clusterName")]
    cluster: String,
    #[arg(short = 't', long = "topic")]
    topic: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TopicList {
    #[serde(default)]
    pub(super) topic_list: Vec<String>,
}

/// TopicStatsTable's `offsetTable` values.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TopicOffset {
    #[serde(default)]
    min_offset: i64,
    #[serde(default)]
    max_offset: i64,
    #[serde(default)]
    last_update_timestamp: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TopicStatsTable {
    #[serde(default)]
    offset_table: BTreeMap<String, TopicOffset>,
}

/// topicList: GET_ALL_TOPIC_LIST_FROM_NAMESERVER.
pub fn topic_list(args: TopicListArgs) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let list: TopicList = admin.namesrv_json(GET_ALL_TOPIC_LIST_FROM_NAMESERVER, &[])?;
    let mut topics = list.topic_list;
    topics.sort();
    admin.print(&topics, json!({ "topicList": topics }));
    Ok(())
}

/// topicRoute: GET_ROUTEINFO_BY_TOPIC, as the NameServer answers it (or, with -l, a table).
pub fn topic_route(args: TopicRouteArgs) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let (addr, response) =
        admin.namesrv_call(GET_ROUTEINFO_BY_TOPIC, &[("topic", args.topic.clone())])?;
    let value: Value = read_body(&addr, &response)?;
    let mut lines = vec![serde_json::to_string_pretty(&value).unwrap_or_default()];
    if args.list {
        let route: super::TopicRoute = read_body(&addr, &response)?;
        let row = |c: [&str; 6]| {
            format!(
                "{:<45} {:<32} {:<50} {:<10} {:<11} {:<5}",
                c[0], c[1], c[2], c[3], c[4], c[5]
            )
        };
        lines = vec![row([
            "#ClusterName",
            "#BrokerName",
            "#BrokerAddrs",
            "#ReadQueue",
            "#WriteQueue",
            "#Perm",
        ])];
        let mut queues: Vec<_> = route.queue_datas.iter().collect();
        queues.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
        for queue in &queues {
            let broker = route
                .broker_datas
                .iter()
                .find(|b| b.broker_name == queue.broker_name);
            let addrs: Vec<String> = broker
                .map(|b| {
                    b.addrs()
                        .iter()
                        .map(|(id, a)| format!("{id}={a}"))
                        .collect()
                })
                .unwrap_or_default();
            lines.push(row([
                broker.map_or("", |b| b.cluster.as_str()),
                &queue.broker_name,
                &format!("{{{}}}", addrs.join(", ")),
                &queue.read_queue_nums.to_string(),
                &queue.write_queue_nums.to_string(),
                &queue.perm.to_string(),
            ]));
        }
        lines.push("-".repeat(158));
        let reads: i64 = queues.iter().map(|q| q.read_queue_nums).sum();
        let writes: i64 = queues.iter().map(|q| q.write_queue_nums).sum();
        lines.push(row([
            "Total:",
            &queues.len().to_string(),
            "",
            &reads.to_string(),
            &writes.to_string(),
            "",
        ]));
    }
    admin.print(&lines, value);
    Ok(())
}

/// topicStatus: the route, then GET_TOPIC_STATS_INFO of each of its brokers, merged.
pub fn topic_status(args: TopicStatusArgs) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let route = admin.route(&args.topic)?;
    let mut queues: Vec<(QueueKey, TopicOffset)> = Vec::new();
    for broker in &route.broker_datas {
        let Some(addr) = broker.select_addr() else {
            continue;
        };
        let stats: TopicStatsTable =
            admin.call_json(addr, GET_TOPIC_STATS_INFO, &[("topic", args.topic.clone())])?;
        queues.extend(
            stats
                .offset_table
                .into_iter()
                .filter_map(|(k, v)| Some((queue_key(&k)?, v))),
        );
    }
    if queues.is_empty() {
        return Err(AdminError::Usage(format!(
            "Not found the topic stats info of {}",
            args.topic
        )));
    }
    queues.sort_by(|a, b| a.0.cmp(&b.0));
    let mut lines = vec![format!(
        "{:<32}  {:<4}  {:<20}  {:<20}    {}",
        "#Broker Name", "#QID", "#Min Offset", "#Max Offset", "#Last Updated"
    )];
    let mut rows = Vec::new();
    for (queue, offsets) in &queues {
        let last = match offsets.last_update_timestamp {
            0 => String::new(),
            ms => human_time(ms),
        };
        lines.push(format!(
            "{:<32}  {:<4}  {:<20}  {:<20}    {}",
            queue.broker_name, queue.queue_id, offsets.min_offset, offsets.max_offset, last
        ));
        rows.push(json!({
            "brokerName": queue.broker_name, "queueId": queue.queue_id,
            "minOffset": offsets.min_offset, "maxOffset": offsets.max_offset,
            "lastUpdateTimestamp": offsets.last_update_timestamp,
        }));
    }
    admin.print(&lines, json!({ "topic": args.topic, "queues": rows }));
    Ok(())
}

/// updateTopic: UPDATE_AND_CREATE_TOPIC to one broker or to every master of a cluster.
pub fn update_topic(args: UpdateTopicArgs) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let addrs = admin.addresses(&args.brokers, false)?;
    let fields = [
        ("topic", args.topic.clone()),
        ("defaultTopic", "TBW102".to_owned()),
        ("readQueueNums", args.read_queues.to_string()),
        ("writeQueueNums", args.write_queues.to_string()),
        ("perm", args.perm.to_string()),
        ("topicFilterType", "SINGLE_TAG".to_owned()),
        ("topicSysFlag", "0".to_owned()),
        ("order", args.order.to_string()),
    ];
    let mut lines = Vec::new();
    for addr in &addrs {
        admin.call(addr, UPDATE_AND_CREATE_TOPIC, &fields, b"")?;
        lines.push(format!("create topic to {addr} success."));
    }
    lines.push(format!(
        "TopicConfig [topicName={}, readQueueNums={}, writeQueueNums={}, perm={}, topicFilterType=SINGLE_TAG, topicSysFlag=0, order={}, attributes={{}}]",
        args.topic, args.read_queues, args.write_queues, perm_text(i64::from(args.perm)), args.order
    ));
    admin.print(
        &lines,
        json!({
            "brokers": addrs, "topicName": args.topic, "readQueueNums": args.read_queues,
            "writeQueueNums": args.write_queues, "perm": args.perm, "order": args.order,
        }),
    );
    Ok(())
}

/// deleteTopic: DELETE_TOPIC_IN_BROKER on every master of the cluster, then
/// DELETE_TOPIC_IN_NAMESRV at every NameServer.
pub fn delete_topic(args: DeleteTopicArgs) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let (topic, cluster) = (&args.topic, &args.cluster);
    let masters = Brokers {
        broker: None,
        cluster: Some(cluster.clone()),
    };
    for addr in admin.addresses(&masters, false)? {
        admin.call(
            &addr,
            DELETE_TOPIC_IN_BROKER,
            &[("topic", topic.clone())],
            b"",
        )?;
    }
    let mut lines = vec![format!(
        "delete topic [{topic}] from cluster [{cluster}] success."
    )];
    let fields = [("topic", topic.clone()), ("clusterName", cluster.clone())];
    for addr in &admin.namesrvs {
        admin.call(addr, DELETE_TOPIC_IN_NAMESRV, &fields, b"")?;
    }
    lines.push(format!("delete topic [{topic}] from NameServer success."));
    admin.print(
        &lines,
        json!({ "topic": topic, "cluster": cluster, "deleted": true }),
    );
    Ok(())
}
