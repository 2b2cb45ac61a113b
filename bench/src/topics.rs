//! `topics`: how topic creation scales with the number of topics a broker holds. Creates
//! `--count` topics (UPDATE_AND_CREATE_TOPIC, docs/protocol.md §2.8.1) on one broker over
//! `--connections` connections with `--window` creations in flight on each, and prints, for
//! every `--step` topics, the creation rate and the latency of its creations (p50, p99), then
//! the whole run's. A broker whose creation cost grows with its topic count shows falling
//! rates and rising latencies from step to step.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use glommio::{LocalExecutorBuilder, Placement};
use hdrhistogram::Histogram;
use shardmq::client::{ClientOptions, Connection};
use shardmq::wire::codes::request_code;
use shardmq::wire::{ExtFields, RemotingCommand};

use crate::args::{resolve, TopicsArgs};
use crate::topic::create_header;
use crate::BenchError;

/// One step's creations: when each finished, and how long it took.
#[derive(Default)]
struct Step {
    done: usize,
    latency_us: Vec<u64>,
}

/// Runs the creations and prints one line per step and a summary.
pub fn run(args: &TopicsArgs) -> Result<(), BenchError> {
    if args.count == 0 || args.connections == 0 || args.window == 0 || args.step == 0 {
        return Err(BenchError::Config(
            "--count, --connections, --window and --step must be at least 1".into(),
        ));
    }
    let args = args.clone();
    LocalExecutorBuilder::new(Placement::Unbound)
        .name("bench-topics")
        .spawn(move || async move { create_all(&args).await })
        .map_err(|error| BenchError::Executor(error.to_string()))?
        .join()
        .map_err(|error| BenchError::Executor(error.to_string()))?
}

async fn create_all(args: &TopicsArgs) -> Result<(), BenchError> {
    let addr = resolve(&args.broker)?;
    let options = ClientOptions {
        connect_timeout: args.timeout,
        request_timeout: args.timeout,
        ..ClientOptions::default()
    };
    let next = Rc::new(RefCell::new(0usize));
    let latencies = Rc::new(RefCell::new(vec![0u64; args.count]));
    let finished = Rc::new(RefCell::new(Vec::with_capacity(args.count)));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.connections {
        let connection = Rc::new(
            Connection::connect_with(addr, &options)
                .await
                .map_err(BenchError::Connect)?,
        );
        for _ in 0..args.window {
            let (connection, next) = (connection.clone(), next.clone());
            let (latencies, finished) = (latencies.clone(), finished.clone());
            let args = args.clone();
            workers.push(glommio::spawn_local(async move {
                loop {
                    let n = {
                        let mut next = next.borrow_mut();
                        let n = *next;
                        *next += 1;
                        n
                    };
                    if n >= args.count {
                        return Ok::<(), BenchError>(());
                    }
                    let mut request = RemotingCommand::request(
                        request_code::UPDATE_AND_CREATE_TOPIC,
                        ExtFields::new(),
                        Bytes::new(),
                    );
                    let topic = format!("{}{n}", args.prefix);
                    request.set_header(&create_header(&topic, args.queues));
                    let sent = Instant::now();
                    connection
                        .request_ok(request)
                        .await
                        .map_err(|source| BenchError::Setup {
                            what: "UPDATE_AND_CREATE_TOPIC",
                            source,
                        })?;
                    latencies.borrow_mut()[n] = micros(sent.elapsed());
                    finished.borrow_mut().push((n, started.elapsed()));
                }
            }));
        }
    }
    for worker in workers {
        worker.await?;
    }
    let total = started.elapsed();
    // Steps by completion order: the k-th thousand topics to be created.
    let finished = finished.borrow();
    let latencies = latencies.borrow();
    let mut from = Duration::ZERO;
    let mut all = histogram();
    for (index, chunk) in finished.chunks(args.step).enumerate() {
        let mut step = Step::default();
        for &(n, _) in chunk {
            step.done += 1;
            step.latency_us.push(latencies[n]);
        }
        let until = chunk.last().map_or(from, |&(_, at)| at);
        let secs = (until - from).as_secs_f64().max(1e-9);
        let mut h = histogram();
        for &us in &step.latency_us {
            let _ = h.record(us);
            let _ = all.record(us);
        }
        println!(
            "topics {:>6}..{:>6}: {:>8.0} creations/s, latency p50 {} µs, p99 {} µs",
            index * args.step,
            index * args.step + step.done,
            step.done as f64 / secs,
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99)
        );
        from = until;
    }
    println!(
        "all {} topics ({} queues each, {} connections x {} in flight) in {:.3} s: \
         {:.0} creations/s, latency p50 {} µs, p99 {} µs",
        args.count,
        args.queues,
        args.connections,
        args.window,
        total.as_secs_f64(),
        args.count as f64 / total.as_secs_f64(),
        all.value_at_quantile(0.5),
        all.value_at_quantile(0.99)
    );
    Ok(())
}

fn histogram() -> Histogram<u64> {
    Histogram::new(3).unwrap_or_else(|error| panic!("histogram: {error}"))
}

fn micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}
