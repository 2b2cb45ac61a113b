//! A frame that cannot be trusted closes its own connection and nothing else.

mod common;

use common::{closed_by_peer, json_frame, read_frame, write_all, Broker};

fn assert_still_serves(conn: &mut std::net::TcpStream) {
    let header = r#"{"code":9999,"language":"JAVA","version":479,"opaque":5,"flag":0}"#;
    write_all(conn, &json_frame(header, b""));
    let response = read_frame(conn).expect("the other connection still answers");
    assert_eq!(response.json()["opaque"], 5);
}

#[test]
fn frame_over_16_mib_closes_only_that_connection() {
    let broker = Broker::start(1, &[]);
    let mut bystander = broker.connect(0);
    let mut offender = broker.connect(0);

    // 17 MiB announced: the broker must close as soon as it sees the length.
    let length: u32 = 17 * 1024 * 1024;
    let mut prefix = length.to_be_bytes().to_vec();
    prefix.extend_from_slice(&20u32.to_be_bytes());
    write_all(&mut offender, &prefix);
    assert!(
        closed_by_peer(&mut offender),
        "oversize frame closes the connection"
    );

    assert_still_serves(&mut bystander);
    assert_still_serves(&mut broker.connect(0));
}

#[test]
fn unknown_serialize_type_closes_only_that_connection() {
    let broker = Broker::start(1, &[]);
    let mut bystander = broker.connect(0);
    let mut offender = broker.connect(0);
    let header = br#"{"code":1}"#;
    let mut frame = ((4 + header.len()) as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&((2u32 << 24) | header.len() as u32).to_be_bytes());
    frame.extend_from_slice(header);
    write_all(&mut offender, &frame);
    assert!(closed_by_peer(&mut offender));
    assert_still_serves(&mut bystander);
}

#[test]
fn header_longer_than_frame_closes_the_connection() {
    let broker = Broker::start(1, &[]);
    let mut offender = broker.connect(0);
    let mut frame = 10u32.to_be_bytes().to_vec();
    frame.extend_from_slice(&100u32.to_be_bytes());
    frame.extend_from_slice(&[b'{'; 6]);
    write_all(&mut offender, &frame);
    assert!(closed_by_peer(&mut offender));
    assert_still_serves(&mut broker.connect(0));
}

#[test]
fn malformed_json_header_closes_the_connection() {
    let broker = Broker::start(1, &[]);
    let mut offender = broker.connect(0);
    write_all(&mut offender, &json_frame("{\"code\":", b""));
    assert!(closed_by_peer(&mut offender));
    assert_still_serves(&mut broker.connect(0));
}
