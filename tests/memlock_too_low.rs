//! Locked memory for io_uring (docs/operations.md, "Locked memory"). With too little the
//! broker refuses to start and says what to raise and to how much, instead of failing
//! somewhere inside the runtime; with less than its default io memory needs it registers what
//! fits, says so, and serves; a figure set in the configuration is taken as it is.

mod common;

use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::{
    code_of, create_topic, decode_record, free_port, free_port_block, pull_until_found, request,
    send_v2, terminate, wait_until, PATIENCE, SUCCESS,
};
use serde_json::json;

const GET_BROKER_CONFIG: i32 = 26;
/// The default io memory of a shard: the tail and read caches and 16 blocks of 1 MiB.
const IO_MEMORY_DEFAULT: u64 = 144 << 20;
/// A locked-memory limit that holds glommio's minimum and a few MiB of io memory for one
/// shard: low enough for a container's hard limit, which a test cannot raise.
const LIMIT_KIB: u64 = 4096;

/// A shell line running the broker with `shards` shards on `port` under `ulimit -l
/// limit_kib`, without CAP_IPC_LOCK, so that the limit applies even to root.
fn limited(limit_kib: u64, shards: u16, port: u16, store: &std::path::Path, extra: &str) -> String {
    format!(
        "ulimit -l {limit_kib} && exec setpriv --inh-caps=-ipc_lock --ambient-caps=-ipc_lock \
         --bounding-set=-ipc_lock {} broker --listen-addr 127.0.0.1 --listen-port {port} \
         --shards {shards} --namesrv-listen-port {} --store-path {} \
         -o mappedFileSizeCommitLog=4194304 -o maxHashSlotNum=4096 -o maxIndexNum=16384 {extra}",
        env!("CARGO_BIN_EXE_shardmq"),
        free_port(),
        store.display()
    )
}

/// Runs `script` to its end: a broker that must not start.
fn refused(script: &str) -> String {
    let output: Output = Command::new("sh")
        .args(["-c", script])
        .output()
        .expect("run sh");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "must not start: {stderr}");
    assert!(
        stderr.contains("RLIMIT_MEMLOCK"),
        "names the limit: {stderr}"
    );
    assert!(stderr.contains("ulimit -l"), "names the fix: {stderr}");
    stderr
}

#[test]
fn low_memlock_limit_is_a_clear_start_up_error() {
    let store = tempfile::tempdir().expect("store dir");
    refused(&limited(64, 2, free_port_block(2), store.path(), ""));
}

#[test]
fn a_configured_io_memory_the_limit_cannot_hold_is_a_clear_start_up_error() {
    let store = tempfile::tempdir().expect("store dir");
    let script = limited(
        LIMIT_KIB,
        1,
        free_port_block(1),
        store.path(),
        "-o ioMemoryBytesPerShard=67108864",
    );
    refused(&script);
}

/// Stops the broker it holds, by its process id, when the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        terminate(&mut self.0, Duration::from_secs(20));
    }
}

#[test]
fn under_a_lower_limit_the_broker_registers_what_fits_says_so_and_serves() {
    let store = tempfile::tempdir().expect("store dir");
    let log = store.path().join("broker.log");
    let port = free_port_block(1);
    let script = limited(LIMIT_KIB, 1, port, &store.path().join("store"), "");
    let broker = Command::new("sh")
        .args(["-c", &script])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("run sh");
    let mut broker = Running(broker);
    wait_until(PATIENCE, "the broker listening", || {
        if let Ok(Some(status)) = broker.0.try_wait() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("the broker exited ({status}): {text}");
        }
        common::listening(port)
    });
    let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let (header, body) = request(&mut conn, GET_BROKER_CONFIG, json!({}));
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    let text = String::from_utf8(body).expect("UTF-8");
    let registered: u64 = text
        .lines()
        .find_map(|line| line.strip_prefix("ioMemoryBytesPerShard="))
        .expect("ioMemoryBytesPerShard in the configuration")
        .parse()
        .expect("a number");
    // A third of the limit for each of the shard's rings, less the ring's own memory.
    let third = (LIMIT_KIB << 10) / 3;
    assert!(
        registered > third - (64 << 10) && registered < third,
        "registered {registered} bytes"
    );
    assert!(registered < IO_MEMORY_DEFAULT);
    // Blocks past the registered memory come from the heap: sends and pulls work alike.
    create_topic(&mut conn, "LowMemlock", 1);
    for i in 0..64 {
        let body = vec![b'a' + (i % 26) as u8; 64 << 10];
        let header = send_v2(&mut conn, "LowMemlock", 0, &body, "");
        assert_eq!(code_of(&header), SUCCESS, "{header}");
    }
    let found = pull_until_found(&mut conn, "LowMemlock", 0, 63);
    let record = decode_record(&found);
    assert_eq!(record.body, vec![b'a' + 11; 64 << 10], "message 63 as sent");
    let text = std::fs::read_to_string(&log).expect("the broker's log");
    assert!(
        text.contains("locked-memory limit holds less") && text.contains("ulimit -l"),
        "warns and names the fix: {text}"
    );
}
