//! T17, an admin's calls to one running consumer through the broker, as `mqadmin
//! consumerStatus` and `mqadmin queryMsgById -g -d` make them: GET_CONSUMER_RUNNING_INFO (307,
//! `consumerGroup`, `clientId`, `jstackEnable`) and CONSUME_MESSAGE_DIRECTLY (309,
//! `consumerGroup`, `clientId`, `msgId`, `brokerName`) sent to the broker, which forwards them
//! on the consumer's own connection and answers with the consumer's answer as it came
//! (docs/protocol.md §2.8.12; the raw-protocol version is `tests/consumer_calls.rs`).
//!
//! Each client's push consumer of a new group runs on a 1-queue topic; once the broker lists
//! it, its client id is read from GET_CONSUMER_CONNECTION_LIST (203) as `mqadmin` reads it,
//! and the admin's requests are raw frames. A message is then stored with a raw SEND_MESSAGE_V2
//! (its offset message id is SEND's `msgId`), the consumer receives it by its pulls, and
//! CONSUME_MESSAGE_DIRECTLY names it. What each client answers (tests/interop/README.md, the
//! quirks):
//!
//! - **rocketmq-client-rust**: 307 SUCCESS (header language `RUST`) with a ConsumerRunningInfo
//!   in fastjson's form (`mqTable` keyed by MessageQueue objects): `properties` with
//!   `PROP_CONSUME_TYPE` = `CONSUME_PASSIVELY`, `PROP_CONSUMEORDERLY` = `false`, the NameServer
//!   address; `subscriptionSet` with the topic and the group's retry topic; `mqTable` with the
//!   topic's queue. 309 SUCCESS, after its listener took the message a second time (the same
//!   offset id), with a body whose keys are snake_case: `{"order":false,"auto_commit":true,
//!   "consume_result":"CR_SUCCESS","remark":null,"spent_time_mills":0}`, not Java's
//!   `consumeResult`, `autoCommit`, `spentTimeMills`, so Java's `mqadmin` would read no
//!   result in it.
//! - **rocketmq (PyPI, rocketmq-client-cpp)**: 307 SUCCESS (language `CPP`; header fields
//!   `AccessKey` empty, `OnsChannel` = `ALIYUN` and a `Signature`, its RPC hook signing the
//!   answer without credentials) with a ConsumerRunningInfo whose `mqTable` keys and values
//!   are indented, multi-line JSON objects; `PROP_CONSUMEORDERLY` reads `flase` (so spelled
//!   in its source). 309 is never answered: the C++ client's processor has the call commented
//!   out and sends no response, so the broker answers CONSUME_MSG_TIMEOUT (207) after its 10 s
//!   wait, and the listener does not take the message again.
//! - **ali-ons** answers neither: it handles no request from a broker at all (its connection
//!   only matches responses to its own requests), so both get CONSUME_MSG_TIMEOUT after 10 s.
//!   The two run at once, so its test takes 10 s and not 20.
//!
//! The broker's `CONSUME_MSG_TIMEOUT` remark, `consumer <group> <clientId> Timeout: no answer
//! within 10000 ms`, names the consumer, so a user can tell it from a consumer not connected
//! (SYSTEM_ERROR `The Consumer <group> <clientId> not online`).

mod common;
mod interop;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::{code_of, request, send_v2, wait_for, PATIENCE, SUCCESS};
use interop::cluster::{Consume, Running};
use interop::report::Received;
use interop::{unique, Client, Cluster};

const GET_CONSUMER_CONNECTION_LIST: i32 = 203;
const GET_CONSUMER_RUNNING_INFO: i32 = 307;
const CONSUME_MESSAGE_DIRECTLY: i32 = 309;
/// The broker's answer when the consumer does not answer within its 10 s.
const CONSUME_MSG_TIMEOUT: i64 = 207;

/// The one broker (shard) of the cluster, as the route names it.
const BROKER_NAME: &str = "broker-a-0";

/// A connection to the broker for the admin's requests, with a read timeout past the broker's
/// own 10 s wait for a consumer's answer.
fn admin_connection(cluster: &Cluster) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", cluster.listen_port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    stream
}

/// The client id of the one consumer of `group` the broker holds a connection of, as
/// GET_CONSUMER_CONNECTION_LIST answers it (`mqadmin consumerConnection`, and what
/// `consumerStatus` asks before it calls each consumer).
fn client_id(cluster: &Cluster, group: &str) -> String {
    let mut admin = admin_connection(cluster);
    let fields = json!({ "consumerGroup": group });
    let (header, body) = request(&mut admin, GET_CONSUMER_CONNECTION_LIST, fields);
    assert_eq!(
        code_of(&header),
        SUCCESS,
        "GET_CONSUMER_CONNECTION_LIST: {header}"
    );
    let list: Value = serde_json::from_slice(&body).expect("a ConsumerConnection body");
    let connections = list["connectionSet"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(connections.len(), 1, "one consumer connection: {list}");
    let id = connections[0]["clientId"].as_str();
    id.unwrap_or_else(|| panic!("a client id in {list}"))
        .to_string()
}

/// GET_CONSUMER_RUNNING_INFO for `client_id` of `group`, as `mqadmin consumerStatus -i` sends
/// it: the broker's answer, the time it took, and the body as text.
fn running_info(cluster: &Cluster, group: &str, client_id: &str) -> (Value, String, Duration) {
    let mut admin = admin_connection(cluster);
    let fields = json!({ "consumerGroup": group, "clientId": client_id, "jstackEnable": "false" });
    let started = Instant::now();
    let (header, body) = request(&mut admin, GET_CONSUMER_RUNNING_INFO, fields);
    let body = String::from_utf8(body).expect("a UTF-8 body");
    (header, body, started.elapsed())
}

/// Asks for the consumer's running info until its `mqTable` holds `topic`'s queue (the
/// consumer took it at its rebalance), and returns the answer's header and parsed body.
/// Every answer on the way must be SUCCESS.
fn running_info_holding(
    cluster: &Cluster,
    group: &str,
    client_id: &str,
    topic: &str,
) -> (Value, Value) {
    let what = format!("{client_id}'s running info holding {topic}'s queue");
    wait_for(PATIENCE, &what, || {
        let (header, body, _) = running_info(cluster, group, client_id);
        assert_eq!(
            code_of(&header),
            SUCCESS,
            "GET_CONSUMER_RUNNING_INFO: {header} {body}"
        );
        // The C++ client's table, when it holds no queue yet, is `"mqTable":}` (its encoder
        // takes back the `{` as if it were a trailing comma): not JSON, and not yet what is
        // waited for.
        if body.contains("\"mqTable\":}") {
            return None;
        }
        // fastjson and the C++ client key `mqTable` by MessageQueue objects: the admin's
        // reader quotes such a key as its text.
        let info = shardmq::admin::body::parse(body.as_bytes())
            .unwrap_or_else(|| panic!("a ConsumerRunningInfo: {body}"));
        let holds = info["mqTable"].as_object().is_some_and(|table| {
            table.keys().any(|key| {
                let queue: Value = serde_json::from_str(key).expect("a MessageQueue key");
                queue["topic"] == topic
                    && queue["brokerName"] == BROKER_NAME
                    && queue["queueId"] == 0
            })
        });
        holds.then_some((header, info))
    })
}

/// CONSUME_MESSAGE_DIRECTLY of the message `msg_id` names, as `mqadmin queryMsgById -g -d`
/// sends it: the answer's header and body, and the time it took.
fn consume_directly(
    cluster: &Cluster,
    group: &str,
    client_id: &str,
    msg_id: &str,
) -> (Value, Vec<u8>, Duration) {
    let mut admin = admin_connection(cluster);
    let fields = json!({
        "consumerGroup": group, "clientId": client_id, "msgId": msg_id, "brokerName": BROKER_NAME,
    });
    let started = Instant::now();
    let (header, body) = request(&mut admin, CONSUME_MESSAGE_DIRECTLY, fields);
    (header, body, started.elapsed())
}

/// The broker's answer when the consumer never answers.
fn assert_timed_out(header: &Value, elapsed: Duration, group: &str, client_id: &str) {
    assert_eq!(code_of(header), CONSUME_MSG_TIMEOUT, "{header}");
    assert_eq!(
        header["remark"],
        format!("consumer <{group}> <{client_id}> Timeout: no answer within 10000 ms"),
        "{header}"
    );
    assert!(
        elapsed >= Duration::from_secs(9),
        "the broker waited: {elapsed:?}"
    );
}

/// What the consumer's listener took of the message whose body is `body`.
fn deliveries(consumer: &Running, body: &str) -> Vec<Received> {
    let report = consumer.snapshot();
    let received = report.received().into_iter();
    received
        .filter(|m| m.body.as_deref() == Some(body))
        .collect()
}

/// The string values of `field` in every entry of the array `list`.
fn strings_of(list: &Value, field: &str) -> Vec<String> {
    let entries = list.as_array().cloned().unwrap_or_default();
    let values = entries.iter().filter_map(|e| e[field].as_str());
    values.map(str::to_string).collect()
}

fn consumer_calls(client: Client) {
    client.require();
    let cluster = Cluster::start();
    let topic = unique("T17c", client);
    let group = unique("cg17c", client);
    cluster.create_topic(&topic, 1);

    let mut consumer = cluster.consume(client, &Consume::new(&topic, &group).for_seconds(120));
    consumer.wait_started();
    cluster.wait_consumers(&group, 1);
    let client_id = client_id(&cluster, &group);

    let started = Instant::now();
    std::thread::scope(|scope| {
        // ali-ons leaves both calls unanswered for the broker's 10 s: the running info is asked
        // for while the message is stored and consumed directly.
        let running =
            scope.spawn(|| check_running_info(client, &cluster, &group, &client_id, &topic));
        check_consume_directly(client, &cluster, &mut consumer, &group, &client_id, &topic);
        running.join().expect("the running-info check");
    });
    let _ = writeln!(
        std::io::stderr(),
        "{}: both calls answered within {:?}",
        client.name(),
        started.elapsed()
    );
    consumer.kill();
}

/// GET_CONSUMER_RUNNING_INFO: what `mqadmin consumerStatus` shows of the consumer.
fn check_running_info(
    client: Client,
    cluster: &Cluster,
    group: &str,
    client_id: &str,
    topic: &str,
) {
    if client == Client::Node {
        let (header, body, elapsed) = running_info(cluster, group, client_id);
        assert_timed_out(&header, elapsed, group, client_id);
        assert!(body.is_empty(), "{body}");
        return;
    }
    let (header, info) = running_info_holding(cluster, group, client_id, topic);
    // The consumer's own answer: its language, not the broker's JAVA.
    let (language, version, orderly) = match client {
        Client::Rust => ("RUST", "V5_3_1_SNAPSHOT", "false"),
        _ => ("CPP", "V3_1_8", "flase"),
    };
    assert_eq!(header["language"], language, "{header}");
    if client == Client::Python {
        let fields = &header["extFields"];
        assert_eq!(fields["AccessKey"], "", "{header}");
        assert_eq!(fields["OnsChannel"], "ALIYUN", "{header}");
        assert!(fields["Signature"].as_str().is_some(), "{header}");
    }
    let properties = &info["properties"];
    assert_eq!(
        properties["PROP_CONSUME_TYPE"], "CONSUME_PASSIVELY",
        "{info}"
    );
    assert_eq!(properties["PROP_CONSUMEORDERLY"], orderly, "{info}");
    assert_eq!(properties["PROP_CLIENT_VERSION"], version, "{info}");
    let namesrv = properties["PROP_NAMESERVER_ADDR"]
        .as_str()
        .unwrap_or_default();
    assert!(namesrv.starts_with(&cluster.namesrv()), "{info}");
    let mut subscribed = strings_of(&info["subscriptionSet"], "topic");
    subscribed.sort();
    assert_eq!(
        subscribed,
        [format!("%RETRY%{group}"), topic.to_string()],
        "{info}"
    );
    let expressions = strings_of(&info["subscriptionSet"], "subString");
    assert!(expressions.iter().all(|e| e == "*"), "{info}");
}

/// CONSUME_MESSAGE_DIRECTLY: what `mqadmin queryMsgById -g -d` shows, and what the consumer's
/// listener takes.
fn check_consume_directly(
    client: Client,
    cluster: &Cluster,
    consumer: &mut Running,
    group: &str,
    client_id: &str,
    topic: &str,
) {
    let body = format!("direct-{}", client.name());
    let mut producer = admin_connection(cluster);
    let sent = send_v2(&mut producer, topic, 0, body.as_bytes(), "");
    assert_eq!(code_of(&sent), SUCCESS, "SEND_MESSAGE_V2: {sent}");
    let msg_id = sent["extFields"]["msgId"]
        .as_str()
        .expect("an offset msgId");
    // First the consumer's own delivery, by its pulls, so a second one can only be the call's.
    consumer.wait_for(&format!("{body} received"), |report| {
        report.bodies().contains(&body)
    });

    let (header, answer, elapsed) = consume_directly(cluster, group, client_id, msg_id);
    if client != Client::Rust {
        assert_timed_out(&header, elapsed, group, client_id);
        assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
        let taken = deliveries(consumer, &body);
        assert_eq!(taken.len(), 1, "not consumed again: {taken:#?}");
        return;
    }
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    assert_eq!(header["language"], "RUST", "{header}");
    let result: Value = serde_json::from_slice(&answer).expect("a JSON result");
    assert_eq!(result["consume_result"], "CR_SUCCESS", "{result}");
    assert_eq!(result["order"], false, "{result}");
    assert_eq!(result["auto_commit"], true, "{result}");
    assert!(
        result.get("consumeResult").is_none(),
        "snake_case keys: {result}"
    );
    // The listener took it a second time before the client answered; the driver prints it
    // from another task.
    let taken = wait_for(PATIENCE, "the listener taking the message again", || {
        let taken = deliveries(consumer, &body);
        (taken.len() >= 2).then_some(taken)
    });
    assert_eq!(taken.len(), 2, "{taken:#?}");
    for delivery in &taken {
        assert_eq!(delivery.msg_id.as_deref(), Some(msg_id), "{delivery:?}");
        assert_eq!(delivery.topic.as_deref(), Some(topic), "{delivery:?}");
        assert_eq!(delivery.queue_offset, Some(0), "{delivery:?}");
    }
}

#[test]
fn rust_client_consumer_answers_running_info_and_consumes_directly() {
    consumer_calls(Client::Rust);
}

#[test]
fn node_client_consumer_answers_neither_call() {
    consumer_calls(Client::Node);
}

#[test]
fn python_client_consumer_answers_running_info_not_consume_directly() {
    consumer_calls(Client::Python);
}
