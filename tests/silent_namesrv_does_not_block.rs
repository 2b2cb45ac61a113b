//! A NameServer that accepts connections but never answers does not hold up the broker: a
//! topic created meanwhile is answered within the change wait (1 s) and routed by the live
//! NameServer, and shutdown stays quick.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{code_of, create_topic, wait_route, Broker};

#[test]
fn a_silent_namesrv_is_left_behind() {
    // Accepts (the kernel completes the handshake) and never reads or answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap().to_string();
    let broker = Broker::start(2, &["--namesrv-addr", &silent_addr]);
    wait_route(broker.namesrv_addr(), "TBW102", 2);

    let mut conn = broker.connect(1);
    let started = Instant::now();
    assert_eq!(code_of(&create_topic(&mut conn, "steady", 2)), 0);
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "create waited {:?}",
        started.elapsed()
    );
    wait_route(broker.namesrv_addr(), "steady", 2);

    let started = Instant::now();
    assert_eq!(broker.stop(), Some(0));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        started.elapsed()
    );
}
