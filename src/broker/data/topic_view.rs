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

/// The shard's topic table as the data path sees it.
pub trait TopicView {
    fn topic(&self, name: &str) -> Option<TopicInfo>;

    /// Adds `name` with `info`, as a send's auto-creation asks (the caller has checked the
    /// template), and makes it known to the NameServer. `None` when the table refuses
    /// (auto-creation disabled, table full); an existing topic is returned unchanged.
    fn create_topic(&self, name: &str, info: TopicInfo) -> Option<TopicInfo>;

    /// Whether consumer `group` may pull: it exists (or may be created on first use) and
    /// its `consumeEnable` is on.
    fn check_consumer_group(&self, _group: &str) -> Result<(), BrokerError> {
        Ok(())
    }

    /// `brokerPermission`: an admin may take write (or read) away from the whole broker.
    fn broker_perm(&self) -> i32 {
        perm::READ | perm::WRITE
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
    fn check_consumer_group(&self, group: &str) -> Result<(), BrokerError> {
        let groups = &self.0.groups;
        match groups.table().get(group) {
            Some(config) if !config.consume_enable => Err(BrokerError::NoPermission(format!(
                "subscription group no permission, {group}"
            ))),
            Some(_) => Ok(()),
            None if groups.may_auto_create(group) => Ok(()),
            None => Err(BrokerError::SubscriptionGroupNotExist(group.to_owned())),
        }
    }

    fn broker_perm(&self) -> i32 {
        self.0.config.broker_permission
    }

    fn create_topic(&self, name: &str, _info: TopicInfo) -> Option<TopicInfo> {
        // Not reached in the broker: the dispatcher creates a send's topic, dead-letter
        // redirects included, before the send handler runs. Answered as not existing.
        tracing::debug!(topic = name, "topic not created on the send path");
        None
    }
}
