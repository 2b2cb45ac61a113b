//! GET_TOPIC_CONFIG (351) and QUERY_TOPIC_CONSUME_BY_WHO (300), what mqadmin 5's
//! topicStatus and queryMsgById's message track ask each broker: a shard's config of a topic
//! (the queues it hosts), and the groups consuming a topic there.

mod common;

use common::{
    code_of, create_group, create_topic, heart_beat, json_body, request, Broker, SUCCESS,
    TOPIC_NOT_EXIST,
};
use serde_json::json;

const GET_TOPIC_CONFIG: i32 = 351;
const QUERY_TOPIC_CONSUME_BY_WHO: i32 = 300;
const UPDATE_CONSUMER_OFFSET: i32 = 15;

#[test]
fn a_shard_names_its_queues_of_a_topic_and_who_consumes_it() {
    let broker = Broker::start(2, &[]);
    let (mut conn0, mut conn1) = (broker.connect(0), broker.connect(1));
    assert_eq!(code_of(&create_topic(&mut conn0, "LT", 4)), SUCCESS);
    for conn in [&mut conn0, &mut conn1] {
        let (header, body) = request(conn, GET_TOPIC_CONFIG, json!({"topic": "LT", "lo": "true"}));
        assert_eq!(code_of(&header), SUCCESS, "{header}");
        let config = json_body(&body);
        assert_eq!(config["topicName"], "LT");
        assert_eq!(
            (
                config["readQueueNums"].as_i64(),
                config["writeQueueNums"].as_i64()
            ),
            (Some(2), Some(2)),
            "{config}"
        );
    }
    let (header, _) = request(&mut conn0, GET_TOPIC_CONFIG, json!({"topic": "nobody"}));
    assert_eq!(code_of(&header), TOPIC_NOT_EXIST, "{header}");

    // One group subscribed by a live consumer, one with only an offset.
    let hb = r#"{"clientID":"127.0.0.1@who","consumerDataSet":[{"groupName":"live","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","subscriptionDataSet":[{"topic":"LT","subString":"*"}]}],"producerDataSet":[]}"#;
    assert_eq!(code_of(&heart_beat(&mut conn0, hb)), SUCCESS);
    create_group(&mut conn0, "past");
    let fields =
        json!({"consumerGroup": "past", "topic": "LT", "queueId": "0", "commitOffset": "0"});
    assert_eq!(
        code_of(&request(&mut conn0, UPDATE_CONSUMER_OFFSET, fields).0),
        SUCCESS
    );
    let (header, body) = request(
        &mut conn0,
        QUERY_TOPIC_CONSUME_BY_WHO,
        json!({"topic": "LT"}),
    );
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    assert_eq!(json_body(&body)["groupList"], json!(["live", "past"]));
    let (_, body) = request(
        &mut conn1,
        QUERY_TOPIC_CONSUME_BY_WHO,
        json!({"topic": "LT"}),
    );
    assert_eq!(
        json_body(&body)["groupList"],
        json!([]),
        "shard 1 knows neither"
    );
}
