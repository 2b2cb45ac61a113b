use std::io::Write;

use super::*;

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(text.as_bytes()).expect("write");
    file
}

#[test]
fn defaults_are_java_defaults() {
    let config = BrokerConfig::default();
    assert_eq!(config.broker_cluster_name, "DefaultCluster");
    assert_eq!(config.listen_port, 10911);
    assert_eq!(config.mapped_file_size_commit_log, 1 << 30);
    assert_eq!(config.mapped_file_size_consume_queue, 6_000_000);
    assert_eq!(config.max_hash_slot_num, 5_000_000);
    assert_eq!(config.max_index_num, 20_000_000);
    assert!(config.message_index_enable);
    assert_eq!(config.default_topic_queue_nums, 8);
    assert_eq!(config.max_message_size, 4 << 20);
    assert_eq!(config.delete_when, vec![4]);
    assert_eq!(config.file_reserved_time, Duration::from_secs(72 * 3600));
    assert_eq!(config.message_delay_level.len(), 18);
    assert_eq!(config.message_delay_level[4], Duration::from_secs(60));
    assert_eq!(config.message_delay_level[17], Duration::from_secs(7200));
    assert_eq!(config.flush_delay_offset_interval, Duration::from_secs(10));
    assert!(config.auto_create_topic_enable && config.embedded_namesrv);
    assert_eq!(config.namesrv_listen_port, 9876);
    assert_eq!(config.max_connections_per_shard, 16_384);
    assert_eq!(config.max_queued_response_bytes_per_shard, 64 << 20);
}

#[test]
fn a_shards_connections_are_bounded_by_its_own_keys() {
    let mut config = BrokerConfig::default();
    config
        .set("maxConnectionsPerShard", "100", "-o")
        .expect("a count");
    config
        .set("maxQueuedResponseBytesPerShard", " 1048576", "-o")
        .expect("bytes");
    assert_eq!(config.max_connections_per_shard, 100);
    assert_eq!(config.max_queued_response_bytes_per_shard, 1 << 20);
    for (key, value) in [
        ("maxConnectionsPerShard", "0"),
        ("maxConnectionsPerShard", "many"),
        ("maxQueuedResponseBytesPerShard", "0"),
        ("maxQueuedResponseBytesPerShard", "-1"),
    ] {
        let err = config.set(key, value, "-o").expect_err("refused");
        assert!(err.to_string().contains(key), "{err}");
    }
}

#[test]
fn io_memory_is_the_log_blocks_unless_set() {
    let mut config = BrokerConfig::default();
    assert_eq!(
        config.io_memory_bytes_per_shard, None,
        "what the log's blocks take"
    );
    config
        .set("ioMemoryBytesPerShard", "16777216", "-o")
        .expect("bytes");
    assert_eq!(config.io_memory_bytes_per_shard, Some(16 << 20));
}

#[test]
fn a_java_broker_conf_applies_and_ignores_what_has_no_meaning() {
    let conf = file(
        "brokerClusterName = ProdCluster\nbrokerName=broker-b\nbrokerId=0\n\
         deleteWhen=04;16\nfileReservedTime=48\nbrokerRole=ASYNC_MASTER\n\
         flushDiskType=SYNC_FLUSH\nnamesrvAddr=127.0.0.1:9876;127.0.0.2:9877\n\
         sendMessageThreadPoolNums=128\nbrokerIP2=10.0.0.9\naclEnable=false\n\
         mapedFileSizeCommitLog=1048576\nflushDelayOffsetInterval=2500\n\
         maxHashSlotNum=1000\nmaxIndexNum=4000\nmessageIndexEnable=false\n\
         timerMaxDelaySec=86400\ntimerPrecisionMs=500\n",
    );
    let mut config = BrokerConfig::default();
    let ignored = config.apply_file(conf.path()).expect("applies");
    assert_eq!(ignored, ["sendMessageThreadPoolNums"]);
    assert_eq!(config.broker_cluster_name, "ProdCluster");
    assert_eq!(config.broker_name, "broker-b");
    assert_eq!(config.delete_when, vec![4, 16]);
    assert_eq!(config.broker_ip2, Some("10.0.0.9".parse().unwrap()));
    assert_eq!(config.flush_disk_type, FlushDiskType::SyncFlush);
    assert_eq!(config.mapped_file_size_commit_log, 1 << 20);
    assert_eq!(
        (config.max_hash_slot_num, config.max_index_num),
        (1000, 4000)
    );
    assert!(!config.message_index_enable);
    assert_eq!(config.namesrv_addr.len(), 2);
    assert_eq!(
        config.flush_delay_offset_interval,
        Duration::from_millis(2500)
    );
    assert_eq!(config.timer_max_delay, Duration::from_secs(86400));
    assert_eq!(config.timer_precision_ms, 500);
}

#[test]
fn an_unknown_key_is_named_with_its_line() {
    let conf = file("brokerName=b\n\nlistenPrt=10911\n");
    let err = BrokerConfig::default()
        .apply_file(conf.path())
        .expect_err("unknown key");
    let text = err.to_string();
    assert!(
        text.contains("`listenPrt`") && text.contains("line 3"),
        "{text}"
    );
}

#[test]
fn invalid_values_name_key_and_value() {
    let mut config = BrokerConfig::default();
    for (key, value) in [
        ("listenPort", "0"),
        ("listenPort", "70000"),
        ("flushDiskType", "LAZY"),
        ("brokerRole", "MASTER"),
        ("slaveReadEnable", "no"),
        ("accessMessageInMemoryMaxRatio", "101"),
        ("transactionCheckMax", "many"),
        ("transactionCheckMax", "-1"),
        ("transactionTimeOut", "0"),
        ("transactionCheckInterval", "0"),
        ("brokerPermission", "8"),
        ("syncFlushTimeout", "0"),
        ("deleteWhen", "25"),
        ("autoCreateTopicEnable", "yes"),
        ("flushDelayOffsetInterval", "0"),
        ("messageDelayLevel", "1s 5x"),
        ("timerMaxDelaySec", "0"),
        ("timerPrecisionMs", "60001"),
        ("brokerName", "bad name"),
        ("namesrvAddr", "nohost-invalid.invalid:x"),
        ("spinBeforeParkMicros", "-1"),
        ("ioMemoryBytesPerShard", "65535"),
        ("ioMemoryBytesPerShard", "1073741825"),
    ] {
        let err = config.set(key, value, "-o").expect_err(key);
        let text = err.to_string();
        assert!(text.contains(key) && text.contains(value), "{text}");
    }
}

#[test]
fn finish_fills_broker_ip_and_the_embedded_namesrv() {
    let mut config = BrokerConfig::default();
    config
        .set("namesrvListenPort", "19876", "-o")
        .expect("port");
    config.finish().expect("finish");
    assert_eq!(config.broker_ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_eq!(config.namesrv_addr, ["127.0.0.1:19876".parse().unwrap()]);
    config.finish().expect("finish twice");
    assert_eq!(config.namesrv_addr.len(), 1, "not added twice");

    let mut specific = BrokerConfig::default();
    specific.set("listenAddr", "127.0.0.2", "-o").expect("addr");
    specific.set("embeddedNamesrv", "false", "-o").expect("off");
    specific.finish().expect("finish");
    assert_eq!(specific.broker_ip().to_string(), "127.0.0.2");
    assert!(specific.namesrv_addr.is_empty());
}

#[test]
fn a_master_has_id_zero_and_a_slave_an_id_and_its_masters_address() {
    let mut master = BrokerConfig::default();
    master.set("brokerId", "1", "-o").expect("an id");
    let err = master.finish().expect_err("a master with a slave's id");
    assert!(err.to_string().contains("brokerId 1"), "{err}");

    let mut slave = BrokerConfig::default();
    slave.set("brokerRole", "SLAVE", "-o").expect("a role");
    let err = slave.finish().expect_err("a slave with id 0");
    assert!(err.to_string().contains("brokerId 0"), "{err}");
    slave.set("brokerId", "1", "-o").expect("an id");
    let err = slave
        .finish()
        .expect_err("a slave with no way to find its master");
    assert!(err.to_string().contains("namesrvAddr"), "{err}");
    let mut named = slave.clone();
    named
        .set("haMasterAddress", "127.0.0.1:10912", "-o")
        .expect("an address");
    named.finish().expect("a slave of a given master");
    slave
        .set("namesrvAddr", "127.0.0.1:9876", "-o")
        .expect("NameServers");
    slave.finish().expect("a slave learning its master");
    assert_eq!(slave.ha_master_address, None);
}

/// What shardmq does with one value of a Java key.
enum Fate {
    /// Set, and the configuration shows it.
    Honoured(fn(&BrokerConfig) -> bool),
    /// Accepted because it asks for what shardmq does anyway: nothing changes.
    Accepted,
    /// Start-up stops, naming the key and what to do.
    Refused,
    /// A tuning knob of machinery shardmq lacks: accepted with a warning.
    Ignored,
}

/// Every Java key that could change durability, placement or permissions, with the values
/// a Java user sets (docs/operations.md, "What happens to every Java key").
fn java_keys() -> Vec<(&'static str, &'static str, Fate)> {
    use Fate::*;
    vec![
        ("brokerRole", "ASYNC_MASTER", Accepted),
        (
            "brokerRole",
            "SYNC_MASTER",
            Honoured(|c| c.broker_role == BrokerRole::SyncMaster),
        ),
        (
            "brokerRole",
            "SLAVE",
            Honoured(|c| c.broker_role == BrokerRole::Slave),
        ),
        ("haMasterAddress", "", Accepted),
        (
            "haMasterAddress",
            "10.0.0.1:10912",
            Honoured(|c| c.ha_master_address == Some("10.0.0.1:10912".parse().expect("addr"))),
        ),
        (
            "slaveReadEnable",
            "false",
            Honoured(|c| !c.slave_read_enable),
        ),
        ("slaveReadEnable", "true", Honoured(|c| c.slave_read_enable)),
        (
            "offsetCheckInSlave",
            "true",
            Honoured(|c| c.offset_check_in_slave),
        ),
        (
            "accessMessageInMemoryMaxRatio",
            "0",
            Honoured(|c| c.access_message_in_memory_max_ratio == 0),
        ),
        ("enableControllerMode", "false", Accepted),
        ("enableControllerMode", "true", Refused),
        ("enableDLegerCommitLog", "false", Accepted),
        ("enableDLegerCommitLog", "true", Refused),
        ("aclEnable", "TRUE", Honoured(|c| c.acl.enable)),
        (
            "aclFile",
            "/etc/shardmq/plain_acl.yml",
            Honoured(|c| c.acl.path() == Some(Path::new("/etc/shardmq/plain_acl.yml"))),
        ),
        (
            "accessKey",
            "broker-a",
            Honoured(|c| c.acl.access_key.as_deref() == Some("broker-a")),
        ),
        (
            "transactionTimeOut",
            "1500",
            Honoured(|c| c.transaction_timeout == Duration::from_millis(1500)),
        ),
        (
            "transactionCheckMax",
            "3",
            Honoured(|c| c.transaction_check_max == 3),
        ),
        (
            "transactionCheckInterval",
            "500",
            Honoured(|c| c.transaction_check_interval == Duration::from_millis(500)),
        ),
        (
            "rejectTransactionMessage",
            "true",
            Honoured(|c| c.reject_transaction_message),
        ),
        (
            "rejectTransactionMessage",
            "false",
            Honoured(|c| !c.reject_transaction_message),
        ),
        ("timerWheelEnable", "true", Accepted),
        ("timerWheelEnable", "false", Refused),
        ("checkCRCOnRecover", "true", Accepted),
        ("checkCRCOnRecover", "false", Refused),
        ("fetchNamesrvAddrByAddressServer", "false", Accepted),
        ("fetchNamesrvAddrByAddressServer", "true", Refused),
        (
            "brokerPermission",
            "4",
            Honoured(|c| c.broker_permission == 4),
        ),
        (
            "syncFlushTimeout",
            "2000",
            Honoured(|c| c.sync_flush_timeout == Duration::from_secs(2)),
        ),
        (
            "flushConsumerOffsetInterval",
            "1000",
            Honoured(|c| c.flush_consumer_offset_interval == Duration::from_secs(1)),
        ),
        (
            "flushCommitLogLeastPages",
            "8",
            Honoured(|c| c.flush_commit_log_least_pages == 8),
        ),
        (
            "diskMaxUsedSpaceRatio",
            "60",
            Honoured(|c| c.disk_max_used_space_ratio == 60),
        ),
        (
            "diskSpaceCleanForciblyRatio",
            "90",
            Honoured(|c| c.disk_space_clean_forcibly_ratio == 90),
        ),
        (
            "cleanFileForciblyEnable",
            "false",
            Honoured(|c| !c.clean_file_forcibly_enable),
        ),
        (
            "registerNameServerPeriod",
            "20000",
            Honoured(|c| c.register_name_server_period == Duration::from_secs(20)),
        ),
        // Java keeps the period within 10..=60 s.
        (
            "registerNameServerPeriod",
            "1000",
            Honoured(|c| c.register_name_server_period == Duration::from_secs(10)),
        ),
        (
            "brokerIP2",
            "10.0.0.9",
            Honoured(|c| c.ha_ip().to_string() == "10.0.0.9"),
        ),
        (
            "traceTopicEnable",
            "true",
            Honoured(|c| c.trace_topic_enable),
        ),
        ("transientStorePoolEnable", "true", Ignored),
        ("flushIntervalConsumeQueue", "2000", Ignored),
        ("flushConsumeQueueLeastPages", "4", Ignored),
        (
            "compressedRegister",
            "true",
            Honoured(|c| c.compressed_register),
        ),
        (
            "enableSplitRegistration",
            "true",
            Honoured(|c| c.enable_split_registration),
        ),
        (
            "splitRegistrationSize",
            "100",
            Honoured(|c| c.split_registration_size == 100),
        ),
        ("forceRegister", "false", Ignored),
    ]
}

#[test]
fn every_java_key_is_honoured_refused_or_a_tuning_knob() {
    for (key, value, fate) in java_keys() {
        let mut config = BrokerConfig::default();
        let outcome = config.set(key, value, "broker.conf line 7");
        let what = format!("{key}={value}");
        match fate {
            Fate::Honoured(effect) => {
                assert_eq!(outcome.expect(&what), Applied::Set, "{what}");
                assert!(effect(&config), "{what} has its effect");
            }
            Fate::Accepted => {
                assert_eq!(outcome.expect(&what), Applied::Set, "{what}");
                assert_eq!(config, BrokerConfig::default(), "{what} changes nothing");
            }
            Fate::Refused => {
                let err = outcome.expect_err(&what);
                let text = err.to_string();
                assert!(matches!(err, ConfigError::Unsupported { .. }), "{text}");
                assert!(
                    text.contains(&what)
                        && text.contains("line 7")
                        && text.contains("remove the key"),
                    "names the key, where, and what to set: {text}"
                );
            }
            Fate::Ignored => assert_eq!(outcome.expect(&what), Applied::Ignored, "{what}"),
        }
    }
    for key in IGNORED_KEYS {
        let outcome = BrokerConfig::default().set(key, "1", "-o");
        assert_eq!(outcome.expect(key), Applied::Ignored, "{key}");
    }
}

#[test]
fn store_paths_are_refused_off_the_store_root() {
    let root = std::env::temp_dir().join("shardmq-store-paths");
    for (key, default) in [
        ("storePathCommitLog", "commitlog"),
        ("storePathConsumeQueue", "consumequeue"),
        ("storePathIndex", "index"),
        ("storeCheckpoint", "checkpoint"),
        ("abortFile", "abort"),
    ] {
        // Java's default, set before the root as Java files often do: accepted.
        let mut config = BrokerConfig::default();
        let java_default = root.join(default).display().to_string();
        config.set(key, &java_default, "-o").expect(key);
        config
            .set("storePathRootDir", &root.display().to_string(), "-o")
            .expect("root");
        config.finish().expect("Java's default is accepted");

        let mut config = BrokerConfig::default();
        config
            .set(key, "/data/elsewhere", "broker.conf line 3")
            .expect(key);
        let err = config.finish().expect_err("another disk is refused");
        let text = err.to_string();
        assert!(
            text.contains(key) && text.contains("line 3") && text.contains("storePathRootDir"),
            "{text}"
        );
        assert!(text.contains("shard-<k>") || key == "abortFile", "{text}");

        // Set back to empty (Java's unset): accepted.
        config.set(key, "", "-o").expect(key);
        config.finish().expect("unset");
    }
}

#[test]
fn host_names_are_valid_broker_names() {
    let mut config = BrokerConfig::default();
    config
        .set("brokerName", "host-1.example.com", "-o")
        .expect("a host name");
    assert!(crate::broker::metadata::topics::shard_topics(&config, 0).is_empty());
}

#[test]
fn shard_broker_names_are_suffixed() {
    let config = BrokerConfig::default();
    assert_eq!(config.shard_broker_name(0), "broker-a-0");
    assert_eq!(config.shard_broker_name(3), "broker-a-3");
}

#[test]
fn a_relative_store_path_is_made_absolute() {
    let mut config = BrokerConfig::default();
    config
        .set("storePathRootDir", "data/store", "-o")
        .expect("path");
    let expected = std::env::current_dir().expect("cwd").join("data/store");
    assert_eq!(config.store_path_root_dir, expected);
}

#[test]
fn spin_before_park_is_microseconds() {
    let mut config = BrokerConfig::default();
    assert_eq!(config.spin_before_park, shards::SPIN_BEFORE_PARK_DEFAULT);
    config
        .set("spinBeforeParkMicros", "1000", "-o")
        .expect("valid");
    assert_eq!(config.spin_before_park, Duration::from_millis(1));
}

#[test]
fn a_java_namesrv_conf_is_honoured_refused_or_ignored_by_key() {
    let conf = file(
        "listenPort=19876\nbindAddress=127.0.0.1\nkvConfigPath=kv/kvConfig.json\n\
         orderMessageEnable=true\nreturnOrderTopicConfigToBroker=false\n\
         scanNotActiveBrokerInterval=2000\ndeleteTopicWithBrokerRegistration=false\n\
         rocketmqHome=/opt/rocketmq\nserverWorkerThreads=8\nclusterTest=false\n\
         enableAllTopicList=true\n",
    );
    let mut config = NamesrvConfig::default();
    let ignored = config.apply_file(conf.path()).expect("applies");
    assert_eq!(ignored, ["rocketmqHome", "serverWorkerThreads"]);
    assert_eq!(config.listen().to_string(), "127.0.0.1:19876");
    let kv = std::env::current_dir()
        .expect("cwd")
        .join("kv/kvConfig.json");
    assert_eq!(config.kv_config_path, Some(kv));
    assert!(config.order_message_enable && !config.return_order_topic_config_to_broker);
    assert!(!config.delete_topic_with_broker_registration);
    assert_eq!(
        config.scan_not_active_broker_interval,
        Duration::from_secs(2)
    );

    for (key, value) in [
        ("clusterTest", "true"),
        ("enableControllerInNamesrv", "true"),
        ("supportActingMaster", "true"),
        ("notifyMinBrokerIdChanged", "true"),
        ("enableAllTopicList", "false"),
        ("enableTopicList", "false"),
    ] {
        let err = config
            .set(key, value, "namesrv.conf line 2")
            .expect_err(key);
        let text = err.to_string();
        assert!(matches!(err, ConfigError::Unsupported { .. }), "{text}");
        assert!(text.contains(key) && text.contains("line 2"), "{text}");
    }
    for (key, value) in [
        ("listenPort", "0"),
        ("kvConfigPath", ""),
        ("listenPrt", "1"),
    ] {
        let err = config.set(key, value, "-o").expect_err(key);
        assert!(err.to_string().contains(key), "{err}");
    }
    assert!(NamesrvConfig::standalone()
        .kv_config_path
        .is_some_and(|path| path.ends_with("namesrv/kvConfig.json")));
}
