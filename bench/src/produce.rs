//! The producer load. `threads` glommio executors each open `connections` pipelined
//! connections to every broker master of the route and keep `window` requests in flight on
//! each, one sender task per slot (oneway: one task per connection, held back only by the
//! connection's write queue). A connection's senders take its broker's queues round-robin.
//!
//! Figures cover the time after the warm-up only; a request counts where it was sent.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::mpsc;
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use glommio::{LocalExecutorBuilder, Placement};
use shardmq::client::{success, ClientOptions, Connection};

use bytes::Bytes;
use shardmq::client::ClientError;
use shardmq::wire::codes::request_code;
use shardmq::wire::headers::{EndTransactionRequestHeader, SendMessageResponseHeader};
use shardmq::wire::message_id::decode_offset_message_id;
use shardmq::wire::{ExtFields, RemotingCommand};

use crate::args::{ProduceArgs, TransactionEnd};
use crate::message::{now_ms, MessageShape, Template};
use crate::progress::{Progress, ProgressLine};
use crate::report::{process_cpu, HarnessCost, Report};
use crate::route::{self, BrokerQueues};
use crate::stats::{Failure, Stats};
use crate::BenchError;

/// The most a paced sender sends early to make up for time it was held back.
const CATCH_UP_MAX: Duration = Duration::from_secs(1);

/// Everything the executor threads read; fixed before they start.
#[derive(Debug)]
struct Plan {
    brokers: Vec<BrokerQueues>,
    shape: MessageShape,
    /// How half messages are ended, when the load is transactional.
    transaction: Option<TransactionEnd>,
    connections: usize,
    window: usize,
    oneway: bool,
    timeout: Duration,
    /// Between two requests of one sender, when a rate is set.
    interval: Option<Duration>,
    /// Sender tasks over all threads; paced senders spread their first requests over one
    /// interval, so the load arrives evenly rather than in bursts of every sender at once.
    senders: usize,
    /// When the run started: the pacing schedule counts from here.
    start: Instant,
    /// Messages per thread, when the run is bounded by a count.
    budget: Option<u64>,
    measure_from: Instant,
    /// When senders stop, for a run bounded by time.
    end: Option<Instant>,
}

/// What one thread hands back: its counts and when its last request completed.
type ThreadResult = Result<(Stats, Instant), BenchError>;

/// Runs the load described by `args` and reports on it.
pub fn run(args: &ProduceArgs) -> Result<Report, BenchError> {
    args.check()?;
    let brokers = route::writable(&args.target)?;
    let senders_per_thread =
        brokers.len() * args.connections * if args.oneway { 1 } else { args.window };
    let senders = (senders_per_thread * args.threads) as f64;
    let start = Instant::now();
    let measure_from = start + args.warmup;
    let plan = Arc::new(Plan {
        brokers,
        shape: MessageShape {
            group: args.group.clone(),
            topic: args.target.topic.clone(),
            size: args.size,
            batch: args.batch,
            tag: args.tag.clone(),
            keys: args.keys,
            serialize_type: args.target.header.serialize_type(),
            born_property: args.born_property,
            transactional: args.transaction.is_some(),
            credentials: args.target.credentials()?,
        },
        transaction: args.transaction,
        connections: args.connections,
        window: args.window,
        oneway: args.oneway,
        timeout: args.target.timeout,
        interval: args
            .rate
            .map(|rate| Duration::from_secs_f64(senders * args.batch as f64 / rate as f64)),
        senders: senders_per_thread * args.threads,
        start,
        budget: args.messages.map(|n| n.div_ceil(args.threads as u64)),
        measure_from,
        end: args
            .messages
            .is_none()
            .then(|| measure_from + args.duration),
    });
    let cpu_before = process_cpu();
    let (stats, last, requests) = run_threads(&plan, args.threads)?;
    let end = plan.end.unwrap_or(last);
    let mut report = Report::new(
        &stats,
        end.saturating_duration_since(measure_from),
        args.params(),
    );
    report.harness = cpu_before
        .zip(process_cpu())
        .map(|(before, after)| HarnessCost::new(after.saturating_sub(before), requests));
    Ok(report)
}

/// Starts the executor threads, shows progress while they run, and merges their counts.
/// Also returns every request made, warm-up included.
fn run_threads(plan: &Arc<Plan>, threads: usize) -> Result<(Stats, Instant, u64), BenchError> {
    let (done_tx, done_rx) = mpsc::channel::<ThreadResult>();
    let mut handles = Vec::with_capacity(threads);
    let mut progress = Vec::with_capacity(threads);
    for index in 0..threads {
        let (plan, done, counters) = (plan.clone(), done_tx.clone(), Arc::new(Progress::default()));
        progress.push(counters.clone());
        let handle = LocalExecutorBuilder::new(Placement::Unbound)
            .name(&format!("bench-{index}"))
            .spawn(move || async move {
                let _ = done.send(thread_main(plan, index, counters).await);
            })
            .map_err(|error| BenchError::Executor(error.to_string()))?;
        handles.push(handle);
    }
    drop(done_tx);
    let mut merged = Stats::default();
    let mut last = plan.measure_from;
    let mut line = ProgressLine::on_terminal();
    let mut finished = 0;
    while finished < threads {
        match done_rx.recv_timeout(Duration::from_secs(1)) {
            Ok(result) => {
                let (stats, finish) = result?;
                merged.merge(&stats);
                last = last.max(finish);
                finished += 1;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => line.show(&progress),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    line.clear();
    for handle in handles {
        handle
            .join()
            .map_err(|error| BenchError::Executor(error.to_string()))?;
    }
    if finished < threads {
        return Err(BenchError::Executor(
            "an executor thread stopped early".into(),
        ));
    }
    let requests = progress.iter().map(|counters| counters.read()[0]).sum();
    Ok((merged, last, requests))
}

/// What the senders of one thread share.
struct Shared {
    plan: Arc<Plan>,
    stats: RefCell<Stats>,
    progress: Arc<Progress>,
    budget: Cell<Option<u64>>,
    last: Cell<Instant>,
    ticker: Rc<Ticker>,
}

/// Wakes the thread's paced senders at their release times with one timer for all of them.
/// A timer per sender made every request pay for a timer and a wake-up of its own: paced,
/// the harness spent 7 µs per request and was the bottleneck at 120k/s.
#[derive(Default)]
struct Ticker {
    /// Senders waiting, by release time.
    waiting: RefCell<BTreeMap<Instant, Vec<Waker>>>,
    /// The timer task, parked while nobody waits.
    task: RefCell<Option<Waker>>,
}

impl Ticker {
    /// Returns at `release`.
    async fn until(&self, release: Instant) {
        std::future::poll_fn(|cx| {
            if Instant::now() >= release {
                return Poll::Ready(());
            }
            let mut waiting = self.waiting.borrow_mut();
            waiting.entry(release).or_default().push(cx.waker().clone());
            if let Some(task) = self.task.borrow_mut().take() {
                task.wake();
            }
            Poll::Pending
        })
        .await
    }

    /// The timer task: sleeps until the earliest release and wakes every sender due by then.
    /// Releases lie on the [`TICK`] grid at or after the time they were asked for, so one
    /// asked for later is never earlier than the one being slept for.
    async fn run(self: Rc<Self>) {
        loop {
            let first = self.waiting.borrow().keys().next().copied();
            let Some(first) = first else {
                std::future::poll_fn(|cx| {
                    if self.waiting.borrow().is_empty() {
                        *self.task.borrow_mut() = Some(cx.waker().clone());
                        return Poll::Pending;
                    }
                    Poll::Ready(())
                })
                .await;
                continue;
            };
            let now = Instant::now();
            if first > now {
                glommio::timer::sleep(first - now).await;
            }
            let due = {
                let mut waiting = self.waiting.borrow_mut();
                let later = waiting.split_off(&(Instant::now() + Duration::from_nanos(1)));
                std::mem::replace(&mut *waiting, later)
            };
            for waker in due.into_values().flatten() {
                waker.wake();
            }
        }
    }
}

async fn thread_main(plan: Arc<Plan>, index: usize, progress: Arc<Progress>) -> ThreadResult {
    let options = ClientOptions {
        connect_timeout: plan.timeout,
        request_timeout: plan.timeout,
        in_flight_max: plan.window,
        ..ClientOptions::default()
    };
    let shared = Rc::new(Shared {
        budget: Cell::new(plan.budget),
        plan: plan.clone(),
        stats: RefCell::new(Stats::default()),
        progress,
        last: Cell::new(Instant::now()),
        ticker: Rc::default(),
    });
    if plan.interval.is_some() {
        glommio::spawn_local(Rc::clone(&shared.ticker).run()).detach();
    }
    let per_connection = if plan.oneway { 1 } else { plan.window };
    let per_thread = plan.brokers.len() * plan.connections * per_connection;
    let mut tasks = Vec::new();
    for broker in &plan.brokers {
        let queues: Rc<[i32]> = broker.queue_ids.clone().into();
        for slot in 0..plan.connections {
            let connection = Connection::connect_with(broker.addr, &options)
                .await
                .map_err(BenchError::Connect)?;
            // Threads and connections start at different queues so that together they
            // cover all queues evenly from the first request.
            let cursor = Rc::new(Cell::new(index * plan.connections + slot));
            for _ in 0..per_connection {
                let sender = Sender {
                    shared: shared.clone(),
                    connection: connection.clone(),
                    queues: queues.clone(),
                    cursor: cursor.clone(),
                    id: (index * 1_000_000 + tasks.len()) as u32,
                    phase: index * per_thread + tasks.len(),
                };
                let name = broker.broker_name.clone();
                tasks.push(glommio::spawn_local(async move { sender.run(name).await }));
            }
        }
    }
    for task in tasks {
        task.await;
    }
    let stats = shared.stats.borrow().clone();
    Ok((stats, shared.last.get()))
}

/// One request slot of one connection.
struct Sender {
    shared: Rc<Shared>,
    connection: Rc<Connection>,
    queues: Rc<[i32]>,
    cursor: Rc<Cell<usize>>,
    id: u32,
    /// This sender's place among all senders, for its first paced slot.
    phase: usize,
}

impl Sender {
    async fn run(self, broker_name: Option<String>) {
        let plan = &self.shared.plan;
        let mut template = Template::new(&plan.shape, broker_name.as_deref(), self.id, now_ms());
        let mut pacer = Pacer::new(plan.interval, plan.start, self.phase, plan.senders);
        loop {
            if plan.end.is_some_and(|end| Instant::now() >= end) || !self.take(template.batch()) {
                return;
            }
            let due = pacer.wait(&self.shared.ticker).await;
            let cursor = self.cursor.get();
            self.cursor.set(cursor.wrapping_add(1));
            let queue_id = self.queues[cursor % self.queues.len()];
            let command = template.next(queue_id, now_ms());
            let sent = Instant::now();
            let outcome = if plan.oneway {
                let outcome = self.connection.oneway(command).await;
                glommio::yield_if_needed().await;
                outcome.map(|()| false)
            } else {
                let response = self.connection.request(command, plan.timeout).await;
                match (response.and_then(success), plan.transaction) {
                    (Ok(answer), Some(end)) => self.end_transaction(&answer, end).await,
                    (answer, _) => answer.map(|_| true),
                }
            };
            let origin = due.map_or(sent, |due| due.min(sent));
            if !self.record(sent, origin, outcome, &template) {
                return;
            }
        }
    }

    /// Ends the half message `answer` acknowledged with a oneway END_TRANSACTION, as a
    /// Java `TransactionMQProducer` does once its local transaction returns.
    async fn end_transaction(
        &self,
        answer: &RemotingCommand,
        end: TransactionEnd,
    ) -> Result<bool, ClientError> {
        let commit_or_rollback = match end {
            TransactionEnd::Commit => 8,
            TransactionEnd::Rollback => 12,
            TransactionEnd::Open => return Ok(true),
        };
        let invalid = |what: String| ClientError::Remote {
            code: answer.code,
            remark: Some(format!("a send answer without a usable {what}")),
        };
        let sent: SendMessageResponseHeader =
            answer.decode_header().map_err(|e| invalid(e.to_string()))?;
        let (_, offset) =
            decode_offset_message_id(&sent.msg_id).map_err(|e| invalid(e.to_string()))?;
        let header = EndTransactionRequestHeader {
            producer_group: self.shared.plan.shape.group.clone(),
            tran_state_table_offset: sent.queue_offset,
            commit_log_offset: offset.0 as i64,
            commit_or_rollback,
            msg_id: sent.transaction_id.clone().unwrap_or_default(),
            from_transaction_check: Some(false),
            transaction_id: sent.transaction_id,
            ..EndTransactionRequestHeader::default()
        };
        let mut command = RemotingCommand::request(
            request_code::END_TRANSACTION,
            ExtFields::new(),
            Bytes::new(),
        );
        command.set_header(&header);
        let credentials = self.shared.plan.shape.credentials.as_ref();
        crate::account::sign(&mut command, credentials);
        self.connection.oneway(command).await.map(|()| true)
    }

    /// Takes `batch` messages from the thread's budget; false when it is spent.
    fn take(&self, batch: usize) -> bool {
        match self.shared.budget.get() {
            None => true,
            Some(0) => false,
            Some(left) => {
                self.shared
                    .budget
                    .set(Some(left.saturating_sub(batch as u64)));
                true
            }
        }
    }

    /// Counts one request sent at `sent` (latency from `origin`); `Ok(true)` is a response.
    /// False when the connection is gone and the sender should stop.
    fn record(
        &self,
        sent: Instant,
        origin: Instant,
        outcome: Result<bool, shardmq::client::ClientError>,
        template: &Template,
    ) -> bool {
        let now = Instant::now();
        self.shared.last.set(now);
        let measured = sent >= self.shared.plan.measure_from;
        let mut stats = self.shared.stats.borrow_mut();
        let batch = template.batch() as u64;
        match outcome {
            Ok(answered) => {
                self.shared.progress.add(1, batch, 0);
                if measured {
                    stats.record_success(batch, template.body_bytes() as u64);
                    if answered {
                        stats.record_latency(now - origin);
                    }
                }
                true
            }
            Err(error) => {
                let failure = Failure::of(&error);
                self.shared.progress.add(1, 0, 1);
                if measured {
                    stats.record_failure(failure);
                    if matches!(failure, Failure::Code(_)) {
                        stats.record_latency(now - origin);
                    }
                }
                failure != Failure::Closed
            }
        }
    }
}

/// Spaces one sender's requests `interval` apart, when a rate is set.
struct Pacer {
    interval: Option<Duration>,
    /// When the next request is due.
    slot: Instant,
    /// Where the release grid starts (see [`TICK`]).
    start: Instant,
}

/// Paced requests are released on a grid of this step: those due within one step go out
/// together, as traffic from many producers arrives. Spread evenly over the microseconds,
/// each request would cost both ends a timer, a send and a receive of its own (the harness
/// measured 6.7 µs per request that way at 140k/s, CPU-bound), which no real workload pays.
const TICK: Duration = Duration::from_micros(100);

impl Pacer {
    /// The pacer of sender `phase` of `senders`: its first slot is `phase / senders` of an
    /// interval after `start`, so that together the senders send one request every
    /// `interval / senders`.
    fn new(interval: Option<Duration>, start: Instant, phase: usize, senders: usize) -> Pacer {
        let offset = interval.map_or(Duration::ZERO, |interval| {
            interval.mul_f64(phase as f64 / senders.max(1) as f64)
        });
        Pacer {
            interval,
            slot: start + offset,
            start,
        }
    }

    /// Waits for the release of the next slot (the first grid point at or after it) and
    /// returns the slot. Paced, latency counts from the slot, the wait for the grid
    /// included, so a slow broker that holds the senders back shows in the latency, not
    /// only in a lower rate.
    async fn wait(&mut self, ticker: &Ticker) -> Option<Instant> {
        let interval = self.interval?;
        let now = Instant::now();
        // A sender that fell behind catches up (the offered load stays the target), but by
        // at most a second's backlog, so a stall does not end in a burst.
        self.slot = self.slot.max(now.checked_sub(CATCH_UP_MAX).unwrap_or(now));
        let release = self.release(self.slot);
        if release > now {
            ticker.until(release).await;
        }
        let due = self.slot;
        self.slot += interval;
        Some(due)
    }

    /// The first grid point at or after `slot`.
    fn release(&self, slot: Instant) -> Instant {
        let since = slot.saturating_duration_since(self.start).as_nanos();
        let tick = TICK.as_nanos();
        let steps = since.div_ceil(tick);
        self.start + Duration::from_nanos((steps * tick) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paced_senders_spread_over_one_interval() {
        let start = Instant::now();
        let interval = Duration::from_millis(100);
        let firsts: Vec<Duration> = (0..4)
            .map(|phase| Pacer::new(Some(interval), start, phase, 4).slot - start)
            .collect();
        let millis: Vec<u128> = firsts.iter().map(Duration::as_millis).collect();
        assert_eq!(millis, [0, 25, 50, 75]);
        let unpaced = Pacer::new(None, start, 3, 4);
        assert_eq!(unpaced.slot, start);
    }

    #[test]
    fn requests_are_released_on_the_tick_grid() {
        let start = Instant::now();
        let pacer = Pacer::new(Some(Duration::from_micros(7)), start, 0, 1);
        let at = |us| start + Duration::from_micros(us);
        assert_eq!(pacer.release(at(0)), at(0));
        assert_eq!(pacer.release(at(1)), at(100));
        assert_eq!(pacer.release(at(100)), at(100));
        assert_eq!(pacer.release(at(101)), at(200));
    }
}
