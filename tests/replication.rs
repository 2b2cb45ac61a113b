//! Master/slave replication between two processes of two shards each: the slave's shard k
//! follows the master's shard k (named by `haMasterAddress`, or found through the
//! NameServer), holds every message byte for byte at the same offsets, refuses sends, and
//! resumes without a gap after a restart. The slave takes the topics from its master
//! (tests/replication_metadata.rs).

mod common;

use std::net::TcpStream;

use common::{
    code_of, create_topic, pull, runtime_info, runtime_long, send_v2, slave_args, wait_max_offset,
    wait_route, wait_until, Broker, PATIENCE, PULL_FOUND, SUCCESS, TOPIC_NOT_EXIST,
};

const TOPIC: &str = "Replicated";
const SERVICE_NOT_AVAILABLE: i64 = 14;

fn start_slave(master: &Broker, store: Option<(std::path::PathBuf, Broker)>) -> Broker {
    let args = slave_args(master.listen_port, master.namesrv_port, true);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match store {
        None => Broker::start(2, &args),
        Some((path, old)) => {
            let (_, dir) = old.store_dir();
            assert_eq!(old.stop(), Some(0), "the slave stops cleanly");
            Broker::start_in(2, &args, path, dir)
        }
    }
}

/// Sends `count` messages to queue 0 of [`TOPIC`] on each shard of `master`, numbered from
/// `first`.
fn send_each_shard(master: &Broker, first: usize, count: usize) {
    for shard in 0..2 {
        let mut conn = master.connect(shard);
        for n in first..first + count {
            let body = format!("message {n} on shard {shard}");
            let header = send_v2(&mut conn, TOPIC, 0, body.as_bytes(), "");
            assert_eq!(code_of(&header), SUCCESS, "{header}");
        }
    }
}

/// Every message of queue 0 on shard `shard`, as pull answers carry them (records, byte
/// for byte).
fn all_records(conn: &mut TcpStream, count: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < count {
        let (header, body) = pull(conn, TOPIC, 0, offset);
        assert_eq!(code_of(&header), PULL_FOUND, "{header}");
        let next = header["extFields"]["nextBeginOffset"]
            .as_str()
            .and_then(|n| n.parse::<u64>().ok())
            .expect("nextBeginOffset");
        assert!(next > offset, "{header}");
        offset = next;
        out.extend_from_slice(&body);
    }
    out
}

/// Waits until the slave serves [`TOPIC`] and holds `count` messages on each shard's queue
/// 0, then checks they are the master's records byte for byte.
fn assert_slave_holds(master: &Broker, slave: &Broker, count: u64) {
    for shard in 0..2 {
        let mut on_slave = slave.connect(shard);
        wait_until(PATIENCE, "the slave serves the topic", || {
            code_of(&pull(&mut on_slave, TOPIC, 0, 0).0) != TOPIC_NOT_EXIST
        });
        wait_max_offset(&mut on_slave, TOPIC, 0, count as i64);
        let mut on_master = master.connect(shard);
        assert_eq!(
            all_records(&mut on_slave, count),
            all_records(&mut on_master, count),
            "shard {shard}: the slave's records are the master's"
        );
    }
}

#[test]
fn a_slave_holds_its_masters_records_and_resumes_after_a_restart() {
    let master = Broker::start(2, &[]);
    // Two queues over two shards: each shard hosts one, as its queue 0. The slave takes
    // the topic from its master (tests/replication_metadata.rs).
    assert_eq!(
        code_of(&create_topic(&mut master.connect(0), TOPIC, 2)),
        SUCCESS
    );
    wait_route(master.namesrv_addr(), TOPIC, 2);
    let slave = start_slave(&master, None);
    send_each_shard(&master, 0, 40);
    assert_slave_holds(&master, &slave, 40);

    let mut conn = slave.connect(1);
    let refused = send_v2(&mut conn, TOPIC, 0, b"to a slave", "");
    assert_eq!(code_of(&refused), SERVICE_NOT_AVAILABLE, "{refused}");
    drop(conn);

    // Stopped while the master takes more, the slave resumes from its own end.
    let path = slave.store.clone();
    let stopped = slave;
    send_each_shard(&master, 40, 10);
    let slave = start_slave(&master, Some((path, stopped)));
    send_each_shard(&master, 50, 10);
    assert_slave_holds(&master, &slave, 60);

    // A master restarted on its store serves the slave again from where it is.
    let (master_path, master_dir) = master.store_dir();
    let (port, ns) = (master.listen_port, master.namesrv_port);
    assert_eq!(master.stop(), Some(0));
    let master = Broker::start_on_ports(2, &[], (master_path, master_dir), (port, ns), None);
    send_each_shard(&master, 60, 10);
    assert_slave_holds(&master, &slave, 70);
}

/// Waits until every shard of `slave` holds as much log as the same shard of `master`.
fn wait_logs_equal(master: &Broker, slave: &Broker) {
    for shard in 0..2 {
        let end = runtime_long(
            &runtime_info(&mut master.connect(shard)),
            "commitLogMaxOffset",
        );
        assert!(end > 0, "shard {shard} of the master holds records");
        let mut on_slave = slave.connect(shard);
        wait_until(PATIENCE, &format!("shard {shard}'s log copied"), || {
            runtime_long(&runtime_info(&mut on_slave), "commitLogMaxOffset") == end
        });
    }
}

#[test]
fn a_slave_without_ha_master_address_follows_the_master_its_namesrv_names() {
    let master = Broker::start(2, &[]);
    assert_eq!(
        code_of(&create_topic(&mut master.connect(0), TOPIC, 2)),
        SUCCESS
    );
    send_each_shard(&master, 0, 10);
    // Both master shards have registered, so the slave's first registration names them.
    wait_route(master.namesrv_addr(), TOPIC, 2);
    let args = slave_args(master.listen_port, master.namesrv_port, false);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let slave = Broker::start(2, &args);
    wait_logs_equal(&master, &slave);
    send_each_shard(&master, 10, 5);
    wait_logs_equal(&master, &slave);
    // It takes the topic from the master it found, and serves its records.
    assert_slave_holds(&master, &slave, 15);
}
