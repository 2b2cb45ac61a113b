//! A broker process with its NameServer address, and client runs against it ([`super::run`]).
//!
//! The broker is started here rather than with `common::Broker` because the restart scenario
//! needs the same ports and store after a `kill -9`, and the replication scenarios need a
//! broker that registers with a NameServer process of its own ([`super::replicated`]).

use std::fs::File;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use shardmq::wire::record::{RecordView, SysFlag};
use shardmq::wire::signature::Credentials;

use super::raw::{offset_field, raw_pull, request_as};
use super::report::expected_bodies;
use super::run::{credential_args, signed_label};
pub use super::run::{Consume, Produce, Running};
use super::{Client, Report, Role};
use crate::common::{
    free_port, free_port_block, wait_for, wait_until, PATIENCE, SHARD_PORT_STRIDE,
};

/// The broker flag that chooses the store directory.
const STORE_PATH_FLAG: &str = "--store-path";

pub(super) const SUCCESS: i64 = 0;
pub(super) const PULL_MESSAGE: i64 = 11;
const QUERY_CONSUMER_OFFSET: i64 = 14;
const UPDATE_AND_CREATE_TOPIC: i64 = 17;
const GET_ALL_TOPIC_CONFIG: i64 = 21;
pub(super) const GET_BROKER_RUNTIME_INFO: i64 = 28;
const GET_MAX_OFFSET: i64 = 30;
const GET_CONSUMER_LIST_BY_GROUP: i64 = 38;
const GET_PRODUCER_CONNECTION_LIST: i64 = 204;
const GET_ROUTEINFO_BY_TOPIC: i64 = 105;
/// PULL_MESSAGE's sysFlag bit: the request carries its subscription.
pub(super) const PULL_WITH_SUBSCRIPTION: i64 = 4;

/// One broker process (one shard unless started with [`Cluster::start_with_shards`]) and the
/// address clients use as their NameServer.
pub struct Cluster {
    child: Option<Child>,
    /// Shard 0's main port; shard `k` listens on `listen_port + 4k` (docs/topology.md).
    pub listen_port: u16,
    shards: u16,
    /// The port of the NameServer clients use: the broker's embedded one, or with
    /// `embedded_namesrv` false one the broker registers with.
    namesrv_port: u16,
    embedded_namesrv: bool,
    /// broker.conf settings passed as `-o key=value`.
    settings: Vec<String>,
    /// `target/tmp/interop-store/<name>-<pid>`, removed when the cluster is dropped.
    store: PathBuf,
    log: PathBuf,
    /// With RocketMQ's plain ACL on ([`Cluster::start_with_acl`]): the admin account every
    /// raw request of the harness is signed as, and the ACL file.
    acl: Option<Acl>,
}

/// A broker's plain ACL as the harness set it up.
struct Acl {
    admin: Credentials,
    /// `target/tmp/interop-acl/<name>-<pid>.yml`, removed with the cluster.
    file: PathBuf,
}

impl Cluster {
    /// A broker with one shard and a store of its own under the test's temporary directory.
    pub fn start() -> Cluster {
        Cluster::start_with_shards(1)
    }

    /// A broker with `shards` shards (each a broker of its own in the route, `broker-a-<k>`)
    /// and a store of its own.
    pub fn start_with_shards(shards: u16) -> Cluster {
        // Tests of one file run in parallel in one process: each needs a name of its own.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Cluster::launch(&format!("broker-{n}"), shards)
    }

    /// A one-shard broker started with broker.conf `settings` (`key=value`), e.g. the
    /// transaction check's `transactionCheckInterval=500`.
    pub fn start_with_settings(settings: &[&str]) -> Cluster {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let settings: Vec<String> = settings.iter().map(|s| s.to_string()).collect();
        Cluster::launch_with(
            &format!("broker-set-{n}"),
            1,
            (free_port(), true),
            &settings,
        )
    }

    /// A one-shard broker that checks RocketMQ's plain ACL (ACL 1.0): `aclEnable=true` and
    /// `aclFile` naming a file holding `plain_acl_yml` (Java's `plain_acl.yml` format). Every
    /// raw request the harness sends it (topic creation, runtime figures, offsets…) is then
    /// signed as `admin`, which the file must hold as an account with `admin: true`, and the
    /// broker signs its own registrations with its embedded NameServer as that account too
    /// (`accessKey`, `secretKey`); the NameServer's route reads are open to anyone and are
    /// signed all the same. Clients sign as the account their [`Produce::signed_as`] or
    /// [`Consume::signed_as`] names.
    pub fn start_with_acl(plain_acl_yml: &str, admin: Credentials) -> Cluster {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("broker-acl-{n}");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("interop-acl");
        std::fs::create_dir_all(&dir).expect("ACL file directory");
        let file = dir.join(format!("{name}-{}.yml", std::process::id()));
        std::fs::write(&file, plain_acl_yml).expect("write the ACL file");
        // The broker signs its own requests (its registrations with the NameServer, which
        // reads the same file) as the admin account too.
        let settings = [
            "aclEnable=true".to_string(),
            format!("aclFile={}", file.display()),
            format!("accessKey={}", admin.access_key),
            format!("secretKey={}", admin.secret_key()),
        ];
        let acl = Acl { admin, file };
        Cluster::launch_with_acl(&name, 1, (free_port(), true), &settings, Some(acl))
    }

    /// A one-shard broker whose store survives [`Cluster::kill_and_restart`].
    pub fn start_with_store(name: &str) -> Cluster {
        Cluster::launch(name, 1)
    }

    /// A broker with a store of its own that runs no NameServer and registers with the one
    /// on 127.0.0.1:`namesrv_port`, the NameServer its clients are given; `settings` are
    /// broker.conf `key=value` pairs (a role, a broker id).
    pub fn start_registered(
        name: &str,
        shards: u16,
        namesrv_port: u16,
        settings: &[String],
    ) -> Cluster {
        Cluster::launch_with(name, shards, (namesrv_port, false), settings)
    }

    fn launch(name: &str, shards: u16) -> Cluster {
        Cluster::launch_with(name, shards, (free_port(), true), &[])
    }

    fn launch_with(name: &str, shards: u16, namesrv: (u16, bool), settings: &[String]) -> Cluster {
        Cluster::launch_with_acl(name, shards, namesrv, settings, None)
    }

    fn launch_with_acl(
        name: &str,
        shards: u16,
        (namesrv_port, embedded_namesrv): (u16, bool),
        settings: &[String],
        acl: Option<Acl>,
    ) -> Cluster {
        let store = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("interop-store")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&store);
        std::fs::create_dir_all(&store).expect("create store directory");
        let mut cluster = Cluster {
            child: None,
            listen_port: free_port_block(shards),
            shards,
            namesrv_port,
            embedded_namesrv,
            settings: settings.to_vec(),
            store,
            log: log_path("broker"),
            acl,
        };
        cluster.spawn();
        cluster
    }

    fn spawn(&mut self) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_shardmq"));
        command
            .args(["broker", "--listen-addr", "127.0.0.1"])
            .args(["--shards", &self.shards.to_string()])
            .args(["--listen-port", &self.listen_port.to_string()]);
        if self.embedded_namesrv {
            command.args(["--namesrv-listen-port", &self.namesrv_port.to_string()]);
        } else {
            command
                .arg("--no-embedded-namesrv")
                .args(["--namesrv-addr", &self.namesrv()]);
        }
        command.arg(STORE_PATH_FLAG).arg(&self.store);
        // Small segments and index files: every scenario starts its own broker, and the
        // default index file alone is 400 MiB, preallocated.
        command.args(["-o", "mappedFileSizeCommitLog=4194304"]);
        command.args(["-o", "maxHashSlotNum=4096", "-o", "maxIndexNum=16384"]);
        for setting in &self.settings {
            command.args(["-o", setting]);
        }
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("broker log");
        let child = command
            .env(
                "RUST_LOG",
                std::env::var("SHARDMQ_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("broker log"))
            .stderr(log)
            .spawn()
            .expect("start shardmq");
        self.child = Some(child);
        let namesrv = self.embedded_namesrv.then_some(self.namesrv_port);
        for port in self.shard_ports().chain(namesrv) {
            self.wait_listening(port);
        }
    }

    fn wait_listening(&mut self, port: u16) {
        wait_until(PATIENCE, &format!("broker listening on {port}"), || {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "broker exited ({status}) before listening on {port}\n{}",
                    self.log_tail()
                );
            }
            crate::common::listening(port)
        });
    }

    /// The main port of shard `shard`.
    pub fn shard_port(&self, shard: u16) -> u16 {
        self.listen_port + shard * SHARD_PORT_STRIDE
    }

    /// The address (`127.0.0.1:port`) of shard `shard`, as it registers itself.
    pub fn shard_addr(&self, shard: u16) -> String {
        format!("127.0.0.1:{}", self.shard_port(shard))
    }

    /// The shard count.
    pub fn shards(&self) -> u16 {
        self.shards
    }

    /// The main port of every shard, shard 0 first.
    pub fn shard_ports(&self) -> impl Iterator<Item = u16> {
        let base = self.listen_port;
        (0..self.shards).map(move |k| base + k * SHARD_PORT_STRIDE)
    }

    /// The NameServer address every client is given.
    pub fn namesrv(&self) -> String {
        format!("127.0.0.1:{}", self.namesrv_port)
    }

    /// Kills the broker with SIGKILL, sent to its process alone: no shutdown work at all, no
    /// unregistering; the connections it held are closed by the kernel.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the broker with SIGKILL (no shutdown work at all) and starts it again on the same
    /// ports with the same store.
    pub fn kill_and_restart(&mut self) {
        self.kill();
        // The kernel may hold the ports for a moment after the process is gone.
        wait_until(PATIENCE, "the broker's ports free after the kill", || {
            self.shard_ports()
                .all(|port| TcpListener::bind(("127.0.0.1", port)).is_ok())
        });
        self.spawn();
    }

    /// Creates `topic` with `queues` read and write queues, as `mqadmin updateTopic` does, and
    /// waits until its route is served: ali-ons producers cannot create topics themselves, and
    /// a consumer started before its topic exists only sees it at its next route poll (30 s).
    pub fn create_topic(&self, topic: &str, queues: u32) {
        let response = self.create_topic_as(topic, queues, self.admin());
        assert_eq!(
            response["code"], SUCCESS,
            "UPDATE_AND_CREATE_TOPIC {topic} at the broker answered {response}"
        );
        let what = format!("route of {topic} served after creating it");
        wait_until(PATIENCE, &what, || self.route(topic).is_ok());
    }

    /// Sends the UPDATE_AND_CREATE_TOPIC of [`Cluster::create_topic`] signed as `credentials`
    /// (unsigned with `None`) and returns the response header, whatever it says: with the
    /// plain ACL on, only an admin account may create a topic.
    pub fn create_topic_as(
        &self,
        topic: &str,
        queues: u32,
        credentials: Option<&Credentials>,
    ) -> Value {
        let header = serde_json::json!({
            "code": UPDATE_AND_CREATE_TOPIC, "language": "JAVA", "version": 453, "opaque": 1,
            "flag": 0, "serializeTypeCurrentRPC": "JSON",
            "extFields": {
                "topic": topic, "defaultTopic": "TBW102",
                "readQueueNums": queues.to_string(), "writeQueueNums": queues.to_string(),
                "perm": "6", "topicFilterType": "SINGLE_TAG", "topicSysFlag": "0", "order": "false",
            },
        });
        request_as(self.listen_port, &header, credentials).0
    }

    /// The admin account the harness signs its raw requests as, when the broker checks the
    /// plain ACL ([`Cluster::start_with_acl`]).
    pub fn admin(&self) -> Option<&Credentials> {
        self.acl.as_ref().map(|acl| &acl.admin)
    }

    /// Waits until the broker lists `count` consumers of `group`: each has sent its first
    /// heartbeat, and the broker has told the others of it, which makes them rebalance. With
    /// several shards, one shard listing them all will do: a client heartbeats to the brokers
    /// of its topics' routes only, and a topic's queues may be on some shards and not others.
    pub fn wait_consumers(&self, group: &str, count: usize) {
        let header = serde_json::json!({
            "code": GET_CONSUMER_LIST_BY_GROUP, "language": "JAVA", "version": 453, "opaque": 3,
            "flag": 0, "serializeTypeCurrentRPC": "JSON",
            "extFields": { "consumerGroup": group },
        });
        wait_until(PATIENCE, &format!("{count} consumers of {group}"), || {
            self.shard_ports().any(|port| {
                let (response, body) = self.request_with_body(port, &header);
                let list: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let listed = list["consumerIdList"].as_array().map_or(0, Vec::len);
                response["code"] == SUCCESS && listed == count
            })
        });
    }

    /// The client ids of the consumers of `group` the broker lists now
    /// (GET_CONSUMER_LIST_BY_GROUP at every shard, duplicates removed): none when no shard
    /// took a heartbeat of the group's consumers, or none is connected any more.
    pub fn consumers(&self, group: &str) -> Vec<String> {
        let header = serde_json::json!({
            "code": GET_CONSUMER_LIST_BY_GROUP, "language": "JAVA", "version": 453, "opaque": 3,
            "flag": 0, "serializeTypeCurrentRPC": "JSON",
            "extFields": { "consumerGroup": group },
        });
        let mut ids = std::collections::BTreeSet::new();
        for port in self.shard_ports() {
            let (response, body) = self.request_with_body(port, &header);
            if response["code"] != SUCCESS {
                continue;
            }
            let list: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let listed = list["consumerIdList"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            ids.extend(
                listed
                    .iter()
                    .filter_map(|id| id.as_str().map(str::to_string)),
            );
        }
        ids.into_iter().collect()
    }

    /// The client ids of the producers of `group` the broker holds connections of (from
    /// their heartbeats), at shard `shard` (GET_PRODUCER_CONNECTION_LIST); none when it
    /// answers that the group is not online.
    pub fn producer_connections(&self, shard: u16, group: &str) -> Vec<String> {
        let header = serde_json::json!({
            "code": GET_PRODUCER_CONNECTION_LIST, "language": "JAVA", "version": 453,
            "opaque": 8, "flag": 0, "serializeTypeCurrentRPC": "JSON",
            "extFields": { "producerGroup": group },
        });
        let (response, body) = self.request_with_body(self.shard_port(shard), &header);
        if response["code"] != SUCCESS {
            return Vec::new();
        }
        let list: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let connections = list["connectionSet"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        connections
            .iter()
            .filter_map(|c| c["clientId"].as_str().map(str::to_string))
            .collect()
    }

    /// Waits until shard `shard` holds connections of exactly `count` producers of `group`
    /// and returns their client ids.
    pub fn wait_producers(&self, shard: u16, group: &str, count: usize) -> Vec<String> {
        let what = format!("{count} producers of {group} at shard {shard}");
        wait_for(PATIENCE, &what, || {
            let ids = self.producer_connections(shard, group);
            (ids.len() == count).then_some(ids)
        })
    }

    /// Waits until at least `count` pulls are parked at the broker, all its shards together,
    /// and returns how many are: a consumer parks a pull on a queue once it owns the queue and
    /// knows where to read it from, so what is sent from then on reaches it. A pull stays
    /// parked until a message arrives or its suspension (15 s or more) ends, even after its
    /// consumer gave the queue up, so a count over a few seconds only grows.
    pub fn wait_parked_pulls(&self, count: usize) -> usize {
        wait_for(PATIENCE, &format!("{count} parked pulls"), || {
            let parked: usize = self.shard_ports().map(|port| self.parked_pulls(port)).sum();
            Some(parked).filter(|&parked| parked >= count)
        })
    }

    /// [`Cluster::wait_parked_pulls`] at the one shard listening on `port`, e.g. the shard
    /// that hosts a queue ([`Cluster::broker_port`]).
    pub fn wait_parked_pulls_at(&self, port: u16, count: usize) -> usize {
        let what = format!("{count} parked pulls at the shard on port {port}");
        wait_for(PATIENCE, &what, || {
            Some(self.parked_pulls(port)).filter(|&parked| parked >= count)
        })
    }

    /// The main port of the broker (shard) `broker_name` as `topic`'s route gives it.
    pub fn broker_port(&self, topic: &str, broker_name: &str) -> u16 {
        let route = self
            .route(topic)
            .unwrap_or_else(|response| panic!("no route of {topic}: {response}"));
        let brokers = route["brokerDatas"].as_array().cloned().unwrap_or_default();
        let broker = brokers
            .iter()
            .find(|b| b["brokerName"] == broker_name)
            .unwrap_or_else(|| panic!("{broker_name} not in the route of {topic}: {route}"));
        let addr = broker["brokerAddrs"]["0"]
            .as_str()
            .expect("a master address");
        let port = addr.rsplit(':').next().and_then(|p| p.parse().ok());
        port.unwrap_or_else(|| panic!("a port in {addr}"))
    }

    /// GET_ROUTEINFO_BY_TOPIC at the NameServer: the route body, or the response header.
    pub fn route(&self, topic: &str) -> Result<Value, Value> {
        let header = serde_json::json!({
            "code": GET_ROUTEINFO_BY_TOPIC, "language": "JAVA", "version": 453, "opaque": 2,
            "flag": 0, "serializeTypeCurrentRPC": "JSON", "extFields": { "topic": topic },
        });
        let (response, body) = self.request_with_body(self.namesrv_port, &header);
        if response["code"] == SUCCESS {
            Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
        } else {
            Err(response)
        }
    }

    /// Every record stored in `topic`'s queues `0..queues` at shard 0 (all of them on a
    /// one-shard broker), as PULL_MESSAGE returns them to a client: what the broker keeps of
    /// each message, before any client decodes it.
    pub fn stored_records(&self, topic: &str, queues: u32) -> Vec<StoredRecord> {
        let records = self.raw_records(0, topic, 0..queues);
        let parsed = records.iter().map(|record| {
            let view = RecordView::parse(record)
                .unwrap_or_else(|e| panic!("a record pulled from {topic}: {e}"));
            StoredRecord {
                keys: view.keys().map(str::to_string),
                compressed: view.sysflag().0 & SysFlag::COMPRESSED != 0,
                body_len: view.body().len(),
            }
        });
        parsed.collect()
    }

    /// Every record stored in `topic`'s queues `queues` at shard `shard`, queue by queue in
    /// offset order, each byte for byte as a pull carries it.
    pub fn raw_records(
        &self,
        shard: u16,
        topic: &str,
        queues: std::ops::Range<u32>,
    ) -> Vec<Vec<u8>> {
        let mut records = Vec::new();
        for queue in queues {
            let mut offset = 0;
            loop {
                let header = raw_pull(topic, queue, offset, 32);
                let (response, body) = self.request_with_body(self.shard_port(shard), &header);
                if response["code"] != SUCCESS {
                    break;
                }
                let mut rest = body.as_slice();
                while let Some(size) = rest.get(..4) {
                    let size = u32::from_be_bytes([size[0], size[1], size[2], size[3]]) as usize;
                    let (record, tail) = rest.split_at(size.min(rest.len()));
                    records.push(record.to_vec());
                    rest = tail;
                }
                let next = response["extFields"]["nextBeginOffset"].as_str();
                match next.and_then(|n| n.parse().ok()) {
                    Some(next) if next > offset => offset = next,
                    _ => break,
                }
            }
        }
        records
    }

    /// True when GET_ALL_TOPIC_CONFIG of some shard lists `topic`: the broker serves it (a
    /// slave, once it has taken it from its master). Each shard lists its share of a topic.
    pub fn hosts_topic(&self, topic: &str) -> bool {
        let header = serde_json::json!({
            "code": GET_ALL_TOPIC_CONFIG, "language": "JAVA", "version": 453, "opaque": 5,
            "flag": 0, "serializeTypeCurrentRPC": "JSON", "extFields": {},
        });
        self.shard_ports().any(|port| {
            let (response, body) = self.request_with_body(port, &header);
            assert_eq!(
                response["code"], SUCCESS,
                "GET_ALL_TOPIC_CONFIG: {response}"
            );
            let all: Value = serde_json::from_slice(&body).expect("a topic table");
            all["topicConfigTable"].get(topic).is_some()
        })
    }

    /// The offset past the last message of queue `queue` of `topic` at shard `shard`
    /// (GET_MAX_OFFSET).
    pub fn max_offset(&self, shard: u16, topic: &str, queue: u32) -> i64 {
        let header = serde_json::json!({
            "code": GET_MAX_OFFSET, "language": "JAVA", "version": 453, "opaque": 6,
            "flag": 0, "serializeTypeCurrentRPC": "JSON",
            "extFields": { "topic": topic, "queueId": queue.to_string() },
        });
        let response = self.request(self.shard_port(shard), &header);
        assert_eq!(response["code"], SUCCESS, "GET_MAX_OFFSET: {response}");
        offset_field(&response)
    }

    /// The offset `group` has committed on queue `queue` of `topic` at shard `shard`, as a
    /// client reads it (QUERY_CONSUMER_OFFSET); `None` when the shard stores none.
    pub fn committed_offset(
        &self,
        shard: u16,
        group: &str,
        topic: &str,
        queue: u32,
    ) -> Option<i64> {
        let header = serde_json::json!({
            "code": QUERY_CONSUMER_OFFSET, "language": "JAVA", "version": 453, "opaque": 7,
            "flag": 0, "serializeTypeCurrentRPC": "JSON",
            "extFields": {
                "consumerGroup": group, "topic": topic, "queueId": queue.to_string(),
                "setZeroIfNotFound": "false",
            },
        });
        let response = self.request(self.shard_port(shard), &header);
        (response["code"] == SUCCESS).then(|| offset_field(&response))
    }

    /// The message stored at `offset` of queue `queue` of `topic` at shard `shard`, read with
    /// one PULL_MESSAGE of that offset: its queue offset, store time and body.
    pub fn record_at(&self, shard: u16, topic: &str, queue: u32, offset: i64) -> StoredAt {
        let header = raw_pull(topic, queue, offset, 1);
        let (response, body) = self.request_with_body(self.shard_port(shard), &header);
        assert_eq!(
            response["code"], SUCCESS,
            "a message at {topic}/{queue}/{offset}: {response}"
        );
        // The first record of the answer (each starts with its total size).
        let size = body.get(..4).map_or(0, |size| {
            u32::from_be_bytes([size[0], size[1], size[2], size[3]]) as usize
        });
        let record = &body[..size.min(body.len())];
        let view = RecordView::parse(record)
            .unwrap_or_else(|e| panic!("the record at {topic}/{queue}/{offset}: {e}"));
        StoredAt {
            queue_offset: view.queue_offset().0 as i64,
            store_timestamp: view.store_timestamp_ms(),
            body: String::from_utf8_lossy(view.body()).into_owned(),
        }
    }

    /// The integer value of `key` in shard `shard`'s GET_BROKER_RUNTIME_INFO.
    pub fn runtime_figure(&self, shard: u16, key: &str) -> i64 {
        let table = self.runtime_table(self.shard_port(shard));
        let text = table[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key} in {table}"));
        text.parse().unwrap_or_else(|_| panic!("{key}={text}"))
    }

    /// Runs a producer to its end.
    pub fn produce(&self, client: Client, produce: &Produce) -> Report {
        let (args, label) = self.producer_args(client, produce);
        Running::spawn(client, Role::Producer, args, label, produce.seconds).finish()
    }

    /// Starts a producer and returns at once; one [serving checks](Produce::serving_checks)
    /// runs until [`Running::stop`].
    pub fn start_producer(&self, client: Client, produce: &Produce) -> Running {
        let (args, label) = self.producer_args(client, produce);
        let seconds = produce.seconds;
        Running::spawn_with_stdin(
            client,
            Role::Producer,
            args,
            label,
            seconds,
            produce.serve_checks,
        )
    }

    /// A producer driver's arguments for `produce`, and a label for its reports.
    fn producer_args(&self, client: Client, produce: &Produce) -> (Vec<String>, String) {
        let mut args = self.common_args(&produce.topic, &produce.group, produce.count);
        args.extend([
            "--tags".into(),
            produce.tags.clone(),
            "--mode".into(),
            produce.mode.into(),
            "--seconds".into(),
            produce.seconds.to_string(),
        ]);
        if client != Client::Node {
            args.extend(["--batch-size".into(), produce.batch_size.to_string()]);
        }
        if !produce.body_sizes.is_empty() {
            args.extend(["--body-sizes".into(), produce.body_sizes.clone()]);
        }
        if produce.orderly {
            args.push("--orderly".into());
        }
        if !produce.outcomes.is_empty() {
            args.extend(["--outcomes".into(), produce.outcomes.clone()]);
        }
        if produce.serve_checks {
            args.push("--serve-checks".into());
        }
        // Only when not the drivers' defaults, which every driver has.
        if produce.key_prefix != "key-" || produce.body_prefix != "body-" {
            args.extend(["--key-prefix".into(), produce.key_prefix.clone()]);
            args.extend(["--body-prefix".into(), produce.body_prefix.clone()]);
        }
        args.extend(credential_args(produce.credentials.as_ref()));
        let label = format!(
            "{} {}producer ({}) of {} on {}{}",
            client.name(),
            if produce.orderly { "orderly " } else { "" },
            produce.mode,
            produce.group,
            produce.topic,
            signed_label(produce.credentials.as_ref())
        );
        (args, label)
    }

    /// Starts a push consumer; it runs until its count or time bound.
    pub fn consume(&self, client: Client, consume: &Consume) -> Running {
        let mut args = self.common_args(&consume.topic, &consume.group, consume.count);
        args.extend([
            "--expr".into(),
            consume.expr.clone(),
            "--model".into(),
            consume.model.into(),
            "--seconds".into(),
            consume.seconds.to_string(),
        ]);
        // The Python binding has no way to set where a new group starts.
        if client != Client::Python {
            args.extend(["--from".into(), consume.from.into()]);
        }
        if consume.orderly {
            args.push("--orderly".into());
        }
        args.extend(credential_args(consume.credentials.as_ref()));
        let label = format!(
            "{} {}consumer {} on {}{}",
            client.name(),
            if consume.orderly { "orderly " } else { "" },
            consume.group,
            consume.topic,
            signed_label(consume.credentials.as_ref())
        );
        Running::spawn(client, Role::Consumer, args, label, consume.seconds)
    }

    /// Runs a push consumer of the new group `group` from the first offset until it has
    /// `count` messages (at most `seconds`), asserts it received exactly the bodies `body-0`
    /// to `body-<count-1>`, and returns its report for further checks.
    pub fn receive_all_from_first(
        &self,
        client: Client,
        topic: &str,
        group: &str,
        count: usize,
        seconds: u64,
    ) -> Report {
        let settings = Consume::new(topic, group)
            .starting_at_first()
            .until(count, seconds);
        let received = self.consume(client, &settings).finish();
        received.assert_ok();
        assert_eq!(
            received.bodies(),
            expected_bodies("body-", 0..count),
            "{}",
            received.label
        );
        received
    }

    fn common_args(&self, topic: &str, group: &str, count: usize) -> Vec<String> {
        vec![
            "--namesrv".into(),
            self.namesrv(),
            "--topic".into(),
            topic.into(),
            "--group".into(),
            group.into(),
            "--count".into(),
            count.to_string(),
        ]
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        format!(
            "--- {} ---\n{}",
            self.log.display(),
            lines[lines.len().saturating_sub(30)..].join("\n")
        )
    }
}

impl Drop for Cluster {
    /// Stops the broker (SIGTERM, then SIGKILL past 10 s), then removes its store: every
    /// scenario starts a broker of its own, and their stores would pile up run after run. A
    /// test that is failing keeps its store, to be looked at. (A restart within a test keeps
    /// the store: only the end of the cluster removes it.)
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            terminate(child);
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.store);
            if let Some(acl) = &self.acl {
                let _ = std::fs::remove_file(&acl.file);
            }
        }
    }
}

/// Stops a server process this harness started: SIGTERM to its PID, then SIGKILL past 10 s.
pub(super) fn terminate(mut child: Child) {
    crate::common::terminate(&mut child, Duration::from_secs(10));
}

pub(super) fn log_path(what: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("interop-logs");
    std::fs::create_dir_all(&dir).expect("log directory");
    dir.join(format!(
        "{what}-{}-{}.log",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

/// One message read back from the broker at a queue offset ([`Cluster::record_at`]).
#[derive(Debug, Clone)]
pub struct StoredAt {
    pub queue_offset: i64,
    /// STORETIMESTAMP: when the broker stored it, ms since the epoch.
    pub store_timestamp: i64,
    pub body: String,
}

/// One record as the broker stores it and serves it to a pull.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub keys: Option<String>,
    /// SYSFLAG's COMPRESSED bit: the body is compressed as the producer sent it.
    pub compressed: bool,
    pub body_len: usize,
}
