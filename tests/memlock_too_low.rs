//! With too little locked memory for io_uring the broker refuses to start and says what to
//! raise and to how much, instead of failing somewhere inside the runtime.

mod common;

use std::process::Command;

#[test]
fn low_memlock_limit_is_a_clear_start_up_error() {
    let port = common::free_port_block(2);
    // Drop CAP_IPC_LOCK so the limit applies even when the tests run as root.
    let script = format!(
        "ulimit -l 64 && exec setpriv --inh-caps=-ipc_lock --ambient-caps=-ipc_lock \
         --bounding-set=-ipc_lock {} broker --listen-addr 127.0.0.1 --listen-port {port} --shards 2",
        env!("CARGO_BIN_EXE_shardmq")
    );
    let output = Command::new("sh")
        .args(["-c", &script])
        .output()
        .expect("run sh");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "must not start: {stderr}");
    assert!(
        stderr.contains("RLIMIT_MEMLOCK"),
        "names the limit: {stderr}"
    );
    assert!(stderr.contains("ulimit -l"), "names the fix: {stderr}");
}
