//! Registration of one shard's logical broker with every NameServer in `namesrvAddr`.
//!
//! Every shard registers itself (REGISTER_BROKER with its topic configs) at start, every
//! `registerNameServerPeriod` (docs/topology.md §Registration), and at once after a topic change (the owner asks, see
//! [`crate::broker::metadata::topic_owner`]); it unregisters at graceful shutdown.
//! A table too large for one frame, or larger than `splitRegistrationSize` topics with
//! `enableSplitRegistration`, goes in parts, sent one after the other to each NameServer; with
//! `compressedRegister` every body is in Java's zlib form ([`register_requests`],
//! docs/protocol.md §2.9.2).
//! A registration's answer names a slave's master (`masterAddr`, `haServerAddr`), which
//! is recorded in [`BrokerContext::master`] (docs/replication.md).
//! NameServers are asked concurrently, each over its pooled connection; one that is down fails its own request
//! (connect or request timeout) and is simply tried again on the next round. No round waits
//! longer than [`CHANGE_WAIT_MAX`]: late answers finish, and are logged, in the background,
//! so a silent NameServer slows neither topic changes nor shutdown.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::broker::BrokerContext;
use crate::client::ClientError;
use crate::wire::body::{body_crc32, perm, TopicConfigSerializeWrapper};
use crate::wire::codes::request_code;
use crate::wire::headers::{RegisterBrokerRequestHeader, UnregisterBrokerRequestHeader};
use crate::wire::register_body::{self, RegisterForm};
use crate::wire::{ExtFields, RemotingCommand};

/// What a shard last registered: the table's data version counter then (and the epoch of
/// counters, [`crate::broker::metadata::topics::TopicTable::epoch`]), and the topics it
/// listed.
#[derive(Debug, Default)]
pub struct LastRegistration {
    epoch: u64,
    counter: i64,
    topics: BTreeSet<String>,
}

/// What a round asks the NameServers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    Register,
    Unregister,
}

/// Java's default `registerNameServerPeriod`.
pub const REGISTER_PERIOD: Duration = Duration::from_secs(30);

/// How long a registration round (periodic, after a topic change, or at shutdown) waits for
/// NameServers before leaving late answers to the background; a live one answers in
/// milliseconds.
pub const CHANGE_WAIT_MAX: Duration = Duration::from_secs(1);

impl BrokerContext {
    /// The REGISTER_BROKER requests of this shard as its topic table stands now: one, or the
    /// parts it is split into, to be sent in order.
    pub fn register_requests(&self) -> Vec<RemotingCommand> {
        self.registration_of(self.topics.wrapper_of(&self.topics.table()), false)
    }

    /// The REGISTER_BROKER requests that register the topics of `wrapper`, in this broker's
    /// form (`compressedRegister`, `enableSplitRegistration`, `splitRegistrationSize`);
    /// with `increment`, marked as listing only what changed since the last registration.
    pub fn registration_of(
        &self,
        mut wrapper: TopicConfigSerializeWrapper,
        increment: bool,
    ) -> Vec<RemotingCommand> {
        // `brokerPermission` without READ or WRITE masks every topic, as Java registers it.
        let broker_perm = self.config().broker_permission;
        if broker_perm & (perm::READ | perm::WRITE) != perm::READ | perm::WRITE {
            for topic in wrapper.topic_config_table.values_mut() {
                topic.perm &= broker_perm;
            }
        }
        // A NameServer re-reads the topics only when the data version changed: after a
        // change of `brokerPermission` at run time (Java advances its topic data version
        // then) the version's time is that change's.
        let version = &mut wrapper.data_version;
        version.timestamp = version.timestamp.max(self.permission_changed_ms());
        let header = RegisterBrokerRequestHeader {
            broker_name: self.identity.broker_name.clone(),
            broker_addr: self.identity.broker_addr.clone(),
            cluster_name: self.config().broker_cluster_name.clone(),
            ha_server_addr: self.identity.ha_server_addr.clone(),
            broker_id: self.config().broker_id,
            registration_increment: increment.then_some(true),
            ..RegisterBrokerRequestHeader::default()
        };
        let form = RegisterForm {
            compressed: self.config().compressed_register,
            topics_per_part: self
                .config()
                .enable_split_registration
                .then_some(self.config().split_registration_size),
        };
        register_requests(&header, wrapper, form)
    }

    /// Registers with every NameServer; returns how many accepted within `wait_max`.
    /// Answers still due then finish (and are logged) in the background.
    pub async fn register_all(&self, wait_max: Duration) -> usize {
        let table = self.topics.table();
        let wrapper = self.topics.wrapper_of(&table);
        *self.registered.borrow_mut() = Some(LastRegistration {
            epoch: table.epoch(),
            counter: table.data_version.counter,
            topics: wrapper.topic_config_table.keys().cloned().collect(),
        });
        let requests = self.registration_of(wrapper, false);
        self.each_namesrv(Asked::Register, requests, wait_max).await
    }

    /// Registers what changed since this shard's last registration, after a topic change:
    /// only the topics created or replaced since then that this shard hosts queues of (a
    /// registration marked `registrationIncrement`, as Java 5 brokers register a topic
    /// change), found from the table's change log without a pass over the table, so a
    /// change costs what it changed. The whole table when a topic left this shard (only a
    /// full registration tells a NameServer a topic is gone) or the log cannot tell.
    /// Nothing when nothing this shard registers changed. The periodic full registration
    /// repairs a NameServer that missed an increment.
    pub async fn register_changes(&self, wait_max: Duration) -> usize {
        let table = self.topics.table();
        let shard = self.shard.id().index();
        let last = self.registered.borrow_mut().take();
        let Some(mut last) = last.filter(|last| last.epoch == table.epoch()) else {
            return self.register_all(wait_max).await;
        };
        let Some(changed) = table.changes_since(last.counter) else {
            return self.register_all(wait_max).await;
        };
        let mut topic_config_table = BTreeMap::new();
        for topic in changed {
            match table.config_on(topic, shard) {
                Some(config) => {
                    last.topics.insert(topic.to_owned());
                    topic_config_table.insert(topic.to_owned(), config);
                }
                None if last.topics.contains(topic) => return self.register_all(wait_max).await,
                None => {}
            }
        }
        last.counter = table.data_version.counter;
        *self.registered.borrow_mut() = Some(last);
        if topic_config_table.is_empty() {
            return self.config().namesrv_addr.len();
        }
        let wrapper = TopicConfigSerializeWrapper {
            data_version: table.data_version.clone(),
            topic_config_table,
            topic_queue_mapping_info_map: BTreeMap::new(),
        };
        let requests = self.registration_of(wrapper, true);
        self.each_namesrv(Asked::Register, requests, wait_max).await
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
            cluster_name: self.config().broker_cluster_name.clone(),
            broker_id: self.config().broker_id,
        });
        self.each_namesrv(Asked::Unregister, vec![request], wait_max)
            .await
    }

    /// Sends `requests` to every NameServer at once, in order to each (the next once the
    /// last succeeded); counts the NameServers that accepted them all by `wait_max`. What a
    /// registration's answer says of this broker's master is recorded in
    /// [`BrokerContext::master`].
    async fn each_namesrv(
        &self,
        asked: Asked,
        requests: Vec<RemotingCommand>,
        wait_max: Duration,
    ) -> usize {
        let what = match asked {
            Asked::Register => "register",
            Asked::Unregister => "unregister",
        };
        let requests: Rc<[RemotingCommand]> = requests.into();
        let deadline = Instant::now() + wait_max;
        // One task per NameServer, so a slow one does not hold up the others.
        let sends: Vec<_> = self
            .config()
            .namesrv_addr
            .iter()
            .map(|&addr| {
                let pool = self.namesrv.clone();
                let requests = requests.clone();
                let broker = self.identity.broker_name.clone();
                let master = self.master.clone();
                glommio::spawn_local(async move {
                    for request in requests.iter() {
                        let result = pool.request_ok(addr, request.clone()).await;
                        log_outcome(&broker, what, addr, &result);
                        match result {
                            Ok(answer) if asked == Asked::Register => {
                                if let Ok(header) = answer.decode_header() {
                                    master.learn(&header, &broker, addr);
                                }
                            }
                            Ok(_) => {}
                            Err(_) => return false,
                        }
                    }
                    true
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
                glommio::timer::sleep(self.config().register_name_server_period).await;
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

/// The requests that register `wrapper` with `header`'s broker fields in `form`: the
/// parts of [`register_body::split`], each with its CRC and, when there are several, its
/// place among them (`registrationPart`, `registrationParts`).
pub fn register_requests(
    header: &RegisterBrokerRequestHeader,
    wrapper: TopicConfigSerializeWrapper,
    form: RegisterForm,
) -> Vec<RemotingCommand> {
    let parts = register_body::split(wrapper, form);
    let count = i32::try_from(parts.len()).ok().filter(|&count| count > 1);
    parts
        .into_iter()
        .enumerate()
        .map(|(index, part)| {
            let body = register_body::encode_part(part, form.compressed);
            let mut request = RemotingCommand::request(
                request_code::REGISTER_BROKER,
                ExtFields::new(),
                Bytes::new(),
            );
            request.set_header(&RegisterBrokerRequestHeader {
                compressed: form.compressed,
                body_crc32: body_crc32(&body),
                registration_part: count.and_then(|_| i32::try_from(index).ok()),
                registration_parts: count,
                ..header.clone()
            });
            request.body = Bytes::from(body);
            request
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::*;
    use crate::limits;
    use crate::wire::body::{DataVersion, TopicConfig};
    use crate::wire::frame;

    fn header() -> RegisterBrokerRequestHeader {
        RegisterBrokerRequestHeader {
            broker_name: format!("broker-a-{}", "b".repeat(100)),
            broker_addr: "[fd00::1234:5678:9abc:def0]:10911".into(),
            cluster_name: "c".repeat(127),
            ha_server_addr: "[fd00::1234:5678:9abc:def0]:10912".into(),
            broker_id: 0,
            ..RegisterBrokerRequestHeader::default()
        }
    }

    fn table(count: usize, name_len: usize) -> TopicConfigSerializeWrapper {
        let topic_config_table = (0..count)
            .map(|i| {
                let name = format!("{i:06}{}", "t".repeat(name_len - 6));
                let config = TopicConfig {
                    topic_name: name.clone(),
                    read_queue_nums: 1024,
                    write_queue_nums: 1024,
                    ..TopicConfig::default()
                };
                (name, config)
            })
            .collect();
        TopicConfigSerializeWrapper {
            data_version: DataVersion {
                counter: i64::MAX,
                state_version: i64::MAX,
                timestamp: i64::MAX,
            },
            topic_config_table,
            ..TopicConfigSerializeWrapper::default()
        }
    }

    /// Every frame of `requests` as the connection writes it, checked against the limit
    /// and decoded back.
    fn frames_fit(requests: &[RemotingCommand]) -> Vec<RemotingCommand> {
        requests
            .iter()
            .map(|request| {
                let mut out = BytesMut::new();
                request.encode(&mut out).expect("encodes");
                assert!(
                    out.len() <= limits::FRAME_SIZE_MAX,
                    "a frame of {} bytes",
                    out.len()
                );
                frame::decode(&mut out).expect("a frame").expect("whole")
            })
            .collect()
    }

    /// The guarantee: no table the broker accepts, names as long as allowed, makes a
    /// registration frame over the frame limit, compressed or not, split asked or not.
    #[test]
    fn the_largest_table_registers_in_frames_under_the_limit() {
        let big = table(limits::BROKER_TOPICS_MAX, limits::TOPIC_NAME_MAX);
        for compressed in [false, true] {
            let form = RegisterForm {
                compressed,
                topics_per_part: None,
            };
            let requests = register_requests(&header(), big.clone(), form);
            let mut topics = 0;
            for request in frames_fit(&requests) {
                let header: RegisterBrokerRequestHeader = request.decode_header().expect("header");
                assert_eq!(header.compressed, compressed);
                assert_eq!(header.body_crc32, body_crc32(&request.body));
                assert_eq!(
                    header.registration_parts,
                    Some(i32::try_from(requests.len()).expect("count"))
                );
                let body = if compressed {
                    register_body::decode_compressed(&request.body).expect("compressed body")
                } else {
                    crate::wire::body::decode(&request.body, "body").expect("JSON body")
                };
                topics += body.topic_config_serialize_wrapper.topic_config_table.len();
            }
            assert_eq!(topics, limits::BROKER_TOPICS_MAX, "compressed {compressed}");
        }
    }

    #[test]
    fn a_small_table_is_one_request_without_part_numbers() {
        let form = RegisterForm {
            compressed: false,
            topics_per_part: Some(800),
        };
        let requests = register_requests(&header(), table(10, 20), form);
        assert_eq!(requests.len(), 1);
        let header: RegisterBrokerRequestHeader = requests[0].decode_header().expect("header");
        assert_eq!(header.registration_part, None);
        assert_eq!(header.registration_parts, None);
        assert!(!header.compressed);
    }

    #[test]
    fn split_registration_numbers_its_parts_in_order() {
        let form = RegisterForm {
            compressed: true,
            topics_per_part: Some(4),
        };
        let requests = register_requests(&header(), table(10, 20), form);
        let places: Vec<(Option<i32>, Option<i32>)> = requests
            .iter()
            .map(|request| {
                let header: RegisterBrokerRequestHeader = request.decode_header().expect("header");
                (header.registration_part, header.registration_parts)
            })
            .collect();
        assert_eq!(
            places,
            [(Some(0), Some(3)), (Some(1), Some(3)), (Some(2), Some(3))]
        );
    }
}
