use super::*;
use crate::wire::signature::{verify, Credentials};
use crate::wire::RemotingCommand;

const JAVA_EXAMPLE: &str = "\
globalWhiteRemoteAddresses:
  - 10.10.103.*
  - 192.168.0.*

accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    whiteRemoteAddress:
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicA=DENY
      - topicB=PUB|SUB
      - topicC=SUB
    groupPerms:
      # the group should convert to retry topic
      - groupA=DENY
      - groupB=PUB|SUB
      - groupC=SUB

  - accessKey: rocketmq2
    secretKey: 0123456789
    whiteRemoteAddress: 192.168.1.*
    # if it is admin, it could access all resources
    admin: true
dataVersion:
  - counter: 1
    timestamp: 1700000000000
";

#[test]
fn javas_example_file_reads_as_written() {
    let table = parse(JAVA_EXAMPLE).expect("Java's example");
    assert_eq!(table.global_white.len(), 2);
    let user = &table.accounts["RocketMQ"];
    assert!(!user.admin && user.white.is_none());
    assert_eq!(
        (user.default_topic, user.default_group),
        (Perm::DENY, Perm::SUB)
    );
    assert_eq!(user.topics["topicA"], Perm::DENY);
    assert_eq!(user.topics["topicB"], Perm(Perm::PUB.0 | Perm::SUB.0));
    assert_eq!(user.groups["groupC"], Perm::SUB);
    let admin = &table.accounts["rocketmq2"];
    assert!(admin.admin);
    let mut signed = RemotingCommand::request(10, Default::default(), Default::default());
    Credentials::new("rocketmq2", "0123456789").sign(&mut signed);
    let given = signed.ext_fields.get("Signature").expect("signed");
    assert!(
        verify(&signed, &admin.key, given),
        "the secret is the text as written, not a number"
    );
    assert_eq!(admin.default_topic, Perm::DENY, "Java's default");
}

#[test]
fn an_empty_file_has_no_accounts() {
    for text in ["", "# nothing\n", "accounts:\n"] {
        assert_eq!(parse(text).expect(text).accounts(), 0);
    }
}

#[test]
fn mistakes_are_refused_by_name() {
    let account = |body: &str| format!("accounts:\n  - accessKey: RocketMQ\n{body}");
    let cases = [
        (account("    secretKey: 12345678\n    admn: true\n"), "admn"),
        (
            account("    secretKey: 12345678\n    defaultTopicPerm: PUBLISH\n"),
            "PUBLISH",
        ),
        (
            account("    secretKey: 12345678\n    topicPerms:\n      - topicA\n"),
            "topicA",
        ),
        (
            account("    secretKey: 12345678\n    admin: yes\n"),
            "admin",
        ),
        (account("    secretKey: 123456\n"), "longer than 6"),
        (account(""), "no secretKey"),
        (
            account("    secretKey: 12345678\n    whiteRemoteAddress: 10.0.0.300\n"),
            "10.0.0.300",
        ),
        (
            "globalWhiteRemoteAddresses:\n  - 1.2.3\n".to_owned(),
            "1.2.3",
        ),
        ("acounts:\n".to_owned(), "acounts"),
        ("accounts: [\n".to_owned(), "not YAML"),
        (
            "accounts:\n  - &a {accessKey: RocketMQ, secretKey: 12345678}\n  - *a\n".to_owned(),
            "aliases",
        ),
        (
            format!(
                "{}  - accessKey: RocketMQ\n    secretKey: 87654321\n",
                account("    secretKey: 12345678\n")
            ),
            "twice",
        ),
    ];
    for (text, named) in cases {
        let error = parse(&text).expect_err(&text);
        assert!(error.contains(named), "{error:?} should name {named:?}");
        assert!(!error.contains("12345678"), "{error:?} shows a secret");
    }
}
