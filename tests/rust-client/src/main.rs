//! `shardmq-interop-rust`: runs the crates.io `rocketmq-client-rust` client against a NameServer
//! address and reports what a user of that client observes, one JSON object per stdout line.
//!
//! Black-box tests start it as a child process, so every run is bounded (a message count and a
//! time limit) and ends with one `{"event":"done",…}` line; the exit status is 0 only when every
//! requested operation succeeded. The client's own logs go to stderr when `RUST_LOG` is set.

mod admin;
mod consume;
mod credentials;
mod output;
mod produce;
mod transaction;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use rocketmq_client_rust::{ClientRuntime, ClientRuntimeConfig, TelemetryHandle};
use rocketmq_runtime::RuntimeOwner;

use crate::admin::AdminArgs;
use crate::consume::ConsumeArgs;
use crate::produce::ProduceArgs;

#[derive(Debug, Parser)]
#[command(
    name = "shardmq-interop-rust",
    about = "Drive rocketmq-client-rust 1.0.0"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Send messages and print one line per send result (transaction mode: and per check).
    Produce(ProduceArgs),
    /// Run a push consumer and print one line per received message.
    Consume(ConsumeArgs),
    /// Run one operation of the client's admin API (`reset-offset`, `get-broker-config`,
    /// `update-broker-config`) and print its result.
    Admin(AdminArgs),
}

/// How long the client may take to shut down (unregister, persist offsets) before we give up.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let cli = Cli::parse();
    // The client never creates a runtime of its own: it runs on the one this owner builds.
    let owner = match RuntimeOwner::new() {
        Ok(owner) => owner,
        Err(error) => return fail("runtime", &error.to_string()),
    };
    let runtime = match ClientRuntime::try_new(
        owner.root_context().component("client"),
        ClientRuntimeConfig {
            shutdown_timeout: SHUTDOWN_TIMEOUT,
            ..ClientRuntimeConfig::default()
        },
        TelemetryHandle::noop(),
    ) {
        Ok(runtime) => runtime,
        Err(error) => return fail("runtime", &error.to_string()),
    };
    let succeeded = owner.block_on(run(cli.command, Arc::clone(&runtime)));
    owner.block_on(async {
        let _ = runtime.shutdown().await;
        let _ = owner.shutdown_tasks().await;
    });
    let _ = owner.shutdown_background();
    if succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn run(command: Command, runtime: Arc<ClientRuntime>) -> bool {
    match command {
        Command::Produce(args) => produce::run(args, runtime).await,
        Command::Consume(args) => consume::run(args, runtime).await,
        Command::Admin(args) => admin::run(args, runtime).await,
    }
}

fn fail(stage: &str, error: &str) -> ExitCode {
    output::error(stage, None, error);
    output::done(&serde_json::json!({ "ok": false }));
    ExitCode::FAILURE
}
