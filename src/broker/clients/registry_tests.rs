//! The registry's handlers driven directly, with recording channels in place of connections.

use std::cell::{Cell, RefCell};

use super::*;
use crate::broker::handler::answered;
use crate::wire::codes::response_code;
use crate::wire::command::FLAG_RESPONSE;

/// A connection that records what the broker sends it.
#[derive(Debug)]
struct Recorder {
    id: u64,
    sent: RefCell<Vec<RemotingCommand>>,
    opaque: Cell<i32>,
}

impl Recorder {
    fn new(id: u64) -> Rc<Recorder> {
        Rc::new(Recorder {
            id,
            sent: RefCell::default(),
            opaque: Cell::new(100),
        })
    }

    /// Groups named by the NOTIFY_CONSUMER_IDS_CHANGED frames sent so far, which are taken.
    fn notified(&self) -> Vec<String> {
        self.sent
            .take()
            .into_iter()
            .map(|command| {
                assert_eq!(command.code, request_code::NOTIFY_CONSUMER_IDS_CHANGED);
                assert!(command.is_oneway() && !command.is_response());
                let header: NotifyConsumerIdsChangedRequestHeader =
                    command.decode_header().expect("header");
                header.consumer_group
            })
            .collect()
    }
}

impl ClientChannel for Recorder {
    fn id(&self) -> u64 {
        self.id
    }
    fn remote_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 40000 + self.id as u16))
    }
    fn send(&self, command: &RemotingCommand) -> bool {
        self.sent.borrow_mut().push(command.clone());
        true
    }
    fn next_opaque(&self) -> i32 {
        let opaque = self.opaque.get();
        self.opaque.set(opaque + 1);
        opaque
    }
}

fn request(code: i32, fields: &[(&str, &str)], body: &str) -> RemotingCommand {
    let fields: ExtFields = fields.iter().copied().collect();
    let mut request = RemotingCommand::request(code, fields, Bytes::from(body.to_owned()));
    request.opaque = 9;
    request
}

/// The response to a request made by [`request`].
fn answer(handled: Handled) -> RemotingCommand {
    answered(&request(0, &[], ""), handled)
}

fn consumer_body(client: &str, group: &str, topics: &[(&str, &str)], version: i64) -> String {
    let subs: Vec<String> = topics
        .iter()
        .map(|(topic, expression)| {
            format!(r#"{{"topic":"{topic}","subString":"{expression}","subVersion":{version}}}"#)
        })
        .collect();
    format!(
        r#"{{"clientID":"{client}","consumerDataSet":[{{"groupName":"{group}","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","subscriptionDataSet":[{}]}}],"producerDataSet":[{{"groupName":"CLIENT_INNER_PRODUCER"}}]}}"#,
        subs.join(",")
    )
}

fn heart_beat(registry: &ClientRegistry, channel: &Rc<Recorder>, body: &str, now_ms: u64) {
    let response = answer(registry.heart_beat(channel, &request(34, &[], body), now_ms));
    assert_eq!(
        response.code,
        response_code::SUCCESS,
        "{:?}",
        response.remark
    );
    assert_eq!(response.opaque, 9);
    assert_eq!(response.flag, FLAG_RESPONSE);
}

fn join(registry: &ClientRegistry, channel: &Rc<Recorder>, client: &str, now_ms: u64) {
    let body = consumer_body(client, "cg", &[("T", "*"), ("%RETRY%cg", "*")], 1);
    heart_beat(registry, channel, &body, now_ms);
}

fn list(registry: &ClientRegistry, group: &str) -> RemotingCommand {
    answer(registry.consumer_list_by_group(&request(38, &[("consumerGroup", group)], "")))
}

#[test]
fn a_new_consumer_is_told_and_a_refresh_is_silent() {
    let registry = ClientRegistry::new();
    let a = Recorder::new(1);
    join(&registry, &a, "c-a", 0);
    assert_eq!(
        a.notified(),
        ["cg"],
        "a new consumer's heartbeat triggers its rebalance"
    );
    join(&registry, &a, "c-a", 30_000);
    assert!(a.notified().is_empty());
    let response = list(&registry, "cg");
    assert_eq!(response.code, response_code::SUCCESS);
    assert_eq!(&response.body[..], br#"{"consumerIdList":["c-a"]}"#);
}

#[test]
fn a_second_consumer_joining_notifies_the_group_but_not_producers() {
    let registry = ClientRegistry::new();
    let (a, b, producer) = (Recorder::new(1), Recorder::new(2), Recorder::new(3));
    let producer_body = r#"{"clientID":"p","producerDataSet":[{"groupName":"pg"}]}"#;
    heart_beat(&registry, &producer, producer_body, 0);
    join(&registry, &a, "c-a", 0);
    a.notified();
    join(&registry, &b, "c-b", 10);
    assert_eq!(a.notified(), ["cg"]);
    assert_eq!(b.notified(), ["cg"]);
    assert!(producer.sent.borrow().is_empty());
    assert_eq!(registry.consumer_ids("cg"), ["c-a", "c-b"]);
    assert_eq!(registry.producer_channels("pg").len(), 1);
}

#[test]
fn leaving_unregistering_and_disconnecting_notify_the_rest() {
    let registry = ClientRegistry::new();
    let (a, b, c) = (Recorder::new(1), Recorder::new(2), Recorder::new(3));
    for (channel, client) in [(&a, "c-a"), (&b, "c-b"), (&c, "c-c")] {
        join(&registry, channel, client, 0);
    }
    for channel in [&a, &b, &c] {
        channel.sent.take();
    }
    let fields = [("clientID", "c-c"), ("consumerGroup", "cg")];
    let response = answer(registry.unregister_client(&c, &request(35, &fields, "")));
    assert_eq!(response.code, response_code::SUCCESS);
    assert_eq!(
        (a.notified(), b.notified()),
        (vec!["cg".into()], vec!["cg".into()])
    );
    assert!(c.notified().is_empty());

    // Its producer group goes with the same call, once per group as clients send it.
    let fields = [
        ("clientID", "c-b"),
        ("producerGroup", "CLIENT_INNER_PRODUCER"),
    ];
    answer(registry.unregister_client(&b, &request(35, &fields, "")));
    // a and c are still producers: c only left its consumer group.
    assert_eq!(registry.producer_channels("CLIENT_INNER_PRODUCER").len(), 2);
    assert!(
        a.notified().is_empty(),
        "a producer group leaving is no rebalance"
    );

    registry.disconnected(b.id);
    assert_eq!(a.notified(), ["cg"]);
    assert_eq!(registry.consumer_ids("cg"), ["c-a"]);
    assert_eq!(registry.producer_channels("CLIENT_INNER_PRODUCER").len(), 2);

    registry.disconnected(a.id);
    registry.disconnected(c.id);
    assert!(a.notified().is_empty(), "nobody is left to tell");
    let response = list(&registry, "cg");
    assert_eq!(response.code, response_code::SYSTEM_ERROR);
    assert_eq!(
        response.remark.as_deref(),
        Some("no consumer for this group, cg")
    );
    assert!(
        registry.subscription("cg", "T").is_none(),
        "the group went with its last member"
    );
    assert!(registry
        .producer_channels("CLIENT_INNER_PRODUCER")
        .is_empty());
}

#[test]
fn silent_channels_expire_after_120_seconds() {
    let registry = ClientRegistry::new();
    let (a, b) = (Recorder::new(1), Recorder::new(2));
    join(&registry, &a, "c-a", 0);
    join(&registry, &b, "c-b", 0);
    join(&registry, &b, "c-b", 60_000);
    a.sent.take();
    b.sent.take();
    assert_eq!(registry.scan(CHANNEL_EXPIRY_MS), 0);
    // Each channel is registered in its consumer group and CLIENT_INNER_PRODUCER.
    assert_eq!(registry.scan(CHANNEL_EXPIRY_MS + 1), 2);
    assert_eq!(b.notified(), ["cg"]);
    assert!(a.notified().is_empty());
    assert_eq!(registry.consumer_ids("cg"), ["c-b"]);
    assert_eq!(registry.scan(60_000 + CHANNEL_EXPIRY_MS + 1), 2);
    assert!(registry.consumer_ids("cg").is_empty());
}

#[test]
fn subscriptions_follow_the_latest_heartbeat() {
    let registry = ClientRegistry::new();
    let a = Recorder::new(1);
    join(&registry, &a, "c-a", 0);
    a.sent.take();
    let all = registry.subscription("cg", "T").expect("registered");
    assert!(all.is_all() && all.matches_tag_code(12345) && all.tags.is_empty());

    // A new expression for the same topic replaces the entry without a rebalance.
    let body = consumer_body("c-a", "cg", &[("T", "TagA || TagB"), ("%RETRY%cg", "*")], 2);
    heart_beat(&registry, &a, &body, 1);
    assert!(a.notified().is_empty());
    let tags = registry.subscription("cg", "T").expect("registered");
    assert_eq!(tags.tags, ["TagA", "TagB"]);
    assert_eq!(tags.codes, [2598919, 2598920]);
    assert!(tags.matches_tag_code(2598919) && !tags.matches_tag_code(0));

    // An older subVersion does not win; a changed topic set rebalances.
    let body = consumer_body(
        "c-a",
        "cg",
        &[("T", "*"), ("U", "*"), ("%RETRY%cg", "*")],
        1,
    );
    heart_beat(&registry, &a, &body, 2);
    assert_eq!(a.notified(), ["cg"]);
    assert_eq!(
        registry.subscription("cg", "T").expect("kept").expression,
        "TagA || TagB"
    );
    assert_eq!(registry.subscribed_topics("cg"), ["%RETRY%cg", "T", "U"]);

    // A 5.x light heartbeat leaves subscriptions alone.
    let light = r#"{"clientID":"c-a","withoutSub":true,"consumerDataSet":[{"groupName":"cg"}]}"#;
    heart_beat(&registry, &a, light, 3);
    assert!(a.notified().is_empty());
    assert_eq!(registry.subscribed_topics("cg").len(), 3);
}

#[test]
fn lenient_cpp_heartbeat_registers_and_computes_tag_codes() {
    let registry = ClientRegistry::new();
    let a = Recorder::new(1);
    let body = r#"{"clientID":"10.1.1.1@9#cpp","consumerDataSet":[{"consumeFromWhere":4,"consumeType":1,"groupName":"g","messageModel":1,"subscriptionDataSet":[{"subString":"TagA||TagB ","subVersion":"17","topic":"T"}],"unitMode":"0"}]}"#;
    let mut request = request(34, &[], body);
    request.language = LanguageCode::from_name("CPP");
    request.version = 63;
    assert_eq!(
        answer(registry.heart_beat(&a, &request, 0)).code,
        response_code::SUCCESS
    );
    let sub = registry.subscription("g", "T").expect("registered");
    assert_eq!(
        (sub.tags.clone(), sub.codes.clone()),
        (vec!["TagA".into(), "TagB".into()], vec![2598919, 2598920])
    );
    assert_eq!(sub.sub_version, 17);

    let fields = [("consumerGroup", "g")];
    let response =
        answer(registry.consumer_connection_list(&super::tests::request(203, &fields, "")));
    assert_eq!(response.code, response_code::SUCCESS);
    let text = String::from_utf8(response.body.to_vec()).expect("utf-8");
    assert!(text.starts_with(r#"{"connectionSet":[{"clientAddr":"127.0.0.1:40001","clientId":"10.1.1.1@9#cpp","language":"CPP","version":63}],"consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET""#), "{text}");
    assert!(text.contains(r#""codeSet":[2598919,2598920]"#), "{text}");
}

#[test]
fn unreadable_heartbeats_are_refused() {
    let registry = ClientRegistry::new();
    let a = Recorder::new(1);
    for body in [
        "",
        "not json",
        r#"{"consumerDataSet":[{"consumeType":"SOMETIMES"}]}"#,
    ] {
        let response = answer(registry.heart_beat(&a, &request(34, &[], body), 0));
        assert_eq!(response.code, response_code::SYSTEM_ERROR, "{body}");
        assert!(response.remark.expect("remark").contains("HEART_BEAT body"));
    }
    let subs: Vec<String> = (0..=limits::BROKER_GROUP_SUBSCRIPTIONS_MAX)
        .map(|i| format!(r#"{{"topic":"T{i}"}}"#))
        .collect();
    let body = format!(
        r#"{{"consumerDataSet":[{{"groupName":"big","subscriptionDataSet":[{}]}}]}}"#,
        subs.join(",")
    );
    let response = answer(registry.heart_beat(&a, &request(34, &[], &body), 0));
    assert_eq!(response.code, response_code::SYSTEM_ERROR);
    assert!(registry.consumer_ids("big").is_empty(), "nothing applied");
}

#[test]
fn connection_lists_answer_not_online_for_unknown_groups() {
    let registry = ClientRegistry::new();
    let response =
        answer(registry.consumer_connection_list(&request(203, &[("consumerGroup", "x")], "")));
    assert_eq!(response.code, response_code::CONSUMER_NOT_ONLINE);
    let response =
        answer(registry.producer_connection_list(&request(204, &[("producerGroup", "x")], "")));
    assert_eq!(response.code, response_code::CONSUMER_NOT_ONLINE);
    let response = answer(registry.consumer_connection_list(&request(203, &[], "")));
    assert_eq!(response.code, response_code::SYSTEM_ERROR);
    assert!(response.remark.expect("remark").contains("consumerGroup"));

    let p = Recorder::new(5);
    heart_beat(
        &registry,
        &p,
        r#"{"clientID":"p1","producerDataSet":[{"groupName":"pg"}]}"#,
        0,
    );
    let response =
        answer(registry.producer_connection_list(&request(204, &[("producerGroup", "pg")], "")));
    assert_eq!(
        &response.body[..],
        br#"{"connectionSet":[{"clientAddr":"127.0.0.1:40005","clientId":"p1","language":"JAVA","version":479}]}"#
    );
}

#[test]
fn check_client_config_accepts_tags_and_refuses_sql92() {
    let registry = ClientRegistry::new();
    let tag = r#"{"clientId":"c","group":"g","subscriptionData":{"topic":"T","subString":"a","expressionType":"TAG"}}"#;
    assert_eq!(
        answer(registry.check_client_config(&request(46, &[], tag))).code,
        response_code::SUCCESS
    );
    let sql = r#"{"clientId":"c","group":"g","subscriptionData":{"topic":"T","subString":"a > 1","expressionType":"SQL92"}}"#;
    let response = answer(registry.check_client_config(&request(46, &[], sql)));
    assert_eq!(response.code, response_code::SYSTEM_ERROR);
    assert!(response.remark.expect("remark").contains("SQL92"));
    let response = answer(registry.check_client_config(&request(46, &[], "")));
    assert_eq!(response.code, response_code::SYSTEM_ERROR);
}

#[test]
fn the_caller_sees_each_consumer_group_before_it_registers() {
    let registry = ClientRegistry::new();
    let a = Recorder::new(1);
    let body = consumer_body("c-a", "cg", &[("T", "*")], 1);
    let mut seen = Vec::new();
    let response =
        answer(
            registry.heart_beat_with(a.clone(), &request(34, &[], &body), 0, |consumer| {
                assert!(registry.consumer_ids(&consumer.group_name).is_empty());
                seen.push(format!("%RETRY%{}", consumer.group_name));
            }),
        );
    assert_eq!(response.code, response_code::SUCCESS);
    assert_eq!(seen, ["%RETRY%cg"]);
    let mut unread = false;
    answer(registry.heart_beat_with(a.clone(), &request(34, &[], "{"), 0, |_| unread = true));
    assert!(!unread, "an unreadable heartbeat creates nothing");
}
