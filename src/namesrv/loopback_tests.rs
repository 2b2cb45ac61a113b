//! The NameServer behind a real listener, talked to over loopback TCP by a blocking client,
//! as a broker and a client would.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::NameServer;
use crate::net::{bind, Server};
use crate::wire::codes::{request_code, response_code};
use crate::wire::headers::{CommandHeader, GetRouteInfoRequestHeader, RegisterBrokerRequestHeader};
use crate::wire::{frame, ExtFields, RemotingCommand};

fn exchange(stream: &mut TcpStream, mut request: RemotingCommand, opaque: i32) -> RemotingCommand {
    request.opaque = opaque;
    let mut out = BytesMut::new();
    request.encode(&mut out).expect("encodes");
    stream.write_all(&out).expect("write");
    let mut length = [0u8; 4];
    stream.read_exact(&mut length).expect("read length");
    let mut frame_bytes = vec![0u8; u32::from_be_bytes(length) as usize];
    stream.read_exact(&mut frame_bytes).expect("read frame");
    let mut buf = BytesMut::from(&length[..]);
    buf.extend_from_slice(&frame_bytes);
    let response = frame::decode(&mut buf).expect("valid").expect("complete");
    assert_eq!(response.opaque, opaque);
    response
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
    let mut client = TcpStream::connect(addr).expect("connect");
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let missing = exchange(&mut client, route_request("TBW102"), 1);
    assert_eq!(missing.code, response_code::TOPIC_NOT_EXIST);

    let mut broker = TcpStream::connect(addr).expect("connect");
    broker
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
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
        7,
    );
    assert_eq!(
        registered.code,
        response_code::SUCCESS,
        "{:?}",
        registered.remark
    );

    let route = exchange(&mut client, route_request("TBW102"), 2);
    assert_eq!(route.code, response_code::SUCCESS);
    let text = std::str::from_utf8(&route.body).expect("utf-8");
    assert!(
        text.contains(r#""brokerAddrs":{"0":"127.0.0.1:10911"}"#),
        "{text}"
    );
    assert!(text.contains(r#""perm":7,"readQueueNums":8"#), "{text}");

    drop(broker);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut opaque = 3;
    loop {
        let route = exchange(&mut client, route_request("TBW102"), opaque);
        if route.code == response_code::TOPIC_NOT_EXIST {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "route still served after the broker left"
        );
        opaque += 1;
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn routes_over_loopback_follow_the_brokers_connection() {
    glommio::LocalExecutorBuilder::default()
        .spawn(|| async {
            let listener = bind("127.0.0.1:0".parse().expect("address")).expect("bind");
            let addr = listener.local_addr().expect("local address");
            let server = Server::new(Rc::new(NameServer::new()));
            glommio::spawn_local(server.clone().run(listener)).detach();
            // A panic must reach the test, not die silently on the blocking pool's thread.
            let outcome = glommio::executor()
                .spawn_blocking(move || std::panic::catch_unwind(|| broker_and_client(addr)))
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
