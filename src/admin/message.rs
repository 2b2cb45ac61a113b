//! The message verbs: queryMsgById, queryMsgByKey, queryMsgByUniqueKey, queryMsgByOffset,
//! sendMessage, consumeMessage. Stored messages come back in the store's record format
//! (docs/protocol.md §3), read with [`RecordView`]; bodies are printed as UTF-8 (lossy),
//! compressed ones as they are stored.

use std::collections::BTreeMap;

use clap::Args;
use serde_json::{json, Value};

use super::{human_time, remote, Admin, AdminError, Common};
use crate::wire::codes::request_code::*;
use crate::wire::codes::response_code;
use crate::wire::message_id::{decode_offset_message_id, offset_message_id, UniqKeyGenerator};
use crate::wire::properties;
use crate::wire::record::RecordView;
use crate::wire::RemotingCommand;

#[derive(Debug, Args)]
pub struct QueryByIdArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// Offset message ids, comma-separated.
    #[arg(short = 'i', long = "msgId")]
    ids: String,
    /// The topic, for a lookup by unique key when an id is not an offset id.
    #[arg(short = 't', long = "topic")]
    topic: Option<String>,
}

#[derive(Debug, Args)]
pub struct QueryByKeyArgs {
    #[command(flatten)]
    pub(super) common: Common,
    #[arg(short = 't', long = "topic")]
    topic: String,
    #[arg(short = 'k', long = "msgKey")]
    key: String,
    #[arg(short = 'b', long = "beginTimestamp", default_value_t = 0)]
    begin: i64,
    #[arg(short = 'e', long = "endTimestamp", default_value_t = i64::MAX)]
    end: i64,
    #[arg(short = 'm', long = "maxNum", default_value_t = 64)]
    max: u32,
}

#[derive(Debug, Args)]
pub struct QueryByUniqueKeyArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// The unique key (the id a producer is given).
    #[arg(short = 'i', long = "msgId")]
    id: String,
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Every message with this key, not only the first stored.
    #[arg(short = 'a', long = "showAll")]
    all: bool,
}

#[derive(Debug, Args)]
pub struct QueryByOffsetArgs {
    #[command(flatten)]
    pub(super) common: Common,
    #[arg(short = 't', long = "topic")]
    topic: String,
    #[arg(short = 'b', long = "brokerName")]
    broker_name: String,
    #[arg(short = 'i', long = "queueId")]
    queue_id: u32,
    #[arg(short = 'o', long = "offset")]
    offset: i64,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub(super) common: Common,
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// The body, UTF-8.
    #[arg(short = 'p', long = "body")]
    body: String,
    #[arg(short = 'k', long = "key")]
    keys: Option<String>,
    /// The tag (not a cluster, as in mqadmin).
    #[arg(short = 'c', long = "tags")]
    tags: Option<String>,
    #[arg(short = 'b', long = "broker")]
    broker_name: Option<String>,
    #[arg(short = 'i', long = "qid", requires = "broker_name")]
    queue_id: Option<u32>,
}

#[derive(Debug, Args)]
pub struct ConsumeArgs {
    #[command(flatten)]
    pub(super) common: Common,
    #[arg(short = 't', long = "topic")]
    topic: String,
    #[arg(short = 'b', long = "brokerName")]
    broker_name: Option<String>,
    #[arg(short = 'i', long = "queueId", requires = "broker_name")]
    queue_id: Option<u32>,
    #[arg(short = 'o', long = "offset", requires = "queue_id")]
    offset: Option<i64>,
    #[arg(short = 'g', long = "consumerGroup", default_value = "TOOLS_CONSUMER")]
    group: String,
    /// Most messages printed per queue.
    #[arg(short = 'c', long = "MessageNumber", default_value_t = 128)]
    count: u32,
}

/// Every record of a body of concatenated stored messages.
fn records(body: &[u8]) -> Vec<RecordView<'_>> {
    let mut found = Vec::new();
    let mut rest = body;
    while let Ok(record) = RecordView::parse(rest) {
        let size = record.total_size() as usize;
        found.push(record);
        match rest.get(size..) {
            Some(next) if !next.is_empty() && size > 0 => rest = next,
            _ => break,
        }
    }
    found
}

/// The id a producer was given: the unique key, else the offset id.
fn message_id(record: &RecordView<'_>) -> String {
    record
        .uniq_key()
        .map(str::to_owned)
        .unwrap_or_else(|| offset_message_id(record.store_host(), record.physical_offset()))
}

/// mqadmin's `printMsg`: one labelled line per field; and the same as JSON.
fn describe(record: &RecordView<'_>, with_offset_id: bool) -> (Vec<String>, Value) {
    let offset_id = offset_message_id(record.store_host(), record.physical_offset());
    let props: BTreeMap<&str, &str> = properties::iter(record.properties()).collect();
    let body = String::from_utf8_lossy(record.body()).into_owned();
    let mut lines = Vec::new();
    if with_offset_id {
        lines.push(format!("{:<20} {offset_id}", "OffsetID:"));
    }
    let text = |label: &str, value: String| format!("{label:<20} {value}");
    lines.extend([
        text("Topic:", record.topic().to_owned()),
        text("Tags:", format!("[{}]", record.tags().unwrap_or_default())),
        text("Keys:", format!("[{}]", record.keys().unwrap_or_default())),
        text("Queue ID:", record.queue_id().to_string()),
        text("Queue Offset:", record.queue_offset().0.to_string()),
        text("CommitLog Offset:", record.physical_offset().0.to_string()),
        text("Reconsume Times:", record.reconsume_times().to_string()),
        text("Born Timestamp:", human_time(record.born_timestamp_ms())),
        text("Store Timestamp:", human_time(record.store_timestamp_ms())),
        text("Born Host:", record.born_host().to_string()),
        text("Store Host:", record.store_host().to_string()),
        text("System Flag:", record.sysflag().0.to_string()),
        text("Properties:", format!("{props:?}")),
        text("Message Body:", body.clone()),
    ]);
    let value = json!({
        "msgId": message_id(record), "offsetMsgId": offset_id, "topic": record.topic(),
        "tags": record.tags(), "keys": record.keys(), "queueId": record.queue_id(),
        "queueOffset": record.queue_offset().0, "commitLogOffset": record.physical_offset().0,
        "reconsumeTimes": record.reconsume_times(), "bornTimestamp": record.born_timestamp_ms(),
        "storeTimestamp": record.store_timestamp_ms(), "bornHost": record.born_host().to_string(),
        "storeHost": record.store_host().to_string(), "sysFlag": record.sysflag().0,
        "properties": props, "body": body,
    });
    (lines, value)
}

/// QUERY_MESSAGE to every broker of `topic`'s route; the records each answered.
fn query(
    admin: &Admin,
    topic: &str,
    key: &str,
    unique: bool,
    max: u32,
    range: (i64, i64),
) -> Result<Vec<Vec<u8>>, AdminError> {
    let route = admin.route(topic)?;
    let fields = [
        ("topic", topic.to_owned()),
        ("key", key.to_owned()),
        ("maxNum", max.to_string()),
        ("beginTimestamp", range.0.to_string()),
        ("endTimestamp", range.1.to_string()),
        ("_UNIQUE_KEY_QUERY", unique.to_string()),
    ];
    let mut bodies = Vec::new();
    for broker in &route.broker_datas {
        let Some(addr) = broker.select_addr() else {
            continue;
        };
        let response = remote::call(addr, QUERY_MESSAGE, &fields, b"", &admin.link)?;
        match response.code {
            response_code::SUCCESS => bodies.push(response.body.to_vec()),
            response_code::QUERY_NOT_FOUND => {}
            code => return Err(refused(addr, QUERY_MESSAGE, code, &response)),
        }
    }
    Ok(bodies)
}

fn refused(addr: &str, request: i32, code: i32, response: &RemotingCommand) -> AdminError {
    AdminError::Refused {
        addr: addr.to_owned(),
        request,
        code,
        remark: response.remark.clone().unwrap_or_default(),
    }
}

/// Prints the messages found (`all`, or the first stored) as mqadmin's `showMessage`.
fn show(
    admin: &Admin,
    mut found: Vec<(i64, Vec<u8>)>,
    all: bool,
    what: &str,
) -> Result<(), AdminError> {
    found.sort_by_key(|(stored, _)| *stored);
    if found.is_empty() {
        return Err(AdminError::Usage(format!("{what}: no message found")));
    }
    let (mut lines, mut values) = (Vec::new(), Vec::new());
    for (_, bytes) in found.iter().take(if all { usize::MAX } else { 1 }) {
        if let Ok(record) = RecordView::parse(bytes) {
            let (text, value) = describe(&record, false);
            lines.extend(text);
            lines.push(String::new());
            values.push(value);
        }
    }
    admin.print(&lines, json!({ "messages": values }));
    Ok(())
}

/// queryMsgById: each offset id decoded into its broker and CommitLog offset, then
/// VIEW_MESSAGE_BY_ID there; an id that is not an offset id is looked up as a unique key
/// in `-t`'s topic, as mqadmin 5 does.
pub fn query_by_id(args: QueryByIdArgs) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let (mut lines, mut values) = (Vec::new(), Vec::new());
    for id in args
        .ids
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
    {
        let Ok((addr, offset)) = decode_offset_message_id(id) else {
            let Some(topic) = &args.topic else {
                return Err(AdminError::Usage(format!("`{id}` is not an offset message id; name its topic (-t) to look it up as a unique key")));
            };
            return query_by_unique_key(QueryByUniqueKeyArgs {
                common: args.common.clone(),
                id: id.to_owned(),
                topic: topic.clone(),
                all: false,
            });
        };
        let mut fields = vec![("offset", offset.0.to_string())];
        if let Some(topic) = &args.topic {
            fields.push(("topic", topic.clone()));
        }
        let response = admin.call(&addr.to_string(), VIEW_MESSAGE_BY_ID, &fields, b"")?;
        let record = RecordView::parse(&response.body).map_err(|e| AdminError::Unreadable {
            addr: addr.to_string(),
            what: format!("a message that is not a stored record: {e}"),
        })?;
        let (text, value) = describe(&record, true);
        lines.extend(text);
        lines.push(String::new());
        values.push(value);
    }
    admin.print(&lines, json!({ "messages": values }));
    Ok(())
}

/// queryMsgByKey: QUERY_MESSAGE for the key on every broker of the topic, kept when the
/// message's KEYS hold it.
pub fn query_by_key(args: QueryByKeyArgs) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let bodies = query(
        &admin,
        &args.topic,
        &args.key,
        false,
        args.max,
        (args.begin, args.end),
    )?;
    let mut lines = vec![format!(
        "{:<50} {:>4} {:>40}",
        "#Message ID", "#QID", "#Offset"
    )];
    let mut rows = Vec::new();
    for body in &bodies {
        for record in records(body) {
            let has_key = record
                .keys()
                .is_some_and(|keys| keys.split(' ').any(|k| k == args.key));
            if !has_key || record.topic() != args.topic {
                continue;
            }
            let id = message_id(&record);
            lines.push(format!(
                "{id:<50} {:>4} {:>40}",
                record.queue_id(),
                record.queue_offset().0
            ));
            rows.push(json!({"msgId": id, "queueId": record.queue_id(), "queueOffset": record.queue_offset().0}));
        }
    }
    if rows.is_empty() {
        return Err(AdminError::Usage(
            "query message by key finished, but no message.".into(),
        ));
    }
    admin.print(&lines, json!({ "messages": rows }));
    Ok(())
}

/// queryMsgByUniqueKey: QUERY_MESSAGE by unique key on every broker of the topic.
pub fn query_by_unique_key(args: QueryByUniqueKeyArgs) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let bodies = query(&admin, &args.topic, &args.id, true, 32, (0, i64::MAX))?;
    let found: Vec<(i64, Vec<u8>)> = bodies
        .iter()
        .flat_map(|body| records(body))
        .filter(|record| record.uniq_key() == Some(args.id.as_str()))
        .map(|record| (record.store_timestamp_ms(), record.as_bytes().to_vec()))
        .collect();
    show(&admin, found, args.all, &format!("unique key {}", args.id))
}

/// The header of a one-queue pull, as mqadmin's tools consumer sends it.
fn pull_fields(
    group: &str,
    topic: &str,
    queue_id: u32,
    offset: i64,
    max: u32,
) -> Vec<(&'static str, String)> {
    vec![
        ("consumerGroup", group.to_owned()),
        ("topic", topic.to_owned()),
        ("queueId", queue_id.to_string()),
        ("queueOffset", offset.to_string()),
        ("maxMsgNums", max.to_string()),
        ("sysFlag", "4".to_owned()),
        ("commitOffset", "0".to_owned()),
        ("suspendTimeoutMillis", "0".to_owned()),
        ("subscription", "*".to_owned()),
        ("subVersion", "0".to_owned()),
        ("expressionType", "TAG".to_owned()),
    ]
}

/// The master address of `broker_name` in `topic`'s route.
fn broker_addr(admin: &Admin, topic: &str, broker_name: &str) -> Result<String, AdminError> {
    admin
        .route(topic)?
        .broker_datas
        .iter()
        .find(|b| b.broker_name == broker_name)
        .and_then(|b| b.select_addr().map(str::to_owned))
        .ok_or_else(|| {
            AdminError::Usage(format!(
                "broker {broker_name} is not in the route of {topic}"
            ))
        })
}

/// queryMsgByOffset: one PULL_MESSAGE of the queue at the offset.
pub fn query_by_offset(args: QueryByOffsetArgs) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let addr = broker_addr(&admin, &args.topic, &args.broker_name)?;
    let fields = pull_fields("TOOLS_CONSUMER", &args.topic, args.queue_id, args.offset, 1);
    let response = remote::call(&addr, PULL_MESSAGE, &fields, b"", &admin.link)?;
    if response.code != response_code::SUCCESS {
        return Err(refused(&addr, PULL_MESSAGE, response.code, &response));
    }
    let found = records(&response.body)
        .into_iter()
        .map(|r| (r.store_timestamp_ms(), r.as_bytes().to_vec()))
        .collect();
    show(
        &admin,
        found,
        false,
        &format!("offset {} of queue {}", args.offset, args.queue_id),
    )
}

/// sendMessage: one SEND_MESSAGE_V2 to a queue of the topic's route (-b/-i, else the first
/// writable queue; a topic nobody created goes by TBW102's route, to be created there).
pub fn send_message(args: SendArgs) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let route = admin
        .route(&args.topic)
        .or_else(|_| admin.route("TBW102"))?;
    let queue = route
        .queue_datas
        .iter()
        .filter(|q| {
            q.write_queue_nums > 0
                && args
                    .broker_name
                    .as_ref()
                    .map_or(true, |name| *name == q.broker_name)
        })
        .min_by(|a, b| a.broker_name.cmp(&b.broker_name))
        .ok_or_else(|| {
            AdminError::Usage(format!(
                "no writable queue of {} (or of the broker named)",
                args.topic
            ))
        })?;
    let queue_id = args.queue_id.unwrap_or(0);
    let addr = route
        .broker_datas
        .iter()
        .find(|b| b.broker_name == queue.broker_name)
        .and_then(|b| b.select_addr().map(str::to_owned))
        .ok_or_else(|| AdminError::Usage(format!("no address of broker {}", queue.broker_name)))?;
    let now = jiff::Timestamp::now().as_millisecond();
    let local = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    let uniq = UniqKeyGenerator::new(local, std::process::id(), now as i32).next_key(now);
    let mut props = properties::Builder::new();
    let bad =
        |e: crate::wire::WireError| AdminError::Usage(format!("cannot send that message: {e}"));
    props.push("UNIQ_KEY", &uniq).map_err(bad)?;
    props.push("WAIT", "true").map_err(bad)?;
    if let Some(tags) = &args.tags {
        props.push("TAGS", tags).map_err(bad)?;
    }
    if let Some(keys) = &args.keys {
        props.push("KEYS", keys).map_err(bad)?;
    }
    let fields = [
        ("a", format!("TOOLS_PRODUCER_{now}")),
        ("b", args.topic.clone()),
        ("c", "TBW102".to_owned()),
        ("d", "4".to_owned()),
        ("e", queue_id.to_string()),
        ("f", "0".to_owned()),
        ("g", now.to_string()),
        ("h", "0".to_owned()),
        ("i", props.finish()),
        ("j", "0".to_owned()),
        ("k", "false".to_owned()),
        ("m", "false".to_owned()),
    ];
    let response = remote::call(
        &addr,
        SEND_MESSAGE_V2,
        &fields,
        args.body.as_bytes(),
        &admin.link,
    )?;
    let status = match response.code {
        response_code::SUCCESS => "SEND_OK",
        response_code::FLUSH_DISK_TIMEOUT => "FLUSH_DISK_TIMEOUT",
        response_code::FLUSH_SLAVE_TIMEOUT => "FLUSH_SLAVE_TIMEOUT",
        response_code::SLAVE_NOT_AVAILABLE => "SLAVE_NOT_AVAILABLE",
        code => return Err(refused(&addr, SEND_MESSAGE_V2, code, &response)),
    };
    let queue_id = response
        .ext_fields
        .get("queueId")
        .unwrap_or_default()
        .to_owned();
    let row = |c: [&str; 4]| format!("{:<32}  {:<4}  {:<20}    {}", c[0], c[1], c[2], c[3]);
    let lines = vec![
        row(["#Broker Name", "#QID", "#Send Result", "#MsgId"]),
        row([&queue.broker_name, &queue_id, status, &uniq]),
    ];
    admin.print(&lines, json!({
        "brokerName": queue.broker_name, "queueId": queue_id.parse::<i64>().unwrap_or(-1),
        "sendStatus": status, "msgId": uniq,
        "offsetMsgId": response.ext_fields.get("msgId"),
        "queueOffset": response.ext_fields.get("queueOffset").and_then(|o| o.parse::<i64>().ok()),
    }));
    Ok(())
}

/// consumeMessage: the oldest messages of each readable queue of the topic (or of one
/// queue, from an offset), pulled without committing anything.
pub fn consume_message(args: ConsumeArgs) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let route = admin.route(&args.topic)?;
    let (mut lines, mut values) = (Vec::new(), Vec::new());
    for queue_data in &route.queue_datas {
        if args
            .broker_name
            .as_ref()
            .is_some_and(|name| *name != queue_data.broker_name)
        {
            continue;
        }
        let addr = broker_addr(&admin, &args.topic, &queue_data.broker_name)?;
        for queue_id in 0..u32::try_from(queue_data.read_queue_nums).unwrap_or(0) {
            if args.queue_id.is_some_and(|only| only != queue_id) {
                continue;
            }
            let queue_fields = [
                ("topic", args.topic.clone()),
                ("queueId", queue_id.to_string()),
            ];
            let offset_of = |code| -> Result<i64, AdminError> {
                let response = admin.call(&addr, code, &queue_fields, b"")?;
                Ok(response
                    .ext_fields
                    .get("offset")
                    .and_then(|o| o.parse().ok())
                    .unwrap_or(0))
            };
            let mut offset = match args.offset {
                Some(offset) => offset,
                None => offset_of(GET_MIN_OFFSET)?,
            };
            let max = offset_of(GET_MAX_OFFSET)?;
            let mut printed = 0;
            let queue_name = format!(
                "MessageQueue [topic={}, brokerName={}, queueId={queue_id}]",
                args.topic, queue_data.broker_name
            );
            while offset < max && printed < args.count {
                let fields = pull_fields(
                    &args.group,
                    &args.topic,
                    queue_id,
                    offset,
                    (args.count - printed).min(32),
                );
                let response = remote::call(&addr, PULL_MESSAGE, &fields, b"", &admin.link)?;
                if response.code != response_code::SUCCESS {
                    lines.push(format!(
                        "{queue_name} print msg finished. status={}, offset={offset}",
                        response_code::name(response.code).unwrap_or("?")
                    ));
                    break;
                }
                let next: i64 = response
                    .ext_fields
                    .get("nextBeginOffset")
                    .and_then(|o| o.parse().ok())
                    .unwrap_or(max);
                lines.push("Consume ok".to_owned());
                for record in records(&response.body)
                    .into_iter()
                    .take((args.count - printed) as usize)
                {
                    let (_, value) = describe(&record, true);
                    lines.push(format!(
                        "MSGID: {} MessageExt [brokerName={}, queueId={queue_id}, queueOffset={}, storeTimestamp={}, topic={}, tags={}, keys={}] BODY: {}",
                        message_id(&record), queue_data.broker_name, record.queue_offset().0, record.store_timestamp_ms(),
                        record.topic(), record.tags().unwrap_or_default(), record.keys().unwrap_or_default(),
                        String::from_utf8_lossy(record.body())
                    ));
                    values.push(value);
                    printed += 1;
                }
                if next <= offset {
                    break;
                }
                offset = next;
            }
        }
    }
    admin.print(&lines, json!({ "messages": values }));
    Ok(())
}
