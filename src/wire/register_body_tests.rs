use std::collections::BTreeMap;
use std::io::Write;

use flate2::write::ZlibEncoder;
use flate2::Compression;
use proptest::prelude::*;

use super::*;

fn topic(name: &str, queues: i32) -> TopicConfig {
    TopicConfig {
        topic_name: name.into(),
        read_queue_nums: queues,
        write_queue_nums: queues,
        ..TopicConfig::default()
    }
}

fn wrapper(topics: impl IntoIterator<Item = TopicConfig>) -> TopicConfigSerializeWrapper {
    TopicConfigSerializeWrapper {
        data_version: DataVersion {
            counter: 7,
            state_version: 0,
            timestamp: 1_700_000_000_000,
        },
        topic_config_table: topics
            .into_iter()
            .map(|config| (config.topic_name.clone(), config))
            .collect(),
        topic_queue_mapping_info_map: BTreeMap::new(),
    }
}

fn zlib(plain: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(plain).expect("deflate");
    encoder.finish().expect("deflate")
}

fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&i32::try_from(bytes.len()).expect("len").to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The stream a 4.9 broker writes: no mapping count after the filter-server list.
fn stream_4_9(version: &str, lines: &[&str], filters: &str) -> Vec<u8> {
    let mut plain = Vec::new();
    field(&mut plain, version.as_bytes());
    plain.extend_from_slice(&i32::try_from(lines.len()).expect("count").to_be_bytes());
    for line in lines {
        field(&mut plain, line.as_bytes());
    }
    field(&mut plain, filters.as_bytes());
    plain
}

#[test]
fn the_compressed_form_inflates_to_the_documented_fields() {
    let mut table = wrapper([topic("orders", 4)]);
    table.topic_config_table.insert(
        "TBW102".into(),
        TopicConfig {
            perm: 7,
            ..topic("TBW102", 8)
        },
    );
    let body = RegisterBrokerBody {
        filter_server_list: Vec::new(),
        topic_config_serialize_wrapper: table,
    };
    let compressed = encode_compressed(&body, 9);
    // zlib: CM 8 (deflate), and a header check that makes the first two bytes a multiple of 31.
    assert_eq!(compressed[0] & 0x0F, 8);
    assert_eq!(u16::from_be_bytes([compressed[0], compressed[1]]) % 31, 0);
    let plain = inflate(&compressed).expect("inflates");
    let mut expected = stream_4_9(
        r#"{"counter":7,"stateVersion":0,"timestamp":1700000000000}"#,
        &["TBW102 8 8 7 SINGLE_TAG", "orders 4 4 6 SINGLE_TAG"],
        "[]",
    );
    expected.extend_from_slice(&0i32.to_be_bytes());
    assert_eq!(plain, expected);
    assert_eq!(compressed_plain_len(&body), expected.len());
    assert_eq!(decode_compressed(&compressed), Ok(body));
}

#[test]
fn a_4_9_stream_without_mappings_and_with_fastjson_text_is_read() {
    let plain = stream_4_9(
        r#"{"counter":3,"timestamp":1}"#,
        &["a 16 16 6 SINGLE_TAG", "b 1 2 4 MULTI_TAG"],
        r#"["10.0.0.1:7001"]"#,
    );
    let body = decode_compressed(&zlib(&plain)).expect("a 4.9 body");
    let wrapper = &body.topic_config_serialize_wrapper;
    assert_eq!(wrapper.data_version.counter, 3);
    assert_eq!(wrapper.topic_config_table.len(), 2);
    assert_eq!(wrapper.topic_config_table["b"].write_queue_nums, 2);
    assert_eq!(
        wrapper.topic_config_table["b"].topic_filter_type,
        "MULTI_TAG"
    );
    assert_eq!(body.filter_server_list, vec!["10.0.0.1:7001".to_owned()]);
    assert!(wrapper.topic_queue_mapping_info_map.is_empty());
}

#[test]
fn a_5_x_stream_carries_attributes_and_mappings() {
    let mut plain = stream_4_9(
        r#"{"counter":1,"stateVersion":2,"timestamp":3}"#,
        &[
            r#"t 8 8 6 SINGLE_TAG {"+message.type":"FIFO"}"#,
            "u 8 8 6 SINGLE_TAG ",
        ],
        "[]",
    );
    plain.extend_from_slice(&1i32.to_be_bytes());
    field(
        &mut plain,
        br#"{"bname":"broker-a","epoch":0,"topic":"t","totalQueues":8}"#,
    );
    let body = decode_compressed(&zlib(&plain)).expect("a 5.x body");
    let wrapper = &body.topic_config_serialize_wrapper;
    assert_eq!(wrapper.data_version.state_version, 2);
    assert_eq!(
        wrapper.topic_config_table["t"].attributes,
        BTreeMap::from([("+message.type".to_owned(), "FIFO".to_owned())])
    );
    assert!(wrapper.topic_config_table["u"].attributes.is_empty());
    assert_eq!(wrapper.topic_queue_mapping_info_map["t"]["totalQueues"], 8);
}

#[test]
fn topic_lines_as_java_writes_and_refuses_them() {
    let mut config = topic("orders", 4);
    assert_eq!(encode_topic_line(&config), "orders 4 4 6 SINGLE_TAG");
    config
        .attributes
        .insert("+message.type".into(), "NORMAL".into());
    let line = encode_topic_line(&config);
    assert_eq!(
        line,
        r#"orders 4 4 6 SINGLE_TAG {"+message.type":"NORMAL"}"#
    );
    assert_eq!(decode_topic_line(&line), Ok(config));
    // Attributes Java could not parse are dropped, as Java drops them.
    let lenient = decode_topic_line("t 1 1 6 SINGLE_TAG {broken").expect("read");
    assert!(lenient.attributes.is_empty());
    for bad in [
        "",
        "t 1 1 6",
        "t x 1 6 SINGLE_TAG",
        "t 1 1 6 ANY_TAG",
        "t 99999999999 1 6 SINGLE_TAG",
        " 1 1 6 SINGLE_TAG",
    ] {
        assert!(
            matches!(
                decode_topic_line(bad),
                Err(RegisterBodyError::BadTopicLine(_))
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn a_body_inflating_past_the_bound_is_refused_not_held() {
    let bomb = zlib(&vec![0u8; limits::REGISTER_BODY_INFLATED_MAX + 1]);
    // Far less than a frame holds.
    assert!(bomb.len() < 256 * 1024, "a bomb is small: {}", bomb.len());
    assert_eq!(decode_compressed(&bomb), Err(RegisterBodyError::TooLarge));
    assert!(RegisterBodyError::TooLarge
        .to_string()
        .contains("enableSplitRegistration"));
}

#[test]
fn lengths_and_counts_are_checked_before_they_are_trusted() {
    let mut huge_count = Vec::new();
    field(&mut huge_count, b"{}");
    huge_count.extend_from_slice(&i32::MAX.to_be_bytes());
    assert_eq!(
        decode_compressed(&zlib(&huge_count)),
        Err(RegisterBodyError::Truncated {
            field: "topic line"
        })
    );
    let mut negative = Vec::new();
    negative.extend_from_slice(&(-5i32).to_be_bytes());
    assert_eq!(
        decode_compressed(&zlib(&negative)),
        Err(RegisterBodyError::BadLength {
            field: "data version",
            length: -5
        })
    );
    let mut past_end = Vec::new();
    past_end.extend_from_slice(&1000i32.to_be_bytes());
    past_end.extend_from_slice(b"{}");
    assert!(matches!(
        decode_compressed(&zlib(&past_end)),
        Err(RegisterBodyError::BadLength { length: 1000, .. })
    ));
    assert!(matches!(
        decode_compressed(&zlib(&[0, 0])),
        Err(RegisterBodyError::Truncated { .. })
    ));
    assert!(matches!(
        decode_compressed(b"{\"filterServerList\":[]}"),
        Err(RegisterBodyError::Inflate(_))
    ));
    // A damaged checksum is a damaged stream.
    let mut good = encode_compressed(&RegisterBrokerBody::default(), 6);
    let last = good.len() - 1;
    good[last] ^= 0xFF;
    assert!(matches!(
        decode_compressed(&good),
        Err(RegisterBodyError::Inflate(_))
    ));
}

#[test]
fn split_keeps_every_topic_once_in_order_under_one_data_version() {
    let all = wrapper((0..25).map(|i| topic(&format!("t{i:03}"), 4)));
    let form = RegisterForm {
        compressed: false,
        topics_per_part: Some(10),
    };
    let parts = split(all.clone(), form);
    let sizes: Vec<usize> = parts.iter().map(|p| p.topic_config_table.len()).collect();
    assert_eq!(sizes, [10, 10, 5]);
    let mut joined = BTreeMap::new();
    for part in &parts {
        assert_eq!(part.data_version, all.data_version);
        joined.extend(part.topic_config_table.clone());
    }
    assert_eq!(joined, all.topic_config_table);
    assert_eq!(
        split(
            all.clone(),
            RegisterForm {
                topics_per_part: None,
                ..form
            }
        )
        .len(),
        1
    );
    let empty = split(wrapper([]), form);
    assert_eq!(empty.len(), 1, "an empty table still registers");
    assert!(empty[0].topic_config_table.is_empty());
}

/// The guarantee of limits::REGISTER_PART_BYTES_MAX: the largest table the broker accepts,
/// every name as long as allowed, registers in parts that each stay under it, in both forms.
#[test]
fn the_largest_topic_table_registers_in_parts_that_fit() {
    let name = |i: usize| format!("{i:06}{}", "x".repeat(limits::TOPIC_NAME_MAX - 6));
    let mut big = wrapper((0..limits::BROKER_TOPICS_MAX).map(|i| {
        let mut config = topic(&name(i), 1024);
        config
            .attributes
            .insert("+message.type".into(), "NORMAL".into());
        config
    }));
    big.data_version.counter = i64::MAX;
    let parts = split(
        big,
        RegisterForm {
            compressed: false,
            topics_per_part: None,
        },
    );
    assert!(parts.len() > 1, "a table this large is split");
    let mut topics = 0;
    for part in parts {
        topics += part.topic_config_table.len();
        let body = RegisterBrokerBody {
            filter_server_list: Vec::new(),
            topic_config_serialize_wrapper: part,
        };
        let json = body::encode(&body).len();
        assert!(json <= limits::REGISTER_PART_BYTES_MAX, "{json} bytes");
        assert!(compressed_plain_len(&body) <= json);
    }
    assert_eq!(topics, limits::BROKER_TOPICS_MAX);
}

fn arb_topic() -> impl Strategy<Value = TopicConfig> {
    (
        "[A-Za-z0-9_%|-]{1,127}",
        any::<i32>(),
        any::<i32>(),
        0..8i32,
        prop_oneof![Just("SINGLE_TAG"), Just("MULTI_TAG")],
        proptest::collection::btree_map("\\PC{0,8}", "\\PC{0,8}", 0..3),
    )
        .prop_map(
            |(name, read, write, perm, filter, attributes)| TopicConfig {
                attributes,
                perm,
                read_queue_nums: read,
                topic_filter_type: filter.into(),
                topic_name: name,
                write_queue_nums: write,
                ..TopicConfig::default()
            },
        )
}

proptest! {
    #[test]
    fn compressed_bodies_round_trip(
        topics in proptest::collection::vec(arb_topic(), 0..40),
        counter in any::<i64>(),
        state_version in any::<i64>(),
        timestamp in any::<i64>(),
        filters in proptest::collection::vec("[0-9.:]{1,21}", 0..3),
        mapped in proptest::collection::btree_set("[a-z]{1,8}", 0..3),
        level in 0u32..10,
    ) {
        let mut table = wrapper(topics);
        table.data_version = DataVersion { counter, state_version, timestamp };
        table.topic_queue_mapping_info_map = mapped
            .into_iter()
            .map(|t| (t.clone(), serde_json::json!({ "topic": t, "totalQueues": 4 })))
            .collect();
        let body = RegisterBrokerBody {
            filter_server_list: filters,
            topic_config_serialize_wrapper: table,
        };
        let compressed = encode_compressed(&body, level);
        prop_assert_eq!(decode_compressed(&compressed), Ok(body));
    }

    #[test]
    fn split_parts_hold_at_most_the_asked_topics(
        count in 0usize..200,
        per_part in 1usize..50,
    ) {
        let all = wrapper((0..count).map(|i| topic(&format!("t{i}"), 1)));
        let parts = split(all.clone(), RegisterForm { compressed: true, topics_per_part: Some(per_part) });
        prop_assert_eq!(parts.len(), count.div_ceil(per_part).max(1));
        let mut joined = BTreeMap::new();
        for part in parts {
            prop_assert!(part.topic_config_table.len() <= per_part);
            joined.extend(part.topic_config_table);
        }
        prop_assert_eq!(joined, all.topic_config_table);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_compressed(&data);
        let _ = decode_compressed(&zlib(&data));
    }
}

/// Prints the size of a 20 000-topic registration in both forms and the deflate time per
/// level (`cargo test --lib registration_figures -- --ignored --nocapture`); asserts nothing
/// about time.
#[test]
#[ignore = "figures, not a check"]
fn registration_figures() {
    for name_len in [24, 100] {
        let all = wrapper((0..20_000).map(|i| {
            let name = format!("{i:05}{}", "n".repeat(name_len - 5));
            topic(&name, 8)
        }));
        let body = RegisterBrokerBody {
            filter_server_list: Vec::new(),
            topic_config_serialize_wrapper: all,
        };
        let json = body::encode(&body).len();
        let plain = compressed_plain_len(&body);
        println!("20000 topics, {name_len}-char names: JSON {json} B, zlib form before deflate {plain} B");
        for level in [1, 6, 9] {
            let start = std::time::Instant::now();
            let compressed = encode_compressed(&body, level);
            println!(
                "  level {level}: {} B in {:?}",
                compressed.len(),
                start.elapsed()
            );
        }
    }
}
