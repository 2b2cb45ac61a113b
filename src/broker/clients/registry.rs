//! The client registry of one shard (docs/protocol.md §2.3, §2.5.4–§2.5.5, §2.8.7, §5.4): which
//! connections belong to which producer and consumer groups, and what each consumer group
//! subscribes to.
//!
//! Every shard is its own logical broker, so every shard keeps its own registry, fed by the
//! heartbeats that arrive on its port; nothing here crosses shards. The registry keys
//! connections on a [`ClientChannel`] (implemented by the connection's `Peer`, see
//! [`crate::dispatch`]) so tests can stand in for real connections.
//!
//! Invariants:
//! - a group in the tables has at least one channel: the last channel leaving removes the
//!   group, and with it the consumer group's subscriptions (Java does the same, so a pull
//!   relying on the heartbeat's subscription then gets SUBSCRIPTION_NOT_EXIST);
//! - a consumer group's subscription table holds what the latest heartbeat of a member listed,
//!   one entry per topic, with tag codes computed here with Java's `String.hashCode()`;
//! - every change of a consumer group's channels or subscribed topics sends
//!   NOTIFY_CONSUMER_IDS_CHANGED to every channel still in the group, after the registry's
//!   borrow has ended.
//!
//! Time is passed in as `now_ms` (any monotonic millisecond clock); only differences matter.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;

pub use crate::broker::clients::heartbeat_body::Subscription;
use crate::broker::clients::heartbeat_body::*;
use crate::broker::handler::Handled;
use crate::broker::BrokerError;
use crate::limits;
use crate::wire::body;
use crate::wire::codes::request_code;
use crate::wire::command::FLAG_ONEWAY;
use crate::wire::headers::*;
use crate::wire::{ExtFields, LanguageCode, RemotingCommand};

/// A channel silent this long is dropped (Java `channelExpiredTimeout`).
pub const CHANNEL_EXPIRY_MS: u64 = 120_000;

/// How often [`ClientRegistry::run_expiry`] looks for silent channels (Java's 10 s).
pub const EXPIRY_SCAN_INTERVAL: Duration = Duration::from_secs(10);

/// A connection as the registry needs it; the connection's `Peer` in the broker, a
/// recorder in tests.
pub trait ClientChannel: fmt::Debug {
    /// Unique among the shard's live connections.
    fn id(&self) -> u64;
    fn remote_addr(&self) -> SocketAddr;
    /// Queues a broker-initiated frame; false once the connection is closed.
    fn send(&self, command: &RemotingCommand) -> bool;
    fn next_opaque(&self) -> i32;
}

/// One connection's registration in a group.
#[derive(Debug, Clone)]
struct ChannelInfo {
    channel: Rc<dyn ClientChannel>,
    client_id: String,
    language: LanguageCode,
    version: i32,
    last_heartbeat_ms: u64,
}

impl ChannelInfo {
    fn connection(&self) -> Connection {
        Connection {
            client_addr: self.channel.remote_addr().to_string(),
            client_id: self.client_id.clone(),
            language: self.language.name().unwrap_or("OTHER").to_owned(),
            version: self.version,
        }
    }
}

type Channels = BTreeMap<u64, ChannelInfo>;

#[derive(Debug, Default)]
struct ConsumerGroup {
    channels: Channels,
    consume_type: ConsumeType,
    message_model: MessageModel,
    consume_from_where: ConsumeFromWhere,
    subscriptions: BTreeMap<String, Rc<Subscription>>,
}

impl ConsumerGroup {
    /// Replaces the subscription table with the heartbeat's (an older `subVersion` for a topic
    /// keeps the stored entry, as in Java). True when the set of topics changed, which is
    /// what makes clients rebalance.
    fn update_subscriptions(&mut self, set: &[SubscriptionData]) -> bool {
        let mut table = BTreeMap::new();
        for data in set.iter().filter(|data| !data.topic.is_empty()) {
            let entry = match self.subscriptions.get(&data.topic) {
                Some(old) if old.sub_version > data.sub_version => old.clone(),
                _ => Rc::new(Subscription::from_data(data)),
            };
            table.insert(data.topic.clone(), entry);
        }
        let changed = !table.keys().eq(self.subscriptions.keys());
        self.subscriptions = table;
        changed
    }
}

#[derive(Debug, Default)]
struct Tables {
    producers: BTreeMap<String, Channels>,
    consumers: BTreeMap<String, ConsumerGroup>,
}

/// Refreshes or adds `info` under its channel id; true when the channel is new to `channels`.
fn upsert(channels: &mut Channels, info: ChannelInfo) -> bool {
    channels.insert(info.channel.id(), info).is_none()
}

impl Tables {
    /// Refuses a heartbeat that would break a limit, before any of it is applied.
    fn check_room(&self, data: &HeartbeatData) -> Result<(), BrokerError> {
        if let Some(consumer) = data
            .consumer_data_set
            .iter()
            .find(|c| c.subscription_data_set.len() > limits::BROKER_GROUP_SUBSCRIPTIONS_MAX)
        {
            return Err(BrokerError::TooManySubscriptions {
                group: consumer.group_name.clone(),
            });
        }
        let new_producers = data
            .producer_data_set
            .iter()
            .filter(|p| !self.producers.contains_key(&p.group_name))
            .count();
        let new_consumers = data
            .consumer_data_set
            .iter()
            .filter(|c| !self.consumers.contains_key(&c.group_name))
            .count();
        let total = self.producers.len() + self.consumers.len() + new_producers + new_consumers;
        match total > limits::BROKER_CLIENT_GROUPS_MAX {
            true => Err(BrokerError::TooManyClientGroups),
            false => Ok(()),
        }
    }

    /// Applies a heartbeat; returns the consumer groups whose membership or topics changed.
    fn register(&mut self, data: &HeartbeatData, info: &ChannelInfo) -> Vec<String> {
        let mut changed = Vec::new();
        for consumer in data.consumer_data_set.iter() {
            if consumer.group_name.is_empty() {
                continue;
            }
            let group = self
                .consumers
                .entry(consumer.group_name.clone())
                .or_default();
            group.consume_type = consumer.consume_type;
            group.message_model = consumer.message_model;
            group.consume_from_where = consumer.consume_from_where;
            let joined = upsert(&mut group.channels, info.clone());
            let topics_changed =
                !data.without_sub && group.update_subscriptions(&consumer.subscription_data_set);
            if joined || topics_changed {
                changed.push(consumer.group_name.clone());
            }
        }
        for producer in data.producer_data_set.iter() {
            if !producer.group_name.is_empty() {
                let group = self
                    .producers
                    .entry(producer.group_name.clone())
                    .or_default();
                upsert(group, info.clone());
            }
        }
        changed
    }

    /// Removes the channels `gone` selects from every group; returns the consumer groups that
    /// lost one and still have members to tell.
    fn remove_channels(&mut self, mut gone: impl FnMut(&ChannelInfo) -> bool) -> Vec<String> {
        self.producers.retain(|_, channels| {
            channels.retain(|_, info| !gone(info));
            !channels.is_empty()
        });
        let mut changed = Vec::new();
        self.consumers.retain(|name, group| {
            let before = group.channels.len();
            group.channels.retain(|_, info| !gone(info));
            if group.channels.len() != before && !group.channels.is_empty() {
                changed.push(name.clone());
            }
            !group.channels.is_empty()
        });
        changed
    }

    fn unregister(&mut self, channel_id: u64, header: &UnregisterClientRequestHeader) -> bool {
        if let Some(name) = header.producer_group.as_deref() {
            if let Some(channels) = self.producers.get_mut(name) {
                channels.remove(&channel_id);
                if channels.is_empty() {
                    self.producers.remove(name);
                }
            }
        }
        let Some(name) = header.consumer_group.as_deref() else {
            return false;
        };
        let Some(group) = self.consumers.get_mut(name) else {
            return false;
        };
        let removed = group.channels.remove(&channel_id).is_some();
        if group.channels.is_empty() {
            self.consumers.remove(name);
            return false;
        }
        removed
    }
}

/// Producer connections of one language (lower case) and client version.
pub type ProducerKind = (String, i32);

/// Consumer connections of one group, language, client version and consume mode
/// (`push`, `pull`, `pop`).
pub type ConsumerKind = (String, String, i32, &'static str);

/// Live connections by kind.
#[derive(Debug, Clone, Default)]
pub struct ConnectionCounts {
    pub producers: Vec<(ProducerKind, u64)>,
    pub consumers: Vec<(ConsumerKind, u64)>,
}

/// Producer and consumer groups of one shard. Methods take `&self`: the tables sit in a
/// `RefCell` that is never borrowed across an await or while a frame is sent.
#[derive(Debug, Default)]
pub struct ClientRegistry {
    tables: RefCell<Tables>,
}

impl ClientRegistry {
    pub fn new() -> Self {
        ClientRegistry::default()
    }

    /// HEART_BEAT (34): registers or refreshes the channel in every group of the body and
    /// tells the members of each consumer group whose membership or topics changed,
    /// the sender included (that is how a new push consumer starts its first rebalance).
    pub fn heart_beat<C: ClientChannel + 'static>(
        &self,
        channel: &Rc<C>,
        request: &RemotingCommand,
        now_ms: u64,
    ) -> Handled {
        let channel: Rc<dyn ClientChannel> = channel.clone();
        self.heart_beat_with(channel, request, now_ms, |_| {})
    }

    /// [`ClientRegistry::heart_beat`] that first shows the caller each consumer group of a
    /// readable heartbeat, so the broker can create the group's subscription config and its
    /// `%RETRY%` topic as Java does before it registers the group.
    pub fn heart_beat_with(
        &self,
        channel: Rc<dyn ClientChannel>,
        request: &RemotingCommand,
        now_ms: u64,
        on_consumer_group: impl FnMut(&ConsumerData),
    ) -> Handled {
        let data: HeartbeatData = decode_body(request, "HEART_BEAT body")?;
        self.tables.borrow().check_room(&data)?;
        // Outside any borrow: the caller may look at the registry.
        let named = data
            .consumer_data_set
            .iter()
            .filter(|c| !c.group_name.is_empty());
        named.for_each(on_consumer_group);
        let info = ChannelInfo {
            channel,
            client_id: data.client_id.clone(),
            language: request.language.clone(),
            version: request.version,
            last_heartbeat_ms: now_ms,
        };
        let changed = self.tables.borrow_mut().register(&data, &info);
        self.notify(&changed);
        Ok(RemotingCommand::success(request))
    }

    /// UNREGISTER_CLIENT (35): removes the channel from the named groups and tells the rest
    /// of a consumer group.
    pub fn unregister_client<C: ClientChannel + ?Sized>(
        &self,
        channel: &Rc<C>,
        request: &RemotingCommand,
    ) -> Handled {
        let header: UnregisterClientRequestHeader = request.decode_header()?;
        let notify = self.tables.borrow_mut().unregister(channel.id(), &header);
        if let (true, Some(group)) = (notify, header.consumer_group) {
            self.notify(&[group]);
        }
        Ok(RemotingCommand::success(request))
    }

    /// CHECK_CLIENT_CONFIG (46): TAG subscriptions pass; other filter languages are refused,
    /// as a Java broker with `enablePropertyFilter=false` does, so the consumer's start fails
    /// with the remark instead of its pulls failing later.
    pub fn check_client_config(&self, request: &RemotingCommand) -> Handled {
        let body: CheckClientRequestBody = decode_body(request, "CHECK_CLIENT_CONFIG body")?;
        match body.subscription_data.map(|s| s.expression_type) {
            None | Some(ExpressionType::Tag) => Ok(RemotingCommand::success(request)),
            Some(other) => Err(BrokerError::FilterNotSupported {
                expression_type: other.name().to_owned(),
            }),
        }
    }

    /// GET_CONSUMER_LIST_BY_GROUP (38): the client ids of the group's live channels.
    pub fn consumer_list_by_group(&self, request: &RemotingCommand) -> Handled {
        let header: GetConsumerListByGroupRequestHeader = request.decode_header()?;
        let ids = self.consumer_ids(&header.consumer_group);
        if ids.is_empty() {
            return Err(BrokerError::NoConsumer(header.consumer_group));
        }
        let list = ConsumerListByGroup {
            consumer_id_list: ids,
        };
        Ok(body::json_response(request, &list))
    }

    /// GET_CONSUMER_CONNECTION_LIST (203): the group's connections and subscriptions.
    pub fn consumer_connection_list(&self, request: &RemotingCommand) -> Handled {
        let header: GetConsumerConnectionListRequestHeader = request.decode_header()?;
        let tables = self.tables.borrow();
        let group = tables
            .consumers
            .get(&header.consumer_group)
            .ok_or(BrokerError::NotOnline(header.consumer_group))?;
        let body = ConsumerConnection {
            connection_set: group
                .channels
                .values()
                .map(ChannelInfo::connection)
                .collect(),
            consume_from_where: group.consume_from_where,
            consume_type: group.consume_type,
            message_model: group.message_model,
            subscription_table: group
                .subscriptions
                .iter()
                .map(|(topic, sub)| (topic.clone(), sub.to_data()))
                .collect(),
        };
        Ok(body::json_response(request, &body))
    }

    /// GET_PRODUCER_CONNECTION_LIST (204): the producer group's connections.
    pub fn producer_connection_list(&self, request: &RemotingCommand) -> Handled {
        let header: GetProducerConnectionListRequestHeader = request.decode_header()?;
        let tables = self.tables.borrow();
        let channels = tables
            .producers
            .get(&header.producer_group)
            .ok_or(BrokerError::NotOnline(header.producer_group))?;
        let body = ProducerConnection {
            connection_set: channels.values().map(ChannelInfo::connection).collect(),
        };
        Ok(body::json_response(request, &body))
    }

    /// The connection closed: drop it from every group and tell the groups it left.
    pub fn disconnected(&self, channel_id: u64) {
        let changed = self
            .tables
            .borrow_mut()
            .remove_channels(|info| info.channel.id() == channel_id);
        self.notify(&changed);
    }

    /// Drops channels whose last heartbeat is more than [`CHANNEL_EXPIRY_MS`] before `now_ms`
    /// and tells the groups they left. Returns how many registrations expired.
    pub fn scan(&self, now_ms: u64) -> usize {
        let mut expired = 0;
        let changed = self.tables.borrow_mut().remove_channels(|info| {
            let silent = info.last_heartbeat_ms.saturating_add(CHANNEL_EXPIRY_MS) < now_ms;
            if silent {
                tracing::info!(client = %info.client_id, addr = %info.channel.remote_addr(),
                    "client channel expired: no heartbeat for 120 s");
                expired += 1;
            }
            silent
        });
        self.notify(&changed);
        expired
    }

    /// Runs [`ClientRegistry::scan`] every [`EXPIRY_SCAN_INTERVAL`] with the time `now_ms`
    /// gives, until `closing` completes. The shard that owns the registry spawns it.
    pub async fn run_expiry(
        self: Rc<Self>,
        now_ms: impl Fn() -> u64,
        closing: impl Future<Output = ()>,
    ) {
        let mut ticker = shards::Ticker::new(EXPIRY_SCAN_INTERVAL, closing);
        while ticker.tick().await {
            self.scan(now_ms());
        }
    }

    /// The subscription a consumer group's heartbeat registered for `topic`: what a pull
    /// without the SUBSCRIPTION flag is filtered with.
    pub fn subscription(&self, group: &str, topic: &str) -> Option<Rc<Subscription>> {
        let tables = self.tables.borrow();
        tables
            .consumers
            .get(group)?
            .subscriptions
            .get(topic)
            .cloned()
    }

    /// The consumer groups with live consumers here.
    pub fn consumer_groups(&self) -> Vec<String> {
        self.tables.borrow().consumers.keys().cloned().collect()
    }

    /// The groups whose live consumers subscribe to `topic` (QUERY_TOPIC_CONSUME_BY_WHO).
    pub fn groups_subscribed_to(&self, topic: &str) -> Vec<String> {
        let tables = self.tables.borrow();
        let groups = tables.consumers.iter();
        let subscribed = groups.filter(|(_, group)| group.subscriptions.contains_key(topic));
        subscribed.map(|(name, _)| name.clone()).collect()
    }

    /// Topics the group's live consumers subscribe to (for GET_CONSUME_STATS).
    pub fn subscribed_topics(&self, group: &str) -> Vec<String> {
        let tables = self.tables.borrow();
        let group = tables.consumers.get(group);
        group.map_or_else(Vec::new, |g| g.subscriptions.keys().cloned().collect())
    }

    /// Client ids of the group's live channels, once each, in connection order.
    pub fn consumer_ids(&self, group: &str) -> Vec<String> {
        let tables = self.tables.borrow();
        let mut ids: Vec<String> = Vec::new();
        for info in tables
            .consumers
            .get(group)
            .into_iter()
            .flat_map(|g| g.channels.values())
        {
            if !ids.contains(&info.client_id) {
                ids.push(info.client_id.clone());
            }
        }
        ids
    }

    /// Live connections counted for the Prometheus gauges: per producer language and
    /// version, and per consumer group, language, version and consume mode.
    pub fn connection_counts(&self) -> ConnectionCounts {
        let tables = self.tables.borrow();
        let language = |info: &ChannelInfo| info.language.name().unwrap_or("OTHER").to_lowercase();
        let mut producers: BTreeMap<ProducerKind, u64> = BTreeMap::new();
        for info in tables
            .producers
            .values()
            .flat_map(|channels| channels.values())
        {
            *producers.entry((language(info), info.version)).or_default() += 1;
        }
        let mut consumers: BTreeMap<ConsumerKind, u64> = BTreeMap::new();
        for (name, group) in &tables.consumers {
            let mode = match group.consume_type {
                ConsumeType::Actively => "pull",
                ConsumeType::Passively => "push",
                ConsumeType::Pop => "pop",
            };
            for info in group.channels.values() {
                let key = (name.clone(), language(info), info.version, mode);
                *consumers.entry(key).or_default() += 1;
            }
        }
        ConnectionCounts {
            producers: producers.into_iter().collect(),
            consumers: consumers.into_iter().collect(),
        }
    }

    /// The connection of consumer `client_id` in `group`, and the client's version, as
    /// Java's `findChannel` finds it: the first of the group's with that id.
    pub fn consumer_channel(
        &self,
        group: &str,
        client_id: &str,
    ) -> Option<(Rc<dyn ClientChannel>, i32)> {
        let tables = self.tables.borrow();
        let channels = tables.consumers.get(group)?.channels.values();
        let info = channels
            .into_iter()
            .find(|info| info.client_id == client_id)?;
        Some((info.channel.clone(), info.version))
    }

    /// Live channels of a consumer group (offset resets, consumer status requests).
    pub fn consumer_channels(&self, group: &str) -> Vec<Rc<dyn ClientChannel>> {
        let tables = self.tables.borrow();
        let channels = tables
            .consumers
            .get(group)
            .into_iter()
            .flat_map(|g| g.channels.values());
        channels.map(|info| info.channel.clone()).collect()
    }

    /// Live channels of a producer group (transaction check-backs).
    pub fn producer_channels(&self, group: &str) -> Vec<Rc<dyn ClientChannel>> {
        let tables = self.tables.borrow();
        let channels = tables
            .producers
            .get(group)
            .into_iter()
            .flat_map(|g| g.values());
        channels.map(|info| info.channel.clone()).collect()
    }

    /// Sends NOTIFY_CONSUMER_IDS_CHANGED (40, oneway) to every channel of each group.
    fn notify(&self, groups: &[String]) {
        for group in groups {
            let targets = self.consumer_channels(group);
            let header = NotifyConsumerIdsChangedRequestHeader {
                consumer_group: group.clone(),
            };
            for channel in targets {
                let mut command = RemotingCommand::request(
                    request_code::NOTIFY_CONSUMER_IDS_CHANGED,
                    ExtFields::with_capacity(1),
                    Bytes::new(),
                );
                command.flag |= FLAG_ONEWAY;
                command.opaque = channel.next_opaque();
                command.set_header(&header);
                if !channel.send(&command) {
                    tracing::debug!(group, addr = %channel.remote_addr(), "notify to a closed connection");
                }
            }
        }
    }
}

fn decode_body<T: serde::de::DeserializeOwned>(
    request: &RemotingCommand,
    what: &'static str,
) -> Result<T, BrokerError> {
    if request.body.is_empty() {
        return Err(BrokerError::MissingBody { what });
    }
    Ok(body::decode(&request.body, what)?)
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "registry_loopback_tests.rs"]
mod loopback_tests;
