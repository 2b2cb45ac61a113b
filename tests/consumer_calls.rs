//! GET_CONSUMER_RUNNING_INFO (307) and CONSUME_MESSAGE_DIRECTLY (309) over the raw
//! protocol, as mqadmin's consumerStatus and queryMsgById -g -d send them: the broker
//! forwards the request to the consumer named by group and client id, on that consumer's
//! connection, and answers the admin with the consumer's own answer; a consumer not
//! connected, or one whose connection closes first, gets Java's SYSTEM_ERROR remarks.

mod common;

use std::net::TcpStream;
use std::thread;

use common::{
    code_of, decode_record, heart_beat, json_frame, read_frame, request, send_v2, write_all,
    Broker, SUCCESS, SYSTEM_ERROR,
};
use serde_json::{json, Value};

const GET_CONSUMER_RUNNING_INFO: i32 = 307;
const CONSUME_MESSAGE_DIRECTLY: i32 = 309;

/// A push consumer `client` of group `cg` on its own connection.
fn consumer(broker: &Broker, client: &str) -> TcpStream {
    let mut conn = broker.connect(0);
    let hb = format!(
        r#"{{"clientID":"{client}","consumerDataSet":[{{"groupName":"cg","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","subscriptionDataSet":[{{"topic":"CT","subString":"*"}}]}}],"producerDataSet":[]}}"#
    );
    assert_eq!(code_of(&heart_beat(&mut conn, &hb)), SUCCESS);
    conn
}

/// Reads the next request the broker sends `conn` (skipping NOTIFY_CONSUMER_IDS_CHANGED)
/// and answers it with `code` and `body`, as a consumer does; returns the request's header
/// and body.
fn answer_next(conn: &mut TcpStream, code: i32, body: &str) -> (Value, Vec<u8>) {
    loop {
        let frame = read_frame(conn).expect("a request from the broker");
        let header = frame.json();
        if header["code"] == 40 {
            continue;
        }
        let response = json!({
            "code": code, "language": "JAVA", "version": 479, "opaque": header["opaque"],
            "flag": 1, "remark": "from the consumer", "extFields": {},
        });
        write_all(conn, &json_frame(&response.to_string(), body.as_bytes()));
        return (header, frame.body);
    }
}

#[test]
fn requests_reach_the_consumer_and_its_answers_come_back() {
    let broker = Broker::start(1, &[]);
    let mut admin = broker.connect(0);
    let sent = send_v2(&mut admin, "CT", 0, b"direct", "");
    assert_eq!(code_of(&sent), SUCCESS, "{sent}");
    let msg_id = sent["extFields"]["msgId"]
        .as_str()
        .expect("msgId")
        .to_owned();
    let mut client = consumer(&broker, "127.0.0.1@c1");

    let consumer_side = thread::spawn(move || {
        let running = answer_next(
            &mut client,
            0,
            r#"{"properties":{"PROP_CONSUME_TYPE":"CONSUME_PASSIVELY"}}"#,
        );
        let direct = answer_next(
            &mut client,
            0,
            r#"{"consumeResult":"CR_SUCCESS","order":false,"autoCommit":true,"spentTimeMills":1}"#,
        );
        (running, direct, client)
    });
    let fields =
        json!({"consumerGroup": "cg", "clientId": "127.0.0.1@c1", "jstackEnable": "false"});
    let (header, body) = request(&mut admin, GET_CONSUMER_RUNNING_INFO, fields);
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    assert_eq!(header["remark"], "from the consumer");
    assert!(String::from_utf8_lossy(&body).contains("PROP_CONSUME_TYPE"));
    let fields = json!({"consumerGroup": "cg", "clientId": "127.0.0.1@c1", "msgId": msg_id, "brokerName": "other"});
    let (header, body) = request(&mut admin, CONSUME_MESSAGE_DIRECTLY, fields);
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    assert!(String::from_utf8_lossy(&body).contains("CR_SUCCESS"));

    let ((running, _), (direct, record), mut client) = consumer_side.join().expect("consumer");
    assert_eq!(running["code"], GET_CONSUMER_RUNNING_INFO);
    assert_eq!(running["extFields"]["clientId"], "127.0.0.1@c1");
    assert_eq!(running["extFields"]["jstackEnable"], "false");
    assert_eq!(
        direct["extFields"]["brokerName"], "broker-a-0",
        "this shard's name"
    );
    assert_eq!(
        decode_record(&record).body,
        b"direct",
        "the message the id names"
    );

    // Not connected here: Java's SYSTEM_ERROR and remark.
    let fields = json!({"consumerGroup": "cg", "clientId": "127.0.0.1@nobody"});
    let (header, _) = request(&mut admin, GET_CONSUMER_RUNNING_INFO, fields);
    assert_eq!(code_of(&header), SYSTEM_ERROR, "{header}");
    assert_eq!(
        header["remark"],
        "The Consumer <cg> <127.0.0.1@nobody> not online"
    );

    // A consumer that goes before it answers: the admin hears at once.
    let consumer_side = thread::spawn(move || {
        loop {
            let frame = read_frame(&mut client).expect("a request");
            if frame.json()["code"] == GET_CONSUMER_RUNNING_INFO {
                return; // dropping the connection closes it
            }
        }
    });
    let fields = json!({"consumerGroup": "cg", "clientId": "127.0.0.1@c1"});
    let (header, _) = request(&mut admin, GET_CONSUMER_RUNNING_INFO, fields);
    consumer_side.join().expect("consumer");
    assert_eq!(code_of(&header), SYSTEM_ERROR, "{header}");
    assert!(
        header["remark"]
            .as_str()
            .is_some_and(|r| r.contains("closed")),
        "{header}"
    );
}
