//! The command line. Every option has a default, so `shardmq-bench produce --namesrv
//! HOST:PORT` is a complete run; `params` echoes the effective values into the JSON report so
//! two reports say what differed.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{json, Value};

use shardmq::wire::signature::Credentials;
use shardmq::wire::SerializeType;

use crate::account::{self, AccountArgs};
use crate::BenchError;

#[derive(Debug, Parser)]
#[command(
    name = "shardmq-bench",
    version,
    about = "RocketMQ protocol load harness"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send messages as fast as allowed and report throughput and send latency.
    Produce(ProduceArgs),
    /// Pull from a topic with long polling and report delivery rate and born-to-receipt
    /// latency.
    Consume(ConsumeArgs),
    /// Produce and consume at once; latency is from send to receipt.
    E2e(E2eArgs),
    /// Create the topic on every broker master (or on `--broker`) and wait until the
    /// NameServer routes it.
    Topic(TopicArgs),
    /// Create many topics on one broker and report how the creation rate and latency
    /// change as the topic count grows.
    Topics(TopicsArgs),
    /// Start a broker, give it tens of thousands of topics and thousands of consumer
    /// groups, restart it, and report what each step cost.
    Metadata(MetadataArgs),
}

/// How request headers are serialized (docs/protocol.md §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HeaderFormat {
    Json,
    Rocketmq,
}

impl HeaderFormat {
    pub fn serialize_type(self) -> SerializeType {
        match self {
            HeaderFormat::Json => SerializeType::Json,
            HeaderFormat::Rocketmq => SerializeType::RocketMq,
        }
    }
}

/// Where consumers start in each queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StartFrom {
    /// The queue's current end: only messages sent after the start.
    Tail,
    /// The queue's first offset: everything stored.
    First,
}

/// Where the load goes and how requests are written: the options every subcommand shares.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// NameServer to look the topic's route up on.
    #[arg(long, default_value = "127.0.0.1:9876")]
    pub namesrv: String,
    /// Talk straight to this broker, skipping the NameServer.
    #[arg(long)]
    pub broker: Option<String>,
    /// Queues of the topic on each broker: the ones used on `--broker`, the ones `topic`
    /// creates.
    #[arg(long, default_value_t = 8)]
    pub queues: u32,
    #[arg(long, default_value = "BenchTopic")]
    pub topic: String,
    /// Time a request may wait for its response.
    #[arg(long, value_parser = parse_duration, default_value = "3s")]
    pub timeout: Duration,
    #[arg(long, value_enum, default_value_t = HeaderFormat::Rocketmq)]
    pub header: HeaderFormat,
    #[command(flatten)]
    pub account: AccountArgs,
}

impl Target {
    /// The account that signs every request, if one is given.
    pub fn credentials(&self) -> Result<Option<Credentials>, BenchError> {
        account::credentials(&self.account)
    }

    /// Adds the target's values to a report's `params`.
    fn add_params(&self, params: &mut Value) {
        let by_broker = self.broker.is_some();
        params["namesrv"] = json!((!by_broker).then_some(&self.namesrv));
        params["broker"] = json!(self.broker);
        params["queues"] = json!(by_broker.then_some(self.queues));
        params["topic"] = json!(self.topic);
        params["timeout_sec"] = json!(self.timeout.as_secs_f64());
        params["header"] = json!(format!("{:?}", self.header).to_lowercase());
        // Which account signed, never its secret; null for unsigned requests.
        let signed = self.credentials().ok().flatten();
        params["access_key"] = json!(signed.map(|account| account.access_key));
    }

    fn check(&self) -> Result<(), BenchError> {
        if self.queues == 0 {
            return Err(BenchError::Config("--queues must be at least 1".into()));
        }
        self.credentials()?;
        Ok(())
    }
}

#[derive(Debug, Clone, Args)]
pub struct ProduceArgs {
    #[command(flatten)]
    pub target: Target,
    #[arg(long, default_value = "bench_producer")]
    pub group: String,
    /// Message body size in bytes.
    #[arg(long, default_value_t = 1024)]
    pub size: usize,
    /// Executor threads, each with its own connections.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Connections per thread to each broker.
    #[arg(long, default_value_t = 2)]
    pub connections: usize,
    /// Requests in flight per connection.
    #[arg(long, default_value_t = 64)]
    pub window: usize,
    /// Messages per request; more than one sends SEND_BATCH_MESSAGE.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Send oneway: no responses, no latency.
    #[arg(long)]
    pub oneway: bool,
    /// A TAGS property on every message.
    #[arg(long)]
    pub tag: Option<String>,
    /// A distinct KEYS property on every message.
    #[arg(long)]
    pub keys: bool,
    /// Target messages per second over all threads; as fast as possible without it.
    #[arg(long)]
    pub rate: Option<u64>,
    /// How long to send, after the warm-up (e.g. `10s`, `500ms`, `2m`).
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub duration: Duration,
    /// Stop after this many messages instead of after `--duration`.
    #[arg(long)]
    pub messages: Option<u64>,
    /// Time at the start whose traffic is left out of every figure.
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    pub warmup: Duration,
    /// Write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Stamp the send time in microseconds on every message (set by `e2e`).
    #[arg(skip)]
    pub born_property: bool,
    /// Send transactional half messages (`TRAN_MSG=true`, producer group `--group`) and end
    /// each, once its send is answered, with a oneway END_TRANSACTION: `commit` or
    /// `rollback`; `open` ends none (they wait for the broker's checks).
    #[arg(long, value_enum)]
    pub transaction: Option<TransactionEnd>,
}

/// How `--transaction` ends each half message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TransactionEnd {
    Commit,
    Rollback,
    Open,
}

/// The consumer side, shared by `consume` and `e2e`.
#[derive(Debug, Clone, Args)]
pub struct ConsumerOptions {
    /// Members of the consumer group; the queues are split between them.
    #[arg(long, default_value_t = 1)]
    pub consumers: usize,
    #[arg(long, default_value = "bench_consumer")]
    pub consumer_group: String,
    /// Messages asked for per pull.
    #[arg(long, default_value_t = 32)]
    pub pull_batch: i32,
    /// How long the broker may hold a pull that finds nothing (long polling).
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    pub suspend: Duration,
}

#[derive(Debug, Clone, Args)]
pub struct ConsumeArgs {
    #[command(flatten)]
    pub target: Target,
    #[arg(long, value_enum, default_value_t = StartFrom::Tail)]
    pub from: StartFrom,
    #[command(flatten)]
    pub consumer: ConsumerOptions,
    /// How long to pull, after the warm-up; with `--messages`, the most it may take.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub duration: Duration,
    /// Stop once this many messages were received; the rate is then over the time they
    /// took (a catch-up read: `--from first --warmup 0 --messages N`).
    #[arg(long)]
    pub messages: Option<u64>,
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    pub warmup: Duration,
    #[arg(long)]
    pub json: Option<PathBuf>,
}

impl ConsumeArgs {
    pub fn params(&self) -> Value {
        let mut params = json!({
            "command": "consume",
            "from": format!("{:?}", self.from).to_lowercase(),
            "consumers": self.consumer.consumers,
            "group": self.consumer.consumer_group,
            "pull_batch": self.consumer.pull_batch,
            "suspend_sec": self.consumer.suspend.as_secs_f64(),
            "duration_sec": self.duration.as_secs_f64(),
            "messages": self.messages,
            "warmup_sec": self.warmup.as_secs_f64(),
        });
        self.target.add_params(&mut params);
        params
    }

    pub fn check(&self) -> Result<(), BenchError> {
        self.target.check()?;
        if self.consumer.consumers == 0 || self.consumer.pull_batch <= 0 {
            return Err(BenchError::Config(
                "--consumers and --pull-batch must be at least 1".into(),
            ));
        }
        if self.messages == Some(0) {
            return Err(BenchError::Config("--messages must be positive".into()));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Args)]
pub struct E2eArgs {
    #[command(flatten)]
    pub produce: ProduceArgs,
    #[command(flatten)]
    pub consumer: ConsumerOptions,
    /// Time consumers keep pulling after the producers stop, to receive what is in flight.
    #[arg(long, value_parser = parse_duration, default_value = "2s")]
    pub drain: Duration,
}

impl E2eArgs {
    /// The consumer side of the run: the producer's topic and broker, from the tail, for
    /// the producer's time plus the drain.
    pub fn consume_args(&self) -> ConsumeArgs {
        let p = &self.produce;
        ConsumeArgs {
            target: p.target.clone(),
            from: StartFrom::Tail,
            consumer: self.consumer.clone(),
            duration: p.duration + self.drain,
            messages: None,
            warmup: p.warmup,
            json: None,
        }
    }
}

/// Creating the topic before a run, as `mqadmin updateTopic -c CLUSTER` does.
#[derive(Debug, Clone, Args)]
pub struct TopicArgs {
    #[command(flatten)]
    pub target: Target,
    /// How long to wait for the NameServer to route the new queues.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    pub wait: Duration,
}

#[derive(Debug, Clone, Args)]
pub struct TopicsArgs {
    /// The broker (any shard's port) that gets every UPDATE_AND_CREATE_TOPIC.
    #[arg(long, default_value = "127.0.0.1:10911")]
    pub broker: String,
    /// Topics to create, named `<prefix><n>`.
    #[arg(long, default_value_t = 10_000)]
    pub count: usize,
    #[arg(long, default_value = "MetaTopic")]
    pub prefix: String,
    /// Queues of each topic.
    #[arg(long, default_value_t = 4)]
    pub queues: u32,
    /// Connections, and creations in flight on each.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    #[arg(long, default_value_t = 32)]
    pub window: usize,
    /// Topics per reported step.
    #[arg(long, default_value_t = 1000)]
    pub step: usize,
    /// Time a creation may wait for its answer.
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    pub timeout: Duration,
    #[command(flatten)]
    pub account: AccountArgs,
}

/// The metadata scenario: the broker it starts and the sizes of each step.
#[derive(Debug, Clone, Args)]
pub struct MetadataArgs {
    /// The broker binary; default: the `shardmq` next to this program.
    #[arg(long)]
    pub shardmq: Option<PathBuf>,
    /// Shards of the broker (`shardmq broker --shards`).
    #[arg(long, default_value_t = 2)]
    pub shards: u16,
    /// A broker.conf key for the broker, `KEY=VALUE`, passed as `-o`; repeatable.
    #[arg(long = "broker-option", value_name = "KEY=VALUE")]
    pub broker_options: Vec<String>,
    /// Where the run's directory (store and broker log) is made; default: the system's
    /// temporary directory.
    #[arg(long)]
    pub store_parent: Option<PathBuf>,
    /// Keep the store and the broker log at the end instead of deleting them.
    #[arg(long)]
    pub keep_store: bool,
    /// Topics to create, named `<prefix><n>`.
    #[arg(long, default_value_t = 20_000)]
    pub count: usize,
    #[arg(long, default_value = "MetaTopic")]
    pub prefix: String,
    /// Queues of each topic.
    #[arg(long, default_value_t = 4)]
    pub queues: u32,
    /// Connections for the creations and the sends, and requests in flight on each.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    #[arg(long, default_value_t = 32)]
    pub window: usize,
    /// Topics per reported creation step.
    #[arg(long, default_value_t = 1000)]
    pub step: usize,
    /// Body bytes of the one message sent to each topic.
    #[arg(long, default_value_t = 1024)]
    pub size: usize,
    /// Requests of each light lookup (route, cluster info, consume stats, heartbeat).
    #[arg(long, default_value_t = 2000)]
    pub lookups: usize,
    /// Requests of each heavy lookup (the whole topic list).
    #[arg(long, default_value_t = 200)]
    pub heavy_lookups: usize,
    /// Consumer groups, named `<group-prefix><g>`, each subscribed to one created topic.
    #[arg(long, default_value_t = 2000)]
    pub groups: usize,
    #[arg(long, default_value = "MetaGroup")]
    pub group_prefix: String,
    /// Consumers of each group.
    #[arg(long, default_value_t = 5)]
    pub consumers: usize,
    /// Client instances at most (each one client id and one connection to every shard);
    /// past it, an instance hosts consumers of several groups, as one Java client instance
    /// hosts every consumer of its process.
    #[arg(long, default_value_t = 4000)]
    pub clients_max: usize,
    /// Topics whose message is pulled after the restart.
    #[arg(long, default_value_t = 200)]
    pub pull_sample: usize,
    /// Time a request may wait for its answer.
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    pub timeout: Duration,
    /// The longest wait for a state: the broker listening or exiting, the queues' entries
    /// on disk, the topics routable.
    #[arg(long, value_parser = parse_duration, default_value = "300s")]
    pub wait: Duration,
    /// Write the figures as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

impl MetadataArgs {
    /// The values the JSON report carries.
    pub fn params(&self) -> Value {
        json!({
            "command": "metadata",
            "shardmq": self.shardmq,
            "shards": self.shards,
            "broker_options": self.broker_options,
            "count": self.count,
            "prefix": self.prefix,
            "queues": self.queues,
            "connections": self.connections,
            "window": self.window,
            "size": self.size,
            "lookups": self.lookups,
            "heavy_lookups": self.heavy_lookups,
            "groups": self.groups,
            "consumers": self.consumers,
            "clients_max": self.clients_max,
            "pull_sample": self.pull_sample,
            "timeout_sec": self.timeout.as_secs_f64(),
            "wait_sec": self.wait.as_secs_f64(),
        })
    }

    /// Rejects sizes that make no run.
    pub fn check(&self) -> Result<(), BenchError> {
        let positive = [
            ("--shards", usize::from(self.shards)),
            ("--count", self.count),
            ("--queues", self.queues as usize),
            ("--connections", self.connections),
            ("--window", self.window),
            ("--step", self.step),
            ("--lookups", self.lookups),
            ("--heavy-lookups", self.heavy_lookups),
            ("--consumers", self.consumers),
            ("--clients-max", self.clients_max),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(BenchError::Config(format!("{name} must be at least 1")));
        }
        if self.groups > 0 && self.clients_max < self.consumers {
            return Err(BenchError::Config(
                "--clients-max must be at least --consumers: the members of a group are \
                 different client instances"
                    .into(),
            ));
        }
        Ok(())
    }
}

impl ProduceArgs {
    /// The values a report must carry to be compared with another.
    pub fn params(&self) -> Value {
        let mut params = json!({
            "command": "produce",
            "size": self.size,
            "threads": self.threads,
            "connections": self.connections,
            "window": self.window,
            "batch": self.batch,
            "oneway": self.oneway,
            "tag": self.tag,
            "keys": self.keys,
            "rate": self.rate,
            "duration_sec": self.duration.as_secs_f64(),
            "messages": self.messages,
            "warmup_sec": self.warmup.as_secs_f64(),
            "transaction": self.transaction.map(|end| format!("{end:?}").to_lowercase()),
        });
        self.target.add_params(&mut params);
        params
    }

    /// Rejects combinations that parse but make no run.
    pub fn check(&self) -> Result<(), BenchError> {
        self.target.check()?;
        let positive = [
            ("--threads", self.threads),
            ("--connections", self.connections),
            ("--window", self.window),
            ("--batch", self.batch),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(BenchError::Config(format!("{name} must be at least 1")));
        }
        if self.transaction.is_some() && (self.oneway || self.batch > 1) {
            return Err(BenchError::Config(
                "--transaction sends single messages and needs their answers: no --oneway or --batch"
                    .into(),
            ));
        }
        if self.rate == Some(0) || self.messages == Some(0) {
            return Err(BenchError::Config(
                "--rate and --messages must be positive".into(),
            ));
        }
        Ok(())
    }
}

/// Resolves `HOST:PORT` to its first address.
pub fn resolve(address: &str) -> Result<SocketAddr, BenchError> {
    address
        .to_socket_addrs()
        .map_err(|error| BenchError::Config(format!("address {address:?}: {error}")))?
        .next()
        .ok_or_else(|| BenchError::Config(format!("address {address:?} resolves to nothing")))
}

/// `10s`, `250ms`, `2m`, `1h`, `1.5s`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 10s or 500ms"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1e3,
        "us" => value / 1e6,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {text:?} (use ms, s, m or h)"
            ))
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|error| format!("{text:?}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn produce(line: &[&str]) -> ProduceArgs {
        let argv = ["shardmq-bench", "produce"].iter().chain(line);
        match Cli::try_parse_from(argv).expect("parses").command {
            Command::Produce(args) => args,
            other => panic!("not produce: {other:?}"),
        }
    }

    #[test]
    fn defaults_make_a_complete_run() {
        let args = produce(&["--namesrv", "127.0.0.1:9876"]);
        assert_eq!(args.size, 1024);
        assert_eq!(args.duration, Duration::from_secs(10));
        assert_eq!(args.warmup, Duration::from_secs(1));
        assert_eq!((args.connections, args.window, args.batch), (2, 64, 1));
        assert!(!args.oneway && args.rate.is_none() && args.target.broker.is_none());
        assert_eq!(args.target.header, HeaderFormat::Rocketmq);
        args.check().expect("valid");
    }

    #[test]
    fn every_option_parses() {
        let args = produce(&[
            "--broker",
            "127.0.0.1:30911",
            "--queues",
            "4",
            "--size",
            "128",
            "--duration",
            "500ms",
            "--warmup",
            "0",
            "--json",
            "out.json",
            "--oneway",
            "--tag",
            "TagA",
            "--keys",
            "--rate",
            "1000",
            "--messages",
            "50",
            "--batch",
            "16",
            "--header",
            "json",
        ]);
        assert_eq!(args.target.broker.as_deref(), Some("127.0.0.1:30911"));
        assert_eq!(args.duration, Duration::from_millis(500));
        assert_eq!(args.warmup, Duration::ZERO);
        assert_eq!(
            (args.target.queues, args.batch, args.rate),
            (4, 16, Some(1000))
        );
        assert_eq!(args.target.header, HeaderFormat::Json);
        assert_eq!(args.params()["batch"], 16);
        assert_eq!(args.params()["namesrv"], Value::Null);
    }

    #[test]
    fn consume_and_e2e_parse() {
        let argv = [
            "shardmq-bench",
            "consume",
            "--from",
            "first",
            "--consumers",
            "3",
        ];
        let Command::Consume(args) = Cli::try_parse_from(argv).expect("parses").command else {
            panic!("not consume");
        };
        assert_eq!((args.from, args.consumer.consumers), (StartFrom::First, 3));
        // The target options are one set, reported the same way by every subcommand.
        let params = args.params();
        assert_eq!(
            (&params["topic"], &params["header"]),
            (&json!("BenchTopic"), &json!("rocketmq"))
        );
        assert_eq!(params["namesrv"], "127.0.0.1:9876");
        assert_eq!(args.consumer.suspend, Duration::from_secs(1));
        let argv = [
            "shardmq-bench",
            "e2e",
            "--broker",
            "h:1",
            "--duration",
            "3s",
        ];
        let Command::E2e(args) = Cli::try_parse_from(argv).expect("parses").command else {
            panic!("not e2e");
        };
        let consume = args.consume_args();
        assert_eq!(consume.duration, Duration::from_secs(5));
        assert_eq!(consume.from, StartFrom::Tail);
        assert_eq!(consume.target.broker.as_deref(), Some("h:1"));
    }

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("20ms"), Ok(Duration::from_millis(20)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5d").is_err());
    }

    #[test]
    fn zero_sizes_are_refused() {
        assert!(produce(&["--window", "0"]).check().is_err());
        assert!(produce(&["--broker", "h:1", "--queues", "0"])
            .check()
            .is_err());
    }
}
