//! A consumer's fallback send to `%RETRY%<group>` with reconsumeTimes past its maximum is
//! stored in `%DLQ%<group>`, which the broker creates on the spot and the NameServer routes.

mod common;

use common::{code_of, json_frame, pull_until_found, read_frame, wait_route, write_all, Broker};
use serde_json::json;
use shardmq::wire::record::RecordView;

#[test]
fn a_retry_past_its_maximum_lands_in_a_new_dead_letter_topic() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    // What a Java consumer sends when CONSUMER_SEND_MSG_BACK failed: SEND_MESSAGE_V2 to the
    // retry topic with reconsumeTimes (j) and maxReconsumeTimes (l).
    let header = json!({
        "code": 310, "language": "JAVA", "version": 479, "opaque": 5, "flag": 0,
        "extFields": {
            "a": "CLIENT_INNER_PRODUCER", "b": "%RETRY%dead_group", "c": "TBW102", "d": "4",
            "e": "-1", "f": "0", "g": "1700000000000", "h": "0",
            "i": "RETRY_TOPIC\u{1}orders\u{2}DELAY\u{1}5\u{2}UNIQ_KEY\u{1}U9\u{2}",
            "j": "3", "k": "false", "l": "2"
        }
    });
    write_all(&mut conn, &json_frame(&header.to_string(), b"gave up"));
    let sent = read_frame(&mut conn).expect("answer").json();
    assert_eq!(code_of(&sent), 0, "{sent}");

    let route = wait_route(broker.namesrv_addr(), "%DLQ%dead_group", 1);
    assert_eq!(route["queueDatas"][0]["perm"], 6);
    let body = pull_until_found(&mut conn, "%DLQ%dead_group", 0, 0);
    let record = RecordView::parse(&body).expect("record");
    assert_eq!(record.body(), b"gave up");
    assert_eq!(record.reconsume_times(), 3);
    assert_eq!(record.property("RETRY_TOPIC"), Some("orders"));
    assert_eq!(record.property("DELAY"), None);
}
