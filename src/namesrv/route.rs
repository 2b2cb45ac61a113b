//! The route table: which brokers exist, which topics they host, and when each broker last
//! registered. Pure state with no I/O and no clock: every time-dependent call takes `now_ms`.
//!
//! Invariants, kept by every method:
//! - a broker name is in `brokers` only while it has at least one address, and it is then a
//!   member of exactly its cluster's set in `clusters`; an empty cluster set is removed;
//! - every queue data belongs to a broker name in `brokers`, and a topic is in `topics` only
//!   while it has at least one queue data;
//! - queue data is written only by a master's (id 0) registration and by
//!   REGISTER_TOPIC_IN_NAMESRV;
//! - a broker address is live under at most one connection id, and appears at most once
//!   among the ids of a broker name.

use std::collections::{BTreeMap, BTreeSet};

use super::error::NamesrvError;
use crate::limits;
use crate::wire::body::{perm, DataVersion, QueueData, TopicConfigSerializeWrapper};

/// The broker id of a master.
pub const MASTER_ID: i64 = 0;

/// How long a broker stays routed without registering again, unless it asks otherwise.
pub const BROKER_TIMEOUT_DEFAULT_MS: u64 = 120_000;

/// Everything a REGISTER_BROKER request says about a broker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registration {
    pub cluster: String,
    pub broker_name: String,
    pub broker_addr: String,
    pub broker_id: i64,
    pub ha_server_addr: String,
    /// None means [`BROKER_TIMEOUT_DEFAULT_MS`].
    pub timeout_ms: Option<u64>,
    pub enable_acting_master: bool,
    pub zone_name: Option<String>,
    /// The id of the connection it came over; closing that connection expires the broker.
    pub connection: Option<u64>,
    /// Set when the broker split its registration (headers `registrationPart`,
    /// `registrationParts`); `None` for a registration of the whole table.
    pub part: Option<RegistrationPart>,
    /// The broker listed only the topics that changed since its last registration
    /// (header `registrationIncrement`): they are rewritten, no other topic is deleted.
    pub increment: bool,
    pub topics: TopicConfigSerializeWrapper,
}

/// Which part of a split registration a body is, as the broker numbers them: `index` from
/// 0, of `count`. Values out of range make a round that never completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrationPart {
    pub index: i32,
    pub count: i32,
}

/// The parts of one split registration heard so far, from one broker address.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SplitRound {
    data_version: DataVersion,
    count: i32,
    /// The index the next part must have.
    next: i32,
    /// Whether the round's first part came with a new data version: then every part's
    /// topics are rewritten, not only the first's.
    rewrite: bool,
    /// The topics of the parts heard so far.
    topics: BTreeSet<String>,
}

/// Which topics of a broker name a master's registration stops routing.
enum Deletion {
    /// None: a part that is not the last of a complete round, or the table keeps topics.
    Keep,
    /// Those the registration does not list.
    AbsentFrom,
    /// Those no part of the round just completed listed.
    AbsentFromRound(BTreeSet<String>),
}

/// What the NameServer tells a registering slave about its master.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registered {
    pub ha_server_addr: Option<String>,
    pub master_addr: Option<String>,
}

/// One broker name and its addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BrokerEntry {
    cluster: String,
    addrs: BTreeMap<i64, String>,
    enable_acting_master: bool,
    zone_name: Option<String>,
}

/// The liveness record of one broker address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveBroker {
    pub last_update_ms: u64,
    pub timeout_ms: u64,
    pub data_version: DataVersion,
    pub ha_server_addr: String,
    pub connection: Option<u64>,
}

/// The NameServer's state; one shard owns it.
#[derive(Debug)]
pub struct RouteTable {
    /// topic → broker name → how that broker hosts it.
    topics: BTreeMap<String, BTreeMap<String, QueueData>>,
    /// broker name → addresses by broker id.
    brokers: BTreeMap<String, BrokerEntry>,
    /// cluster → broker names.
    clusters: BTreeMap<String, BTreeSet<String>>,
    /// broker address → liveness.
    live: BTreeMap<String, LiveBroker>,
    /// broker address → the split registration it is in the middle of.
    rounds: BTreeMap<String, SplitRound>,
    /// Java's `deleteTopicWithBrokerRegistration`; see [`RouteTable::new`].
    delete_topics_with_registration: bool,
}

impl Default for RouteTable {
    fn default() -> Self {
        RouteTable::with_delete_topics_with_registration(true)
    }
}

impl RouteTable {
    /// A table where a master's registration replaces its topic set. shardmq's broker
    /// always registers every topic, so a topic it dropped leaves the routes at once.
    pub fn new() -> Self {
        RouteTable::with_delete_topics_with_registration(true)
    }

    /// A table where registrations only add and update topics (`false`, Java 5.x's
    /// default), for Java 5.x brokers, which after creating a topic register that topic
    /// alone: replacing would drop their other topics until the next full registration.
    pub fn with_delete_topics_with_registration(delete: bool) -> Self {
        RouteTable {
            topics: BTreeMap::new(),
            brokers: BTreeMap::new(),
            clusters: BTreeMap::new(),
            live: BTreeMap::new(),
            rounds: BTreeMap::new(),
            delete_topics_with_registration: delete,
        }
    }

    /// Records a broker's registration at `now_ms`. A master's topics are applied as 5.x
    /// does: with a new data version every listed topic is rewritten, otherwise only those
    /// the broker name does not host yet; topics it leaves out stop routing to it when the
    /// table deletes topics with registrations.
    ///
    /// A registration split into parts (docs/protocol.md §2.9.2) counts as one: every part
    /// adds its topics, rewritten when the first part brought a new data version, and only
    /// the last part of a round heard whole, in order and under one data version, stops
    /// routing the topics no part listed. A round missing a part deletes nothing; the next
    /// one does.
    pub fn register(&mut self, reg: Registration, now_ms: u64) -> Result<Registered, NamesrvError> {
        if !self.live.contains_key(&reg.broker_addr)
            && self.live.len() >= limits::NAMESRV_BROKER_ADDRS_MAX
        {
            return Err(NamesrvError::TooManyBrokers);
        }
        let is_master = reg.broker_id == MASTER_ID;
        let topics_changed = self
            .live
            .get(&reg.broker_addr)
            .map_or(true, |live| live.data_version != reg.topics.data_version);
        if is_master {
            self.check_topic_room(&reg.topics)?;
        }

        let first = self.join_broker_name(&reg);
        if is_master {
            let (rewrite, deletion) = if reg.increment {
                (true, Deletion::Keep)
            } else {
                self.follow_round(&reg, topics_changed || first)
            };
            self.apply_topics(&reg.broker_name, &reg.topics, rewrite, deletion);
        }
        let timeout_ms = reg
            .timeout_ms
            .filter(|&ms| ms > 0)
            .unwrap_or(BROKER_TIMEOUT_DEFAULT_MS);
        self.live.insert(
            reg.broker_addr.clone(),
            LiveBroker {
                last_update_ms: now_ms,
                timeout_ms,
                data_version: reg.topics.data_version.clone(),
                ha_server_addr: reg.ha_server_addr.clone(),
                connection: reg.connection,
            },
        );
        Ok(self.master_of(&reg.broker_name, reg.broker_id))
    }

    /// Puts `reg`'s address under its broker name and cluster; true when the name or the id
    /// is new, which makes a master's topics apply whatever its data version.
    fn join_broker_name(&mut self, reg: &Registration) -> bool {
        self.clusters
            .entry(reg.cluster.clone())
            .or_default()
            .insert(reg.broker_name.clone());
        let mut first = false;
        let entry = self
            .brokers
            .entry(reg.broker_name.clone())
            .or_insert_with(|| {
                first = true;
                BrokerEntry {
                    cluster: reg.cluster.clone(),
                    addrs: BTreeMap::new(),
                    enable_acting_master: false,
                    zone_name: None,
                }
            });
        if entry.cluster != reg.cluster {
            // A broker name moved to another cluster: it leaves the old one's member set.
            let old = std::mem::replace(&mut entry.cluster, reg.cluster.clone());
            if let Some(names) = self.clusters.get_mut(&old) {
                names.remove(&reg.broker_name);
                if names.is_empty() {
                    self.clusters.remove(&old);
                }
            }
        }
        entry.enable_acting_master = reg.enable_acting_master;
        if reg.zone_name.is_some() {
            entry.zone_name.clone_from(&reg.zone_name);
        }
        // A slave promoted to master (or the reverse) keeps its address under a new id: drop
        // the old id so one address never appears twice.
        entry
            .addrs
            .retain(|&id, addr| id == reg.broker_id || *addr != reg.broker_addr);
        let previous = entry.addrs.insert(reg.broker_id, reg.broker_addr.clone());
        first || previous.is_none()
    }

    /// Records a master's registration in its split round, if it is a part of one; returns
    /// whether its topics are rewritten and which topics the broker name stops hosting.
    fn follow_round(&mut self, reg: &Registration, changed: bool) -> (bool, Deletion) {
        let addr = &reg.broker_addr;
        let Some(part) = reg.part.filter(|part| part.count != 1) else {
            self.rounds.remove(addr);
            return (changed, Deletion::AbsentFrom);
        };
        let topics = || reg.topics.topic_config_table.keys().cloned();
        let version = &reg.topics.data_version;
        let valid = part.count > 1
            && part.index >= 0
            && part.index < part.count
            && usize::try_from(part.count).is_ok_and(|count| count <= limits::REGISTER_PARTS_MAX);
        if !valid {
            self.rounds.remove(addr);
            return (changed, Deletion::Keep);
        }
        if part.index == 0 {
            let round = SplitRound {
                data_version: version.clone(),
                count: part.count,
                next: 1,
                rewrite: changed,
                topics: topics().collect(),
            };
            self.rounds.insert(addr.clone(), round);
            return (changed, Deletion::Keep);
        }
        let continues = self.rounds.get(addr).is_some_and(|round| {
            round.data_version == *version && round.count == part.count && round.next == part.index
        });
        let Some(mut round) = self.rounds.remove(addr).filter(|_| continues) else {
            return (changed, Deletion::Keep);
        };
        round.topics.extend(topics());
        round.next += 1;
        let rewrite = changed || round.rewrite;
        if round.next == round.count {
            return (rewrite, Deletion::AbsentFromRound(round.topics));
        }
        self.rounds.insert(addr.clone(), round);
        (rewrite, Deletion::Keep)
    }

    /// Refuses a registration that would push the topic count over its limit.
    fn check_topic_room(&self, topics: &TopicConfigSerializeWrapper) -> Result<(), NamesrvError> {
        let new = topics
            .topic_config_table
            .keys()
            .filter(|topic| !self.topics.contains_key(*topic))
            .count();
        if self.topics.len() + new > limits::NAMESRV_TOPICS_MAX {
            return Err(NamesrvError::TooManyTopics);
        }
        Ok(())
    }

    /// Applies a master's topic configs as 5.x does: with a new data version (`changed`)
    /// every topic is rewritten, otherwise only topics this broker name does not host yet
    /// (one deleted in the NameServer comes back). With `delete_topics_with_registration`,
    /// the topics `deletion` names stop routing to this broker name.
    fn apply_topics(
        &mut self,
        broker_name: &str,
        topics: &TopicConfigSerializeWrapper,
        changed: bool,
        deletion: Deletion,
    ) {
        let table = &topics.topic_config_table;
        if self.delete_topics_with_registration {
            let listed = |topic: &String| match &deletion {
                Deletion::Keep => true,
                Deletion::AbsentFrom => table.contains_key(topic),
                Deletion::AbsentFromRound(round) => round.contains(topic),
            };
            if !matches!(deletion, Deletion::Keep) {
                self.topics.retain(|topic, by_broker| {
                    if !listed(topic) {
                        by_broker.remove(broker_name);
                    }
                    !by_broker.is_empty()
                });
            }
        }
        for (topic, config) in table {
            let by_broker = self.topics.entry(topic.clone()).or_default();
            if !changed && by_broker.contains_key(broker_name) {
                continue;
            }
            let queue_data = QueueData {
                broker_name: broker_name.to_owned(),
                perm: config.perm,
                read_queue_nums: config.read_queue_nums,
                topic_sys_flag: config.topic_sys_flag,
                write_queue_nums: config.write_queue_nums,
            };
            by_broker.insert(broker_name.to_owned(), queue_data);
        }
    }

    /// For a slave: its master's address and HA address, when the master is live.
    fn master_of(&self, broker_name: &str, broker_id: i64) -> Registered {
        if broker_id == MASTER_ID {
            return Registered::default();
        }
        let master = self
            .brokers
            .get(broker_name)
            .and_then(|entry| entry.addrs.get(&MASTER_ID))
            .and_then(|addr| self.live.get(addr).map(|live| (addr, live)));
        match master {
            Some((addr, live)) => Registered {
                ha_server_addr: Some(live.ha_server_addr.clone()),
                master_addr: Some(addr.clone()),
            },
            None => Registered::default(),
        }
    }

    /// UNREGISTER_BROKER: removes the broker id `broker_name` has at `addr`; when it was the
    /// name's last address, the name leaves its cluster and every topic.
    ///
    /// The entry is found by address, as 5.x does, rather than by the id in the request: a
    /// late unregistration of an id another broker has since taken must not remove that
    /// broker. The cluster a request names is not trusted either: the name leaves the
    /// cluster it registered in.
    pub fn unregister(&mut self, broker_name: &str, addr: &str) {
        self.live.remove(addr);
        self.rounds.remove(addr);
        let Some(entry) = self.brokers.get_mut(broker_name) else {
            return;
        };
        entry.addrs.retain(|_, a| a != addr);
        if entry.addrs.is_empty() {
            let cluster = entry.cluster.clone();
            self.remove_broker_name(broker_name, &cluster);
        }
    }

    /// Forgets the broker at `addr` under every id, as when its connection closes or it
    /// stops registering.
    pub fn expire_addr(&mut self, addr: &str) {
        self.live.remove(addr);
        self.rounds.remove(addr);
        let mut emptied = Vec::new();
        for (name, entry) in &mut self.brokers {
            entry.addrs.retain(|_, a| a != addr);
            if entry.addrs.is_empty() {
                emptied.push((name.clone(), entry.cluster.clone()));
            }
        }
        for (name, cluster) in emptied {
            self.remove_broker_name(&name, &cluster);
        }
    }

    fn remove_broker_name(&mut self, broker_name: &str, cluster: &str) {
        self.brokers.remove(broker_name);
        if let Some(names) = self.clusters.get_mut(cluster) {
            names.remove(broker_name);
            if names.is_empty() {
                self.clusters.remove(cluster);
            }
        }
        self.topics.retain(|_, by_broker| {
            by_broker.remove(broker_name);
            !by_broker.is_empty()
        });
    }

    /// Expires every broker whose last registration is older than its timeout; returns
    /// their addresses.
    pub fn scan(&mut self, now_ms: u64) -> Vec<String> {
        let expired: Vec<String> = self
            .live
            .iter()
            .filter(|(_, live)| live.last_update_ms.saturating_add(live.timeout_ms) < now_ms)
            .map(|(addr, _)| addr.clone())
            .collect();
        for addr in &expired {
            self.expire_addr(addr);
        }
        expired
    }

    /// Expires every broker that registered over connection `connection`; returns their
    /// addresses.
    pub fn connection_closed(&mut self, connection: u64) -> Vec<String> {
        let gone: Vec<String> = self
            .live
            .iter()
            .filter(|(_, live)| live.connection == Some(connection))
            .map(|(addr, _)| addr.clone())
            .collect();
        for addr in &gone {
            self.expire_addr(addr);
        }
        gone
    }

    /// BROKER_HEARTBEAT: a registered broker is still alive. False for an unknown address.
    pub fn touch(&mut self, addr: &str, now_ms: u64) -> bool {
        match self.live.get_mut(addr) {
            Some(live) => {
                live.last_update_ms = now_ms;
                true
            }
            None => false,
        }
    }

    /// DELETE_TOPIC_IN_NAMESRV: the whole topic, or only its queue data on `cluster`'s
    /// brokers.
    pub fn delete_topic(&mut self, topic: &str, cluster: Option<&str>) {
        let Some(cluster) = cluster.filter(|c| !c.is_empty()) else {
            self.topics.remove(topic);
            return;
        };
        let (Some(names), Some(by_broker)) =
            (self.clusters.get(cluster), self.topics.get_mut(topic))
        else {
            return;
        };
        by_broker.retain(|name, _| !names.contains(name));
        if by_broker.is_empty() {
            self.topics.remove(topic);
        }
    }

    /// WIPE_WRITE_PERM_OF_BROKER / ADD_WRITE_PERM_OF_BROKER: takes the write bit away from
    /// every topic `broker_name` hosts, so producers stop sending to it (before maintenance),
    /// or gives read and write back. Returns how many topics changed.
    pub fn set_write_perm(&mut self, broker_name: &str, writable: bool) -> usize {
        let mut count = 0;
        for queue_data in self
            .topics
            .values_mut()
            .filter_map(|by_broker| by_broker.get_mut(broker_name))
        {
            queue_data.perm = if writable {
                perm::READ | perm::WRITE
            } else {
                queue_data.perm & !perm::WRITE
            };
            count += 1;
        }
        count
    }

    /// REGISTER_TOPIC_IN_NAMESRV: routes `topic` to the listed brokers at once. Queue data
    /// of a broker name the table does not know is skipped, so no topic points at nothing.
    pub fn register_topic(
        &mut self,
        topic: &str,
        queue_datas: Vec<QueueData>,
    ) -> Result<usize, NamesrvError> {
        if !self.topics.contains_key(topic) && self.topics.len() >= limits::NAMESRV_TOPICS_MAX {
            return Err(NamesrvError::TooManyTopics);
        }
        let mut recorded = 0;
        for queue_data in queue_datas {
            if !self.brokers.contains_key(&queue_data.broker_name) {
                continue;
            }
            self.topics
                .entry(topic.to_owned())
                .or_default()
                .insert(queue_data.broker_name.clone(), queue_data);
            recorded += 1;
        }
        Ok(recorded)
    }
}

#[path = "route_views.rs"]
mod views;

#[cfg(test)]
#[path = "route_tests.rs"]
mod tests;
