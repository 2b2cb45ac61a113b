//! The broker process: one logical broker per shard, each on its own ports.
//!
//! # Port scheme
//!
//! Shard `k` listens on `listenPort + 4k` (its main port) and on `main − 2` (RocketMQ's "fast"
//! or VIP port, served by the same handlers); `main + 1` stays free for its HA port. With the
//! default `listenPort` 10911 and two shards: shard 0 uses 10909/10911(/10912), shard 1 uses
//! 10913/10915(/10916). Every shard registers its main port with the NameServer as its own
//! broker, so stock clients send each queue's traffic straight to the core that owns it.
//!
//! With `embeddedNamesrv` (the default) shard 0 also serves the NameServer on
//! `namesrvListenPort` (9876). `shardmq namesrv` runs a NameServer alone, on one shard.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

use std::path::{Path, PathBuf};

use crate::acl::{self, Acl, AclTable};
use crate::broker::clients::offsets::{ConsumerOffsets, OffsetFileError};
use crate::broker::context::Saved;
use crate::broker::metadata::groups::{self, GroupTable};
use crate::broker::metadata::layout::{self, StoreLayout};
use crate::broker::metadata::topics::{self, TopicTable};
use crate::broker::replication;
use crate::broker::scheduled::{schedule, timer};
use crate::broker::{context, BrokerContext, BrokerShard, ShardMsg};
use crate::clock::Clock;
use crate::config::ports::{FAST_PORT_OFFSET, HA_PORT_OFFSET, SHARD_PORT_STRIDE};
use crate::config::NamesrvConfig;
use crate::config::{shard_ports, BrokerConfig, BrokerRole, MetricsExporter};
use crate::dispatch::Dispatcher;
use crate::ha::{self, master::ShardLog, slave::MasterAddrs};
use crate::metrics;
use crate::namesrv::{KvConfig, NameServer};
use crate::net::{self, Server, ShardBudget};
use crate::storage::io::{use_registered_memory, Disk};
use crate::storage::lock::{LockError, StoreLock};
use crate::storage::store::Store;
use crate::storage::StoreResult;

/// How often a shard's store checkpoints (RocketMQ flushes its checkpoint about this often).
const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// How often a shard looks at its disk and the hour for retention.
const RETENTION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// Why the broker or NameServer could not start, or stopped with an error.
#[derive(Debug)]
pub enum ServerError {
    Ports {
        listen_port: u16,
        shards: usize,
    },
    Bind {
        addr: SocketAddr,
        error: io::Error,
    },
    Store {
        path: PathBuf,
        error: String,
    },
    /// The NameServer's KV config file could not be read.
    KvConfig(String),
    /// Another process holds the store.
    Locked(LockError),
    /// The ACL file cannot be used, or the broker's own account is not in it.
    Acl(String),
    Runtime(String),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Ports { listen_port, shards } => write!(
                f,
                "listenPort {listen_port} with {shards} shards needs ports {}..{}, outside 1..=65535",
                i64::from(*listen_port) - i64::from(FAST_PORT_OFFSET),
                i64::from(*listen_port)
                    + i64::from(SHARD_PORT_STRIDE) * (*shards as i64 - 1)
                    + i64::from(HA_PORT_OFFSET)
            ),
            ServerError::Bind { addr, error } => write!(f, "cannot listen on {addr}: {error}"),
            ServerError::Store { path, error } => {
                write!(f, "store directory {}: {error}", path.display())
            }
            ServerError::Locked(error) => write!(f, "{error}"),
            ServerError::KvConfig(why) => write!(f, "NameServer KV config: {why}"),
            ServerError::Acl(why) => f.write_str(why),
            ServerError::Runtime(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ServerError {}

/// Runs the broker until SIGINT/SIGTERM, then shuts it down gracefully: shard 0 first has
/// every shard unregister from the NameServers, then closes the embedded NameServer.
pub fn run_broker(mut config: BrokerConfig) -> Result<(), ServerError> {
    open_files_limit();
    let mut runtime = shards::Config {
        name: "shardmq".into(),
        spin_before_park: Some(config.spin_before_park).filter(|spin| !spin.is_zero()),
        ..shards::Config::default()
    };
    if let Some(shards) = config.shards {
        runtime.shards = shards;
    }
    let shards = runtime.shards;
    runtime.io_memory_bytes = io_memory(&config, &runtime);
    // What GET_BROKER_CONFIG shows: the count and the memory in use, whoever chose them.
    config.shards = Some(shards);
    config.io_memory_bytes_per_shard = Some(runtime.io_memory_bytes);
    if (0..shards).any(|k| shard_ports(config.listen_port, k).is_none()) {
        return Err(ServerError::Ports {
            listen_port: config.listen_port,
            shards,
        });
    }
    let root = config.store_path_root_dir.clone();
    std::fs::create_dir_all(&root).map_err(|error| ServerError::Store {
        path: root.clone(),
        error: error.to_string(),
    })?;
    // Held until the shards have stopped: nothing else may write this store meanwhile.
    let _lock = StoreLock::acquire(&root).map_err(ServerError::Locked)?;
    // The shards' clocks do not run yet; the tables loaded before them take the system's.
    let started_ms = Clock::system().wall_ms();
    let table = open_topics(&root, &config, shards, started_ms)?;
    let file = groups::groups_file(&root);
    let store_error = |error| ServerError::Store {
        path: file.clone(),
        error,
    };
    let groups = groups::load(&file)
        .map_err(store_error)?
        .with_system_groups(started_ms);
    // Whole again, its journal folded in (see broker::metadata::journal).
    groups::save(&file, &groups).map_err(|e| store_error(e.to_string()))?;
    let tables = (table, groups);
    let acl = acl::load_configured(&config.acl).map_err(ServerError::Acl)?;
    if let (Some((path, table)), true) = (&acl, config.embedded_namesrv) {
        let own = config.acl.credentials();
        acl::check_own_account(table, path, own.as_ref()).map_err(ServerError::Acl)?;
    }
    let namesrv = embedded_namesrv(&config)?;
    let result = shards::launch(runtime, move |shard: BrokerShard| {
        let (tables, namesrv, acl) = (tables.clone(), namesrv.clone(), acl.clone());
        run_shard(shard, config.clone(), tables, namesrv, acl)
    });
    result
        .map(drop)
        .map_err(|error| ServerError::Runtime(error.to_string()))
}

/// Of the memory this process may use, the part all shards together register by default:
/// the registered memory is resident from start-up, so a small container must still start
/// and have room for the rest.
const IO_MEMORY_SHARE_OF_MEMORY: u64 = 4;

/// The memory each shard registers with io_uring: `ioMemoryBytesPerShard`, or else what its
/// log's blocks take in steady use, at most a quarter of the process's memory over all shards
/// and cut to what the locked-memory limit holds. A block from registered memory is written
/// and read without the kernel pinning its pages for each transfer (bench/RESULTS.md,
/// "Registered buffers"); past it, blocks come from the heap.
fn io_memory(config: &BrokerConfig, runtime: &shards::Config) -> usize {
    if let Some(bytes) = config.io_memory_bytes_per_shard {
        return bytes;
    }
    let blocks = context::store_config(config, 0).log.buffer_bytes();
    let wanted = memory_share(blocks, shards::memory_limit_bytes(), runtime.shards);
    if wanted < blocks {
        tracing::info!(
            per_shard = wanted,
            blocks,
            "registered io memory per shard cut to a quarter of this process's memory over \
             its shards; ioMemoryBytesPerShard sets it"
        );
    }
    let fits = shards::io_memory_within_memlock(runtime, wanted);
    if fits < wanted {
        let full = shards::Config {
            io_memory_bytes: wanted,
            ..runtime.clone()
        };
        let needed_kib = shards::memlock_required(&full).div_ceil(1024);
        tracing::warn!(
            registered = fits,
            wanted,
            "the locked-memory limit holds less registered io memory than the log's blocks \
             take: blocks past it pin their pages for every write and read; raise \
             `ulimit -l` to {needed_kib} KiB (docs/operations.md, \"Locked memory\")"
        );
    }
    fits
}

/// `blocks`, at most a [`IO_MEMORY_SHARE_OF_MEMORY`]th of `memory` over `shards`.
fn memory_share(blocks: usize, memory: Option<u64>, shards: usize) -> usize {
    let share = memory.map_or(u64::MAX, |bytes| {
        bytes / IO_MEMORY_SHARE_OF_MEMORY / shards.max(1) as u64
    });
    blocks.min(usize::try_from(share).unwrap_or(usize::MAX))
}

/// Open files a broker with tens of thousands of queues and connections needs: each
/// ConsumeQueue segment holding data keeps a descriptor, as in Java, and so does each
/// connection.
const OPEN_FILES_WANTED: u64 = 65_536;

/// Raises the open-files limit as far as the process may, and says when it stays low.
fn open_files_limit() {
    match shards::raise_open_files_limit() {
        Ok((limit, _)) if limit < OPEN_FILES_WANTED => tracing::warn!(
            limit,
            wanted = OPEN_FILES_WANTED,
            "open-files limit is low: every ConsumeQueue file holding data and every \
             connection takes a descriptor, so tens of thousands of queues run out (EMFILE); \
             raise `ulimit -n` (docs/operations.md)"
        ),
        Ok((limit, before)) if limit != before => {
            tracing::info!(limit, before, "open-files limit raised to the hard limit");
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "cannot raise the open-files limit"),
    }
}

/// The topic table of the store at `root`, which must belong to `shards` shards (see
/// [`layout`]); records the count once the topics are stored in the placed layout.
fn open_topics(
    root: &Path,
    config: &BrokerConfig,
    shards: usize,
    now_ms: i64,
) -> Result<TopicTable, ServerError> {
    let asked = match config.shards {
        Some(_) => "from --shards or shards= in broker.conf".to_owned(),
        None => "one per CPU this process may use; --shards sets it".to_owned(),
    };
    let store_error = |path: &Path| {
        let path = path.to_owned();
        move |error| ServerError::Store { path, error }
    };
    let found = layout::check(root, shards, &asked).map_err(store_error(root))?;
    let file = topics::topics_file(root);
    let stored = topics::load(&file).map_err(store_error(&file))?;
    let table =
        TopicTable::open(stored, found, config, shards, now_ms).map_err(store_error(&file))?;
    // Whole again, its journal folded in (see broker::metadata::journal), and in the placed
    // layout before the shard count that says it is.
    topics::save(&file, &table).map_err(|e| store_error(&file)(e.to_string()))?;
    if found != StoreLayout::Placed {
        let record = layout::shards_file(root);
        layout::record(root, shards).map_err(|e| store_error(&record)(e.to_string()))?;
    }
    Ok(table)
}

/// The embedded NameServer's settings and KV config: Java's defaults, on `listenAddr` and
/// `namesrvListenPort`, its KV config in `<storePathRootDir>/namesrv/kvConfig.json` (guarded
/// by the store's lock). `None` without an embedded NameServer.
fn embedded_namesrv(
    config: &BrokerConfig,
) -> Result<Option<(NamesrvConfig, KvConfig)>, ServerError> {
    if !config.embedded_namesrv {
        return Ok(None);
    }
    let namesrv = NamesrvConfig {
        listen_addr: config.listen_addr,
        listen_port: config.namesrv_listen_port,
        kv_config_path: Some(
            config
                .store_path_root_dir
                .join("namesrv")
                .join("kvConfig.json"),
        ),
        ..NamesrvConfig::default()
    };
    let kv = load_kv(&namesrv)?;
    Ok(Some((namesrv, kv)))
}

/// The KV config in `kvConfigPath`, read before the shards start.
fn load_kv(config: &NamesrvConfig) -> Result<KvConfig, ServerError> {
    match &config.kv_config_path {
        Some(path) => KvConfig::load(path).map_err(ServerError::KvConfig),
        None => Ok(KvConfig::new()),
    }
}

async fn run_shard(
    shard: BrokerShard,
    config: BrokerConfig,
    tables: (TopicTable, GroupTable),
    namesrv: Option<(NamesrvConfig, KvConfig)>,
    acl: Option<(PathBuf, AclTable)>,
) -> Result<(), ServerError> {
    let index = shard.id().index();
    let acl = shard_acl(&shard, acl)?;
    // Held until every connection has drained, so the runtime waits for them.
    let pass = shard
        .gate()
        .enter()
        .map_err(|_| ServerError::Runtime("shutting down".into()))?;
    let config = Rc::new(config);
    let (ctx, background) = open_shard(&shard, &config, tables).await?;
    // The embedded NameServer is bound before shard 0 serves the mesh, and every other shard
    // waits for that, so no first registration meets a closed port.
    let namesrv = match namesrv {
        Some((namesrv, kv)) if index == 0 => {
            Some(start_namesrv(&shard, &namesrv, kv, acl.clone())?)
        }
        _ => None,
    };
    let budget = Rc::new(ShardBudget::new(
        config.max_connections_per_shard,
        config.max_queued_response_bytes_per_shard,
    ));
    let dispatcher = Rc::new(Dispatcher::new(ctx.clone(), budget.clone(), acl));
    let server = Server::new(dispatcher.clone(), budget);
    for port in [ctx.identity.ports.main, ctx.identity.ports.fast] {
        let addr = SocketAddr::new(config.listen_addr, port);
        let listener = net::bind(addr).map_err(|error| ServerError::Bind { addr, error })?;
        shard
            .spawn_foreground(server.clone().run(listener))
            .detach();
        tracing::info!(shard = index, broker = %ctx.identity.broker_name, %addr, "listening");
    }
    if index == 0 && config.metrics.exporter == MetricsExporter::Prometheus {
        let addr = metrics::endpoint(&config);
        let listener = net::bind(addr).map_err(|error| ServerError::Bind { addr, error })?;
        tracing::info!(%addr, "Prometheus metrics endpoint listening");
        let serving = metrics::serve(shard.clone(), listener, (*config).clone());
        shard.spawn_background(serving).detach();
    }
    let replication = start_replication(&shard, &ctx)?;
    dispatcher.serve_mesh();
    if index != 0 {
        shard
            .request(shards::ShardId::new(0), ShardMsg::Ready)
            .await
            .map_err(|error| ServerError::Runtime(error.to_string()))?;
    }
    let registration = shard.spawn_background(ctx.clone().run_registration(shard.closing()));
    // A slave keeps its master's tables and offsets in step; a master has nothing to do.
    let synchronization = (config.broker_role == BrokerRole::Slave)
        .then(|| shard.spawn_background(replication::sync::run(ctx.clone(), shard.closing())));
    shard.closing().await;
    tracing::info!(
        shard = index,
        connections = server.connection_count(),
        "shutting down"
    );
    registration.await;
    if let Some(synchronization) = synchronization {
        synchronization.await;
    }
    replication.await;
    if index == 0 {
        shard.gather(ShardMsg::Unregister).await;
    }
    dispatcher.shutdown();
    server.shutdown().await;
    if let Some(namesrv) = namesrv {
        namesrv.shutdown().await;
    }
    background.finish(&ctx.store).await;
    drop(pass);
    Ok(())
}

/// Starts this shard's side of replication: a slave follows its master's shard, a master
/// serves its slaves on its HA port. The task ends at shutdown.
fn start_replication(
    shard: &BrokerShard,
    ctx: &Rc<BrokerContext>,
) -> Result<shards::Task<()>, ServerError> {
    let config = &ctx.config();
    let index = shard.id().index();
    let log = ShardLog {
        shard: index,
        shards: shard.count(),
        store: ctx.store.clone(),
        config: config.clone(),
    };
    if config.broker_role == BrokerRole::Slave {
        // `haMasterAddress` is shard 0's HA port; shard k's is k strides further. Without
        // it, the shard follows the HA address its registrations learned.
        let stride = u16::try_from(index)
            .unwrap_or(u16::MAX)
            .saturating_mul(SHARD_PORT_STRIDE);
        let given = config
            .ha_master_address
            .map(|master| SocketAddr::new(master.ip(), master.port().saturating_add(stride)));
        match given {
            Some(master) => tracing::info!(shard = index, %master, "slave of the master's shard"),
            None => tracing::info!(shard = index, "slave of the master the NameServers name"),
        }
        // The master's main port, where its shard count is checked, is what the NameServers
        // name; a slave given `haMasterAddress` and NameServers waits for them to name it,
        // and only one given no NameServer copies unchecked.
        let learned = ctx.master.clone();
        let namesrvs = !config.namesrv_addr.is_empty();
        let master = move || {
            let main = learned.addr();
            match given {
                Some(ha) if main.is_some() || !namesrvs => Some(MasterAddrs { ha, main }),
                Some(_) => None,
                None => Some(MasterAddrs {
                    ha: learned.ha_addr()?,
                    main,
                }),
            }
        };
        return Ok(shard.spawn_background(ha::slave::follow(log, master, shard.closing())));
    }
    let addr = SocketAddr::new(config.listen_addr, ctx.identity.ports.ha);
    let listener = net::bind(addr).map_err(|error| ServerError::Bind { addr, error })?;
    tracing::info!(shard = index, %addr, "HA port listening");
    Ok(shard.spawn_background(ha::master::serve(log, listener, shard.closing())))
}

/// Opens one shard's state (its store, consumer offsets, delay-level progress and timer index)
/// and starts
/// the background work on it.
async fn open_shard(
    shard: &BrokerShard,
    config: &Rc<BrokerConfig>,
    tables: (TopicTable, GroupTable),
) -> Result<(Rc<BrokerContext>, ShardTasks), ServerError> {
    let index = shard.id().index();
    let ports = shard_ports(config.listen_port, index).ok_or(ServerError::Ports {
        listen_port: config.listen_port,
        shards: shard.count(),
    })?;
    let store_config = context::store_config(config, index);
    let store_dir = store_config.shard_dir();
    use_registered_memory();
    let store = Store::open(Disk::Dma, store_config, Clock::system())
        .await
        .map_err(|error| ServerError::Store {
            path: store_dir,
            error: error.to_string(),
        })?;
    let offsets_path = context::offsets_path(config, index);
    let offsets = ConsumerOffsets::load(&offsets_path).map_err(|error| ServerError::Store {
        path: offsets_path.clone(),
        error: error.to_string(),
    })?;
    let delay_path = context::delay_offsets_path(config, index);
    let delay_offsets = schedule::load(&delay_path).map_err(|error| ServerError::Store {
        path: delay_path.clone(),
        error,
    })?;
    let timer_dir = context::timer_dir(config, index);
    let opened = timer::open(timer_dir.clone()).map_err(|error| ServerError::Store {
        path: timer_dir,
        error,
    })?;
    let transaction_progress =
        context::load_transaction_progress(config, index).map_err(|error| ServerError::Store {
            path: context::transaction_progress_path(config, index),
            error,
        })?;
    let saved = Saved {
        delay_offsets,
        timers: opened,
        transaction_progress,
    };
    let ctx = BrokerContext::new(
        shard.clone(),
        config.clone(),
        ports,
        tables,
        Rc::new(store),
        offsets,
        saved,
    )
    .map_err(|error| ServerError::Runtime(error.to_string()))?;
    let background = spawn_shard_tasks(shard, &ctx, offsets_path, delay_path);
    Ok((ctx, background))
}

/// The background work of one shard's broker, stopped by shutdown.
struct ShardTasks {
    maintenance: shards::Task<StoreResult<()>>,
    retention: shards::Task<()>,
    expiry: shards::Task<()>,
    persistence: shards::Task<Result<(), OffsetFileError>>,
    sampling: shards::Task<()>,
    /// Delayed and timer messages are delivered by a master only: a slave's log takes
    /// nothing but its master's records, deliveries included.
    schedule: Option<shards::Task<Result<(), String>>>,
    timers: Option<shards::Task<Result<(), String>>>,
    transactions: Option<shards::Task<Result<(), String>>>,
}

fn spawn_shard_tasks(
    shard: &BrokerShard,
    ctx: &Rc<BrokerContext>,
    offsets_path: PathBuf,
    delay_path: PathBuf,
) -> ShardTasks {
    let store = &ctx.store;
    let master = ctx.config().broker_role != BrokerRole::Slave;
    if !master {
        store.take_copies_only();
    }
    let clock = ctx.clock.clone();
    ShardTasks {
        maintenance: shard.spawn_background(
            store
                .clone()
                .run_maintenance(CHECKPOINT_INTERVAL, shard.closing()),
        ),
        retention: shard.spawn_background(store.clone().run_retention(
            {
                let ctx = ctx.clone();
                move || context::retention_config(&ctx.config())
            },
            RETENTION_INTERVAL,
            shard.closing(),
        )),
        expiry: shard.spawn_background(
            ctx.clients
                .clone()
                .run_expiry(move || clock.monotonic_ms(), shard.closing()),
        ),
        persistence: shard.spawn_background({
            let offsets = ctx.offsets.clone();
            let interval = ctx.config().flush_consumer_offset_interval;
            let (clock, closing) = (ctx.clock.clone(), shard.closing());
            async move {
                offsets
                    .run_persistence_every(interval, &offsets_path, &clock, closing)
                    .await
            }
        }),
        sampling: shard.spawn_background(ctx.stats.clone().run_sampling(shard.closing())),
        schedule: master.then(|| {
            shard.spawn_background(ctx.schedule.clone().run(
                delay_path,
                ctx.config().flush_delay_offset_interval,
                shard.closing(),
            ))
        }),
        timers: master.then(|| shard.spawn_background(ctx.timers.clone().run(shard.closing()))),
        transactions: master
            .then(|| shard.spawn_background(ctx.transactions.clone().run(shard.closing()))),
    }
}

impl ShardTasks {
    /// Waits for every task to see shutdown, then makes the store, the consumer offsets, the
    /// delay cursors and the timer state durable.
    async fn finish(self, store: &Store) {
        if let Err(error) = self.maintenance.await {
            tracing::error!(%error, "store maintenance had stopped");
        }
        self.retention.await;
        self.expiry.await;
        self.sampling.await;
        if let Err(error) = self.persistence.await {
            tracing::error!(%error, "consumer offsets not saved at shutdown");
        }
        if let Some(schedule) = self.schedule {
            if let Err(error) = schedule.await {
                tracing::error!(%error, "delay offsets not saved at shutdown");
            }
        }
        if let Some(timers) = self.timers {
            if let Err(error) = timers.await {
                tracing::error!(%error, "timer state not saved at shutdown");
            }
        }
        if let Some(transactions) = self.transactions {
            if let Err(error) = transactions.await {
                tracing::error!(%error, "transaction progress not saved at shutdown");
            }
        }
        if let Err(error) = store.shutdown().await {
            tracing::error!(%error, "store not checkpointed at shutdown");
        }
    }
}

/// This shard's copy of the ACL table read at start; shard 0 follows the file.
fn shard_acl<M: Send + 'static, R: Send + 'static>(
    shard: &shards::Shard<M, R>,
    acl: Option<(PathBuf, AclTable)>,
) -> Result<Option<Rc<Acl>>, ServerError> {
    let Some((path, table)) = acl else {
        return Ok(None);
    };
    let acl = Acl::new(shard, path, table).map_err(ServerError::Acl)?;
    if shard.id().index() == 0 {
        shard
            .spawn_background(acl.clone().follow(shard.closing()))
            .detach();
    }
    Ok(Some(acl))
}

/// Binds and serves a NameServer on this shard, starting from `kv`, with its expiry task.
fn start_namesrv<M: Send + 'static, R: Send + 'static>(
    shard: &shards::Shard<M, R>,
    config: &NamesrvConfig,
    kv: KvConfig,
    access: Option<Rc<Acl>>,
) -> Result<Rc<Server<NameServer>>, ServerError> {
    let addr = config.listen();
    let listener = net::bind(addr).map_err(|error| ServerError::Bind { addr, error })?;
    let namesrv = Rc::new(NameServer::open(config, kv).with_access(access));
    let server = Server::new(namesrv.clone(), Rc::default());
    shard
        .spawn_foreground(server.clone().run(listener))
        .detach();
    shard
        .spawn_background(namesrv.run_expiry(shard.closing()))
        .detach();
    tracing::info!(%addr, "NameServer listening");
    Ok(server)
}

/// Runs a standalone NameServer on one shard until SIGINT/SIGTERM.
pub fn run_namesrv(config: NamesrvConfig) -> Result<(), ServerError> {
    let kv = load_kv(&config)?;
    config
        .acl
        .check()
        .map_err(|e| ServerError::Acl(e.to_string()))?;
    let acl = acl::load_configured(&config.acl).map_err(ServerError::Acl)?;
    let runtime = shards::Config {
        name: "shardmq-namesrv".into(),
        shards: 1,
        ..shards::Config::default()
    };
    let result = shards::launch(runtime, move |shard: shards::Shard<(), ()>| {
        let (config, kv) = (config.clone(), kv.clone());
        let acl = acl.clone();
        async move {
            let pass = shard
                .gate()
                .enter()
                .map_err(|_| ServerError::Runtime("shutting down".into()))?;
            let access = shard_acl(&shard, acl)?;
            let server = start_namesrv(&shard, &config, kv, access)?;
            shard.closing().await;
            server.shutdown().await;
            drop(pass);
            Ok::<(), ServerError>(())
        }
    });
    result
        .map(drop)
        .map_err(|error| ServerError::Runtime(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_machine_registers_a_quarter_of_its_memory() {
        let blocks = 144 << 20;
        assert_eq!(memory_share(blocks, Some(24 << 30), 2), blocks);
        assert_eq!(memory_share(blocks, None, 64), blocks);
        // A 1 GiB container given eight shards: 32 MiB each.
        assert_eq!(memory_share(blocks, Some(1 << 30), 8), 32 << 20);
    }
}
