//! With `autoCreateSubscriptionGroup=false` a pull from an unknown group is answered
//! SUBSCRIPTION_GROUP_NOT_EXIST (26); once an admin creates the group the pull passes that
//! check, and a group with `consumeEnable=false` gets NO_PERMISSION (16).

mod common;

use common::{code_of, create_topic, pull, request_with_body, Broker};

#[test]
fn unknown_groups_cannot_pull_without_auto_creation() {
    let broker = Broker::start(1, &["-o", "autoCreateSubscriptionGroup=false"]);
    let mut conn = broker.connect(0);
    assert_eq!(code_of(&create_topic(&mut conn, "orders", 1)), 0);
    let (header, _) = pull(&mut conn, "orders", 0, 0);
    assert_eq!(code_of(&header), 26, "{header}");
    assert!(header["remark"]
        .as_str()
        .is_some_and(|r| r.contains("[cg] does not exist")));

    let disabled = br#"{"groupName":"cg","consumeEnable":false}"#;
    let (header, _) = request_with_body(&mut conn, 200, serde_json::json!({}), disabled);
    assert_eq!(code_of(&header), 0, "{header}");
    let (header, _) = pull(&mut conn, "orders", 0, 0);
    assert_eq!(code_of(&header), 16, "{header}");

    let enabled = br#"{"groupName":"cg"}"#;
    request_with_body(&mut conn, 200, serde_json::json!({}), enabled);
    let (header, _) = pull(&mut conn, "orders", 0, 0);
    assert!(![16, 26].contains(&code_of(&header)), "{header}");
}
