//! Request-level tests of the NameServer's admin and broker-maintenance codes: KV config,
//! heartbeats, data-version queries and write permissions.

use super::tests::*;
use super::*;
use crate::wire::codes::response_code;

#[test]
fn kv_config_answers_query_not_found_then_the_value() {
    let server = NameServer::with_config(&NamesrvConfig {
        order_message_enable: true,
        ..NamesrvConfig::default()
    });
    let key = KvConfigKeyRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".into(),
        key: "T1".into(),
    };
    let response = server.handle(1, &request(request_code::GET_KV_CONFIG, &key, b""), 0);
    assert_refused(
        &response,
        response_code::QUERY_NOT_FOUND,
        "No config item, Namespace: ORDER_TOPIC_CONFIG Key: T1",
    );
    let put = PutKvConfigRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".into(),
        key: "T1".into(),
        value: "broker-a:4".into(),
    };
    assert_eq!(
        server
            .handle(1, &request(request_code::PUT_KV_CONFIG, &put, b""), 0)
            .code,
        0
    );
    let response = server.handle(1, &request(request_code::GET_KV_CONFIG, &key, b""), 0);
    let value: GetKvConfigResponseHeader = response.decode_header().expect("header");
    assert_eq!(value.value.as_deref(), Some("broker-a:4"));

    register(&server, A0, 0, &["T1"]);
    let response = route(&server, "T1");
    assert!(std::str::from_utf8(&response.body)
        .expect("utf-8")
        .contains(r#""orderTopicConf":"broker-a:4""#));
    let plain = NameServer::new();
    plain.handle(1, &request(request_code::PUT_KV_CONFIG, &put, b""), 0);
    register(&plain, A0, 0, &["T1"]);
    let body = route(&plain, "T1").body;
    assert!(!std::str::from_utf8(&body)
        .expect("utf-8")
        .contains("orderTopicConf"));
    let response = register(&server, A0, 0, &["T1"]);
    assert_eq!(&response.body[..], br#"{"table":{"T1":"broker-a:4"}}"#);

    let list = GetKvListByNamespaceRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".into(),
    };
    let response = server.handle(
        1,
        &request(request_code::GET_KVLIST_BY_NAMESPACE, &list, b""),
        0,
    );
    assert_eq!(&response.body[..], br#"{"table":{"T1":"broker-a:4"}}"#);
    server.handle(1, &request(request_code::DELETE_KV_CONFIG, &key, b""), 0);
    let response = server.handle(
        1,
        &request(request_code::GET_KVLIST_BY_NAMESPACE, &list, b""),
        0,
    );
    assert_eq!(response.code, response_code::QUERY_NOT_FOUND);
}

#[test]
fn broker_heartbeat_keeps_a_broker_alive() {
    let server = NameServer::new();
    register(&server, A0, 0, &["T1"]);
    let header = BrokerHeartbeatRequestHeader {
        cluster_name: "DefaultCluster".into(),
        broker_addr: A0.into(),
        broker_name: "broker-a".into(),
        heartbeat_timeout_millis: None,
    };
    let response = server.handle(
        1,
        &request(request_code::BROKER_HEARTBEAT, &header, b""),
        100_000,
    );
    assert_eq!(response.code, response_code::SUCCESS);
    assert!(server.routes.borrow_mut().scan(200_000).is_empty());
}

#[test]
fn query_data_version_says_whether_to_register_and_keeps_the_broker_alive() {
    let server = NameServer::new();
    register(&server, A0, 0, &["T1"]);
    let header = QueryDataVersionRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: A0.into(),
        cluster_name: "DefaultCluster".into(),
        broker_id: 0,
    };
    let same = br#"{"counter":1,"timestamp":1700000000000}"#;
    let query = request(request_code::QUERY_DATA_VERSION, &header, same);
    let response = server.handle(1, &query, 100_000);
    let answer: QueryDataVersionResponseHeader = response.decode_header().expect("header");
    assert_eq!(answer.changed, Some(false));
    let held: DataVersion = body::decode(&response.body, "data version").expect("json");
    assert_eq!(held.counter, 1);
    assert!(server.routes.borrow_mut().scan(200_000).is_empty());

    let newer = br#"{"counter":2,"timestamp":1700000000001}"#;
    let query = request(request_code::QUERY_DATA_VERSION, &header, newer);
    let answer: QueryDataVersionResponseHeader =
        server.handle(1, &query, 0).decode_header().expect("header");
    assert_eq!(answer.changed, Some(true));

    let system = server.handle(1, &bare(request_code::GET_SYSTEM_TOPIC_LIST_FROM_NS), 0);
    assert_eq!(
        &system.body[..],
        br#"{"brokerAddr":"10.0.0.1:10911","topicList":["DefaultCluster","broker-a"]}"#
    );
}

#[test]
fn write_permission_is_wiped_and_added_back_per_broker_name() {
    let server = NameServer::new();
    register(&server, A0, 0, &["T1", "T2"]);
    let header = BrokerPermRequestHeader {
        broker_name: "broker-a".into(),
    };
    let wipe = request(request_code::WIPE_WRITE_PERM_OF_BROKER, &header, b"");
    let answer: WipeWritePermOfBrokerResponseHeader =
        server.handle(1, &wipe, 0).decode_header().expect("header");
    assert_eq!(answer.wipe_topic_count, 2);
    let perms =
        |server: &NameServer| server.routes().route("T1").expect("routed").queue_datas[0].perm;
    assert_eq!(perms(&server), 4);
    register(&server, A0, 0, &["T1", "T2"]);
    assert_eq!(
        perms(&server),
        4,
        "an unchanged registration keeps the wiped permission"
    );
    let add = request(request_code::ADD_WRITE_PERM_OF_BROKER, &header, b"");
    let answer: AddWritePermOfBrokerResponseHeader =
        server.handle(1, &add, 0).decode_header().expect("header");
    assert_eq!(answer.add_topic_count, 2);
    assert_eq!(perms(&server), 6);
}
