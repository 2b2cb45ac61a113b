//! GET_BROKER_RUNTIME_INFO answers a KVTable with the keys mqadmin reads, numeric ones
//! parsable, and the figures follow what the shard stored and handed out: message totals
//! and rates, the CommitLog's extent and its oldest message, the parked pulls, and the
//! shard's connections and what is queued for them.

mod common;

use common::{runtime_long as long, *};
use serde_json::{json, Value};

const VIEW_MESSAGE_BY_ID: i32 = 33;
const SUBSCRIPTION_FLAG: i32 = 4;

/// The three space-separated rates of a TPS key.
fn rates(table: &Value, key: &str) -> Vec<f64> {
    let text = table[key].as_str().unwrap_or_else(|| panic!("no {key}"));
    let parsed = text.split(' ').map(|r| r.parse().expect("a double"));
    parsed.collect()
}

#[test]
fn runtime_info_has_the_keys_mqadmin_reads() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    let table = runtime_info(&mut conn);
    assert_eq!(table["brokerVersionDesc"], "V5_3_3");
    assert_eq!(table["brokerVersion"], "479");
    assert_eq!(table["brokerActive"], "true");
    for key in [
        "bootTimestamp",
        "msgPutTotalTodayNow",
        "msgPutTotalTodayMorning",
        "msgPutTotalYesterdayMorning",
        "msgGetTotalTodayNow",
        "commitLogMaxOffset",
        "commitLogWrittenOffset",
        "commitLogMinOffset",
        "dispatchBehindBytes",
        "sendThreadPoolQueueSize",
        "pageCacheLockTimeMills",
    ] {
        long(&table, key);
    }
    assert!(long(&table, "bootTimestamp") <= now_ms());
    assert_eq!(
        long(&table, "earliestMessageTimeStamp"),
        -1,
        "nothing stored"
    );
    for key in ["putTps", "getTransferredTps", "getTransferedTps"] {
        assert_eq!(rates(&table, key), [0.0, 0.0, 0.0], "{key}");
    }
    let ratio: f64 = table["commitLogDiskRatio"]
        .as_str()
        .expect("ratio")
        .parse()
        .expect("f64");
    assert!((0.0..=1.0).contains(&ratio), "{ratio}");
    assert_eq!(table["remainHowManyDataToFlush"], "0 B");
    assert_eq!(table["parkedPulls"], "0");
    assert!(long(&table, "connections") >= 1, "this one at least");
    assert_eq!(long(&table, "queuedResponseBytes"), 0);
    assert_eq!(table["scheduleMessageOffset_1"], "0,0", "cursor,end");
    assert_eq!(table["scheduleMessageOffset_18"], "0,0", "Java's 18 levels");
    let runtime = table["runtime"].as_str().expect("runtime");
    assert!(runtime.starts_with("[ 0 days, 0 hours, "), "{runtime}");
}

#[test]
fn figures_follow_what_was_stored_and_pulled() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    let before = now_ms();
    let mut last_id = String::new();
    for _ in 0..3 {
        let sent = send_v2(&mut conn, "traffic", 0, b"counted", "");
        assert_eq!(code_of(&sent), SUCCESS, "{sent}");
        last_id = sent["extFields"]["msgId"]
            .as_str()
            .expect("msgId")
            .to_owned();
    }
    let after_first = now_ms();
    wait_max_offset(&mut conn, "traffic", 0, 3);
    let pull = json!({"consumerGroup": "cg", "topic": "traffic", "queueId": 0,
        "queueOffset": 0, "maxMsgNums": 32, "sysFlag": SUBSCRIPTION_FLAG, "commitOffset": 0,
        "suspendTimeoutMillis": 0, "subscription": "*", "subVersion": 0});
    let (header, _) = request(&mut conn, PULL_MESSAGE, pull);
    assert_eq!(code_of(&header), SUCCESS, "{header}");

    let table = runtime_info(&mut conn);
    assert_eq!(long(&table, "msgPutTotalTodayNow"), 3);
    assert_eq!(long(&table, "msgGetTotalTodayNow"), 3);
    let earliest = long(&table, "earliestMessageTimeStamp");
    assert!(before <= earliest && earliest <= after_first, "{earliest}");
    let (_, last) = decode_offset_message_id(&last_id);
    let (_, record) = request(&mut conn, VIEW_MESSAGE_BY_ID, json!({ "offset": last }));
    assert_eq!(long(&table, "commitLogMinOffset"), 0);
    assert_eq!(
        long(&table, "commitLogMaxOffset"),
        last + record.len() as i64
    );

    // Rates come from once-a-second samples: the next one shows the traffic.
    let table = wait_for(PATIENCE, "a sample with the traffic", || {
        let table = runtime_info(&mut conn);
        (rates(&table, "putTps")[0] > 0.0).then_some(table)
    });
    for key in ["putTps", "getTransferredTps", "getTransferedTps"] {
        let rates = rates(&table, key);
        assert!(
            rates.iter().all(|&r| r > 0.0 && r <= 3.0),
            "{key}: {rates:?}"
        );
    }
    assert_eq!(long(&table, "dispatchBehindBytes"), 0);
}
