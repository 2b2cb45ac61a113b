use bytes::Bytes;

use super::*;
use crate::wire::signature::Credentials;
use crate::wire::ExtFields;

const FILE: &str = "\
globalWhiteRemoteAddresses:
  - 10.9.*.*
accounts:
  - accessKey: producer1
    secretKey: producer-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - orders=PUB
      - audit=SUB
      - RMQ_SYS_TRACE_TOPIC=DENY
    groupPerms:
      - blocked=DENY
  - accessKey: trusted1
    secretKey: trusted-secret
    whiteRemoteAddress: 10.1.1.1
  - accessKey: operator
    secretKey: operator-secret
    admin: true
";

fn table() -> AclTable {
    AclTable::parse(FILE).expect("file")
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect(text)
}

fn request(fields: &[(&str, &str)]) -> RemotingCommand {
    let mut ext = ExtFields::new();
    for (key, value) in fields {
        ext.insert(key, value);
    }
    RemotingCommand::request(310, ext, Bytes::from_static(b"payload"))
}

fn signed(fields: &[(&str, &str)], access: &str, secret: &str) -> RemotingCommand {
    let mut command = request(fields);
    Credentials::new(access, secret).sign(&mut command);
    command
}

fn sends_to(topic: &str) -> Needs<'_> {
    let mut needs = Needs::default();
    needs.send_to(topic);
    needs
}

const CLIENT: &str = "10.0.0.5";

#[test]
fn a_signed_request_of_an_allowed_account_passes() {
    let command = signed(&[("b", "orders")], "producer1", "producer-secret");
    assert_eq!(
        table().check(ip(CLIENT), &command, &sends_to("orders")),
        Ok(())
    );
}

#[test]
fn refusals_name_what_is_missing_and_no_secret() {
    let table = table();
    let cases = [
        (
            request(&[("b", "orders")]),
            sends_to("orders"),
            "No accessKey is configured",
        ),
        (
            signed(&[("b", "orders")], "stranger", "producer-secret"),
            sends_to("orders"),
            "No acl config for stranger",
        ),
        (
            signed(&[("b", "orders")], "producer1", "wrong-secret"),
            sends_to("orders"),
            "Check signature failed for accessKey=producer1",
        ),
        (
            signed(&[("b", "audit")], "producer1", "producer-secret"),
            sends_to("audit"),
            "No permission for topic:audit",
        ),
        (
            signed(&[("b", "other")], "producer1", "producer-secret"),
            sends_to("other"),
            "No default permission for topic:other",
        ),
        (
            signed(&[("b", "%RETRY%blocked")], "producer1", "producer-secret"),
            sends_to("%RETRY%blocked"),
            "No permission for group:blocked",
        ),
        (
            signed(&[("topic", "orders")], "producer1", "producer-secret"),
            Needs::admin(),
            "Need admin permission for request code=310, but accessKey=producer1 is not",
        ),
    ];
    for (command, needs, remark) in cases {
        let refused = table.check(ip(CLIENT), &command, &needs).expect_err(remark);
        assert_eq!(refused, remark);
        assert!(!refused.contains("secret"), "{refused}");
    }
}

#[test]
fn a_field_or_body_changed_after_signing_breaks_the_signature() {
    let table = table();
    let mut command = signed(&[("b", "orders")], "producer1", "producer-secret");
    command.body = Bytes::from_static(b"other payload");
    assert!(table
        .check(ip(CLIENT), &command, &sends_to("orders"))
        .is_err());
    let mut command = signed(&[("b", "orders")], "producer1", "producer-secret");
    command.ext_fields.insert("c", "1");
    assert!(table
        .check(ip(CLIENT), &command, &sends_to("orders"))
        .is_err());
}

#[test]
fn white_listed_addresses_need_no_signature() {
    let table = table();
    let unsigned = request(&[("b", "anything")]);
    assert_eq!(
        table.check(ip("10.9.3.4"), &unsigned, &Needs::admin()),
        Ok(())
    );
    assert_eq!(
        table.check(ip("::ffff:10.9.3.4"), &unsigned, &Needs::admin()),
        Ok(())
    );
    let mut trusted = request(&[("b", "anything")]);
    trusted.ext_fields.insert(ACCESS_KEY, "trusted1");
    assert_eq!(
        table.check(ip("10.1.1.1"), &trusted, &Needs::admin()),
        Ok(())
    );
    assert!(table
        .check(ip("10.1.1.2"), &trusted, &Needs::admin())
        .is_err());
}

#[test]
fn an_admin_passes_everything_it_signs() {
    let command = signed(&[("b", "x")], "operator", "operator-secret");
    assert_eq!(table().check(ip(CLIENT), &command, &Needs::admin()), Ok(()));
    assert_eq!(table().check(ip(CLIENT), &command, &sends_to("x")), Ok(()));
}

#[test]
fn message_traces_may_always_be_published() {
    let command = signed(&[("b", TRACE_TOPIC)], "producer1", "producer-secret");
    assert_eq!(
        table().check(ip(CLIENT), &command, &sends_to(TRACE_TOPIC)),
        Ok(())
    );
}

#[test]
fn pulls_need_the_topic_and_the_group() {
    let table = table();
    let command = signed(&[("topic", "audit")], "producer1", "producer-secret");
    let mut needs = Needs::default();
    needs.topic("audit", Perm::SUB);
    needs.group("readers", Perm::SUB);
    assert_eq!(table.check(ip(CLIENT), &command, &needs), Ok(()));
    needs.group("blocked", Perm::SUB);
    assert_eq!(
        table.check(ip(CLIENT), &command, &needs),
        Err("No permission for group:blocked".to_owned())
    );
}

#[test]
fn a_refused_file_is_named() {
    let dir = crate::storage::test_dir("acl-load");
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("plain_acl.yml");
    std::fs::write(&path, FILE).expect("written");
    assert_eq!(load(&path).expect("loaded").accounts(), 3);
    std::fs::write(&path, "accounts: [").expect("broken");
    let refused = load(&path).expect_err("broken file");
    assert!(refused.contains("plain_acl.yml"), "{refused}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_broker_registers_only_with_an_admin_account_and_its_secret() {
    let table = table();
    let path = std::path::Path::new("plain_acl.yml");
    let admin = Credentials::new("operator", "operator-secret");
    assert_eq!(check_own_account(&table, path, Some(&admin)), Ok(()));
    for own in [
        None,
        Some(Credentials::new("producer1", "producer-secret")),
        Some(Credentials::new("operator", "wrong-secret")),
    ] {
        let refused = check_own_account(&table, path, own.as_ref()).expect_err("refused");
        assert!(
            refused.contains("admin account") && !refused.contains("secret-"),
            "{refused}"
        );
    }
}
