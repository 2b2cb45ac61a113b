//! The `shardmq` command: `shardmq broker` runs a broker (one logical broker per core, with an
//! embedded NameServer by default); `shardmq namesrv` runs a standalone NameServer;
//! `shardmq admin` administers a cluster with mqadmin's verbs.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use shardmq::config::{Applied, BrokerConfig, ConfigError, NamesrvConfig};
use shardmq::server::{run_broker, run_namesrv};

#[derive(Debug, Parser)]
#[command(
    name = "shardmq",
    version,
    about = "A RocketMQ-protocol broker and NameServer, thread-per-core on io_uring"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a broker (and, unless told otherwise, a NameServer beside it).
    Broker(Box<BrokerArgs>),
    /// Run a standalone NameServer.
    Namesrv(NamesrvArgs),
    /// Administer a cluster with mqadmin's verbs (`shardmq admin clusterList -n host:9876`).
    Admin(Box<shardmq::admin::AdminArgs>),
}

/// Flags override `broker.conf`; `-o key=value` sets any broker.conf key.
#[derive(Debug, Args)]
struct BrokerArgs {
    /// A RocketMQ broker.conf (Java properties).
    #[arg(short = 'c', long = "config")]
    config: Option<PathBuf>,
    /// Address to listen on (broker.conf `listenAddr`, default 0.0.0.0).
    #[arg(long)]
    listen_addr: Option<IpAddr>,
    /// Main port of shard 0; shard k listens on listen_port + 4k and on that minus 2.
    #[arg(long)]
    listen_port: Option<u16>,
    /// Number of shards (one pinned core each). Default: the cores this process may use.
    #[arg(long)]
    shards: Option<usize>,
    /// Microseconds an idle shard polls before it sleeps (`spinBeforeParkMicros`, default 50).
    #[arg(long)]
    spin_before_park_us: Option<u64>,
    /// NameServers, `host:port;host:port`.
    #[arg(long)]
    namesrv_addr: Option<String>,
    /// storePathRootDir (default $HOME/store); created if missing.
    #[arg(long)]
    store_path: Option<PathBuf>,
    /// brokerClusterName.
    #[arg(long)]
    cluster: Option<String>,
    /// brokerName; shard k registers as `<name>-<k>`.
    #[arg(long)]
    broker_name: Option<String>,
    /// ASYNC_FLUSH or SYNC_FLUSH.
    #[arg(long)]
    flush_disk_type: Option<String>,
    /// Do not run the embedded NameServer.
    #[arg(long)]
    no_embedded_namesrv: bool,
    /// Port of the embedded NameServer (broker.conf `namesrvListenPort`, default 9876).
    #[arg(long)]
    namesrv_listen_port: Option<u16>,
    /// Any broker.conf key, e.g. `-o autoCreateTopicEnable=false`; repeatable.
    #[arg(short = 'o', value_name = "KEY=VALUE")]
    options: Vec<String>,
}

/// Flags override `namesrv.conf`; `-o key=value` sets any namesrv.conf key.
#[derive(Debug, Args)]
struct NamesrvArgs {
    /// A RocketMQ namesrv.conf (Java properties).
    #[arg(short = 'c', long = "config")]
    config: Option<PathBuf>,
    /// Address to listen on (namesrv.conf `bindAddress` or `listenAddr`, default 0.0.0.0).
    #[arg(long)]
    listen_addr: Option<IpAddr>,
    /// Port to listen on (namesrv.conf `listenPort`, default 9876).
    #[arg(long)]
    listen_port: Option<u16>,
    /// Where the KV config is kept (`kvConfigPath`, default $HOME/namesrv/kvConfig.json).
    #[arg(long)]
    kv_config_path: Option<PathBuf>,
    /// Any namesrv.conf key, e.g. `-o orderMessageEnable=true`; repeatable.
    #[arg(short = 'o', value_name = "KEY=VALUE")]
    options: Vec<String>,
}

fn main() -> ExitCode {
    shardmq::logging::init("info");
    let cli = Cli::parse();
    let result: Result<(), Box<dyn std::error::Error>> = match cli.command {
        Command::Broker(args) => broker_config(*args)
            .map_err(Into::into)
            .and_then(|config| run_broker(config).map_err(Into::into)),
        Command::Namesrv(args) => namesrv_config(args)
            .map_err(Into::into)
            .and_then(|config| run_namesrv(config).map_err(Into::into)),
        Command::Admin(args) => shardmq::admin::run(*args).map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("shardmq: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Defaults, then the file, then flags, then `-o`, then the keys changed while the broker
/// last ran (UPDATE_BROKER_CONFIG), then the rules between keys.
fn broker_config(args: BrokerArgs) -> Result<BrokerConfig, ConfigError> {
    let mut config = BrokerConfig::default();
    if let Some(path) = &args.config {
        config.apply_file(path)?;
    }
    let mut flags: Vec<(&str, String)> = Vec::new();
    let mut flag = |key: &'static str, value: Option<String>| {
        if let Some(value) = value {
            flags.push((key, value));
        }
    };
    flag("listenAddr", args.listen_addr.map(|a| a.to_string()));
    flag("listenPort", args.listen_port.map(|p| p.to_string()));
    flag("shards", args.shards.map(|n| n.to_string()));
    flag(
        "spinBeforeParkMicros",
        args.spin_before_park_us.map(|n| n.to_string()),
    );
    flag("namesrvAddr", args.namesrv_addr);
    flag(
        "storePathRootDir",
        args.store_path.map(|p| p.display().to_string()),
    );
    flag("brokerClusterName", args.cluster);
    flag("brokerName", args.broker_name);
    flag("flushDiskType", args.flush_disk_type);
    flag(
        "namesrvListenPort",
        args.namesrv_listen_port.map(|p| p.to_string()),
    );
    if args.no_embedded_namesrv {
        flag("embeddedNamesrv", Some("false".into()));
    }
    for (key, value) in flags {
        config.set(key, &value, "command line")?;
    }
    apply_options(&args.options, |key, value, origin| {
        config.set(key, value, origin)
    })?;
    config.apply_updates()?;
    config.finish()?;
    Ok(config)
}

/// Defaults (Java's, with `$HOME/namesrv/kvConfig.json`), then the file, then flags, then
/// `-o`.
fn namesrv_config(args: NamesrvArgs) -> Result<NamesrvConfig, ConfigError> {
    let mut config = NamesrvConfig::standalone();
    if let Some(path) = &args.config {
        config.apply_file(path)?;
    }
    let flags = [
        ("listenAddr", args.listen_addr.map(|a| a.to_string())),
        ("listenPort", args.listen_port.map(|p| p.to_string())),
        (
            "kvConfigPath",
            args.kv_config_path.map(|p| p.display().to_string()),
        ),
    ];
    for (key, value) in flags {
        if let Some(value) = value {
            config.set(key, &value, "command line")?;
        }
    }
    apply_options(&args.options, |key, value, origin| {
        config.set(key, value, origin)
    })?;
    Ok(config)
}

/// Applies every `-o key=value` through `set`, warning about ignored keys.
fn apply_options(
    options: &[String],
    mut set: impl FnMut(&str, &str, &str) -> Result<Applied, ConfigError>,
) -> Result<(), ConfigError> {
    for option in options {
        let Some((key, value)) = option.split_once('=') else {
            return Err(ConfigError::InvalidValue {
                key: option.clone(),
                value: String::new(),
                why: "expected -o key=value".into(),
                origin: "-o".into(),
            });
        };
        if set(key.trim(), value, "-o")? == Applied::Ignored {
            tracing::warn!(key, "configuration key has no meaning in shardmq; ignored");
        }
    }
    Ok(())
}
