//! Starting the shards, running them to the end of a graceful shutdown, collecting results.
//!
//! Owns the per-shard threads and each shard's life cycle:
//! connect the mesh → run the factory's future → wait for shutdown → drain the gate →
//! barrier with every other shard → stop the mailboxes → return the output.
//! Invariants: any failure (start error, shard error, panic) triggers shutdown everywhere, so
//! `launch` always returns; the error reported is the one that triggered shutdown.

use std::{any::Any, fmt, future::Future, thread, time::Duration};

use futures_lite::future;
use glommio::{LocalExecutorBuilder, Placement};

use crate::{
    config::Config,
    heap,
    mesh::{self, MeshEnds},
    preflight::{self, StartError},
    shard::{Core, Queues, Shard},
    shutdown::{Reason, ShutdownHandle},
    signals, ShardId,
};

/// Why `launch` failed.
#[derive(Debug)]
pub enum LaunchError<E> {
    /// The shards could not start.
    Start(StartError),
    /// A shard's future returned this error.
    Shard { shard: ShardId, error: E },
    /// A shard panicked.
    Panicked { shard: ShardId, message: String },
}

impl<E: fmt::Display> fmt::Display for LaunchError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LaunchError::Start(error) => write!(f, "start-up failed: {error}"),
            LaunchError::Shard { shard, error } => write!(f, "{shard} failed: {error}"),
            LaunchError::Panicked { shard, message } => write!(f, "{shard} panicked: {message}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for LaunchError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LaunchError::Start(error) => Some(error),
            LaunchError::Shard { error, .. } => Some(error),
            LaunchError::Panicked { .. } => None,
        }
    }
}

impl<E> From<StartError> for LaunchError<E> {
    fn from(error: StartError) -> Self {
        LaunchError::Start(error)
    }
}

/// How one shard thread ended.
enum Outcome<T, E> {
    Done(T),
    Failed(E),
    StartFailed(StartError),
    /// Another shard failed to start before this one connected; its error explains it.
    Aborted,
}

/// Starts the shards; see [`launch`]. Use it to get a [`ShutdownHandle`] before running.
#[derive(Debug)]
pub struct Launcher {
    config: Config,
    shutdown: ShutdownHandle,
}

/// Runs `factory(shard)` on every shard and blocks until all have shut down.
///
/// Shards stay up after their future returns, serving their mailboxes, until shutdown is
/// triggered (a signal, a [`ShutdownHandle`], or any shard failing). Returns every shard's
/// output in shard order, or the error that caused the shutdown.
pub fn launch<M, R, F, Fut, T, E>(config: Config, factory: F) -> Result<Vec<T>, LaunchError<E>>
where
    M: Send + 'static,
    R: Send + 'static,
    F: Fn(Shard<M, R>) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    Launcher::new(config).run(factory)
}

impl Launcher {
    /// A launcher with a fresh shutdown handle; nothing starts until [`Launcher::run`].
    pub fn new(config: Config) -> Self {
        Launcher {
            config,
            shutdown: ShutdownHandle::new(),
        }
    }

    /// Uses `shutdown` instead of a fresh handle (e.g. one shared with other subsystems).
    pub fn with_shutdown(mut self, shutdown: ShutdownHandle) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// The handle that shuts this launch down; valid before and during [`Launcher::run`].
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// See [`launch`].
    pub fn run<M, R, F, Fut, T, E>(self, factory: F) -> Result<Vec<T>, LaunchError<E>>
    where
        M: Send + 'static,
        R: Send + 'static,
        F: Fn(Shard<M, R>) -> Fut + Clone + Send + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let Launcher { config, shutdown } = self;
        preflight::preflight(&config)?;
        heap::keep_freed_buffers();
        let cpus = preflight::allowed_cpus()?;
        let _signals = if config.handle_signals {
            signals::install(shutdown.clone()).map_err(StartError::Signals)?
        } else {
            None
        };
        let start_failed = ShutdownHandle::new();
        let deaths: Vec<ShutdownHandle> =
            config.shard_ids().map(|_| ShutdownHandle::new()).collect();
        let ends = mesh::build::<M, R>(config.shards, config.mailbox_capacity);
        let mut threads = Vec::with_capacity(config.shards);
        for (index, ends) in ends.into_iter().enumerate() {
            let shard = ShardId::new(index);
            // More shards than CPUs wrap around: still pinned, just sharing.
            let cpu = cpus[index % cpus.len()];
            let body = ShardThread {
                shard,
                cpu,
                config: config.clone(),
                shutdown: shutdown.clone(),
                start_failed: start_failed.clone(),
                deaths: deaths.clone(),
                ends,
                factory: factory.clone(),
            };
            let spawned = thread::Builder::new()
                .name(format!("{}-{index}", config.name))
                .spawn(move || body.run());
            match spawned {
                Ok(handle) => threads.push((shard, handle)),
                Err(source) => {
                    start_failed.trigger();
                    shutdown.fire(Reason::ShardFailed(shard));
                    threads.push((shard, failed_thread(StartError::Thread { shard, source })));
                }
            }
        }
        collect(threads, &shutdown)
    }
}

/// A stand-in join handle for a shard whose thread could not be spawned.
fn failed_thread<T: Send + 'static, E: Send + 'static>(
    error: StartError,
) -> thread::JoinHandle<Outcome<T, E>> {
    // A plain thread with no executor only hands the error back; if even this fails the
    // process cannot create threads and the panic below is the clearest report.
    thread::spawn(move || Outcome::StartFailed(error))
}

fn collect<T, E>(
    threads: Vec<(ShardId, thread::JoinHandle<Outcome<T, E>>)>,
    shutdown: &ShutdownHandle,
) -> Result<Vec<T>, LaunchError<E>> {
    let mut outputs = Vec::with_capacity(threads.len());
    let mut errors = Vec::new();
    let mut aborted = false;
    for (shard, handle) in threads {
        match handle.join() {
            Ok(Outcome::Done(output)) => outputs.push(output),
            Ok(Outcome::Failed(error)) => errors.push(LaunchError::Shard { shard, error }),
            Ok(Outcome::StartFailed(error)) => errors.push(LaunchError::Start(error)),
            Ok(Outcome::Aborted) => aborted = true,
            Err(payload) => errors.push(LaunchError::Panicked {
                shard,
                message: panic_message(payload.as_ref()),
            }),
        }
    }
    // Prefer the failure that started the shutdown; the others are usually its echoes.
    let culprit = match shutdown.reason() {
        Some(Reason::ShardFailed(shard)) => Some(shard),
        _ => None,
    };
    let position = errors
        .iter()
        .position(|error| culprit.is_some_and(|c| failed_shard(error) == Some(c)))
        .unwrap_or(0);
    if position < errors.len() {
        return Err(errors.swap_remove(position));
    }
    if aborted {
        return Err(LaunchError::Start(StartError::PeerFailed));
    }
    Ok(outputs)
}

fn failed_shard<E>(error: &LaunchError<E>) -> Option<ShardId> {
    match error {
        LaunchError::Shard { shard, .. } | LaunchError::Panicked { shard, .. } => Some(*shard),
        LaunchError::Start(StartError::Executor { shard, .. })
        | LaunchError::Start(StartError::Thread { shard, .. }) => Some(*shard),
        LaunchError::Start(_) => None,
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// Longest time a shard sleeps without looking at its task queues.
///
/// glommio 0.9 can park an executor that still has runnable tasks (see `Queues::create`);
/// a periodic timer bounds such a stall to one tick at the cost of a few wake-ups a second.
const HEARTBEAT: Duration = Duration::from_millis(50);

async fn heartbeat() {
    loop {
        glommio::timer::sleep(HEARTBEAT).await;
    }
}

/// Everything one shard thread needs.
struct ShardThread<M: Send, R: Send, F> {
    shard: ShardId,
    cpu: usize,
    config: Config,
    shutdown: ShutdownHandle,
    /// Fired when a shard cannot start, so that the others stop waiting for it to connect.
    start_failed: ShutdownHandle,
    /// One per shard, fired when that shard's thread unwinds.
    deaths: Vec<ShutdownHandle>,
    ends: MeshEnds<M, R>,
    factory: F,
}

/// Triggers shutdown if the shard thread unwinds, so the other shards do not wait for it.
struct PanicGuard {
    shard: ShardId,
    shutdown: ShutdownHandle,
    start_failed: ShutdownHandle,
    death: ShutdownHandle,
}

impl Drop for PanicGuard {
    fn drop(&mut self) {
        if thread::panicking() {
            self.start_failed.trigger();
            self.shutdown.fire(Reason::ShardFailed(self.shard));
            self.death.trigger();
        }
    }
}

impl<M, R, F, Fut, T, E> ShardThread<M, R, F>
where
    M: Send + 'static,
    R: Send + 'static,
    F: Fn(Shard<M, R>) -> Fut,
    Fut: Future<Output = Result<T, E>> + 'static,
{
    fn run(self) -> Outcome<T, E> {
        let _guard = PanicGuard {
            shard: self.shard,
            shutdown: self.shutdown.clone(),
            start_failed: self.start_failed.clone(),
            death: self.deaths[self.shard.index()].clone(),
        };
        let mut builder = LocalExecutorBuilder::new(Placement::Fixed(self.cpu))
            .name(&format!("{}-{}", self.config.name, self.shard.index()))
            .io_memory(self.config.io_memory_bytes)
            .ring_depth(self.config.ring_depth);
        if let Some(spin) = self.config.spin_before_park {
            builder = builder.spin_before_park(spin);
        }
        match builder.make() {
            Ok(executor) => executor.run(self.lifecycle()),
            Err(error) => {
                self.start_failed.trigger();
                self.shutdown.fire(Reason::ShardFailed(self.shard));
                self.deaths[self.shard.index()].trigger();
                Outcome::StartFailed(StartError::Executor {
                    shard: self.shard,
                    reason: error.to_string(),
                })
            }
        }
    }

    async fn lifecycle(self) -> Outcome<T, E> {
        let ShardThread {
            shard: id,
            config,
            shutdown,
            start_failed,
            deaths,
            ends,
            factory,
            ..
        } = self;
        let queues = Queues::create(&config);
        // Connecting waits for every peer; only a peer that failed to start can stop it. A
        // shutdown requested meanwhile is honoured after start, through the gate.
        let connect = async { Some(ends.connect().await) };
        let failed = async {
            start_failed.triggered().await;
            None
        };
        let Some(links) = future::or(connect, failed).await else {
            return Outcome::Aborted;
        };
        let heartbeat = glommio::spawn_local(heartbeat());
        let core = Core::new(id, config.shards, shutdown.clone(), queues);
        let shard = Shard::start(core, links, &config, &deaths);
        let gate = shard.gate().clone();
        let watcher = glommio::spawn_local(async move {
            shutdown.triggered().await;
            gate.close();
        });
        let result = factory(shard.clone()).await;
        if result.is_err() {
            shard.shutdown_handle().fire(Reason::ShardFailed(id));
        }
        watcher.await;
        shard.gate().drained().await;
        shard.finish().await;
        heartbeat.cancel().await;
        match result {
            Ok(output) => Outcome::Done(output),
            Err(error) => Outcome::Failed(error),
        }
    }
}
