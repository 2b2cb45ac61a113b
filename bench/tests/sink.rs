//! The harness against an in-process sink that answers every send with SUCCESS and a real
//! send response header, so the success path runs end to end and the harness's counts can be
//! checked against what the sink saw. With `store` on, the sink also keeps single messages
//! as records in memory and serves GET_MAX_OFFSET and PULL_MESSAGE, for `e2e`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use clap::Parser;
use glommio::LocalExecutorBuilder;
use shardmq::net::{bind, Peer, Reply, Server, Service};
use shardmq::wire::batch;
use shardmq::wire::codes::{request_code, response_code};
use shardmq::wire::headers::admin::CreateTopicRequestHeader;
use shardmq::wire::headers::namesrv::GetRouteInfoRequestHeader;
use shardmq::wire::headers::offset::{GetMaxOffsetRequestHeader, OffsetResponseHeader};
use shardmq::wire::headers::pull::{PullMessageRequestHeader, PullMessageResponseHeader};
use shardmq::wire::headers::send::{SendMessageRequestHeader, SendMessageResponseHeader};
use shardmq::wire::record::{PhysicalOffset, QueueOffset, RecordFields, RecordVersion, SysFlag};
use shardmq::wire::signature::{signature, ACCESS_KEY, SIGNATURE};
use shardmq::wire::RemotingCommand;
use shardmq_bench::args::{Cli, Command};
use shardmq_bench::report::Report;
use shardmq_bench::{consume, e2e, produce, topic, BenchError};

/// Topics the sink's NameServer has no route for, as for a topic nobody created yet.
const NEW_TOPIC_PREFIX: &str = "New";
/// The account whose signatures the sink checks: access key and secret key.
const ACCOUNT: (&str, &str) = ("bench", "bench-secret");

#[derive(Default)]
struct Counts {
    /// Every request the sink was sent, of any code.
    all: AtomicU64,
    /// Requests signed by [`ACCOUNT`] with a signature that checks.
    signed: AtomicU64,
    requests: AtomicU64,
    messages: AtomicU64,
    bad: AtomicU64,
    /// Sends that named the broker they were routed to.
    named: AtomicU64,
    /// UPDATE_AND_CREATE_TOPIC requests.
    created: AtomicU64,
    /// Sends naming TBW102 as the template of their topic.
    templated: AtomicU64,
    /// The highest queue id sent to.
    max_queue_id: AtomicU64,
}

struct Sink {
    counts: Arc<Counts>,
    addr: SocketAddr,
    /// Records by queue id, when the sink stores.
    queues: Option<RefCell<HashMap<i32, Vec<Bytes>>>>,
}

impl Service for Sink {
    fn call(&self, _peer: &Rc<Peer>, request: RemotingCommand) -> Reply {
        self.counts.all.fetch_add(1, Ordering::Relaxed);
        let fields = &request.ext_fields;
        let signed = fields.get(ACCESS_KEY) == Some(ACCOUNT.0)
            && fields.get(SIGNATURE) == Some(signature(&request, ACCOUNT.1).as_str());
        if signed {
            self.counts.signed.fetch_add(1, Ordering::Relaxed);
        }
        match request.code {
            request_code::PULL_MESSAGE => self.pull(&request),
            request_code::GET_ROUTEINFO_BY_TOPIC => {
                let header: GetRouteInfoRequestHeader = request.decode_header().expect("header");
                if header.topic.starts_with(NEW_TOPIC_PREFIX) {
                    let code = response_code::TOPIC_NOT_EXIST;
                    return Reply::Now(Some(RemotingCommand::response_to(&request, code, None)));
                }
                let mut response = RemotingCommand::response_to(&request, 0, None);
                response.body = route(self.addr).into();
                Reply::Now(Some(response))
            }
            request_code::GET_BROKER_CLUSTER_INFO => {
                let mut response = RemotingCommand::response_to(&request, 0, None);
                response.body = cluster(self.addr).into();
                Reply::Now(Some(response))
            }
            request_code::UPDATE_AND_CREATE_TOPIC => {
                let header: CreateTopicRequestHeader = request.decode_header().expect("header");
                assert_eq!(header.read_queue_nums, header.write_queue_nums);
                self.counts.created.fetch_add(1, Ordering::Relaxed);
                Reply::Now(Some(RemotingCommand::response_to(&request, 0, None)))
            }
            request_code::GET_MAX_OFFSET => {
                let header: GetMaxOffsetRequestHeader = request.decode_header().expect("header");
                let mut response = RemotingCommand::response_to(&request, 0, None);
                let offset = self.queue_len(header.queue_id);
                response.set_header(&OffsetResponseHeader { offset });
                Reply::Now(Some(response))
            }
            _ => self.send(request),
        }
    }
}

impl Sink {
    fn send(&self, request: RemotingCommand) -> Reply {
        let header = SendMessageRequestHeader::decode_for(request.code, &request.ext_fields);
        let messages = match request.code {
            request_code::SEND_BATCH_MESSAGE => batch::decode(&request.body).map_or(0, |e| e.len()),
            _ => 1,
        };
        let counts = &self.counts;
        let Ok(header) = header.map_err(|_| counts.bad.fetch_add(1, Ordering::Relaxed)) else {
            return Reply::Now(Some(RemotingCommand::response_to(&request, 1, None)));
        };
        counts.requests.fetch_add(1, Ordering::Relaxed);
        if header.broker_name.is_some() {
            counts.named.fetch_add(1, Ordering::Relaxed);
        }
        if header.default_topic == "TBW102" {
            counts.templated.fetch_add(1, Ordering::Relaxed);
        }
        counts
            .max_queue_id
            .fetch_max(header.queue_id as u64, Ordering::Relaxed);
        counts
            .messages
            .fetch_add(messages as u64, Ordering::Relaxed);
        if let Some(queues) = &self.queues {
            let mut queues = queues.borrow_mut();
            let queue = queues.entry(header.queue_id).or_default();
            queue.push(record(&header, &request.body, queue.len()));
        }
        let mut response = RemotingCommand::response_to(&request, response_code::SUCCESS, None);
        response.set_header(&SendMessageResponseHeader::new(
            "00".into(),
            header.queue_id,
            0,
        ));
        Reply::Now(Some(response))
    }

    fn queue_len(&self, queue_id: i32) -> i64 {
        let queues = self.queues.as_ref().expect("a storing sink");
        queues
            .borrow()
            .get(&queue_id)
            .map_or(0, |queue| queue.len() as i64)
    }

    /// Records from the asked offset on; an empty pull is held briefly as long polling would.
    fn pull(&self, request: &RemotingCommand) -> Reply {
        let header: PullMessageRequestHeader = request.decode_header().expect("header");
        let queues = self.queues.as_ref().expect("a storing sink").borrow();
        let records = queues.get(&header.queue_id).map_or(&[][..], Vec::as_slice);
        let from = (header.queue_offset.max(0) as usize).min(records.len());
        let to = records.len().min(from + header.max_msg_nums as usize);
        let mut body = BytesMut::new();
        records[from..to]
            .iter()
            .for_each(|r| body.extend_from_slice(r));
        let code = if to > from {
            0
        } else {
            response_code::PULL_NOT_FOUND
        };
        let mut response = RemotingCommand::response_to(request, code, None);
        response.set_header(&PullMessageResponseHeader {
            next_begin_offset: to as i64,
            max_offset: records.len() as i64,
            ..PullMessageResponseHeader::default()
        });
        response.body = body.freeze();
        if to > from {
            return Reply::Now(Some(response));
        }
        Reply::Later(Box::pin(async move {
            glommio::timer::sleep(Duration::from_millis(5)).await;
            Some(response)
        }))
    }
}

/// A route with two broker names, both served by the sink, as a NameServer writes it.
fn route(addr: SocketAddr) -> String {
    let broker = |name: &str| {
        format!(r#"{{"brokerAddrs":{{0:"{addr}"}},"brokerName":"{name}","cluster":"c"}}"#)
    };
    let queues = |name: &str, n: i32| {
        format!(
            r#"{{"brokerName":"{name}","perm":6,"readQueueNums":{n},"topicSysFlag":0,"writeQueueNums":{n}}}"#
        )
    };
    format!(
        r#"{{"brokerDatas":[{},{}],"filterServerTable":{{}},"queueDatas":[{},{}]}}"#,
        broker("broker-a"),
        broker("broker-b"),
        queues("broker-a", 3),
        queues("broker-b", 2)
    )
}

/// The cluster info of the route's two broker names.
fn cluster(addr: SocketAddr) -> String {
    let broker = |name: &str| {
        format!(r#""{name}":{{"brokerAddrs":{{0:"{addr}"}},"brokerName":"{name}","cluster":"c"}}"#)
    };
    format!(
        r#"{{"brokerAddrTable":{{{},{}}},"clusterAddrTable":{{"c":["broker-a","broker-b"]}}}}"#,
        broker("broker-a"),
        broker("broker-b")
    )
}

/// A stored record of one sent message.
fn record(header: &SendMessageRequestHeader, body: &[u8], offset: usize) -> Bytes {
    let host: SocketAddr = "127.0.0.1:1".parse().expect("addr");
    let fields = RecordFields {
        version: RecordVersion::for_topic(&header.topic),
        queue_id: header.queue_id as u32,
        flag: header.flag,
        queue_offset: QueueOffset(offset as u64),
        physical_offset: PhysicalOffset(0),
        sysflag: SysFlag(0),
        born_timestamp_ms: header.born_timestamp,
        born_host: host,
        store_timestamp_ms: header.born_timestamp,
        store_host: host,
        reconsume_times: 0,
        prepared_transaction_offset: PhysicalOffset(0),
        body,
        topic: &header.topic,
        properties: header.properties.as_deref().unwrap_or(""),
    };
    let mut out = BytesMut::new();
    fields.encode(&mut out).expect("record");
    out.freeze()
}

/// Runs `line` against a fresh sink and returns the result with the sink's counts; `SINK` in
/// `line` stands for the sink's address, which `run` is given too.
fn against_sink<R>(
    store: bool,
    line: &[&str],
    run: impl FnOnce(Command, &str) -> R,
) -> (R, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let (addr_tx, addr_rx) = mpsc::channel::<SocketAddr>();
    let sink = {
        let (counts, stop) = (counts.clone(), stop.clone());
        LocalExecutorBuilder::default()
            .name("sink")
            .spawn(move || async move {
                let listener = bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
                let addr = listener.local_addr().expect("addr");
                addr_tx.send(addr).expect("addr");
                let queues = store.then(RefCell::default);
                let sink = Sink {
                    counts,
                    addr,
                    queues,
                };
                let server = Server::new(Rc::new(sink), Rc::default());
                let _accept = glommio::spawn_local(server.clone().run(listener));
                while !stop.load(Ordering::Relaxed) {
                    glommio::timer::sleep(Duration::from_millis(10)).await;
                }
            })
            .expect("sink executor")
    };
    let addr = addr_rx.recv().expect("sink address").to_string();
    let line = line
        .iter()
        .map(|word| if *word == "SINK" { addr.as_str() } else { word });
    // Runs measure from the start; `topic` has no warm-up.
    let warmup: &[&str] = if line.clone().next() == Some("topic") {
        &[]
    } else {
        &["--warmup", "0"]
    };
    let argv: Vec<&str> = ["shardmq-bench"]
        .into_iter()
        .chain(line)
        .chain(warmup.iter().copied())
        .collect();
    let result = run(Cli::parse_from(argv).command, &addr);
    stop.store(true, Ordering::Relaxed);
    sink.join().expect("sink");
    (result, counts)
}

fn produce(line: &[&str]) -> (Report, Arc<Counts>) {
    against_sink(false, line, |command, _| match command {
        Command::Produce(args) => produce::run(&args).expect("run"),
        other => panic!("not produce: {other:?}"),
    })
}

#[test]
fn every_send_is_counted_once() {
    let (report, sink) = produce(&[
        "produce",
        "--broker",
        "SINK",
        "--duration",
        "1s",
        "--queues",
        "4",
        "--connections",
        "2",
        "--window",
        "8",
        "--batch",
        "4",
        "--keys",
        "--tag",
        "TagA",
        "--size",
        "100",
    ]);
    assert_eq!(sink.bad.load(Ordering::Relaxed), 0);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.requests > 0);
    assert_eq!(report.requests, sink.requests.load(Ordering::Relaxed));
    assert_eq!(report.messages, sink.messages.load(Ordering::Relaxed));
    assert_eq!(report.messages, report.requests * 4);
    assert!(report.latency_us.p50 > 0 && report.latency_us.max >= report.latency_us.p99);
    let expected = report.messages as f64 / report.elapsed_sec;
    assert!((report.msgs_per_sec - expected).abs() < 1.0);
}

#[test]
fn a_message_count_stops_the_run() {
    let (report, sink) = produce(&[
        "produce",
        "--broker",
        "SINK",
        "--messages",
        "300",
        "--window",
        "4",
    ]);
    assert_eq!(report.messages, 300);
    assert_eq!(sink.messages.load(Ordering::Relaxed), 300);
}

#[test]
fn e2e_receives_what_was_sent() {
    let line = [
        "e2e",
        "--broker",
        "SINK",
        "--messages",
        "400",
        "--queues",
        "2",
        "--window",
        "4",
        "--drain",
        "500ms",
        "--duration",
        "1s",
        "--consumers",
        "2",
    ];
    let (report, sink) = against_sink(true, &line, |command, _| match command {
        Command::E2e(args) => e2e::run(&args).expect("run"),
        other => panic!("not e2e: {other:?}"),
    });
    assert_eq!(sink.messages.load(Ordering::Relaxed), 400);
    assert_eq!(report.produce.messages, 400);
    assert_eq!(report.consume.messages, 400);
    assert!(
        report.consume.errors.is_empty(),
        "{:?}",
        report.consume.errors
    );
    assert!(report.consume.latency_us.max > 0);
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["params"]["command"], "e2e");
    assert!(json["latency_us"]["p99"].is_u64() && json["produce"]["msgs_per_sec"].is_f64());
}

#[test]
fn the_route_comes_from_the_namesrv() {
    let (report, sink) = produce(&["produce", "--namesrv", "SINK", "--messages", "100"]);
    assert_eq!(report.messages, 100);
    assert_eq!(sink.messages.load(Ordering::Relaxed), 100);
    assert_eq!(
        sink.named.load(Ordering::Relaxed),
        100,
        "every send names its broker"
    );
}

#[test]
fn a_topic_nobody_created_is_sent_by_the_template_route() {
    let line = [
        "produce",
        "--namesrv",
        "SINK",
        "--topic",
        "NewTopic",
        "--messages",
        "100",
    ];
    let (report, sink) = produce(&line);
    assert_eq!(report.messages, 100);
    assert_eq!(sink.messages.load(Ordering::Relaxed), 100);
    assert_eq!(
        sink.templated.load(Ordering::Relaxed),
        100,
        "TBW102 as the template"
    );
    // The template's route has 3 and 2 queues, at most 4 taken from each.
    assert_eq!(sink.max_queue_id.load(Ordering::Relaxed), 2);
}

#[test]
fn a_rate_paces_the_senders() {
    let line = [
        "produce",
        "--broker",
        "SINK",
        "--rate",
        "2000",
        "--duration",
        "1s",
    ];
    let (report, _) = produce(&line);
    let rate = report.msgs_per_sec;
    assert!(
        (1600.0..=2400.0).contains(&rate),
        "{rate} msgs/s for a target of 2000"
    );
}

#[test]
fn the_topic_is_created_on_every_master_and_routed() {
    let line = [
        "topic",
        "--namesrv",
        "SINK",
        "--queues",
        "3",
        "--wait",
        "2s",
    ];
    let (masters, sink) = against_sink(false, &line, |command, _| match command {
        Command::Topic(args) => topic::run(&args).expect("run"),
        other => panic!("not topic: {other:?}"),
    });
    // Both broker names of the cluster info share the sink's address.
    assert_eq!(masters.len(), 2);
    assert_eq!(sink.created.load(Ordering::Relaxed), 2);
}

#[test]
fn creating_a_topic_waits_for_its_route_and_gives_up() {
    // The sink's route has 3 queues on broker-a, never 5.
    let line = [
        "topic",
        "--namesrv",
        "SINK",
        "--queues",
        "5",
        "--wait",
        "300ms",
    ];
    let (result, _) = against_sink(false, &line, |command, _| match command {
        Command::Topic(args) => topic::run(&args),
        other => panic!("not topic: {other:?}"),
    });
    assert!(matches!(result, Err(BenchError::Config(_))), "{result:?}");
}

#[test]
fn a_catch_up_read_stops_at_its_message_count() {
    let line = [
        "consume",
        "--broker",
        "SINK",
        "--queues",
        "2",
        "--from",
        "first",
        "--messages",
        "500",
        "--duration",
        "10s",
    ];
    let (report, _) = against_sink(true, &line, |command, addr| {
        let fill = [
            "shardmq-bench",
            "produce",
            "--broker",
            addr,
            "--queues",
            "2",
            "--messages",
            "600",
            "--warmup",
            "0",
        ];
        let Command::Produce(fill) = Cli::parse_from(fill).command else {
            panic!("not produce");
        };
        assert_eq!(produce::run(&fill).expect("fill").messages, 600);
        match command {
            Command::Consume(args) => consume::run(&args).expect("run"),
            other => panic!("not consume: {other:?}"),
        }
    });
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // Pulls of 32 may overshoot the count by less than one pull per queue.
    assert!((500..600).contains(&report.messages), "{}", report.messages);
    assert!(report.elapsed_sec < 5.0, "{} s", report.elapsed_sec);
    let expected = report.messages as f64 / report.elapsed_sec;
    assert!((report.msgs_per_sec - expected).abs() < 1.0);
}

/// With an account, every request is signed as RocketMQ's ACL 1.0 clients sign theirs: sends,
/// offsets and pulls (e2e), route lookups (produce by the NameServer), cluster info, topic
/// creation and route waits (topic); without one, none is.
#[test]
fn with_an_account_every_request_is_signed() {
    let account = ["--access-key", ACCOUNT.0, "--secret-key", ACCOUNT.1];
    let e2e = [
        "e2e",
        "--broker",
        "SINK",
        "--messages",
        "200",
        "--queues",
        "2",
        "--window",
        "4",
        "--drain",
        "300ms",
        "--duration",
        "1s",
    ];
    let line: Vec<&str> = e2e.iter().chain(&account).copied().collect();
    let (report, sink) = against_sink(true, &line, |command, _| match command {
        Command::E2e(args) => e2e::run(&args).expect("run"),
        other => panic!("not e2e: {other:?}"),
    });
    assert_eq!(report.consume.messages, 200);
    let params = serde_json::to_value(&report).expect("json")["params"].clone();
    assert_eq!(params["access_key"], ACCOUNT.0);
    assert!(!params.to_string().contains(ACCOUNT.1), "{params}");
    let runs = [
        vec!["produce", "--namesrv", "SINK", "--messages", "50"],
        vec![
            "topic",
            "--namesrv",
            "SINK",
            "--queues",
            "3",
            "--wait",
            "2s",
        ],
    ];
    let mut counts = vec![sink];
    for run in runs {
        let line: Vec<&str> = run.iter().chain(&account).copied().collect();
        let (_, sink) = against_sink(false, &line, |command, _| match command {
            Command::Produce(args) => assert_eq!(produce::run(&args).expect("run").messages, 50),
            Command::Topic(args) => assert_eq!(topic::run(&args).expect("run").len(), 2),
            other => panic!("unexpected: {other:?}"),
        });
        counts.push(sink);
    }
    for sink in &counts {
        let all = sink.all.load(Ordering::Relaxed);
        assert!(all > 0);
        assert_eq!(sink.signed.load(Ordering::Relaxed), all);
    }
    let (_, unsigned) = produce(&["produce", "--broker", "SINK", "--messages", "50"]);
    assert_eq!(unsigned.signed.load(Ordering::Relaxed), 0);
}
