//! The registry behind a real listener: real [`Peer`]s, blocking clients on loopback, and
//! NOTIFY_CONSUMER_IDS_CHANGED frames read off the socket as a consumer reads them.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bytes::BytesMut;

use super::*;
use crate::dispatch::not_supported;
use crate::net::{bind, Reply, Server, Service};
use crate::wire::frame;

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
            request_code::HEART_BEAT => self.clients.heart_beat(peer, &request, now_ms),
            request_code::UNREGISTER_CLIENT => self.clients.unregister_client(peer, &request),
            request_code::GET_CONSUMER_LIST_BY_GROUP => {
                self.clients.consumer_list_by_group(&request)
            }
            code => not_supported(&request, code),
        };
        Reply::Now(Some(response))
    }

    fn disconnected(&self, peer: &Rc<Peer>) {
        self.clients.disconnected(peer.id());
    }
}

struct Client {
    stream: TcpStream,
    next_opaque: i32,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        let timeout = Some(Duration::from_secs(5));
        stream.set_read_timeout(timeout).expect("timeout");
        Client {
            stream,
            next_opaque: 1,
        }
    }

    fn read_frame(&mut self) -> RemotingCommand {
        let mut length = [0u8; 4];
        self.stream.read_exact(&mut length).expect("read length");
        let mut rest = vec![0u8; u32::from_be_bytes(length) as usize];
        self.stream.read_exact(&mut rest).expect("read frame");
        let mut buf = BytesMut::from(&length[..]);
        buf.extend_from_slice(&rest);
        frame::decode(&mut buf).expect("valid").expect("complete")
    }

    /// Sends a request; returns its response and the broker's requests that came first.
    fn call(
        &mut self,
        code: i32,
        fields: &[(&str, &str)],
        body: &str,
    ) -> (RemotingCommand, Vec<String>) {
        let fields: ExtFields = fields.iter().copied().collect();
        let mut request = RemotingCommand::request(code, fields, Bytes::from(body.to_owned()));
        request.opaque = self.next_opaque;
        self.next_opaque += 1;
        let mut out = BytesMut::new();
        request.encode(&mut out).expect("encodes");
        self.stream.write_all(&out).expect("write");
        let mut notified = Vec::new();
        loop {
            let frame = self.read_frame();
            if frame.is_response() {
                assert_eq!(frame.opaque, request.opaque);
                return (frame, notified);
            }
            notified.push(group_of(&frame));
        }
    }

    /// Waits for one broker request (a notification).
    fn notified(&mut self) -> String {
        let frame = self.read_frame();
        assert!(!frame.is_response());
        group_of(&frame)
    }
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
    let mut a = Client::connect(addr);
    let (response, notified) = a.call(request_code::HEART_BEAT, &[], &heartbeat_body("c-a"));
    assert_eq!(response.code, response_code::SUCCESS);
    assert_eq!(
        notified,
        ["cg"],
        "the first consumer is told before its heartbeat answer"
    );

    let mut b = Client::connect(addr);
    let (_, notified) = b.call(request_code::HEART_BEAT, &[], &heartbeat_body("c-b"));
    assert_eq!(notified, ["cg"]);
    assert_eq!(a.notified(), "cg", "the first member learns of the second");

    let fields = [("consumerGroup", "cg")];
    let (list, _) = a.call(request_code::GET_CONSUMER_LIST_BY_GROUP, &fields, "");
    assert_eq!(&list.body[..], br#"{"consumerIdList":["c-a","c-b"]}"#);

    drop(b);
    assert_eq!(a.notified(), "cg", "a closed connection leaves the group");
    let (list, _) = a.call(request_code::GET_CONSUMER_LIST_BY_GROUP, &fields, "");
    assert_eq!(&list.body[..], br#"{"consumerIdList":["c-a"]}"#);
}

#[test]
fn notifications_reach_real_connections() {
    glommio::LocalExecutorBuilder::default()
        .spawn(|| async {
            let listener = bind("127.0.0.1:0".parse().expect("address")).expect("bind");
            let addr = listener.local_addr().expect("local address");
            let broker = Broker {
                clients: ClientRegistry::new(),
                epoch: Instant::now(),
            };
            let server = Server::new(Rc::new(broker));
            glommio::spawn_local(server.clone().run(listener)).detach();
            let outcome = glommio::executor()
                .spawn_blocking(move || std::panic::catch_unwind(|| two_consumers(addr)))
                .await;
            server.shutdown().await;
            if let Err(panic) = outcome {
                std::panic::resume_unwind(panic);
            }
        })
        .expect("executor")
        .join()
        .expect("join");
}
