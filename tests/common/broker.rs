//! The broker processes tests start: the ports they listen on, starting one on a store
//! and ports of its own (or a stopped one's), and stopping it by its PID.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use super::{poll_for, wait_until, PATIENCE};

/// Distance between the main ports of neighbouring shards (see the README's port scheme).
pub const SHARD_PORT_STRIDE: u16 = 4;

/// Stops a process this test started: SIGTERM to its PID, then SIGKILL if it has not exited
/// within `within`. Its exit status when it exited (by itself or on SIGTERM).
pub fn terminate(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    if let Ok(Some(status)) = child.try_wait() {
        return Some(status);
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let exited = poll_for(within, || child.try_wait().ok().flatten());
    if exited.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    exited
}

/// A broker process started for one test; stopped (SIGTERM, then SIGKILL) on drop.
///
/// Every broker gets its own store directory (never `$HOME/store`) and its embedded
/// NameServer a free port (never 9876).
pub struct Broker {
    child: Child,
    pub listen_port: u16,
    pub shards: u16,
    pub namesrv_port: u16,
    pub store: std::path::PathBuf,
    /// Keeps the store directory alive for restarts; removed with the last holder.
    _store_dir: Option<std::sync::Arc<tempfile::TempDir>>,
}

impl Broker {
    /// Starts `shardmq broker` on 127.0.0.1 with `shards` shards and extra arguments.
    pub fn start(shards: u16, extra: &[&str]) -> Broker {
        let dir = std::sync::Arc::new(tempfile::tempdir().expect("temp store dir"));
        let store = dir.path().to_owned();
        Broker::start_in(shards, extra, store, Some(dir))
    }

    /// Starts a broker on `store` (e.g. the store of a broker stopped before).
    pub fn start_in(
        shards: u16,
        extra: &[&str],
        store: std::path::PathBuf,
        dir: Option<std::sync::Arc<tempfile::TempDir>>,
    ) -> Broker {
        Broker::spawn(shards, extra, store, dir, None)
    }

    /// [`Broker::start`] with the log at `level` written to the file `log`.
    pub fn start_logged(shards: u16, extra: &[&str], level: &str, log: &std::path::Path) -> Broker {
        let dir = std::sync::Arc::new(tempfile::tempdir().expect("temp store dir"));
        let store = dir.path().to_owned();
        Broker::spawn(shards, extra, store, Some(dir), Some((level, log)))
    }

    /// Starts a broker on `store` on the ports a stopped one used (its shard 0 port and
    /// NameServer port), so that peers configured with them find it again; with `log`, its
    /// log at that level goes to that file.
    pub fn start_on_ports(
        shards: u16,
        extra: &[&str],
        (store, dir): (
            std::path::PathBuf,
            Option<std::sync::Arc<tempfile::TempDir>>,
        ),
        (listen_port, namesrv_port): (u16, u16),
        log: Option<(&str, &std::path::Path)>,
    ) -> Broker {
        Broker::spawn_at(shards, extra, store, dir, log, (listen_port, namesrv_port))
    }

    /// Starts a broker on `store`; with `log`, its log at that level goes to that file.
    pub fn spawn(
        shards: u16,
        extra: &[&str],
        store: std::path::PathBuf,
        dir: Option<std::sync::Arc<tempfile::TempDir>>,
        log: Option<(&str, &std::path::Path)>,
    ) -> Broker {
        let ports = (free_port_block(shards), free_port());
        Broker::spawn_at(shards, extra, store, dir, log, ports)
    }

    fn spawn_at(
        shards: u16,
        extra: &[&str],
        store: std::path::PathBuf,
        dir: Option<std::sync::Arc<tempfile::TempDir>>,
        log: Option<(&str, &std::path::Path)>,
        (listen_port, namesrv_port): (u16, u16),
    ) -> Broker {
        let level = match log {
            Some((level, _)) => level.to_owned(),
            None => std::env::var("SHARDMQ_TEST_LOG").unwrap_or_else(|_| "warn".into()),
        };
        let stderr = match log {
            Some((_, path)) => Stdio::from(std::fs::File::create(path).expect("log file")),
            None => Stdio::inherit(),
        };
        let child = Command::new(env!("CARGO_BIN_EXE_shardmq"))
            .args(["broker", "--listen-addr", "127.0.0.1"])
            .args(["--listen-port", &listen_port.to_string()])
            .args(["--shards", &shards.to_string()])
            .args(["--namesrv-listen-port", &namesrv_port.to_string()])
            .arg("--store-path")
            .arg(&store)
            // Small segments and index files: dozens of brokers start in a test run, each
            // preallocating one segment and one index file per shard.
            .args(["-o", "mappedFileSizeCommitLog=4194304"])
            .args(["-o", "maxHashSlotNum=4096", "-o", "maxIndexNum=16384"])
            .args(extra)
            .env("RUST_LOG", level)
            .stdin(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start shardmq");
        let broker = Broker {
            child,
            listen_port,
            shards,
            namesrv_port,
            store,
            _store_dir: dir,
        };
        for shard in 0..shards {
            broker.wait_listening(broker.shard_port(shard));
        }
        broker
    }

    /// A handle to this broker's store directory, to start another broker on it later.
    pub fn store_dir(
        &self,
    ) -> (
        std::path::PathBuf,
        Option<std::sync::Arc<tempfile::TempDir>>,
    ) {
        (self.store.clone(), self._store_dir.clone())
    }

    /// The broker's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The embedded NameServer's address.
    pub fn namesrv_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.namesrv_port))
    }

    pub fn shard_port(&self, shard: u16) -> u16 {
        self.listen_port + shard * SHARD_PORT_STRIDE
    }

    pub fn addr(&self, shard: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.shard_port(shard)))
    }

    /// A connection to shard `shard`. A refused connect is tried again for a while, saying
    /// so: CI has seen one refused right after the port was seen listening, with the broker
    /// still alive; the message and the broker's state when it happens are the evidence.
    pub fn connect(&self, shard: u16) -> TcpStream {
        let addr = self.addr(shard);
        let stream = match TcpStream::connect(addr) {
            Ok(stream) => stream,
            Err(error) => {
                let alive = std::path::Path::new(&format!("/proc/{}", self.child.id())).exists();
                eprintln!(
                    "connect to broker {addr} failed ({error}); broker process alive: {alive}; \
                     trying again"
                );
                super::wait_for(PATIENCE, &format!("a connection to {addr}"), || {
                    TcpStream::connect(addr).ok()
                })
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        stream
    }

    pub fn wait_listening(&self, port: u16) {
        wait_until(PATIENCE, &format!("broker listening on {port}"), || {
            listening(port)
        });
    }

    /// Sends SIGTERM and waits for the process to exit; returns its exit status code.
    pub fn stop(mut self) -> Option<i32> {
        self.terminate()
    }

    /// Kills the process with SIGKILL (no shutdown work at all) and waits for it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn terminate(&mut self) -> Option<i32> {
        terminate(&mut self.child, Duration::from_secs(20)).and_then(|status| status.code())
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // A broker that died on its own (a crash shows only as a closed connection in the
        // test) is named with how it ended, so a failing test says why.
        if let Ok(Some(status)) = self.child.try_wait() {
            eprintln!(
                "broker pid {} had already exited: {status}",
                self.child.id()
            );
        }
        self.terminate();
    }
}

/// The `-o` arguments that make a broker the slave of the master whose shard 0 listens on
/// `master_port`, registering with the NameServer on `namesrv_port`; with `named`,
/// `haMasterAddress` names the master too (else the slave learns it from the NameServer).
pub fn slave_args(master_port: u16, namesrv_port: u16, named: bool) -> Vec<String> {
    let mut settings = vec![
        "brokerRole=SLAVE".to_owned(),
        "brokerId=1".to_owned(),
        "embeddedNamesrv=false".to_owned(),
        format!("namesrvAddr=127.0.0.1:{namesrv_port}"),
    ];
    if named {
        settings.push(format!("haMasterAddress=127.0.0.1:{}", master_port + 1));
    }
    settings
        .into_iter()
        .flat_map(|setting| ["-o".to_owned(), setting])
        .collect()
}

/// Ports tests listen on: below the kernel's ephemeral range (32768 and up here), so no
/// outgoing connection's local port and no port 0 binding can take one between the check
/// and the broker's bind.
const TEST_PORTS_START: u16 = 20_000;
const TEST_PORTS_SPAN: u16 = 12_000;

/// A base port such that every port a broker with `shards` shards uses (main, fast = main − 2,
/// HA = main + 1, for each shard) is free right now. Blocks handed out by one test process
/// never overlap; test processes run one at a time.
pub fn free_port_block(shards: u16) -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let span = shards * SHARD_PORT_STRIDE + 4;
    let seed = (std::process::id() % 180) as u16 * 64;
    for _ in 0..200 {
        let offset = NEXT.fetch_add(span, Ordering::Relaxed);
        let base = TEST_PORTS_START + 2 + (seed.wrapping_add(offset) % TEST_PORTS_SPAN);
        let ports = (0..shards).flat_map(|s| {
            let main = base + s * SHARD_PORT_STRIDE;
            [main - 2, main, main + 1]
        });
        let held: Vec<_> = ports.map(|p| TcpListener::bind(("127.0.0.1", p))).collect();
        if held.iter().all(|l| l.is_ok()) {
            return base;
        }
    }
    panic!("no free block of ports found");
}

/// Whether something listens on `port` of 127.0.0.1. A connection to a port nobody listens
/// on can still succeed where the port lies in the kernel's ephemeral range: the socket may
/// be given that very port and connect to itself. That is not a listener.
pub fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port))
        .is_ok_and(|stream| stream.local_addr().ok() != stream.peer_addr().ok())
}

/// A port free on 127.0.0.1 right now (for a NameServer), from the same allocator as the
/// broker port blocks so the two never collide.
pub fn free_port() -> u16 {
    free_port_block(1)
}
