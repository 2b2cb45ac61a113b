//! The registry behind a real listener: real [`Peer`]s, blocking clients on loopback, and
//! NOTIFY_CONSUMER_IDS_CHANGED frames read off the socket as a consumer reads them.

use std::net::SocketAddr;
use std::time::Instant;

use super::*;
use crate::broker::handler::answered;
use crate::net::testing::{serve_on_loopback, BlockingClient};
use crate::net::{Peer, Reply, Service};
use crate::wire::codes::response_code;

/// The slice of a broker's dispatcher that reaches the registry.
#[derive(Debug)]
struct Broker {
    clients: ClientRegistry,
    epoch: Instant,
}

impl Service for Broker {
    fn call(&self, peer: &Rc<Peer>, request: RemotingCommand) -> Reply {
        let now_ms = self.epoch.elapsed().as_millis() as u64;
        let response = match request.code {
            request_code::HEART_BEAT => {
                answered(&request, self.clients.heart_beat(peer, &request, now_ms))
            }
            request_code::UNREGISTER_CLIENT => {
                answered(&request, self.clients.unregister_client(peer, &request))
            }
            request_code::GET_CONSUMER_LIST_BY_GROUP => {
                answered(&request, self.clients.consumer_list_by_group(&request))
            }
            _ => RemotingCommand::not_supported(&request),
        };
        Reply::Now(Some(response))
    }

    fn disconnected(&self, peer: &Rc<Peer>) {
        self.clients.disconnected(peer.id());
    }
}

/// Sends a request; returns its response and the groups of the notifications that came first.
fn call(
    client: &mut BlockingClient,
    code: i32,
    fields: &[(&str, &str)],
    body: &str,
) -> (RemotingCommand, Vec<String>) {
    let fields: ExtFields = fields.iter().copied().collect();
    let request = RemotingCommand::request(code, fields, Bytes::from(body.to_owned()));
    let (response, pushed) = client.exchange(request);
    (response, pushed.iter().map(group_of).collect())
}

/// Waits for one broker request (a notification) and returns its group.
fn notified(client: &mut BlockingClient) -> String {
    let frame = client.read_frame();
    assert!(!frame.is_response());
    group_of(&frame)
}

fn group_of(frame: &RemotingCommand) -> String {
    assert_eq!(frame.code, request_code::NOTIFY_CONSUMER_IDS_CHANGED);
    assert!(frame.is_oneway());
    let header: NotifyConsumerIdsChangedRequestHeader = frame.decode_header().expect("header");
    header.consumer_group
}

fn heartbeat_body(client: &str) -> String {
    format!(
        r#"{{"clientID":"{client}","consumerDataSet":[{{"groupName":"cg","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","subscriptionDataSet":[{{"topic":"T","subString":"*"}}]}}],"producerDataSet":[{{"groupName":"CLIENT_INNER_PRODUCER"}}]}}"#
    )
}

fn two_consumers(addr: SocketAddr) {
    let mut a = BlockingClient::connect(addr);
    let (response, first) = call(
        &mut a,
        request_code::HEART_BEAT,
        &[],
        &heartbeat_body("c-a"),
    );
    assert_eq!(response.code, response_code::SUCCESS);
    assert_eq!(
        first,
        ["cg"],
        "the first consumer is told before its heartbeat answer"
    );

    let mut b = BlockingClient::connect(addr);
    let (_, second) = call(
        &mut b,
        request_code::HEART_BEAT,
        &[],
        &heartbeat_body("c-b"),
    );
    assert_eq!(second, ["cg"]);
    assert_eq!(
        notified(&mut a),
        "cg",
        "the first member learns of the second"
    );

    let fields = [("consumerGroup", "cg")];
    let (list, _) = call(
        &mut a,
        request_code::GET_CONSUMER_LIST_BY_GROUP,
        &fields,
        "",
    );
    assert_eq!(&list.body[..], br#"{"consumerIdList":["c-a","c-b"]}"#);

    drop(b);
    assert_eq!(
        notified(&mut a),
        "cg",
        "a closed connection leaves the group"
    );
    let (list, _) = call(
        &mut a,
        request_code::GET_CONSUMER_LIST_BY_GROUP,
        &fields,
        "",
    );
    assert_eq!(&list.body[..], br#"{"consumerIdList":["c-a"]}"#);
}

#[test]
fn notifications_reach_real_connections() {
    let make = || Broker {
        clients: ClientRegistry::new(),
        epoch: Instant::now(),
    };
    serve_on_loopback(make, two_consumers);
}
