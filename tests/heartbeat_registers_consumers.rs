//! A consumer's HEART_BEAT registers it in its group: GET_CONSUMER_LIST_BY_GROUP lists it,
//! and the broker tells the group's members when membership changes.

mod common;

use std::time::Duration;

use common::{code_of, json_body, json_frame, read_frame, write_all, Broker};

const HEART_BEAT: i32 = 34;
const GET_CONSUMER_LIST_BY_GROUP: i32 = 38;
const NOTIFY_CONSUMER_IDS_CHANGED: i64 = 40;

/// A heartbeat the way the C++ client writes it: enums as ordinals, fields missing.
fn heartbeat(client_id: &str) -> Vec<u8> {
    format!(
        r#"{{"clientID":"{client_id}","consumerDataSet":[{{"groupName":"cg","consumeType":1,"messageModel":1,"consumeFromWhere":0,"subscriptionDataSet":[{{"topic":"orders","subString":"TagA || TagC"}}]}}],"producerDataSet":[]}}"#
    )
    .into_bytes()
}

/// Sends `body` as a request and returns the response, collecting the broker's own requests
/// that arrive before it.
fn call(
    conn: &mut std::net::TcpStream,
    code: i32,
    opaque: i32,
    fields: &str,
    body: &[u8],
) -> (serde_json::Value, Vec<u8>, Vec<serde_json::Value>) {
    let header = format!(
        r#"{{"code":{code},"language":"CPP","version":63,"opaque":{opaque},"flag":0,"extFields":{fields}}}"#
    );
    write_all(conn, &json_frame(&header, body));
    let mut pushed = Vec::new();
    loop {
        let frame = read_frame(conn).expect("a frame");
        let json = frame.json();
        if json["flag"].as_i64().unwrap_or(0) & 1 == 1 {
            assert_eq!(json["opaque"], opaque);
            return (json, frame.body, pushed);
        }
        pushed.push(json);
    }
}

#[test]
fn heartbeat_joins_the_group_and_members_are_notified() {
    let broker = Broker::start(1, &[]);
    let mut first = broker.connect(0);
    let (response, _, _) = call(&mut first, HEART_BEAT, 1, "{}", &heartbeat("client-1"));
    assert_eq!(code_of(&response), 0);

    let mut second = broker.connect(0);
    let (response, _, _) = call(&mut second, HEART_BEAT, 1, "{}", &heartbeat("client-2"));
    assert_eq!(code_of(&response), 0);

    let (response, body, pushed) = call(
        &mut first,
        GET_CONSUMER_LIST_BY_GROUP,
        2,
        r#"{"consumerGroup":"cg"}"#,
        b"",
    );
    assert_eq!(code_of(&response), 0);
    let mut ids: Vec<String> = json_body(&body)["consumerIdList"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|id| id.as_str().expect("string").to_owned())
        .collect();
    ids.sort();
    assert_eq!(ids, ["client-1", "client-2"]);
    // The first member heard of its own arrival and of the second's.
    let notices = pushed
        .iter()
        .filter(|p| p["code"] == NOTIFY_CONSUMER_IDS_CHANGED)
        .count();
    assert!(
        notices >= 1,
        "first member notified when the second joined: {pushed:?}"
    );

    drop(second);
    first
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let notice = read_frame(&mut first)
        .expect("notified when a member leaves")
        .json();
    assert_eq!(notice["code"], NOTIFY_CONSUMER_IDS_CHANGED);
}
