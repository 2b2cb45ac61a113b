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

/// What the sends did.
#[derive(Debug, Serialize)]
struct SendFigures {
    ok: u64,
    size: usize,
    failures: BTreeMap<String, u64>,
    elapsed_sec: f64,
    latency: Latency,
}

/// Sends one message to each topic: `--connections` connections, the shards in turn, with
/// `--window` sends in flight on each.
async fn send_all(
    args: &MetadataArgs,
    creation: &Creation,
    shards: &[Shard],
) -> Result<SendFigures, BenchError> {
    let options = ClientOptions {
        connect_timeout: args.timeout,
        request_timeout: args.timeout,
        in_flight_max: args.window,
        ..ClientOptions::default()
    };
    let next = Rc::new(Cell::new(0usize));
    let outcome = Rc::new(RefCell::new(Outcomes::default()));
    let started = Instant::now();
    let mut workers = Vec::new();
    for index in 0..args.connections {
        let shard = shards[index % shards.len()].clone();
        let connection = Connection::connect_with(shard.addr, &options)
            .await
            .map_err(BenchError::Connect)?;
        for slot in 0..args.window {
            let (connection, next, outcome) = (connection.clone(), next.clone(), outcome.clone());
            let (creation, shard) = (creation.clone(), shard.clone());
            let (size, timeout) = (args.size, args.timeout);
            let id = (index * args.window + slot) as u32;
            workers.push(glommio::spawn_local(async move {
                loop {
                    let n = next.get();
                    if n >= creation.count {
                        return;
                    }
                    next.set(n + 1);
                    let shape = MessageShape {
                        group: PRODUCER_GROUP.to_owned(),
                        topic: creation.topic(n),
                        size,
                        batch: 1,
                        tag: None,
                        keys: false,
                        serialize_type: SerializeType::RocketMq,
                        born_property: false,
                    };
                    let mut template = Template::new(&shape, Some(&shard.name), id, now_ms());
                    let command = template.next(0, now_ms());
                    let sent = Instant::now();
                    let response = connection.request(command, timeout).await;
                    outcome
                        .borrow_mut()
                        .record(sent.elapsed(), response.and_then(success));
                }
            }));
        }
    }
    for worker in workers {
        worker.await;
    }
    let outcome = outcome.borrow();
    Ok(SendFigures {
        ok: outcome.ok,
        size: args.size,
        failures: outcome.failures.clone(),
        elapsed_sec: started.elapsed().as_secs_f64(),
        latency: Latency::of(&outcome.latency),
    })
}

fn send_rows(figures: &mut Figures, sent: &SendFigures) {
    figures.value("send", sent);
    figures.row(
        "send",
        format!(
            "{} messages of {} B, one per topic, in {}: {} msgs/s, {}{}",
            thousands(sent.ok),
            sent.size,
            seconds(Duration::from_secs_f64(sent.elapsed_sec)),
            thousands((sent.ok as f64 / sent.elapsed_sec.max(1e-9)) as u64),
            sent.latency.text(),
            failures_text(&sent.failures)
        ),
    );
}

/// Waits until the store's ConsumeQueues hold `stored` queues with entries on disk, then
/// reports what the queues and the store take.
async fn disk_rows(
    figures: &mut Figures,
    store: &Path,
    stored: u64,
    wait: Duration,
) -> Result<(), BenchError> {
    let started = Instant::now();
    let mut use_ = DiskUse::of(store)?;
    let mut progress = Instant::now();
    while use_.queues_with_entries < stored
        && started.elapsed() < wait
        && progress.elapsed() < STALL
    {
        glommio::timer::sleep(DISK_POLL).await;
        let before = use_.queues_with_entries;
        use_ = DiskUse::of(store)?;
        if use_.queues_with_entries > before {
            progress = Instant::now();
        }
    }
    let waited = started.elapsed();
    figures.value("disk_wait_sec", waited.as_secs_f64());
    figures.value("disk_queues_with_entries", use_.queues_with_entries);
    figures.value("disk_queue_file_bytes", use_.queue_files);
    figures.value("disk_store_bytes", use_.total);
    figures.value("disk_parts_bytes", &use_.parts);
    let on_disk = if use_.queues_with_entries >= stored {
        format!(
            "every entry on disk {} after the last send",
            seconds(waited)
        )
    } else {
        format!(
            "only {} of {} queues had entries on disk after {} (none more for {} or more)",
            thousands(use_.queues_with_entries),
            thousands(stored),
            seconds(waited),
            seconds(STALL.min(wait))
        )
    };
    figures.row("disk", on_disk);
    let queues = use_.queues_with_entries.max(1);
    let all_queue_bytes = use_.parts.get("consumequeue").copied().unwrap_or(0);
    figures.row(
        "disk",
        format!(
            "ConsumeQueue files: {} per queue holding a message ({} queues, {} in all); with \
             their directories {} per queue",
            bytes_text(use_.queue_files / queues),
            thousands(use_.queues_with_entries),
            mib(use_.queue_files),
            bytes_text(all_queue_bytes / queues)
        ),
    );
    let parts: Vec<String> = use_
        .parts
        .iter()
        .filter(|(_, bytes)| **bytes >= 1 << 20)
        .map(|(part, bytes)| format!("{part} {}", mib(*bytes)))
        .collect();
    figures.row(
        "disk",
        format!(
            "whole store: {} allocated ({})",
            mib(use_.total),
            parts.join(", ")
        ),
    );
    Ok(())
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

/// One lookup's figures.
#[derive(Debug, Serialize)]
struct LookupFigures {
    requests: usize,
    ok: u64,
    failures: BTreeMap<String, u64>,
    per_sec: f64,
    latency: Latency,
}

/// Sends `count` requests one after another on `connection` and times each answer. The
/// first request left unanswered (timed out, or its connection closed) ends the series, so
/// a broker that stopped serving costs one timeout, not one per request.
async fn measure(
    connection: &Connection,
    count: usize,
    timeout: Duration,
    mut make: impl FnMut() -> RemotingCommand,
) -> LookupFigures {
    let mut outcomes = Outcomes::default();
    let started = Instant::now();
    let mut requests = 0;
    while requests < count {
        let request = make();
        let sent = Instant::now();
        let response = connection.request(request, timeout).await;
        requests += 1;
        let unanswered = response.as_ref().err().is_some_and(is_unanswered);
        outcomes.record(sent.elapsed(), response.and_then(success));
        if unanswered {
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64().max(1e-9);
    LookupFigures {
        requests,
        ok: outcomes.ok,
        failures: outcomes.failures.clone(),
        per_sec: requests as f64 / elapsed,
        latency: Latency::of(&outcomes.latency),
    }
}

fn lookup_row(figures: &mut Figures, key: &str, what: &str, lookup: &LookupFigures) {
    figures.value(key, lookup);
    figures.row(
        "lookups",
        format!(
            "{what}: {} requests one at a time, {}/s, {}{}",
            thousands(lookup.requests as u64),
            thousands(lookup.per_sec as u64),
            lookup.latency.text(),
            failures_text(&lookup.failures)
        ),
    );
}

async fn lookups(
    args: &MetadataArgs,
    creation: &Creation,
    shards: &[Shard],
    namesrv: SocketAddr,
    options: &ClientOptions,
    rng: &mut Rng,
    figures: &mut Figures,
) -> Result<(), BenchError> {
    let ns = Connection::connect_with(namesrv, options)
        .await
        .map_err(BenchError::Connect)?;
    let broker = Connection::connect_with(shards[0].addr, options)
        .await
        .map_err(BenchError::Connect)?;
    let timeout = args.timeout;

    let routes = measure(&ns, args.lookups, timeout, || {
        route_request(&creation.topic(rng.below(creation.count)))
    })
    .await;
    lookup_row(
        figures,
        "lookup_route",
        "GET_ROUTEINFO_BY_TOPIC, random topics",
        &routes,
    );

    let cluster = measure(&ns, args.lookups, timeout, || {
        plain(request_code::GET_BROKER_CLUSTER_INFO)
    })
    .await;
    lookup_row(
        figures,
        "lookup_cluster",
        "GET_BROKER_CLUSTER_INFO",
        &cluster,
    );

    let all = measure(&ns, args.heavy_lookups, timeout, || {
        plain(request_code::GET_ALL_TOPIC_LIST_FROM_NAMESERVER)
    })
    .await;
    let (listed, bytes) = match topic_list(&ns, timeout).await {
        Ok((list, bytes)) => (list.topic_list.len(), bytes),
        Err(_) => (0, 0),
    };
    figures.value("lookup_topic_list_topics", listed);
    figures.value("lookup_topic_list_bytes", bytes);
    lookup_row(
        figures,
        "lookup_topic_list",
        &format!(
            "GET_ALL_TOPIC_LIST_FROM_NAMESERVER ({} topics, {})",
            thousands(listed as u64),
            bytes_text(bytes as u64)
        ),
        &all,
    );

    let stats = measure(&broker, args.lookups, timeout, || {
        let mut request = plain(request_code::GET_CONSUME_STATS);
        request.set_header(&GetConsumeStatsRequestHeader {
            consumer_group: STATS_GROUP.to_owned(),
            topic: Some(creation.topic(rng.below(creation.count))),
            ..GetConsumeStatsRequestHeader::default()
        });
        request
    })
    .await;
    lookup_row(
        figures,
        "lookup_consume_stats",
        &format!(
            "GET_CONSUME_STATS, a group on random topics, {}",
            shards[0].name
        ),
        &stats,
    );

    let body = heartbeat_body(
        "127.0.0.1@metadata-lookup",
        &[(LOOKUP_GROUP.to_owned(), creation.topic(0))],
    )?;
    let heartbeats = measure(&broker, args.lookups, timeout, || {
        RemotingCommand::request(request_code::HEART_BEAT, ExtFields::new(), body.clone())
    })
    .await;
    lookup_row(
        figures,
        "lookup_heartbeat",
        &format!("HEART_BEAT of one consumer, {}", shards[0].name),
        &heartbeats,
    );
    ns.close();
    broker.close();
    Ok(())
}

/// Who hosts which consumers in the groups step.
#[derive(Debug, Clone, Copy)]
struct GroupPlan {
    groups: usize,
    consumers: usize,
    /// Client instances: one client id and one connection to each shard each.
    clients: usize,
}

impl GroupPlan {
    fn new(args: &MetadataArgs) -> GroupPlan {
        let members = args.groups * args.consumers;
        GroupPlan {
            groups: args.groups,
            consumers: args.consumers,
            clients: members.min(args.clients_max),
        }
    }

    /// The groups client instance `client` hosts consumers of: consumer `j` of group `g` is
    /// member `g × consumers + j`, hosted by instance `member mod clients`. A group's members
    /// are consecutive, so with at least as many instances as consumers per group they are
    /// different instances.
    fn groups_of(&self, client: usize) -> impl Iterator<Item = usize> + '_ {
        (client..self.groups * self.consumers)
            .step_by(self.clients.max(1))
            .map(|member| member / self.consumers)
    }
}

async fn groups(
    args: &MetadataArgs,
    creation: &Creation,
    plan: &GroupPlan,
    shards: &[Shard],
    namesrv: SocketAddr,
    broker: &BrokerProcess,
    figures: &mut Figures,
) -> Result<(), BenchError> {
    let pid = broker.pid();
    let before = pid.and_then(ProcessFigures::of).unwrap_or_default();
    let per_client = plan.groups * plan.consumers / plan.clients.max(1);
    figures.value("groups_clients", plan.clients);
    figures.row(
        "groups",
        format!(
            "{} groups x {} consumers = {} consumers in {} client instances ({}{} \
             connections, one per instance and shard)",
            thousands(plan.groups as u64),
            plan.consumers,
            thousands((plan.groups * plan.consumers) as u64),
            thousands(plan.clients as u64),
            if per_client > 1 {
                format!("{per_client} consumers of different groups each; ")
            } else {
                String::new()
            },
            thousands((plan.clients * shards.len()) as u64)
        ),
    );

    // Every instance's connection to every shard, a few at a time.
    let notified = Rc::new(Cell::new(0u64));
    let handler: InboundHandler = {
        let notified = notified.clone();
        Rc::new(move |request: RemotingCommand| {
            if request.code == request_code::NOTIFY_CONSUMER_IDS_CHANGED {
                notified.set(notified.get() + 1);
            }
            None
        })
    };
    // Java's connect timeout: a broker that stops accepting costs 3 s, not `--timeout`.
    let options = ClientOptions {
        connect_timeout: CONNECT_TIMEOUT_DEFAULT,
        request_timeout: args.timeout,
        on_request: Some(handler),
        ..ClientOptions::default()
    };
    let links = plan.clients * shards.len();
    let slots: Rc<RefCell<Vec<Option<Rc<Connection>>>>> = Rc::new(RefCell::new(vec![None; links]));
    let refused = Rc::new(RefCell::new(BTreeMap::<String, u64>::new()));
    let next = Rc::new(Cell::new(0usize));
    let connect_started = Instant::now();
    let connectors: Vec<_> = (0..CONNECT_CONCURRENCY.min(links))
        .map(|_| {
            let (slots, refused, next) = (slots.clone(), refused.clone(), next.clone());
            let (options, shards) = (options.clone(), shards.to_vec());
            glommio::spawn_local(async move {
                // The first failed connect stops every connector.
                while refused.borrow().is_empty() {
                    let link = next.get();
                    if link >= links {
                        return;
                    }
                    next.set(link + 1);
                    let addr = shards[link % shards.len()].addr;
                    match Connection::connect_with(addr, &options).await {
                        Ok(connection) => slots.borrow_mut()[link] = Some(connection),
                        Err(error) => {
                            *refused.borrow_mut().entry(error.to_string()).or_default() += 1
                        }
                    }
                }
            })
        })
        .collect();
    for connector in connectors {
        connector.await;
    }
    let connected = slots.borrow().iter().filter(|slot| slot.is_some()).count();
    figures.value("groups_connected", connected);
    figures.row(
        "groups",
        format!(
            "{} of {} connections opened in {}, {} at a time{}",
            thousands(connected as u64),
            thousands(links as u64),
            seconds(connect_started.elapsed()),
            CONNECT_CONCURRENCY,
            if refused.borrow().is_empty() {
                String::new()
            } else {
                format!(
                    "; stopped at a failed connect{}",
                    failures_text(&refused.borrow())
                )
            }
        ),
    );

    // The first heartbeat of every instance to every shard, all at once.
    let bodies = (0..plan.clients)
        .map(|client| {
            let consumers: Vec<(String, String)> = plan
                .groups_of(client)
                .map(|g| {
                    (
                        format!("{}{g}", args.group_prefix),
                        creation.topic(g % creation.count),
                    )
                })
                .collect();
            heartbeat_body(&format!("127.0.0.1@metadata-{client}"), &consumers)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let answers = Rc::new(RefCell::new(Outcomes::default()));
    let heartbeats_started = Instant::now();
    let mut tasks = Vec::with_capacity(links);
    for link in 0..links {
        let Some(connection) = slots.borrow()[link].clone() else {
            continue;
        };
        let body = bodies[link / shards.len()].clone();
        let (answers, timeout) = (answers.clone(), args.timeout);
        tasks.push(glommio::spawn_local(async move {
            let request =
                RemotingCommand::request(request_code::HEART_BEAT, ExtFields::new(), body);
            let sent = Instant::now();
            let response = connection.request(request, timeout).await;
            answers
                .borrow_mut()
                .record(sent.elapsed(), response.and_then(success));
        }));
    }
    for task in tasks {
        task.await;
    }
    let all_answered = heartbeats_started.elapsed();
    let answers = std::mem::take(&mut *answers.borrow_mut());
    let latency = Latency::of(&answers.latency);
    let within = JAVA_HEARTBEAT_TIMEOUT.as_micros() as u64;
    let in_time = answers.latency.iter().filter(|&&us| us <= within).count();
    let sent = answers.ok + answers.failures.values().sum::<u64>();
    figures.value("groups_heartbeat", latency);
    figures.value("groups_heartbeat_within_3s", in_time);
    figures.value("groups_heartbeat_failures", &answers.failures);
    figures.row(
        "groups",
        format!(
            "first HEART_BEAT, {} sent at once: {}; {} answered SUCCESS, {} of them within 3 s; \
             all answered {} after the first was sent{}",
            thousands(sent),
            latency.text(),
            thousands(answers.ok),
            thousands(in_time as u64),
            seconds(all_answered),
            failures_text(&answers.failures)
        ),
    );
    let after = pid.and_then(ProcessFigures::of).unwrap_or_default();
    let grown = after.rss_kib.saturating_sub(before.rss_kib) * 1024;
    figures.value("groups_rss_before_kib", before.rss_kib);
    figures.value("groups_rss_after_kib", after.rss_kib);
    figures.value(
        "groups_rss_per_connection_bytes",
        grown / connected.max(1) as u64,
    );
    figures.row(
        "groups",
        format!(
            "broker RSS {} before, {} after the heartbeats: {} per connection; {} open files",
            mib(before.rss_kib * 1024),
            mib(after.rss_kib * 1024),
            bytes_text(grown / connected.max(1) as u64),
            thousands(after.open_files)
        ),
    );

    // The groups' retry topics, which their heartbeats create in the background.
    let ns_options = ClientOptions {
        connect_timeout: args.timeout,
        request_timeout: args.timeout,
        ..ClientOptions::default()
    };
    let ns = Connection::connect_with(namesrv, &ns_options)
        .await
        .map_err(BenchError::Connect)?;
    let retry_prefix = format!("%RETRY%{}", args.group_prefix);
    let mut retry_topics = 0;
    let mut progress = Instant::now();
    while answers.ok > 0 && heartbeats_started.elapsed() < args.wait && progress.elapsed() < STALL {
        if let Ok((list, _)) = topic_list(&ns, args.timeout).await {
            let count = list
                .topic_list
                .iter()
                .filter(|topic| topic.starts_with(&retry_prefix))
                .count();
            if count > retry_topics {
                progress = Instant::now();
            }
            retry_topics = count;
        }
        if retry_topics >= plan.groups {
            break;
        }
        glommio::timer::sleep(POLL).await;
    }
    let setup = heartbeats_started.elapsed();
    figures.value("groups_retry_topics", retry_topics);
    figures.value("groups_retry_topics_sec", setup.as_secs_f64());
    figures.value("groups_notifications", notified.get());
    let setup_done = pid.and_then(ProcessFigures::of).unwrap_or_default();
    figures.value("groups_rss_after_setup_kib", setup_done.rss_kib);
    figures.row(
        "groups",
        format!(
            "{} of {} retry topics routable {} after the first heartbeat; broker RSS then {}; \
             {} NOTIFY_CONSUMER_IDS_CHANGED received",
            thousands(retry_topics as u64),
            thousands(plan.groups as u64),
            seconds(setup),
            mib(setup_done.rss_kib * 1024),
            thousands(notified.get())
        ),
    );

    // Closing every connection: the broker drops the consumers.
    let closing = Instant::now();
    for connection in slots.borrow_mut().iter_mut().filter_map(Option::take) {
        connection.close();
    }
    ns.close();
    let mut left = after.open_files;
    while closing.elapsed() < args.wait {
        left = pid.and_then(ProcessFigures::of).map_or(0, |p| p.open_files);
        if left <= before.open_files + 8 {
            break;
        }
        glommio::timer::sleep(POLL).await;
    }
    figures.value("groups_closed_sec", closing.elapsed().as_secs_f64());
    figures.row(
        "groups",
        format!(
            "all connections closed: broker back to {} open files {} later",
            thousands(left),
            seconds(closing.elapsed())
        ),
    );
    Ok(())
}

async fn restart(
    args: &MetadataArgs,
    creation: &Creation,
    broker: &mut BrokerProcess,
    options: &ClientOptions,
    rng: &mut Rng,
    figures: &mut Figures,
) -> Result<(), BenchError> {
    figures.process(
        "restart",
        "before_restart",
        broker.pid(),
        "broker before the restart",
    );
    let stopped = broker.stop(args.wait)?;
    figures.value("restart_stop_sec", stopped.as_secs_f64());
    broker.spawn()?;
    let started = Instant::now();
    let listening = broker.wait_listening(args.wait)?;
    figures.value("restart_listening_sec", listening.as_secs_f64());
    figures.row(
        "restart",
        format!(
            "SIGTERM to exit {}; started again on the same store: listening after {}",
            seconds(stopped),
            seconds(listening)
        ),
    );

    // Every topic listed by the NameServer, then a sample's routes whole.
    let ns = Connection::connect_with(broker.ports.namesrv_addr(), options)
        .await
        .map_err(BenchError::Connect)?;
    let mut listed = 0;
    while started.elapsed() < args.wait {
        if let Ok((list, _)) = topic_list(&ns, args.timeout).await {
            listed = list
                .topic_list
                .iter()
                .filter(|topic| is_created(creation, topic))
                .count();
        }
        if listed >= creation.count {
            break;
        }
        glommio::timer::sleep(POLL).await;
    }
    let all_listed = started.elapsed();
    let sample = rng.sample(creation.count, args.pull_sample);
    let mut routes: HashMap<usize, TopicRouteData> = HashMap::new();
    while started.elapsed() < args.wait && routes.len() < sample.len() {
        for &n in &sample {
            if routes.contains_key(&n) {
                continue;
            }
            if let Ok(route) = route_of(&ns, &creation.topic(n), args.timeout).await {
                if write_queue_count(&route) >= creation.queues as usize {
                    routes.insert(n, route);
                }
            }
        }
        if routes.len() < sample.len() {
            glommio::timer::sleep(POLL).await;
        }
    }
    let sample_routed = started.elapsed();
    figures.value("restart_listed_topics", listed);
    figures.value("restart_all_listed_sec", all_listed.as_secs_f64());
    figures.value("restart_sample_routed", routes.len());
    figures.value("restart_sample_routed_sec", sample_routed.as_secs_f64());
    figures.row(
        "restart",
        format!(
            "{} of {} topics listed by the NameServer {} after the start; all {} queues of \
             {} of {} sampled topics routed after {}",
            thousands(listed as u64),
            thousands(creation.count as u64),
            seconds(all_listed),
            creation.queues,
            thousands(routes.len() as u64),
            thousands(sample.len() as u64),
            seconds(sample_routed)
        ),
    );
    figures.process(
        "restart",
        "restarted",
        broker.pid(),
        "broker after the restart",
    );

    // The one message of each sampled topic.
    let mut connections: HashMap<SocketAddr, Rc<Connection>> = HashMap::new();
    let mut found = Vec::new();
    let mut pulls = 0u64;
    let mut failures = BTreeMap::<String, u64>::new();
    'topics: for &n in &sample {
        let Some(route) = routes.get(&n) else {
            continue;
        };
        let topic = creation.topic(n);
        let Ok(brokers) = route::read_queues(route) else {
            continue;
        };
        let most = brokers.iter().map(|b| b.queue_ids.len()).max().unwrap_or(0);
        'queues: for k in 0..most {
            for queues in brokers.iter().filter(|b| k < b.queue_ids.len()) {
                let connection = match connections.get(&queues.addr) {
                    Some(connection) => connection.clone(),
                    None => {
                        let connection = Connection::connect_with(queues.addr, options)
                            .await
                            .map_err(BenchError::Connect)?;
                        connections.insert(queues.addr, connection.clone());
                        connection
                    }
                };
                let request = pull_request(&topic, queues.broker_name.clone(), queues.queue_ids[k]);
                let sent = Instant::now();
                pulls += 1;
                match connection.request(request, args.timeout).await {
                    Ok(response) if response.code == response_code::SUCCESS => {
                        if RecordView::parse(&response.body).is_ok() {
                            found.push(micros(sent.elapsed()));
                            break 'queues;
                        }
                    }
                    Ok(response) if is_empty_queue(response.code) => {}
                    Ok(response) => {
                        let failure = Failure::Code(response.code).name();
                        *failures.entry(failure).or_default() += 1;
                    }
                    Err(error) => {
                        *failures.entry(Failure::of(&error).name()).or_default() += 1;
                        if is_unanswered(&error) {
                            break 'topics;
                        }
                    }
                }
            }
        }
    }
    let latency = Latency::of(&found);
    figures.value("restart_pull", latency);
    figures.value("restart_pull_found", found.len());
    figures.row(
        "restart",
        format!(
            "pull of the one message of {} sampled topics ({} found, {} pulls in all, empty \
             queues included): {}{}",
            thousands(routes.len() as u64),
            thousands(found.len() as u64),
            thousands(pulls),
            latency.text(),
            failures_text(&failures)
        ),
    );
    for connection in connections.values() {
        connection.close();
    }
    ns.close();
    Ok(())
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

/// The HEART_BEAT body of a Java push-consumer client instance hosting one consumer of each
/// `(group, topic)`: clustering, from the last offset, subscribed to the topic and to the
/// group's retry topic, with the client's inner producer group.
fn heartbeat_body(client_id: &str, consumers: &[(String, String)]) -> Result<Bytes, BenchError> {
    let subscription = |topic: String| SubscriptionData {
        expression_type: ExpressionType::Tag,
        sub_string: "*".to_owned(),
        sub_version: now_ms(),
        topic,
        ..SubscriptionData::default()
    };
    let data = HeartbeatData {
        client_id: client_id.to_owned(),
        consumer_data_set: consumers
            .iter()
            .map(|(group, topic)| ConsumerData {
                consume_from_where: ConsumeFromWhere::LastOffset,
                consume_type: ConsumeType::Passively,
                group_name: group.clone(),
                message_model: MessageModel::Clustering,
                subscription_data_set: vec![
                    subscription(topic.clone()),
                    subscription(format!("%RETRY%{group}")),
                ],
                unit_mode: false,
            })
            .collect(),
        producer_data_set: vec![ProducerData {
            group_name: CLIENT_INNER_PRODUCER.to_owned(),
        }],
        without_sub: false,
    };
    serde_json::to_vec(&data)
        .map(Bytes::from)
        .map_err(|error| BenchError::Io(std::io::Error::other(error)))
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
