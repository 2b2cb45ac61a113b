//! The configuration while the broker runs: what GET_BROKER_CONFIG (26) shows, and what
//! UPDATE_BROKER_CONFIG (25) may change (docs/operations.md, "Changing keys while the broker
//! runs").
//!
//! [`BrokerConfig::properties`] lists every key shardmq honours with its value in force, in
//! the text [`BrokerConfig::set`] reads back; the keys limited to one value show that value.
//! [`LIVE_KEYS`] are the keys an update may change: each is read where it acts at the moment
//! it acts, or pushed to the part that acts on it when it changes (the broker's handlers do
//! that, see `crate::broker::context`). Every other key is refused by name, since changing it
//! needs a restart (files, ports, identity, the shard count) or means nothing here.
//!
//! An update is kept in `<storePathRootDir>/config/brokerConfigUpdates.properties`, one line
//! per key changed at run time; the next start applies that file after `broker.conf`, the
//! flags and `-o`, so a change made at run time survives a restart as in Java (which
//! rewrites its `broker.conf` instead: shardmq leaves the operator's file as it was).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::keys::LIMITED;
use super::{apply_file, BrokerConfig, BrokerRole, ConfigError, FlushDiskType};
use super::{IGNORED_KEYS, STORE_PATHS};

/// Keys UPDATE_BROKER_CONFIG may change while the broker runs.
pub const LIVE_KEYS: &[&str] = &[
    // Registered again at once with the new bits (wipe or restore a broker's writes).
    "brokerPermission",
    "autoCreateSubscriptionGroup",
    "maxMessageSize",
    "syncFlushTimeout",
    "rejectTransactionMessage",
    "transactionTimeOut",
    "transactionCheckMax",
    "slaveReadEnable",
    "offsetCheckInSlave",
    "accessMessageInMemoryMaxRatio",
    // Retention: read at each round (every 10 s).
    "fileReservedTime",
    "deleteWhen",
    "diskMaxUsedSpaceRatio",
    "diskSpaceCleanForciblyRatio",
    "cleanFileForciblyEnable",
];

/// The file that keeps the keys changed at run time, under the store root.
pub fn updates_file(store_root: &Path) -> PathBuf {
    store_root
        .join("config")
        .join("brokerConfigUpdates.properties")
}

impl BrokerConfig {
    /// Every key this configuration honours, with its value in force, as `broker.conf`
    /// text; sorted by key, as Java's properties dump is not.
    pub fn properties(&self) -> BTreeMap<&'static str, String> {
        let ms = |d: Duration| d.as_millis().to_string();
        let join = |addrs: &[std::net::SocketAddr]| {
            let addrs: Vec<String> = addrs.iter().map(ToString::to_string).collect();
            addrs.join(";")
        };
        let hours: Vec<String> = self.delete_when.iter().map(|h| format!("{h:02}")).collect();
        let levels: Vec<String> = self.message_delay_level.iter().map(|d| level(*d)).collect();
        let mut keys: BTreeMap<&'static str, String> = BTreeMap::from([
            ("brokerClusterName", self.broker_cluster_name.clone()),
            ("brokerName", self.broker_name.clone()),
            ("brokerId", self.broker_id.to_string()),
            ("brokerRole", role(self.broker_role).to_owned()),
            (
                "haMasterAddress",
                self.ha_master_address
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
            ),
            (
                "haSendHeartbeatInterval",
                ms(self.ha_send_heartbeat_interval),
            ),
            ("haHousekeepingInterval", ms(self.ha_housekeeping_interval)),
            (
                "haTransferBatchSize",
                self.ha_transfer_batch_size.to_string(),
            ),
            ("slaveReadEnable", self.slave_read_enable.to_string()),
            ("offsetCheckInSlave", self.offset_check_in_slave.to_string()),
            (
                "accessMessageInMemoryMaxRatio",
                self.access_message_in_memory_max_ratio.to_string(),
            ),
            ("namesrvAddr", join(&self.namesrv_addr)),
            ("listenAddr", self.listen_addr.to_string()),
            ("listenPort", self.listen_port.to_string()),
            ("brokerPermission", self.broker_permission.to_string()),
            (
                "storePathRootDir",
                self.store_path_root_dir.display().to_string(),
            ),
            (
                "mappedFileSizeCommitLog",
                self.mapped_file_size_commit_log.to_string(),
            ),
            (
                "mappedFileSizeConsumeQueue",
                self.mapped_file_size_consume_queue.to_string(),
            ),
            ("maxHashSlotNum", self.max_hash_slot_num.to_string()),
            ("maxIndexNum", self.max_index_num.to_string()),
            ("messageIndexEnable", self.message_index_enable.to_string()),
            ("flushDiskType", flush(self.flush_disk_type).to_owned()),
            ("flushIntervalCommitLog", ms(self.flush_interval_commit_log)),
            (
                "flushCommitLogLeastPages",
                self.flush_commit_log_least_pages.to_string(),
            ),
            ("syncFlushTimeout", ms(self.sync_flush_timeout)),
            (
                "flushConsumerOffsetInterval",
                ms(self.flush_consumer_offset_interval),
            ),
            ("deleteWhen", hours.join(";")),
            (
                "fileReservedTime",
                (self.file_reserved_time.as_secs() / 3600).to_string(),
            ),
            (
                "diskMaxUsedSpaceRatio",
                self.disk_max_used_space_ratio.to_string(),
            ),
            (
                "diskSpaceCleanForciblyRatio",
                self.disk_space_clean_forcibly_ratio.to_string(),
            ),
            (
                "cleanFileForciblyEnable",
                self.clean_file_forcibly_enable.to_string(),
            ),
            (
                "autoCreateTopicEnable",
                self.auto_create_topic_enable.to_string(),
            ),
            (
                "autoCreateSubscriptionGroup",
                self.auto_create_subscription_group.to_string(),
            ),
            ("clusterTopicEnable", self.cluster_topic_enable.to_string()),
            ("brokerTopicEnable", self.broker_topic_enable.to_string()),
            ("traceTopicEnable", self.trace_topic_enable.to_string()),
            ("msgTraceTopicName", self.msg_trace_topic_name.clone()),
            (
                "registerNameServerPeriod",
                ms(self.register_name_server_period),
            ),
            ("compressedRegister", self.compressed_register.to_string()),
            (
                "enableSplitRegistration",
                self.enable_split_registration.to_string(),
            ),
            (
                "splitRegistrationSize",
                self.split_registration_size.to_string(),
            ),
            (
                "defaultTopicQueueNums",
                self.default_topic_queue_nums.to_string(),
            ),
            ("maxMessageSize", self.max_message_size.to_string()),
            ("messageDelayLevel", levels.join(" ")),
            (
                "flushDelayOffsetInterval",
                ms(self.flush_delay_offset_interval),
            ),
            ("transactionTimeOut", ms(self.transaction_timeout)),
            (
                "transactionCheckInterval",
                ms(self.transaction_check_interval),
            ),
            (
                "transactionCheckMax",
                self.transaction_check_max.to_string(),
            ),
            (
                "rejectTransactionMessage",
                self.reject_transaction_message.to_string(),
            ),
            (
                "timerMaxDelaySec",
                self.timer_max_delay.as_secs().to_string(),
            ),
            ("timerPrecisionMs", self.timer_precision_ms.to_string()),
            (
                "spinBeforeParkMicros",
                self.spin_before_park.as_micros().to_string(),
            ),
            ("embeddedNamesrv", self.embedded_namesrv.to_string()),
            ("namesrvListenPort", self.namesrv_listen_port.to_string()),
            (
                "maxConnectionsPerShard",
                self.max_connections_per_shard.to_string(),
            ),
            (
                "maxQueuedResponseBytesPerShard",
                self.max_queued_response_bytes_per_shard.to_string(),
            ),
        ]);
        let optional = [
            ("brokerIP1", self.broker_ip1.map(|ip| ip.to_string())),
            ("brokerIP2", self.broker_ip2.map(|ip| ip.to_string())),
            ("haListenPort", self.ha_listen_port.map(|p| p.to_string())),
            ("shards", self.shards.map(|n| n.to_string())),
            (
                "ioMemoryBytesPerShard",
                self.io_memory_bytes_per_shard.map(|n| n.to_string()),
            ),
        ];
        keys.extend(optional.into_iter().filter_map(|(k, v)| Some((k, v?))));
        keys.extend(self.metrics.properties());
        keys.extend(self.acl.properties());
        for rule in LIMITED {
            keys.insert(rule.key, rule.accepts.to_string());
        }
        keys
    }

    /// This configuration with `entries` (UPDATE_BROKER_CONFIG's body) applied, when every
    /// key may change while the broker runs and every value is valid; else the first key
    /// refused, by name. `origin` names the request in errors.
    pub fn updated(
        &self,
        entries: &[(String, String)],
        origin: &str,
    ) -> Result<BrokerConfig, ConfigError> {
        let mut next = self.clone();
        for (key, value) in entries {
            if !LIVE_KEYS.contains(&key.as_str()) {
                return Err(not_live(key, value, origin));
            }
            next.set(key, value, origin)?;
        }
        Ok(next)
    }

    /// Applies the keys changed at run time and kept under the store root (a no-op when
    /// there are none). Call once every other source is applied: the updates are the newest.
    pub fn apply_updates(&mut self) -> Result<(), ConfigError> {
        let file = updates_file(&self.store_path_root_dir);
        if !file.exists() {
            return Ok(());
        }
        apply_file(&file, |key, value, origin| {
            if !LIVE_KEYS.contains(&key) {
                return Err(not_live(key, value, origin));
            }
            let applied = self.set(key, value, origin)?;
            tracing::info!(key, value, %origin, "configuration key changed at run time");
            Ok(applied)
        })
        .map(drop)
    }
}

/// The refusal of a key an update may not change.
fn not_live(key: &str, value: &str, origin: &str) -> ConfigError {
    let instead = if IGNORED_KEYS.contains(&key) {
        "it tunes machinery shardmq does not have, so it has no meaning here"
    } else if STORE_PATHS.iter().any(|(name, ..)| *name == key)
        || LIMITED.iter().any(|rule| rule.key == key)
        || BrokerConfig::default().properties().contains_key(key)
    {
        "it cannot change while the broker runs; set it in broker.conf and restart"
    } else {
        return ConfigError::UnknownKey {
            key: key.to_owned(),
            origin: origin.to_owned(),
        };
    };
    ConfigError::Unsupported {
        key: key.to_owned(),
        value: value.to_owned(),
        origin: origin.to_owned(),
        instead: format!("{instead} (keys that may change: {})", LIVE_KEYS.join(", ")),
    }
}

/// The updates file's new text: the keys it `kept` with `entries` (checked by
/// [`BrokerConfig::updated`]) merged over them.
pub fn merged_updates(kept: &str, entries: &[(String, String)]) -> String {
    let mut keys: BTreeMap<String, String> = super::properties::parse(kept)
        .map(|entries| entries.into_iter().map(|e| (e.key, e.value)).collect())
        .unwrap_or_default();
    for (key, value) in entries {
        keys.insert(key.clone(), value.trim().to_owned());
    }
    let mut text = String::from("# Keys changed while the broker ran (UPDATE_BROKER_CONFIG).\n");
    for (key, value) in keys {
        text.push_str(&format!("{key}={value}\n"));
    }
    text
}

fn role(role: BrokerRole) -> &'static str {
    match role {
        BrokerRole::AsyncMaster => "ASYNC_MASTER",
        BrokerRole::SyncMaster => "SYNC_MASTER",
        BrokerRole::Slave => "SLAVE",
    }
}

fn flush(flush: FlushDiskType) -> &'static str {
    match flush {
        FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
        FlushDiskType::SyncFlush => "SYNC_FLUSH",
    }
}

/// A delay level in the largest of Java's units that divides it.
fn level(delay: Duration) -> String {
    let s = delay.as_secs();
    match s {
        _ if s > 0 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        _ if s > 0 && s % 3600 == 0 => format!("{}h", s / 3600),
        _ if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

#[cfg(test)]
#[path = "runtime_tests.rs"]
mod tests;
