//! A consumer group's first HEART_BEAT gives it its `%RETRY%` topic (one read-write queue
//! in all, on one shard),
//! routed by the NameServer, as a Java broker does: the group's retry subscription then has
//! a route before anything is retried.

mod common;

use common::{code_of, heart_beat, wait_route, Broker};

#[test]
fn a_consumer_heartbeat_creates_and_routes_its_retry_topic() {
    let broker = Broker::start(2, &[]);
    let mut conn = broker.connect(1);
    let body = r#"{"clientID":"127.0.0.1@1","consumerDataSet":[{"groupName":"hb_group","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","subscriptionDataSet":[{"topic":"orders","subString":"*"},{"topic":"%RETRY%hb_group","subString":"*"}]}],"producerDataSet":[]}"#;
    let response = heart_beat(&mut conn, body);
    assert_eq!(code_of(&response), 0, "{response}");

    // One queue in all, on one shard's broker, whichever shard the heartbeat reached.
    let route = wait_route(broker.namesrv_addr(), "%RETRY%hb_group", 1);
    let queues = route["queueDatas"].as_array().expect("queue datas");
    assert_eq!(queues.len(), 1, "{route}");
    assert_eq!(
        (&queues[0]["readQueueNums"], &queues[0]["perm"]),
        (&1.into(), &6.into())
    );
}
