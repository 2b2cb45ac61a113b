use super::*;
use crate::wire::Refusal;

#[test]
fn a_new_group_has_javas_defaults_and_shape() {
    let text = String::from_utf8(body::encode(&SubscriptionGroupConfig::new("g"))).expect("utf8");
    assert_eq!(
        text,
        r#"{"attributes":{},"brokerId":0,"consumeBroadcastEnable":true,"consumeEnable":true,"consumeFromMinEnable":true,"consumeMessageOrderly":false,"consumeTimeoutMinute":15,"groupName":"g","groupRetryPolicy":{"type":"CUSTOMIZED"},"groupSysFlag":0,"notifyConsumerIdsChangedEnable":true,"retryMaxTimes":16,"retryQueueNums":1,"whichBrokerWhenConsumeSlowly":1}"#
    );
}

#[test]
fn bodies_decode_leniently() {
    let config = decode_config(
        br#"{"groupName":"g","consumeEnable":"false","retryMaxTimes":"3","brokerId":null,
            "consumeBroadcastEnable":0,"retryQueueNums":2,"unknown":1}"#,
    )
    .expect("decoded");
    assert!(!config.consume_enable && !config.consume_broadcast_enable);
    assert_eq!((config.retry_max_times, config.retry_queue_nums), (3, 2));
    assert_eq!(config.broker_id, 0);
    assert!(config.consume_from_min_enable && config.notify_consumer_ids_changed_enable);
    assert_eq!(config.which_broker_when_consume_slowly, 1);
}

#[test]
fn bad_bodies_and_names_are_refused() {
    for bad in [
        &b"not json"[..],
        br#"{"groupName":"g","retryMaxTimes":"many"}"#,
        br#"{"retryMaxTimes":1}"#,
        br#"{"groupName":"a b"}"#,
        br#"[1]"#,
    ] {
        let err = decode_config(bad).expect_err("refused");
        assert_eq!(err.response_code(), 29, "{err}");
    }
    assert!(validate_group(&"g".repeat(255)).is_ok());
    assert!(validate_group(&"g".repeat(256)).is_err());
}

#[test]
fn auto_creation_follows_the_flag_except_for_system_groups() {
    assert!(may_auto_create("g", true));
    assert!(!may_auto_create("g", false));
    assert!(may_auto_create("CID_RMQ_SYS_X", false));
    assert!(!may_auto_create("bad name", true));
}

#[test]
fn the_table_is_bounded_and_versioned() {
    let mut table = GroupTable::default();
    assert!(table
        .upsert(SubscriptionGroupConfig::new("g"), 5)
        .expect("added"));
    assert!(!table
        .upsert(SubscriptionGroupConfig::new("g"), 6)
        .expect("same"));
    assert_eq!(
        (table.data_version.counter, table.data_version.timestamp),
        (1, 5)
    );
    for i in table.len()..limits::BROKER_SUBSCRIPTION_GROUPS_MAX {
        table.put(SubscriptionGroupConfig::new(&format!("x{i}")));
    }
    let full = table.upsert(SubscriptionGroupConfig::new("new"), 7);
    assert_eq!(full, Err(BrokerError::TooManyGroups));
    let changed = SubscriptionGroupConfig {
        retry_max_times: 2,
        ..SubscriptionGroupConfig::new("g")
    };
    assert!(table.upsert(changed, 8).expect("replaced"));
    assert!(table.remove("g", 9) && !table.remove("g", 9));
}

#[test]
fn the_file_round_trips_in_javas_shape() {
    let dir = tempfile::tempdir().expect("dir");
    let path = groups_file(dir.path());
    assert_eq!(
        load(&path).expect("missing is empty"),
        GroupTable::default()
    );
    let table = GroupTable::default().with_system_groups(3);
    assert!(table.get("TOOLS_CONSUMER").is_some());
    save(&path, &table).expect("saved");
    assert_eq!(load(&path).expect("loaded"), table);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    assert_eq!(json["dataVersion"]["counter"], 1);
    assert_eq!(
        json["subscriptionGroupTable"]["TOOLS_CONSUMER"]["retryMaxTimes"],
        16
    );
    assert!(json["forbiddenTable"].is_object());
}

#[test]
fn javas_own_file_loads() {
    let dir = tempfile::tempdir().expect("dir");
    let path = groups_file(dir.path());
    std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
    let java = r#"{"dataVersion":{"counter":7,"timestamp":1700000000000},
        "subscriptionGroupTable":{"orders":{"consumeEnable":false,"retryMaxTimes":5}}}"#;
    std::fs::write(&path, java).expect("written");
    let table = load(&path).expect("loaded");
    assert_eq!(table.data_version.counter, 7);
    let orders = table.get("orders").expect("group");
    assert_eq!(orders.group_name, "orders");
    assert!(!orders.consume_enable);
    assert_eq!(orders.retry_max_times, 5);
}

#[test]
fn a_slave_takes_its_masters_groups_and_version() {
    let mut master = GroupTable::default().with_system_groups(5);
    master
        .upsert(SubscriptionGroupConfig::new("orders"), 6)
        .expect("room");
    let mut slave = GroupTable::default().with_system_groups(9);
    slave
        .upsert(SubscriptionGroupConfig::new("local"), 10)
        .expect("room");
    slave
        .upsert(SubscriptionGroupConfig::new("more"), 11)
        .expect("room");
    assert!(slave.adopt(&master.wrapper()).expect("fits"));
    assert_eq!(slave, master);
    assert!(!slave.adopt(&master.wrapper()).expect("fits"));
    // A new version alone is taken too.
    let mut wrapper = master.wrapper();
    wrapper.data_version.counter += 5;
    assert!(slave.adopt(&wrapper).expect("fits"));
    assert_eq!(slave.data_version, wrapper.data_version);
    assert!(
        slave.take_record().is_some(),
        "the journal gets the version"
    );
}
