//! The Prometheus endpoint (`metricsExporterType=PROM`) scraped over HTTP while messages are
//! sent and pulled on a two-shard broker: the counters move by exactly the messages sent and
//! pulled, per shard (`node_id`), under RocketMQ 5's names and labels; the consumer lag
//! matches GET_CONSUME_STATS; OpenMetrics when the scraper asks for it.

mod common;

use common::{
    code_of, create_topic, free_port, heart_beat, http_get, int, pull, request, samples, send_v2,
    stats_request, value, wait_max_offset, Broker, SUCCESS,
};
use serde_json::json;

const GET_CONSUME_STATS: i32 = 208;
const UPDATE_CONSUMER_OFFSET: i32 = 15;

#[test]
fn counters_move_by_the_messages_sent_and_pulled() {
    let port = free_port();
    let port_text = port.to_string();
    let broker = Broker::start(
        2,
        &[
            "-o",
            "metricsExporterType=PROM",
            "-o",
            "metricsPromExporterHost=127.0.0.1",
            "-o",
            &format!("metricsPromExporterPort={port_text}"),
            "-o",
            "metricsLabel=instance_id:i1",
        ],
    );
    let (mut conn0, mut conn1) = (broker.connect(0), broker.connect(1));
    assert_eq!(code_of(&create_topic(&mut conn0, "PT", 2)), SUCCESS);
    for i in 0..7 {
        assert_eq!(
            code_of(&send_v2(
                &mut conn0,
                "PT",
                0,
                format!("a{i}").as_bytes(),
                ""
            )),
            SUCCESS
        );
    }
    for i in 0..3 {
        assert_eq!(
            code_of(&send_v2(
                &mut conn1,
                "PT",
                0,
                format!("b{i}").as_bytes(),
                ""
            )),
            SUCCESS
        );
    }
    wait_max_offset(&mut conn0, "PT", 0, 7);
    let (_, body) = pull(&mut conn0, "PT", 0, 0);
    assert!(!body.is_empty());

    let (code, head, text) = http_get(port, "/metrics", "*/*");
    assert_eq!(code, 200, "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    let scrape = samples(&text);
    let shard = |k: &'static str| {
        [
            ("topic", "PT"),
            ("node_id", k),
            ("cluster", "DefaultCluster"),
            ("node_type", "broker"),
            ("instance_id", "i1"),
        ]
    };
    assert_eq!(
        value(&scrape, "rocketmq_messages_in_total", &shard("broker-a-0")),
        Some(7.0)
    );
    assert_eq!(
        value(
            &scrape,
            "rocketmq_messages_in_total",
            &[
                ("topic", "PT"),
                ("node_id", "broker-a-1"),
                ("message_type", "normal")
            ]
        ),
        Some(3.0)
    );
    assert_eq!(
        value(&scrape, "rocketmq_message_size_count", &shard("broker-a-0")),
        Some(7.0)
    );
    let bytes = value(
        &scrape,
        "rocketmq_throughput_in_total",
        &shard("broker-a-0"),
    )
    .expect("bytes in");
    assert_eq!(
        value(&scrape, "rocketmq_message_size_sum", &shard("broker-a-0")),
        Some(bytes)
    );
    assert_eq!(
        value(
            &scrape,
            "rocketmq_message_size_bucket",
            &[("node_id", "broker-a-0"), ("topic", "PT"), ("le", "1024")]
        ),
        Some(7.0)
    );
    assert_eq!(
        value(
            &scrape,
            "rocketmq_messages_out_total",
            &[
                ("topic", "PT"),
                ("consumer_group", "cg"),
                ("node_id", "broker-a-0")
            ]
        ),
        Some(7.0)
    );
    let sends = value(
        &scrape,
        "rocketmq_rpc_latency_milliseconds_count",
        &[
            ("request_code", "send_message_v2"),
            ("response_code", "success"),
            ("node_id", "broker-a-0"),
        ],
    );
    assert_eq!(sends, Some(7.0));
    assert!(value(
        &scrape,
        "rocketmq_topic_number",
        &[("node_id", "broker-a-1")]
    )
    .is_some_and(|n| n >= 1.0));
    assert_eq!(
        value(
            &scrape,
            "rocketmq_broker_permission",
            &[("node_id", "broker-a-0")]
        ),
        Some(6.0)
    );

    // Five more, and the counter moves by five.
    for i in 0..5 {
        assert_eq!(
            code_of(&send_v2(
                &mut conn0,
                "PT",
                0,
                format!("c{i}").as_bytes(),
                ""
            )),
            SUCCESS
        );
    }
    let scrape = samples(&http_get(port, "/metrics", "*/*").2);
    assert_eq!(
        value(&scrape, "rocketmq_messages_in_total", &shard("broker-a-0")),
        Some(12.0)
    );

    // A consumer of group lag on PT that committed 4 of shard 0's 12: its lag is what
    // GET_CONSUME_STATS says.
    wait_max_offset(&mut conn0, "PT", 0, 12);
    let hb = r#"{"clientID":"127.0.0.1@metrics","consumerDataSet":[{"groupName":"lag","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","subscriptionDataSet":[{"topic":"PT","subString":"*"}]}],"producerDataSet":[]}"#;
    assert_eq!(code_of(&heart_beat(&mut conn0, hb)), SUCCESS);
    let fields =
        json!({"consumerGroup": "lag", "topic": "PT", "queueId": "0", "commitOffset": "4"});
    assert_eq!(
        code_of(&request(&mut conn0, UPDATE_CONSUMER_OFFSET, fields).0),
        SUCCESS
    );
    let (_, table) = stats_request(
        &mut conn0,
        GET_CONSUME_STATS,
        json!({"consumerGroup": "lag", "topic": "PT"}),
    );
    let expected: i64 = table
        .iter()
        .map(|(_, o)| int(o, "brokerOffset") - int(o, "consumerOffset"))
        .sum();
    assert_eq!(expected, 8);
    let scrape = samples(&http_get(port, "/metrics", "*/*").2);
    let lag = [
        ("consumer_group", "lag"),
        ("topic", "PT"),
        ("node_id", "broker-a-0"),
    ];
    assert_eq!(
        value(&scrape, "rocketmq_consumer_lag_messages", &lag),
        Some(expected as f64)
    );
    assert!(
        value(&scrape, "rocketmq_consumer_lag_latency_milliseconds", &lag)
            .is_some_and(|ms| ms >= 0.0)
    );
    assert_eq!(
        value(
            &scrape,
            "rocketmq_consumer_connections",
            &[
                ("consumer_group", "lag"),
                ("node_id", "broker-a-0"),
                ("consume_mode", "push"),
                ("version", "v5_3_3")
            ]
        ),
        Some(1.0)
    );

    let (code, head, text) = http_get(
        port,
        "/metrics",
        "application/openmetrics-text;version=1.0.0,text/plain;q=0.5",
    );
    assert_eq!(code, 200);
    assert!(head.contains("application/openmetrics-text"), "{head}");
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert_eq!(http_get(port, "/-/healthy", "*/*").0, 200);
    assert_eq!(http_get(port, "/other", "*/*").0, 404);
    drop(conn1);
}

/// VIEW_BROKER_STATS_DATA (315), mqadmin statsAll's request: an item's figures over the last
/// minute, hour and day, or Java's remark for an item the broker has none of. (The figures
/// themselves move with samples 10 s apart; the unit tests check their arithmetic.)
#[test]
fn stats_items_answer_as_javas() {
    const VIEW_BROKER_STATS_DATA: i32 = 315;
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    let fields = json!({"statsName": "BROKER_PUT_NUMS", "statsKey": "DefaultCluster"});
    let (header, body) = request(&mut conn, VIEW_BROKER_STATS_DATA, fields);
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    let data: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    for window in ["statsMinute", "statsHour", "statsDay"] {
        for figure in ["sum", "tps", "avgpt"] {
            assert!(
                data[window][figure].is_number(),
                "{window}.{figure} in {data}"
            );
        }
    }
    let fields = json!({"statsName": "TOPIC_PUT_NUMS", "statsKey": "nobody"});
    let (header, _) = request(&mut conn, VIEW_BROKER_STATS_DATA, fields);
    assert_eq!(code_of(&header), 1, "{header}");
    assert_eq!(
        header["remark"],
        "The stats <TOPIC_PUT_NUMS> <nobody> not exist"
    );
}
