//! CONSUMER_SEND_MSG_BACK: a consumed message handed back lands in `%RETRY%<group>` after its
//! delay level with reconsumeTimes + 1 and RETRY_TOPIC, or in `%DLQ%<group>` at once once it
//! was redelivered as often as allowed; both topics are routed by the NameServer. Bad input
//! gets a RocketMQ error and leaves the connection usable.

mod common;

use std::net::TcpStream;

use common::{code_of, pull_until_found, request, send_v2, wait_route, Broker};
use serde_json::{json, Value};
use shardmq::wire::record::RecordView;

const CONSUMER_SEND_MSG_BACK: i32 = 36;
const SYSTEM_ERROR: i64 = 1;
const SUBSCRIPTION_GROUP_NOT_EXIST: i64 = 26;
const UNIQ_KEY: &str = "0A000001000000000000000000000007";

/// Stores one message in `orig_topic` and returns the send response.
fn send_original(conn: &mut TcpStream) -> Value {
    let props = format!("TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}{UNIQ_KEY}\u{2}WAIT\u{1}true\u{2}");
    let sent = send_v2(conn, "orig_topic", 0, b"failed once", &props);
    assert_eq!(code_of(&sent), 0, "{sent}");
    sent
}

/// The offset message id of a send response, and the physical offset inside it.
fn offset_id(sent: &Value) -> (String, i64) {
    let id = sent["extFields"]["msgId"]
        .as_str()
        .expect("msgId")
        .to_owned();
    let offset = i64::from_str_radix(&id[16..], 16).expect("hex offset");
    (id, offset)
}

fn send_back(conn: &mut TcpStream, fields: Value) -> Value {
    request(conn, CONSUMER_SEND_MSG_BACK, fields).0
}

fn back_fields(offset: i64, group: &str, delay_level: i32, max_reconsume: i32) -> Value {
    json!({
        "offset": offset.to_string(), "group": group, "delayLevel": delay_level.to_string(),
        "originMsgId": UNIQ_KEY, "originTopic": "orig_topic", "unitMode": "false",
        "maxReconsumeTimes": max_reconsume.to_string()
    })
}

/// The one record of a pull body, checked to be the original message resent once.
fn the_resent_record(body: &[u8]) -> RecordView<'_> {
    let record = RecordView::parse(body).expect("a record");
    assert_eq!(record.total_size() as usize, body.len(), "one record");
    assert_eq!(record.body(), b"failed once");
    assert_eq!(record.reconsume_times(), 1);
    assert_eq!(record.property("RETRY_TOPIC"), Some("orig_topic"));
    assert_eq!(record.uniq_key(), Some(UNIQ_KEY));
    record
}

#[test]
fn a_message_sent_back_is_retried_after_its_level() {
    let broker = Broker::start(1, &["-o", "messageDelayLevel=1s 2s 3s"]);
    let mut conn = broker.connect(0);
    let (id, offset) = offset_id(&send_original(&mut conn));
    let answer = send_back(&mut conn, back_fields(offset, "g", 1, 16));
    assert_eq!(code_of(&answer), 0, "{answer}");

    let route = wait_route(broker.namesrv_addr(), "%RETRY%g", 1);
    assert_eq!(route["queueDatas"][0]["readQueueNums"], 1);
    let body = pull_until_found(&mut conn, "%RETRY%g", 0, 0);
    let record = the_resent_record(&body);
    assert_eq!(record.topic(), "%RETRY%g");
    assert_eq!(record.property("ORIGIN_MESSAGE_ID"), Some(id.as_str()));
    assert_eq!(record.property("DELAY"), None);
}

#[test]
fn a_message_past_its_retries_goes_to_the_dead_letter_topic_at_once() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    let (_, offset) = offset_id(&send_original(&mut conn));
    let answer = send_back(&mut conn, back_fields(offset, "g", 0, 0));
    assert_eq!(code_of(&answer), 0, "{answer}");

    let route = wait_route(broker.namesrv_addr(), "%DLQ%g", 1);
    assert_eq!(route["queueDatas"][0]["perm"], 6);
    assert_eq!(route["queueDatas"][0]["writeQueueNums"], 1);
    // No delay level applies to a dead letter: it is there as soon as it is filed.
    let body = pull_until_found(&mut conn, "%DLQ%g", 0, 0);
    assert_eq!(the_resent_record(&body).topic(), "%DLQ%g");
}

#[test]
fn bad_requests_get_errors_and_the_connection_stays_usable() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    let (_, offset) = offset_id(&send_original(&mut conn));

    let inside = send_back(&mut conn, back_fields(offset + 1, "g", 0, 16));
    assert_eq!(code_of(&inside), SYSTEM_ERROR, "{inside}");
    let remark = inside["remark"].as_str().unwrap_or_default();
    assert!(remark.contains("look message by offset failed"), "{remark}");
    let past = send_back(&mut conn, back_fields(1 << 40, "g", 0, 16));
    assert_eq!(code_of(&past), SYSTEM_ERROR, "{past}");

    let mut no_group = back_fields(offset, "g", 0, 16);
    no_group.as_object_mut().expect("object").remove("group");
    assert_eq!(code_of(&send_back(&mut conn, no_group)), SYSTEM_ERROR);
    let bad_group = send_back(&mut conn, back_fields(offset, "no group!", 0, 16));
    assert_eq!(
        code_of(&bad_group),
        SUBSCRIPTION_GROUP_NOT_EXIST,
        "{bad_group}"
    );

    let fine = send_back(&mut conn, back_fields(offset, "g", 0, 16));
    assert_eq!(code_of(&fine), 0, "{fine}");
}
