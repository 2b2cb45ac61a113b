use super::*;
use crate::wire::body::TopicConfig;

const A0: &str = "10.0.0.1:10911";
const A1: &str = "10.0.0.2:10911";
const B0: &str = "10.0.0.3:10911";

fn topics(version: i64, names: &[&str]) -> TopicConfigSerializeWrapper {
    let mut wrapper = TopicConfigSerializeWrapper {
        data_version: DataVersion {
            counter: version,
            state_version: 0,
            timestamp: 1_700_000_000_000 + version,
        },
        ..TopicConfigSerializeWrapper::default()
    };
    for name in names {
        wrapper.topic_config_table.insert(
            (*name).to_owned(),
            TopicConfig {
                topic_name: (*name).to_owned(),
                read_queue_nums: 4,
                write_queue_nums: 4,
                ..TopicConfig::default()
            },
        );
    }
    wrapper
}

fn reg(name: &str, addr: &str, id: i64, version: i64, names: &[&str]) -> Registration {
    Registration {
        cluster: "DefaultCluster".into(),
        broker_name: name.into(),
        broker_addr: addr.into(),
        broker_id: id,
        ha_server_addr: format!("{addr}-ha"),
        connection: Some(id as u64 + 100),
        topics: topics(version, names),
        ..Registration::default()
    }
}

fn register(table: &mut RouteTable, registration: Registration, now_ms: u64) -> Registered {
    let registered = table.register(registration, now_ms).expect("within limits");
    assert_invariants(table);
    registered
}

/// The invariants the module documents.
fn assert_invariants(table: &RouteTable) {
    for (name, entry) in &table.brokers {
        assert!(!entry.addrs.is_empty(), "{name} has no address");
        let member_of: Vec<&String> = table
            .clusters
            .iter()
            .filter(|(_, names)| names.contains(name))
            .map(|(cluster, _)| cluster)
            .collect();
        assert_eq!(member_of, [&entry.cluster], "{name} cluster membership");
        let mut addrs: Vec<&String> = entry.addrs.values().collect();
        addrs.sort();
        addrs.dedup();
        assert_eq!(
            addrs.len(),
            entry.addrs.len(),
            "{name} lists an address twice"
        );
    }
    for (cluster, names) in &table.clusters {
        assert!(!names.is_empty(), "empty cluster {cluster}");
        assert!(names.iter().all(|name| table.brokers.contains_key(name)));
    }
    for (topic, by_broker) in &table.topics {
        assert!(!by_broker.is_empty(), "{topic} has no queue data");
        for (name, queue_data) in by_broker {
            assert!(
                table.brokers.contains_key(name),
                "{topic} routes to unknown {name}"
            );
            assert_eq!(&queue_data.broker_name, name);
        }
    }
}

fn brokers_of(table: &RouteTable, topic: &str) -> Vec<String> {
    assert_invariants(table);
    table
        .route(topic)
        .map(|route| {
            route
                .queue_datas
                .into_iter()
                .map(|q| q.broker_name)
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn master_registration_routes_its_topics() {
    let mut table = RouteTable::new();
    let result = register(&mut table, reg("broker-a", A0, 0, 1, &["T1", "TBW102"]), 0);
    assert_eq!(result, Registered::default());
    let route = table.route("TBW102").expect("routed like any topic");
    assert_eq!(route.broker_datas.len(), 1);
    assert_eq!(
        route.broker_datas[0]
            .broker_addrs
            .get(&0)
            .map(String::as_str),
        Some(A0)
    );
    assert_eq!(route.queue_datas[0].write_queue_nums, 4);
    assert_eq!(route.queue_datas[0].perm, 6);
    assert!(table.route("T2").is_none());
    assert_eq!(table.topic_list().topic_list, ["T1", "TBW102"]);
    assert_invariants(&table);
}

#[test]
fn re_registration_with_fewer_topics_drops_the_missing_ones() {
    let mut table = RouteTable::new();
    register(&mut table, reg("broker-a", A0, 0, 1, &["T1", "T2"]), 0);
    register(&mut table, reg("broker-b", B0, 0, 1, &["T2"]), 0);
    register(&mut table, reg("broker-a", A0, 0, 2, &["T1"]), 1);
    assert_eq!(brokers_of(&table, "T1"), ["broker-a"]);
    assert_eq!(brokers_of(&table, "T2"), ["broker-b"]);
    register(&mut table, reg("broker-b", B0, 0, 2, &[]), 2);
    assert!(
        table.route("T2").is_none(),
        "a topic with no broker left is gone"
    );
    assert_eq!(table.topic_list().topic_list, ["T1"]);
    assert_invariants(&table);
}

#[test]
fn an_increment_adds_and_rewrites_its_topics_and_deletes_none() {
    let mut table = RouteTable::new();
    register(&mut table, reg("broker-a", A0, 0, 1, &["T1", "T2"]), 0);
    let mut increment = reg("broker-a", A0, 0, 2, &["T3"]);
    increment.increment = true;
    increment
        .topics
        .topic_config_table
        .values_mut()
        .for_each(|config| config.write_queue_nums = 2);
    register(&mut table, increment, 1);
    for topic in ["T1", "T2", "T3"] {
        assert_eq!(brokers_of(&table, topic), ["broker-a"], "{topic}");
    }
    let t3 = table.route("T3").expect("routed");
    assert_eq!(t3.queue_datas[0].write_queue_nums, 2);
    // The next full registration, at the increment's version, still deletes what it omits.
    register(&mut table, reg("broker-a", A0, 0, 2, &["T1", "T3"]), 2);
    assert!(table.route("T2").is_none(), "gone with a full registration");
    assert_eq!(brokers_of(&table, "T3"), ["broker-a"]);
}

#[test]
fn same_data_version_adds_missing_topics_but_keeps_published_ones() {
    let mut table = RouteTable::new();
    register(&mut table, reg("broker-a", A0, 0, 1, &["T1", "T2"]), 0);
    table.delete_topic("T1", None);
    let mut wider = QueueData {
        broker_name: "broker-a".into(),
        perm: 6,
        read_queue_nums: 8,
        topic_sys_flag: 0,
        write_queue_nums: 8,
    };
    table
        .register_topic("T2", vec![wider.clone()])
        .expect("room");
    register(&mut table, reg("broker-a", A0, 0, 1, &["T1", "T2"]), 1);
    assert_eq!(
        brokers_of(&table, "T1"),
        ["broker-a"],
        "a deleted topic comes back"
    );
    let t2 = table.route("T2").expect("routed").queue_datas;
    assert_eq!(
        t2,
        [wider.clone()],
        "same data version: queue data left as published"
    );
    assert_eq!(table.live(A0).map(|l| l.last_update_ms), Some(1));

    register(&mut table, reg("broker-a", A0, 0, 2, &["T1", "T2"]), 2);
    wider.read_queue_nums = 4;
    wider.write_queue_nums = 4;
    let t2 = table.route("T2").expect("routed").queue_datas;
    assert_eq!(t2, [wider], "a new data version rewrites every topic");
    assert_invariants(&table);
}

#[test]
fn without_deletion_a_partial_registration_keeps_the_other_topics() {
    let mut table = RouteTable::with_delete_topics_with_registration(false);
    register(&mut table, reg("broker-a", A0, 0, 1, &["T1", "T2"]), 0);
    register(&mut table, reg("broker-a", A0, 0, 2, &["New"]), 1);
    assert_eq!(table.topic_list().topic_list, ["New", "T1", "T2"]);
    assert_invariants(&table);
}

#[test]
fn two_brokers_in_one_cluster() {
    let mut table = RouteTable::new();
    register(&mut table, reg("broker-a", A0, 0, 1, &["T"]), 0);
    register(&mut table, reg("broker-b", B0, 0, 1, &["T"]), 0);
    let route = table.route("T").expect("routed");
    assert_eq!(route.broker_datas.len(), 2);
    assert_eq!(brokers_of(&table, "T"), ["broker-a", "broker-b"]);
    let info = table.cluster_info();
    assert_eq!(
        info.cluster_addr_table["DefaultCluster"],
        ["broker-a", "broker-b"]
    );
    assert_eq!(table.topics_of_cluster("DefaultCluster").topic_list, ["T"]);
    assert!(table.topics_of_cluster("Other").topic_list.is_empty());
    assert_invariants(&table);
}

#[test]
fn master_and_slave_share_a_name_and_only_the_master_writes_queue_data() {
    let mut table = RouteTable::new();
    let slave = register(&mut table, reg("broker-a", A1, 1, 1, &["S"]), 0);
    assert_eq!(slave, Registered::default(), "no master yet");
    assert!(
        table.route("S").is_none(),
        "a slave's topics are not routed"
    );
    register(&mut table, reg("broker-a", A0, 0, 1, &["T"]), 0);
    let slave = register(&mut table, reg("broker-a", A1, 1, 1, &["T"]), 1);
    assert_eq!(slave.master_addr.as_deref(), Some(A0));
    assert_eq!(slave.ha_server_addr, Some(format!("{A0}-ha")));
    let route = table.route("T").expect("routed");
    let addrs = &route.broker_datas[0].broker_addrs;
    assert_eq!(
        addrs.iter().collect::<Vec<_>>(),
        [(&0, &A0.to_owned()), (&1, &A1.to_owned())]
    );
    assert_eq!(route.queue_datas.len(), 1);
    assert_invariants(&table);
}

#[test]
fn an_address_moving_to_another_id_is_listed_once() {
    let mut table = RouteTable::new();
    register(&mut table, reg("broker-a", A1, 1, 1, &[]), 0);
    register(&mut table, reg("broker-a", A1, 0, 1, &["T"]), 1);
    let route = table.route("T").expect("routed");
    assert_eq!(route.broker_datas[0].broker_addrs.len(), 1);
    assert_eq!(
        route.broker_datas[0]
            .broker_addrs
            .get(&0)
            .map(String::as_str),
        Some(A1)
    );
    assert_invariants(&table);
}

#[test]
fn unregister_removes_an_id_and_the_last_id_takes_the_name_away() {
    let mut table = RouteTable::new();
    register(&mut table, reg("broker-a", A0, 0, 1, &["T"]), 0);
    register(&mut table, reg("broker-a", A1, 1, 1, &["T"]), 0);
    table.unregister("broker-a", A0);
    let route = table.route("T").expect("the slave keeps the name");
    assert_eq!(
        route.broker_datas[0]
            .broker_addrs
            .keys()
            .collect::<Vec<_>>(),
        [&1]
    );
    assert!(table.live(A0).is_none());
    table.unregister("broker-a", A1);
    assert!(table.route("T").is_none());
    assert!(table.topic_list().topic_list.is_empty());
    assert!(table.cluster_info().cluster_addr_table.is_empty());
    assert!(table.cluster_info().broker_addr_table.is_empty());
    assert_invariants(&table);
}

#[test]
fn brokers_expire_after_their_timeout() {
    let mut table = RouteTable::new();
    register(&mut table, reg("broker-a", A0, 0, 1, &["T"]), 0);
    let mut quick = reg("broker-b", B0, 0, 1, &["T"]);
    quick.timeout_ms = Some(10_000);
    register(&mut table, quick, 0);
    assert_eq!(
        table.scan(10_000),
        Vec::<String>::new(),
        "not past the timeout yet"
    );
    assert_eq!(table.scan(10_001), [B0]);
    register(&mut table, reg("broker-a", A0, 0, 1, &["T"]), 60_000);
    assert!(
        table.scan(180_000).is_empty(),
        "re-registration restarts the clock"
    );
    assert!(table.touch(A0, 170_000));
    assert!(
        table.scan(290_000).is_empty(),
        "a heartbeat restarts it too"
    );
    assert_eq!(table.scan(290_001), [A0]);
    assert!(table.route("T").is_none());
    assert!(!table.touch(A0, 290_002));
    assert_invariants(&table);
}

#[test]
fn closing_the_registration_connection_expires_its_brokers_only() {
    let mut table = RouteTable::new();
    register(&mut table, reg("broker-a", A0, 0, 1, &["T"]), 0);
    register(&mut table, reg("broker-b", B0, 0, 1, &["T"]), 0);
    let mut a = reg("broker-a", A0, 0, 1, &["T"]);
    a.connection = Some(7);
    register(&mut table, a, 1);
    assert!(table.connection_closed(100).contains(&B0.to_owned()));
    assert_eq!(table.connection_closed(100), Vec::<String>::new());
    assert_eq!(brokers_of(&table, "T"), ["broker-a"]);
    assert_eq!(table.connection_closed(7), [A0]);
    assert!(table.route("T").is_none());
    assert_invariants(&table);
}

#[test]
fn delete_topic_everywhere_or_in_one_cluster() {
    let mut table = RouteTable::new();
    register(&mut table, reg("broker-a", A0, 0, 1, &["T", "U"]), 0);
    let mut other = reg("broker-b", B0, 0, 1, &["T", "U"]);
    other.cluster = "Other".into();
    register(&mut table, other, 0);
    table.delete_topic("T", Some("Other"));
    assert_eq!(brokers_of(&table, "T"), ["broker-a"]);
    table.delete_topic("T", Some("Unknown"));
    assert_eq!(brokers_of(&table, "T"), ["broker-a"]);
    table.delete_topic("T", Some("DefaultCluster"));
    assert!(table.route("T").is_none());
    table.delete_topic("U", None);
    assert!(table.route("U").is_none());
    table.delete_topic("U", Some(""));
    assert_invariants(&table);
}

#[test]
fn register_topic_adds_routes_for_known_brokers_only() {
    let mut table = RouteTable::new();
    register(&mut table, reg("broker-a", A0, 0, 1, &[]), 0);
    let queue = |name: &str| QueueData {
        broker_name: name.into(),
        perm: 6,
        read_queue_nums: 4,
        topic_sys_flag: 0,
        write_queue_nums: 4,
    };
    let recorded = table
        .register_topic("New", vec![queue("broker-a"), queue("ghost")])
        .expect("room");
    assert_eq!(recorded, 1);
    assert_eq!(brokers_of(&table, "New"), ["broker-a"]);
    assert_eq!(table.register_topic("Lost", vec![queue("ghost")]), Ok(0));
    assert!(table.route("Lost").is_none());
    assert!(!table.topic_list().topic_list.contains(&"Lost".to_owned()));
    assert_invariants(&table);
}

#[test]
fn a_broker_name_moving_cluster_leaves_the_old_one() {
    let mut table = RouteTable::new();
    register(&mut table, reg("broker-a", A0, 0, 1, &["T"]), 0);
    let mut moved = reg("broker-a", A0, 0, 1, &["T"]);
    moved.cluster = "Other".into();
    register(&mut table, moved, 1);
    let info = table.cluster_info();
    assert_eq!(
        info.cluster_addr_table.keys().collect::<Vec<_>>(),
        ["Other"]
    );
    assert_eq!(info.broker_addr_table["broker-a"].cluster, "Other");
    table.unregister("broker-a", A0);
    assert!(table.cluster_info().cluster_addr_table.is_empty());
    assert_invariants(&table);
}

#[test]
fn a_late_unregistration_does_not_remove_the_id_s_new_holder() {
    let mut table = RouteTable::new();
    register(&mut table, reg("broker-a", A1, 0, 1, &["T"]), 0);
    register(&mut table, reg("broker-a", A0, 0, 1, &["T"]), 1);
    table.unregister("broker-a", A1);
    let route = table.route("T").expect("still routed");
    assert_eq!(
        route.broker_datas[0]
            .broker_addrs
            .get(&0)
            .map(String::as_str),
        Some(A0)
    );
    assert!(table.live(A0).is_some());
    assert_invariants(&table);
}

fn part(index: i32, count: i32, version: i64, names: &[&str]) -> Registration {
    Registration {
        part: Some(RegistrationPart { index, count }),
        ..reg("broker-a", A0, 0, version, names)
    }
}

#[test]
fn a_split_registration_keeps_the_topics_of_every_part() {
    let mut table = RouteTable::new();
    register(&mut table, reg("broker-a", A0, 0, 1, &["x", "old"]), 1);
    // A new version in three parts: no part drops the topics of another while it arrives.
    register(&mut table, part(0, 3, 2, &["a", "b"]), 2);
    for topic in ["a", "b", "x", "old"] {
        assert_eq!(
            brokers_of(&table, topic),
            ["broker-a"],
            "{topic} after part 0"
        );
    }
    register(&mut table, part(1, 3, 2, &["c"]), 3);
    assert_eq!(
        brokers_of(&table, "old"),
        ["broker-a"],
        "kept until the round is whole"
    );
    register(&mut table, part(2, 3, 2, &["x"]), 4);
    for topic in ["a", "b", "c", "x"] {
        assert_eq!(
            brokers_of(&table, topic),
            ["broker-a"],
            "{topic} after the round"
        );
    }
    assert!(
        brokers_of(&table, "old").is_empty(),
        "listed by no part of the whole round"
    );
    // The same round again, as every registerNameServerPeriod: nothing moves.
    for (index, names) in [(0, &["a", "b"][..]), (1, &["c"]), (2, &["x"])] {
        register(&mut table, part(index, 3, 2, names), 5);
        for topic in ["a", "b", "c", "x"] {
            assert_eq!(
                brokers_of(&table, topic),
                ["broker-a"],
                "{topic} part {index}"
            );
        }
    }
}

#[test]
fn a_later_part_of_a_new_version_rewrites_its_topics() {
    let mut table = RouteTable::new();
    register(&mut table, part(0, 2, 1, &["a"]), 1);
    register(&mut table, part(1, 2, 1, &["b"]), 2);
    let mut second = part(1, 2, 2, &["b"]);
    second
        .topics
        .topic_config_table
        .get_mut("b")
        .expect("b")
        .write_queue_nums = 9;
    register(&mut table, part(0, 2, 2, &["a"]), 3);
    register(&mut table, second, 4);
    let route = table.route("b").expect("routed");
    assert_eq!(route.queue_datas[0].write_queue_nums, 9, "{route:?}");
}

#[test]
fn a_round_missing_a_part_deletes_nothing() {
    let mut table = RouteTable::new();
    register(&mut table, reg("broker-a", A0, 0, 1, &["a", "b", "c"]), 1);
    // Part 1 of 3 never arrives (its NameServer restarted, say).
    register(&mut table, part(0, 3, 2, &["a"]), 2);
    register(&mut table, part(2, 3, 2, &["c"]), 3);
    assert_eq!(brokers_of(&table, "b"), ["broker-a"]);
    // Parts out of range never complete a round either.
    register(&mut table, part(5, 3, 2, &["a"]), 4);
    register(&mut table, part(0, -1, 2, &["a"]), 5);
    assert_eq!(brokers_of(&table, "b"), ["broker-a"]);
    // A whole registration still replaces the topic set.
    register(&mut table, reg("broker-a", A0, 0, 3, &["a"]), 6);
    assert!(brokers_of(&table, "b").is_empty());
}
