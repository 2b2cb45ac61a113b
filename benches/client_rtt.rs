//! Pipelined request throughput and latency of one client connection against an echo
//! server on loopback: a server shard and a client shard, each a glommio executor pinned to
//! its own core (`same-core` puts both on core 0), `window` requests kept in flight by as
//! many client tasks. Reports requests/s, latency percentiles and heap allocations per
//! request on the client thread (the counting allocator below), which shows whether the
//! hot path allocates.
//!
//! Command: `cargo bench --bench client_rtt` (append `-- same-core` and/or `-- spin`).
//!
//! Figures, 2 vCPU VM (kernel 6.18), release profile, 128-byte request and response bodies,
//! JSON headers, three runs of each placement; other builds on the box kept the load
//! average between 4 and 5.6, so tails are mostly scheduling noise and throughput varied up
//! to 3x between runs. Requests/s is the median run (range of the three); latency is from
//! the median run:
//!
//! | placement | window | requests/s | p50 | p99 | allocs/request |
//! | --- | ---: | ---: | ---: | ---: | ---: |
//! | cores 0 and 1 | 1 | 4 300 (3 400 – 6 500) | 113 µs | 2.1 ms | 13.9 |
//! | cores 0 and 1 | 16 | 62 000 (54 000 – 63 000) | 136 µs | 2.4 ms | 2.76 |
//! | cores 0 and 1 | 256 | 232 000 (105 000 – 325 000) | 794 µs | 5.9 ms | 2.06 |
//! | both on core 0 | 1 | 11 200 (10 600 – 12 600) | 52 µs | 0.62 ms | 11.8 |
//! | both on core 0 | 16 | 176 000 (106 000 – 237 000) | 57 µs | 0.32 ms | 2.57 |
//! | both on core 0 | 256 | 653 000 (482 000 – 710 000) | 375 µs | 0.79 ms | 2.04 |
//!
//! The codec alone (encoding the request, decoding the response; the `codec alone` line)
//! makes 2.0 allocations per round trip; at a window of 256 the client adds 0.05 (read
//! buffers, amortised). The extra allocations at small windows come once per wait on the
//! socket, from glommio's reactor (its stream makes a new poll source for each readiness
//! wait), not once per request from the client. In one run with `spin` every figure was
//! worse (the spinning executors compete with the other load) and glommio allocated about
//! 100 times per request at a window of 1. One shard serving both ends beats two cores at
//! every window on this box: a request crosses no core, and waking a parked executor on the
//! other core costs more than the work.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use glommio::{LocalExecutorBuilder, Placement};
use hdrhistogram::Histogram;
use shardmq::client::Connection;
use shardmq::net::{bind, Peer, Reply, Server, Service};
use shardmq::wire::{frame, ExtFields, RemotingCommand};

const WINDOWS: [usize; 3] = [1, 16, 256];
const WARMUP: Duration = Duration::from_millis(500);
const RUN_TIME: Duration = Duration::from_secs(3);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const BODY: &[u8] = &[b'x'; 128];
/// A request code no real handler owns.
const ECHO: i32 = 9001;
/// How long an idle executor spins before it parks, with `spin`.
const SPIN: Duration = Duration::from_micros(200);

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

struct Echo;

impl Service for Echo {
    fn call(&self, _peer: &Rc<Peer>, request: RemotingCommand) -> Reply {
        let mut response = RemotingCommand::response_to(&request, 0, None);
        response.body = request.body;
        Reply::Now(Some(response))
    }
}

fn executor(core: usize, name: &str, spin: bool) -> LocalExecutorBuilder {
    let builder = LocalExecutorBuilder::new(Placement::Fixed(core)).name(name);
    if spin {
        builder.spin_before_park(SPIN)
    } else {
        builder
    }
}

/// One window's results.
struct Run {
    requests: u64,
    elapsed: Duration,
    latency_ns: Histogram<u64>,
    allocations: u64,
}

async fn measure(connection: &Rc<Connection>, window: usize) -> Run {
    let latency = Rc::new(RefCell::new(
        Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("histogram bounds"),
    ));
    let requests = Rc::new(Cell::new(0u64));
    let start = Instant::now();
    let (measure_from, end) = (start + WARMUP, start + WARMUP + RUN_TIME);
    let tasks: Vec<_> = (0..window)
        .map(|_| {
            let (connection, latency, requests) =
                (connection.clone(), latency.clone(), requests.clone());
            glommio::spawn_local(async move {
                loop {
                    let sent = Instant::now();
                    if sent >= end {
                        return;
                    }
                    let request =
                        RemotingCommand::request(ECHO, ExtFields::new(), Bytes::from_static(BODY));
                    let response = connection.request(request, REQUEST_TIMEOUT).await;
                    let done = Instant::now();
                    assert_eq!(response.expect("echo").body.len(), BODY.len());
                    if sent >= measure_from {
                        let nanos = (done - sent).as_nanos().min(u128::from(u64::MAX)) as u64;
                        latency.borrow_mut().saturating_record(nanos);
                        requests.set(requests.get() + 1);
                    }
                }
            })
        })
        .collect();
    glommio::timer::sleep(measure_from.saturating_duration_since(Instant::now())).await;
    counting_alloc::set_counting(true);
    let allocations_before = counting_alloc::allocations();
    for task in tasks {
        task.await;
    }
    counting_alloc::set_counting(false);
    let allocations = counting_alloc::allocations() - allocations_before;
    let latency_ns = latency.borrow().clone();
    Run {
        requests: requests.get(),
        elapsed: end.saturating_duration_since(measure_from),
        latency_ns,
        allocations,
    }
}

fn report(window: usize, run: &Run) {
    let per_second = run.requests as f64 / run.elapsed.as_secs_f64();
    let micros = |q: f64| run.latency_ns.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "window {window:>4}: {per_second:>9.0} req/s  p50 {:>7.1} µs  p99 {:>7.1} µs  \
         p99.9 {:>7.1} µs  {:.3} allocs/req",
        micros(0.5),
        micros(0.99),
        micros(0.999),
        run.allocations as f64 / run.requests.max(1) as f64,
    );
}

/// Allocations the codec alone makes for one round trip as the client sees it: encoding the
/// request and decoding the response frame. The client path adds what is above this.
fn codec_allocations_per_round_trip() -> f64 {
    const ROUNDS: u64 = 10_000;
    let mut out = BytesMut::with_capacity(64 * 1024);
    let mut response = RemotingCommand::response_to(&echo_request(), 0, None);
    response.body = Bytes::from_static(BODY);
    let mut frames = BytesMut::new();
    response.encode(&mut frames).expect("encode");
    let frame = frames.freeze();
    let mut input = BytesMut::with_capacity(frame.len());
    counting_alloc::set_counting(true);
    let before = counting_alloc::allocations();
    for opaque in 0..ROUNDS {
        let mut request = echo_request();
        request.opaque = opaque as i32;
        out.clear();
        request.encode(&mut out).expect("encode");
        input.clear();
        input.extend_from_slice(&frame);
        let decoded = frame::decode(&mut input)
            .expect("decode")
            .expect("whole frame");
        std::hint::black_box(decoded);
    }
    counting_alloc::set_counting(false);
    (counting_alloc::allocations() - before) as f64 / ROUNDS as f64
}

fn echo_request() -> RemotingCommand {
    RemotingCommand::request(ECHO, ExtFields::new(), Bytes::from_static(BODY))
}

fn main() {
    println!(
        "codec alone: {:.3} allocs per round trip",
        codec_allocations_per_round_trip()
    );
    let args: Vec<String> = std::env::args().collect();
    let same_core = args.iter().any(|arg| arg == "same-core");
    let spin = args.iter().any(|arg| arg == "spin");
    let client_core = if same_core { 0 } else { 1 };
    println!("server core 0, client core {client_core}, spin before park: {spin}");

    let (addr_tx, addr_rx) = mpsc::channel::<SocketAddr>();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let server = executor(0, "server", spin)
        .spawn(move || async move {
            let listener = bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
            addr_tx
                .send(listener.local_addr().expect("addr"))
                .expect("send addr");
            let server = Server::new(Rc::new(Echo), Rc::default());
            let _accept = glommio::spawn_local(server.clone().run(listener));
            while stop_rx.try_recv().is_err() {
                glommio::timer::sleep(Duration::from_millis(20)).await;
            }
        })
        .expect("server executor");
    let addr = addr_rx.recv().expect("server address");

    let client = executor(client_core, "client", spin)
        .spawn(move || async move {
            let connection = Connection::connect(addr, Duration::from_secs(1))
                .await
                .expect("connect");
            for window in WINDOWS {
                report(window, &measure(&connection, window).await);
            }
        })
        .expect("client executor");
    client.join().expect("client");
    let _ = stop_tx.send(());
    server.join().expect("server");
}
