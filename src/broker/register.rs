//! Registration of one shard's logical broker with every NameServer in `namesrvAddr`.
//!
//! Every shard registers itself (REGISTER_BROKER with its topic configs) at start, every
//! [`REGISTER_PERIOD`], and at once after a topic change (the owner asks, see
//! [`super::topic_owner`]); it unregisters at graceful shutdown. NameServers are asked
//! concurrently, each over its pooled connection; one that is down fails its own request
//! (connect or request timeout) and is simply tried again on the next round, so nothing
//! waits on it longer than one timeout.

use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;

use super::BrokerContext;
use crate::client::ClientError;
use crate::namesrv::body::{self, body_crc32};
use crate::namesrv::RegisterBrokerBody;
use crate::wire::codes::request_code;
use crate::wire::headers::{RegisterBrokerRequestHeader, UnregisterBrokerRequestHeader};
use crate::wire::{ExtFields, RemotingCommand};

/// Java's `registerNameServerPeriod`.
pub const REGISTER_PERIOD: Duration = Duration::from_secs(30);

impl BrokerContext {
    /// The REGISTER_BROKER request of this shard as its topic table stands now.
    pub fn register_request(&self) -> RemotingCommand {
        let wrapper = self.topics.table().wrapper(self.topics.own());
        let body = body::encode(&RegisterBrokerBody {
            filter_server_list: Vec::new(),
            topic_config_serialize_wrapper: wrapper,
        });
        let mut request = RemotingCommand::request(
            request_code::REGISTER_BROKER,
            ExtFields::new(),
            Bytes::new(),
        );
        request.set_header(&RegisterBrokerRequestHeader {
            broker_name: self.identity.broker_name.clone(),
            broker_addr: self.identity.broker_addr.clone(),
            cluster_name: self.config.broker_cluster_name.clone(),
            ha_server_addr: self.identity.ha_server_addr.clone(),
            broker_id: self.config.broker_id,
            heartbeat_timeout_millis: None,
            enable_acting_master: None,
            compressed: false,
            body_crc32: body_crc32(&body),
            zone_name: None,
        });
        request.body = Bytes::from(body);
        request
    }

    /// Registers with every NameServer; returns how many accepted. Failures are logged.
    pub async fn register_all(&self) -> usize {
        let request = self.register_request();
        self.each_namesrv("register", &request).await
    }

    /// Unregisters from every NameServer (graceful shutdown).
    pub async fn unregister_all(&self) -> usize {
        let mut request = RemotingCommand::request(
            request_code::UNREGISTER_BROKER,
            ExtFields::new(),
            Bytes::new(),
        );
        request.set_header(&UnregisterBrokerRequestHeader {
            broker_name: self.identity.broker_name.clone(),
            broker_addr: self.identity.broker_addr.clone(),
            cluster_name: self.config.broker_cluster_name.clone(),
            broker_id: self.config.broker_id,
        });
        self.each_namesrv("unregister", &request).await
    }

    /// Sends `request` to every NameServer at once and waits for all answers.
    async fn each_namesrv(&self, what: &'static str, request: &RemotingCommand) -> usize {
        // One task per NameServer, so a slow one does not hold up the others.
        let sends: Vec<_> = self
            .config
            .namesrv_addr
            .iter()
            .map(|&addr| {
                let pool = self.namesrv.clone();
                let request = request.clone();
                let task =
                    glommio::spawn_local(async move { pool.request_ok(addr, request).await });
                (addr, task)
            })
            .collect();
        let mut accepted = 0;
        for (addr, task) in sends {
            accepted += usize::from(self.log_outcome(what, addr, task.await));
        }
        accepted
    }

    fn log_outcome(
        &self,
        what: &'static str,
        addr: SocketAddr,
        result: Result<RemotingCommand, ClientError>,
    ) -> bool {
        match result {
            Ok(_) => {
                tracing::debug!(broker = %self.identity.broker_name, namesrv = %addr, what, "done");
                true
            }
            Err(err) => {
                tracing::warn!(broker = %self.identity.broker_name, namesrv = %addr, %err, "{what} with NameServer failed; next round retries");
                false
            }
        }
    }

    /// Registers now and then every [`REGISTER_PERIOD`] until `closing` resolves.
    pub async fn run_registration(self: Rc<Self>, closing: impl std::future::Future<Output = ()>) {
        let mut closing = pin!(closing);
        loop {
            self.register_all().await;
            let tick = async {
                glommio::timer::sleep(REGISTER_PERIOD).await;
                true
            };
            let stop = async {
                closing.as_mut().await;
                false
            };
            if !futures_lite::future::or(stop, tick).await {
                return;
            }
        }
    }
}
