//! A request code the broker does not serve is answered like Java answers it:
//! REQUEST_CODE_NOT_SUPPORTED (3) with the request's opaque, in the request's serialization,
//! and a oneway request is never answered.

mod common;

use std::time::Duration;

use common::{json_frame, read_frame, write_all, Broker};

const REQUEST_CODE_NOT_SUPPORTED: i64 = 3;

#[test]
fn json_request_gets_json_not_supported_with_its_opaque() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    // As ali-ons sends it: no serializeTypeCurrentRPC, a number in extFields.
    let header = r#"{"code":9999,"language":"JAVA","version":121,"opaque":42,"flag":0,"extFields":{"queueId":3}}"#;
    write_all(&mut conn, &json_frame(header, b"body"));

    let response = read_frame(&mut conn).expect("a response");
    let json = response.json();
    assert_eq!(json["code"], REQUEST_CODE_NOT_SUPPORTED);
    assert_eq!(json["opaque"], 42);
    assert_eq!(json["flag"].as_i64().unwrap() & 1, 1, "response flag set");
    assert!(json["remark"].as_str().unwrap().contains("9999"));
    assert!(response.body.is_empty());
}

#[test]
fn binary_request_gets_binary_not_supported_with_its_opaque() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    write_all(&mut conn, &binary_frame(9998, -7, 0));

    let response = read_frame(&mut conn).expect("a response");
    assert_eq!(response.serialize_type, 1);
    let h = &response.header;
    assert_eq!(
        i16::from_be_bytes([h[0], h[1]]) as i64,
        REQUEST_CODE_NOT_SUPPORTED
    );
    assert_eq!(
        i32::from_be_bytes([h[5], h[6], h[7], h[8]]),
        -7,
        "opaque echoed"
    );
    assert_eq!(
        i32::from_be_bytes([h[9], h[10], h[11], h[12]]) & 1,
        1,
        "response flag set"
    );
    let remark_len = i32::from_be_bytes([h[13], h[14], h[15], h[16]]) as usize;
    let remark = std::str::from_utf8(&h[17..17 + remark_len]).unwrap();
    assert!(remark.contains("9998"), "remark names the code: {remark}");
}

#[test]
fn oneway_request_is_never_answered() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    let oneway = r#"{"code":9999,"language":"GO","version":317,"opaque":1,"flag":2,"remark":""}"#;
    let twoway = r#"{"code":9999,"language":"GO","version":317,"opaque":2,"flag":0,"remark":""}"#;
    let mut bytes = json_frame(oneway, b"");
    bytes.extend(json_frame(twoway, b""));
    write_all(&mut conn, &bytes);

    // The first frame back answers the two-way request: nothing was sent for opaque 1.
    let response = read_frame(&mut conn).expect("a response");
    assert_eq!(response.json()["opaque"], 2);
    conn.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert!(read_frame(&mut conn).is_none(), "no further frame");
}

#[test]
fn many_pipelined_requests_are_all_answered() {
    let broker = Broker::start(2, &[]);
    for shard in 0..2 {
        let mut conn = broker.connect(shard);
        let mut bytes = Vec::new();
        for opaque in 0..2000 {
            let header = format!(
                r#"{{"code":7777,"language":"RUST","version":479,"opaque":{opaque},"flag":0,"serializeTypeCurrentRPC":"JSON"}}"#
            );
            bytes.extend(json_frame(&header, &[0u8; 100]));
        }
        write_all(&mut conn, &bytes);
        let mut opaques: Vec<i64> = (0..2000)
            .map(|_| {
                read_frame(&mut conn).expect("response").json()["opaque"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        opaques.sort_unstable();
        assert_eq!(opaques, (0..2000).collect::<Vec<_>>());
    }
}

/// A ROCKETMQ-serialized request with no remark and no ext fields, laid out by hand
/// (docs/protocol.md §1.4).
fn binary_frame(code: i16, opaque: i32, flag: i32) -> Vec<u8> {
    let mut header = Vec::new();
    header.extend_from_slice(&code.to_be_bytes());
    header.push(0); // JAVA
    header.extend_from_slice(&479i16.to_be_bytes());
    header.extend_from_slice(&opaque.to_be_bytes());
    header.extend_from_slice(&flag.to_be_bytes());
    header.extend_from_slice(&0i32.to_be_bytes()); // remark length
    header.extend_from_slice(&0i32.to_be_bytes()); // ext fields length
    let mut frame = Vec::new();
    frame.extend_from_slice(&((4 + header.len()) as u32).to_be_bytes());
    frame.extend_from_slice(&((1u32 << 24) | header.len() as u32).to_be_bytes());
    frame.extend_from_slice(&header);
    frame
}
