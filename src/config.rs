//! The broker's configuration: RocketMQ's `broker.conf` keys with Java's defaults, plus
//! shardmq's own (`shards`, `listenAddr`, `embeddedNamesrv`, `namesrvListenPort`,
//! `maxConnectionsPerShard`, `maxQueuedResponseBytesPerShard`, …).
//!
//! Built once on the main thread before the shards start, then shared read-only (every shard
//! gets a clone). Sources apply in order — defaults, the file (`-c`), command-line flags and
//! `-o key=value` — each through [`BrokerConfig::set`], so a flag and a file line are checked
//! the same way. [`BrokerConfig::finish`] then checks what depends on several keys.
//!
//! Rules a Java user meets:
//! - An unknown key stops start-up naming the key and where it was set.
//! - Keys real Java files carry that mean nothing here (thread-pool sizes, `brokerIP2`,
//!   `useReentrantLockWhenPutMessage`, …, see [`IGNORED_KEYS`]) are accepted with one warning
//!   each; keys whose value would change behaviour shardmq lacks (`aclEnable=true`,
//!   `enableDLegerCommitLog=true`) are refused.
//! - Values are trimmed (Java keeps trailing blanks, which only ever breaks numbers).
//! - `brokerIP1` defaults to `listenAddr` when that is a specific address, else to 127.0.0.1:
//!   Java picks the first non-loopback interface, but a broker that advertises an address
//!   its local user's clients cannot reach is a worse surprise. Set `brokerIP1` for clients
//!   on other hosts.

mod keys;
pub mod ports;
mod properties;
#[cfg(test)]
mod tests;
mod values;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::limits;

pub use keys::IGNORED_KEYS;
use keys::REFUSED_WHEN_TRUE;
pub use ports::{shard_ports, ShardPorts};
pub use properties::{Entry, PropertiesError};
pub use values::parse_delay_levels;
use values::*;

/// `flushDiskType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushDiskType {
    AsyncFlush,
    SyncFlush,
}

/// `brokerRole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerRole {
    AsyncMaster,
    SyncMaster,
    Slave,
}

/// Java's default `messageDelayLevel`.
pub const MESSAGE_DELAY_LEVEL_DEFAULT: &str =
    "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";

/// Why the configuration is not usable. `origin` says where a key was set, e.g.
/// `broker.conf line 12` or `-o`.
#[derive(Debug)]
pub enum ConfigError {
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    Syntax {
        path: PathBuf,
        error: PropertiesError,
    },
    UnknownKey {
        key: String,
        origin: String,
    },
    InvalidValue {
        key: String,
        value: String,
        why: String,
        origin: String,
    },
    Unsupported {
        key: String,
        value: String,
        origin: String,
    },
    /// A rule between several keys.
    Inconsistent(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, error } => {
                write!(f, "cannot read {}: {error}", path.display())
            }
            ConfigError::Syntax { path, error } => write!(f, "{}: {error}", path.display()),
            ConfigError::UnknownKey { key, origin } => {
                write!(f, "unknown configuration key `{key}` ({origin})")
            }
            ConfigError::InvalidValue {
                key,
                value,
                why,
                origin,
            } => {
                write!(f, "invalid value `{value}` for `{key}` ({origin}): {why}")
            }
            ConfigError::Unsupported { key, value, origin } => {
                write!(f, "`{key}={value}` ({origin}) is not supported by shardmq")
            }
            ConfigError::Inconsistent(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ConfigError {}

/// What [`BrokerConfig::set`] did with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Set,
    /// Accepted and ignored (see [`IGNORED_KEYS`]); the caller warns.
    Ignored,
}

/// What a group of keys did with a key: `None` when the group does not know it, else the
/// reason a value was refused.
type Setter = Option<Result<(), String>>;

/// Everything a broker process is started with.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerConfig {
    pub broker_cluster_name: String,
    /// The base name; shard k registers as [`BrokerConfig::shard_broker_name`].
    pub broker_name: String,
    pub broker_id: i64,
    pub namesrv_addr: Vec<SocketAddr>,
    pub listen_addr: IpAddr,
    pub listen_port: u16,
    /// `None` until [`BrokerConfig::finish`] picks the default (see the module docs).
    pub broker_ip1: Option<IpAddr>,
    /// `None` means `listenPort + 1`.
    pub ha_listen_port: Option<u16>,
    pub store_path_root_dir: PathBuf,
    pub mapped_file_size_commit_log: u64,
    pub mapped_file_size_consume_queue: u64,
    /// Hash slots of each IndexFile.
    pub max_hash_slot_num: u32,
    /// Entries of each IndexFile.
    pub max_index_num: u32,
    /// `messageIndexEnable`: whether reput files the keys of new messages in the IndexFile.
    pub message_index_enable: bool,
    pub flush_disk_type: FlushDiskType,
    pub flush_interval_commit_log: Duration,
    pub flush_commit_log_least_pages: u32,
    pub broker_role: BrokerRole,
    /// Hours of day (`deleteWhen`, `;`-separated) when expired files are deleted.
    pub delete_when: Vec<u8>,
    pub file_reserved_time: Duration,
    pub disk_max_used_space_ratio: u8,
    pub auto_create_topic_enable: bool,
    pub auto_create_subscription_group: bool,
    pub cluster_topic_enable: bool,
    pub broker_topic_enable: bool,
    /// Queues of `TBW102`, hence the most an auto-created topic gets.
    pub default_topic_queue_nums: i32,
    pub max_message_size: usize,
    /// Delay of level `i + 1`.
    pub message_delay_level: Vec<Duration>,
    /// How often the delay service writes its cursors (`delayOffset.json`).
    pub flush_delay_offset_interval: Duration,
    /// `timerMaxDelaySec`: the furthest ahead a 5.x timer message may be due.
    pub timer_max_delay: Duration,
    /// `timerPrecisionMs`: timer due times are rounded up to a multiple of it.
    pub timer_precision_ms: i64,
    pub transaction_check_interval: Duration,
    /// Shards to run; `None` means one per core this process may use.
    pub shards: Option<usize>,
    /// `spinBeforeParkMicros`: how long a shard with nothing to do keeps polling before its
    /// thread sleeps; zero sleeps at once. Longer spins trade CPU for latency at moderate
    /// load, most on virtual machines, where waking a sleeping CPU is slow.
    pub spin_before_park: Duration,
    pub embedded_namesrv: bool,
    pub namesrv_listen_port: u16,
    /// `maxConnectionsPerShard`: connections a shard serves at once on its broker ports;
    /// more are closed at accept.
    pub max_connections_per_shard: usize,
    /// `maxQueuedResponseBytesPerShard`: bytes queued for the peers of a shard's
    /// connections before those whose peers are behind stop being read.
    pub max_queued_response_bytes_per_shard: usize,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            broker_cluster_name: "DefaultCluster".into(),
            broker_name: "broker-a".into(),
            broker_id: 0,
            namesrv_addr: Vec::new(),
            listen_addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            listen_port: 10911,
            broker_ip1: None,
            ha_listen_port: None,
            store_path_root_dir: default_store_path(),
            mapped_file_size_commit_log: 1 << 30,
            mapped_file_size_consume_queue: 300_000 * 20,
            max_hash_slot_num: 5_000_000,
            max_index_num: 20_000_000,
            message_index_enable: true,
            flush_disk_type: FlushDiskType::AsyncFlush,
            flush_interval_commit_log: Duration::from_millis(500),
            flush_commit_log_least_pages: 4,
            broker_role: BrokerRole::AsyncMaster,
            delete_when: vec![4],
            file_reserved_time: Duration::from_secs(72 * 3600),
            disk_max_used_space_ratio: 75,
            auto_create_topic_enable: true,
            auto_create_subscription_group: true,
            cluster_topic_enable: true,
            broker_topic_enable: true,
            default_topic_queue_nums: 8,
            max_message_size: 4 << 20,
            message_delay_level: parse_delay_levels(MESSAGE_DELAY_LEVEL_DEFAULT)
                .unwrap_or_default(),
            flush_delay_offset_interval: Duration::from_secs(10),
            timer_max_delay: Duration::from_secs(3 * 24 * 3600),
            timer_precision_ms: 1000,
            transaction_check_interval: Duration::from_secs(60),
            shards: None,
            spin_before_park: shards::SPIN_BEFORE_PARK_DEFAULT,
            embedded_namesrv: true,
            namesrv_listen_port: 9876,
            max_connections_per_shard: limits::SHARD_CONNECTIONS_MAX,
            max_queued_response_bytes_per_shard: limits::SHARD_WRITE_QUEUE_BYTES_MAX,
        }
    }
}

/// `$HOME/store`, as Java's `System.getProperty("user.home") + "/store"`.
fn default_store_path() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join("store")
}

impl BrokerConfig {
    /// Applies every entry of a `broker.conf` file over the current values; returns the keys
    /// that were accepted but ignored (already logged).
    pub fn apply_file(&mut self, path: &Path) -> Result<Vec<String>, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_owned(),
            error,
        })?;
        let entries = properties::parse(&text).map_err(|error| ConfigError::Syntax {
            path: path.to_owned(),
            error,
        })?;
        let name = path.display().to_string();
        let mut ignored = Vec::new();
        for entry in entries {
            let origin = format!("{name} line {}", entry.line);
            if self.set(&entry.key, &entry.value, &origin)? == Applied::Ignored {
                tracing::warn!(key = %entry.key, %origin, "configuration key has no meaning in shardmq; ignored");
                ignored.push(entry.key);
            }
        }
        Ok(ignored)
    }

    /// Sets one key from its text; `origin` names where it came from, for errors.
    pub fn set(&mut self, key: &str, value: &str, origin: &str) -> Result<Applied, ConfigError> {
        let value = value.trim();
        let outcome = self
            .set_identity(key, value)
            .or_else(|| self.set_store(key, value))
            .or_else(|| self.set_features(key, value))
            .or_else(|| self.set_connections(key, value));
        let refuse = |why: String| ConfigError::InvalidValue {
            key: key.to_owned(),
            value: value.to_owned(),
            why,
            origin: origin.to_owned(),
        };
        match outcome {
            Some(Ok(())) => Ok(Applied::Set),
            Some(Err(why)) => Err(refuse(why)),
            None if REFUSED_WHEN_TRUE.contains(&key) => match boolean(value) {
                Some(false) => Ok(Applied::Ignored),
                Some(true) => Err(ConfigError::Unsupported {
                    key: key.to_owned(),
                    value: value.to_owned(),
                    origin: origin.to_owned(),
                }),
                None => Err(refuse(BOOL_RULE.to_owned())),
            },
            None if IGNORED_KEYS.contains(&key) => Ok(Applied::Ignored),
            None => Err(ConfigError::UnknownKey {
                key: key.to_owned(),
                origin: origin.to_owned(),
            }),
        }
    }

    /// Who the broker is and where it listens.
    fn set_identity(&mut self, key: &str, value: &str) -> Setter {
        let result = match key {
            "brokerClusterName" => {
                need(name(value), NAME_RULE).map(|v| self.broker_cluster_name = v)
            }
            "brokerName" => need(name(value), NAME_RULE).map(|v| self.broker_name = v),
            "brokerId" => {
                need(number(value, 0..=i64::MAX), "expected an id ≥ 0").map(|v| self.broker_id = v)
            }
            "brokerRole" => need(
                parse_broker_role(value),
                "expected ASYNC_MASTER, SYNC_MASTER or SLAVE",
            )
            .map(|v| self.broker_role = v),
            "namesrvAddr" => parse_namesrv_addr(value).map(|v| self.namesrv_addr = v),
            "listenAddr" => need(value.parse().ok(), IP_RULE).map(|v| self.listen_addr = v),
            "listenPort" => need(port(value), PORT_RULE).map(|v| self.listen_port = v),
            "brokerIP1" => need(value.parse().ok(), IP_RULE).map(|v| self.broker_ip1 = Some(v)),
            "haListenPort" => need(port(value), PORT_RULE).map(|v| self.ha_listen_port = Some(v)),
            "shards" => need(number(value, 1..=i64::MAX), "expected a count ≥ 1")
                .map(|v| self.shards = Some(v)),
            "spinBeforeParkMicros" => need(
                number::<u64>(value, 0..=10_000_000),
                "expected microseconds ≥ 0",
            )
            .map(|v| self.spin_before_park = Duration::from_micros(v)),
            "embeddedNamesrv" => need(boolean(value), BOOL_RULE).map(|v| self.embedded_namesrv = v),
            "namesrvListenPort" => {
                need(port(value), PORT_RULE).map(|v| self.namesrv_listen_port = v)
            }
            _ => return None,
        };
        Some(result)
    }

    /// The store: files, flushing, retention.
    fn set_store(&mut self, key: &str, value: &str) -> Setter {
        let result = match key {
            // An empty value keeps the default, as Java's `isBlank` check does.
            "storePathRootDir" if value.is_empty() => Ok(()),
            // Relative to the working directory at start-up, made absolute at once: the store
            // syncs parent directories, and a relative path's last parent is "".
            "storePathRootDir" => std::path::absolute(value)
                .map(|path| self.store_path_root_dir = path)
                .map_err(|e| format!("cannot resolve the path: {e}")),
            "mappedFileSizeCommitLog" | "mapedFileSizeCommitLog" => {
                need(number(value, 4096..=i64::MAX), "expected bytes ≥ 4096")
                    .map(|v| self.mapped_file_size_commit_log = v)
            }
            "mappedFileSizeConsumeQueue" | "mapedFileSizeConsumeQueue" => {
                need(number(value, 20..=i64::MAX), "expected bytes ≥ 20")
                    .map(|v| self.mapped_file_size_consume_queue = v)
            }
            "maxHashSlotNum" => need(number(value, 1..=i64::from(i32::MAX)), "expected ≥ 1")
                .map(|v| self.max_hash_slot_num = v),
            "maxIndexNum" => need(number(value, 2..=i64::from(i32::MAX)), "expected ≥ 2")
                .map(|v| self.max_index_num = v),
            "messageIndexEnable" => {
                need(boolean(value), BOOL_RULE).map(|v| self.message_index_enable = v)
            }
            "flushDiskType" => need(
                parse_flush_disk_type(value),
                "expected ASYNC_FLUSH or SYNC_FLUSH",
            )
            .map(|v| self.flush_disk_type = v),
            "flushIntervalCommitLog" => {
                need(millis(value), MS_RULE).map(|v| self.flush_interval_commit_log = v)
            }
            "flushCommitLogLeastPages" => {
                need(number(value, 0..=i64::from(u32::MAX)), "expected pages ≥ 0")
                    .map(|v| self.flush_commit_log_least_pages = v)
            }
            "deleteWhen" => need(parse_hours(value), "expected hours 0-23 separated by `;`")
                .map(|v| self.delete_when = v),
            "fileReservedTime" => need(
                number::<u64>(value, 1..=i64::from(u32::MAX)),
                "expected hours ≥ 1",
            )
            .map(|h| self.file_reserved_time = Duration::from_secs(h * 3600)),
            "diskMaxUsedSpaceRatio" => need(number(value, 1..=100), "expected a percentage 1-100")
                .map(|v| self.disk_max_used_space_ratio = v),
            "maxMessageSize" => need(number(value, 1..=i64::from(i32::MAX)), "expected bytes ≥ 1")
                .map(|v| self.max_message_size = v),
            "messageDelayLevel" => parse_delay_levels(value).map(|v| self.message_delay_level = v),
            "flushDelayOffsetInterval" => need(number(value, 1..=i64::MAX), "expected ms ≥ 1")
                .map(|ms: u64| self.flush_delay_offset_interval = Duration::from_millis(ms)),
            // Java keeps the delay in an int of seconds.
            "timerMaxDelaySec" => need(number(value, 1..=i64::from(i32::MAX)), "expected s ≥ 1")
                .map(|s: u64| self.timer_max_delay = Duration::from_secs(s)),
            "timerPrecisionMs" => need(number(value, 1..=60_000), "expected ms 1-60000")
                .map(|ms| self.timer_precision_ms = ms),
            _ => return None,
        };
        Some(result)
    }

    /// Topics, groups and transactions.
    fn set_features(&mut self, key: &str, value: &str) -> Setter {
        let result = match key {
            "autoCreateTopicEnable" => {
                need(boolean(value), BOOL_RULE).map(|v| self.auto_create_topic_enable = v)
            }
            "autoCreateSubscriptionGroup" => {
                need(boolean(value), BOOL_RULE).map(|v| self.auto_create_subscription_group = v)
            }
            "clusterTopicEnable" => {
                need(boolean(value), BOOL_RULE).map(|v| self.cluster_topic_enable = v)
            }
            "brokerTopicEnable" => {
                need(boolean(value), BOOL_RULE).map(|v| self.broker_topic_enable = v)
            }
            "defaultTopicQueueNums" => need(number(value, 1..=1024), "expected 1-1024 queues")
                .map(|v| self.default_topic_queue_nums = v),
            "transactionCheckInterval" => {
                need(millis(value), MS_RULE).map(|v| self.transaction_check_interval = v)
            }
            _ => return None,
        };
        Some(result)
    }

    /// What a shard's connections may hold (shardmq's own keys).
    fn set_connections(&mut self, key: &str, value: &str) -> Setter {
        let result = match key {
            "maxConnectionsPerShard" => need(
                number(value, 1..=i64::from(u32::MAX)),
                "expected a count ≥ 1",
            )
            .map(|v| self.max_connections_per_shard = v),
            "maxQueuedResponseBytesPerShard" => {
                need(number(value, 1..=i64::MAX), "expected bytes ≥ 1")
                    .map(|v| self.max_queued_response_bytes_per_shard = v)
            }
            _ => return None,
        };
        Some(result)
    }

    /// Checks rules between keys and fills in derived defaults: `brokerIP1` and, with the
    /// embedded NameServer, its address in `namesrvAddr`.
    pub fn finish(&mut self) -> Result<(), ConfigError> {
        if (self.broker_role == BrokerRole::Slave) != (self.broker_id != 0) {
            return Err(ConfigError::Inconsistent(format!(
                "brokerRole {:?} does not fit brokerId {}: a SLAVE has an id ≥ 1, a master id 0",
                self.broker_role, self.broker_id
            )));
        }
        if self.broker_ip1.is_none() {
            self.broker_ip1 = Some(if self.listen_addr.is_unspecified() {
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            } else {
                self.listen_addr
            });
        }
        if self.embedded_namesrv {
            let own = self.embedded_namesrv_addr();
            if !self.namesrv_addr.contains(&own) {
                self.namesrv_addr.push(own);
            }
        }
        Ok(())
    }

    /// Where the embedded NameServer listens: `listenAddr`, port `namesrvListenPort`.
    pub fn namesrv_listen_addr(&self) -> SocketAddr {
        SocketAddr::new(self.listen_addr, self.namesrv_listen_port)
    }

    /// How this process's shards reach the embedded NameServer.
    pub fn embedded_namesrv_addr(&self) -> SocketAddr {
        let ip = if self.listen_addr.is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            self.listen_addr
        };
        SocketAddr::new(ip, self.namesrv_listen_port)
    }

    /// The address clients are told to use (`brokerIP1`).
    pub fn broker_ip(&self) -> IpAddr {
        self.broker_ip1.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    /// The broker name shard `shard` registers under: `<brokerName>-<shard>`. Always
    /// suffixed, so a name never moves to another shard when the shard count changes.
    pub fn shard_broker_name(&self, shard: usize) -> String {
        format!("{}-{shard}", self.broker_name)
    }
}
