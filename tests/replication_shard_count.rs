//! A slave whose shard count differs from its master's does not copy the master's log: shard
//! k of each would copy the other's shard k, but a topic's queues are placed by the shard
//! count, so the copies would hold queues in other places. The slave says why in its log,
//! and the master counts no slave.

mod common;

use common::{runtime_info, runtime_long, slave_args, wait_until, Broker, PATIENCE};

#[test]
fn a_slave_with_another_shard_count_is_refused_and_says_why() {
    let master = Broker::start(1, &[]);
    let logs = tempfile::tempdir().expect("log dir");
    let log = logs.path().join("slave.log");
    let args = slave_args(master.listen_port, master.namesrv_port, true);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let store = tempfile::tempdir().expect("store");
    let slave = Broker::spawn(
        2,
        &args,
        store.path().to_owned(),
        None,
        Some(("info", &log)),
    );
    wait_until(PATIENCE, "the slave saying why it does not copy", || {
        std::fs::read_to_string(&log).is_ok_and(|text| {
            text.contains("runs 1 shard(s) and this slave 2")
                && text.contains("start it with --shards 1")
        })
    });
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(!text.contains("slave: following the master"), "{text}");
    let mut on_master = master.connect(0);
    assert_eq!(
        runtime_long(&runtime_info(&mut on_master), "haConnectionCount"),
        0
    );
    drop(slave);
}
