//! SIGTERM stops the broker cleanly: it exits 0, open connections are closed, and its ports
//! are free again.

mod common;

use std::net::TcpStream;
use std::process::Command;

use common::{closed_by_peer, json_frame, read_frame, write_all, Broker};

#[test]
fn sigterm_exits_zero_and_closes_connections() {
    let broker = Broker::start(2, &[]);
    let mut conn = broker.connect(1);
    let header = r#"{"code":9999,"language":"JAVA","version":479,"opaque":9,"flag":0}"#;
    write_all(&mut conn, &json_frame(header, b""));
    assert!(read_frame(&mut conn).is_some());
    let port = broker.shard_port(1);

    assert_eq!(broker.stop(), Some(0), "clean exit status");
    assert!(
        closed_by_peer(&mut conn),
        "open connection closed by the broker"
    );
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens any more"
    );
}

#[test]
fn a_port_in_use_is_a_clear_start_up_error() {
    let port = common::free_port_block(1);
    let _taken = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let store = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_shardmq"))
        .args([
            "broker",
            "--listen-addr",
            "127.0.0.1",
            "--listen-port",
            &port.to_string(),
        ])
        .args(["--shards", "1", "--no-embedded-namesrv", "--store-path"])
        .arg(store.path())
        .output()
        .expect("run shardmq");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("127.0.0.1:{port}")),
        "names the address: {stderr}"
    );
}
