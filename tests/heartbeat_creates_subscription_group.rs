//! A consumer's HEART_BEAT creates its subscription group with Java's defaults, as
//! `autoCreateSubscriptionGroup` (on by default) asks; the heartbeat is answered at once and
//! the group appears on every shard soon after. A commit the consumer sends meanwhile is kept.

mod common;

use common::{
    code_of, create_topic, heart_beat, json_body, request, wait_for, Broker, PATIENCE,
    UPDATE_CONSUMER_OFFSET,
};

#[test]
fn a_heartbeat_creates_its_group() {
    let broker = Broker::start(2, &[]);
    let mut conn = broker.connect(1);
    let body = r#"{"clientID":"127.0.0.1@1","consumerDataSet":[{"groupName":"hb_sub","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","subscriptionDataSet":[{"topic":"orders","subString":"*"}]}],"producerDataSet":[]}"#;
    let response = heart_beat(&mut conn, body);
    assert_eq!(code_of(&response), 0, "{response}");
    let mut other = broker.connect(0);
    let group = wait_for(PATIENCE, "the group on shard 0", || {
        let (header, body) = request(&mut other, 201, serde_json::json!({}));
        assert_eq!(code_of(&header), 0, "{header}");
        let group = json_body(&body)["subscriptionGroupTable"]["hb_sub"].clone();
        (!group.is_null()).then_some(group)
    });
    assert_eq!(
        (&group["retryMaxTimes"], &group["consumeEnable"]),
        (&16.into(), &true.into())
    );
}

#[test]
fn a_commit_right_after_the_first_heartbeat_is_kept() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    assert_eq!(code_of(&create_topic(&mut conn, "orders", 1)), 0);
    // Each group's commit follows its heartbeat at once, while the group's creation is still
    // on its way through the owner shard (a consumer that consumes a few messages and stops
    // does this).
    for n in 0..10 {
        let group = format!("hb_commit_{n}");
        let body = format!(
            r#"{{"clientID":"127.0.0.1@1","consumerDataSet":[{{"groupName":"{group}","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","subscriptionDataSet":[{{"topic":"orders","subString":"*"}}]}}],"producerDataSet":[]}}"#
        );
        assert_eq!(code_of(&heart_beat(&mut conn, &body)), 0);
        let commit = serde_json::json!({
            "consumerGroup": group, "topic": "orders", "queueId": 0, "commitOffset": 7,
        });
        let (header, _) = request(&mut conn, UPDATE_CONSUMER_OFFSET, commit);
        assert_eq!(code_of(&header), 0, "{group}: {header}");
        let query = serde_json::json!({
            "consumerGroup": group, "topic": "orders", "queueId": 0,
            "setZeroIfNotFound": "false",
        });
        let (header, _) = request(&mut conn, 14, query);
        assert_eq!(header["extFields"]["offset"], "7", "{group}: {header}");
    }
}
