//! Administration requests (REMOTING.md §2.8) as mqadmin sends them: create, delete and list
//! topics, and the broker's runtime info.
//!
//! Answered on whichever shard's port was asked; topic changes go to the owner shard and
//! return once every shard has them (see [`super::topic_owner`]).

use std::collections::BTreeMap;
use std::rc::Rc;

use bytes::Bytes;
use serde::Serialize;

use super::topics;
use super::{BrokerContext, BrokerError};
use crate::namesrv::body;
use crate::namesrv::{DataVersion, KvTable, TopicConfig};
use crate::wire::codes::{response_code, VERSION_CURRENT};
use crate::wire::headers::{CreateTopicRequestHeader, DeleteTopicRequestHeader};
use crate::wire::RemotingCommand;

/// Most queues UPDATE_AND_CREATE_TOPIC accepts per broker (Java has no cap; an absurd count
/// would allocate consume queues by the million).
pub const TOPIC_QUEUES_MAX: i32 = 1024;

/// The `brokerVersionDesc` shardmq reports: the protocol level it answers like.
pub const VERSION_DESC: &str = "V5_3_3";

type Handled = Result<RemotingCommand, BrokerError>;

/// UPDATE_AND_CREATE_TOPIC (17): create or replace a topic, idempotently.
pub async fn create_topic(ctx: Rc<BrokerContext>, request: RemotingCommand) -> Handled {
    let header: CreateTopicRequestHeader = request.decode_header()?;
    topics::validate_topic(&header.topic)?;
    if topics::is_system_topic(&header.topic) {
        return Err(BrokerError::SystemTopic(header.topic));
    }
    for (field, n) in [
        ("readQueueNums", header.read_queue_nums),
        ("writeQueueNums", header.write_queue_nums),
    ] {
        if !(1..=TOPIC_QUEUES_MAX).contains(&n) {
            return Err(BrokerError::InvalidParameter(format!(
                "{field} {n} is outside 1..={TOPIC_QUEUES_MAX}"
            )));
        }
    }
    if !matches!(
        header.topic_filter_type.as_str(),
        "SINGLE_TAG" | "MULTI_TAG"
    ) {
        return Err(BrokerError::InvalidParameter(format!(
            "topicFilterType {} is neither SINGLE_TAG nor MULTI_TAG",
            header.topic_filter_type
        )));
    }
    let config = TopicConfig {
        attributes: parse_attributes(header.attributes.as_deref().unwrap_or("")),
        order: header.order,
        perm: header.perm,
        read_queue_nums: header.read_queue_nums,
        topic_filter_type: header.topic_filter_type,
        topic_name: header.topic,
        topic_sys_flag: header.topic_sys_flag.unwrap_or(0),
        write_queue_nums: header.write_queue_nums,
    };
    ctx.topics.create(config).await?;
    Ok(success(&request))
}

/// DELETE_TOPIC_IN_BROKER (215). The topic's consume queues and offsets belong to the store
/// and offset families, which drop them when the topic leaves the table.
pub async fn delete_topic(ctx: Rc<BrokerContext>, request: RemotingCommand) -> Handled {
    let header: DeleteTopicRequestHeader = request.decode_header()?;
    if topics::is_system_topic(&header.topic) {
        return Err(BrokerError::SystemTopic(header.topic));
    }
    ctx.topics.delete(&header.topic).await?;
    Ok(success(&request))
}

/// 5.x `TopicConfigAndMappingSerializeWrapper`; 4.9 readers ignore the mapping fields.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AllTopicConfig {
    data_version: DataVersion,
    mapping_data_version: DataVersion,
    topic_config_table: BTreeMap<String, TopicConfig>,
    topic_queue_mapping_detail_map: BTreeMap<String, serde_json::Value>,
    topic_queue_mapping_info_map: BTreeMap<String, serde_json::Value>,
}

/// GET_ALL_TOPIC_CONFIG (21): this shard's topics (the shared table and its own topic).
pub fn all_topic_config(ctx: &BrokerContext, request: &RemotingCommand) -> Handled {
    let wrapper = ctx.topics.table().wrapper(ctx.topics.own());
    let all = AllTopicConfig {
        mapping_data_version: DataVersion {
            timestamp: wrapper.data_version.timestamp,
            ..DataVersion::default()
        },
        data_version: wrapper.data_version,
        topic_config_table: wrapper.topic_config_table,
        topic_queue_mapping_detail_map: BTreeMap::new(),
        topic_queue_mapping_info_map: BTreeMap::new(),
    };
    let mut response = success(request);
    response.body = Bytes::from(body::encode(&all));
    Ok(response)
}

/// GET_BROKER_RUNTIME_INFO (28). Real values: `brokerVersionDesc`, `brokerVersion`,
/// `brokerActive`, `bootTimestamp`, `shards`. The traffic counters, TPS and CommitLog
/// figures read 0 until the store and its counters report them; they are present because
/// mqadmin parses every numeric key it finds.
pub fn runtime_info(ctx: &BrokerContext, request: &RemotingCommand) -> Handled {
    let mut table = BTreeMap::new();
    let mut put = |key: &str, value: String| {
        table.insert(key.to_owned(), value);
    };
    put("brokerVersionDesc", VERSION_DESC.to_owned());
    put("brokerVersion", VERSION_CURRENT.to_string());
    put("brokerActive", "true".to_owned());
    put("bootTimestamp", ctx.boot_ms.to_string());
    put("shards", ctx.shard.count().to_string());
    for key in [
        "putTps",
        "getTransferredTps",
        "timerEnqueueTps",
        "timerDequeueTps",
    ] {
        put(key, "0.0 0.0 0.0".to_owned());
    }
    for key in ZERO_COUNTERS {
        put(key, "0".to_owned());
    }
    put("commitLogDiskRatio", "0.0".to_owned());
    let mut response = success(request);
    response.body = Bytes::from(body::encode(&KvTable { table }));
    Ok(response)
}

const ZERO_COUNTERS: &[&str] = &[
    "msgPutTotalYesterdayMorning",
    "msgPutTotalTodayMorning",
    "msgPutTotalTodayNow",
    "msgGetTotalYesterdayMorning",
    "msgGetTotalTodayMorning",
    "msgGetTotalTodayNow",
    "sendThreadPoolQueueSize",
    "pullThreadPoolQueueSize",
    "sendThreadPoolQueueHeadWaitTimeMills",
    "pullThreadPoolQueueHeadWaitTimeMills",
    "pageCacheLockTimeMills",
    "earliestMessageTimeStamp",
    "commitLogMaxOffset",
    "commitLogMinOffset",
    "dispatchBehindBytes",
    "remainHowManyDataToFlush",
    "timerReadBehind",
    "timerOffsetBehind",
    "timerCongestNum",
];

/// 5.x attributes as mqadmin sends them: `+key=value,+key2=value2` (a `-key` removes, which
/// on a full replacement means leaving it out).
fn parse_attributes(text: &str) -> BTreeMap<String, String> {
    text.split(',')
        .filter_map(|item| item.trim().strip_prefix('+'))
        .filter_map(|item| item.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn success(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, response_code::SUCCESS, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_parse_the_plus_form() {
        let parsed = parse_attributes("+message.type=NORMAL, -gone ,+a=b=c");
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed["message.type"], "NORMAL");
        assert_eq!(parsed["a"], "b=c");
        assert!(parse_attributes("").is_empty());
    }
}
