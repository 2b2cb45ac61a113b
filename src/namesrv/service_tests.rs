use super::*;
use crate::wire::body::{ClusterInfo, QueueData, TopicList};
use crate::wire::codes::response_code;
use crate::wire::ExtFields;

pub(super) const A0: &str = "10.0.0.1:10911";
pub(super) const A1: &str = "10.0.0.2:10911";

pub(super) fn request<H: CommandHeader>(code: i32, header: &H, body: &[u8]) -> RemotingCommand {
    let mut request =
        RemotingCommand::request(code, ExtFields::new(), Bytes::copy_from_slice(body));
    request.opaque = 42;
    request.set_header(header);
    request
}

pub(super) fn bare(code: i32) -> RemotingCommand {
    let mut request = RemotingCommand::request(code, ExtFields::new(), Bytes::new());
    request.opaque = 42;
    request
}

pub(super) fn register_header(addr: &str, id: i64) -> RegisterBrokerRequestHeader {
    RegisterBrokerRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: addr.into(),
        cluster_name: "DefaultCluster".into(),
        ha_server_addr: format!("{addr}-ha"),
        broker_id: id,
        ..Default::default()
    }
}

/// A 4.9 broker's registration body, as fastjson writes it.
pub(super) fn register_body(topics: &[&str]) -> Vec<u8> {
    let table: Vec<String> = topics
        .iter()
        .map(|t| {
            format!(
                r#""{t}":{{"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"{t}","topicSysFlag":0,"writeQueueNums":4}}"#
            )
        })
        .collect();
    format!(
        r#"{{"filterServerList":[],"topicConfigSerializeWrapper":{{"dataVersion":{{"counter":{},"timestamp":1700000000000}},"topicConfigTable":{{{}}}}}}}"#,
        topics.len(),
        table.join(",")
    )
    .into_bytes()
}

pub(super) fn register(
    server: &NameServer,
    addr: &str,
    id: i64,
    topics: &[&str],
) -> RemotingCommand {
    let request = request(
        request_code::REGISTER_BROKER,
        &register_header(addr, id),
        &register_body(topics),
    );
    server.handle(1, &request, 0)
}

pub(super) fn route(server: &NameServer, topic: &str) -> RemotingCommand {
    let header = GetRouteInfoRequestHeader {
        topic: topic.into(),
        accept_standard_json_only: Some(true),
    };
    server.handle(
        2,
        &request(request_code::GET_ROUTEINFO_BY_TOPIC, &header, b""),
        0,
    )
}

pub(super) fn assert_refused(response: &RemotingCommand, code: i32, remark_part: &str) {
    assert_eq!(response.code, code, "{:?}", response.remark);
    assert_eq!(response.opaque, 42);
    let remark = response.remark.as_deref().unwrap_or_default();
    assert!(
        remark.contains(remark_part),
        "{remark:?} lacks {remark_part:?}"
    );
}

#[test]
fn unknown_topic_is_topic_not_exist_with_javas_remark() {
    let server = NameServer::new();
    let response = route(&server, "T1");
    assert_refused(&response, response_code::TOPIC_NOT_EXIST, "");
    assert_eq!(
        response.remark.as_deref(),
        Some("No topic route info in name server for the topic: T1")
    );
}

#[test]
fn registered_topics_route_with_the_body_clients_parse() {
    let server = NameServer::new();
    let response = register(&server, A0, 0, &["T1", "TBW102"]);
    assert_eq!(
        response.code,
        response_code::SUCCESS,
        "{:?}",
        response.remark
    );
    assert!(response.body.is_empty(), "no order configs to hand back");
    let response = route(&server, "TBW102");
    assert_eq!(response.code, response_code::SUCCESS);
    assert_eq!(response.opaque, 42);
    assert!(response.is_response());
    let expected = concat!(
        r#"{"brokerDatas":[{"brokerAddrs":{"0":"10.0.0.1:10911"},"brokerName":"broker-a","#,
        r#""cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"#,
        r#""queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"#,
        r#""topicSysFlag":0,"writeQueueNums":4}]}"#
    );
    assert_eq!(std::str::from_utf8(&response.body), Ok(expected));
}

#[test]
fn a_slave_learns_its_master_from_the_response_header() {
    let server = NameServer::new();
    register(&server, A0, 0, &["T1"]);
    let response = register(&server, A1, 1, &["T1"]);
    assert_eq!(response.code, response_code::SUCCESS);
    let header: RegisterBrokerResponseHeader = response.decode_header().expect("header");
    assert_eq!(header.master_addr.as_deref(), Some(A0));
    assert_eq!(header.ha_server_addr, Some(format!("{A0}-ha")));
}

#[test]
fn malformed_registrations_are_refused_with_a_reason() {
    let server = NameServer::new();
    let mut header = register_header(A0, 0);
    let good = register_body(&["T1"]);

    let mut missing = request(request_code::REGISTER_BROKER, &header, &good);
    missing.ext_fields.remove("brokerName");
    let response = server.handle(1, &missing, 0);
    assert_refused(
        &response,
        response_code::SYSTEM_ERROR,
        "brokerName is missing",
    );

    let bad_json = request(request_code::REGISTER_BROKER, &header, b"{\"topicConfig");
    let response = server.handle(1, &bad_json, 0);
    assert_refused(
        &response,
        response_code::SYSTEM_ERROR,
        "REGISTER_BROKER body is not valid JSON",
    );

    header.body_crc32 = body_crc32(&good) ^ 1;
    let response = server.handle(
        1,
        &request(request_code::REGISTER_BROKER, &header, &good),
        0,
    );
    assert_refused(&response, response_code::SYSTEM_ERROR, "crc32 not match");

    header.body_crc32 = 0;
    header.compressed = true;
    let response = server.handle(
        1,
        &request(request_code::REGISTER_BROKER, &header, &good),
        0,
    );
    assert_refused(
        &response,
        response_code::SYSTEM_ERROR,
        "compressed REGISTER_BROKER body is not a zlib stream",
    );
    assert!(
        server.routes().route("T1").is_none(),
        "nothing was registered"
    );

    header.compressed = false;
    header.body_crc32 = body_crc32(&good);
    let response = server.handle(
        1,
        &request(request_code::REGISTER_BROKER, &header, &good),
        0,
    );
    assert_eq!(
        response.code,
        response_code::SUCCESS,
        "a matching CRC is accepted"
    );
}

#[test]
fn a_registration_without_body_registers_a_broker_without_topics() {
    let server = NameServer::new();
    let bare_registration = request(request_code::REGISTER_BROKER, &register_header(A0, 0), b"");
    let response = server.handle(1, &bare_registration, 0);
    assert_eq!(
        response.code,
        response_code::SUCCESS,
        "{:?}",
        response.remark
    );
    let info = server.routes().cluster_info();
    assert_eq!(info.cluster_addr_table["DefaultCluster"], ["broker-a"]);
    assert!(server.routes().topic_list().topic_list.is_empty());
}

#[test]
fn the_config_decides_whether_registration_deletes_topics() {
    let keeping = NameServer::with_config(&NamesrvConfig {
        delete_topic_with_broker_registration: false,
        ..NamesrvConfig::default()
    });
    register(&keeping, A0, 0, &["T1", "T2"]);
    register(&keeping, A0, 0, &["T3"]);
    assert_eq!(route(&keeping, "T1").code, response_code::SUCCESS);
    let replacing = NameServer::new();
    register(&replacing, A0, 0, &["T1", "T2"]);
    register(&replacing, A0, 0, &["T3"]);
    assert_eq!(route(&replacing, "T1").code, response_code::TOPIC_NOT_EXIST);
    assert_eq!(route(&replacing, "T3").code, response_code::SUCCESS);
}

#[test]
fn unregister_and_delete_topic_remove_routes() {
    let server = NameServer::new();
    register(&server, A0, 0, &["T1", "T2"]);
    let delete = DeleteTopicFromNamesrvRequestHeader {
        topic: "T1".into(),
        cluster_name: None,
    };
    let response = server.handle(
        1,
        &request(request_code::DELETE_TOPIC_IN_NAMESRV, &delete, b""),
        0,
    );
    assert_eq!(response.code, response_code::SUCCESS);
    assert_eq!(route(&server, "T1").code, response_code::TOPIC_NOT_EXIST);
    assert_eq!(route(&server, "T2").code, response_code::SUCCESS);

    let unregister = UnregisterBrokerRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: A0.into(),
        cluster_name: "DefaultCluster".into(),
        broker_id: 0,
    };
    let response = server.handle(
        1,
        &request(request_code::UNREGISTER_BROKER, &unregister, b""),
        0,
    );
    assert_eq!(response.code, response_code::SUCCESS);
    assert_eq!(route(&server, "T2").code, response_code::TOPIC_NOT_EXIST);
}

#[test]
fn cluster_info_and_topic_lists() {
    let server = NameServer::new();
    register(&server, A0, 0, &["T1", "T2"]);
    let response = server.handle(1, &bare(request_code::GET_BROKER_CLUSTER_INFO), 0);
    let info: ClusterInfo = body::decode(&response.body, "cluster info").expect("json");
    assert_eq!(info.cluster_addr_table["DefaultCluster"], ["broker-a"]);
    assert_eq!(info.broker_addr_table["broker-a"].broker_addrs[&0], A0);

    let response = server.handle(
        1,
        &bare(request_code::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
        0,
    );
    assert_eq!(&response.body[..], br#"{"topicList":["T1","T2"]}"#);

    let header = GetTopicsByClusterRequestHeader {
        cluster: "DefaultCluster".into(),
    };
    let response = server.handle(
        1,
        &request(request_code::GET_TOPICS_BY_CLUSTER, &header, b""),
        0,
    );
    let list: TopicList = body::decode(&response.body, "topic list").expect("json");
    assert_eq!(list.topic_list, ["T1", "T2"]);
}

#[test]
fn register_topic_publishes_an_auto_created_topic_at_once() {
    let server = NameServer::new();
    register(&server, A0, 0, &["TBW102"]);
    let route_body = TopicRouteData {
        queue_datas: vec![QueueData {
            broker_name: "broker-a".into(),
            perm: 6,
            read_queue_nums: 4,
            topic_sys_flag: 0,
            write_queue_nums: 4,
        }],
        ..TopicRouteData::default()
    };
    let header = RegisterTopicRequestHeader {
        topic: "New".into(),
    };
    let body = body::encode(&route_body);
    let response = server.handle(
        1,
        &request(request_code::REGISTER_TOPIC_IN_NAMESRV, &header, &body),
        0,
    );
    assert_eq!(
        response.code,
        response_code::SUCCESS,
        "{:?}",
        response.remark
    );
    assert_eq!(route(&server, "New").code, response_code::SUCCESS);

    let empty = request(request_code::REGISTER_TOPIC_IN_NAMESRV, &header, b"");
    assert_refused(
        &server.handle(1, &empty, 0),
        response_code::SYSTEM_ERROR,
        "body",
    );
}

#[test]
fn unknown_codes_and_missing_headers() {
    let server = NameServer::new();
    let response = server.handle(1, &bare(request_code::SEND_MESSAGE), 0);
    assert_refused(
        &response,
        response_code::REQUEST_CODE_NOT_SUPPORTED,
        "request type 10 not supported",
    );
    let response = server.handle(1, &bare(request_code::GET_ROUTEINFO_BY_TOPIC), 0);
    assert_refused(&response, response_code::SYSTEM_ERROR, "topic is missing");
    let response = server.handle(1, &bare(request_code::GET_KV_CONFIG), 0);
    assert_refused(
        &response,
        response_code::SYSTEM_ERROR,
        "namespace is missing",
    );
}

#[test]
fn the_expiry_task_expires_silent_brokers_and_stops_when_closing() {
    glommio::LocalExecutorBuilder::default()
        .spawn(|| async {
            let server = Rc::new(NameServer::new());
            let mut header = register_header(A0, 0);
            header.heartbeat_timeout_millis = Some(1);
            let body = register_body(&["T1"]);
            let registration = request(request_code::REGISTER_BROKER, &header, &body);
            server.handle(1, &registration, server.now_ms());
            assert_eq!(route(&server, "T1").code, response_code::SUCCESS);
            let closing = glommio::timer::sleep(Duration::from_millis(100));
            server
                .run_expiry_every(Duration::from_millis(10), async {
                    closing.await;
                })
                .await;
            assert_eq!(route(&server, "T1").code, response_code::TOPIC_NOT_EXIST);
        })
        .expect("executor")
        .join()
        .expect("join");
}

/// A Java broker with `compressedRegister=true`: the body is the zlib form, its CRC over
/// the compressed bytes.
#[test]
fn a_compressed_registration_routes_its_topics() {
    use crate::wire::register_body::encode_compressed;

    let server = NameServer::new();
    let plain: RegisterBrokerBody =
        body::decode(&register_body(&["T1", "T2"]), "test body").expect("JSON");
    let compressed = encode_compressed(&plain, 9);
    let mut header = register_header(A0, 0);
    header.compressed = true;
    header.body_crc32 = body_crc32(&compressed);
    let response = server.handle(
        1,
        &request(request_code::REGISTER_BROKER, &header, &compressed),
        0,
    );
    assert_eq!(
        response.code,
        response_code::SUCCESS,
        "{:?}",
        response.remark
    );
    for topic in ["T1", "T2"] {
        let route = server.routes().route(topic).expect("routed");
        assert_eq!(route.queue_datas[0].write_queue_nums, 4);
    }
    assert_eq!(
        server
            .routes()
            .live(A0)
            .map(|live| live.data_version.counter),
        Some(2)
    );

    // The same form damaged: refused, saying why, and nothing changes.
    let mut damaged = compressed.clone();
    damaged.truncate(damaged.len() / 2);
    header.body_crc32 = 0;
    let response = server.handle(
        1,
        &request(request_code::REGISTER_BROKER, &header, &damaged),
        0,
    );
    assert_refused(
        &response,
        response_code::SYSTEM_ERROR,
        "compressed REGISTER_BROKER body",
    );
    assert!(server.routes().route("T1").is_some());
}

/// Parts of one split registration, numbered in the header: the last deletes what no
/// part listed, the others delete nothing.
#[test]
fn split_parts_numbered_in_the_header_register_as_one() {
    let server = NameServer::new();
    assert_eq!(
        register(&server, A0, 0, &["old"]).code,
        response_code::SUCCESS
    );
    let send = |index: i32, topics: &[&str]| {
        let mut header = register_header(A0, 0);
        header.registration_part = Some(index);
        header.registration_parts = Some(2);
        let mut body: RegisterBrokerBody =
            body::decode(&register_body(topics), "test body").expect("JSON");
        body.topic_config_serialize_wrapper.data_version.counter = 9;
        let bytes = body::encode(&body);
        server.handle(
            1,
            &request(request_code::REGISTER_BROKER, &header, &bytes),
            0,
        )
    };
    assert_eq!(send(0, &["A"]).code, response_code::SUCCESS);
    assert!(
        server.routes().route("old").is_some(),
        "kept while parts arrive"
    );
    assert_eq!(send(1, &["B"]).code, response_code::SUCCESS);
    assert!(server.routes().route("A").is_some());
    assert!(server.routes().route("B").is_some());
    assert!(server.routes().route("old").is_none(), "listed by no part");
}
