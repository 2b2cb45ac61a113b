//! Harness for the interop tests (`tests/interop_*.rs`): a broker on loopback, the real
//! RocketMQ clients as child processes, and their JSON-lines reports.
//!
//! The clients are the drivers in this folder (`node/`, `python/`) and the
//! `shardmq-interop-rust` binary (`tests/rust-client`). Each prints one JSON object per event:
//! `started`, `sent`, `received`, `checked` (a transaction check its producer answered),
//! `reset` (an admin run's offset reset), `config` and `updated` (an admin run's read and
//! change of a broker's configuration), `error`, and a final `done`. A test starts clients
//! with [`Cluster::produce`] / [`Cluster::consume`] (and runs an admin operation with
//! [`Cluster::reset_offset_by_time`], [`Cluster::get_broker_config`] or
//! [`Cluster::update_broker_config`]) and asserts on what their users would observe. A broker
//! started with [`Cluster::start_with_acl`] checks RocketMQ's plain ACL: the harness signs its
//! own requests as the admin account it is given, and a client run signs as the account its
//! `Produce` or `Consume` names (`signed_as`).
//!
//! A client that is not installed fails its tests, naming what to run: `scripts/test.sh`
//! installs the Node and Python clients (`scripts/install-test-clients.sh`) and builds the
//! Rust driver before it runs them. A skipped client would look like a passing one.

#![allow(dead_code)] // each test file uses a different part

pub mod admin;
pub mod cluster;
pub mod raw;
pub mod replicated;
pub mod report;
pub mod run;

pub use cluster::Cluster;
pub use report::Report;

use std::path::{Path, PathBuf};
use std::process::Command;

/// One of the real clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// crates.io `rocketmq-client-rust` 1.0.0, through `tests/rust-client`.
    Rust,
    /// npm `ali-ons` 3.12.0.
    Node,
    /// PyPI `rocketmq` 0.4.4 (the native rocketmq-client-cpp 1.0.1).
    Python,
}

impl Client {
    pub fn name(self) -> &'static str {
        match self {
            Client::Rust => "rust",
            Client::Node => "node",
            Client::Python => "python",
        }
    }

    /// The command that runs this client's producer or consumer driver, or why there is none.
    fn command(self, role: Role) -> Result<Command, String> {
        let root = repo_root();
        match self {
            Client::Rust => {
                let exe = rust_driver()?;
                let mut command = Command::new(exe);
                command.arg(match role {
                    Role::Producer => "produce",
                    Role::Consumer => "consume",
                    Role::Admin => "admin",
                });
                Ok(command)
            }
            _ if role == Role::Admin => Err(format!(
                "the {} client's driver has no admin operations",
                self.name()
            )),
            Client::Node => {
                let modules = root.join(".cache/node/node_modules");
                if !modules.join("ali-ons/package.json").is_file() {
                    return Err(format!(
                        "ali-ons is not installed in {}: run scripts/install-test-clients.sh",
                        modules.display()
                    ));
                }
                let mut command = Command::new("node");
                command
                    .arg(root.join("tests/interop/node").join(role.script("js")))
                    .env("NODE_PATH", modules);
                Ok(command)
            }
            Client::Python => {
                let python = root.join(".cache/venv/bin/python");
                if !python.is_file() {
                    return Err(format!(
                        "the rocketmq venv is missing at {}: run scripts/install-test-clients.sh",
                        python.display()
                    ));
                }
                let mut command = Command::new(python);
                command
                    .arg(root.join("tests/interop/python").join(role.script("py")))
                    // The native client writes its logs under $HOME/logs; keep them in the cache.
                    .env("HOME", root.join(".cache/python-home"));
                Ok(command)
            }
        }
    }

    /// Panics, saying how to install it, unless this client is present.
    pub fn require(self) {
        if let Err(reason) = self.command(Role::Producer) {
            panic!("the {} client is missing: {reason}", self.name());
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Producer,
    Consumer,
    /// One operation of the client's admin API, as `mqadmin` runs it (the Rust driver alone).
    Admin,
}

impl Role {
    fn script(self, extension: &str) -> String {
        match self {
            Role::Producer => format!("producer.{extension}"),
            Role::Consumer => format!("consumer.{extension}"),
            Role::Admin => format!("admin.{extension}"),
        }
    }
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Rust driver: `SHARDMQ_INTEROP_RUST_CLIENT` when set, else next to this test's own
/// binaries (`target/<profile>/`), where `scripts/test.sh` builds it (`--target-dir`).
fn rust_driver() -> Result<PathBuf, String> {
    let name = "shardmq-interop-rust";
    if let Some(path) = std::env::var_os("SHARDMQ_INTEROP_RUST_CLIENT") {
        return Ok(PathBuf::from(path));
    }
    // This test runs as target/<profile>/deps/<test>-<hash>.
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("test executable has no profile directory")?;
    let driver = profile_dir.join(name);
    if driver.is_file() {
        Ok(driver)
    } else {
        Err(format!(
            "{} is not built: run scripts/test.sh, or cargo build --locked \
             --manifest-path tests/rust-client/Cargo.toml --target-dir {}",
            driver.display(),
            profile_dir.parent().unwrap_or(profile_dir).display()
        ))
    }
}

/// A name no other test run uses, so topics and groups never collide between tests.
pub fn unique(prefix: &str, client: Client) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}_{}",
        client.name(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
