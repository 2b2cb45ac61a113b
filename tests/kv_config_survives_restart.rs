//! The embedded NameServer keeps its KV config in `<storePathRootDir>/namesrv/kvConfig.json`:
//! a put is there after SIGTERM and a start on the same store, and a delete stays deleted.

mod common;

use common::{code_of, request, Broker, SUCCESS};

const PUT_KV_CONFIG: i32 = 100;
const GET_KV_CONFIG: i32 = 101;
const DELETE_KV_CONFIG: i32 = 102;

#[test]
fn the_embedded_namesrv_keeps_its_kv_config_across_a_restart() {
    let broker = Broker::start(1, &[]);
    let mut conn = common::connect(broker.namesrv_addr());
    for (key, value) in [("kept", "b-0:4"), ("gone", "b-0:8")] {
        let fields =
            serde_json::json!({"namespace": "ORDER_TOPIC_CONFIG", "key": key, "value": value});
        let (header, _) = request(&mut conn, PUT_KV_CONFIG, fields);
        assert_eq!(code_of(&header), SUCCESS, "{header}");
    }
    let fields = serde_json::json!({"namespace": "ORDER_TOPIC_CONFIG", "key": "gone"});
    let (header, _) = request(&mut conn, DELETE_KV_CONFIG, fields);
    assert_eq!(code_of(&header), SUCCESS, "{header}");
    drop(conn);
    let (store, dir) = broker.store_dir();
    assert_eq!(broker.stop(), Some(0));
    assert!(store.join("namesrv/kvConfig.json").exists());

    let broker = Broker::start_in(1, &[], store, dir);
    let mut conn = common::connect(broker.namesrv_addr());
    let fields = serde_json::json!({"namespace": "ORDER_TOPIC_CONFIG", "key": "kept"});
    let (header, _) = request(&mut conn, GET_KV_CONFIG, fields);
    assert_eq!(header["extFields"]["value"], "b-0:4", "{header}");
    let fields = serde_json::json!({"namespace": "ORDER_TOPIC_CONFIG", "key": "gone"});
    let (header, _) = request(&mut conn, GET_KV_CONFIG, fields);
    assert_eq!(code_of(&header), 22, "QUERY_NOT_FOUND: {header}");
}
