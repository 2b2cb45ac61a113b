//! The NameServer behind a real listener, talked to over loopback TCP by a blocking client,
//! as a broker and a client would.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::NameServer;
use crate::net::testing::{serve_on_loopback, BlockingClient};
use crate::wire::codes::{request_code, response_code};
use crate::wire::headers::{CommandHeader, GetRouteInfoRequestHeader, RegisterBrokerRequestHeader};
use crate::wire::{ExtFields, RemotingCommand};

fn exchange(client: &mut BlockingClient, request: RemotingCommand) -> RemotingCommand {
    client.exchange(request).0
}

fn command<H: CommandHeader>(code: i32, header: &H, body: &[u8]) -> RemotingCommand {
    let mut command =
        RemotingCommand::request(code, ExtFields::new(), Bytes::copy_from_slice(body));
    command.set_header(header);
    command
}

fn route_request(topic: &str) -> RemotingCommand {
    let header = GetRouteInfoRequestHeader {
        topic: topic.into(),
        accept_standard_json_only: None,
    };
    command(request_code::GET_ROUTEINFO_BY_TOPIC, &header, b"")
}

/// What a broker and then a client do: register over one connection, look the route up over
/// another, and see the route go when the broker's connection closes.
fn broker_and_client(addr: SocketAddr) {
    let mut client = BlockingClient::connect(addr);
    let missing = exchange(&mut client, route_request("TBW102"));
    assert_eq!(missing.code, response_code::TOPIC_NOT_EXIST);

    let mut broker = BlockingClient::connect(addr);
    let header = RegisterBrokerRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: "127.0.0.1:10911".into(),
        cluster_name: "DefaultCluster".into(),
        ha_server_addr: "127.0.0.1:10912".into(),
        broker_id: 0,
        ..Default::default()
    };
    let body = br#"{"topicConfigSerializeWrapper":{"dataVersion":{"counter":1,"timestamp":1},"topicConfigTable":{"TBW102":{"perm":7,"readQueueNums":8,"topicName":"TBW102","writeQueueNums":8}}}}"#;
    let registered = exchange(
        &mut broker,
        command(request_code::REGISTER_BROKER, &header, body),
    );
    assert_eq!(
        registered.code,
        response_code::SUCCESS,
        "{:?}",
        registered.remark
    );

    let route = exchange(&mut client, route_request("TBW102"));
    assert_eq!(route.code, response_code::SUCCESS);
    let text = std::str::from_utf8(&route.body).expect("utf-8");
    assert!(
        text.contains(r#""brokerAddrs":{"0":"127.0.0.1:10911"}"#),
        "{text}"
    );
    assert!(text.contains(r#""perm":7,"readQueueNums":8"#), "{text}");

    drop(broker);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let route = exchange(&mut client, route_request("TBW102"));
        if route.code == response_code::TOPIC_NOT_EXIST {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "route still served after the broker left"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn routes_over_loopback_follow_the_brokers_connection() {
    serve_on_loopback(NameServer::new, broker_and_client);
}
