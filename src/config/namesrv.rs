//! The NameServer's configuration: Java's `namesrv.conf` keys (its `NamesrvConfig` and
//! `NettyServerConfig`) with Java's defaults, read by `shardmq namesrv -c` the way the
//! broker reads `broker.conf` (docs/operations.md, "The NameServer's configuration").
//!
//! The same rules: an unknown key stops start-up naming it; a key that changes what the
//! NameServer keeps, answers or lets clients do is honoured, or accepted only with the values
//! that ask for what shardmq does ([`LIMITED`]); pure tuning knobs ([`NAMESRV_IGNORED_KEYS`])
//! are accepted with a warning. Sources apply in order: defaults, the file, flags, `-o`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::acl::AclConfig;
use super::keys::{apply_limited, Limited};
use super::values::*;
use super::{Applied, ConfigError, Setter};

/// Keys of Java `namesrv.conf` files that only tune machinery shardmq does not have;
/// accepted with a warning.
pub const NAMESRV_IGNORED_KEYS: &[&str] = &[
    // Where Java finds its own install (its logging configuration).
    "rocketmqHome",
    // Where Java writes configuration changed over the wire (UPDATE_NAMESRV_CONFIG), which
    // shardmq does not take: nothing is ever written there.
    "configStorePath",
    "configBlackList",
    "productEnvName",
    // Threads, semaphores, socket buffers and queues: one shard serves every request.
    "serverWorkerThreads",
    "serverCallbackExecutorThreads",
    "serverSelectorThreads",
    "serverOnewaySemaphoreValue",
    "serverAsyncSemaphoreValue",
    "serverChannelMaxIdleTimeSeconds",
    "serverSocketSndBufSize",
    "serverSocketRcvBufSize",
    "serverSocketBacklog",
    "writeBufferHighWaterMark",
    "writeBufferLowWaterMark",
    "serverPooledByteBufAllocatorEnable",
    "useEpollNativeSelector",
    "defaultThreadPoolNums",
    "clientRequestThreadPoolNums",
    "defaultThreadPoolQueueCapacity",
    "clientRequestThreadPoolQueueCapacity",
    "unRegisterBrokerQueueCapacity",
    // A pause before serving at start-up.
    "needWaitForService",
    "waitSecondsForService",
];

/// NameServer keys accepted only with the values that change nothing in shardmq.
const LIMITED: &[Limited] = &[
    Limited {
        key: "clusterTest",
        accepts: false,
        instead: "shardmq does not look routes up in a test environment's cluster: it answers \
                  from what brokers registered here; set clusterTest=false or remove the key",
    },
    Limited {
        key: "enableControllerInNamesrv",
        accepts: false,
        instead: "replication (and its controller) is not built yet; set \
                  enableControllerInNamesrv=false or remove the key",
    },
    Limited {
        key: "supportActingMaster",
        accepts: false,
        instead: "replication is not built yet, so no slave ever acts as master; set \
                  supportActingMaster=false or remove the key",
    },
    Limited {
        key: "notifyMinBrokerIdChanged",
        accepts: false,
        instead: "replication is not built yet: every broker is a master with id 0; set \
                  notifyMinBrokerIdChanged=false or remove the key",
    },
    Limited {
        key: "enableAllTopicList",
        accepts: true,
        instead: "shardmq always answers GET_ALL_TOPIC_LIST_FROM_NAMESERVER; set \
                  enableAllTopicList=true or remove the key",
    },
    Limited {
        key: "enableTopicList",
        accepts: true,
        instead: "shardmq always answers the topic-list requests; set enableTopicList=true or \
                  remove the key",
    },
];

/// Everything a NameServer is started with, named after Java's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamesrvConfig {
    /// `bindAddress` (also shardmq's `listenAddr`, as for the broker).
    pub listen_addr: IpAddr,
    /// `listenPort`.
    pub listen_port: u16,
    /// `kvConfigPath`: where the KV config is kept; `None` keeps it in memory only (tests).
    pub kv_config_path: Option<PathBuf>,
    /// `deleteTopicWithBrokerRegistration`: a master's registration replaces its topic set.
    /// On by default, which suits shardmq brokers (they always register every topic); turn
    /// it off (Java's default) when Java 5.x brokers register here, as they register a
    /// newly created topic alone.
    pub delete_topic_with_broker_registration: bool,
    /// `orderMessageEnable`: routes carry the topic's `orderTopicConf` from the
    /// `ORDER_TOPIC_CONFIG` KV namespace, which makes 4.x clients send orderly. Off, as in
    /// Java.
    pub order_message_enable: bool,
    /// `returnOrderTopicConfigToBroker`: a registration's answer carries the
    /// `ORDER_TOPIC_CONFIG` namespace. On, as in Java.
    pub return_order_topic_config_to_broker: bool,
    /// `scanNotActiveBrokerInterval`: how often silent brokers are looked for.
    pub scan_not_active_broker_interval: Duration,
    /// `aclEnable` and `aclFile` (shardmq's; Java's NameServer has no access control): who
    /// may register, unregister and delete (docs/access-control.md). An embedded NameServer
    /// takes its broker's.
    pub acl: AclConfig,
}

impl Default for NamesrvConfig {
    fn default() -> Self {
        NamesrvConfig {
            listen_addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            listen_port: 9876,
            kv_config_path: None,
            delete_topic_with_broker_registration: true,
            order_message_enable: false,
            return_order_topic_config_to_broker: true,
            scan_not_active_broker_interval: Duration::from_secs(5),
            acl: AclConfig::default(),
        }
    }
}

impl NamesrvConfig {
    /// The standalone NameServer's defaults: Java's, with the KV config in
    /// `$HOME/namesrv/kvConfig.json` as Java keeps it.
    pub fn standalone() -> Self {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        NamesrvConfig {
            kv_config_path: Some(home.join("namesrv").join("kvConfig.json")),
            ..NamesrvConfig::default()
        }
    }

    /// Where it listens.
    pub fn listen(&self) -> SocketAddr {
        SocketAddr::new(self.listen_addr, self.listen_port)
    }

    /// Applies every entry of a `namesrv.conf` file over the current values; returns the
    /// keys that were accepted but ignored (already logged).
    pub fn apply_file(&mut self, path: &std::path::Path) -> Result<Vec<String>, ConfigError> {
        self.acl.config_file_read(path);
        super::apply_file(path, |key, value, origin| self.set(key, value, origin))
    }

    /// Sets one key from its text; `origin` names where it came from, for errors.
    pub fn set(&mut self, key: &str, value: &str, origin: &str) -> Result<Applied, ConfigError> {
        let value = value.trim();
        let refuse = |why: String| ConfigError::InvalidValue {
            key: key.to_owned(),
            value: value.to_owned(),
            why,
            origin: origin.to_owned(),
        };
        match self.set_known(key, value) {
            Some(Ok(())) => return Ok(Applied::Set),
            Some(Err(why)) => return Err(refuse(why)),
            None => {}
        }
        if let Some(rule) = LIMITED.iter().find(|rule| rule.key == key) {
            return apply_limited(rule, key, value, origin);
        }
        if NAMESRV_IGNORED_KEYS.contains(&key) {
            return Ok(Applied::Ignored);
        }
        Err(ConfigError::UnknownKey {
            key: key.to_owned(),
            origin: origin.to_owned(),
        })
    }

    fn set_known(&mut self, key: &str, value: &str) -> Setter {
        let result = match key {
            "listenAddr" | "bindAddress" => {
                need(value.parse().ok(), IP_RULE).map(|v| self.listen_addr = v)
            }
            "listenPort" => need(port(value), PORT_RULE).map(|v| self.listen_port = v),
            // Relative to the working directory at start-up, made absolute at once.
            "kvConfigPath" if value.is_empty() => Err("expected a file path".to_owned()),
            "kvConfigPath" => std::path::absolute(value)
                .map(|path| self.kv_config_path = Some(path))
                .map_err(|e| format!("cannot resolve the path: {e}")),
            "deleteTopicWithBrokerRegistration" => need(boolean(value), BOOL_RULE)
                .map(|v| self.delete_topic_with_broker_registration = v),
            "orderMessageEnable" => {
                need(boolean(value), BOOL_RULE).map(|v| self.order_message_enable = v)
            }
            "returnOrderTopicConfigToBroker" => need(boolean(value), BOOL_RULE)
                .map(|v| self.return_order_topic_config_to_broker = v),
            "scanNotActiveBrokerInterval" => need(number(value, 1..=i64::MAX), "expected ms ≥ 1")
                .map(|ms: u64| self.scan_not_active_broker_interval = Duration::from_millis(ms)),
            "aclEnable" | "aclFile" => return self.acl.set(key, value),
            _ => return None,
        };
        Some(result)
    }
}
