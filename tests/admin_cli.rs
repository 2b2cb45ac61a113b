//! `shardmq admin` against a running two-shard broker: every verb it has, its output read
//! back (the `--json` document, and mqadmin's table where a script would read it), and the
//! effect checked through the broker's own answers.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::thread;

use bytes::BytesMut;
use shardmq::wire::frame::{self, Encoded};
use shardmq::wire::signature::{signature, ACCESS_KEY, SIGNATURE};
use shardmq::wire::RemotingCommand;

use common::{
    code_of, free_port, heart_beat, request, request_with_body, send_v2, wait_for, wait_max_offset,
    wait_route, wait_until, Broker, PATIENCE, SUCCESS,
};
use serde_json::{json, Value};

const QUERY_CONSUMER_OFFSET: i32 = 14;
const UPDATE_CONSUMER_OFFSET: i32 = 15;
const GET_ALL_SUBSCRIPTIONGROUP_CONFIG: i32 = 201;
const VIEW_BROKER_STATS_DATA: i32 = 315;

/// Runs `shardmq admin <args> -n <the broker's NameServer>`: exit success, stdout, stderr.
fn admin(broker: &Broker, args: &[&str]) -> (bool, String, String) {
    let namesrv = broker.namesrv_addr().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_shardmq"))
        .arg("admin")
        .args(args)
        .args(["-n", &namesrv])
        .output()
        .expect("run shardmq admin");
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("UTF-8 output");
    (
        output.status.success(),
        text(output.stdout),
        text(output.stderr),
    )
}

/// [`admin`] with `--json`, which must succeed.
fn admin_json(broker: &Broker, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let (ok, out, err) = admin(broker, &all);
    assert!(ok, "{args:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
}

/// [`admin`], which must succeed; its stdout.
fn admin_ok(broker: &Broker, args: &[&str]) -> String {
    let (ok, out, err) = admin(broker, args);
    assert!(ok, "{args:?} failed: {err}");
    out
}

fn committed(conn: &mut TcpStream, topic: &str) -> i64 {
    let fields = json!({"consumerGroup": "AG", "topic": topic, "queueId": "0"});
    let (header, _) = request(conn, QUERY_CONSUMER_OFFSET, fields);
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    common::offset_field(&header)
}

#[test]
fn every_verb_against_a_running_broker() {
    let broker = Broker::start(2, &[]);
    let addrs = [broker.addr(0).to_string(), broker.addr(1).to_string()];
    let mut conn = broker.connect(0);

    // Both shards registered (every shard hosts TBW102).
    wait_route(broker.namesrv_addr(), "TBW102", 2);
    let clusters = admin_json(&broker, &["clusterList"]);
    let listed: Vec<(String, String, bool)> = clusters["brokers"]
        .as_array()
        .expect("brokers")
        .iter()
        .map(|b| {
            (
                b["brokerName"].as_str().unwrap().into(),
                b["addr"].as_str().unwrap().into(),
                b["activated"] == true,
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("broker-a-0".into(), addrs[0].clone(), true),
            ("broker-a-1".into(), addrs[1].clone(), true)
        ]
    );
    let table = admin_ok(&broker, &["clusterList"]);
    assert!(table.starts_with("#Cluster Name"), "{table}");
    assert!(
        table
            .lines()
            .nth(2)
            .is_some_and(|l| l.starts_with("DefaultCluster") && l.contains(&addrs[1])),
        "{table}"
    );

    let created = admin_ok(
        &broker,
        &[
            "updateTopic",
            "-c",
            "DefaultCluster",
            "-t",
            "AT",
            "-r",
            "4",
            "-w",
            "4",
        ],
    );
    for addr in &addrs {
        assert!(
            created.contains(&format!("create topic to {addr} success.")),
            "{created}"
        );
    }
    let route = admin_json(&broker, &["topicRoute", "-t", "AT"]);
    let queues: i64 = route["queueDatas"]
        .as_array()
        .expect("queues")
        .iter()
        .map(|q| q["writeQueueNums"].as_i64().unwrap())
        .sum();
    assert_eq!(queues, 4);
    let listed = admin_ok(&broker, &["topicRoute", "-t", "AT", "-l"]);
    let total = listed.lines().last().expect("a total line");
    assert_eq!(
        total.split_whitespace().collect::<Vec<_>>(),
        ["Total:", "2", "4", "4"]
    );
    let topics = admin_json(&broker, &["topicList"]);
    assert!(topics["topicList"]
        .as_array()
        .expect("list")
        .contains(&json!("AT")));

    for i in 0..3 {
        assert_eq!(
            code_of(&send_v2(&mut conn, "AT", 0, format!("m{i}").as_bytes(), "")),
            SUCCESS
        );
    }
    wait_max_offset(&mut conn, "AT", 0, 3);
    let status = admin_json(&broker, &["topicStatus", "-t", "AT"]);
    let first = &status["queues"][0];
    assert_eq!(
        (
            first["brokerName"].as_str(),
            first["queueId"].as_i64(),
            first["maxOffset"].as_i64()
        ),
        (Some("broker-a-0"), Some(0), Some(3))
    );
    assert_eq!(status["queues"].as_array().map(Vec::len), Some(4));

    // A consumer of group AG (also a producer of group PG) on shard 0, having consumed one.
    let hb = r#"{"clientID":"127.0.0.1@admin-test","consumerDataSet":[{"groupName":"AG","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","subscriptionDataSet":[{"topic":"AT","subString":"*"}]}],"producerDataSet":[{"groupName":"PG"}]}"#;
    assert_eq!(code_of(&heart_beat(&mut conn, hb)), SUCCESS);
    let fields = json!({"consumerGroup": "AG", "topic": "AT", "queueId": "0", "commitOffset": "1"});
    assert_eq!(
        code_of(&request(&mut conn, UPDATE_CONSUMER_OFFSET, fields).0),
        SUCCESS
    );
    // The verbs find the group's brokers by its retry topic, which the heartbeat created and
    // is registered a moment later.
    wait_route(broker.namesrv_addr(), "%RETRY%AG", 1);
    let connections = admin_json(&broker, &["consumerConnection", "-g", "AG"]);
    assert_eq!(
        connections["connections"][0]["clientId"],
        "127.0.0.1@admin-test"
    );
    assert_eq!(connections["subscriptions"]["AT"]["subString"], "*");
    assert_eq!(
        connections["connections"][0]["versionDesc"], "V5_3_3",
        "version 479"
    );
    let progress = admin_json(&broker, &["consumerProgress", "-g", "AG"]);
    let row = progress["queues"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["topic"] == "AT" && r["queueId"] == 0)
        .expect("AT queue 0");
    assert_eq!(
        (
            row["brokerOffset"].as_i64(),
            row["consumerOffset"].as_i64(),
            row["diff"].as_i64()
        ),
        (Some(3), Some(1), Some(2))
    );
    let table = admin_ok(&broker, &["consumerProgress", "-g", "AG"]);
    assert!(table.contains("Consume Diff Total: 2"), "{table}");
    let producers = admin_json(&broker, &["producerConnection", "-g", "PG", "-t", "AT"]);
    assert_eq!(
        producers["connections"][0]["clientId"],
        "127.0.0.1@admin-test"
    );

    let reset = admin_json(
        &broker,
        &["resetOffsetByTime", "-g", "AG", "-t", "AT", "-s", "0"],
    );
    assert!(
        reset["offsets"]
            .as_array()
            .expect("offsets")
            .iter()
            .any(|o| o["brokerName"] == "broker-a-0" && o["queueId"] == 0 && o["offset"] == 0),
        "{reset}"
    );
    assert_eq!(committed(&mut conn, "AT"), 0);
    admin_ok(&broker, &["skipAccumulatedMessage", "-g", "AG", "-t", "AT"]);
    assert_eq!(committed(&mut conn, "AT"), 3);

    let config = admin_json(&broker, &["getBrokerConfig", "-b", &addrs[0]]);
    assert_eq!(config[&addrs[0]]["maxMessageSize"], "4194304");
    let updated = admin_ok(
        &broker,
        &[
            "updateBrokerConfig",
            "-c",
            "DefaultCluster",
            "-k",
            "maxMessageSize",
            "-v",
            "65536",
        ],
    );
    assert_eq!(updated.lines().count(), 2, "{updated}");
    let config = admin_json(&broker, &["getBrokerConfig", "-c", "DefaultCluster"]);
    for addr in &addrs {
        assert_eq!(config[addr]["maxMessageSize"], "65536");
    }
    let table = admin_ok(&broker, &["getBrokerConfig", "-b", &addrs[1]]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("maxMessageSize ") && l.ends_with("=  65536")),
        "{table}"
    );
    let (ok, _, err) = admin(
        &broker,
        &[
            "updateBrokerConfig",
            "-b",
            &addrs[0],
            "-k",
            "listenPort",
            "-v",
            "1",
        ],
    );
    assert!(
        !ok && err.contains(&addrs[0])
            && err.contains("NO_PERMISSION")
            && err.contains("listenPort"),
        "{err}"
    );

    let wiped = admin_json(&broker, &["wipeWritePerm", "-b", "broker-a-1"]);
    assert!(
        wiped["wipeTopicCount"][broker.namesrv_addr().to_string()].as_i64() > Some(0),
        "{wiped}"
    );
    let perms = |route: &Value| -> Vec<(String, i64)> {
        route["queueDatas"]
            .as_array()
            .expect("queues")
            .iter()
            .map(|q| {
                (
                    q["brokerName"].as_str().unwrap().to_owned(),
                    q["perm"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let mut seen = perms(&admin_json(&broker, &["topicRoute", "-t", "AT"]));
    seen.sort();
    assert_eq!(seen, [("broker-a-0".into(), 6), ("broker-a-1".into(), 4)]);
    admin_ok(&broker, &["addWritePerm", "-b", "broker-a-1"]);
    assert!(perms(&admin_json(&broker, &["topicRoute", "-t", "AT"]))
        .iter()
        .all(|(_, perm)| *perm == 6));

    admin_ok(
        &broker,
        &[
            "updateSubGroup",
            "-c",
            "DefaultCluster",
            "-g",
            "SG",
            "-r",
            "3",
        ],
    );
    let groups = |conn: &mut TcpStream| -> Value {
        let (header, body) =
            request_with_body(conn, GET_ALL_SUBSCRIPTIONGROUP_CONFIG, json!({}), b"");
        assert_eq!(code_of(&header), SUCCESS, "{header}");
        common::json_body(&body)
    };
    assert_eq!(
        groups(&mut conn)["subscriptionGroupTable"]["SG"]["retryMaxTimes"],
        3
    );
    let deleted = admin_ok(
        &broker,
        &["deleteSubGroup", "-c", "DefaultCluster", "-g", "SG"],
    );
    assert!(
        deleted.contains("in cluster [DefaultCluster] success."),
        "{deleted}"
    );
    assert!(groups(&mut conn)["subscriptionGroupTable"]
        .get("SG")
        .is_none());

    let status = admin_json(&broker, &["brokerStatus", "-b", &addrs[1]]);
    assert_eq!(status[&addrs[1]]["brokerVersionDesc"], "V5_3_3");

    let gone = admin_ok(
        &broker,
        &["deleteTopic", "-c", "DefaultCluster", "-t", "AT"],
    );
    assert!(
        gone.contains("delete topic [AT] from NameServer success."),
        "{gone}"
    );
    let (ok, _, err) = admin(&broker, &["topicRoute", "-t", "AT"]);
    assert!(!ok && err.contains("TOPIC_NOT_EXIST"), "{err}");
}

/// A broker the NameServer lists but that does not answer (registered here by hand, at a port
/// nobody listens on): clusterList still prints its row, and names it on stderr.
#[test]
fn cluster_list_names_a_broker_that_does_not_answer() {
    let broker = Broker::start(1, &[]);
    wait_route(broker.namesrv_addr(), "TBW102", 1);
    let ghost = format!("127.0.0.1:{}", free_port());
    let mut namesrv = TcpStream::connect(broker.namesrv_addr()).expect("connect");
    let fields = json!({
        "brokerName": "ghost", "brokerAddr": ghost, "clusterName": "DefaultCluster",
        "haServerAddr": ghost, "brokerId": "0", "bodyCrc32": "0",
    });
    let body = br#"{"topicConfigTable":{},"dataVersion":{"counter":1,"timestamp":1}}"#;
    let (header, _) = request_with_body(&mut namesrv, 103, fields, body);
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    let (ok, out, err) = admin(&broker, &["clusterList"]);
    assert!(ok, "{err}");
    assert!(
        out.lines()
            .any(|l| l.contains("ghost") && l.contains(&ghost)),
        "{out}"
    );
    assert!(
        err.contains(&ghost) && err.contains("did not answer"),
        "{err}"
    );
    drop(namesrv);
}

#[test]
fn a_server_that_does_not_answer_is_named() {
    let port = free_port().to_string();
    let addr = format!("127.0.0.1:{port}");
    let output = Command::new(env!("CARGO_BIN_EXE_shardmq"))
        .args(["admin", "clusterList", "-n", &addr])
        .output()
        .expect("run shardmq admin");
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        err.contains(&addr) && err.contains("did not answer"),
        "{err}"
    );
}

/// A server that takes `connections` connections one after the other, reads one request from
/// each, refuses it with NO_PERMISSION and hands back what it read (as frames: a command stays
/// on the thread that decoded it).
fn refusing_server(connections: usize) -> (String, thread::JoinHandle<Vec<Encoded>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address").to_string();
    let server = thread::spawn(move || {
        let mut requests = Vec::new();
        for _ in 0..connections {
            let (mut stream, _) = listener.accept().expect("accept");
            stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
            let mut buf = BytesMut::new();
            let request = loop {
                if let Some(request) = frame::decode(&mut buf).expect("a frame") {
                    break request;
                }
                let mut chunk = [0u8; 4096];
                let read = stream.read(&mut chunk).expect("read");
                assert!(read > 0, "closed before a whole request");
                buf.extend_from_slice(&chunk[..read]);
            };
            let remark = Some("no permission for the request [admin-key]".to_owned());
            let refusal = RemotingCommand::response_to(&request, 16, remark);
            let mut out = BytesMut::new();
            refusal.encode(&mut out).expect("encode");
            stream.write_all(&out).expect("write");
            requests.push(Encoded::new(&request).expect("encodes"));
        }
        requests
    });
    (addr, server)
}

/// With an account (flags or environment), the admin command signs its requests as RocketMQ's
/// ACL 1.0 clients do, and prints a refusal's code and remark; the secret shows nowhere.
#[test]
fn requests_are_signed_with_the_account() {
    let secret = "admin-secret-1234";
    let (addr, server) = refusing_server(2);
    let by_flags = Command::new(env!("CARGO_BIN_EXE_shardmq"))
        .args(["admin", "--access-key", "admin-key", "--secret-key", secret])
        .args(["topicList", "-n", &addr])
        .env_remove("SHARDMQ_ACCESS_KEY")
        .env_remove("SHARDMQ_SECRET_KEY")
        .output()
        .expect("run shardmq admin");
    let by_env = Command::new(env!("CARGO_BIN_EXE_shardmq"))
        .args(["admin", "topicRoute", "-t", "TopicA", "-n", &addr])
        .env("SHARDMQ_ACCESS_KEY", "admin-key")
        .env("SHARDMQ_SECRET_KEY", secret)
        .output()
        .expect("run shardmq admin");
    let requests: Vec<RemotingCommand> = (server.join().expect("server").into_iter())
        .map(|frame| frame.decode().expect("decodes"))
        .collect();
    for (output, request) in [&by_flags, &by_env].into_iter().zip(&requests) {
        let (out, err) = (
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
        assert!(!output.status.success(), "{out}");
        assert!(
            err.contains(&addr)
                && err.contains("NO_PERMISSION (16)")
                && err.contains("no permission for the request [admin-key]"),
            "{err}"
        );
        assert!(!out.contains(secret) && !err.contains(secret), "{out}{err}");
        assert_eq!(request.ext_fields.get(ACCESS_KEY), Some("admin-key"));
        let given = request.ext_fields.get(SIGNATURE).expect("a signature");
        assert_eq!(given, signature(request, secret), "{request:?}");
    }
    assert_eq!(requests[1].ext_fields.get("topic"), Some("TopicA"));
}

#[test]
fn one_key_without_the_other_is_refused() {
    for (given, missing) in [
        (["--access-key", "admin-key"], "secret key"),
        (["--secret-key", "admin-secret"], "access key"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_shardmq"))
            .arg("admin")
            .args(given)
            .args(["clusterList", "-n", "127.0.0.1:1"])
            .env_remove("SHARDMQ_ACCESS_KEY")
            .env_remove("SHARDMQ_SECRET_KEY")
            .output()
            .expect("run shardmq admin");
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success());
        assert!(
            err.contains(missing) && !err.contains("did not answer"),
            "{err}"
        );
        assert!(!err.contains("admin-secret"), "{err}");
    }
}

#[test]
fn message_verbs_find_what_send_message_stored() {
    let broker = Broker::start(2, &[]);
    wait_route(broker.namesrv_addr(), "TBW102", 2);
    admin_ok(
        &broker,
        &[
            "updateTopic",
            "-c",
            "DefaultCluster",
            "-t",
            "MT",
            "-r",
            "2",
            "-w",
            "2",
        ],
    );
    let sent = admin_json(
        &broker,
        &[
            "sendMessage",
            "-t",
            "MT",
            "-p",
            "hello",
            "-k",
            "k1 k2",
            "-c",
            "tagA",
        ],
    );
    assert_eq!(sent["sendStatus"], "SEND_OK", "{sent}");
    let text = |v: &Value| v.as_str().expect("a string").to_owned();
    let (unique, offset_id, broker_name) = (
        text(&sent["msgId"]),
        text(&sent["offsetMsgId"]),
        text(&sent["brokerName"]),
    );
    let (queue_id, queue_offset) = (sent["queueId"].to_string(), sent["queueOffset"].to_string());

    // The index files the keys once the message is dispatched, a moment after the send.
    let by_unique = wait_for(PATIENCE, "the message in the index", || {
        let (ok, out, _) = admin(
            &broker,
            &["queryMsgByUniqueKey", "-t", "MT", "-i", &unique, "--json"],
        );
        ok.then(|| serde_json::from_str::<Value>(&out).expect("JSON"))
    });
    let found = &by_unique["messages"][0];
    assert_eq!(
        (
            found["body"].as_str(),
            found["tags"].as_str(),
            found["keys"].as_str()
        ),
        (Some("hello"), Some("tagA"), Some("k1 k2"))
    );
    let by_id = admin_json(&broker, &["queryMsgById", "-i", &offset_id]);
    assert_eq!(by_id["messages"][0]["msgId"], unique.as_str());
    let table = admin_ok(&broker, &["queryMsgById", "-i", &offset_id]);
    assert!(
        table
            .lines()
            .any(|l| l == format!("{:<20} {offset_id}", "OffsetID:")),
        "{table}"
    );
    let by_key = admin_json(&broker, &["queryMsgByKey", "-t", "MT", "-k", "k2"]);
    assert_eq!(by_key["messages"][0]["msgId"], unique.as_str());
    let by_offset = admin_json(
        &broker,
        &[
            "queryMsgByOffset",
            "-t",
            "MT",
            "-b",
            &broker_name,
            "-i",
            &queue_id,
            "-o",
            &queue_offset,
        ],
    );
    assert_eq!(by_offset["messages"][0]["body"], "hello");
    let consumed = admin_json(&broker, &["consumeMessage", "-t", "MT"]);
    let bodies: Vec<&str> = consumed["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert_eq!(bodies, ["hello"]);
    let (ok, _, err) = admin(&broker, &["queryMsgByKey", "-t", "MT", "-k", "nobody"]);
    assert!(!ok && err.contains("no message"), "{err}");
}

/// statsAll: each topic's groups with their backlog and the day's counts in and out, from
/// the broker's stats items. Those are sampled every 10 s and, as Java's, count what came after
/// an item's first sample: so one message is sent and pulled first, and the counted ones once
/// both items answer (sampled); a topic nobody consumes says NO_CONSUMER, and `-a` leaves
/// out one that saw no message.
#[test]
fn stats_all_counts_each_topic_and_group() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    for topic in ["StatsT", "QuietT"] {
        assert_eq!(code_of(&common::create_topic(&mut conn, topic, 1)), SUCCESS);
    }
    let send = |conn: &mut TcpStream, i: usize| {
        let sent = send_v2(conn, "StatsT", 0, format!("m{i}").as_bytes(), "");
        assert_eq!(code_of(&sent), SUCCESS, "{sent}");
    };
    common::create_group(&mut conn, "cg");
    send(&mut conn, 0);
    wait_max_offset(&mut conn, "StatsT", 0, 1);
    assert_eq!(code_of(&common::pull(&mut conn, "StatsT", 0, 0).0), SUCCESS);
    wait_until(PATIENCE, "both stats items sampled", || {
        [
            ("TOPIC_PUT_NUMS", "StatsT"),
            ("GROUP_GET_NUMS", "StatsT@cg"),
        ]
        .iter()
        .all(|(name, key)| {
            let fields = json!({"statsName": name, "statsKey": key});
            code_of(&request(&mut conn, VIEW_BROKER_STATS_DATA, fields).0) == SUCCESS
        })
    });
    for i in 1..=5 {
        send(&mut conn, i);
    }
    wait_max_offset(&mut conn, "StatsT", 0, 6);
    let (header, _) = common::pull(&mut conn, "StatsT", 0, 1);
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    let fields = json!({"consumerGroup": "cg", "topic": "StatsT", "queueId": "0",
                        "commitOffset": "3"});
    assert_eq!(
        code_of(&request(&mut conn, UPDATE_CONSUMER_OFFSET, fields).0),
        SUCCESS
    );

    let row = |rows: &Value, topic: &str| {
        let rows = rows.as_array().expect("rows");
        rows.iter().find(|r| r["topic"] == topic).cloned()
    };
    let rows = wait_for(PATIENCE, "the day's counts in statsAll", || {
        let rows = admin_json(&broker, &["statsAll"]);
        let stats = row(&rows, "StatsT")?;
        (stats["inMsg24Hour"] == 5 && stats["outMsg24Hour"] == 5).then_some(rows)
    });
    let stats = row(&rows, "StatsT").expect("StatsT");
    assert_eq!(stats["consumerGroup"], "cg");
    assert_eq!(stats["accumulation"], 3, "6 stored, 3 committed: {stats}");
    let quiet = row(&rows, "QuietT").expect("every topic listed");
    assert_eq!(quiet["consumerGroup"], Value::Null);
    let listed = rows.as_array().expect("rows");
    assert!(listed
        .iter()
        .all(|r| !r["topic"].as_str().unwrap_or("%").starts_with('%')));

    let table = admin_ok(&broker, &["statsAll"]);
    let quiet = table
        .lines()
        .find(|l| l.starts_with("QuietT"))
        .expect("QuietT's row");
    assert!(quiet.ends_with("NO_CONSUMER"), "{quiet}");
    let active = admin_json(&broker, &["statsAll", "-a"]);
    assert!(row(&active, "StatsT").is_some() && row(&active, "QuietT").is_none());
    let only = admin_json(&broker, &["statsAll", "-t", "QuietT"]);
    assert_eq!(only.as_array().map(Vec::len), Some(1), "{only}");
}
