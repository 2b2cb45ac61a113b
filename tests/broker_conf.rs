//! `-c broker.conf`: an unknown key stops start-up naming it; a Java-style file with keys
//! that mean nothing here starts (with a warning each).

mod common;

use std::process::Command;

use common::{wait_route, Broker};

#[test]
fn an_unknown_key_fails_start_up_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broker.conf");
    std::fs::write(&conf, "brokerName=b\nlistenPrt=10911\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_shardmq"))
        .args(["broker", "--shards", "1", "--no-embedded-namesrv", "-c"])
        .arg(&conf)
        .arg("--store-path")
        .arg(dir.path().join("store"))
        .output()
        .expect("run shardmq");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("listenPrt") && stderr.contains("line 2"),
        "names key and line: {stderr}"
    );
}

#[test]
fn a_java_broker_conf_with_ignored_keys_starts() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        "# Java broker.conf\nbrokerClusterName = JavaCluster\nbrokerName = broker-j\n\
         brokerId = 0\ndeleteWhen = 04\nfileReservedTime = 48\nbrokerRole = ASYNC_MASTER\n\
         flushDiskType = ASYNC_FLUSH\nsendMessageThreadPoolNums=16\n\
         useReentrantLockWhenPutMessage=true\nwaitTimeMillsInSendQueue=200\n\
         brokerIP2=127.0.0.1\nenablePropertyFilter=true\naclEnable=false\n",
    )
    .unwrap();
    let conf = conf.display().to_string();
    let broker = Broker::start(1, &["-c", &conf]);
    let route = wait_route(broker.namesrv_addr(), "TBW102", 1);
    assert_eq!(route["brokerDatas"][0]["cluster"], "JavaCluster");
    assert_eq!(route["brokerDatas"][0]["brokerName"], "broker-j-0");
}
