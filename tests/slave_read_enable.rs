//! `slaveReadEnable`: a master tells a consumer reading far behind the log's end to pull from
//! its slave (`suggestWhichBrokerId` = the group's `whichBrokerWhenConsumeSlowly`, 1), and one
//! that keeps up to stay (the group's `brokerId`, 0), by Java's rule: the pull's last record
//! more than `accessMessageInMemoryMaxRatio` percent of the host's memory behind the end.
//! Without the key every answer names the master.

mod common;

use std::net::TcpStream;

use common::{code_of, create_topic, pull, send_v2, wait_max_offset, Broker, PULL_FOUND, SUCCESS};

const TOPIC: &str = "ReadFar";

fn suggested(conn: &mut TcpStream, offset: u64) -> i64 {
    let (header, _) = pull(conn, TOPIC, 0, offset);
    assert_eq!(code_of(&header), PULL_FOUND, "{header}");
    let text = header["extFields"]["suggestWhichBrokerId"]
        .as_str()
        .expect("suggestWhichBrokerId");
    text.parse().expect("a number")
}

fn broker_with_messages(extra: &[&str]) -> (Broker, TcpStream) {
    let broker = Broker::start(1, extra);
    let mut conn = broker.connect(0);
    assert_eq!(code_of(&create_topic(&mut conn, TOPIC, 1)), SUCCESS);
    for n in 0..3 {
        let header = send_v2(&mut conn, TOPIC, 0, format!("m{n}").as_bytes(), "");
        assert_eq!(code_of(&header), SUCCESS, "{header}");
    }
    wait_max_offset(&mut conn, TOPIC, 0, 3);
    (broker, conn)
}

#[test]
fn a_master_with_slave_reads_sends_readers_far_behind_to_its_slave() {
    let (_plain, mut conn) = broker_with_messages(&[]);
    assert_eq!(
        suggested(&mut conn, 0),
        0,
        "without slaveReadEnable: the master"
    );

    // With a ratio of 0 every record lies too far behind: the slave.
    let (_far, mut conn) = broker_with_messages(&[
        "-o",
        "slaveReadEnable=true",
        "-o",
        "accessMessageInMemoryMaxRatio=0",
    ]);
    assert_eq!(suggested(&mut conn, 0), 1);
    assert_eq!(suggested(&mut conn, 2), 1);

    // With Java's 40 % of this host's memory, three small messages are in memory: stay.
    let (_near, mut conn) = broker_with_messages(&["-o", "slaveReadEnable=true"]);
    assert_eq!(suggested(&mut conn, 0), 0);
}
