//! A slave whose log holds records its master does not (the master was replaced by one with
//! an empty store) is refused by that master, which says why, and keeps every record it
//! has: nothing is truncated silently.

mod common;

use common::{
    code_of, create_topic, send_v2, slave_args, wait_max_offset, wait_until, Broker, PATIENCE,
    SUCCESS,
};

const TOPIC: &str = "Kept";

#[test]
fn a_slave_ahead_of_its_master_is_refused_and_keeps_its_records() {
    let master = Broker::start(1, &[]);
    let (port, ns) = (master.listen_port, master.namesrv_port);
    let args = slave_args(port, ns, true);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let slave = Broker::start(1, &args);
    for broker in [&master, &slave] {
        assert_eq!(
            code_of(&create_topic(&mut broker.connect(0), TOPIC, 1)),
            SUCCESS
        );
    }
    let mut conn = master.connect(0);
    for n in 0..10 {
        let header = send_v2(&mut conn, TOPIC, 0, format!("kept {n}").as_bytes(), "");
        assert_eq!(code_of(&header), SUCCESS, "{header}");
    }
    drop(conn);
    let mut on_slave = slave.connect(0);
    wait_max_offset(&mut on_slave, TOPIC, 0, 10);
    drop(on_slave);
    assert_eq!(master.stop(), Some(0));

    // Another master on the same ports, with an empty store.
    let log_dir = tempfile::tempdir().expect("log dir");
    let log = log_dir.path().join("master.log");
    let fresh = tempfile::tempdir().expect("store");
    let replaced = Broker::start_on_ports(
        1,
        &[],
        (fresh.path().to_owned(), None),
        (port, ns),
        Some(("info", &log)),
    );
    wait_until(PATIENCE, "the new master refusing the slave", || {
        std::fs::read_to_string(&log).is_ok_and(|text| text.contains("past this master's end"))
    });
    let mut on_slave = slave.connect(0);
    wait_max_offset(&mut on_slave, TOPIC, 0, 10);
    drop(replaced);
}
