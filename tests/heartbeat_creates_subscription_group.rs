//! A consumer's HEART_BEAT creates its subscription group with Java's defaults, as
//! `autoCreateSubscriptionGroup` (on by default) asks; the heartbeat is answered at once and
//! the group appears on every shard soon after.

mod common;

use common::{code_of, heart_beat, json_body, request, wait_for, Broker, PATIENCE};

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
