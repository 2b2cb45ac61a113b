//! `topics`: how topic creation scales with the number of topics a broker holds. Creates
//! `--count` topics (UPDATE_AND_CREATE_TOPIC, docs/protocol.md §2.8.1) on one broker over
//! `--connections` connections with `--window` creations in flight on each, and prints, for
//! every `--step` topics, the creation rate and the latency of its creations (p50, p99), then
//! the whole run's. A broker whose creation cost grows with its topic count shows falling
//! rates and rising latencies from step to step.
//!
//! [`create`] is the creation run itself; `metadata` runs it as its first step.

use std::cell::RefCell;
use std::fmt::Write;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use glommio::{LocalExecutorBuilder, Placement};
use hdrhistogram::Histogram;
use serde::Serialize;
use shardmq::client::{ClientOptions, Connection};
use shardmq::wire::codes::request_code;
use shardmq::wire::signature::Credentials;
use shardmq::wire::{ExtFields, RemotingCommand};

use crate::args::{resolve, TopicsArgs};
use crate::topic::create_header;
use crate::BenchError;

/// What a creation run does: topics `<prefix>0` to `<prefix><count - 1>`, `queues` queues
/// each, over `connections` connections with `window` creations in flight on each.
#[derive(Debug, Clone)]
pub struct Creation {
    pub count: usize,
    pub prefix: String,
    pub queues: u32,
    pub connections: usize,
    pub window: usize,
    /// Topics per reported step.
    pub step: usize,
    /// Time a creation may wait for its answer.
    pub timeout: Duration,
    /// The account that signs every creation, if any.
    pub credentials: Option<Credentials>,
}

impl Creation {
    /// The name of topic `n`.
    pub fn topic(&self, n: usize) -> String {
        format!("{}{n}", self.prefix)
    }

    /// Rejects sizes that make no run.
    pub fn check(&self) -> Result<(), BenchError> {
        if self.count == 0
            || self.connections == 0
            || self.window == 0
            || self.step == 0
            || self.queues == 0
        {
            return Err(BenchError::Config(
                "--count, --queues, --connections, --window and --step must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

impl TryFrom<&TopicsArgs> for Creation {
    type Error = BenchError;

    fn try_from(args: &TopicsArgs) -> Result<Self, BenchError> {
        Ok(Creation {
            count: args.count,
            prefix: args.prefix.clone(),
            queues: args.queues,
            connections: args.connections,
            window: args.window,
            step: args.step,
            timeout: args.timeout,
            credentials: crate::account::credentials(&args.account)?,
        })
    }
}

/// One step's figures: the creations that finished `from`-th to `to`-th.
#[derive(Debug, Clone, Serialize)]
pub struct StepFigures {
    pub from: usize,
    pub to: usize,
    pub per_sec: f64,
    pub p50_us: u64,
    pub p99_us: u64,
}

/// The figures of a whole creation run.
#[derive(Debug, Clone, Serialize)]
pub struct CreationReport {
    pub steps: Vec<StepFigures>,
    pub count: usize,
    pub elapsed_sec: f64,
    pub per_sec: f64,
    pub p50_us: u64,
    pub p99_us: u64,
}

impl CreationReport {
    /// One line per step and a summary line, as `topics` prints them.
    pub fn text(&self, creation: &Creation) -> String {
        let mut out = String::new();
        for step in &self.steps {
            let _ = writeln!(
                out,
                "topics {:>6}..{:>6}: {:>8.0} creations/s, latency p50 {} µs, p99 {} µs",
                step.from, step.to, step.per_sec, step.p50_us, step.p99_us
            );
        }
        let _ = writeln!(
            out,
            "all {} topics ({} queues each, {} connections x {} in flight) in {:.3} s: \
             {:.0} creations/s, latency p50 {} µs, p99 {} µs",
            self.count,
            creation.queues,
            creation.connections,
            creation.window,
            self.elapsed_sec,
            self.per_sec,
            self.p50_us,
            self.p99_us
        );
        out
    }
}

/// Runs the creations and prints one line per step and a summary.
pub fn run(args: &TopicsArgs) -> Result<(), BenchError> {
    let creation = Creation::try_from(args)?;
    creation.check()?;
    let addr = resolve(&args.broker)?;
    let report = LocalExecutorBuilder::new(Placement::Unbound)
        .name("bench-topics")
        .spawn({
            let creation = creation.clone();
            move || async move { create(addr, &creation).await }
        })
        .map_err(|error| BenchError::Executor(error.to_string()))?
        .join()
        .map_err(|error| BenchError::Executor(error.to_string()))??;
    print!("{}", report.text(&creation));
    Ok(())
}

/// Creates the topics of `creation` on the broker at `addr` and measures each creation.
/// Runs on a glommio executor; the first failed creation ends the run with its error.
pub async fn create(addr: SocketAddr, creation: &Creation) -> Result<CreationReport, BenchError> {
    let options = ClientOptions {
        connect_timeout: creation.timeout,
        request_timeout: creation.timeout,
        ..ClientOptions::default()
    };
    let next = Rc::new(RefCell::new(0usize));
    let latencies = Rc::new(RefCell::new(vec![0u64; creation.count]));
    let finished = Rc::new(RefCell::new(Vec::with_capacity(creation.count)));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..creation.connections {
        let connection = Connection::connect_with(addr, &options)
            .await
            .map_err(BenchError::Connect)?;
        for _ in 0..creation.window {
            let (connection, next) = (connection.clone(), next.clone());
            let (latencies, finished) = (latencies.clone(), finished.clone());
            let creation = creation.clone();
            workers.push(glommio::spawn_local(async move {
                loop {
                    let n = {
                        let mut next = next.borrow_mut();
                        let n = *next;
                        *next += 1;
                        n
                    };
                    if n >= creation.count {
                        return Ok::<(), BenchError>(());
                    }
                    let mut request = RemotingCommand::request(
                        request_code::UPDATE_AND_CREATE_TOPIC,
                        ExtFields::new(),
                        Bytes::new(),
                    );
                    request.set_header(&create_header(&creation.topic(n), creation.queues));
                    crate::account::sign(&mut request, creation.credentials.as_ref());
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
    let mut steps = Vec::new();
    for (index, chunk) in finished.chunks(creation.step).enumerate() {
        let until = chunk.last().map_or(from, |&(_, at)| at);
        let secs = (until - from).as_secs_f64().max(1e-9);
        let mut h = histogram();
        for &(n, _) in chunk {
            let _ = h.record(latencies[n]);
            let _ = all.record(latencies[n]);
        }
        steps.push(StepFigures {
            from: index * creation.step,
            to: index * creation.step + chunk.len(),
            per_sec: chunk.len() as f64 / secs,
            p50_us: h.value_at_quantile(0.5),
            p99_us: h.value_at_quantile(0.99),
        });
        from = until;
    }
    Ok(CreationReport {
        steps,
        count: creation.count,
        elapsed_sec: total.as_secs_f64(),
        per_sec: creation.count as f64 / total.as_secs_f64().max(1e-9),
        p50_us: all.value_at_quantile(0.5),
        p99_us: all.value_at_quantile(0.99),
    })
}

fn histogram() -> Histogram<u64> {
    Histogram::new(3).unwrap_or_else(|error| panic!("histogram: {error}"))
}

/// Microseconds of `elapsed`, saturating.
pub fn micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}
