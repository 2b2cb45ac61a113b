//! Pull consumers (docs/protocol.md §2.5.1): `consumers` members of one group share the topic's
//! readable queues (queue k of the route goes to member k mod N), each with its own
//! connection to every broker, and keep one long-polling PULL_MESSAGE outstanding per queue.
//! The subscription travels in the pull header (SUBSCRIPTION flag, `*`), so no heartbeat is
//! needed. Offsets are not committed: the run measures delivery, not bookkeeping.
//!
//! A run ends after its duration or, with `--messages N`, once N messages were received
//! after the warm-up; its rates are then over the time those took (a catch-up read).
//!
//! Latency is born to receipt, per message: from the `BENCH_BORN_US` property the producer
//! writes in `e2e`, else from the record's born timestamp (millisecond resolution).

use std::cell::{Cell, RefCell};
use std::io::IsTerminal;
use std::rc::Rc;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use glommio::{LocalExecutorBuilder, Placement};
use shardmq::client::{success, ClientError, ClientOptions, Connection};
use shardmq::wire::codes::{request_code, response_code};
use shardmq::wire::headers::offset::{GetMaxOffsetRequestHeader, OffsetResponseHeader};
use shardmq::wire::headers::pull::{
    pull_sys_flag, PullMessageRequestHeader, PullMessageResponseHeader,
};
use shardmq::wire::record::RecordView;
use shardmq::wire::signature::Credentials;
use shardmq::wire::{ExtFields, RemotingCommand, SerializeType};

use crate::args::{ConsumeArgs, StartFrom};
use crate::message::{now_us, BORN_US_PROPERTY};
use crate::progress::{Progress, ProgressLine};
use crate::report::Report;
use crate::route::{self, BrokerQueues};
use crate::stats::{Failure, Stats};
use crate::BenchError;

/// Wait after a failed pull, so a broken broker is not hammered.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

#[derive(Debug)]
struct Plan {
    brokers: Vec<BrokerQueues>,
    args: ConsumeArgs,
    serialize_type: SerializeType,
    /// The account that signs every request, if any.
    credentials: Option<Credentials>,
    measure_from: Instant,
    end: Instant,
    /// Messages received after the warm-up, for `--messages`.
    received: Cell<u64>,
    /// When `--messages` were all received.
    finished: Cell<Option<Instant>>,
}

impl Plan {
    fn running(&self) -> bool {
        self.finished.get().is_none() && Instant::now() < self.end
    }

    /// Counts `messages` measured ones; marks the run finished once `--messages` arrived.
    fn count(&self, messages: u64) {
        let received = self.received.get() + messages;
        self.received.set(received);
        let wanted = self.args.messages;
        if wanted.is_some_and(|wanted| received >= wanted) && self.finished.get().is_none() {
            self.finished.set(Some(Instant::now()));
        }
    }
}

/// Runs the consumers described by `args`.
pub fn run(args: &ConsumeArgs) -> Result<Report, BenchError> {
    run_with(args, None)
}

/// [`run`], telling `ready` once every queue's start offset is known (so `e2e` starts the
/// producer only then, and a tail start misses nothing).
pub fn run_with(args: &ConsumeArgs, ready: Option<mpsc::Sender<()>>) -> Result<Report, BenchError> {
    args.check()?;
    let brokers = route::readable(&args.target)?;
    let measure_from = Instant::now() + args.warmup;
    let plan = Plan {
        brokers,
        serialize_type: args.target.header.serialize_type(),
        credentials: args.target.credentials()?,
        measure_from,
        end: measure_from + args.duration,
        args: args.clone(),
        received: Cell::new(0),
        finished: Cell::new(None),
    };
    // In e2e the producer draws the line; two would overwrite each other.
    let mut line = ProgressLine::new(ready.is_none() && std::io::stderr().is_terminal());
    let progress = Arc::new(Progress::default());
    let counters = progress.clone();
    let (done_tx, done_rx) = mpsc::channel();
    let executor = LocalExecutorBuilder::new(Placement::Unbound)
        .name("bench-consume")
        .spawn(move || async move {
            let _ = done_tx.send(consume_main(plan, ready, counters).await);
        })
        .map_err(|error| BenchError::Executor(error.to_string()))?;
    let outcome = loop {
        match done_rx.recv_timeout(Duration::from_secs(1)) {
            Ok(result) => break result,
            Err(mpsc::RecvTimeoutError::Timeout) => line.show(std::slice::from_ref(&progress)),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                break Err(BenchError::Executor(
                    "consumer executor stopped early".into(),
                ))
            }
        }
    };
    line.clear();
    executor
        .join()
        .map_err(|error| BenchError::Executor(error.to_string()))?;
    let (stats, finished) = outcome?;
    let elapsed = finished.map_or(args.duration, |at| {
        at.saturating_duration_since(measure_from)
    });
    Ok(Report::new(&stats, elapsed, args.params()))
}

/// What the consumer executor hands back: its counts and when `--messages` were in.
type Outcome = Result<(Stats, Option<Instant>), BenchError>;

async fn consume_main(
    plan: Plan,
    ready: Option<mpsc::Sender<()>>,
    progress: Arc<Progress>,
) -> Outcome {
    let plan = Rc::new(plan);
    let options = ClientOptions {
        connect_timeout: plan.args.target.timeout,
        request_timeout: plan.args.target.timeout,
        ..ClientOptions::default()
    };
    let stats = Rc::new(RefCell::new(Stats::default()));
    let consumers = plan.args.consumer.consumers.max(1);
    let mut queues = Vec::new();
    for member in 0..consumers {
        for broker in &plan.brokers {
            let connection = Connection::connect_with(broker.addr, &options)
                .await
                .map_err(BenchError::Connect)?;
            for (k, queue_id) in broker.queue_ids.iter().enumerate() {
                if k % consumers == member {
                    let offset = start_offset(&plan, &connection, *queue_id).await?;
                    queues.push((
                        connection.clone(),
                        broker.broker_name.clone(),
                        *queue_id,
                        offset,
                    ));
                }
            }
        }
    }
    if let Some(ready) = ready {
        let _ = ready.send(());
    }
    let tasks: Vec<_> = queues
        .into_iter()
        .map(|(connection, broker_name, queue_id, offset)| {
            let puller = Puller {
                plan: plan.clone(),
                stats: stats.clone(),
                progress: progress.clone(),
                connection,
                broker_name,
                queue_id,
            };
            glommio::spawn_local(async move { puller.run(offset).await })
        })
        .collect();
    for task in tasks {
        task.await;
    }
    let stats = stats.borrow().clone();
    Ok((stats, plan.finished.get()))
}

/// Where a queue's pulls begin: 0 (the broker moves it up to its first offset) or the tail.
async fn start_offset(
    plan: &Plan,
    connection: &Connection,
    queue_id: i32,
) -> Result<i64, BenchError> {
    if plan.args.from == StartFrom::First {
        return Ok(0);
    }
    let mut request = request(plan, request_code::GET_MAX_OFFSET);
    request.set_header(&GetMaxOffsetRequestHeader {
        topic: plan.args.target.topic.clone(),
        queue_id,
        ..GetMaxOffsetRequestHeader::default()
    });
    crate::account::sign(&mut request, plan.credentials.as_ref());
    let response = connection
        .request_ok(request)
        .await
        .map_err(BenchError::Connect)?;
    let header: OffsetResponseHeader = response
        .decode_header()
        .map_err(|error| BenchError::Config(format!("GET_MAX_OFFSET response: {error}")))?;
    Ok(header.offset)
}

fn request(plan: &Plan, code: i32) -> RemotingCommand {
    let mut command = RemotingCommand::request(code, ExtFields::new(), Bytes::new());
    command.serialize_type = plan.serialize_type;
    command
}

/// The pull loop of one queue.
struct Puller {
    plan: Rc<Plan>,
    stats: Rc<RefCell<Stats>>,
    progress: Arc<Progress>,
    connection: Rc<Connection>,
    broker_name: Option<String>,
    queue_id: i32,
}

impl Puller {
    async fn run(self, mut offset: i64) {
        let plan = &*self.plan;
        let suspend = plan.args.consumer.suspend;
        while plan.running() {
            let mut command = request(plan, request_code::PULL_MESSAGE);
            command.set_header(&PullMessageRequestHeader {
                consumer_group: plan.args.consumer.consumer_group.clone(),
                topic: plan.args.target.topic.clone(),
                queue_id: self.queue_id,
                queue_offset: offset,
                max_msg_nums: plan.args.consumer.pull_batch,
                sys_flag: pull_sys_flag::SUSPEND | pull_sys_flag::SUBSCRIPTION,
                commit_offset: 0,
                suspend_timeout_millis: suspend.as_millis() as i64,
                subscription: Some("*".to_owned()),
                sub_version: 0,
                expression_type: Some("TAG".to_owned()),
                broker_name: self.broker_name.clone(),
                ..PullMessageRequestHeader::default()
            });
            crate::account::sign(&mut command, plan.credentials.as_ref());
            let response = self
                .connection
                .request(command, suspend + plan.args.target.timeout)
                .await;
            match self.received(response) {
                Some(next) => offset = next,
                None if self.connection.is_closed() => return,
                None => glommio::timer::sleep(RETRY_PAUSE).await,
            }
        }
    }

    /// Counts a pull's messages; the next offset, or `None` after a failure.
    fn received(&self, response: Result<RemotingCommand, ClientError>) -> Option<i64> {
        let measured = Instant::now() >= self.plan.measure_from;
        let mut stats = self.stats.borrow_mut();
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                self.progress.add(1, 0, 1);
                stats.record_failure(Failure::of(&error));
                return None;
            }
        };
        let code = response.code;
        let header: Option<PullMessageResponseHeader> = response.decode_header().ok();
        match (code, header) {
            (response_code::SUCCESS, Some(header)) => {
                let (messages, bytes) = count_records(&response.body, &mut stats, measured);
                self.progress.add(1, messages, 0);
                if measured {
                    stats.record_success(messages, bytes);
                    self.plan.count(messages);
                }
                Some(header.next_begin_offset)
            }
            (
                response_code::PULL_NOT_FOUND
                | response_code::PULL_RETRY_IMMEDIATELY
                | response_code::PULL_OFFSET_MOVED,
                Some(header),
            ) => {
                self.progress.add(1, 0, 0);
                if measured {
                    stats.record_success(0, 0);
                }
                Some(header.next_begin_offset)
            }
            _ => {
                let error = success(response).err()?;
                self.progress.add(1, 0, 1);
                stats.record_failure(Failure::of(&error));
                None
            }
        }
    }
}

/// Walks the records of a pull body, recording each one's born-to-receipt latency; returns
/// the messages and body bytes. A record that does not parse ends the walk.
fn count_records(body: &[u8], stats: &mut Stats, measured: bool) -> (u64, u64) {
    let now = now_us();
    let (mut messages, mut bytes, mut rest) = (0, 0, body);
    while let Ok(record) = RecordView::parse(rest) {
        messages += 1;
        bytes += record.body().len() as u64;
        let born_us = record
            .property(BORN_US_PROPERTY)
            .and_then(|text| text.parse::<i64>().ok())
            .unwrap_or(record.born_timestamp_ms().saturating_mul(1000));
        if measured {
            let micros = u64::try_from(now.saturating_sub(born_us)).unwrap_or(0);
            stats.record_latency(Duration::from_micros(micros));
        }
        rest = rest.get(record.total_size() as usize..).unwrap_or_default();
    }
    (messages, bytes)
}
