//! RocketMQ's plain ACL (docs/access-control.md) over raw frames: what an outsider can no
//! longer do, signatures over bodies and over numeric and unicode fields, white-listed
//! addresses, the file changing under running clients, the NameServer refusing a route
//! hijack, and the start-up refusals.

mod common;

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};
use shardmq::wire::signature::Credentials;

use common::{
    code_of, connect, decode_record, properties, request_with_body, sign, wait_route, wait_until,
    Broker, GET_ALL_TOPIC_CONFIG, PATIENCE, SEND_MESSAGE_V2, SUCCESS, UPDATE_AND_CREATE_TOPIC,
    UPDATE_CONSUMER_OFFSET,
};

const NO_PERMISSION: i64 = 16;
const PULL_MESSAGE: i32 = 11;
const PUT_KV_CONFIG: i32 = 100;
const REGISTER_BROKER: i32 = 103;
const UNREGISTER_BROKER: i32 = 104;
const UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: i32 = 200;
const DELETE_TOPIC_IN_BROKER: i32 = 215;
const DELETE_TOPIC_IN_NAMESRV: i32 = 216;

const TOPIC: &str = "acl-orders";

/// The broker's own admin account, a producer and a consumer of `acl-orders`, and an
/// address white-listed for everyone (127.0.0.2; clients here connect from 127.0.0.1).
const FILE: &str = "\
globalWhiteRemoteAddresses:
  - 127.0.0.2
accounts:
  - accessKey: broker-admin
    secretKey: broker-secret
    admin: true
  - accessKey: producer1
    secretKey: producer-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
    topicPerms:
      - acl-orders=PUB
  - accessKey: consumer1
    secretKey: consumer-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
    topicPerms:
      - acl-orders=SUB
    groupPerms:
      - acl-readers=SUB
";

fn admin() -> Credentials {
    Credentials::new("broker-admin", "broker-secret")
}
fn producer() -> Credentials {
    Credentials::new("producer1", "producer-secret")
}
fn consumer() -> Credentials {
    Credentials::new("consumer1", "consumer-secret")
}

/// A broker (with its embedded NameServer) checking `file`, signing its registrations as
/// `broker-admin`.
fn acl_broker(shards: u16, file: &Path) -> Broker {
    let file = format!("aclFile={}", file.display());
    Broker::start(
        shards,
        &[
            "-o",
            "aclEnable=true",
            "-o",
            &file,
            "-o",
            "accessKey=broker-admin",
            "-o",
            "secretKey=broker-secret",
        ],
    )
}

fn acl_file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("plain_acl.yml");
    std::fs::write(&path, text).expect("ACL file");
    (dir, path)
}

/// Sends `code` with `fields` and `body`, signed by `credentials` when given; returns the
/// response header.
fn call(
    conn: &mut TcpStream,
    code: i32,
    fields: Value,
    body: &[u8],
    credentials: Option<&Credentials>,
) -> Value {
    let fields = match credentials {
        Some(credentials) => sign(code, &fields, body, credentials),
        None => fields,
    };
    request_with_body(conn, code, fields, body).0
}

fn refused_with(header: &Value, remark: &str) {
    assert_eq!(code_of(header), NO_PERMISSION, "{header}");
    let shown = header["remark"].as_str().unwrap_or_default();
    assert!(
        shown.contains(remark),
        "remark {shown:?} should say {remark:?}"
    );
    assert!(
        !shown.contains("secret"),
        "a refusal never shows a secret: {shown}"
    );
}

fn topic_fields(topic: &str) -> Value {
    json!({
        "topic": topic, "defaultTopic": "TBW102", "readQueueNums": 1, "writeQueueNums": 1,
        "perm": 6, "topicFilterType": "SINGLE_TAG", "topicSysFlag": 0, "order": false,
    })
}

fn send_fields(topic: &str, properties: &str) -> Value {
    json!({
        "a": "acl-producers", "b": topic, "c": "TBW102", "d": 1, "e": 0, "f": 0,
        "g": 1_700_000_000_000_i64, "h": 0, "i": properties, "j": 0, "k": false, "m": false
    })
}

/// A connection to shard 0, after creating `acl-orders` on it as the admin.
fn with_topic(broker: &Broker) -> TcpStream {
    let mut conn = broker.connect(0);
    let created = call(
        &mut conn,
        UPDATE_AND_CREATE_TOPIC,
        topic_fields(TOPIC),
        b"",
        Some(&admin()),
    );
    assert_eq!(
        code_of(&created),
        SUCCESS,
        "an admin creates topics: {created}"
    );
    conn
}

fn topics(conn: &mut TcpStream) -> Value {
    let (header, body) = {
        let fields = sign(GET_ALL_TOPIC_CONFIG, &json!({}), b"", &admin());
        request_with_body(conn, GET_ALL_TOPIC_CONFIG, fields, b"")
    };
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    serde_json::from_slice::<Value>(&body).expect("topics body")["topicConfigTable"].clone()
}

#[test]
fn an_outsider_changes_nothing_and_reads_no_configuration() {
    let (_dir, file) = acl_file(FILE);
    let broker = acl_broker(1, &file);
    let mut conn = with_topic(&broker);

    let unsigned = [
        (DELETE_TOPIC_IN_BROKER, json!({"topic": TOPIC})),
        (UPDATE_AND_CREATE_TOPIC, topic_fields("intruder")),
        (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, json!({})),
        (
            UPDATE_CONSUMER_OFFSET,
            json!({"consumerGroup": "acl-readers", "topic": TOPIC, "queueId": 0, "commitOffset": 5}),
        ),
        (GET_ALL_TOPIC_CONFIG, json!({})),
    ];
    for (code, fields) in unsigned {
        let header = call(&mut conn, code, fields, b"", None);
        refused_with(&header, "No accessKey is configured");
    }
    let forged = call(
        &mut conn,
        DELETE_TOPIC_IN_BROKER,
        json!({"topic": TOPIC}),
        b"",
        Some(&Credentials::new("broker-admin", "guessed-secret")),
    );
    refused_with(&forged, "Check signature failed for accessKey=broker-admin");
    let stranger = call(
        &mut conn,
        GET_ALL_TOPIC_CONFIG,
        json!({}),
        b"",
        Some(&Credentials::new("stranger", "stranger-secret")),
    );
    refused_with(&stranger, "No acl config for stranger");
    let not_admin = call(
        &mut conn,
        DELETE_TOPIC_IN_BROKER,
        json!({"topic": TOPIC}),
        b"",
        Some(&producer()),
    );
    refused_with(
        &not_admin,
        "Need admin permission for request code=215, but accessKey=producer1 is not",
    );
    let offsets = call(
        &mut conn,
        UPDATE_CONSUMER_OFFSET,
        json!({"consumerGroup": "acl-readers", "topic": TOPIC, "queueId": 0, "commitOffset": 5}),
        b"",
        Some(&producer()),
    );
    refused_with(&offsets, "No permission for topic:acl-orders");

    let topics = topics(&mut conn);
    assert!(topics.get(TOPIC).is_some(), "the topic is still there");
    assert!(topics.get("intruder").is_none(), "no topic was created");
}

#[test]
fn signatures_cover_the_body_and_numeric_and_unicode_fields() {
    let (_dir, file) = acl_file(FILE);
    let broker = acl_broker(1, &file);
    let mut conn = with_topic(&broker);

    // Numbers go as JSON numbers, the properties carry keys outside ASCII and outside the
    // Basic Multilingual Plane.
    let props = properties(&[("KEYS", "ключ-键-🔑"), ("TAGS", "étiquette")]);
    let body = "corps du message ✓".as_bytes();
    let sent = call(
        &mut conn,
        SEND_MESSAGE_V2,
        send_fields(TOPIC, &props),
        body,
        Some(&producer()),
    );
    assert_eq!(code_of(&sent), SUCCESS, "{sent}");

    // The same request with its body changed after signing is refused, and so is one whose
    // field changed.
    let signed = sign(
        SEND_MESSAGE_V2,
        &send_fields(TOPIC, &props),
        body,
        &producer(),
    );
    let (tampered, _) = request_with_body(&mut conn, SEND_MESSAGE_V2, signed.clone(), b"other");
    refused_with(&tampered, "Check signature failed for accessKey=producer1");
    let mut moved = signed;
    moved["e"] = json!(1);
    let (moved, _) = request_with_body(&mut conn, SEND_MESSAGE_V2, moved, body);
    refused_with(&moved, "Check signature failed");

    // The producer may not read, the consumer may not send.
    let pull = json!({
        "consumerGroup": "acl-readers", "topic": TOPIC, "queueId": 0, "queueOffset": 0,
        "maxMsgNums": 32, "sysFlag": 4, "commitOffset": 0, "suspendTimeoutMillis": 0,
        "subscription": "*", "subVersion": 0, "expressionType": "TAG"
    });
    let denied = call(
        &mut conn,
        PULL_MESSAGE,
        pull.clone(),
        b"",
        Some(&producer()),
    );
    refused_with(&denied, "No permission for topic:acl-orders");
    let denied = call(
        &mut conn,
        SEND_MESSAGE_V2,
        send_fields(TOPIC, &props),
        body,
        Some(&consumer()),
    );
    refused_with(&denied, "No permission for topic:acl-orders");

    wait_max_offset_signed(&broker, 1);
    let fields = sign(PULL_MESSAGE, &pull, b"", &consumer());
    let (header, found) = request_with_body(&mut conn, PULL_MESSAGE, fields, b"");
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    let record = decode_record(&found);
    assert_eq!(record.body, body);
}

/// Waits until `acl-orders` holds `count` messages, asking as the consumer.
fn wait_max_offset_signed(broker: &Broker, count: i64) {
    let mut conn = broker.connect(0);
    let fields = json!({"topic": TOPIC, "queueId": 0});
    wait_until(PATIENCE, "the message filed", || {
        let header = call(&mut conn, 30, fields.clone(), b"", Some(&consumer()));
        assert_eq!(code_of(&header), SUCCESS, "{header}");
        header["extFields"]["offset"].as_str() == Some(&count.to_string())
    });
}

/// A connection from `source` (any 127.0.0.0/8 address is this host).
fn connect_from(source: [u8; 4], to: SocketAddr) -> TcpStream {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket
        .bind(&SocketAddr::from((source, 0)).into())
        .expect("bind the source address");
    socket.connect(&to.into()).expect("connect");
    let stream = TcpStream::from(socket);
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
}

#[test]
fn a_white_listed_address_needs_no_signature() {
    let (_dir, file) = acl_file(FILE);
    let broker = acl_broker(1, &file);
    let mut white = connect_from([127, 0, 0, 2], broker.addr(0));
    let created = call(
        &mut white,
        UPDATE_AND_CREATE_TOPIC,
        topic_fields("from-white"),
        b"",
        None,
    );
    assert_eq!(code_of(&created), SUCCESS, "{created}");
    let mut other = connect_from([127, 0, 0, 1], broker.addr(0));
    let refused = call(
        &mut other,
        UPDATE_AND_CREATE_TOPIC,
        topic_fields("from-other"),
        b"",
        None,
    );
    refused_with(&refused, "No accessKey is configured");
}

#[test]
fn accounts_added_and_removed_while_clients_run_take_effect() {
    let (_dir, file) = acl_file(FILE);
    let log_dir = tempfile::tempdir().expect("log dir");
    let log = log_dir.path().join("broker.log");
    let settings = format!("aclFile={}", file.display());
    let broker = Broker::start_logged(
        1,
        &[
            "-o",
            "aclEnable=true",
            "-o",
            &settings,
            "-o",
            "accessKey=broker-admin",
            "-o",
            "secretKey=broker-secret",
        ],
        "info",
        &log,
    );
    let mut conn = with_topic(&broker);
    let late = Credentials::new("late-producer", "late-secret");
    let send = |conn: &mut TcpStream, who: &Credentials| {
        call(
            conn,
            SEND_MESSAGE_V2,
            send_fields(TOPIC, ""),
            b"late",
            Some(who),
        )
    };
    refused_with(&send(&mut conn, &late), "No acl config for late-producer");

    // Added, on the connection that was refused: the file is replaced as an editor saves.
    let added = format!(
        "{FILE}  - accessKey: late-producer\n    secretKey: late-secret\n    \
         defaultTopicPerm: PUB\n"
    );
    replace(&file, &added);
    wait_until(PATIENCE, "the added account in force", || {
        code_of(&send(&mut conn, &late)) == SUCCESS
    });

    // A broken file keeps the last good table.
    replace(&file, "accounts: [\n");
    wait_until(PATIENCE, "the broken file refused in the log", || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("refused: the previous one stays")
    });
    assert_eq!(code_of(&send(&mut conn, &late)), SUCCESS, "still in force");

    // Removed.
    replace(&file, FILE);
    wait_until(PATIENCE, "the removed account refused", || {
        code_of(&send(&mut conn, &late)) == NO_PERMISSION
    });
    assert_eq!(
        code_of(&send(&mut conn, &producer())),
        SUCCESS,
        "the others stay"
    );
}

/// Replaces `path` with `text` by a rename, as editors and configuration tools do.
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("written");
    std::fs::rename(&tmp, path).expect("renamed");
}

#[test]
fn the_name_server_refuses_a_route_hijack_and_keeps_reads_open() {
    let (_dir, file) = acl_file(FILE);
    let broker = acl_broker(1, &file);
    let namesrv = broker.namesrv_addr();
    let route = wait_route(namesrv, "TBW102", 1);
    let name = route["brokerDatas"][0]["brokerName"]
        .as_str()
        .expect("name")
        .to_owned();
    let real = route["brokerDatas"][0]["brokerAddrs"]["0"].clone();

    // The outsider claims the live broker's name at its own address, with no account and
    // with a non-admin one, then tries the other writes.
    let mut outsider = connect(namesrv);
    let evil = "127.0.0.1:1";
    let fields = json!({
        "brokerName": name, "brokerAddr": evil, "clusterName": "DefaultCluster",
        "haServerAddr": evil, "brokerId": 0, "bodyCrc32": 0,
    });
    let body = br#"{"topicConfigTable":{},"dataVersion":{"counter":99,"timestamp":1}}"#;
    let header = call(&mut outsider, REGISTER_BROKER, fields.clone(), body, None);
    refused_with(&header, "No accessKey is configured");
    let header = call(
        &mut outsider,
        REGISTER_BROKER,
        fields,
        body,
        Some(&producer()),
    );
    refused_with(&header, "Need admin permission for request code=103");
    let writes = [
        (
            UNREGISTER_BROKER,
            json!({"brokerName": name, "brokerAddr": real, "clusterName": "DefaultCluster", "brokerId": 0}),
        ),
        (DELETE_TOPIC_IN_NAMESRV, json!({"topic": "TBW102"})),
        (
            PUT_KV_CONFIG,
            json!({"namespace": "ns", "key": "k", "value": "v"}),
        ),
    ];
    for (code, fields) in writes {
        refused_with(
            &call(&mut outsider, code, fields, b"", None),
            "No accessKey is configured",
        );
    }
    // Route reads stay open; the route is the broker's own.
    let route = wait_route(namesrv, "TBW102", 1);
    assert_eq!(route["brokerDatas"][0]["brokerAddrs"]["0"], real);
    drop(outsider);
    // A closed connection whose registration was refused expires nobody: the route stays
    // across many round trips after the close.
    for _ in 0..50 {
        let route = wait_route(namesrv, "TBW102", 1);
        assert_eq!(route["brokerDatas"][0]["brokerAddrs"]["0"], real, "{route}");
    }
    // An admin may write.
    let mut admin_conn = connect(namesrv);
    let put = call(
        &mut admin_conn,
        PUT_KV_CONFIG,
        json!({"namespace": "ns", "key": "k", "value": "v"}),
        b"",
        Some(&admin()),
    );
    assert_eq!(code_of(&put), SUCCESS, "{put}");
}

/// Runs a broker that must refuse to start; returns its stderr.
fn refused_start(settings: &[&str]) -> String {
    let store = tempfile::tempdir().expect("store");
    let mut args = vec!["broker", "--shards", "1", "--listen-addr", "127.0.0.1"];
    for setting in settings {
        args.extend(["-o", setting]);
    }
    let output = Command::new(env!("CARGO_BIN_EXE_shardmq"))
        .args(&args)
        .arg("--store-path")
        .arg(store.path())
        .arg("--listen-port")
        .arg(common::free_port_block(1).to_string())
        .arg("--namesrv-listen-port")
        .arg(common::free_port().to_string())
        .output()
        .expect("run shardmq");
    assert!(!output.status.success(), "the broker must not start");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_broker_that_cannot_register_or_read_its_file_does_not_start() {
    let (_dir, file) = acl_file(FILE);
    let setting = format!("aclFile={}", file.display());
    let stderr = refused_start(&["aclEnable=true", &setting]);
    assert!(
        stderr.contains("accessKey") && stderr.contains("admin account"),
        "{stderr}"
    );
    let stderr = refused_start(&[
        "aclEnable=true",
        &setting,
        "accessKey=producer1",
        "secretKey=producer-secret",
    ]);
    assert!(
        stderr.contains("producer1") && stderr.contains("admin account"),
        "{stderr}"
    );
    assert!(!stderr.contains("producer-secret"), "{stderr}");
    let stderr = refused_start(&["aclEnable=true", "aclFile=/nonexistent/plain_acl.yml"]);
    assert!(stderr.contains("/nonexistent/plain_acl.yml"), "{stderr}");
    let stderr = refused_start(&["aclEnable=true", "accessKey=broker-admin"]);
    assert!(stderr.contains("secretKey"), "{stderr}");
    let (_bad_dir, bad) = acl_file("accounts:\n  - accessKey: admin-user\n    secretKey: 123\n");
    let stderr = refused_start(&["aclEnable=true", &format!("aclFile={}", bad.display())]);
    assert!(stderr.contains("longer than 6"), "{stderr}");
}

/// A slave of a master that checks ACL signs what it asks the master (the shard-count check,
/// the table synchronization) and its registration with the master's NameServer, with its
/// own `accessKey`/`secretKey`: a topic created on the master reaches it.
#[test]
fn a_slave_signs_its_requests_to_a_master_that_checks_acl() {
    let (_dir, file) = acl_file(FILE);
    let master = acl_broker(1, &file);
    let mut settings = common::slave_args(master.listen_port, master.namesrv_port, true);
    for setting in [
        "aclEnable=true".to_owned(),
        format!("aclFile={}", file.display()),
        "accessKey=broker-admin".to_owned(),
        "secretKey=broker-secret".to_owned(),
    ] {
        settings.extend(["-o".to_owned(), setting]);
    }
    let settings: Vec<&str> = settings.iter().map(String::as_str).collect();
    let slave = Broker::start(1, &settings);
    with_topic(&master);
    let mut conn = slave.connect(0);
    wait_until(PATIENCE, "the master's topic on the slave", || {
        topics(&mut conn).get(TOPIC).is_some()
    });
    let route = wait_route(master.namesrv_addr(), TOPIC, 1);
    let addrs = &route["brokerDatas"][0]["brokerAddrs"];
    assert!(addrs.get("1").is_some(), "the slave registered: {route}");
}
