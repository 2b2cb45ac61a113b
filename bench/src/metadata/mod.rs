//! `metadata`: the operator's scenario of tens of thousands of topics and thousands of
//! consumer groups on one broker, run from start to finish by the harness itself, which
//! prints one table of figures (step | figure) and, with `--json`, the same as JSON.
//!
//! 1. **start** — `shardmq broker` on 127.0.0.1, free ports, a fresh store
//!    ([`crate::process`]); the time until it listens, its memory.
//! 2. **create** — `--count` topics of `--queues` queues, created as `topics` does
//!    ([`topics::create`]), with its per-step lines.
//! 3. **send** — one `--size` message to each topic (SEND_MESSAGE_V2, queue 0, the shards
//!    taken in turn: a shard hosting none of a topic's write queues hands the send over its
//!    mesh), then the disk: allocated bytes of the ConsumeQueue files per queue holding a
//!    message, and of the whole store, once every entry is on disk.
//! 4. **lookups** — a fixed number of each, one at a time on one connection:
//!    GET_ROUTEINFO_BY_TOPIC of random topics, GET_BROKER_CLUSTER_INFO and
//!    GET_ALL_TOPIC_LIST_FROM_NAMESERVER on the NameServer; GET_CONSUME_STATS of a group on
//!    random topics and a consumer's periodic HEART_BEAT on shard 0.
//! 5. **groups** — `--groups` groups of `--consumers` push consumers (clustering,
//!    CONSUME_FROM_LAST_OFFSET, each group on one created topic and its retry topic, as Java
//!    subscribes them). A consumer lives in a client instance: one client id with one
//!    connection to every shard, as a Java `MQClientInstance`. There are at most
//!    `--clients-max` instances; past that, an instance hosts consumers of several groups and
//!    its heartbeat lists them all, as one Java process running several consumers does. The
//!    members of a group are always different instances. Every instance connects to every
//!    shard, then all send their first HEART_BEAT at once (clients starting together, or
//!    coming back after a broker restart): its answer time, how many were answered within
//!    the 3 s a Java client waits, the broker's memory per connection, and how long the
//!    groups' retry topics, created in the background, take to be routable.
//! 6. **restart** — SIGTERM, a start on the same store: the time until it listens, until
//!    the NameServer lists every topic and a sample of routes holds all their queues, its
//!    memory then, and the answer time of a pull of the one message of sampled topics.
//!
//! Every request has a timeout and every wait `--wait`; the broker is stopped by its PID
//! and its directory deleted at the end, also after an error (`--keep-store` keeps it).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use glommio::{LocalExecutorBuilder, Placement};
use hdrhistogram::Histogram;
use serde::Serialize;
use serde_json::{json, Map, Value};
use shardmq::broker::clients::heartbeat_body::{
    ConsumeFromWhere, ConsumeType, ConsumerData, ExpressionType, HeartbeatData, MessageModel,
    ProducerData, SubscriptionData,
};
use shardmq::client::{
    success, ClientError, ClientOptions, Connection, InboundHandler, CONNECT_TIMEOUT_DEFAULT,
};
use shardmq::wire::body::{self, ClusterInfo, TopicList, TopicRouteData};
use shardmq::wire::codes::{request_code, response_code};
use shardmq::wire::headers::admin::GetConsumeStatsRequestHeader;
use shardmq::wire::headers::namesrv::GetRouteInfoRequestHeader;
use shardmq::wire::headers::pull::{pull_sys_flag, PullMessageRequestHeader};
use shardmq::wire::record::RecordView;
use shardmq::wire::{ExtFields, RemotingCommand, SerializeType};

use crate::args::MetadataArgs;
use crate::message::{now_ms, MessageShape, Template};
use crate::process::{BrokerProcess, DiskUse, ProcessFigures};
use crate::report::Machine;
use crate::route;
use crate::stats::Failure;
use crate::topics::{self, micros, Creation};
use crate::BenchError;

mod groups;
mod lookups;
mod restart;
mod send;

use groups::{groups, heartbeat_body, GroupPlan};
use lookups::lookups;
use restart::restart;
use send::{disk_rows, send_all, send_rows};

/// How long a Java client waits for a heartbeat's answer.
const JAVA_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(3);
/// Connections opened at once in the groups step.
const CONNECT_CONCURRENCY: usize = 64;
/// Descriptors the harness keeps for itself beside the consumers' connections.
const OWN_FILES_RESERVE: u64 = 256;
/// Between two looks at a state being waited for.
const POLL: Duration = Duration::from_millis(100);
/// Between two walks of the store while waiting for the queues' entries.
const DISK_POLL: Duration = Duration::from_millis(500);
/// A wait for something that comes bit by bit (the queues' entries reaching the disk, the
/// groups' retry topics) ends when nothing more came for this long (a checkpoint that keeps
/// failing), as well as after `--wait`.
const STALL: Duration = Duration::from_secs(30);
/// Java's client-wide producer group, in every heartbeat.
const CLIENT_INNER_PRODUCER: &str = "CLIENT_INNER_PRODUCER";
/// The group of the lookups' heartbeats and of the pulls after the restart.
const LOOKUP_GROUP: &str = "MetaLookupGroup";
/// The group whose consume stats are asked for (no consumer, so every topic asked is
/// reported).
const STATS_GROUP: &str = "MetaStatsGroup";
const PRODUCER_GROUP: &str = "MetaProducerGroup";

/// Runs the scenario and prints its table; `--json` writes the figures too. The table is
/// printed with whatever was measured when a step fails, before the error.
pub fn run(args: &MetadataArgs) -> Result<(), BenchError> {
    args.check()?;
    let plan = GroupPlan::new(args);
    check_own_files(&plan, args.shards)?;
    let binary = broker_binary(args)?;
    let parent = args.store_parent.clone().unwrap_or_else(std::env::temp_dir);
    let task_args = args.clone();
    let (mut figures, outcome) = LocalExecutorBuilder::new(Placement::Unbound)
        .name("bench-metadata")
        .spawn(move || async move {
            let mut figures = Figures::default();
            let outcome = scenario(&task_args, &binary, &parent, plan, &mut figures).await;
            (figures, outcome)
        })
        .map_err(|error| BenchError::Executor(error.to_string()))?
        .join()
        .map_err(|error| BenchError::Executor(error.to_string()))?;
    if !figures.rows.is_empty() {
        if let Err(error) = &outcome {
            figures.rows.push(("error".to_owned(), error_row(error)));
        }
        println!();
        print!("{}", figures.table());
    }
    if let Some(path) = &args.json {
        let mut report = json!({
            "params": args.params(),
            "machine": Machine::current(),
            "figures": Value::Object(figures.values.clone()),
            "table": figures.rows.iter().map(|(step, figure)| json!({"step": step, "figure": figure})).collect::<Vec<_>>(),
        });
        if let Err(error) = &outcome {
            report["error"] = json!(error.to_string());
        }
        let text = serde_json::to_string_pretty(&report)
            .map_err(|error| BenchError::Io(std::io::Error::other(error)))?;
        std::fs::write(path, text + "\n")?;
    }
    outcome
}

/// `--shardmq`, or the `shardmq` beside this program.
fn broker_binary(args: &MetadataArgs) -> Result<PathBuf, BenchError> {
    if let Some(path) = &args.shardmq {
        return Ok(path.clone());
    }
    let exe = std::env::current_exe()?;
    Ok(exe.with_file_name("shardmq"))
}

/// Refuses a run whose consumer connections would not fit in this process's descriptors.
fn check_own_files(plan: &GroupPlan, shards: u16) -> Result<(), BenchError> {
    let needed = (plan.clients * usize::from(shards)) as u64 + OWN_FILES_RESERVE;
    let limit = ProcessFigures::of(std::process::id()).map_or(u64::MAX, |p| p.open_files_limit);
    if needed > limit {
        return Err(BenchError::Config(format!(
            "{} client instances x {shards} shards need {needed} descriptors, above this \
             process's limit of {limit} (ulimit -n); lower --clients-max",
            plan.clients
        )));
    }
    Ok(())
}

/// The figures of a run: the table's rows in order, and the same values by key for JSON.
#[derive(Debug, Default)]
struct Figures {
    rows: Vec<(String, String)>,
    values: Map<String, Value>,
}

impl Figures {
    fn row(&mut self, step: &str, figure: String) {
        eprintln!("{step}: {figure}");
        self.rows.push((step.to_owned(), figure));
    }

    fn value(&mut self, key: &str, value: impl Serialize) {
        self.values.insert(
            key.to_owned(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
    }

    /// The broker's memory and open files at this moment, as a row and as values.
    fn process(&mut self, step: &str, key: &str, pid: Option<u32>, what: &str) {
        let Some(figures) = pid.and_then(ProcessFigures::of) else {
            self.row(step, format!("{what}: /proc unreadable"));
            return;
        };
        self.value(&format!("{key}_rss_kib"), figures.rss_kib);
        self.value(&format!("{key}_open_files"), figures.open_files);
        self.row(
            step,
            format!(
                "{what}: RSS {}, {} open files (limit {})",
                mib(figures.rss_kib * 1024),
                thousands(figures.open_files),
                thousands(figures.open_files_limit)
            ),
        );
    }

    /// The markdown table.
    fn table(&self) -> String {
        let mut out = String::from("| step | figure |\n| --- | --- |\n");
        for (step, figure) in &self.rows {
            out.push_str(&format!("| {step} | {} |\n", figure.replace('|', "\\|")));
        }
        out
    }
}

/// One shard as the NameServer lists it.
#[derive(Debug, Clone)]
struct Shard {
    name: String,
    addr: SocketAddr,
}

async fn scenario(
    args: &MetadataArgs,
    binary: &Path,
    parent: &Path,
    plan: GroupPlan,
    figures: &mut Figures,
) -> Result<(), BenchError> {
    let options = ClientOptions {
        connect_timeout: args.timeout,
        request_timeout: args.timeout,
        ..ClientOptions::default()
    };
    let mut broker = BrokerProcess::start(
        binary,
        args.shards,
        &args.broker_options,
        parent,
        args.keep_store,
    )?;
    eprintln!("started: {}", broker.command_line());
    let listening = broker.wait_listening(args.wait)?;
    figures.value("start_listening_sec", listening.as_secs_f64());
    figures.row(
        "start",
        format!(
            "{} shards listening {} after start on a fresh store",
            args.shards,
            seconds(listening)
        ),
    );
    let namesrv = broker.ports.namesrv_addr();
    let shards = registered_shards(namesrv, &options, usize::from(args.shards), args.wait).await?;
    figures.process("start", "start", broker.pid(), "broker at start");

    // 2. Topics.
    let creation = Creation {
        count: args.count,
        prefix: args.prefix.clone(),
        queues: args.queues,
        connections: args.connections,
        window: args.window,
        step: args.step,
        timeout: args.timeout,
        // The broker this scenario starts checks no signatures.
        credentials: None,
    };
    let created = topics::create(shards[0].addr, &creation).await?;
    print!("{}", created.text(&creation));
    creation_rows(figures, &created);
    figures.process("create", "created", broker.pid(), "broker after creating");
    broker.check_running()?;

    // 3. One message per topic, then the disk.
    let sent = send_all(args, &creation, &shards).await?;
    send_rows(figures, &sent);
    let stored = sent.ok;
    disk_rows(figures, &broker.store, stored, args.wait).await?;
    broker.check_running()?;

    // 4. Lookups.
    let mut rng = Rng::new(0x5eed_1234_abcd_ef01);
    lookups(
        args, &creation, &shards, namesrv, &options, &mut rng, figures,
    )
    .await?;
    broker.check_running()?;

    // 5. Groups.
    if args.groups > 0 {
        groups(args, &creation, &plan, &shards, namesrv, &broker, figures).await?;
        broker.check_running()?;
    }

    // 6. Restart.
    restart(args, &creation, &mut broker, &options, &mut rng, figures).await?;
    let stopped = broker.stop(args.wait)?;
    figures.value("final_stop_sec", stopped.as_secs_f64());
    figures.row("end", format!("stopped by SIGTERM in {}", seconds(stopped)));
    Ok(())
}

/// The shards the NameServer lists, in name order, once it lists `count` of them.
async fn registered_shards(
    namesrv: SocketAddr,
    options: &ClientOptions,
    count: usize,
    wait: Duration,
) -> Result<Vec<Shard>, BenchError> {
    let deadline = Instant::now() + wait;
    let connection = Connection::connect_with(namesrv, options)
        .await
        .map_err(BenchError::Connect)?;
    loop {
        let response = connection
            .request_ok(plain(request_code::GET_BROKER_CLUSTER_INFO))
            .await
            .map_err(|source| BenchError::Setup {
                what: "GET_BROKER_CLUSTER_INFO",
                source,
            })?;
        let info: ClusterInfo = body::decode(&response.body, "cluster info")
            .map_err(|error| BenchError::RouteBody(error.to_string()))?;
        let mut shards = Vec::new();
        for (name, data) in &info.broker_addr_table {
            if let Some(addr) = data.broker_addrs.get(&0) {
                shards.push(Shard {
                    name: name.clone(),
                    addr: crate::args::resolve(addr)?,
                });
            }
        }
        if shards.len() >= count {
            return Ok(shards);
        }
        if Instant::now() > deadline {
            return Err(BenchError::Broker(format!(
                "the NameServer lists {} of {count} shards {wait:?} after start",
                shards.len()
            )));
        }
        glommio::timer::sleep(POLL).await;
    }
}

fn creation_rows(figures: &mut Figures, created: &topics::CreationReport) {
    figures.value("create", created);
    let step_row = |step: &topics::StepFigures| {
        format!(
            "topics {}–{}: {} creations/s, p50 {}, p99 {}",
            thousands(step.from as u64),
            thousands(step.to as u64),
            thousands(step.per_sec as u64),
            micros_text(step.p50_us),
            micros_text(step.p99_us)
        )
    };
    if let Some(first) = created.steps.first() {
        figures.row("create", step_row(first));
    }
    if created.steps.len() > 1 {
        if let Some(last) = created.steps.last() {
            figures.row("create", step_row(last));
        }
    }
    figures.row(
        "create",
        format!(
            "all {} topics in {}: {} creations/s, p50 {}, p99 {}",
            thousands(created.count as u64),
            seconds(Duration::from_secs_f64(created.elapsed_sec)),
            thousands(created.per_sec as u64),
            micros_text(created.p50_us),
            micros_text(created.p99_us)
        ),
    );
}

/// Answers of requests made one after another, and their latency.
#[derive(Debug, Default)]
struct Outcomes {
    ok: u64,
    failures: BTreeMap<String, u64>,
    latency: Vec<u64>,
}

impl Outcomes {
    fn record(&mut self, elapsed: Duration, result: Result<RemotingCommand, ClientError>) {
        match result {
            Ok(_) => {
                self.ok += 1;
                self.latency.push(micros(elapsed));
            }
            Err(error) => {
                let failure = Failure::of(&error);
                *self.failures.entry(failure.name()).or_default() += 1;
                if matches!(failure, Failure::Code(_)) {
                    self.latency.push(micros(elapsed));
                }
            }
        }
    }
}

/// Percentiles of a set of answer times, in microseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
struct Latency {
    count: u64,
    p50_us: u64,
    p99_us: u64,
    max_us: u64,
}

impl Latency {
    fn of(micros: &[u64]) -> Latency {
        let mut histogram = match Histogram::<u64>::new(3) {
            Ok(histogram) => histogram,
            Err(_) => return Latency::default(),
        };
        for &us in micros {
            let _ = histogram.record(us);
        }
        if histogram.is_empty() {
            return Latency::default();
        }
        Latency {
            count: histogram.len(),
            p50_us: histogram.value_at_quantile(0.5),
            p99_us: histogram.value_at_quantile(0.99),
            max_us: histogram.max(),
        }
    }

    fn text(&self) -> String {
        if self.count == 0 {
            return "no answer".to_owned();
        }
        format!(
            "p50 {}, p99 {}, max {}",
            micros_text(self.p50_us),
            micros_text(self.p99_us),
            micros_text(self.max_us)
        )
    }
}

/// A request that got no answer at all: timed out, or its connection failed under it.
fn is_unanswered(error: &ClientError) -> bool {
    matches!(Failure::of(error), Failure::Timeout | Failure::Closed)
}

/// Whether `topic` is one of the created topics.
fn is_created(creation: &Creation, topic: &str) -> bool {
    topic
        .strip_prefix(&creation.prefix)
        .and_then(|n| n.parse::<usize>().ok())
        .is_some_and(|n| n < creation.count && creation.topic(n) == topic)
}

/// Write queues of a route over all its brokers.
fn write_queue_count(route: &TopicRouteData) -> usize {
    route::write_queues(route).map_or(0, |brokers| {
        brokers.iter().map(|broker| broker.queue_ids.len()).sum()
    })
}

/// PULL_MESSAGE answers of a queue that holds nothing at offset 0.
fn is_empty_queue(code: i32) -> bool {
    matches!(
        code,
        response_code::PULL_NOT_FOUND
            | response_code::PULL_OFFSET_MOVED
            | response_code::PULL_RETRY_IMMEDIATELY
    )
}

/// A pull of the first message of a queue, answered at once (no long polling).
fn pull_request(topic: &str, broker_name: Option<String>, queue_id: i32) -> RemotingCommand {
    let mut request = plain(request_code::PULL_MESSAGE);
    request.set_header(&PullMessageRequestHeader {
        consumer_group: LOOKUP_GROUP.to_owned(),
        topic: topic.to_owned(),
        queue_id,
        queue_offset: 0,
        max_msg_nums: 1,
        sys_flag: pull_sys_flag::SUBSCRIPTION,
        commit_offset: 0,
        suspend_timeout_millis: 0,
        subscription: Some("*".to_owned()),
        sub_version: 0,
        expression_type: Some("TAG".to_owned()),
        broker_name,
        ..PullMessageRequestHeader::default()
    });
    request
}

/// A request without header or body.
fn plain(code: i32) -> RemotingCommand {
    RemotingCommand::request(code, ExtFields::new(), Bytes::new())
}

fn route_request(topic: &str) -> RemotingCommand {
    let mut request = plain(request_code::GET_ROUTEINFO_BY_TOPIC);
    request.set_header(&GetRouteInfoRequestHeader {
        topic: topic.to_owned(),
        accept_standard_json_only: Some(true),
    });
    request
}

async fn route_of(
    ns: &Connection,
    topic: &str,
    timeout: Duration,
) -> Result<TopicRouteData, BenchError> {
    let response = ns
        .request(route_request(topic), timeout)
        .await
        .and_then(success)
        .map_err(|source| BenchError::Route {
            topic: topic.to_owned(),
            source,
        })?;
    body::decode(&response.body, "route").map_err(|error| BenchError::RouteBody(error.to_string()))
}

/// The NameServer's topic list, and the size of its body.
async fn topic_list(ns: &Connection, timeout: Duration) -> Result<(TopicList, usize), BenchError> {
    let response = ns
        .request(
            plain(request_code::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
            timeout,
        )
        .await
        .and_then(success)
        .map_err(|source| BenchError::Setup {
            what: "GET_ALL_TOPIC_LIST_FROM_NAMESERVER",
            source,
        })?;
    let list = body::decode(&response.body, "topic list")
        .map_err(|error| BenchError::RouteBody(error.to_string()))?;
    Ok((list, response.body.len()))
}

/// A small deterministic generator (xorshift64*), so two runs pick the same topics.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// A number in `0..n` (`n` at least 1).
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let value = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (value % n.max(1) as u64) as usize
    }

    /// `k` different numbers of `0..n` (all of them when `k >= n`), in random order.
    fn sample(&mut self, n: usize, k: usize) -> Vec<usize> {
        let mut all: Vec<usize> = (0..n).collect();
        let k = k.min(n);
        for i in 0..k {
            let j = i + self.below(n - i);
            all.swap(i, j);
        }
        all.truncate(k);
        all
    }
}

/// An error on one line: its first line and, when it goes on (a broker's log tail), its
/// last.
fn error_row(error: &BenchError) -> String {
    let text = error.to_string();
    let mut lines = text.lines().map(str::trim).filter(|line| !line.is_empty());
    let first = lines.next().unwrap_or_default();
    match lines.next_back() {
        Some(last) => format!("{first} … {last}"),
        None => first.to_owned(),
    }
}

/// ` (errors: NAME n, …)`, or nothing without failures.
fn failures_text(failures: &BTreeMap<String, u64>) -> String {
    if failures.is_empty() {
        return String::new();
    }
    let list: Vec<String> = failures
        .iter()
        .map(|(name, count)| format!("{name} {}", thousands(*count)))
        .collect();
    format!(" (errors: {})", list.join(", "))
}

/// `12,345`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `850 µs`, `12.3 ms`, `4.56 s`.
fn micros_text(us: u64) -> String {
    if us < 1000 {
        format!("{us} µs")
    } else if us < 1_000_000 {
        format!("{:.1} ms", us as f64 / 1e3)
    } else {
        format!("{:.2} s", us as f64 / 1e6)
    }
}

fn seconds(elapsed: Duration) -> String {
    micros_text(micros(elapsed))
}

/// `1.5 MiB`.
fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// `4,096 B`.
fn bytes_text(bytes: u64) -> String {
    format!("{} B", thousands(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    use crate::args::{Cli, Command};

    fn metadata(line: &[&str]) -> MetadataArgs {
        let argv = ["shardmq-bench", "metadata"].iter().chain(line);
        match Cli::try_parse_from(argv).expect("parses").command {
            Command::Metadata(args) => args,
            other => panic!("not metadata: {other:?}"),
        }
    }

    #[test]
    fn defaults_are_the_operator_scenario() {
        let args = metadata(&[]);
        assert_eq!(
            (args.count, args.queues, args.groups, args.consumers),
            (20_000, 4, 2000, 5)
        );
        assert_eq!((args.connections, args.window, args.shards), (4, 32, 2));
        args.check().expect("valid");
        assert!(metadata(&["--clients-max", "3"]).check().is_err());
        assert!(metadata(&["--count", "0"]).check().is_err());
    }

    #[test]
    fn members_of_a_group_are_different_instances() {
        let args = metadata(&["--groups", "7", "--consumers", "3", "--clients-max", "5"]);
        let plan = GroupPlan::new(&args);
        assert_eq!(plan.clients, 5);
        let mut members = vec![0; 7];
        for client in 0..plan.clients {
            let groups: Vec<usize> = plan.groups_of(client).collect();
            let mut unique = groups.clone();
            unique.dedup();
            assert_eq!(groups, unique, "instance {client} hosts a group twice");
            for g in groups {
                members[g] += 1;
            }
        }
        assert_eq!(members, vec![3; 7]);
        // Enough instances: one consumer each.
        let plan = GroupPlan::new(&metadata(&["--groups", "10", "--consumers", "5"]));
        assert_eq!(plan.clients, 50);
        assert!((0..50).all(|client| plan.groups_of(client).count() == 1));
    }

    #[test]
    fn the_heartbeat_is_a_java_push_consumer() {
        let body = heartbeat_body("127.0.0.1@x", &[("G".into(), "T".into())]).expect("body");
        let value: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(value["clientID"], "127.0.0.1@x");
        let consumer = &value["consumerDataSet"][0];
        assert_eq!(consumer["groupName"], "G");
        assert_eq!(consumer["consumeType"], "CONSUME_PASSIVELY");
        assert_eq!(consumer["messageModel"], "CLUSTERING");
        assert_eq!(consumer["consumeFromWhere"], "CONSUME_FROM_LAST_OFFSET");
        let topics: Vec<&str> = consumer["subscriptionDataSet"]
            .as_array()
            .expect("subscriptions")
            .iter()
            .filter_map(|s| s["topic"].as_str())
            .collect();
        assert_eq!(topics, ["T", "%RETRY%G"]);
        assert_eq!(
            value["producerDataSet"][0]["groupName"],
            "CLIENT_INNER_PRODUCER"
        );
    }

    #[test]
    fn created_topics_are_recognised() {
        let creation = Creation {
            count: 100,
            prefix: "MetaTopic".into(),
            queues: 4,
            connections: 1,
            window: 1,
            step: 10,
            timeout: Duration::from_secs(1),
            credentials: None,
        };
        assert!(is_created(&creation, "MetaTopic0"));
        assert!(is_created(&creation, "MetaTopic99"));
        assert!(!is_created(&creation, "MetaTopic100"));
        assert!(!is_created(&creation, "MetaTopic007"));
        assert!(!is_created(&creation, "%RETRY%MetaGroup1"));
    }

    #[test]
    fn figures_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(20_000), "20,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(micros_text(850), "850 µs");
        assert_eq!(micros_text(12_345), "12.3 ms");
        assert_eq!(micros_text(4_560_000), "4.56 s");
        let mut rng = Rng::new(1);
        assert!((0..1000).all(|_| rng.below(7) < 7));
        let mut sample = rng.sample(50, 20);
        sample.sort_unstable();
        sample.dedup();
        assert_eq!(sample.len(), 20);
        assert_eq!(rng.sample(3, 10).len(), 3);
        let error = BenchError::Broker("exited; end of log:\nline 1\nshard-0 failed\n".into());
        assert_eq!(
            error_row(&error),
            "broker: exited; end of log: … shard-0 failed"
        );
        assert_eq!(Latency::of(&[]).text(), "no answer");
        let latency = Latency::of(&[100, 200, 300]);
        assert_eq!((latency.count, latency.max_us), (3, 300));
    }
}
