//! A master and its slave (docs/replication.md): two broker processes with the same shard
//! count, each with a store and ports of its own, registering with a NameServer process of
//! their own, so that routes outlive either broker. Clients run against either [`Cluster`]:
//! both give them that NameServer.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use super::cluster::{log_path, terminate};
use super::Cluster;
use crate::common::{free_port, wait_until, PATIENCE};

/// A standalone NameServer (`shardmq namesrv`) on 127.0.0.1, stopped on drop.
pub struct Namesrv {
    child: Option<Child>,
    pub port: u16,
    /// Holds its KV config; removed on drop unless the test failed.
    dir: PathBuf,
}

impl Namesrv {
    /// Starts `shardmq namesrv` on a free port, its KV config under the test's temporary
    /// directory, and waits until it accepts connections.
    pub fn start(name: &str) -> Namesrv {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("interop-store")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create NameServer directory");
        let port = free_port();
        let log = File::create(log_path("namesrv")).expect("NameServer log");
        let child = Command::new(env!("CARGO_BIN_EXE_shardmq"))
            .args(["namesrv", "--listen-addr", "127.0.0.1"])
            .args(["--listen-port", &port.to_string()])
            .arg("--kv-config-path")
            .arg(dir.join("kvConfig.json"))
            .env(
                "RUST_LOG",
                std::env::var("SHARDMQ_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("NameServer log"))
            .stderr(log)
            .spawn()
            .expect("start shardmq namesrv");
        let mut namesrv = Namesrv {
            child: Some(child),
            port,
            dir,
        };
        wait_until(PATIENCE, &format!("NameServer listening on {port}"), || {
            if let Some(Ok(Some(status))) = namesrv.child.as_mut().map(Child::try_wait) {
                panic!("the NameServer exited ({status}) before listening on {port}");
            }
            crate::common::listening(port)
        });
        namesrv
    }
}

impl Drop for Namesrv {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            terminate(child);
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A master and its slave, registered with one standalone NameServer. Fields drop in order:
/// the brokers stop (and unregister) before the NameServer does.
pub struct Pair {
    pub master: Cluster,
    pub slave: Cluster,
    pub namesrv: Namesrv,
}

/// One queue of a topic: the shard hosting it (`<brokerName>-<shard>` in the route) and its
/// queue id there.
pub type Queue = (u16, u32);

impl Pair {
    /// Starts the NameServer, then the master (`brokerRole=master_role`) with `shards`
    /// shards, creates `topic` on it with `queues` queues, and starts the slave
    /// (`brokerRole=SLAVE`, `brokerId=1`, the same broker name, cluster and shard count).
    /// Returns once every master shard counts its slave connected, the slave serves `topic`
    /// (taken from its master), and the route lists both for every shard.
    pub fn start(name: &str, shards: u16, master_role: &str, topic: &str, queues: u32) -> Pair {
        let namesrv = Namesrv::start(&format!("{name}-namesrv"));
        let master = Cluster::start_registered(
            &format!("{name}-master"),
            shards,
            namesrv.port,
            &[format!("brokerRole={master_role}")],
        );
        master.create_topic(topic, queues);
        // The master is registered (its route is served): the slave's first registrations
        // name it, so the slave follows it and takes its topics at once.
        let slave = Cluster::start_registered(
            &format!("{name}-slave"),
            shards,
            namesrv.port,
            &["brokerRole=SLAVE".into(), "brokerId=1".into()],
        );
        let pair = Pair {
            master,
            slave,
            namesrv,
        };
        for shard in 0..shards {
            let what = format!("master shard {shard}'s slave connected");
            wait_until(PATIENCE, &what, || {
                pair.master.runtime_figure(shard, "haConnectionCount") == 1
            });
        }
        let what = format!("the slave serves {topic}");
        wait_until(PATIENCE, &what, || pair.slave.hosts_topic(topic));
        pair.wait_route(topic, "the master and the slave", |k| {
            BTreeMap::from([
                (0, pair.master.shard_addr(k)),
                (1, pair.slave.shard_addr(k)),
            ])
        });
        pair
    }

    /// `topic`'s queues as its route gives them.
    pub fn queues(&self, topic: &str) -> Vec<Queue> {
        let route = self
            .slave
            .route(topic)
            .unwrap_or_else(|response| panic!("no route of {topic}: {response}"));
        let datas = route["queueDatas"].as_array().cloned().unwrap_or_default();
        let mut queues: Vec<Queue> = datas
            .iter()
            .flat_map(|data| {
                let shard = shard_of(data["brokerName"].as_str().expect("a broker name"));
                let count = data["readQueueNums"].as_u64().expect("a queue count");
                (0..count as u32).map(move |queue| (shard, queue))
            })
            .collect();
        queues.sort_unstable();
        queues
    }

    /// Waits until the slave holds as many messages in each of `queues` as the master: its
    /// copy of the log is filed in its queues.
    pub fn wait_slave_caught_up(&self, topic: &str, queues: &[Queue]) {
        for &(shard, queue) in queues {
            let end = self.master.max_offset(shard, topic, queue);
            let what =
                format!("the slave holding {end} messages in queue {queue} of shard {shard}");
            wait_until(PATIENCE, &what, || {
                self.slave.max_offset(shard, topic, queue) == end
            });
        }
    }

    /// `kill -9` of the master (its process alone), then waits until the NameServer's route
    /// of `topic` lists the slave alone: the NameServer drops a broker whose registration
    /// connection closed.
    pub fn kill_master(&mut self, topic: &str) {
        self.master.kill();
        self.wait_route(topic, "the slave alone", |k| {
            BTreeMap::from([(1, self.slave.shard_addr(k))])
        });
    }

    /// Waits until `topic`'s route names at least one broker and each broker it names
    /// (`<brokerName>-<k>`) lists `addrs(k)`, its addresses by broker id.
    fn wait_route(&self, topic: &str, what: &str, addrs: impl Fn(u16) -> BTreeMap<u64, String>) {
        let what = format!("the route of {topic} listing {what}");
        wait_until(PATIENCE, &what, || {
            let Ok(route) = self.slave.route(topic) else {
                return false;
            };
            let brokers = route["brokerDatas"].as_array().cloned().unwrap_or_default();
            !brokers.is_empty()
                && brokers.iter().all(|broker| {
                    let shard = shard_of(broker["brokerName"].as_str().unwrap_or_default());
                    let listed: BTreeMap<u64, String> =
                        serde_json::from_value(broker["brokerAddrs"].clone()).unwrap_or_default();
                    listed == addrs(shard)
                })
        });
    }
}

/// The shard whose broker name `name` is (`<brokerName>-<shard>`).
fn shard_of(name: &str) -> u16 {
    let shard = name.rsplit('-').next().and_then(|k| k.parse().ok());
    shard.unwrap_or_else(|| panic!("a shard suffix in {name}"))
}

/// Every record of `topic`'s `queues` stored at `broker`, queue by queue, byte for byte.
pub fn records(broker: &Cluster, topic: &str, queues: &[Queue]) -> Vec<Vec<u8>> {
    let per_queue = queues
        .iter()
        .flat_map(|&(shard, queue)| broker.raw_records(shard, topic, queue..queue + 1));
    per_queue.collect()
}

/// The ids a client may report for the stored record `record`: its UNIQ_KEY (the producer's
/// id) and its offset message id (store host and commit-log offset, as the broker answered
/// the send). A slave's copy carries the master's store host, so both ids stay the same.
pub fn record_ids(record: &[u8]) -> [String; 2] {
    let view = shardmq::wire::record::RecordView::parse(record).expect("a stored record");
    let offset_id =
        shardmq::wire::message_id::offset_message_id(view.store_host(), view.physical_offset());
    [view.uniq_key().unwrap_or_default().to_owned(), offset_id]
}
