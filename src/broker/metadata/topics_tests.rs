use super::*;
use crate::wire::Refusal;

#[test]
fn names_follow_the_character_and_length_rules() {
    assert!(valid_topic_name("Topic_1-a|b%c"));
    assert!(!valid_topic_name(""));
    assert!(!valid_topic_name("with space"));
    assert!(!valid_topic_name("dot.ted"));
    assert!(valid_topic_name(&"t".repeat(127)));
    assert!(!valid_topic_name(&"t".repeat(128)));
    assert!(valid_topic_name(&format!("%RETRY%{}", "g".repeat(248))));
    assert!(!valid_topic_name(&format!("%DLQ%{}", "g".repeat(251))));
}

#[test]
fn refused_names_carry_javas_remarks() {
    let remark = |name: &str| validate_topic(name).expect_err(name).to_string();
    assert_eq!(remark(""), "The specified topic is blank.");
    assert_eq!(remark("  "), "The specified topic is blank.");
    assert_eq!(
        remark("dot.ted"),
        "The specified topic: dot.ted, contains illegal characters, allowing only \
         ^[%|a-zA-Z0-9_-]+$"
    );
    let long = "t".repeat(128);
    assert_eq!(
        remark(&long),
        format!("The specified topic: {long}, is longer than topic max length: 127")
    );
    let retry = format!("%RETRY%{}", "g".repeat(249));
    assert_eq!(
        remark(&retry),
        format!(
            "The specified topic is DLQ or Retry topic: {retry}, and it's longer than topic \
             max length: 255"
        )
    );
    let code = BrokerError::from(validate_topic("").expect_err("blank")).response_code();
    assert_eq!(code, crate::wire::codes::response_code::INVALID_PARAMETER);
}

#[test]
fn system_topics_are_recognised() {
    assert!(is_system_topic("TBW102"));
    assert!(is_system_topic("SCHEDULE_TOPIC_XXXX"));
    assert!(is_system_topic("rmq_sys_wheel_timer"));
    assert!(!is_system_topic("orders"));
    assert!(is_send_forbidden("RMQ_SYS_TRANS_HALF_TOPIC"));
    assert!(!is_send_forbidden("TBW102"));
}

#[test]
fn auto_creation_takes_the_smaller_queue_count_and_drops_inherit() {
    let template = topic_config("TBW102", 8, 7);
    let created = derive_from_template("new", &template, 4).expect("inherits");
    assert_eq!((created.read_queue_nums, created.write_queue_nums), (4, 4));
    assert_eq!(created.perm, 6);
    let capped = derive_from_template("new", &template, 16).expect("inherits");
    assert_eq!(capped.write_queue_nums, 8);
    let no_inherit = topic_config("plain", 8, 6);
    assert_eq!(
        derive_from_template("new", &no_inherit, 4),
        Err(BrokerError::TopicNotExist("new".into()))
    );
}

#[test]
fn changes_bump_the_data_version_and_repeats_do_not() {
    let mut table = TopicTable::default();
    assert!(table.upsert(topic_config("a", 4, 6), 10).expect("room"));
    assert_eq!(table.data_version.counter, 1);
    assert!(!table.upsert(topic_config("a", 4, 6), 11).expect("room"));
    assert_eq!(table.data_version.counter, 1);
    assert!(table.upsert(topic_config("a", 8, 6), 12).expect("room"));
    assert!(table.remove("a", 13));
    assert!(!table.remove("a", 14));
    assert_eq!(table.data_version.counter, 3);
    assert_eq!(table.data_version.timestamp, 13);
}

#[test]
fn system_topics_follow_the_config() {
    let mut config = BrokerConfig::default();
    let table = TopicTable::default().with_system_topics(&config, 1);
    let tbw = table.get("TBW102").expect("template");
    assert_eq!((tbw.perm, tbw.write_queue_nums), (7, 8));
    assert!(table.get("DefaultCluster").is_some());
    assert!(table.get("SELF_TEST_TOPIC").is_some());

    config.auto_create_topic_enable = false;
    let table = table.with_system_topics(&config, 2);
    assert!(
        table.get("TBW102").is_none(),
        "no template without auto-creation"
    );
    let own = shard_topics(&config, 1);
    assert!(own.contains_key("broker-a-1"));
}

#[test]
fn the_file_round_trips_and_a_missing_file_is_empty() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = topics_file(dir.path());
    assert_eq!(
        load(&path).expect("missing is fine"),
        StoredTopics::default()
    );
    let config = BrokerConfig::default();
    let mut table = TopicTable::new(2).with_system_topics(&config, 1);
    table.upsert(topic_config("orders", 4, 6), 5).expect("room");
    table.upsert(topic_config("one", 1, 6), 5).expect("room");
    save(&path, &table).expect("saved");
    let stored = load(&path).expect("loads");
    let back = TopicTable::open(stored, StoreLayout::Placed, &config, 2, 9).expect("opens");
    assert_eq!(back, table, "configs, placements and version come back");
    std::fs::write(&path, b"{not json").expect("corrupt");
    assert!(load(&path).expect_err("corrupt").contains("topics.json"));
}

#[test]
fn queues_are_spread_and_each_shard_shows_its_share() {
    let config = BrokerConfig::default();
    let mut table = TopicTable::new(2).with_system_topics(&config, 1);
    for name in ["a", "b", "c"] {
        table.upsert(topic_config(name, 1, 6), 2).expect("room");
    }
    let firsts: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|t| table.placement(t).expect("placed"))
        .collect();
    assert_eq!(
        firsts,
        [0, 1, 0].map(|first| Placement::Spread { first }),
        "one-queue topics take turns"
    );
    let shares = |table: &TopicTable, topic: &str| {
        [0, 1].map(|shard| table.meta_on(topic, shard).expect("known").write_queue_nums)
    };
    assert_eq!(shares(&table, "b"), [0, 1]);
    assert_eq!(table.write_host("b", 3, 0), Some(1), "shard 0 forwards");
    assert_eq!(table.write_host("b", 3, 1), None, "shard 1 hosts it");
    table.upsert(topic_config("b", 5, 6), 3).expect("grows");
    assert_eq!(
        shares(&table, "b"),
        [2, 3],
        "the first queue stays on shard 1"
    );
    table.upsert(topic_config("b", 3, 6), 4).expect("shrinks");
    assert_eq!(shares(&table, "b"), [1, 2]);
    // TBW102 is every shard's, whole.
    assert_eq!(shares(&table, "TBW102"), [8, 8]);
    // A shard registers the topics it hosts a queue of, with its share.
    for shard in 0..2 {
        let registered = table.wrapper_on(shard, &BTreeMap::new()).topic_config_table;
        for topic in ["a", "b", "c"] {
            let share = shares(&table, topic)[shard];
            let shown = registered.get(topic).map_or(0, |t| t.write_queue_nums);
            assert_eq!(shown, share, "{topic} on shard {shard}");
        }
    }
}

#[test]
fn a_store_of_the_copied_layout_keeps_every_queue_it_had() {
    let config = BrokerConfig::default();
    let mut stored = StoredTopics::default();
    for topic in [
        topic_config("orders", 4, 6),
        topic_config("DefaultCluster", 16, 7),
    ] {
        let name = topic.topic_name.clone();
        stored.wrapper.topic_config_table.insert(name, topic);
    }
    let table =
        TopicTable::open(stored.clone(), StoreLayout::Copied, &config, 2, 1).expect("opens");
    let orders = table.get("orders").expect("kept");
    assert_eq!((orders.write_queue_nums, orders.read_queue_nums), (8, 8));
    for shard in 0..2 {
        let meta = table.meta_on("orders", shard).expect("hosted");
        assert_eq!(meta.write_queue_nums, 4, "shard {shard} keeps its 4 queues");
        let cluster = table.meta_on("DefaultCluster", shard).expect("system");
        assert_eq!(cluster.write_queue_nums, 16, "system topics stay whole");
    }
    // The same file in a placed store is a hand-written one: its topic is placed afresh.
    let placed = TopicTable::open(stored, StoreLayout::Placed, &config, 2, 1).expect("opens");
    assert_eq!(placed.get("orders").expect("kept").write_queue_nums, 4);
    let mut bad = StoredTopics::default();
    bad.wrapper
        .topic_config_table
        .insert("x".into(), topic_config("x", 1, 6));
    bad.shard_of_first_queue.insert("x".into(), 2);
    let refused = TopicTable::open(bad, StoreLayout::Placed, &config, 2, 1).expect_err("shard 2");
    assert!(refused.contains("shard 2"), "{refused}");
}

#[test]
fn meta_reads_perm_queues_and_filter_type() {
    let mut config = topic_config("t", 4, perm::READ);
    config.write_queue_nums = 2;
    config.topic_filter_type = "MULTI_TAG".into();
    let meta = TopicMeta::of(&config);
    assert!(meta.readable() && !meta.writable() && meta.multi_tag);
    assert_eq!(meta.queue_count(), 4);
}

#[test]
fn the_change_log_tells_what_changed_until_a_removal_or_its_end() {
    let mut table = TopicTable::new(2);
    table.upsert(topic_config("a", 1, 6), 1).expect("room");
    let after_a = table.data_version.counter;
    table.upsert(topic_config("b", 1, 6), 2).expect("room");
    table.upsert(topic_config("a", 2, 6), 3).expect("room");
    let since: Vec<&str> = table.changes_since(after_a).expect("known").collect();
    assert_eq!(since, ["b", "a"]);
    assert_eq!(
        table
            .changes_since(table.data_version.counter)
            .expect("known")
            .count(),
        0
    );
    let before_removal = table.data_version.counter;
    table.remove("b", 4);
    assert!(
        table.changes_since(before_removal).is_none(),
        "a removal needs a full look"
    );
    let after_removal = table.data_version.counter;
    for i in 0..CHANGE_LOG_MAX {
        table
            .upsert(topic_config(&format!("t{i}"), 1, 6), 5)
            .expect("room");
    }
    assert_eq!(
        table.changes_since(after_removal).expect("held").count(),
        CHANGE_LOG_MAX
    );
    table
        .upsert(topic_config("one_more", 1, 6), 6)
        .expect("room");
    assert!(
        table.changes_since(after_removal).is_none(),
        "the log forgot the oldest"
    );
}

/// Shard `shard`'s GET_ALL_TOPIC_CONFIG answer of `table`, with `own` its own topics.
fn answer_of(
    table: &TopicTable,
    shard: usize,
    own: &BTreeMap<String, TopicConfig>,
) -> ShardTopicConfigs {
    let wrapper = table.wrapper_on(shard, own);
    let shard_of_first_queue = wrapper
        .topic_config_table
        .keys()
        .filter_map(|name| match table.placement(name)? {
            Placement::Spread { first } => Some((name.clone(), first)),
            Placement::EveryShard => None,
        })
        .collect();
    ShardTopicConfigs {
        data_version: wrapper.data_version,
        topic_config_table: wrapper.topic_config_table,
        shard_of_first_queue,
    }
}

/// A master of `shards` shards with topics of 1, 3 and 4 queues (read and write counts
/// apart on one), and the system topics.
fn master_table(shards: usize) -> (BrokerConfig, TopicTable) {
    let config = BrokerConfig::default();
    let mut table = TopicTable::new(shards).with_system_topics(&config, 1);
    table.upsert(topic_config("one", 1, 6), 2).expect("room");
    table.upsert(topic_config("three", 3, 6), 3).expect("room");
    let mut uneven = topic_config("uneven", 4, 6);
    uneven.read_queue_nums = 2;
    table.upsert(uneven, 4).expect("room");
    (config, table)
}

#[test]
fn a_slave_rebuilds_its_masters_table_and_placement_from_every_shards_answer() {
    for shards in 1..=4 {
        let (config, master) = master_table(shards);
        let own_names: BTreeSet<String> = (0..shards)
            .flat_map(|k| shard_topics(&config, k).into_keys())
            .collect();
        let answers: Vec<_> = (0..shards)
            .map(|k| answer_of(&master, k, &shard_topics(&config, k)))
            .collect();
        let copied = CopiedTopics::from_shards(&answers, &own_names).expect("rebuilt");
        // A slave that had its own topics and another version ends up equal to the master.
        let mut slave = TopicTable::new(shards).with_system_topics(&config, 7);
        slave.upsert(topic_config("local", 2, 6), 8).expect("room");
        assert!(slave.adopt(&copied).expect("fits"));
        assert_eq!(slave, master, "{shards} shards");
        for k in 0..shards {
            assert_eq!(
                slave
                    .wrapper_on(k, &BTreeMap::new())
                    .topic_config_table
                    .len(),
                {
                    master
                        .wrapper_on(k, &BTreeMap::new())
                        .topic_config_table
                        .len()
                }
            );
        }
        assert!(
            !slave.adopt(&copied).expect("fits"),
            "nothing left to change"
        );
    }
}

#[test]
fn answers_that_do_not_make_one_table_are_refused() {
    let (config, master) = master_table(3);
    let own: BTreeSet<String> = (0..3)
        .flat_map(|k| shard_topics(&config, k).into_keys())
        .collect();
    let answers: Vec<_> = (0..3)
        .map(|k| answer_of(&master, k, &BTreeMap::new()))
        .collect();
    // Shares that no placement gives: one shard counts a queue more.
    let mut wrong = answers.clone();
    let three = wrong[0]
        .topic_config_table
        .get_mut("three")
        .expect("listed");
    three.write_queue_nums += 1;
    let refused = CopiedTopics::from_shards(&wrong, &own).expect_err("no placement");
    assert!(refused.contains("shard count"), "{refused}");
    let mut changed = answers.clone();
    changed[1].data_version.counter += 1;
    let refused = CopiedTopics::from_shards(&changed, &own).expect_err("versions");
    assert!(refused.contains("changed while it was read"), "{refused}");
    let mut beyond = answers;
    beyond[0].shard_of_first_queue.insert("three".into(), 5);
    assert!(CopiedTopics::from_shards(&beyond, &own).is_err());
}

#[test]
fn a_master_version_not_newer_starts_a_new_epoch_of_the_change_log() {
    let (_, master) = master_table(2);
    let copied = CopiedTopics {
        data_version: master.data_version.clone(),
        topics: master
            .names()
            .map(|name| Topic {
                config: master.get(name).expect("held").clone(),
                placement: master.placement(name).expect("held"),
            })
            .collect(),
    };
    let mut slave = TopicTable::new(2);
    for i in 0..10 {
        slave
            .upsert(topic_config(&format!("l{i}"), 1, 6), 1)
            .expect("room");
    }
    let (epoch, counter) = (slave.epoch(), slave.data_version.counter);
    assert!(counter >= master.data_version.counter);
    assert!(slave.adopt(&copied).expect("fits"));
    assert_eq!(
        slave.data_version, master.data_version,
        "the master's, older"
    );
    assert_ne!(slave.epoch(), epoch, "counters before it say nothing now");
    assert!(slave.changes_since(slave.data_version.counter).is_some());

    // A newer version is an ordinary change: the log names what it brought.
    let mut newer = copied.clone();
    newer.data_version.counter += 1;
    newer.topics.push(Topic {
        config: topic_config("added", 1, 6),
        placement: Placement::Spread { first: 1 },
    });
    let (epoch, counter) = (slave.epoch(), slave.data_version.counter);
    assert!(slave.adopt(&newer).expect("fits"));
    assert_eq!(slave.epoch(), epoch);
    let since: Vec<&str> = slave.changes_since(counter).expect("known").collect();
    assert_eq!(since, ["added"]);
    assert_eq!(
        slave.placement("added"),
        Some(Placement::Spread { first: 1 })
    );
}
