//! `-c broker.conf`: an unknown key stops start-up naming it; a Java-style file with keys
//! that only tune machinery shardmq lacks starts (with a warning each); a key whose value
//! would have shardmq do something else than asked stops start-up naming it; honoured keys
//! have their effect (docs/operations.md, "What happens to every Java key").

mod common;

use std::process::{Command, Stdio};

use common::{code_of, poll_for, send_v2, terminate, wait_route, Broker, PATIENCE};

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
         brokerIP2=127.0.0.1\nenablePropertyFilter=true\naclEnable=false\n\
         slaveReadEnable=false\ntimerWheelEnable=true\ntransactionCheckMax=15\n",
    )
    .unwrap();
    let conf = conf.display().to_string();
    let broker = Broker::start(1, &["-c", &conf]);
    let route = wait_route(broker.namesrv_addr(), "TBW102", 1);
    assert_eq!(route["brokerDatas"][0]["cluster"], "JavaCluster");
    assert_eq!(route["brokerDatas"][0]["brokerName"], "broker-j-0");
}

/// Runs `shardmq broker -c <file holding text>`, which must fail; returns its stderr. A
/// broker that starts instead is stopped and fails the test (rather than hanging it).
fn refused_start(text: &str) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = dir.path().join("broker.conf");
    std::fs::write(&conf, text).expect("conf written");
    let mut child = Command::new(env!("CARGO_BIN_EXE_shardmq"))
        .args(["broker", "--shards", "1", "--no-embedded-namesrv", "-c"])
        .arg(&conf)
        .arg("--store-path")
        .arg(dir.path().join("store"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run shardmq");
    // Polled rather than waited for, so a broker that starts is stopped, not waited on.
    let Some(status) = poll_for(PATIENCE, || child.try_wait().expect("wait")) else {
        terminate(&mut child, PATIENCE);
        panic!("{text} starts");
    };
    let mut stderr = String::new();
    let pipe = child.stderr.as_mut().expect("stderr piped");
    std::io::Read::read_to_string(pipe, &mut stderr).expect("stderr");
    assert!(!status.success(), "{text} starts");
    stderr
}

#[test]
fn values_shardmq_would_not_honour_fail_start_up_naming_the_key() {
    for line in [
        "enableControllerMode=true",
        "timerWheelEnable=false",
        "checkCRCOnRecover=false",
        "fetchNamesrvAddrByAddressServer=true",
        "storePathCommitLog=/data/commitlog",
        "storePathConsumeQueue=/data/consumequeue",
        "storePathIndex=/data/index",
        "storeCheckpoint=/data/checkpoint",
        "abortFile=/data/abort",
    ] {
        let stderr = refused_start(&format!("brokerName=b\n{line}\n"));
        let key = line.split('=').next().unwrap_or_default();
        assert!(
            stderr.contains(key) && stderr.contains("line 2") && stderr.contains("refused"),
            "{line}: names the key, its line and the refusal: {stderr}"
        );
        assert!(stderr.contains("remove the key") || stderr.contains("storePathRootDir"));
    }
}

#[test]
fn a_read_only_broker_registers_read_only_and_refuses_sends() {
    let broker = Broker::start(
        1,
        &[
            "-o",
            "brokerPermission=4",
            "-o",
            "traceTopicEnable=true",
            "-o",
            "syncFlushTimeout=2000",
            "-o",
            "registerNameServerPeriod=10000",
        ],
    );
    let route = wait_route(broker.namesrv_addr(), "TBW102", 1);
    assert_eq!(
        route["queueDatas"][0]["perm"], 4,
        "7 & brokerPermission: {route}"
    );
    let trace = wait_route(broker.namesrv_addr(), "RMQ_SYS_TRACE_TOPIC", 1);
    assert_eq!(trace["queueDatas"][0]["perm"], 4, "{trace}");
    let mut conn = broker.connect(0);
    let header = send_v2(&mut conn, "RMQ_SYS_TRACE_TOPIC", 0, b"trace", "");
    assert_eq!(code_of(&header), 16, "NO_PERMISSION: {header}");
    let remark = header["remark"].as_str().unwrap_or_default();
    assert!(remark.contains("sending message is forbidden"), "{remark}");
}
