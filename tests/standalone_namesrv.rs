//! `shardmq namesrv` runs alone; a broker without its embedded NameServer registers with it
//! through `--namesrv-addr`, and unregisters when it stops. `-c namesrv.conf` is Java's
//! file, and the KV config survives a restart in `kvConfigPath`.

mod common;

use std::process::{Command, Stdio};

use common::{
    code_of, free_port, request, wait_route, wait_until, Broker, GET_ROUTEINFO_BY_TOPIC, PATIENCE,
    SUCCESS,
};

const PUT_KV_CONFIG: i32 = 100;
const GET_KV_CONFIG: i32 = 101;

/// A NameServer process, stopped (SIGTERM) on drop unless stopped before.
struct Namesrv(Option<std::process::Child>);

impl Namesrv {
    /// `shardmq namesrv` with `args`, once it accepts connections at `addr`.
    fn start(args: &[&str], addr: std::net::SocketAddr) -> Namesrv {
        let namesrv = Namesrv(Some(
            Command::new(env!("CARGO_BIN_EXE_shardmq"))
                .arg("namesrv")
                .args(args)
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .spawn()
                .expect("start namesrv"),
        ));
        wait_until(PATIENCE, "the NameServer listens", || {
            std::net::TcpStream::connect(addr).is_ok()
        });
        namesrv
    }

    /// SIGTERM, then its exit status.
    fn stop(mut self) -> Option<i32> {
        let mut child = self.0.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        child.wait().ok().and_then(|status| status.code())
    }
}

impl Drop for Namesrv {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

#[test]
fn a_broker_registers_with_a_standalone_namesrv() {
    let kv = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let _namesrv = Namesrv(Some(
        Command::new(env!("CARGO_BIN_EXE_shardmq"))
            .args(["namesrv", "--listen-addr", "127.0.0.1"])
            .args(["--listen-port", &port.to_string()])
            .arg("--kv-config-path")
            .arg(kv.path().join("kvConfig.json"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .expect("start namesrv"),
    ));
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

#[test]
fn a_namesrv_conf_sets_the_port_and_the_kv_config_survives_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let kv_path = dir.path().join("namesrv").join("kvConfig.json");
    let conf = dir.path().join("namesrv.conf");
    std::fs::write(
        &conf,
        format!(
            "# Java namesrv.conf\nlistenPort={port}\nkvConfigPath={}\n\
             rocketmqHome=/opt/rocketmq\nserverWorkerThreads=8\norderMessageEnable=false\n\
             clusterTest=false\nscanNotActiveBrokerInterval=5000\n",
            kv_path.display()
        ),
    )
    .expect("conf written");
    let conf = conf.display().to_string();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let args = ["-c", &conf, "--listen-addr", "127.0.0.1"];

    let namesrv = Namesrv::start(&args, addr);
    let mut conn = common::connect(addr);
    let (header, _) = request(
        &mut conn,
        PUT_KV_CONFIG,
        serde_json::json!({"namespace": "ORDER_TOPIC_CONFIG", "key": "T", "value": "b-0:4"}),
    );
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    // Written before the put is answered, in Java's format.
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&kv_path).expect("kvConfig.json")).expect("JSON");
    assert_eq!(file["configTable"]["ORDER_TOPIC_CONFIG"]["T"], "b-0:4");
    drop(conn);
    assert_eq!(namesrv.stop(), Some(0));
    // io_uring tears a ring down after its process has exited, so the old listening socket
    // may take connections for a few milliseconds more: restart once it is gone.
    wait_until(PATIENCE, "the stopped NameServer's port is closed", || {
        std::net::TcpStream::connect(addr).is_err()
    });

    let _namesrv = Namesrv::start(&args, addr);
    let mut conn = common::connect(addr);
    let (header, _) = request(
        &mut conn,
        GET_KV_CONFIG,
        serde_json::json!({"namespace": "ORDER_TOPIC_CONFIG", "key": "T"}),
    );
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    assert_eq!(header["extFields"]["value"], "b-0:4", "{header}");
}

/// Runs `shardmq namesrv -c <file holding text>`, which must fail; returns its stderr.
fn refused_start(text: &str) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = dir.path().join("namesrv.conf");
    std::fs::write(&conf, text).expect("conf written");
    let output = Command::new(env!("CARGO_BIN_EXE_shardmq"))
        .args(["namesrv", "--listen-addr", "127.0.0.1", "-c"])
        .arg(&conf)
        .arg("--kv-config-path")
        .arg(dir.path().join("kvConfig.json"))
        .output()
        .expect("run shardmq");
    assert!(!output.status.success(), "{text} starts");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_namesrv_conf_key_shardmq_would_not_honour_fails_start_up_naming_it() {
    for (text, key) in [
        ("listenPort=1\nclusterTest=true\n", "clusterTest"),
        (
            "enableControllerInNamesrv=true\n",
            "enableControllerInNamesrv",
        ),
        ("enableAllTopicList=false\n", "enableAllTopicList"),
        ("listenPrt=9876\n", "listenPrt"),
    ] {
        let stderr = refused_start(text);
        let line = text.lines().position(|l| l.starts_with(key)).unwrap_or(0) + 1;
        assert!(
            stderr.contains(key) && stderr.contains(&format!("line {line}")),
            "{text}: names the key and its line: {stderr}"
        );
    }
}

#[test]
fn a_damaged_kv_config_fails_start_up_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let kv_path = dir.path().join("kvConfig.json");
    std::fs::write(&kv_path, "{\"configTable\":").expect("written");
    let output = Command::new(env!("CARGO_BIN_EXE_shardmq"))
        .args(["namesrv", "--listen-addr", "127.0.0.1"])
        .args(["--listen-port", &free_port().to_string()])
        .arg("--kv-config-path")
        .arg(&kv_path)
        .output()
        .expect("run shardmq");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("kvConfig.json"), "names the file: {stderr}");
}

/// With `aclEnable`, a standalone NameServer takes a registration only with an admin
/// account's signature: a broker configured with one registers, an unsigned request to write
/// is refused, and route reads stay open (docs/access-control.md §4).
#[test]
fn a_standalone_namesrv_with_acl_takes_only_signed_registrations() {
    let dir = tempfile::tempdir().expect("temp dir");
    let acl = dir.path().join("plain_acl.yml");
    std::fs::write(
        &acl,
        "accounts:\n  - accessKey: broker-admin\n    secretKey: broker-secret\n    admin: true\n",
    )
    .expect("ACL file");
    let port = free_port();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let acl_file = format!("aclFile={}", acl.display());
    let port_text = port.to_string();
    let args = [
        "--listen-addr",
        "127.0.0.1",
        "--listen-port",
        &port_text,
        "-o",
        "aclEnable=true",
        "-o",
        &acl_file,
    ];
    let _namesrv = Namesrv::start(&args, addr);
    let namesrv_addr = addr.to_string();
    let _broker = Broker::start(
        1,
        &[
            "--no-embedded-namesrv",
            "--namesrv-addr",
            &namesrv_addr,
            "-o",
            "accessKey=broker-admin",
            "-o",
            "secretKey=broker-secret",
        ],
    );
    wait_route(addr, "TBW102", 1);
    let mut conn = common::connect(addr);
    let (header, _) = request(
        &mut conn,
        PUT_KV_CONFIG,
        serde_json::json!({"namespace": "ns", "key": "k", "value": "v"}),
    );
    assert_eq!(code_of(&header), 16, "unsigned write refused: {header}");
    assert_eq!(header["remark"], "No accessKey is configured");
}
