//! `maxConnectionsPerShard` bounds the connections of a shard's main and fast ports together:
//! one more is closed as soon as it is accepted, with a warning, and the connections already
//! open go on being served; a connection that closes frees its place.

mod common;

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::*;

/// The connections the shard behind `conn` serves now.
fn connections(conn: &mut TcpStream) -> i64 {
    runtime_long(&runtime_info(conn), "connections")
}

fn wait_connections(conn: &mut TcpStream, count: i64) {
    wait_until(PATIENCE, &format!("{count} connections"), || {
        connections(conn) == count
    });
}

#[test]
fn the_connection_past_the_limit_is_closed_and_the_others_are_served() {
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("broker.log");
    let broker = Broker::start_logged(1, &["-o", "maxConnectionsPerShard=3"], "warn", &log);
    let mut first = broker.connect(0);
    // Start-up's probes of the port are gone once the count is this connection alone.
    wait_connections(&mut first, 1);
    let _second = broker.connect(0);
    let third = broker.connect(0);
    wait_connections(&mut first, 3);

    // The fast port counts against the same limit.
    let fast = SocketAddr::from(([127, 0, 0, 1], broker.shard_port(0) - 2));
    let mut refused = TcpStream::connect(fast).expect("the kernel accepts it");
    refused
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    assert!(closed_by_peer(&mut refused), "closed by the broker");
    let sent = send_v2(&mut first, "limited", 0, b"still served", "");
    assert_eq!(code_of(&sent), SUCCESS, "{sent}");
    assert_eq!(connections(&mut first), 3);
    wait_until(PATIENCE, "the refusal in the log", || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.contains("connection refused: shard at its connection limit")
            && text.contains("limit=3")
    });

    drop(third);
    wait_connections(&mut first, 2);
    let mut another = connect(fast);
    assert_eq!(
        connections(&mut another),
        3,
        "a closed one's place is free again"
    );
}
