//! The NameServer as a [`Service`]: decodes each request, applies it to the route table or
//! KV config, and answers as Java's NameServer does.
//!
//! The handlers take a connection id and `now_ms` instead of a `Peer` and a clock, so tests
//! drive them directly; the `Service` impl only supplies those two, and writes the KV config
//! to its file after a change (off the reactor) before it answers.

use std::cell::RefCell;
use std::future::Future;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::error::NamesrvError;
use super::kv::KvConfig;
use super::route::{Registration, RegistrationPart, RouteTable};
use crate::acl::{Acl, Needs};
use crate::net::{Peer, Reply, Service};
use crate::wire::body::{
    self, body_crc32, DataVersion, KvTable, RegisterBrokerBody, TopicRouteData,
};
use crate::wire::codes::request_code;
use crate::wire::headers::*;
use crate::wire::register_body;
use crate::wire::RemotingCommand;

/// How often [`NameServer::run_expiry`] looks for silent brokers by default (5.x's
/// `scanNotActiveBrokerInterval`).
pub const EXPIRY_SCAN_INTERVAL: Duration = Duration::from_secs(5);

type Handled = Result<RemotingCommand, NamesrvError>;

/// Requests that change what the NameServer answers: with ACL on, only an admin account's
/// signature or a white-listed address may send them (docs/access-control.md §4). Route and
/// KV reads stay open, as in Java. QUERY_DATA_VERSION is here because it keeps a broker
/// alive in the routes.
const PROTECTED: &[i32] = &[
    request_code::REGISTER_BROKER,
    request_code::UNREGISTER_BROKER,
    request_code::BROKER_HEARTBEAT,
    request_code::QUERY_DATA_VERSION,
    request_code::DELETE_TOPIC_IN_NAMESRV,
    request_code::WIPE_WRITE_PERM_OF_BROKER,
    request_code::ADD_WRITE_PERM_OF_BROKER,
    request_code::REGISTER_TOPIC_IN_NAMESRV,
    request_code::PUT_KV_CONFIG,
    request_code::DELETE_KV_CONFIG,
];

pub use crate::config::NamesrvConfig;

/// One NameServer, owned by the shard that listens on its port.
#[derive(Debug)]
pub struct NameServer {
    order_message_enable: bool,
    return_order_topic_config_to_broker: bool,
    scan_interval: Duration,
    routes: RefCell<RouteTable>,
    /// Shared with the KV writes in flight.
    kv: Rc<RefCell<KvConfig>>,
    /// `kvConfigPath`, where every KV change is written; `None` keeps it in memory.
    kv_path: Option<PathBuf>,
    /// One KV write at a time, so the file ends holding the newest table.
    kv_writes: Rc<glommio::sync::Semaphore>,
    /// Zero of the millisecond clock the route table is given.
    epoch: Instant,
    /// Who may change routes and KV config, when `aclEnable` is on.
    access: Option<Rc<Acl>>,
}

impl Default for NameServer {
    fn default() -> Self {
        NameServer::new()
    }
}

impl NameServer {
    pub fn new() -> Self {
        NameServer::with_config(&NamesrvConfig::default())
    }

    /// A NameServer whose KV config starts empty and stays in memory, whatever
    /// `config.kv_config_path` says (tests).
    pub fn with_config(config: &NamesrvConfig) -> Self {
        let mut server = NameServer::open(config, KvConfig::new());
        server.kv_path = None;
        server
    }

    /// A NameServer starting from `kv` (loaded from `config.kv_config_path` with
    /// [`KvConfig::load`]), writing every KV change back there.
    pub fn open(config: &NamesrvConfig, kv: KvConfig) -> Self {
        let routes = RouteTable::with_delete_topics_with_registration(
            config.delete_topic_with_broker_registration,
        );
        NameServer {
            order_message_enable: config.order_message_enable,
            return_order_topic_config_to_broker: config.return_order_topic_config_to_broker,
            scan_interval: config.scan_not_active_broker_interval,
            routes: RefCell::new(routes),
            kv: Rc::new(RefCell::new(kv)),
            kv_path: config.kv_config_path.clone(),
            kv_writes: Rc::new(glommio::sync::Semaphore::new(1)),
            epoch: Instant::now(),
            access: None,
        }
    }

    /// This NameServer, letting only what `access` allows change routes and KV config.
    pub fn with_access(self, access: Option<Rc<Acl>>) -> Self {
        NameServer { access, ..self }
    }

    /// Milliseconds since this NameServer started; only differences matter.
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The route table, for the embedding process and tests; a borrow, not to be held
    /// across an await.
    pub fn routes(&self) -> std::cell::Ref<'_, RouteTable> {
        self.routes.borrow()
    }

    /// Answers `request`, which arrived over connection `connection` at `now_ms`.
    pub fn handle(
        &self,
        connection: u64,
        request: &RemotingCommand,
        now_ms: u64,
    ) -> RemotingCommand {
        self.answer(connection, request, now_ms)
            .unwrap_or_else(|err| RemotingCommand::refusal(request, &err))
    }

    fn answer(
        &self,
        connection: u64,
        request: &RemotingCommand,
        now_ms: u64,
    ) -> Result<RemotingCommand, NamesrvError> {
        match request.code {
            request_code::GET_ROUTEINFO_BY_TOPIC => self.route_info(request),
            request_code::REGISTER_BROKER => self.register_broker(connection, request, now_ms),
            request_code::UNREGISTER_BROKER => self.unregister_broker(request),
            request_code::BROKER_HEARTBEAT => self.broker_heartbeat(request, now_ms),
            request_code::GET_BROKER_CLUSTER_INFO => Ok(body::json_response(
                request,
                &self.routes.borrow().cluster_info(),
            )),
            request_code::GET_ALL_TOPIC_LIST_FROM_NAMESERVER => Ok(body::json_response(
                request,
                &self.routes.borrow().topic_list(),
            )),
            request_code::GET_TOPICS_BY_CLUSTER => self.topics_by_cluster(request),
            request_code::QUERY_DATA_VERSION => self.query_data_version(request, now_ms),
            request_code::GET_SYSTEM_TOPIC_LIST_FROM_NS => Ok(body::json_response(
                request,
                &self.routes.borrow().system_topics(),
            )),
            request_code::DELETE_TOPIC_IN_NAMESRV => self.delete_topic(request),
            request_code::WIPE_WRITE_PERM_OF_BROKER => self.set_write_perm(request, false),
            request_code::ADD_WRITE_PERM_OF_BROKER => self.set_write_perm(request, true),
            request_code::REGISTER_TOPIC_IN_NAMESRV => self.register_topic(request),
            request_code::PUT_KV_CONFIG => self.put_kv(request),
            request_code::GET_KV_CONFIG => self.get_kv(request),
            request_code::DELETE_KV_CONFIG => self.delete_kv(request),
            request_code::GET_KVLIST_BY_NAMESPACE => self.kv_list(request),
            _ => Ok(RemotingCommand::not_supported(request)),
        }
    }

    fn route_info(&self, request: &RemotingCommand) -> Handled {
        // Routes are standard JSON whatever `acceptStandardJsonOnly` says: every client reads it.
        let header: GetRouteInfoRequestHeader = request.decode_header()?;
        let mut route = self
            .routes
            .borrow()
            .route(&header.topic)
            .ok_or(NamesrvError::TopicNotExist(header.topic.clone()))?;
        if self.order_message_enable {
            route.order_topic_conf = self
                .kv
                .borrow()
                .get(body::NAMESPACE_ORDER_TOPIC_CONFIG, &header.topic)
                .map(str::to_owned);
        }
        Ok(body::json_response(request, &route))
    }

    fn register_broker(&self, connection: u64, request: &RemotingCommand, now_ms: u64) -> Handled {
        let header: RegisterBrokerRequestHeader = request.decode_header()?;
        // The CRC is of the bytes sent, compressed or not.
        if header.body_crc32 != 0 && body_crc32(&request.body) != header.body_crc32 {
            return Err(NamesrvError::BodyCrcMismatch);
        }
        // Brokers before 3.0.11 sent no body: a registration without topics.
        let registered: RegisterBrokerBody = if request.body.is_empty() {
            RegisterBrokerBody::default()
        } else if header.compressed {
            register_body::decode_compressed(&request.body)?
        } else {
            body::decode(&request.body, "REGISTER_BROKER body")?
        };
        let part = match (header.registration_part, header.registration_parts) {
            (None, None) => None,
            (index, count) => Some(RegistrationPart {
                index: index.unwrap_or(-1),
                count: count.unwrap_or(0),
            }),
        };
        let registration = Registration {
            cluster: header.cluster_name,
            broker_name: header.broker_name,
            broker_addr: header.broker_addr,
            broker_id: header.broker_id,
            ha_server_addr: header.ha_server_addr,
            timeout_ms: header
                .heartbeat_timeout_millis
                .and_then(|ms| u64::try_from(ms).ok()),
            enable_acting_master: header.enable_acting_master.unwrap_or(false),
            zone_name: header.zone_name,
            connection: Some(connection),
            part,
            increment: header.registration_increment.unwrap_or(false),
            topics: registered.topic_config_serialize_wrapper,
        };
        let result = self.routes.borrow_mut().register(registration, now_ms)?;
        let mut response = RemotingCommand::success(request);
        response.set_header(&RegisterBrokerResponseHeader {
            ha_server_addr: result.ha_server_addr,
            master_addr: result.master_addr,
        });
        let order = self
            .kv
            .borrow()
            .namespace(body::NAMESPACE_ORDER_TOPIC_CONFIG)
            .filter(|_| self.return_order_topic_config_to_broker);
        if let Some(table) = order {
            response.body = Bytes::from(body::encode(&table));
        }
        Ok(response)
    }

    fn unregister_broker(&self, request: &RemotingCommand) -> Handled {
        let header: UnregisterBrokerRequestHeader = request.decode_header()?;
        self.routes
            .borrow_mut()
            .unregister(&header.broker_name, &header.broker_addr);
        Ok(RemotingCommand::success(request))
    }

    fn broker_heartbeat(&self, request: &RemotingCommand, now_ms: u64) -> Handled {
        let header: BrokerHeartbeatRequestHeader = request.decode_header()?;
        // An unknown broker learns nothing from an error here; it registers on its next round.
        self.routes.borrow_mut().touch(&header.broker_addr, now_ms);
        Ok(RemotingCommand::success(request))
    }

    /// Answers whether a registration would change anything; an unchanged broker counts
    /// as having registered, which is how Java brokers with `forceRegister=false` stay live.
    fn query_data_version(&self, request: &RemotingCommand, now_ms: u64) -> Handled {
        let header: QueryDataVersionRequestHeader = request.decode_header()?;
        let version: DataVersion = body::decode(&request.body, "QUERY_DATA_VERSION body")?;
        let mut routes = self.routes.borrow_mut();
        let changed = routes.data_version_changed(&header.broker_addr, &version);
        if !changed {
            routes.touch(&header.broker_addr, now_ms);
        }
        let mut response = RemotingCommand::success(request);
        if let Some(live) = routes.live(&header.broker_addr) {
            response.body = Bytes::from(body::encode(&live.data_version));
        }
        response.set_header(&QueryDataVersionResponseHeader {
            changed: Some(changed),
        });
        Ok(response)
    }

    fn topics_by_cluster(&self, request: &RemotingCommand) -> Handled {
        let header: GetTopicsByClusterRequestHeader = request.decode_header()?;
        let topics = self.routes.borrow().topics_of_cluster(&header.cluster);
        Ok(body::json_response(request, &topics))
    }

    fn delete_topic(&self, request: &RemotingCommand) -> Handled {
        let header: DeleteTopicFromNamesrvRequestHeader = request.decode_header()?;
        self.routes
            .borrow_mut()
            .delete_topic(&header.topic, header.cluster_name.as_deref());
        Ok(RemotingCommand::success(request))
    }

    fn set_write_perm(&self, request: &RemotingCommand, writable: bool) -> Handled {
        let header: BrokerPermRequestHeader = request.decode_header()?;
        let changed = self
            .routes
            .borrow_mut()
            .set_write_perm(&header.broker_name, writable);
        let count = i32::try_from(changed).unwrap_or(i32::MAX);
        let mut response = RemotingCommand::success(request);
        if writable {
            response.set_header(&AddWritePermOfBrokerResponseHeader {
                add_topic_count: count,
            });
        } else {
            response.set_header(&WipeWritePermOfBrokerResponseHeader {
                wipe_topic_count: count,
            });
        }
        Ok(response)
    }

    fn register_topic(&self, request: &RemotingCommand) -> Handled {
        let header: RegisterTopicRequestHeader = request.decode_header()?;
        if request.body.is_empty() {
            return Err(NamesrvError::MissingBody {
                what: "REGISTER_TOPIC_IN_NAMESRV body (a TopicRouteData)",
            });
        }
        let route: TopicRouteData = body::decode(&request.body, "REGISTER_TOPIC_IN_NAMESRV body")?;
        self.routes
            .borrow_mut()
            .register_topic(&header.topic, route.queue_datas)?;
        Ok(RemotingCommand::success(request))
    }

    fn put_kv(&self, request: &RemotingCommand) -> Handled {
        let header: PutKvConfigRequestHeader = request.decode_header()?;
        self.kv
            .borrow_mut()
            .put(&header.namespace, &header.key, &header.value)?;
        Ok(RemotingCommand::success(request))
    }

    fn get_kv(&self, request: &RemotingCommand) -> Handled {
        let header: KvConfigKeyRequestHeader = request.decode_header()?;
        let kv = self.kv.borrow();
        let value =
            kv.get(&header.namespace, &header.key)
                .ok_or_else(|| NamesrvError::KvNotFound {
                    namespace: header.namespace.clone(),
                    key: Some(header.key.clone()),
                })?;
        let mut response = RemotingCommand::success(request);
        response.set_header(&GetKvConfigResponseHeader {
            value: Some(value.to_owned()),
        });
        Ok(response)
    }

    fn delete_kv(&self, request: &RemotingCommand) -> Handled {
        let header: KvConfigKeyRequestHeader = request.decode_header()?;
        self.kv.borrow_mut().delete(&header.namespace, &header.key);
        Ok(RemotingCommand::success(request))
    }

    fn kv_list(&self, request: &RemotingCommand) -> Handled {
        let header: GetKvListByNamespaceRequestHeader = request.decode_header()?;
        let table: KvTable =
            self.kv
                .borrow()
                .namespace(&header.namespace)
                .ok_or(NamesrvError::KvNotFound {
                    namespace: header.namespace,
                    key: None,
                })?;
        Ok(body::json_response(request, &table))
    }

    /// Expires brokers that stopped registering, every `scanNotActiveBrokerInterval`, until
    /// `closing` completes. The shard that owns the NameServer spawns it.
    pub async fn run_expiry(self: Rc<Self>, closing: impl Future<Output = ()>) {
        self.run_expiry_every(self.scan_interval, closing).await;
    }

    /// A future writing the KV config to `path` as it stands once its turn comes, off the
    /// reactor; writes go one at a time, so the last leaves the newest table.
    fn persist_kv(&self, path: PathBuf) -> impl Future<Output = Result<(), NamesrvError>> {
        let (kv, writes) = (self.kv.clone(), self.kv_writes.clone());
        async move {
            // Never closed, so a permit always comes.
            let _turn = writes
                .acquire_permit(1)
                .await
                .map_err(|_| NamesrvError::KvNotSaved)?;
            let bytes = kv.borrow().encode();
            let target = path.clone();
            glommio::executor()
                .spawn_blocking(move || crate::config::file::write_atomic(&target, &bytes))
                .await
                .map_err(|error| {
                    tracing::error!(path = %path.display(), %error, "KV config not written");
                    NamesrvError::KvNotSaved
                })
        }
    }

    /// [`NameServer::run_expiry`] with another interval (tests).
    pub async fn run_expiry_every(&self, interval: Duration, closing: impl Future<Output = ()>) {
        let mut ticker = shards::Ticker::new(interval, closing);
        while ticker.tick().await {
            for addr in self.routes.borrow_mut().scan(self.now_ms()) {
                tracing::info!(broker = %addr, "broker expired: no registration within its timeout");
            }
        }
    }
}

impl Service for NameServer {
    fn call(&self, peer: &Rc<Peer>, request: RemotingCommand) -> Reply {
        if let (Some(access), true) = (&self.access, PROTECTED.contains(&request.code)) {
            if let Some(refused) = access.refusal(peer.remote_addr(), &request, &Needs::admin()) {
                return Reply::Now(refused);
            }
        }
        let answer = self.answer(peer.id(), &request, self.now_ms());
        let changes_kv = matches!(
            request.code,
            request_code::PUT_KV_CONFIG | request_code::DELETE_KV_CONFIG
        );
        match (answer, &self.kv_path) {
            (Ok(response), Some(path)) if changes_kv => {
                let (saving, peer) = (self.persist_kv(path.clone()), peer.clone());
                Reply::Later(Box::pin(async move {
                    let saved = saving.await;
                    Some(saved.map(|()| response).unwrap_or_else(|err| {
                        RemotingCommand::refusal_to(peer.remote_addr(), &request, &err)
                    }))
                }))
            }
            (answer, _) => Reply::Now(Some(answer.unwrap_or_else(|err| {
                RemotingCommand::refusal_to(peer.remote_addr(), &request, &err)
            }))),
        }
    }

    fn disconnected(&self, peer: &Rc<Peer>) {
        for addr in self.routes.borrow_mut().connection_closed(peer.id()) {
            tracing::info!(broker = %addr, peer = %peer.remote_addr(), "broker expired: connection closed");
        }
    }
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "service_admin_tests.rs"]
mod admin_tests;
