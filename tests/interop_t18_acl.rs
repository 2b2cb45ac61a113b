//! T18, RocketMQ's plain ACL (ACL 1.0) with each real client: a broker started with
//! `aclEnable=true` and an `aclFile` in Java's `plain_acl.yml` format checks every request's
//! `AccessKey` and `Signature` (the Base64 HMAC-SHA1, keyed with the account's secret key, of
//! the ext-field values sorted by key, then the body) and the account's permissions, and
//! refuses what fails with NO_PERMISSION (16) and Java's remark.
//!
//! The file holds an admin account (the harness creates the topics and reads the broker as
//! it) and a normal one, `interopUser`, with `PUB|SUB` on the test's topic, `SUB` alone on a
//! second topic, `PUB` alone on a third, and by default `SUB` on every group. Each client signs
//! its requests when given an account (`--access-key`, `--secret-key`; tests/interop/README.md
//! says how each does it). What a user of the client sees:
//!
//! - with the right account a producer's sends are all SEND_OK, and a consumer of a new group
//!   receives every message;
//! - a wrong secret key, an access key the file does not know, and no credentials at all are
//!   each refused: the send fails and nothing is stored;
//! - a send to the topic the account may only subscribe to is refused;
//! - a consumer of the topic the account may only publish to (its messages sent by the same
//!   account, SEND_OK) receives nothing and the broker never lists it, its heartbeats refused
//!   (they need SUB on every subscribed topic), while a consumer signing as the admin
//!   account, started after it, receives them all;
//! - a non-admin account's admin request is refused: through the Rust client's admin API
//!   (UPDATE_BROKER_CONFIG, which the admin account then makes), and for the other two, which
//!   have no admin API, as a raw UPDATE_AND_CREATE_TOPIC the harness signs as that account.
//!
//! How much of the broker's answer reaches the user differs by client (the quirks in
//! tests/interop/README.md), and each is asserted as it is: the Rust client keeps the code of
//! a refused send (`broker response code 16`) and drops the remark; ali-ons retries a send
//! refused with NO_PERMISSION, as Java does, then reports only that it failed, and the remark
//! reaches its user from `close()` when the account itself is refused; the C++ client (PyPI)
//! reports `No route info of this topic` and logs the broker's code and remark in its own log,
//! which the test reads. The refused consumer of the Rust and C++ clients runs and gets
//! nothing (the C++ client logs its refused heartbeats, which the test waits for); ali-ons'
//! fails to start, the broker answering its first rebalance that the group has no consumer.

mod common;
mod interop;

use std::time::Instant;

use serde_json::Value;
use shardmq::wire::signature::Credentials;

use interop::cluster::{Consume, Produce, Running};
use interop::report::expected_bodies;
use interop::{unique, Client, Cluster, Report};

const MESSAGES: usize = 10;
const QUEUES: u32 = 2;
/// NO_PERMISSION, the broker's answer to every request the ACL refuses.
const NO_PERMISSION: i64 = 16;

const ADMIN_KEY: &str = "interopAdmin";
const ADMIN_SECRET: &str = "adminSecret18";
const USER_KEY: &str = "interopUser";
const USER_SECRET: &str = "userSecret18";

fn admin() -> Credentials {
    Credentials::new(ADMIN_KEY, ADMIN_SECRET)
}

fn user() -> Credentials {
    Credentials::new(USER_KEY, USER_SECRET)
}

/// The test's topics: `PUB|SUB`, `SUB` alone and `PUB` alone for the user.
struct Topics {
    both: String,
    subscribe_only: String,
    publish_only: String,
}

/// The ACL file: no white-listed address of the loopback, so every request is checked.
fn plain_acl(topics: &Topics) -> String {
    format!(
        "globalWhiteRemoteAddresses:
  - 10.10.103.*
accounts:
  - accessKey: {USER_KEY}
    secretKey: {USER_SECRET}
    whiteRemoteAddress:
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - {both}=PUB|SUB
      - {subscribe_only}=SUB
      - {publish_only}=PUB
  - accessKey: {ADMIN_KEY}
    secretKey: {ADMIN_SECRET}
    admin: true
",
        both = topics.both,
        subscribe_only = topics.subscribe_only,
        publish_only = topics.publish_only,
    )
}

/// Messages stored in `topic`, every queue together.
fn stored(cluster: &Cluster, topic: &str) -> i64 {
    (0..QUEUES).map(|q| cluster.max_offset(0, topic, q)).sum()
}

/// Asserts that the producer run's one send failed as the broker refused it with
/// NO_PERMISSION and `remark`, as far as `client` lets its user see it (module docs).
/// `every_request`: the account itself is refused (a bad signature, an unknown or missing
/// key), so every request is, ali-ons' unregistering at close among them, whose error carries
/// the remark; otherwise only the send is.
fn assert_send_refused(client: Client, report: &Report, remark: &str, every_request: bool) {
    assert!(report.started(), "{}: {:#?}", report.label, report.events);
    assert!(
        report.sent().is_empty(),
        "{}: nothing acknowledged: {:#?}",
        report.label,
        report.sent()
    );
    assert_eq!(report.exit_code, Some(1), "{}", report.log_tail());
    let errors = report.errors();
    let send_error = errors.iter().find(|e| e.starts_with("send #0:"));
    let send_error = send_error.map(String::as_str).unwrap_or_default();
    let seen = match client {
        Client::Rust => send_error.contains(&format!("broker response code {NO_PERMISSION}")),
        Client::Node => {
            let close = format!("close #null: {remark}");
            send_error.contains("still failed") && (!every_request || errors.contains(&close))
        }
        Client::Python => {
            let log = report.native_log();
            let refusal =
                format!("processSendResponse error remark:{remark}, error code:{NO_PERMISSION}");
            send_error.contains("No route info of this topic") && log.contains(&refusal)
        }
    };
    assert!(
        seen,
        "{}: the send refused ({remark}): errors {errors:#?}\n{}\n--- native log ---\n{}",
        report.label,
        report.log_tail(),
        report.native_log()
    );
}

fn acl(client: Client) {
    client.require();
    let started = Instant::now();
    let topics = Topics {
        both: unique("T18", client),
        subscribe_only: unique("T18sub", client),
        publish_only: unique("T18pub", client),
    };
    let cluster = Cluster::start_with_acl(&plain_acl(&topics), admin());
    for topic in [&topics.both, &topics.subscribe_only, &topics.publish_only] {
        cluster.create_topic(topic, QUEUES);
    }

    // The consumers first: each receives what is sent while it runs.
    let allowed_group = unique("cg18", client);
    let mut allowed = cluster.consume(
        client,
        &Consume::new(&topics.both, &allowed_group)
            .starting_at_first()
            .until(MESSAGES, 60)
            .signed_as(&user()),
    );
    let denied_group = unique("cg18denied", client);
    let mut denied = cluster.consume(
        client,
        &Consume::new(&topics.publish_only, &denied_group)
            .starting_at_first()
            .for_seconds(120)
            .signed_as(&user()),
    );
    allowed.wait_started();
    // ali-ons' start fails instead (see below).
    if client != Client::Node {
        denied.wait_started();
    }
    // Started after the denied one: by the time it has everything, the denied one had as long.
    let control = cluster.consume(
        client,
        &Consume::new(&topics.publish_only, &unique("cg18admin", client))
            .starting_at_first()
            .until(MESSAGES, 60)
            .signed_as(&admin()),
    );

    // The right account: every send SEND_OK, on both topics it may publish to.
    let sent = cluster.produce(
        client,
        &Produce::new(&topics.both, &unique("pg18", client), MESSAGES).signed_as(&user()),
    );
    sent.assert_all_sent(MESSAGES);
    let sent = cluster.produce(
        client,
        &Produce::new(&topics.publish_only, &unique("pg18", client), MESSAGES).signed_as(&user()),
    );
    sent.assert_all_sent(MESSAGES);

    // Refused sends, all at once: a wrong secret, an unknown account, no credentials, and
    // the right account on the topic it may only subscribe to.
    let refused = |topic: &str, credentials: Option<Credentials>| {
        let mut produce = Produce::new(topic, &unique("pg18no", client), 1).for_seconds(30);
        produce.credentials = credentials;
        cluster.start_producer(client, &produce)
    };
    let wrong_secret = refused(
        &topics.both,
        Some(Credentials::new(USER_KEY, "notTheSecret18")),
    );
    let unknown = refused(
        &topics.both,
        Some(Credentials::new("nobodyKnown", "userSecret18")),
    );
    let anonymous = refused(&topics.both, None);
    let subscribe_only = refused(&topics.subscribe_only, Some(user()));
    assert_send_refused(
        client,
        &wrong_secret.finish(),
        &format!("Check signature failed for accessKey={USER_KEY}"),
        true,
    );
    assert_send_refused(
        client,
        &unknown.finish(),
        "No acl config for nobodyKnown",
        true,
    );
    // The C++ client signs every request, with an empty access key when it has none.
    let no_key = match client {
        Client::Python => "No acl config for ",
        _ => "No accessKey is configured",
    };
    assert_send_refused(client, &anonymous.finish(), no_key, true);
    assert_send_refused(
        client,
        &subscribe_only.finish(),
        &format!("No permission for topic:{}", topics.subscribe_only),
        false,
    );
    assert_eq!(stored(&cluster, &topics.both), MESSAGES as i64);
    assert_eq!(stored(&cluster, &topics.subscribe_only), 0);

    // The right account's consumer receives every message.
    let allowed = allowed.finish();
    allowed.assert_ok();
    assert_eq!(
        allowed.bodies(),
        expected_bodies("body-", 0..MESSAGES),
        "{}",
        allowed.label
    );

    // The topic without SUB: the admin's consumer gets everything; the user's, started
    // earlier, nothing, and the broker never took its heartbeat.
    let control = control.finish();
    control.assert_ok();
    assert_eq!(
        control.bodies(),
        expected_bodies("body-", 0..MESSAGES),
        "{}",
        control.label
    );
    assert_denied_consumer(client, &cluster, denied, &denied_group);

    admin_refused(client, &cluster);
    println!("T18 acl ({}): {:?}", client.name(), started.elapsed());
}

/// The user's consumer of the topic it may not subscribe to: every heartbeat refused (it
/// needs SUB on every subscribed topic), the broker lists no consumer of its group, and what
/// its user sees is that nothing arrives; ali-ons' start fails, since its first rebalance
/// asks the broker for the group's consumers and gets `no consumer for this group` (SYSTEM_ERROR,
/// Java's answer), and the C++ client logs the refused heartbeats.
fn assert_denied_consumer(client: Client, cluster: &Cluster, mut denied: Running, group: &str) {
    let report = match client {
        Client::Node => {
            let report = denied.finish();
            let errors = report.errors();
            let start = format!(
                "start #null: MQPushConsumer occurred an error no consumer for this group, {group}"
            );
            assert!(
                !report.started() && errors.contains(&start),
                "{}: its start failed: {errors:#?}",
                report.label
            );
            report
        }
        Client::Python => {
            let refused = format!("get error response:{NO_PERMISSION} of heartbeat");
            denied.wait_for("its heartbeat refused, in its log", |report| {
                report.native_log().contains(&refused)
            });
            denied.kill()
        }
        Client::Rust => denied.kill(),
    };
    assert!(
        report.received().is_empty(),
        "{}: received {:#?}",
        report.label,
        report.received()
    );
    assert_eq!(
        cluster.consumers(group),
        Vec::<String>::new(),
        "no consumer of {group} listed"
    );
}

/// A non-admin account's admin request is refused: the Rust client's own admin API, else a
/// raw request the harness signs as that account (ali-ons and the PyPI binding have no admin
/// API).
fn admin_refused(client: Client, cluster: &Cluster) {
    let need_admin = |code: i32| {
        format!("Need admin permission for request code={code}, but accessKey={USER_KEY} is not")
    };
    if client == Client::Rust {
        // The broker's own limit, unchanged: only who asks differs.
        let limit = [("maxMessageSize", "4194304")];
        let refused = cluster.update_broker_config_as(client, 0, &limit, Some(&user()));
        assert_eq!(refused.exit_code, Some(1), "{:#?}", refused.events);
        assert_eq!(refused.updated_config(), None, "{:#?}", refused.events);
        let errors = refused.errors().join("\n");
        assert!(
            errors.contains(&format!("CODE: {NO_PERMISSION}")) && errors.contains(&need_admin(25)),
            "{}: NO_PERMISSION, admin needed: {errors}",
            refused.label
        );
        let accepted = cluster.update_broker_config_as(client, 0, &limit, Some(&admin()));
        accepted.assert_ok();
        assert!(
            accepted.updated_config().is_some(),
            "{:#?}",
            accepted.events
        );
    } else {
        let topic = unique("T18new", client);
        let response = cluster.create_topic_as(&topic, 1, Some(&user()));
        assert_eq!(response["code"], NO_PERMISSION, "{response}");
        assert_eq!(
            response["remark"],
            Value::from(need_admin(17)),
            "{response}"
        );
        assert!(cluster.route(&topic).is_err(), "{topic} not created");
    }
}

#[test]
fn rust_client_acl() {
    acl(Client::Rust);
}

#[test]
fn node_client_acl() {
    acl(Client::Node);
}

#[test]
fn python_client_acl() {
    acl(Client::Python);
}
