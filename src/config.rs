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
//! - No key that changes durability, placement or permissions is accepted while shardmq does
//!   something else: it is honoured, or its value is refused at start-up naming the key, what
//!   shardmq does instead and what to set (`brokerRole=SLAVE`, `aclEnable=true`, a
//!   `storePathCommitLog` off the store root, …; see `keys.rs` and docs/operations.md).
//! - Keys real Java files carry that only tune machinery shardmq lacks (thread-pool sizes,
//!   `useReentrantLockWhenPutMessage`, …, see [`IGNORED_KEYS`]) are accepted with one warning
//!   each.
//! - Values are trimmed (Java keeps trailing blanks, which only ever breaks numbers).
//! - `brokerIP1` defaults to `listenAddr` when that is a specific address, else to 127.0.0.1:
//!   Java picks the first non-loopback interface, but a broker that advertises an address
//!   its local user's clients cannot reach is a worse surprise. Set `brokerIP1` for clients
//!   on other hosts.

mod acl;
pub mod file;
mod keys;
mod metrics;
mod namesrv;
pub mod ports;
mod properties;
mod runtime;
#[cfg(test)]
mod tests;
mod values;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::limits;
use crate::wire::body::perm;

pub use acl::{AclConfig, ACL_FILE_NAME};
pub use keys::IGNORED_KEYS;
use keys::{apply_limited, STORE_PATHS};
pub use metrics::{MetricsConfig, MetricsExporter};
pub use namesrv::{NamesrvConfig, NAMESRV_IGNORED_KEYS};
pub use ports::{shard_ports, ShardPorts};
pub use properties::{parse as parse_properties, Entry, PropertiesError};
pub use runtime::{merged_updates, updates_file, LIVE_KEYS};
pub use values::parse_delay_levels;
use values::*;

/// `flushDiskType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushDiskType {
    AsyncFlush,
    SyncFlush,
}

/// What `ioMemoryBytesPerShard` accepts: glommio registers at least 64 KiB, and io_uring
/// refuses a registered buffer over 1 GiB.
const IO_MEMORY_RANGE: std::ops::RangeInclusive<i64> = (64 << 10)..=(1 << 30);

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
    /// A value asking for what shardmq does not do; `instead` says what it does and what
    /// to set.
    Unsupported {
        key: String,
        value: String,
        origin: String,
        instead: String,
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
            ConfigError::Unsupported {
                key,
                value,
                origin,
                instead,
            } => write!(f, "`{key}={value}` ({origin}) is refused: {instead}"),
            ConfigError::Inconsistent(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ConfigError {}

/// What [`BrokerConfig::set`] did with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Honoured, or a value that asks for what shardmq does anyway.
    Set,
    /// Accepted and ignored (see [`IGNORED_KEYS`]); the caller warns.
    Ignored,
}

/// What a group of keys did with a key: `None` when the group does not know it, else the
/// reason a value was refused.
type Setter = Option<Result<(), String>>;

/// `brokerRole` (docs/replication.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerRole {
    /// Stores and acknowledges sends; serves its log to slaves.
    AsyncMaster,
    /// Acknowledges a send once a slave has stored it: FLUSH_SLAVE_TIMEOUT after
    /// `syncFlushTimeout`, SLAVE_NOT_AVAILABLE without a slave in sync.
    SyncMaster,
    /// Copies its master's log and serves reads; refuses sends.
    Slave,
}

/// Everything a broker process is started with.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerConfig {
    pub broker_cluster_name: String,
    /// The base name; shard k registers as [`BrokerConfig::shard_broker_name`].
    pub broker_name: String,
    pub broker_id: i64,
    /// `brokerRole`: a master (ASYNC_MASTER) or a slave following one.
    pub broker_role: BrokerRole,
    /// `haMasterAddress`: the HA port of the master's shard 0 (shard k follows that port plus
    /// k port strides); `None` to learn it from the NameServer's registration answer.
    pub ha_master_address: Option<SocketAddr>,
    /// `haSendHeartbeatInterval`: how often an idle master tells its slave it is alive, and
    /// so how often the slave reports its offset.
    pub ha_send_heartbeat_interval: Duration,
    /// `haHousekeepingInterval`: silence after which either side closes the HA connection.
    pub ha_housekeeping_interval: Duration,
    /// `haTransferBatchSize`: most bytes of records a master sends in one transfer.
    pub ha_transfer_batch_size: usize,
    /// `slaveReadEnable`: a master suggests its slave (`suggestWhichBrokerId`) to a consumer
    /// reading far behind the log's end, by `accessMessageInMemoryMaxRatio`.
    pub slave_read_enable: bool,
    /// `offsetCheckInSlave`: a slave corrects a consumer's offset out of its queue's range
    /// (PULL_OFFSET_MOVED) as a master does; off, it answers PULL_RETRY_IMMEDIATELY.
    pub offset_check_in_slave: bool,
    /// `accessMessageInMemoryMaxRatio`: a pull whose last record lies more than this percent
    /// of the host's memory behind the log's end is far behind.
    pub access_message_in_memory_max_ratio: u8,
    pub namesrv_addr: Vec<SocketAddr>,
    pub listen_addr: IpAddr,
    pub listen_port: u16,
    /// `None` until [`BrokerConfig::finish`] picks the default (see the module docs).
    pub broker_ip1: Option<IpAddr>,
    /// `brokerIP2`: the address of `haServerAddr` in registrations; `None` means
    /// `brokerIP1`, as in Java.
    pub broker_ip2: Option<IpAddr>,
    /// `brokerPermission`: the whole broker's perm bits. Without READ or WRITE, every topic is
    /// registered with its perm masked by them and pulls or sends are refused (NO_PERMISSION).
    pub broker_permission: i32,
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
    /// `syncFlushTimeout`: how long a SYNC_FLUSH send waits for its sync before it is
    /// answered FLUSH_DISK_TIMEOUT.
    pub sync_flush_timeout: Duration,
    /// `flushConsumerOffsetInterval`: how often a shard writes its consumer offsets.
    pub flush_consumer_offset_interval: Duration,
    /// Hours of day (`deleteWhen`, `;`-separated) when expired files are deleted.
    pub delete_when: Vec<u8>,
    pub file_reserved_time: Duration,
    pub disk_max_used_space_ratio: u8,
    /// `diskSpaceCleanForciblyRatio`: above it the oldest segments go even if not expired
    /// (with `cleanFileForciblyEnable`), else expired ones at any hour.
    pub disk_space_clean_forcibly_ratio: u8,
    /// `cleanFileForciblyEnable`.
    pub clean_file_forcibly_enable: bool,
    pub auto_create_topic_enable: bool,
    pub auto_create_subscription_group: bool,
    pub cluster_topic_enable: bool,
    pub broker_topic_enable: bool,
    /// `traceTopicEnable`: the trace topic `msgTraceTopicName` is a system topic (one queue).
    pub trace_topic_enable: bool,
    pub msg_trace_topic_name: String,
    /// `registerNameServerPeriod`, kept within 10..=60 s as Java keeps it.
    pub register_name_server_period: Duration,
    /// `compressedRegister`: REGISTER_BROKER bodies go in Java's zlib form.
    pub compressed_register: bool,
    /// `enableSplitRegistration`: a registration goes in parts of `splitRegistrationSize`
    /// topics. Off, a table too large for one frame is split all the same.
    pub enable_split_registration: bool,
    /// `splitRegistrationSize`: topics per part when splitting is on (Java's 800).
    pub split_registration_size: usize,
    /// Queues of `TBW102`, hence the most an auto-created topic gets.
    pub default_topic_queue_nums: i32,
    pub max_message_size: usize,
    /// Delay of level `i + 1`.
    pub message_delay_level: Vec<Duration>,
    /// How often the delay service writes its cursors (`delayOffset.json`).
    pub flush_delay_offset_interval: Duration,
    /// `transactionTimeOut`: a half message with no outcome this long after it was stored
    /// (or its `CHECK_IMMUNITY_TIME_IN_SECONDS`) is checked back with its producer.
    pub transaction_timeout: Duration,
    /// `transactionCheckInterval`: how often each shard looks for half messages to check.
    pub transaction_check_interval: Duration,
    /// `transactionCheckMax`: checks a half message gets before it is discarded into
    /// `TRANS_CHECK_MAX_TIME_TOPIC`.
    pub transaction_check_max: u32,
    /// `rejectTransactionMessage`: half messages are refused with NO_PERMISSION.
    pub reject_transaction_message: bool,
    /// `timerMaxDelaySec`: the furthest ahead a 5.x timer message may be due.
    pub timer_max_delay: Duration,
    /// `timerPrecisionMs`: timer due times are rounded up to a multiple of it.
    pub timer_precision_ms: i64,
    /// Shards to run; `None` means one per core this process may use.
    pub shards: Option<usize>,
    /// `spinBeforeParkMicros`: how long a shard with nothing to do keeps polling before its
    /// thread sleeps; zero sleeps at once. Longer spins trade CPU for latency at moderate
    /// load, most on virtual machines, where waking a sleeping CPU is slow.
    pub spin_before_park: Duration,
    /// `ioMemoryBytesPerShard`: memory each shard registers with io_uring for its I/O
    /// buffers, locked (docs/operations.md, "Locked memory"); `None` means what its log's
    /// buffers take, as far as the locked-memory limit allows.
    pub io_memory_bytes_per_shard: Option<usize>,
    pub embedded_namesrv: bool,
    pub namesrv_listen_port: u16,
    /// `maxConnectionsPerShard`: connections a shard serves at once on its broker ports;
    /// more are closed at accept.
    pub max_connections_per_shard: usize,
    /// `maxQueuedResponseBytesPerShard`: bytes queued for the peers of a shard's
    /// connections before those whose peers are behind stop being read.
    pub max_queued_response_bytes_per_shard: usize,
    /// RocketMQ 5's metrics keys (`metricsExporterType`, …).
    pub metrics: MetricsConfig,
    /// Access control (`aclEnable`, `aclFile`, `accessKey`, `secretKey`).
    pub acl: AclConfig,
    /// Java's store-path keys as set, checked by [`BrokerConfig::finish`] once
    /// `storePathRootDir` is known.
    pub store_paths: Vec<StorePathKey>,
}

/// One of Java's store-path keys (`storePathCommitLog`, …) as set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorePathKey {
    pub key: String,
    pub path: PathBuf,
    pub origin: String,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            broker_cluster_name: "DefaultCluster".into(),
            broker_name: "broker-a".into(),
            broker_id: 0,
            broker_role: BrokerRole::AsyncMaster,
            ha_master_address: None,
            ha_send_heartbeat_interval: Duration::from_secs(5),
            ha_housekeeping_interval: Duration::from_secs(20),
            ha_transfer_batch_size: 32 * 1024,
            slave_read_enable: false,
            access_message_in_memory_max_ratio: 40,
            offset_check_in_slave: false,
            namesrv_addr: Vec::new(),
            listen_addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            listen_port: 10911,
            broker_ip1: None,
            broker_ip2: None,
            broker_permission: perm::READ | perm::WRITE,
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
            sync_flush_timeout: Duration::from_secs(5),
            flush_consumer_offset_interval: Duration::from_secs(5),
            delete_when: vec![4],
            file_reserved_time: Duration::from_secs(72 * 3600),
            disk_max_used_space_ratio: 75,
            disk_space_clean_forcibly_ratio: 85,
            clean_file_forcibly_enable: true,
            auto_create_topic_enable: true,
            auto_create_subscription_group: true,
            cluster_topic_enable: true,
            broker_topic_enable: true,
            trace_topic_enable: false,
            msg_trace_topic_name: "RMQ_SYS_TRACE_TOPIC".into(),
            register_name_server_period: Duration::from_secs(30),
            compressed_register: false,
            enable_split_registration: false,
            split_registration_size: 800,
            default_topic_queue_nums: 8,
            max_message_size: 4 << 20,
            message_delay_level: parse_delay_levels(MESSAGE_DELAY_LEVEL_DEFAULT)
                .unwrap_or_default(),
            flush_delay_offset_interval: Duration::from_secs(10),
            transaction_timeout: Duration::from_secs(6),
            // Java 4.9 to 5.1.0; 5.1.1 on checks every 30 s.
            transaction_check_interval: Duration::from_secs(60),
            transaction_check_max: 15,
            reject_transaction_message: false,
            timer_max_delay: Duration::from_secs(3 * 24 * 3600),
            timer_precision_ms: 1000,
            shards: None,
            spin_before_park: shards::SPIN_BEFORE_PARK_DEFAULT,
            io_memory_bytes_per_shard: None,
            embedded_namesrv: true,
            namesrv_listen_port: 9876,
            max_connections_per_shard: limits::SHARD_CONNECTIONS_MAX,
            max_queued_response_bytes_per_shard: limits::SHARD_WRITE_QUEUE_BYTES_MAX,
            metrics: MetricsConfig::default(),
            acl: AclConfig::default(),
            store_paths: Vec::new(),
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
        self.acl.config_file_read(path);
        apply_file(path, |key, value, origin| self.set(key, value, origin))
    }

    /// Sets one key from its text; `origin` names where it came from, for errors.
    pub fn set(&mut self, key: &str, value: &str, origin: &str) -> Result<Applied, ConfigError> {
        let value = value.trim();
        let outcome = self
            .set_identity(key, value)
            .or_else(|| self.set_store(key, value))
            .or_else(|| self.set_features(key, value))
            .or_else(|| self.set_connections(key, value))
            .or_else(|| self.set_metrics(key, value))
            .or_else(|| self.set_acl(key, value));
        let refuse = |why: String| ConfigError::InvalidValue {
            key: key.to_owned(),
            value: value.to_owned(),
            why,
            origin: origin.to_owned(),
        };
        match outcome {
            Some(Ok(())) => Ok(Applied::Set),
            Some(Err(why)) => Err(refuse(why)),
            None if STORE_PATHS.iter().any(|(name, ..)| *name == key) => {
                self.store_paths.retain(|set| set.key != key);
                // An empty value is Java's unset: the default, which is accepted.
                if !value.is_empty() {
                    let path = std::path::absolute(value)
                        .map_err(|e| refuse(format!("cannot resolve the path: {e}")))?;
                    self.store_paths.push(StorePathKey {
                        key: key.to_owned(),
                        path,
                        origin: origin.to_owned(),
                    });
                }
                Ok(Applied::Set)
            }
            None => match keys::limited(key) {
                Some(rule) => apply_limited(rule, key, value, origin),
                None => self.set_unknown(key, origin),
            },
        }
    }

    /// A key with no setting: ignored when it only tunes machinery shardmq lacks.
    fn set_unknown(&self, key: &str, origin: &str) -> Result<Applied, ConfigError> {
        match key {
            _ if IGNORED_KEYS.contains(&key) => Ok(Applied::Ignored),
            _ => Err(ConfigError::UnknownKey {
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
                match value {
                    "ASYNC_MASTER" => Some(BrokerRole::AsyncMaster),
                    "SYNC_MASTER" => Some(BrokerRole::SyncMaster),
                    "SLAVE" => Some(BrokerRole::Slave),
                    _ => None,
                },
                "expected ASYNC_MASTER, SYNC_MASTER or SLAVE",
            )
            .map(|role| self.broker_role = role),
            "haMasterAddress" if value.is_empty() => {
                self.ha_master_address = None;
                Ok(())
            }
            "haMasterAddress" => parse_namesrv_addr(value).and_then(|addrs| match addrs[..] {
                [addr] => {
                    self.ha_master_address = Some(addr);
                    Ok(())
                }
                _ => Err("expected one host:port".to_owned()),
            }),
            "haSendHeartbeatInterval" => {
                need(millis(value), MS_RULE).map(|v| self.ha_send_heartbeat_interval = v)
            }
            "haHousekeepingInterval" => {
                need(millis(value), MS_RULE).map(|v| self.ha_housekeeping_interval = v)
            }
            "slaveReadEnable" => {
                need(boolean(value), BOOL_RULE).map(|v| self.slave_read_enable = v)
            }
            "offsetCheckInSlave" => {
                need(boolean(value), BOOL_RULE).map(|v| self.offset_check_in_slave = v)
            }
            "accessMessageInMemoryMaxRatio" => {
                need(number(value, 0..=100), "expected a percentage 0-100")
                    .map(|v| self.access_message_in_memory_max_ratio = v)
            }
            "haTransferBatchSize" => {
                need(number(value, 1..=i64::from(i32::MAX)), "expected bytes ≥ 1")
                    .map(|v: usize| self.ha_transfer_batch_size = v)
            }
            "namesrvAddr" => parse_namesrv_addr(value).map(|v| self.namesrv_addr = v),
            "listenAddr" => need(value.parse().ok(), IP_RULE).map(|v| self.listen_addr = v),
            "listenPort" => need(port(value), PORT_RULE).map(|v| self.listen_port = v),
            "brokerIP1" => need(value.parse().ok(), IP_RULE).map(|v| self.broker_ip1 = Some(v)),
            "brokerIP2" => need(value.parse().ok(), IP_RULE).map(|v| self.broker_ip2 = Some(v)),
            "brokerPermission" => need(
                number(value, 0..=7),
                "expected perm bits 0-7 (6 = read-write)",
            )
            .map(|v| self.broker_permission = v),
            "registerNameServerPeriod" => need(millis(value), MS_RULE).map(|v| {
                self.register_name_server_period =
                    v.clamp(Duration::from_secs(10), Duration::from_secs(60))
            }),
            "compressedRegister" => {
                need(boolean(value), BOOL_RULE).map(|v| self.compressed_register = v)
            }
            "enableSplitRegistration" => {
                need(boolean(value), BOOL_RULE).map(|v| self.enable_split_registration = v)
            }
            "splitRegistrationSize" => need(number(value, 1..=i64::MAX), "expected a count ≥ 1")
                .map(|v| self.split_registration_size = v),
            "haListenPort" => need(port(value), PORT_RULE).map(|v| self.ha_listen_port = Some(v)),
            "shards" => need(number(value, 1..=i64::MAX), "expected a count ≥ 1")
                .map(|v| self.shards = Some(v)),
            "spinBeforeParkMicros" => need(
                number::<u64>(value, 0..=10_000_000),
                "expected microseconds ≥ 0",
            )
            .map(|v| self.spin_before_park = Duration::from_micros(v)),
            "ioMemoryBytesPerShard" => need(
                number(value, IO_MEMORY_RANGE),
                "expected bytes 65536-1073741824",
            )
            .map(|v| self.io_memory_bytes_per_shard = Some(v)),
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
            "syncFlushTimeout" => need(number(value, 1..=i64::MAX), "expected ms ≥ 1")
                .map(|ms: u64| self.sync_flush_timeout = Duration::from_millis(ms)),
            "flushConsumerOffsetInterval" => need(number(value, 1..=i64::MAX), "expected ms ≥ 1")
                .map(|ms: u64| self.flush_consumer_offset_interval = Duration::from_millis(ms)),
            "diskSpaceCleanForciblyRatio" => {
                need(number(value, 1..=100), "expected a percentage 1-100")
                    .map(|v| self.disk_space_clean_forcibly_ratio = v)
            }
            "cleanFileForciblyEnable" => {
                need(boolean(value), BOOL_RULE).map(|v| self.clean_file_forcibly_enable = v)
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
            "traceTopicEnable" => {
                need(boolean(value), BOOL_RULE).map(|v| self.trace_topic_enable = v)
            }
            "msgTraceTopicName" => {
                need(name(value), NAME_RULE).map(|v| self.msg_trace_topic_name = v)
            }
            "rejectTransactionMessage" => {
                need(boolean(value), BOOL_RULE).map(|v| self.reject_transaction_message = v)
            }
            "transactionTimeOut" => need(number(value, 1..=i64::MAX), "expected ms ≥ 1")
                .map(|ms: u64| self.transaction_timeout = Duration::from_millis(ms)),
            "transactionCheckInterval" => need(number(value, 1..=i64::MAX), "expected ms ≥ 1")
                .map(|ms: u64| self.transaction_check_interval = Duration::from_millis(ms)),
            "transactionCheckMax" => need(number(value, 0..=i64::from(i32::MAX)), "expected ≥ 0")
                .map(|n| self.transaction_check_max = n),
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
        self.acl.check()?;
        match self.broker_role {
            BrokerRole::Slave if self.broker_id < 1 => {
                return Err(ConfigError::Inconsistent(format!(
                    "brokerId {} is refused for brokerRole=SLAVE: a slave's id is 1 or more \
                     (0 is its master's); set brokerId=1",
                    self.broker_id
                )));
            }
            // Without haMasterAddress a slave learns its master from the answers of the
            // NameServers it registers with; its own embedded one never names a master.
            BrokerRole::Slave
                if self.ha_master_address.is_none() && self.namesrv_addr.is_empty() =>
            {
                return Err(ConfigError::Inconsistent(
                    "brokerRole=SLAVE learns its master from the NameServers its master \
                     registers with: set namesrvAddr=<host:port;…> (or haMasterAddress=<master \
                     host>:<its HA port, listenPort + 1>)"
                        .to_owned(),
                ));
            }
            BrokerRole::AsyncMaster | BrokerRole::SyncMaster if self.broker_id != 0 => {
                return Err(ConfigError::Inconsistent(format!(
                    "brokerId {} is refused for a master: a master has id 0, slaves 1 or more; \
                     set brokerId=0, or brokerRole=SLAVE for a slave",
                    self.broker_id
                )));
            }
            _ => {}
        }
        for set in &self.store_paths {
            let (key, default, layout) = STORE_PATHS
                .iter()
                .find(|(key, ..)| *key == set.key)
                .copied()
                .unwrap_or((set.key.as_str(), "", ""));
            let java_default = self.store_path_root_dir.join(default);
            if set.path != java_default {
                return Err(ConfigError::Unsupported {
                    key: key.to_owned(),
                    value: set.path.display().to_string(),
                    origin: set.origin.clone(),
                    instead: format!(
                        "{layout}; move the whole store with storePathRootDir instead (the \
                         only value accepted is the Java default, {})",
                        java_default.display()
                    ),
                });
            }
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

    /// The address of the HA port in registrations (`brokerIP2`, else `brokerIP1`).
    pub fn ha_ip(&self) -> IpAddr {
        self.broker_ip2.unwrap_or_else(|| self.broker_ip())
    }

    /// The broker name shard `shard` registers under: `<brokerName>-<shard>`. Always
    /// suffixed, so a name never moves to another shard when the shard count changes.
    pub fn shard_broker_name(&self, shard: usize) -> String {
        format!("{}-{shard}", self.broker_name)
    }
}

/// Applies every entry of the properties file at `path` through `set`; returns the keys
/// that were accepted but ignored (each logged once).
fn apply_file(
    path: &Path,
    mut set: impl FnMut(&str, &str, &str) -> Result<Applied, ConfigError>,
) -> Result<Vec<String>, ConfigError> {
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
        if set(&entry.key, &entry.value, &origin)? == Applied::Ignored {
            tracing::warn!(key = %entry.key, %origin, "configuration key has no meaning in shardmq; ignored");
            ignored.push(entry.key);
        }
    }
    Ok(ignored)
}
