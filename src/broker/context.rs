//! [`BrokerContext`]: the state of one shard's logical broker that every handler reads —
//! configuration, identity, topics, the NameServer client, the shard handle.
//!
//! One per shard, behind an `Rc`, built before the shard listens. Other request families add
//! their per-shard state (store, client registry, offsets) as fields here.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::rc::Rc;

use super::{BrokerShard, ShardMsg, ShardReply, Topics};
use crate::broker::admin::stats::ShardStats;
use crate::broker::admin::{broker_config, meters};
use crate::broker::clients::calls::ClientCalls;
use crate::broker::clients::offsets::ConsumerOffsets;
use crate::broker::clients::queue_locks::QueueLocks;
use crate::broker::clients::registry::ClientRegistry;
use crate::broker::data::path;
use crate::broker::data::send::{SendHandler, SendLimits};
use crate::broker::metadata::group_owner::Groups;
use crate::broker::metadata::groups::{self, GroupTable};
use crate::broker::metadata::register;
use crate::broker::metadata::topics::{self, TopicTable};
use crate::broker::replication::LearnedMaster;
use crate::broker::scheduled::delay::{DelayLevels, TimerRules};
use crate::broker::scheduled::schedule::{DelayOffsets, Schedule};
use crate::broker::scheduled::send_back;
use crate::broker::scheduled::timer::{Opened, Timers};
use crate::broker::transaction::service::{self as transaction, Progress};
use crate::broker::transaction::{TransactionConfig, Transactions};
use crate::client::{ClientOptions, Pool};
use crate::clock::Clock;
use crate::config::ShardPorts;
use crate::config::{BrokerConfig, FlushDiskType};
use crate::storage::config::{FlushPolicy, StoreConfig};
use crate::storage::index::Geometry;
use crate::storage::retention::RetentionConfig;
use crate::storage::store::Store;
use crate::wire::body::DataVersion;

/// How shard k presents itself to NameServers and clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardIdentity {
    /// `<brokerName>-<k>`.
    pub broker_name: String,
    /// `brokerIP1:<main port>`.
    pub broker_addr: String,
    /// `brokerIP2:<HA port>` (`brokerIP2` defaults to `brokerIP1`).
    pub ha_server_addr: String,
    /// The shard's ports; `ha` is the one in force (`haListenPort` moves it).
    pub ports: ShardPorts,
}

/// What a shard's services read from its files at start-up, before the shard serves.
#[derive(Debug)]
pub struct Saved {
    pub delay_offsets: DelayOffsets,
    pub timers: Opened,
    pub transaction_progress: Progress,
}

/// The per-shard broker state handlers use.
#[derive(Debug)]
pub struct BrokerContext {
    /// The configuration in force: UPDATE_BROKER_CONFIG replaces it ([`Self::config`]).
    config: RefCell<Rc<BrokerConfig>>,
    /// The configuration's data version: its counter counts the updates since start.
    config_version: RefCell<DataVersion>,
    /// When `brokerPermission` last changed at run time, ms since the epoch (0: never).
    permission_changed_ms: Cell<i64>,
    /// On the configuration's owner shard: updates, one at a time.
    pub config_updates: glommio::sync::Semaphore,
    pub shard: BrokerShard,
    pub identity: ShardIdentity,
    pub topics: Topics,
    pub groups: Groups,
    /// Connections to the NameServers, for registration.
    pub namesrv: Rc<Pool>,
    /// When this broker started, ms since the epoch (GET_BROKER_RUNTIME_INFO).
    pub boot_ms: i64,
    /// This shard's store, written by this shard alone.
    pub store: Rc<Store>,
    /// Producers and consumer groups connected to this shard.
    pub clients: Rc<ClientRegistry>,
    /// Requests sent to those clients, waiting for their answers.
    pub client_calls: ClientCalls,
    /// Committed consumer offsets of this shard's queues.
    pub offsets: Rc<ConsumerOffsets>,
    /// Messages this shard stored and handed out, and their rates.
    pub stats: Rc<ShardStats>,
    /// Delivers this shard's delayed messages.
    pub schedule: Rc<Schedule>,
    /// Delivers this shard's 5.x timer messages.
    pub timers: Rc<Timers>,
    /// This shard's pending transactions, their ends and checks.
    pub transactions: Rc<Transactions>,
    /// Orderly consumers' leases on this shard's queues.
    pub queue_locks: QueueLocks,
    /// Consumer groups whose config and retry topic a heartbeat is having created now.
    pub groups_in_setup: RefCell<BTreeSet<String>>,
    /// What this shard last registered with the NameServers: what a registration after a
    /// topic change starts from.
    pub registered: RefCell<Option<register::LastRegistration>>,
    /// On a slave: its master, as the NameServers' registration answers name it.
    pub master: Rc<LearnedMaster>,
    /// The store's clock: handlers read the time through it, so what they report and
    /// expire agrees with the store's timestamps, and a test moves all of it at once.
    pub clock: Clock,
}

/// The store settings of shard `shard` from the broker's.
pub fn store_config(config: &BrokerConfig, shard: usize) -> StoreConfig {
    let mut store = StoreConfig::new(config.store_path_root_dir.clone(), shard as u32);
    store.log.segment_size = config.mapped_file_size_commit_log;
    store.log.flush = match config.flush_disk_type {
        FlushDiskType::AsyncFlush => FlushPolicy::Async,
        FlushDiskType::SyncFlush => FlushPolicy::Sync,
    };
    store.log.flush_interval_ms = config.flush_interval_commit_log.as_millis() as u64;
    store.log.flush_least_bytes = u64::from(config.flush_commit_log_least_pages) * 4096;
    // ConsumeQueue segments hold a whole number of 1024-entry (20 KiB) blocks: Java's
    // default 300 000 entries becomes 299 008.
    let entries = config.mapped_file_size_consume_queue / 20;
    store.cq_entries_per_segment = (entries - entries % 1024).max(1024);
    store.index = Geometry {
        slots: config.max_hash_slot_num,
        entries: config.max_index_num,
    };
    store.message_index = config.message_index_enable;
    store
}

/// The send settings of `config` that may change while the broker runs.
pub fn send_limits(config: &BrokerConfig) -> SendLimits {
    SendLimits {
        body_size_max: config.max_message_size,
        sync_flush_timeout: config.sync_flush_timeout,
        reject_transactions: config.reject_transaction_message,
    }
}

/// The retention settings from the broker's.
pub fn retention_config(config: &BrokerConfig) -> RetentionConfig {
    let hours: Vec<String> = config
        .delete_when
        .iter()
        .map(|h| format!("{h:02}"))
        .collect();
    RetentionConfig {
        file_reserved_hours: config.file_reserved_time.as_secs() / 3600,
        delete_when: hours.join(";"),
        disk_max_used_space_ratio: u32::from(config.disk_max_used_space_ratio),
        disk_clean_forcibly_ratio: u32::from(config.disk_space_clean_forcibly_ratio),
        clean_file_forcibly: config.clean_file_forcibly_enable,
        ..RetentionConfig::default()
    }
}

/// Where shard `shard` keeps its consumer offsets.
pub fn offsets_path(config: &BrokerConfig, shard: usize) -> PathBuf {
    shard_config_file(config, shard, "consumerOffset.json")
}

/// Where shard `shard` keeps its delay service's cursors.
pub fn delay_offsets_path(config: &BrokerConfig, shard: usize) -> PathBuf {
    shard_config_file(config, shard, "delayOffset.json")
}

/// Where shard `shard` keeps how far its transaction queues are settled.
pub fn transaction_progress_path(config: &BrokerConfig, shard: usize) -> PathBuf {
    shard_config_file(config, shard, "transactionProgress.json")
}

/// Loads shard `shard`'s transaction progress (see [`transaction::load`]).
pub fn load_transaction_progress(config: &BrokerConfig, shard: usize) -> Result<Progress, String> {
    transaction::load(&transaction_progress_path(config, shard))
}

/// Where shard `shard` keeps its timer index and state (docs/storage.md "Timer messages").
pub fn timer_dir(config: &BrokerConfig, shard: usize) -> PathBuf {
    store_config(config, shard).shard_dir().join("timer")
}

/// `timerMaxDelaySec` and `timerPrecisionMs`.
pub fn timer_rules(config: &BrokerConfig) -> TimerRules {
    TimerRules {
        max_delay: config.timer_max_delay,
        precision_ms: config.timer_precision_ms,
    }
}

/// `<shard dir>/config/<name>`, as Java keeps its `config/` files per broker.
fn shard_config_file(config: &BrokerConfig, shard: usize, name: &str) -> PathBuf {
    store_config(config, shard)
        .shard_dir()
        .join("config")
        .join(name)
}

impl BrokerContext {
    /// Builds shard `shard`'s context; `initial` holds the tables loaded before start-up,
    /// the same on every shard, `saved` the shard's delay cursors and timer index. The context
    /// takes the clock `store` was opened with, so a shard has one clock.
    pub fn new(
        shard: BrokerShard,
        config: Rc<BrokerConfig>,
        ports: ShardPorts,
        initial: (TopicTable, GroupTable),
        store: Rc<Store>,
        offsets: ConsumerOffsets,
        saved: Saved,
    ) -> Result<Rc<Self>, shards::ReplicaError> {
        let index = shard.id().index();
        // What STOREHOST and offset ids carry, and the address registered for clients.
        let store_host = std::net::SocketAddr::new(config.broker_ip(), ports.main);
        let ha_port = match config.ha_listen_port {
            // A configured HA port is shard 0's; the others follow the shard port stride.
            Some(port) => port.saturating_add(ports.main - config.listen_port),
            None => ports.ha,
        };
        let identity = ShardIdentity {
            broker_name: config.shard_broker_name(index),
            broker_addr: store_host.to_string(),
            ha_server_addr: std::net::SocketAddr::new(config.ha_ip(), ha_port).to_string(),
            ports: ShardPorts {
                ha: ha_port,
                ..ports
            },
        };
        let own: BTreeMap<_, _> = topics::shard_topics(&config, index);
        let file = topics::topics_file(&config.store_path_root_dir);
        let (initial_topics, initial_groups) = initial;
        let topics = Topics::new(&shard, initial_topics, own, file)?;
        let groups = Groups::new(
            &shard,
            initial_groups,
            groups::groups_file(&config.store_path_root_dir),
            config.auto_create_subscription_group,
        )?;
        let clock = store.clock().clone();
        let levels = DelayLevels::new(config.message_delay_level.clone());
        let schedule = Schedule::new(store.clone(), levels, &saved.delay_offsets);
        let timers = Timers::new(store.clone(), timer_rules(&config), saved.timers);
        let clients = Rc::new(ClientRegistry::new());
        let transactions = Transactions::new(
            store.clone(),
            clients.clone(),
            TransactionConfig {
                timeout: config.transaction_timeout,
                check_interval: config.transaction_check_interval,
                check_max: config.transaction_check_max,
                store_host,
                broker_name: identity.broker_name.clone(),
                progress_path: transaction_progress_path(&config, index),
            },
            saved.transaction_progress,
        );
        let stats = Rc::new(ShardStats::new(clock.clone(), &config.broker_cluster_name));
        // Registrations are signed with the broker's account when it has one (ACL).
        let namesrv = Rc::new(Pool::new(ClientOptions::signed_by(
            config.acl.credentials(),
        )));
        Ok(Rc::new(BrokerContext {
            config: RefCell::new(config),
            config_version: RefCell::new(DataVersion {
                timestamp: clock.wall_ms(),
                ..DataVersion::default()
            }),
            permission_changed_ms: Cell::new(0),
            config_updates: glommio::sync::Semaphore::new(1),
            shard,
            identity,
            topics,
            groups,
            namesrv,
            boot_ms: clock.wall_ms(),
            store,
            clients,
            client_calls: ClientCalls::default(),
            offsets: Rc::new(offsets),
            stats,
            schedule: Rc::new(schedule),
            timers: Rc::new(timers),
            transactions: Rc::new(transactions),
            queue_locks: QueueLocks::default(),
            groups_in_setup: RefCell::default(),
            registered: RefCell::default(),
            master: Rc::default(),
            clock,
        }))
    }

    /// The configuration in force now. Read a key where it acts rather than keeping a copy:
    /// the keys of [`crate::config::LIVE_KEYS`] change while the broker runs.
    pub fn config(&self) -> Rc<BrokerConfig> {
        self.config.borrow().clone()
    }

    /// Whether `group` is known here: in the table, or being created by a heartbeat to this
    /// shard. A consumer may commit, and an admin reset, right after its first heartbeat (a
    /// short run that consumes and stops does), before the creation has gone through the
    /// owner shard; Java, which creates the group while it answers the heartbeat, takes both.
    pub fn knows_group(&self, group: &str) -> bool {
        self.groups.table().get(group).is_some() || self.groups_in_setup.borrow().contains(group)
    }

    /// The data version of [`Self::config`].
    pub fn config_version(&self) -> DataVersion {
        self.config_version.borrow().clone()
    }

    /// Puts `config` in force at `version`; returns the configuration it replaces.
    pub fn replace_config(
        &self,
        config: Rc<BrokerConfig>,
        version: DataVersion,
    ) -> Rc<BrokerConfig> {
        *self.config_version.borrow_mut() = version;
        let before = self.config.replace(config);
        if before.broker_permission != self.config().broker_permission {
            // Later than any version registered before, so NameServers take the change.
            let last = self.permission_changed_ms.get();
            let now = self.clock.wall_ms();
            let now = now.max(self.topics.table().data_version.timestamp);
            self.permission_changed_ms.set(now.max(last + 1));
        }
        before
    }

    /// When `brokerPermission` last changed while the broker ran (0: never); registrations
    /// carry it as their data version's time when it is later than the table's.
    pub fn permission_changed_ms(&self) -> i64 {
        self.permission_changed_ms.get()
    }

    /// The address this shard's records carry as STOREHOST (`brokerIP1`:main port), which
    /// offset message ids point at, so it must be what clients reach.
    pub fn store_host(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::new(self.config().broker_ip(), self.identity.ports.main)
    }

    /// Serves this shard's mesh messages; forwarded sends go to `sends`. Call once the
    /// shard's listeners are bound.
    pub fn serve_mesh(self: &Rc<Self>, sends: Rc<SendHandler>) {
        let ctx = self.clone();
        self.shard
            .serve(move |_from, msg| ctx.clone().handle_mesh(msg, sends.clone()));
    }

    async fn handle_mesh(self: Rc<Self>, msg: ShardMsg, sends: Rc<SendHandler>) -> ShardReply {
        match msg {
            ShardMsg::Topic(change) => ShardReply::Changed(
                self.topics
                    .apply_on_owner(change, self.clock.wall_ms())
                    .await,
            ),
            ShardMsg::TopicsChanged { version } => {
                self.topics.wait_version(version).await;
                self.register_changes(register::CHANGE_WAIT_MAX).await;
                ShardReply::Done
            }
            ShardMsg::Group(change) => ShardReply::Changed(
                self.groups
                    .apply_on_owner(change, self.clock.wall_ms())
                    .await,
            ),
            ShardMsg::DeleteGroupOffsets(group) => {
                self.offsets.delete_group(&group);
                ShardReply::Done
            }
            ShardMsg::Ready => ShardReply::Done,
            ShardMsg::Unregister => {
                self.unregister_all(register::CHANGE_WAIT_MAX).await;
                ShardReply::Done
            }
            ShardMsg::Send { born_host, command } => {
                ShardReply::Sent(path::store_forwarded(&sends, born_host, command).await)
            }
            ShardMsg::Resend(record) => {
                ShardReply::Resent(send_back::store_forwarded(&self, &record).await)
            }
            ShardMsg::Metrics => ShardReply::Metrics(Box::new(meters::snapshot(&self).await)),
            ShardMsg::UpdateConfig(entries) => {
                ShardReply::Changed(broker_config::apply_on_owner(&self, entries).await)
            }
            ShardMsg::Reconfigure { config, version } => {
                broker_config::reconfigure(&self, &sends, (*config).clone(), version).await;
                ShardReply::Done
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_settings_follow_broker_conf() {
        let mut config = BrokerConfig {
            flush_disk_type: FlushDiskType::SyncFlush,
            mapped_file_size_commit_log: 4 << 20,
            ..BrokerConfig::default()
        };
        let store = store_config(&config, 1);
        assert_eq!(store.log.segment_size, 4 << 20);
        assert_eq!(store.log.flush, FlushPolicy::Sync);
        assert_eq!(store.cq_entries_per_segment % 1024, 0);
        assert!(store.shard_dir().ends_with("shard-1"));
        assert_eq!(store.index, Geometry::JAVA);
        config.mapped_file_size_consume_queue = 20;
        assert_eq!(store_config(&config, 0).cq_entries_per_segment, 1024);
    }
}
