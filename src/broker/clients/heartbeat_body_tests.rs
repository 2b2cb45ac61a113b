//! Golden bodies in the shapes the clients of docs/clients.md send, written from the spec.

use super::*;
use crate::wire::body::{decode, encode};

fn heartbeat(text: &str) -> HeartbeatData {
    decode(text.as_bytes(), "HEART_BEAT body").expect("parses")
}

/// docs/protocol.md §2.3.1's example: fastjson output of a Java push consumer.
const JAVA_BODY: &str = r#"{"clientID":"10.0.0.5@4242#81234567890","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"cg1","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598919,2598920],"expressionType":"TAG","subString":"TagA || TagB","subVersion":1700000000000,"tagsSet":["TagA","TagB"],"topic":"T1"},{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1700000000001,"tagsSet":[],"topic":"%RETRY%cg1"}],"unitMode":false}],"heartbeatFingerprint":0,"producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"}],"withoutSub":false}"#;

#[test]
fn java_body_reads_every_field() {
    let data = heartbeat(JAVA_BODY);
    assert_eq!(data.client_id, "10.0.0.5@4242#81234567890");
    assert_eq!(
        data.producer_data_set[0].group_name,
        "CLIENT_INNER_PRODUCER"
    );
    let consumer = &data.consumer_data_set[0];
    assert_eq!(consumer.group_name, "cg1");
    assert_eq!(consumer.consume_type, ConsumeType::Passively);
    assert_eq!(consumer.message_model, MessageModel::Clustering);
    assert_eq!(consumer.consume_from_where, ConsumeFromWhere::LastOffset);
    let sub = &consumer.subscription_data_set[0];
    assert_eq!(sub.tags_set, ["TagA", "TagB"]);
    assert_eq!(sub.code_set, [2598919, 2598920]);
    assert_eq!(sub.sub_version, 1_700_000_000_000);
    assert_eq!(sub.expression_type, ExpressionType::Tag);
    assert!(!data.without_sub);
}

#[test]
fn rust_client_body_with_lower_case_names_and_extra_keys() {
    let body = r#"{"clientID":"127.0.0.1@7#1","producerDataSet":[],"consumerDataSet":[{"groupName":"g","consumeType":"consume_passively","messageModel":"Clustering","consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","subscriptionDataSet":[{"classFilterMode":false,"topic":"T","subString":"*","tagsSet":[],"codeSet":[],"subVersion":1,"expressionType":"TAG","filterClassSource":null}],"unitMode":false}],"heartbeatFingerprint":0}"#;
    let consumer = &heartbeat(body).consumer_data_set[0];
    assert_eq!(consumer.consume_type, ConsumeType::Passively);
    assert_eq!(consumer.consume_from_where, ConsumeFromWhere::FirstOffset);
    assert_eq!(consumer.subscription_data_set[0].sub_string, "*");
}

#[test]
fn ali_ons_body_without_expression_type() {
    let body = r#"{"clientID":"192.168.1.2@31#0","producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"}],"consumerDataSet":[{"groupName":"GID_x","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","subscriptionDataSet":[{"topic":"T","subString":"*","classFilterMode":false,"tagsSet":[],"codeSet":[],"subVersion":1700000000123}],"unitMode":false}]}"#;
    let sub = &heartbeat(body).consumer_data_set[0].subscription_data_set[0];
    assert_eq!(sub.expression_type, ExpressionType::Tag);
    assert_eq!(sub.sub_version, 1_700_000_000_123);
}

#[test]
fn cpp_body_with_ordinals_and_strings() {
    let body = r#"{"clientID":"10.1.1.1@9#cpp","consumerDataSet":[{"consumeFromWhere":4,"consumeType":1,"groupName":"g","messageModel":1,"subscriptionDataSet":[{"classFilterMode":"false","codeSet":["2598919"],"expressionType":"TAG","subString":"TagA","subVersion":"1700000000999","tagsSet":["TagA"],"topic":"T"}],"unitMode":"0"}],"producerDataSet":[{"groupName":"pg"}]}"#;
    let consumer = &heartbeat(body).consumer_data_set[0];
    assert_eq!(consumer.consume_type, ConsumeType::Passively);
    assert_eq!(consumer.message_model, MessageModel::Clustering);
    assert_eq!(consumer.consume_from_where, ConsumeFromWhere::FirstOffset);
    assert!(!consumer.unit_mode);
    let sub = &consumer.subscription_data_set[0];
    assert_eq!(sub.sub_version, 1_700_000_000_999);
    assert_eq!(sub.code_set, [2598919]);
    assert!(!sub.class_filter_mode);
}

#[test]
fn missing_and_null_fields_read_as_java_defaults() {
    let data = heartbeat(
        r#"{"clientID":"c","consumerDataSet":[{"groupName":"g","consumeType":null,"subscriptionDataSet":[{"topic":"T","tagsSet":null,"subVersion":null}],"unitMode":1}]}"#,
    );
    assert!(data.producer_data_set.is_empty());
    let consumer = &data.consumer_data_set[0];
    assert_eq!(consumer.consume_type, ConsumeType::Passively);
    assert_eq!(consumer.message_model, MessageModel::Clustering);
    assert!(consumer.unit_mode);
    let sub = &consumer.subscription_data_set[0];
    assert_eq!((sub.sub_version, sub.sub_string.as_str()), (0, ""));
    assert!(sub.tags_set.is_empty() && sub.code_set.is_empty());
    assert_eq!(heartbeat("{}"), HeartbeatData::default());
}

#[test]
fn sql92_and_unknown_expression_types_are_kept() {
    let sub: SubscriptionData =
        decode(br#"{"expressionType":"sql92","subString":"a > 1"}"#, "sub").expect("parses");
    assert_eq!(sub.expression_type, ExpressionType::Sql92);
    let sub: SubscriptionData = decode(br#"{"expressionType":"BLOOM"}"#, "sub").expect("parses");
    assert_eq!(sub.expression_type.name(), "BLOOM");
}

#[test]
fn enum_values_out_of_range_are_errors() {
    for body in [
        r#"{"consumerDataSet":[{"consumeType":7}]}"#,
        r#"{"consumerDataSet":[{"messageModel":"SOMETIMES"}]}"#,
        r#"{"consumerDataSet":[{"consumeFromWhere":true}]}"#,
        r#"{"consumerDataSet":[{"subscriptionDataSet":[{"subVersion":"soon"}]}]}"#,
    ] {
        let err = decode::<HeartbeatData>(body.as_bytes(), "HEART_BEAT body").expect_err("refused");
        assert!(err.to_string().contains("HEART_BEAT body"), "{err}");
    }
}

#[test]
fn responses_are_compact_sorted_fastjson_shapes() {
    let list = ConsumerListByGroup {
        consumer_id_list: vec!["a@1".into(), "b@2".into()],
    };
    assert_eq!(encode(&list), br#"{"consumerIdList":["a@1","b@2"]}"#);

    let data = heartbeat(JAVA_BODY);
    let sub = data.consumer_data_set[0].subscription_data_set[0].clone();
    let connection = ConsumerConnection {
        connection_set: vec![Connection {
            client_addr: "10.0.0.5:53412".into(),
            client_id: "10.0.0.5@4242#1".into(),
            language: "JAVA".into(),
            version: 479,
        }],
        subscription_table: [("T1".to_owned(), sub)].into_iter().collect(),
        ..ConsumerConnection::default()
    };
    let text = String::from_utf8(encode(&connection)).expect("utf-8");
    assert_eq!(
        text,
        r#"{"connectionSet":[{"clientAddr":"10.0.0.5:53412","clientId":"10.0.0.5@4242#1","language":"JAVA","version":479}],"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","subscriptionTable":{"T1":{"classFilterMode":false,"codeSet":[2598919,2598920],"expressionType":"TAG","subString":"TagA || TagB","subVersion":1700000000000,"tagsSet":["TagA","TagB"],"topic":"T1"}}}"#
    );
    let back: ConsumerConnection = decode(text.as_bytes(), "connection").expect("parses");
    assert_eq!(back, connection);
}

#[test]
fn check_client_body_reads_the_subscription() {
    let body = br#"{"clientId":"c","group":"g","subscriptionData":{"topic":"T","subString":"a = 1","expressionType":"SQL92"}}"#;
    let check: CheckClientRequestBody = decode(body, "CHECK_CLIENT_CONFIG body").expect("parses");
    let sub = check.subscription_data.expect("present");
    assert_eq!(sub.expression_type, ExpressionType::Sql92);
    assert_eq!(check.group, "g");
}

#[test]
fn subscriptions_split_tags_and_compute_java_codes() {
    let data: SubscriptionData = decode(
        br#"{"topic":"T","subString":"ignored","tagsSet":[" TagB ","TagA","TagB",""],"codeSet":[1]}"#,
        "sub",
    )
    .expect("parses");
    let sub = Subscription::from_data(&data);
    assert_eq!(sub.tags, ["TagB", "TagA"]);
    assert_eq!(sub.codes, [2598919, 2598920], "recomputed, sorted");
    assert!(!sub.is_all() && sub.matches_tag_code(2598920) && !sub.matches_tag_code(1));
    assert_eq!(Subscription::from_data(&sub.to_data()), sub);

    let sql: SubscriptionData = decode(
        br#"{"topic":"T","subString":"a > 1","expressionType":"SQL92"}"#,
        "sub",
    )
    .expect("parses");
    let sub = Subscription::from_data(&sql);
    assert!(sub.tags.is_empty() && !sub.is_all() && !sub.matches_tag_code(0));
    let empty = Subscription::from_data(&SubscriptionData::default());
    assert!(
        empty.is_all(),
        "an empty TAG expression means every message"
    );
}
