//! [`BrokerContext`]: the state of one shard's logical broker that every handler reads —
//! configuration, identity, topics, the NameServer client, the shard handle.
//!
//! One per shard, behind an `Rc`, built before the shard listens. Other request families add
//! their per-shard state (store, client registry, offsets) as fields here.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::register;
use super::topics::{self, TopicTable};
use super::{BrokerShard, ShardMsg, ShardReply, Topics};
use crate::client::{ClientOptions, Pool};
use crate::config::BrokerConfig;
use crate::server::ShardPorts;

/// How shard k presents itself to NameServers and clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardIdentity {
    /// `<brokerName>-<k>`.
    pub broker_name: String,
    /// `brokerIP1:<main port>`.
    pub broker_addr: String,
    /// `brokerIP1:<HA port>`.
    pub ha_server_addr: String,
    pub ports: ShardPorts,
}

/// The per-shard broker state handlers use.
#[derive(Debug)]
pub struct BrokerContext {
    pub config: Rc<BrokerConfig>,
    pub shard: BrokerShard,
    pub identity: ShardIdentity,
    pub topics: Topics,
    /// Connections to the NameServers, for registration.
    pub namesrv: Rc<Pool>,
    /// When this broker started, ms since the epoch (GET_BROKER_RUNTIME_INFO).
    pub boot_ms: i64,
}

impl BrokerContext {
    /// Builds shard `shard`'s context; `initial` is the topic table loaded before start-up,
    /// the same on every shard.
    pub fn new(
        shard: BrokerShard,
        config: Rc<BrokerConfig>,
        ports: ShardPorts,
        initial: TopicTable,
    ) -> Result<Rc<Self>, shards::ReplicaError> {
        let index = shard.id().index();
        let ip = config.broker_ip();
        let ha_port = match config.ha_listen_port {
            // A configured HA port is shard 0's; the others follow the shard port stride.
            Some(port) => port.saturating_add(ports.main - config.listen_port),
            None => ports.ha,
        };
        let identity = ShardIdentity {
            broker_name: config.shard_broker_name(index),
            broker_addr: std::net::SocketAddr::new(ip, ports.main).to_string(),
            ha_server_addr: std::net::SocketAddr::new(ip, ha_port).to_string(),
            ports,
        };
        let own: BTreeMap<_, _> = topics::shard_topics(&config, index);
        let file = topics::topics_file(&config.store_path_root_dir);
        let topics = Topics::new(&shard, initial, own, file)?;
        Ok(Rc::new(BrokerContext {
            config,
            shard,
            identity,
            topics,
            namesrv: Rc::new(Pool::new(ClientOptions::default())),
            boot_ms: topics::now_ms(),
        }))
    }

    /// Serves this shard's mesh messages. Call once the shard's listeners are bound.
    pub fn serve_mesh(self: &Rc<Self>) {
        let ctx = self.clone();
        self.shard
            .serve(move |_from, msg| ctx.clone().handle_mesh(msg));
    }

    async fn handle_mesh(self: Rc<Self>, msg: ShardMsg) -> ShardReply {
        match msg {
            ShardMsg::Topic(change) => ShardReply::Topic(self.topics.apply_on_owner(change).await),
            ShardMsg::TopicsChanged { version } => {
                self.topics.wait_version(version).await;
                self.register_all(register::CHANGE_WAIT_MAX).await;
                ShardReply::Done
            }
            ShardMsg::Ready => ShardReply::Done,
            ShardMsg::Unregister => {
                self.unregister_all(register::CHANGE_WAIT_MAX).await;
                ShardReply::Done
            }
        }
    }
}
