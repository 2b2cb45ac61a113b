//! Registration of one shard's logical broker with every NameServer in `namesrvAddr`.
//!
//! Every shard registers itself (REGISTER_BROKER with its topic configs) at start, every
//! `registerNameServerPeriod` (docs/topology.md §Registration), and at once after a topic change (the owner asks, see
//! [`crate::broker::metadata::topic_owner`]); it unregisters at graceful shutdown.
//! NameServers are asked concurrently, each over its pooled connection; one that is down fails its own request
//! (connect or request timeout) and is simply tried again on the next round. No round waits
//! longer than [`CHANGE_WAIT_MAX`]: late answers finish, and are logged, in the background,
//! so a silent NameServer slows neither topic changes nor shutdown.

use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::broker::BrokerContext;
use crate::client::ClientError;
use crate::wire::body::RegisterBrokerBody;
use crate::wire::body::{self, body_crc32, perm};
use crate::wire::codes::request_code;
use crate::wire::headers::{RegisterBrokerRequestHeader, UnregisterBrokerRequestHeader};
use crate::wire::{ExtFields, RemotingCommand};

/// Java's default `registerNameServerPeriod`.
pub const REGISTER_PERIOD: Duration = Duration::from_secs(30);

/// How long a registration round (periodic, after a topic change, or at shutdown) waits for
/// NameServers before leaving late answers to the background; a live one answers in
/// milliseconds.
pub const CHANGE_WAIT_MAX: Duration = Duration::from_secs(1);

impl BrokerContext {
    /// The REGISTER_BROKER request of this shard as its topic table stands now.
    pub fn register_request(&self) -> RemotingCommand {
        let mut wrapper = self.topics.wrapper();
        // `brokerPermission` without READ or WRITE masks every topic, as Java registers it.
        let broker_perm = self.config.broker_permission;
        if broker_perm & (perm::READ | perm::WRITE) != perm::READ | perm::WRITE {
            for topic in wrapper.topic_config_table.values_mut() {
                topic.perm &= broker_perm;
            }
        }
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

    /// Registers with every NameServer; returns how many accepted within `wait_max`.
    /// Answers still due then finish (and are logged) in the background.
    pub async fn register_all(&self, wait_max: Duration) -> usize {
        let request = self.register_request();
        self.each_namesrv("register", &request, wait_max).await
    }

    /// Unregisters from every NameServer (graceful shutdown), waiting at most `wait_max`.
    pub async fn unregister_all(&self, wait_max: Duration) -> usize {
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
        self.each_namesrv("unregister", &request, wait_max).await
    }

    /// Sends `request` to every NameServer at once; counts the answers in by `wait_max`.
    async fn each_namesrv(
        &self,
        what: &'static str,
        request: &RemotingCommand,
        wait_max: Duration,
    ) -> usize {
        let deadline = Instant::now() + wait_max;
        // One task per NameServer, so a slow one does not hold up the others.
        let sends: Vec<_> = self
            .config
            .namesrv_addr
            .iter()
            .map(|&addr| {
                let pool = self.namesrv.clone();
                let request = request.clone();
                let broker = self.identity.broker_name.clone();
                glommio::spawn_local(async move {
                    let result = pool.request_ok(addr, request).await;
                    log_outcome(&broker, what, addr, &result);
                    result.is_ok()
                })
            })
            .collect();
        let mut accepted = 0;
        for mut task in sends {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let answered = async { Some((&mut task).await) };
            let late = async {
                glommio::timer::sleep(remaining).await;
                None
            };
            match futures_lite::future::or(answered, late).await {
                Some(ok) => accepted += usize::from(ok),
                // Still due: it finishes and logs on its own.
                None => drop(task.detach()),
            }
        }
        accepted
    }

    /// Registers now and then every `registerNameServerPeriod` until `closing` resolves.
    pub async fn run_registration(self: Rc<Self>, closing: impl std::future::Future<Output = ()>) {
        let mut closing = pin!(closing);
        loop {
            self.register_all(CHANGE_WAIT_MAX).await;
            let tick = async {
                glommio::timer::sleep(self.config.register_name_server_period).await;
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

fn log_outcome(
    broker: &str,
    what: &'static str,
    addr: SocketAddr,
    result: &Result<RemotingCommand, ClientError>,
) {
    match result {
        Ok(_) => tracing::debug!(broker, namesrv = %addr, what, "done"),
        Err(err) => tracing::warn!(
            broker,
            namesrv = %addr,
            %err,
            "{what} with NameServer failed; the next round retries"
        ),
    }
}
