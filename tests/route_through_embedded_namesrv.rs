//! Through the embedded NameServer, TBW102 routes to every shard as its own broker: one
//! broker entry per shard, named `<brokerName>-<k>`, at that shard's main port.

mod common;

use common::{wait_route, Broker};

#[test]
fn tbw102_lists_one_broker_per_shard_at_its_port() {
    let broker = Broker::start(2, &["--broker-name", "bk"]);
    let route = wait_route(broker.namesrv_addr(), "TBW102", 2);

    let mut datas = route["brokerDatas"]
        .as_array()
        .expect("brokerDatas")
        .clone();
    datas.sort_by_key(|d| d["brokerName"].as_str().unwrap_or("").to_owned());
    for (shard, data) in datas.iter().enumerate() {
        assert_eq!(data["brokerName"], format!("bk-{shard}"));
        assert_eq!(data["cluster"], "DefaultCluster");
        assert_eq!(
            data["brokerAddrs"]["0"],
            format!("127.0.0.1:{}", broker.shard_port(shard as u16))
        );
    }
    let queues = route["queueDatas"].as_array().expect("queueDatas");
    assert_eq!(queues.len(), 2);
    for queue in queues {
        assert_eq!(queue["perm"], 7, "TBW102 can be inherited from");
        assert_eq!(queue["writeQueueNums"], 8);
    }
}
