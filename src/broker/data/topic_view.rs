//! What the SEND and PULL handlers need from the shard's topic table and broker settings,
//! as a small trait: the table itself (with its persistence and NameServer registration)
//! lives elsewhere, and tests stand in a map.
//!
//! Lives on every shard; each shard is its own logical broker with its own table.

use crate::broker::BrokerError;
use crate::wire::body::perm;

/// The parts of a topic's config the data path reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicInfo {
    pub read_queue_nums: u32,
    pub write_queue_nums: u32,
    pub perm: i32,
    /// The topic's queues are spread over several shards (see
    /// [`crate::broker::metadata::placement`]).
    pub partial: bool,
}

impl TopicInfo {
    pub fn readable(&self) -> bool {
        self.perm & perm::READ != 0
    }

    pub fn writable(&self) -> bool {
        self.perm & perm::WRITE != 0
    }

    /// Java's bound for a send's queue id: either count, as they may differ while an admin
    /// resizes a topic.
    pub fn queue_nums_max(&self) -> u32 {
        self.read_queue_nums.max(self.write_queue_nums)
    }
}

/// Which broker of its group a pull suggests for a consumer group's next pull
/// (`suggestWhichBrokerId`), from the group's config: `brokerId` when the reader keeps up,
/// `whichBrokerWhenConsumeSlowly` when it reads far behind the log's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadFrom {
    pub broker_id: i64,
    pub when_slow: i64,
}

impl Default for ReadFrom {
    /// A group created on first use: the master, and the first slave when reading slowly.
    fn default() -> Self {
        ReadFrom {
            broker_id: 0,
            when_slow: 1,
        }
    }
}

/// The shard's topic table as the data path sees it.
pub trait TopicView {
    fn topic(&self, name: &str) -> Option<TopicInfo>;

    /// Adds `name` with `info`, as a send's auto-creation asks (the caller has checked the
    /// template), and makes it known to the NameServer. `None` when the table refuses
    /// (auto-creation disabled, table full); an existing topic is returned unchanged.
    fn create_topic(&self, name: &str, info: TopicInfo) -> Option<TopicInfo>;

    /// Whether consumer `group` may pull: it exists (or may be created on first use) and
    /// its `consumeEnable` is on; then where it reads from.
    fn check_consumer_group(&self, _group: &str) -> Result<ReadFrom, BrokerError> {
        Ok(ReadFrom::default())
    }

    /// `brokerPermission`: an admin may take write (or read) away from the whole broker.
    fn broker_perm(&self) -> i32 {
        perm::READ | perm::WRITE
    }

    /// With `slaveReadEnable`, how many bytes behind the log's end a pull's last record may
    /// lie before the pull suggests the group's slow-consumer broker; `None` without it.
    fn slave_read_after(&self) -> Option<u64> {
        None
    }

    /// Whether a pull out of its queue's range is answered PULL_OFFSET_MOVED with the
    /// offset to go on from, as a master does. A slave without `offsetCheckInSlave`
    /// answers PULL_RETRY_IMMEDIATELY and leaves the offset as it is: its copy may lag, and
    /// a consumer that read further on the master must not be moved back (nor one below
    /// what a new slave holds moved forward).
    fn corrects_offsets(&self) -> bool {
        true
    }
}

/// The data path's view of a shard's [`crate::broker::Topics`] copy. Lookups are local; creation is
/// not done here, because it goes through the table's owner shard and so has to wait: the
/// dispatcher creates a send's unknown topic before it hands the send over
/// ([`crate::dispatch`]), so the send handler finds it.
#[derive(Debug)]
pub struct ShardTopics(pub std::rc::Rc<crate::broker::BrokerContext>);

impl TopicView for ShardTopics {
    fn topic(&self, name: &str) -> Option<TopicInfo> {
        let meta = self.0.topics.meta(name)?;
        Some(TopicInfo {
            read_queue_nums: u32::try_from(meta.read_queue_nums).unwrap_or(0),
            write_queue_nums: u32::try_from(meta.write_queue_nums).unwrap_or(0),
            perm: meta.perm,
            partial: meta.partial,
        })
    }

    /// Java's pull rule. An unknown group that auto-creation allows is served with the
    /// default config without creating it here: creating waits for the owner shard, and the
    /// group's heartbeat, which comes first, creates it.
    fn check_consumer_group(&self, group: &str) -> Result<ReadFrom, BrokerError> {
        let groups = &self.0.groups;
        match groups.table().get(group) {
            Some(config) if !config.consume_enable => Err(BrokerError::NoPermission(format!(
                "subscription group no permission, {group}"
            ))),
            Some(config) => Ok(ReadFrom {
                broker_id: config.broker_id,
                when_slow: config.which_broker_when_consume_slowly,
            }),
            None if groups.may_auto_create(group) => Ok(ReadFrom::default()),
            None => Err(BrokerError::SubscriptionGroupNotExist(group.to_owned())),
        }
    }

    fn broker_perm(&self) -> i32 {
        self.0.config().broker_permission
    }

    fn corrects_offsets(&self) -> bool {
        let config = &self.0.config();
        config.broker_role != crate::config::BrokerRole::Slave || config.offset_check_in_slave
    }

    fn slave_read_after(&self) -> Option<u64> {
        let config = &self.0.config();
        let ratio = u64::from(config.access_message_in_memory_max_ratio);
        config
            .slave_read_enable
            .then(|| host_memory_bytes() / 100 * ratio)
    }

    fn create_topic(&self, name: &str, _info: TopicInfo) -> Option<TopicInfo> {
        // Not reached in the broker: the dispatcher creates a send's topic, dead-letter
        // redirects included, before the send handler runs. Answered as not existing.
        tracing::debug!(topic = name, "topic not created on the send path");
        None
    }
}

/// The host's memory (`MemTotal`), which Java's rule for far-behind readers takes a share of;
/// read once. Unknown (no `/proc`), no reader counts as far behind.
fn host_memory_bytes() -> u64 {
    static TOTAL: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TOTAL.get_or_init(|| shards::host_memory_bytes().unwrap_or(u64::MAX))
}
