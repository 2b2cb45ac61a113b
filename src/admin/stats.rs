//! `statsAll`: every topic with its consumer groups, their backlog, and the rates and day's
//! counts of messages in and out, as mqadmin's `StatsAllSubCommand` prints them: from the
//! NameServer's topic list and routes, each topic's groups (QUERY_TOPIC_CONSUME_BY_WHO), the
//! masters' stats items (VIEW_BROKER_STATS_DATA: TOPIC_PUT_NUMS by topic, GROUP_GET_NUMS by
//! `topic@group`) and consume stats (GET_CONSUME_STATS). As mqadmin does, a broker that has
//! no stats for a key, or cannot be asked, counts as zero.

use clap::Args;
use serde::Deserialize;
use serde_json::{json, Value};

use super::group::ConsumeStats;
use super::topic::TopicList;
use super::{Admin, AdminError, BrokerData, Common};
use crate::wire::codes::request_code::*;

#[derive(Debug, Args)]
pub struct StatsAllArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// Only topics that had messages in or out in the last 24 hours.
    #[arg(short = 'a', long = "activeTopic")]
    active: bool,
    /// Only this topic.
    #[arg(short = 't', long = "topic")]
    topic: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupList {
    #[serde(default)]
    group_list: Vec<String>,
}

/// One window of a stats item (`BrokerStatsItem`).
#[derive(Debug, Default, Deserialize)]
struct Window {
    #[serde(default)]
    sum: i64,
    #[serde(default)]
    tps: f64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BrokerStatsData {
    #[serde(default)]
    stats_minute: Window,
    #[serde(default)]
    stats_hour: Window,
    #[serde(default)]
    stats_day: Window,
}

impl BrokerStatsData {
    /// mqadmin's `compute24HourSum`: the day's sum, else the hour's, else the minute's.
    fn day_sum(&self) -> i64 {
        [&self.stats_day, &self.stats_hour, &self.stats_minute]
            .into_iter()
            .map(|w| w.sum)
            .find(|&sum| sum != 0)
            .unwrap_or(0)
    }
}

/// One printed row: a topic and one of its groups (or none).
struct Row {
    topic: String,
    group: Option<String>,
    accumulation: i64,
    in_tps: f64,
    out_tps: f64,
    in_day: i64,
    out_day: i64,
}

/// statsAll.
pub fn stats_all(args: StatsAllArgs) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let list: TopicList = admin.namesrv_json(GET_ALL_TOPIC_LIST_FROM_NAMESERVER, &[])?;
    let mut topics = list.topic_list;
    topics.sort();
    let mut rows = Vec::new();
    for topic in topics {
        if topic.starts_with("%RETRY%") || topic.starts_with("%DLQ%") {
            continue;
        }
        if args.topic.as_ref().is_some_and(|only| *only != topic) {
            continue;
        }
        // As mqadmin: a topic whose route cannot be read is left out.
        let Ok(route) = admin.route(&topic) else {
            continue;
        };
        rows.extend(topic_rows(&admin, &topic, &route.broker_datas, args.active));
    }
    let mut lines = vec![format!(
        "{:<64}  {:<64} {:>12} {:>11} {:>11} {:>14} {:>14}",
        "#Topic",
        "#Consumer Group",
        "#Accumulation",
        "#InTPS",
        "#OutTPS",
        "#InMsg24Hour",
        "#OutMsg24Hour"
    )];
    let mut values = Vec::new();
    for row in &rows {
        lines.push(match &row.group {
            Some(group) => format!(
                "{:<64}  {:<64} {:>12} {:>11.2} {:>11.2} {:>14} {:>14}",
                row.topic,
                group,
                row.accumulation,
                row.in_tps,
                row.out_tps,
                row.in_day,
                row.out_day
            ),
            None => format!(
                "{:<64}  {:<64} {:>12} {:>11.2} {:>11} {:>14} {:>14}",
                row.topic, "", 0, row.in_tps, "", row.in_day, "NO_CONSUMER"
            ),
        });
        values.push(json!({
            "topic": row.topic, "consumerGroup": row.group, "accumulation": row.accumulation,
            "inTps": row.in_tps, "outTps": row.out_tps, "inMsg24Hour": row.in_day,
            "outMsg24Hour": row.out_day,
        }));
    }
    admin.print(&lines, Value::Array(values));
    Ok(())
}

/// The rows of `topic`, served by `brokers`: one per group that consumes it, or one saying
/// nobody does; with `active`, only if something came in or went out in the last day.
fn topic_rows(admin: &Admin, topic: &str, brokers: &[BrokerData], active: bool) -> Vec<Row> {
    let masters: Vec<&str> = brokers
        .iter()
        .filter_map(|b| {
            b.addrs()
                .into_iter()
                .find(|(id, _)| *id == 0)
                .map(|(_, a)| a)
        })
        .collect();
    let stats = |name: &str, key: &str| -> (f64, i64) {
        let fields = [("statsName", name.to_owned()), ("statsKey", key.to_owned())];
        masters
            .iter()
            .filter_map(|addr| {
                admin
                    .call_json::<BrokerStatsData>(addr, VIEW_BROKER_STATS_DATA, &fields)
                    .ok()
            })
            .fold((0.0, 0), |(tps, day), data| {
                (tps + data.stats_minute.tps, day + data.day_sum())
            })
    };
    let (in_tps, in_day) = stats("TOPIC_PUT_NUMS", topic);
    let topic_field = [("topic", topic.to_owned())];
    let groups = brokers
        .first()
        .and_then(BrokerData::select_addr)
        .and_then(|addr| {
            let call = admin.call_json::<GroupList>(addr, QUERY_TOPIC_CONSUME_BY_WHO, &topic_field);
            call.ok()
        })
        .map(|list| list.group_list)
        .unwrap_or_default();
    if groups.is_empty() {
        return (!active || in_day > 0)
            .then(|| Row {
                topic: topic.to_owned(),
                group: None,
                accumulation: 0,
                in_tps,
                out_tps: 0.0,
                in_day,
                out_day: 0,
            })
            .into_iter()
            .collect();
    }
    let mut groups = groups;
    groups.sort();
    let mut rows = Vec::new();
    for group in groups {
        let (out_tps, out_day) = stats("GROUP_GET_NUMS", &format!("{topic}@{group}"));
        let fields = [
            ("consumerGroup", group.clone()),
            ("topic", topic.to_owned()),
        ];
        let accumulation: i64 = brokers
            .iter()
            .filter_map(BrokerData::select_addr)
            .filter_map(|addr| {
                let stats = admin.call_json::<ConsumeStats>(addr, GET_CONSUME_STATS, &fields);
                stats.ok()
            })
            .flat_map(|stats| stats.offset_table.into_values())
            .map(|o| o.broker_offset - o.consumer_offset)
            .sum();
        if !active || in_day > 0 || out_day > 0 {
            rows.push(Row {
                topic: topic.to_owned(),
                group: Some(group),
                accumulation: accumulation.max(0),
                in_tps,
                out_tps,
                in_day,
                out_day,
            });
        }
    }
    rows
}
