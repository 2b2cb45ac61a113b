//! VIEW_MESSAGE_BY_ID: the offset message id a send returns names the shard that stored the
//! message, and that shard answers the lookup with the record as stored; any offset where
//! no record starts is Java's SYSTEM_ERROR, and the connection keeps serving.

mod common;

use std::net::TcpStream;

use common::*;
use serde_json::json;

const VIEW_MESSAGE_BY_ID: i32 = 33;

fn view(conn: &mut TcpStream, offset: serde_json::Value) -> (serde_json::Value, Vec<u8>) {
    request(conn, VIEW_MESSAGE_BY_ID, json!({ "offset": offset }))
}

/// Asks for `offset` as a JSON number and as a string (clients send either).
fn assert_not_found(conn: &mut TcpStream, offset: i64) {
    for sent in [json!(offset), json!(offset.to_string())] {
        let (header, body) = view(conn, sent);
        assert_eq!(code_of(&header), SYSTEM_ERROR, "{offset}: {header}");
        assert!(body.is_empty());
        let remark = header["remark"].as_str().expect("a remark");
        assert_eq!(
            remark,
            format!("can not find message by the offset, {offset}")
        );
    }
}

#[test]
fn the_id_a_send_returns_views_the_same_message_on_its_shard() {
    let broker = Broker::start(2, &[]);
    let mut shard1 = broker.connect(1);
    let props = properties(&[("TAGS", "TagV"), ("KEYS", "k-1 k-2"), ("UNIQ_KEY", "ID1")]);
    let mut ids = Vec::new();
    for body in [&b"first body"[..], b"second, longer body"] {
        let sent = send_v2(&mut shard1, "viewed", 1, body, &props);
        assert_eq!(code_of(&sent), SUCCESS, "{sent}");
        ids.push(
            sent["extFields"]["msgId"]
                .as_str()
                .expect("msgId")
                .to_owned(),
        );
    }

    for (id, body) in ids.iter().zip([&b"first body"[..], b"second, longer body"]) {
        let (host, offset) = decode_offset_message_id(id);
        assert_eq!(
            host,
            broker.addr(1),
            "the id names the shard that stored it"
        );
        let (header, record) = view(&mut shard1, json!(offset.to_string()));
        assert_eq!(code_of(&header), SUCCESS, "{header}");
        let record = decode_record(&record);
        assert_eq!(record.body, body);
        assert_eq!(record.topic, "viewed");
        assert_eq!(record.queue_id, 1);
        assert_eq!(record.physical_offset, offset);
        assert_eq!(record.store_host, broker.addr(1));
        assert!(
            record.properties.starts_with(&props),
            "{:?}",
            record.properties
        );
    }
    // Offsets are per shard: shard 0 stored nothing.
    let (_, first) = decode_offset_message_id(&ids[0]);
    let mut shard0 = broker.connect(0);
    assert_not_found(&mut shard0, first);
}

#[test]
fn offsets_where_no_record_starts_are_refused_and_the_connection_serves_on() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    assert_not_found(&mut conn, 0);
    let sent = send_v2(&mut conn, "garbage", 0, &[7u8; 300], "");
    let (_, offset) = decode_offset_message_id(sent["extFields"]["msgId"].as_str().expect("id"));
    let end = offset + view(&mut conn, json!(offset)).1.len() as i64;
    let inside = [offset + 1, offset + 4, offset + 28, offset + 120, end - 1];
    for bad in inside
        .into_iter()
        .chain([end, end + 1, 1 << 40, i64::MAX, -1, i64::MIN])
    {
        assert_not_found(&mut conn, bad);
    }
    // Not a Java long: the header itself is refused, naming the field.
    for (fields, field) in [
        (json!({"offset": "18446744073709551615"}), "offset"),
        (json!({"offset": "12ab"}), "offset"),
        (json!({"offset": ""}), "offset"),
        (json!({}), "offset"),
    ] {
        let (header, _) = request(&mut conn, VIEW_MESSAGE_BY_ID, fields.clone());
        assert_eq!(code_of(&header), SYSTEM_ERROR, "{fields}: {header}");
        let remark = header["remark"].as_str().expect("remark");
        assert!(remark.contains(field), "{remark}");
    }
    let (header, record) = view(&mut conn, json!(offset));
    assert_eq!(code_of(&header), SUCCESS, "still serving: {header}");
    assert_eq!(decode_record(&record).body, vec![7u8; 300]);
}
