//! A second broker on a store that a running broker holds refuses to start, naming the store
//! and the holder, and leaves the first one serving; once the holder is gone (stopped or
//! killed) the store opens again.

mod common;

use std::process::Command;

use common::Broker;

fn second_broker_on(store: &std::path::Path) -> std::process::Output {
    let port = common::free_port_block(1);
    Command::new(env!("CARGO_BIN_EXE_shardmq"))
        .args(["broker", "--listen-addr", "127.0.0.1", "--shards", "1"])
        .args(["--listen-port", &port.to_string()])
        .args(["--namesrv-listen-port", &common::free_port().to_string()])
        .arg("--store-path")
        .arg(store)
        .output()
        .expect("run a second broker")
}

#[test]
fn a_second_process_on_a_held_store_is_refused() {
    let first = Broker::start(1, &[]);
    let output = second_broker_on(&first.store);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "must not start: {stderr}");
    let store = first.store.display().to_string();
    assert!(stderr.contains(&store), "names the store: {stderr}");
    assert!(
        stderr.contains(&format!("in use by process {}", first.pid())),
        "names the holder: {stderr}"
    );

    // The holder was not disturbed: it still takes and serves a message.
    let mut conn = first.connect(0);
    common::create_topic(&mut conn, "LockedStore", 1);
    let sent = common::send_v2(&mut conn, "LockedStore", 0, b"still here", "");
    assert_eq!(common::code_of(&sent), 0, "send to the holder: {sent}");
    common::wait_all_written(&mut conn);

    // A killed holder leaves its lock file behind; that does not block the next broker.
    let (path, dir) = first.store_dir();
    first.kill();
    let again = Broker::start_in(1, &[], path, dir);
    let mut conn = again.connect(0);
    common::wait_max_offset(&mut conn, "LockedStore", 0, 1);
}
