use super::*;

fn broker_a() -> BrokerData {
    BrokerData {
        broker_addrs: BTreeMap::from([
            (0, "10.0.0.1:10911".to_owned()),
            (1, "10.0.0.2:10911".to_owned()),
        ]),
        broker_name: "broker-a".into(),
        cluster: "DefaultCluster".into(),
        enable_acting_master: false,
        zone_name: None,
    }
}

#[test]
fn route_body_is_the_compact_sorted_standard_json_clients_read() {
    let route = TopicRouteData {
        broker_datas: vec![broker_a()],
        queue_datas: vec![QueueData {
            broker_name: "broker-a".into(),
            perm: 6,
            read_queue_nums: 4,
            topic_sys_flag: 0,
            write_queue_nums: 4,
        }],
        ..TopicRouteData::default()
    };
    let expected = concat!(
        r#"{"brokerDatas":[{"brokerAddrs":{"0":"10.0.0.1:10911","1":"10.0.0.2:10911"},"#,
        r#""brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"#,
        r#""filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"#,
        r#""readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#
    );
    assert_eq!(String::from_utf8(encode(&route)).expect("utf-8"), expected);
    assert_eq!(
        decode::<TopicRouteData>(expected.as_bytes(), "route"),
        Ok(route)
    );
}

#[test]
fn order_conf_and_zone_appear_only_when_set() {
    let mut route = TopicRouteData {
        broker_datas: vec![BrokerData {
            zone_name: Some("z1".into()),
            ..broker_a()
        }],
        ..TopicRouteData::default()
    };
    route.order_topic_conf = Some("broker-a:4".into());
    let text = String::from_utf8(encode(&route)).expect("utf-8");
    assert!(text.contains(r#""zoneName":"z1""#), "{text}");
    assert!(text.contains(r#""orderTopicConf":"broker-a:4""#), "{text}");
}

#[test]
fn cluster_info_and_topic_list_bodies() {
    let info = ClusterInfo {
        broker_addr_table: BTreeMap::from([("broker-a".to_owned(), broker_a())]),
        cluster_addr_table: BTreeMap::from([(
            "DefaultCluster".to_owned(),
            vec!["broker-a".to_owned()],
        )]),
    };
    let text = String::from_utf8(encode(&info)).expect("utf-8");
    assert!(text.starts_with(r#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{"0":"#));
    assert!(text.ends_with(r#""clusterAddrTable":{"DefaultCluster":["broker-a"]}}"#));
    let list = TopicList {
        broker_addr: None,
        topic_list: vec!["T1".into(), "%RETRY%cg1".into()],
    };
    assert_eq!(
        encode(&list),
        br#"{"topicList":["T1","%RETRY%cg1"]}"#.to_vec()
    );
}

/// What a 4.9 Java broker sends (fastjson, unquoted integer keys in the 5.x mapping part).
const FASTJSON_REGISTER_BODY: &str = concat!(
    r#"{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":"#,
    r#"{"counter":3,"timestamp":1700000000000},"topicConfigTable":{"#,
    r#""TBW102":{"order":false,"perm":7,"readQueueNums":8,"topicFilterType":"SINGLE_TAG","#,
    r#""topicName":"TBW102","topicSysFlag":0,"writeQueueNums":8},"#,
    r#""T1":{"perm":6,"readQueueNums":4,"topicName":"T1","writeQueueNums":4}},"#,
    r#""topicQueueMappingInfoMap":{"T1":{"currIdMap":{0:1, -1 :2},"note":"{0:x}"}}}}"#
);

#[test]
fn fastjson_register_body_with_unquoted_numeric_keys_parses() {
    let body: RegisterBrokerBody =
        decode(FASTJSON_REGISTER_BODY.as_bytes(), "REGISTER_BROKER body").expect("parses");
    let wrapper = &body.topic_config_serialize_wrapper;
    assert_eq!(
        wrapper.data_version,
        DataVersion {
            counter: 3,
            state_version: 0,
            timestamp: 1_700_000_000_000
        }
    );
    let tbw = &wrapper.topic_config_table["TBW102"];
    assert_eq!(
        (tbw.perm, tbw.read_queue_nums, tbw.write_queue_nums),
        (7, 8, 8)
    );
    let t1 = &wrapper.topic_config_table["T1"];
    assert_eq!(
        t1.topic_filter_type, "SINGLE_TAG",
        "Java default for an absent field"
    );
    let mapping = &wrapper.topic_queue_mapping_info_map["T1"];
    assert_eq!(mapping["currIdMap"]["-1"], 2);
    assert_eq!(mapping["note"], "{0:x}", "string contents are left alone");
}

#[test]
fn quoting_leaves_standard_json_and_strings_unchanged() {
    for text in [
        r#"{"a":[1,2,{"b":-3}],"c":"x\"{1:2}\\"}"#,
        r#"{"0":"a"}"#,
        "[1, 2]",
        r#"{-:"a"}"#,
    ] {
        assert_eq!(quote_bare_keys(text.as_bytes()), text.as_bytes().to_vec());
    }
    assert_eq!(
        quote_bare_keys(br#"{0:"a", 12 : "b"}"#),
        br#"{"0":"a", "12" : "b"}"#.to_vec()
    );
}

#[test]
fn register_body_round_trips_and_garbage_is_refused_with_a_reason() {
    let mut body = RegisterBrokerBody::default();
    body.topic_config_serialize_wrapper
        .topic_config_table
        .insert(
            "T".into(),
            TopicConfig {
                topic_name: "T".into(),
                ..TopicConfig::default()
            },
        );
    let text = encode(&body);
    assert_eq!(decode::<RegisterBrokerBody>(&text, "body"), Ok(body));

    for garbage in [
        &b"{"[..],
        b"not json",
        b"{\"filterServerList\":7}",
        b"\xff\xfe",
    ] {
        let err =
            decode::<RegisterBrokerBody>(garbage, "REGISTER_BROKER body").expect_err("refused");
        let remark = err.to_string();
        assert!(
            remark.starts_with("the REGISTER_BROKER body is not valid JSON: "),
            "{remark}"
        );
    }
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn quoting_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = quote_bare_keys(&bytes);
        }

        #[test]
        fn standard_json_passes_unchanged(
            map in proptest::collection::btree_map(any::<i64>(), "[ -~]{0,12}", 0..8),
            words in proptest::collection::vec("[ -~]{0,12}", 0..4),
        ) {
            let text = serde_json::to_vec(&(map, words)).expect("encodes");
            prop_assert_eq!(quote_bare_keys(&text), text);
        }

        #[test]
        fn fastjson_integer_keys_parse_like_quoted_ones(
            map in proptest::collection::btree_map(any::<i64>(), "[ -~]{0,12}", 0..8),
        ) {
            let entries: Vec<String> = map
                .iter()
                .map(|(id, addr)| format!("{id}:{}", serde_json::to_string(addr).expect("encodes")))
                .collect();
            let fastjson = format!("{{\"brokerAddrs\":{{{}}}}}", entries.join(","));
            let parsed: serde_json::Value = decode(fastjson.as_bytes(), "body").expect("parses");
            let expected = serde_json::json!({ "brokerAddrs": map });
            prop_assert_eq!(parsed, expected);
        }
    }
}
