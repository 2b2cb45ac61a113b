//! `-o autoCreateTopicEnable=false` (any broker.conf key on the command line) leaves TBW102
//! out of the routes while the other system topics stay.

mod common;

use common::{code_of, request, wait_route, Broker, GET_ROUTEINFO_BY_TOPIC};

#[test]
fn without_auto_creation_there_is_no_template_route() {
    let broker = Broker::start(1, &["-o", "autoCreateTopicEnable=false"]);
    wait_route(broker.namesrv_addr(), "DefaultCluster", 1);
    let mut ns = common::connect(broker.namesrv_addr());
    let (header, _) = request(
        &mut ns,
        GET_ROUTEINFO_BY_TOPIC,
        serde_json::json!({"topic": "TBW102"}),
    );
    assert_eq!(code_of(&header), 17, "no TBW102: {header}");
}
