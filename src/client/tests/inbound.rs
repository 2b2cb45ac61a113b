//! What the peer sends besides responses: its own requests, and bytes that are no frame.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use glommio::timer::sleep;

use super::{command, connect, eventually, run, start_server, ASK, ECHO, LONG, PUSH};
use crate::client::{
    inbound_channel, ClientError, ClientOptions, CloseReason, Connection, InboundHandler,
};
use crate::wire::codes::request_code;
use crate::wire::RemotingCommand;

#[test]
fn requests_from_the_server_reach_the_handler() {
    run(|| async {
        let server = start_server();
        let seen = Rc::new(RefCell::new(Vec::new()));
        let handler: InboundHandler = Rc::new({
            let seen = seen.clone();
            move |request: RemotingCommand| {
                let response = RemotingCommand::response_to(&request, 0, Some("answered".into()));
                seen.borrow_mut().push(request.code);
                Some(response)
            }
        });
        let options = ClientOptions {
            on_request: Some(handler),
            ..ClientOptions::default()
        };
        let connection = Connection::connect_with(server.addr, &options)
            .await
            .expect("connect");
        connection
            .request(command(PUSH, b""), LONG)
            .await
            .expect("response");
        assert_eq!(
            *seen.borrow(),
            [request_code::NOTIFY_CONSUMER_IDS_CHANGED, ASK]
        );
        // Only the two-way request is answered.
        let service = server.service.clone();
        eventually("the answer to ASK", || {
            !service.responses.borrow().is_empty()
        })
        .await;
        let responses = server.service.responses.borrow();
        assert_eq!(responses.len(), 1);
        assert_eq!(responses[0].remark.as_deref(), Some("answered"));
    });
}

#[test]
fn inbound_channel_delivers_notifications() {
    run(|| async {
        let server = start_server();
        let (handler, receiver) = inbound_channel(8);
        let options = ClientOptions {
            on_request: Some(handler),
            ..ClientOptions::default()
        };
        let connection = Connection::connect_with(server.addr, &options)
            .await
            .expect("connect");
        connection
            .request(command(PUSH, b""), LONG)
            .await
            .expect("response");
        let notify = receiver.recv().await.expect("notification");
        assert_eq!(notify.code, request_code::NOTIFY_CONSUMER_IDS_CHANGED);
        let ask = receiver.recv().await.expect("ask");
        connection
            .respond(RemotingCommand::response_to(&ask, 0, None))
            .expect("respond");
        let service = server.service.clone();
        eventually("the answer to ASK", || {
            service.responses.borrow().len() == 1
        })
        .await;
    });
}

#[test]
fn undecodable_frame_from_the_peer_closes_the_connection() {
    run(|| async {
        use futures_lite::{AsyncReadExt, AsyncWriteExt};
        let listener = glommio::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let peer = glommio::spawn_local(async move {
            let mut stream = listener.accept().await.expect("accept");
            let mut request = [0u8; 8];
            stream.read_exact(&mut request).await.expect("read");
            // Serialize type 9 does not exist.
            stream
                .write_all(&[0, 0, 0, 4, 9, 0, 0, 0])
                .await
                .expect("write");
            sleep(Duration::from_millis(500)).await;
        });
        let connection = connect(addr).await;
        let outcome = connection.request(command(ECHO, b""), LONG).await;
        assert!(
            matches!(outcome, Err(ClientError::Closed(CloseReason::Untrusted(_)))),
            "{outcome:?}"
        );
        drop(peer);
    });
}
