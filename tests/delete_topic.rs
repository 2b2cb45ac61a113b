//! DELETE_TOPIC_IN_BROKER removes the topic from every shard and, through the shards'
//! re-registration, from the embedded NameServer's routes.

mod common;

use common::{
    code_of, create_topic, json_body, request, wait_route, Broker, GET_ALL_TOPIC_CONFIG,
    GET_ROUTEINFO_BY_TOPIC,
};

const DELETE_TOPIC_IN_BROKER: i32 = 215;

#[test]
fn deleted_topic_leaves_every_shard_and_the_routes() {
    let broker = Broker::start(2, &[]);
    let mut conn = broker.connect(0);
    assert_eq!(code_of(&create_topic(&mut conn, "doomed", 2)), 0);
    wait_route(broker.namesrv_addr(), "doomed", 2);

    let (header, _) = request(
        &mut conn,
        DELETE_TOPIC_IN_BROKER,
        serde_json::json!({"topic": "doomed"}),
    );
    assert_eq!(code_of(&header), 0, "{header}");

    let mut ns = common::connect(broker.namesrv_addr());
    let (header, _) = request(
        &mut ns,
        GET_ROUTEINFO_BY_TOPIC,
        serde_json::json!({"topic": "doomed"}),
    );
    assert_eq!(code_of(&header), 17, "no route any more: {header}");
    let mut other = broker.connect(1);
    let (_, body) = request(&mut other, GET_ALL_TOPIC_CONFIG, serde_json::json!({}));
    assert!(json_body(&body)["topicConfigTable"].get("doomed").is_none());

    let (header, _) = request(
        &mut conn,
        DELETE_TOPIC_IN_BROKER,
        serde_json::json!({"topic": "TBW102"}),
    );
    assert_eq!(code_of(&header), 29, "system topics stay: {header}");
}
