//! `shardmq namesrv` runs alone; a broker without its embedded NameServer registers with it
//! through `--namesrv-addr`, and unregisters when it stops.

mod common;

use std::process::{Command, Stdio};

use common::{code_of, free_port, request, wait_route, Broker, GET_ROUTEINFO_BY_TOPIC};

struct Namesrv(std::process::Child);

impl Drop for Namesrv {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

#[test]
fn a_broker_registers_with_a_standalone_namesrv() {
    let port = free_port();
    let _namesrv = Namesrv(
        Command::new(env!("CARGO_BIN_EXE_shardmq"))
            .args(["namesrv", "--listen-addr", "127.0.0.1"])
            .args(["--listen-port", &port.to_string()])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .expect("start namesrv"),
    );
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let namesrv_addr = addr.to_string();
    let broker = Broker::start(
        2,
        &["--no-embedded-namesrv", "--namesrv-addr", &namesrv_addr],
    );
    assert!(
        std::net::TcpStream::connect(broker.namesrv_addr()).is_err(),
        "no embedded NameServer"
    );
    wait_route(addr, "TBW102", 2);

    assert_eq!(broker.stop(), Some(0));
    let mut conn = common::connect(addr);
    let (header, _) = request(
        &mut conn,
        GET_ROUTEINFO_BY_TOPIC,
        serde_json::json!({"topic": "TBW102"}),
    );
    assert_eq!(code_of(&header), 17, "unregistered at shutdown: {header}");
}
