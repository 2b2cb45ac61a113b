//! UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200) creates a group that GET_ALL_SUBSCRIPTIONGROUP_CONFIG
//! (201) lists on every shard, that survives a restart on the same store, and that
//! DELETE_SUBSCRIPTIONGROUP (207) removes; malformed bodies get errors on a usable connection.

mod common;

use common::{code_of, json_body, request, request_with_body, Broker};

const UPDATE_GROUP: i32 = 200;
const ALL_GROUPS: i32 = 201;
const DELETE_GROUP: i32 = 207;

fn all_groups(conn: &mut std::net::TcpStream) -> serde_json::Value {
    let (header, body) = request(conn, ALL_GROUPS, serde_json::json!({}));
    assert_eq!(code_of(&header), 0, "{header}");
    json_body(&body)
}

#[test]
fn a_created_group_is_listed_kept_and_deleted() {
    let broker = Broker::start(2, &[]);
    let mut conn = broker.connect(0);
    let body = br#"{"groupName":"billing","retryMaxTimes":"3","consumeEnable":true}"#;
    let (header, _) = request_with_body(&mut conn, UPDATE_GROUP, serde_json::json!({}), body);
    assert_eq!(code_of(&header), 0, "{header}");
    let mut other = broker.connect(1);
    let listed = all_groups(&mut other);
    let billing = &listed["subscriptionGroupTable"]["billing"];
    assert_eq!(
        (&billing["retryMaxTimes"], &billing["retryQueueNums"]),
        (&3.into(), &1.into())
    );
    assert!(listed["dataVersion"]["counter"].as_i64() > Some(0));
    drop((conn, other));
    let (store, dir) = broker.store_dir();
    assert_eq!(broker.stop(), Some(0));
    assert!(store.join("config/subscriptionGroup.json").exists());

    let broker = Broker::start_in(2, &[], store, dir);
    let mut conn = broker.connect(1);
    let listed = all_groups(&mut conn);
    assert_eq!(
        listed["subscriptionGroupTable"]["billing"]["retryMaxTimes"],
        3
    );
    assert!(listed["subscriptionGroupTable"]["TOOLS_CONSUMER"].is_object());

    for bad in [
        &b""[..],
        b"{",
        br#"{"groupName":"no spaces"}"#,
        br#"{"retryMaxTimes":1}"#,
    ] {
        let (header, _) = request_with_body(&mut conn, UPDATE_GROUP, serde_json::json!({}), bad);
        assert_ne!(code_of(&header), 0, "{header}");
        assert!(
            header["remark"].as_str().is_some_and(|r| !r.is_empty()),
            "{header}"
        );
    }
    let fields = serde_json::json!({"groupName": "billing", "cleanOffset": "true"});
    let (header, _) = request(&mut conn, DELETE_GROUP, fields);
    assert_eq!(code_of(&header), 0, "{header}");
    assert!(all_groups(&mut broker.connect(0))["subscriptionGroupTable"]["billing"].is_null());
    let (header, _) = request(&mut conn, DELETE_GROUP, serde_json::json!({}));
    assert_eq!(code_of(&header), 1, "a missing groupName: {header}");
}
