//! The producer against an in-process sink that stores nothing but answers every send with
//! SUCCESS and a real send response header, so the harness's success path runs end to end
//! and its counts can be checked against what the sink saw.

use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use clap::Parser;
use glommio::LocalExecutorBuilder;
use shardmq::net::{bind, Peer, Reply, Server, Service};
use shardmq::wire::batch;
use shardmq::wire::codes::{request_code, response_code};
use shardmq::wire::headers::send::{SendMessageRequestHeader, SendMessageResponseHeader};
use shardmq::wire::RemotingCommand;
use shardmq_bench::args::{Cli, Command, ProduceArgs};
use shardmq_bench::produce;

#[derive(Default)]
struct Counts {
    requests: AtomicU64,
    messages: AtomicU64,
    bad: AtomicU64,
}

struct Sink(Arc<Counts>);

impl Service for Sink {
    fn call(&self, _peer: &Rc<Peer>, request: RemotingCommand) -> Reply {
        let header = SendMessageRequestHeader::decode_for(request.code, &request.ext_fields);
        let messages = match request.code {
            request_code::SEND_BATCH_MESSAGE => batch::decode(&request.body).map_or(0, |e| e.len()),
            _ => 1,
        };
        let Ok(header) = header.map_err(|_| self.0.bad.fetch_add(1, Ordering::Relaxed)) else {
            return Reply::Now(Some(RemotingCommand::response_to(&request, 1, None)));
        };
        self.0.requests.fetch_add(1, Ordering::Relaxed);
        self.0
            .messages
            .fetch_add(messages as u64, Ordering::Relaxed);
        let mut response = RemotingCommand::response_to(&request, response_code::SUCCESS, None);
        response.set_header(&SendMessageResponseHeader::new(
            "00".into(),
            header.queue_id,
            0,
        ));
        Reply::Now(Some(response))
    }
}

/// Runs `args` against a fresh sink and returns the report with the sink's counts.
fn against_sink(line: &[&str]) -> (shardmq_bench::report::Report, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let (addr_tx, addr_rx) = mpsc::channel::<SocketAddr>();
    let sink = {
        let (counts, stop) = (counts.clone(), stop.clone());
        LocalExecutorBuilder::default()
            .name("sink")
            .spawn(move || async move {
                let listener = bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
                addr_tx
                    .send(listener.local_addr().expect("addr"))
                    .expect("addr");
                let server = Server::new(Rc::new(Sink(counts)));
                let _accept = glommio::spawn_local(server.clone().run(listener));
                while !stop.load(Ordering::Relaxed) {
                    glommio::timer::sleep(Duration::from_millis(10)).await;
                }
            })
            .expect("sink executor")
    };
    let addr = addr_rx.recv().expect("sink address").to_string();
    let argv = [
        "shardmq-bench",
        "produce",
        "--broker",
        &addr,
        "--warmup",
        "0",
    ];
    let Command::Produce(args): Command = Cli::parse_from(argv.iter().chain(line)).command;
    let report = run(&args);
    stop.store(true, Ordering::Relaxed);
    sink.join().expect("sink");
    (report, counts)
}

fn run(args: &ProduceArgs) -> shardmq_bench::report::Report {
    produce::run(args).expect("run")
}

#[test]
fn every_send_is_counted_once() {
    let (report, sink) = against_sink(&[
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
    let (report, sink) = against_sink(&["--messages", "300", "--window", "4"]);
    assert_eq!(report.messages, 300);
    assert_eq!(sink.messages.load(Ordering::Relaxed), 300);
}
