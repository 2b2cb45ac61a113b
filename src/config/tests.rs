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
fn a_java_broker_conf_applies_and_ignores_what_has_no_meaning() {
    let conf = file(
        "brokerClusterName = ProdCluster\nbrokerName=broker-b\nbrokerId=0\n\
         deleteWhen=04;16\nfileReservedTime=48\nbrokerRole=SYNC_MASTER\n\
         flushDiskType=SYNC_FLUSH\nnamesrvAddr=127.0.0.1:9876;127.0.0.2:9877\n\
         sendMessageThreadPoolNums=128\nbrokerIP2=10.0.0.9\naclEnable=false\n\
         mapedFileSizeCommitLog=1048576\nflushDelayOffsetInterval=2500\n\
         maxHashSlotNum=1000\nmaxIndexNum=4000\nmessageIndexEnable=false\n\
         timerMaxDelaySec=86400\ntimerPrecisionMs=500\n",
    );
    let mut config = BrokerConfig::default();
    let ignored = config.apply_file(conf.path()).expect("applies");
    assert_eq!(
        ignored,
        ["sendMessageThreadPoolNums", "brokerIP2", "aclEnable"]
    );
    assert_eq!(config.broker_cluster_name, "ProdCluster");
    assert_eq!(config.broker_name, "broker-b");
    assert_eq!(config.delete_when, vec![4, 16]);
    assert_eq!(config.broker_role, BrokerRole::SyncMaster);
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
        ("deleteWhen", "25"),
        ("autoCreateTopicEnable", "yes"),
        ("flushDelayOffsetInterval", "0"),
        ("messageDelayLevel", "1s 5x"),
        ("timerMaxDelaySec", "0"),
        ("timerPrecisionMs", "60001"),
        ("brokerName", "bad name"),
        ("namesrvAddr", "nohost-invalid.invalid:x"),
        ("spinBeforeParkMicros", "-1"),
    ] {
        let err = config.set(key, value, "-o").expect_err(key);
        let text = err.to_string();
        assert!(text.contains(key) && text.contains(value), "{text}");
    }
}

#[test]
fn features_shardmq_lacks_are_refused() {
    let err = BrokerConfig::default()
        .set("aclEnable", "true", "-o")
        .expect_err("acl");
    assert!(matches!(err, ConfigError::Unsupported { .. }));
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
fn a_slave_needs_a_non_zero_id() {
    let mut config = BrokerConfig::default();
    config.set("brokerRole", "SLAVE", "-o").expect("role");
    assert!(config.finish().is_err());
    config.set("brokerId", "1", "-o").expect("id");
    config.finish().expect("slave with id 1");
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
