use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::config::{
    AclConfig, Applied, BrokerRole, FlushDiskType, MetricsConfig, MetricsExporter,
};

/// A configuration with every field away from its default. A struct literal without
/// `..Default`: a new field does not compile until it is given a value here, and then the
/// round trip below fails until `properties` shows it.
fn everything_set() -> BrokerConfig {
    let ip = |last| IpAddr::V4(Ipv4Addr::new(10, 0, 0, last));
    BrokerConfig {
        broker_cluster_name: "C1".into(),
        broker_name: "b1".into(),
        broker_id: 2,
        broker_role: BrokerRole::Slave,
        ha_master_address: Some(SocketAddr::new(ip(1), 10912)),
        ha_send_heartbeat_interval: Duration::from_millis(1500),
        ha_housekeeping_interval: Duration::from_millis(7000),
        ha_transfer_batch_size: 4096,
        slave_read_enable: true,
        offset_check_in_slave: true,
        access_message_in_memory_max_ratio: 30,
        namesrv_addr: vec![SocketAddr::new(ip(2), 9876), SocketAddr::new(ip(3), 9877)],
        listen_addr: ip(4),
        listen_port: 20911,
        broker_ip1: Some(ip(5)),
        broker_ip2: Some(ip(6)),
        broker_permission: 4,
        ha_listen_port: Some(20000),
        store_path_root_dir: PathBuf::from("/var/lib/store"),
        mapped_file_size_commit_log: 1 << 20,
        mapped_file_size_consume_queue: 60_000,
        max_hash_slot_num: 100,
        max_index_num: 400,
        message_index_enable: false,
        flush_disk_type: FlushDiskType::SyncFlush,
        flush_interval_commit_log: Duration::from_millis(250),
        flush_commit_log_least_pages: 2,
        sync_flush_timeout: Duration::from_millis(900),
        flush_consumer_offset_interval: Duration::from_millis(800),
        delete_when: vec![1, 13],
        file_reserved_time: Duration::from_secs(5 * 3600),
        disk_max_used_space_ratio: 70,
        disk_space_clean_forcibly_ratio: 80,
        clean_file_forcibly_enable: false,
        auto_create_topic_enable: false,
        auto_create_subscription_group: false,
        cluster_topic_enable: false,
        broker_topic_enable: false,
        trace_topic_enable: true,
        msg_trace_topic_name: "TRACE".into(),
        register_name_server_period: Duration::from_secs(20),
        compressed_register: true,
        enable_split_registration: true,
        split_registration_size: 50,
        default_topic_queue_nums: 3,
        max_message_size: 1024,
        message_delay_level: vec![
            Duration::from_secs(2),
            Duration::from_secs(120),
            Duration::from_secs(7200),
            Duration::from_secs(2 * 86_400),
            Duration::from_secs(90),
        ],
        flush_delay_offset_interval: Duration::from_millis(300),
        transaction_timeout: Duration::from_millis(700),
        transaction_check_interval: Duration::from_millis(600),
        transaction_check_max: 4,
        reject_transaction_message: true,
        timer_max_delay: Duration::from_secs(3600),
        timer_precision_ms: 100,
        shards: Some(3),
        spin_before_park: Duration::from_micros(7),
        io_memory_bytes_per_shard: Some(1 << 20),
        embedded_namesrv: false,
        namesrv_listen_port: 19876,
        max_connections_per_shard: 99,
        max_queued_response_bytes_per_shard: 12345,
        metrics: MetricsConfig {
            exporter: MetricsExporter::Prometheus,
            prom_host: Some(ip(7)),
            prom_port: 5558,
            labels: vec![
                ("instance_id".into(), "i1".into()),
                ("zone".into(), "z".into()),
            ],
            in_delta: true,
        },
        acl: AclConfig {
            enable: true,
            file: Some(PathBuf::from("/etc/shardmq/plain_acl.yml")),
            beside_config: None,
            access_key: Some("broker-a".into()),
            // Shown masked, so it cannot be read back: `the_secret_key_is_never_shown`.
            secret_key: None,
        },
        store_paths: Vec::new(),
    }
}

#[test]
fn the_secret_key_is_never_shown() {
    let mut set = everything_set();
    set.acl.secret_key = Some("12345678".into());
    let shown = set.properties();
    assert_eq!(shown["secretKey"], "******");
    assert!(shown.values().all(|value| !value.contains("12345678")));
}

#[test]
fn every_setting_is_shown_as_set_reads_it_back() {
    let set = everything_set();
    let shown = set.properties();
    let mut read = BrokerConfig::default();
    for (key, value) in &shown {
        let applied = read.set(key, value, "GET_BROKER_CONFIG");
        assert_eq!(applied.expect(key), Applied::Set, "{key}={value}");
    }
    assert_eq!(read, set, "every field shown, in the text that sets it");
    assert_eq!(shown["messageDelayLevel"], "2s 2m 2h 2d 90s");
    assert_eq!(shown["deleteWhen"], "01;13");
    assert_eq!(shown["aclEnable"], "true");
    assert!(!shown.contains_key("sendMessageThreadPoolNums"));
}

#[test]
fn an_update_changes_live_keys_only_and_names_the_first_refused() {
    let config = BrokerConfig::default();
    let entries = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let next = config
        .updated(
            &entries(&[("maxMessageSize", "2048"), ("brokerPermission", "4")]),
            "req",
        )
        .expect("live keys");
    assert_eq!((next.max_message_size, next.broker_permission), (2048, 4));
    for key in LIVE_KEYS {
        let value = &config.properties()[key];
        assert!(
            config.updated(&entries(&[(key, value)]), "req").is_ok(),
            "{key}"
        );
    }
    let refused = |pairs: &[(&str, &str)]| config.updated(&entries(pairs), "req").unwrap_err();
    let text = refused(&[("maxMessageSize", "2048"), ("listenPort", "1")]).to_string();
    assert!(
        text.contains("`listenPort=1`") && text.contains("restart"),
        "{text}"
    );
    let text = refused(&[("aclEnable", "false")]).to_string();
    assert!(
        text.contains("aclEnable") && text.contains("restart"),
        "{text}"
    );
    let text = refused(&[("serverWorkerThreads", "8")]).to_string();
    assert!(text.contains("no meaning"), "{text}");
    assert!(matches!(
        refused(&[("noSuchKey", "1")]),
        ConfigError::UnknownKey { .. }
    ));
    assert!(matches!(
        refused(&[("maxMessageSize", "big")]),
        ConfigError::InvalidValue { .. }
    ));
}

#[test]
fn updates_are_kept_merged_and_applied_at_the_next_start() {
    let dir = tempfile::tempdir().expect("dir");
    let mut config = BrokerConfig {
        store_path_root_dir: dir.path().to_owned(),
        ..BrokerConfig::default()
    };
    config.apply_updates().expect("no file yet");
    assert_eq!(config.max_message_size, 4 << 20);
    let first = merged_updates("", &[("maxMessageSize".into(), "1024".into())]);
    let both = merged_updates(
        &first,
        &[
            ("deleteWhen".into(), " 02 ".into()),
            ("maxMessageSize".into(), "2048".into()),
        ],
    );
    let file = updates_file(dir.path());
    std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
    std::fs::write(&file, &both).expect("write");
    config.apply_updates().expect("applies");
    assert_eq!(
        (config.max_message_size, config.delete_when.clone()),
        (2048, vec![2])
    );

    std::fs::write(&file, "listenPort=1\n").expect("write");
    let text = config.apply_updates().unwrap_err().to_string();
    assert!(
        text.contains("listenPort") && text.contains("line 1"),
        "{text}"
    );
}
