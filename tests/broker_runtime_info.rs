//! GET_BROKER_RUNTIME_INFO answers a KVTable with the keys mqadmin reads, numeric ones
//! parsable.

mod common;

use common::{code_of, json_body, request, Broker};

const GET_BROKER_RUNTIME_INFO: i32 = 28;

#[test]
fn runtime_info_has_the_keys_mqadmin_reads() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    let (header, body) = request(&mut conn, GET_BROKER_RUNTIME_INFO, serde_json::json!({}));
    assert_eq!(code_of(&header), 0);
    let table = &json_body(&body)["table"];
    assert_eq!(table["brokerVersionDesc"], "V5_3_3");
    assert_eq!(table["brokerVersion"], "479");
    for key in ["bootTimestamp", "msgPutTotalTodayNow", "commitLogMaxOffset"] {
        let value = table[key].as_str().expect(key);
        assert!(value.parse::<i64>().is_ok(), "{key}={value}");
    }
    let tps = table["putTps"].as_str().expect("putTps");
    assert_eq!(tps.split(' ').count(), 3);
}
