//! The `shardmq` command: `shardmq broker` runs a broker (one logical broker per core).

use std::net::IpAddr;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use shardmq::server::{run_broker, BrokerOptions};

#[derive(Debug, Parser)]
#[command(
    name = "shardmq",
    version,
    about = "A RocketMQ-protocol broker, thread-per-core on io_uring"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a broker.
    Broker(BrokerArgs),
}

#[derive(Debug, Args)]
struct BrokerArgs {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    listen_addr: IpAddr,
    /// Main port of shard 0; shard k listens on listen_port + 4k and on that minus 2.
    #[arg(long, default_value_t = 10911)]
    listen_port: u16,
    /// Number of shards (one pinned core each). Default: the cores this process may use.
    #[arg(long)]
    shards: Option<usize>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Broker(args) => {
            let mut runtime = shards::Config {
                name: "shardmq".into(),
                ..shards::Config::default()
            };
            if let Some(shards) = args.shards {
                runtime.shards = shards;
            }
            run_broker(BrokerOptions {
                listen_addr: args.listen_addr,
                listen_port: args.listen_port,
                runtime,
            })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("shardmq: {error}");
            ExitCode::FAILURE
        }
    }
}
