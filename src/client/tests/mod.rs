//! Client against a small in-process server built on [`crate::net`], on one executor.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use glommio::timer::sleep;
use glommio::{LocalExecutorBuilder, Task};

use super::*;
use crate::net::{bind, Peer, Reply, Server, Service};
use crate::wire::codes::request_code;
use crate::wire::command::FLAG_ONEWAY;
use crate::wire::ExtFields;

mod inbound;
mod pool;

/// Answers at once with the request's body.
const ECHO: i32 = 9001;
/// Answers with the body after the `delayMs` ext field.
const DELAY: i32 = 9002;
/// Never answers.
const SILENT: i32 = 9003;
/// Answers SYSTEM_ERROR with remark "boom".
const FAIL: i32 = 9004;
/// Sends the client a oneway NOTIFY_CONSUMER_IDS_CHANGED and a two-way ASK, then echoes.
const PUSH: i32 = 9005;
const ASK: i32 = 9006;

const LONG: Duration = Duration::from_secs(10);

#[derive(Default)]
struct TestService {
    oneways: Cell<usize>,
    /// Responses the client sent to our requests.
    responses: RefCell<Vec<RemotingCommand>>,
}

impl Service for TestService {
    fn call(&self, peer: &Rc<Peer>, request: RemotingCommand) -> Reply {
        if request.is_oneway() {
            self.oneways.set(self.oneways.get() + 1);
        }
        let mut response = RemotingCommand::response_to(&request, 0, None);
        response.body = request.body.clone();
        match request.code {
            DELAY => {
                let delay_ms = request
                    .ext_fields
                    .get("delayMs")
                    .and_then(|ms| ms.parse().ok());
                let delay = Duration::from_millis(delay_ms.unwrap_or(0));
                Reply::Later(Box::pin(async move {
                    sleep(delay).await;
                    Some(response)
                }))
            }
            SILENT => Reply::Now(None),
            FAIL => Reply::Now(Some(RemotingCommand::response_to(
                &request,
                1,
                Some("boom".into()),
            ))),
            PUSH => {
                let mut notify = command(request_code::NOTIFY_CONSUMER_IDS_CHANGED, b"");
                notify.opaque = peer.next_opaque();
                notify.flag = FLAG_ONEWAY;
                peer.send(&notify);
                let mut ask = command(ASK, b"ask");
                ask.opaque = peer.next_opaque();
                peer.send(&ask);
                Reply::Now(Some(response))
            }
            _ => Reply::Now(Some(response)),
        }
    }

    fn response(&self, _peer: &Rc<Peer>, response: RemotingCommand) {
        self.responses.borrow_mut().push(response);
    }
}

fn run<F, Fut>(test: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + 'static,
{
    LocalExecutorBuilder::default()
        .spawn(test)
        .expect("executor")
        .join()
        .expect("join");
}

struct TestServer {
    server: Rc<Server<TestService>>,
    service: Rc<TestService>,
    addr: SocketAddr,
    _accept: Task<()>,
}

fn start_server() -> TestServer {
    let listener = bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let service = Rc::new(TestService::default());
    let server = Server::new(service.clone(), Rc::default());
    let accept = glommio::spawn_local(server.clone().run(listener));
    TestServer {
        server,
        service,
        addr,
        _accept: accept,
    }
}

fn command(code: i32, body: &[u8]) -> RemotingCommand {
    RemotingCommand::request(code, ExtFields::new(), Bytes::copy_from_slice(body))
}

fn delayed(delay_ms: u64, body: &[u8]) -> RemotingCommand {
    let mut request = command(DELAY, body);
    request.ext_fields.insert("delayMs", delay_ms.to_string());
    request
}

async fn connect(addr: SocketAddr) -> Rc<Connection> {
    Connection::connect(addr, Duration::from_secs(1))
        .await
        .expect("connect")
}

/// Waits until `done()` holds, failing the test after a second.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "timed out waiting for {what}"
        );
        sleep(Duration::from_millis(1)).await;
    }
}

#[test]
fn pipelined_requests_all_match() {
    run(|| async {
        let server = start_server();
        let connection = connect(server.addr).await;
        let tasks: Vec<_> = (0..64u32)
            .map(|task| {
                let connection = connection.clone();
                glommio::spawn_local(async move {
                    for i in 0..200u32 {
                        let body = format!("{task}-{i}");
                        let response = connection
                            .request(command(ECHO, body.as_bytes()), LONG)
                            .await
                            .expect("response");
                        assert_eq!(response.body, body.as_bytes());
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await;
        }
        assert_eq!(connection.in_flight(), 0);
        assert_eq!(connection.unmatched_responses(), 0);
    });
}

#[test]
fn out_of_order_responses_match_their_requests() {
    run(|| async {
        let server = start_server();
        let connection = connect(server.addr).await;
        let order = Rc::new(RefCell::new(Vec::new()));
        let tasks: Vec<_> = [300u64, 200, 100, 0]
            .into_iter()
            .map(|delay_ms| {
                let (connection, order) = (connection.clone(), order.clone());
                glommio::spawn_local(async move {
                    let body = delay_ms.to_string();
                    let response = connection
                        .request(delayed(delay_ms, body.as_bytes()), LONG)
                        .await
                        .expect("response");
                    assert_eq!(response.body, body.as_bytes());
                    order.borrow_mut().push(delay_ms);
                })
            })
            .collect();
        for task in tasks {
            task.await;
        }
        assert_eq!(*order.borrow(), [0, 100, 200, 300]);
    });
}

#[test]
fn timeout_removes_the_entry_and_the_late_response_is_dropped() {
    run(|| async {
        let server = start_server();
        let connection = connect(server.addr).await;
        let start = Instant::now();
        let outcome = connection
            .request(delayed(300, b"late"), Duration::from_millis(50))
            .await;
        assert!(
            matches!(outcome, Err(ClientError::Timeout { code: DELAY, .. })),
            "{outcome:?}"
        );
        assert!(
            start.elapsed() < Duration::from_millis(250),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(connection.in_flight(), 0);

        eventually("the late response", || {
            connection.unmatched_responses() == 1
        })
        .await;
        let response = connection.request(command(ECHO, b"after"), LONG).await;
        assert_eq!(response.expect("response").body, &b"after"[..]);
    });
}

#[test]
fn a_shorter_timeout_behind_a_longer_one_fires_on_time() {
    run(|| async {
        let server = start_server();
        let connection = connect(server.addr).await;
        let long = glommio::spawn_local({
            let connection = connection.clone();
            async move { connection.request(command(SILENT, b""), LONG).await }
        });
        eventually("the long request in flight", || connection.in_flight() == 1).await;
        let start = Instant::now();
        let short = connection
            .request(command(SILENT, b""), Duration::from_millis(30))
            .await;
        assert!(
            matches!(short, Err(ClientError::Timeout { .. })),
            "{short:?}"
        );
        let late = start.elapsed();
        assert!(late >= Duration::from_millis(30), "{late:?}");
        assert!(late < Duration::from_millis(200), "{late:?}");
        assert_eq!(connection.in_flight(), 1);
        connection.close();
        let long = long.await;
        assert!(
            matches!(long, Err(ClientError::Closed(CloseReason::Local))),
            "{long:?}"
        );
    });
}

#[test]
fn dropping_a_request_forgets_it() {
    run(|| async {
        let server = start_server();
        let connection = connect(server.addr).await;
        let request = async { Some(connection.request(delayed(200, b""), LONG).await) };
        let give_up = async {
            sleep(Duration::from_millis(20)).await;
            None
        };
        assert!(futures_lite::future::or(request, give_up).await.is_none());
        assert_eq!(connection.in_flight(), 0);
    });
}

#[test]
fn server_closing_fails_every_pending_request_at_once() {
    run(|| async {
        let server = start_server();
        let connection = connect(server.addr).await;
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let connection = connection.clone();
                glommio::spawn_local(
                    async move { connection.request(command(SILENT, b""), LONG).await },
                )
            })
            .collect();
        eventually("10 requests in flight", || connection.in_flight() == 10).await;
        let start = Instant::now();
        server.server.shutdown().await;
        for task in tasks {
            let outcome = task.await;
            assert!(
                matches!(
                    outcome,
                    Err(ClientError::Closed(
                        CloseReason::PeerClosed | CloseReason::Io(_)
                    ))
                ),
                "{outcome:?}"
            );
        }
        assert!(start.elapsed() < Duration::from_secs(1));
        let after = connection.request(command(ECHO, b""), LONG).await;
        assert!(matches!(after, Err(ClientError::Closed(_))), "{after:?}");
        assert!(connection.is_closed());
    });
}

#[test]
fn oneway_gets_no_response() {
    run(|| async {
        let server = start_server();
        let connection = connect(server.addr).await;
        for _ in 0..100 {
            connection
                .oneway(command(ECHO, b"x"))
                .await
                .expect("oneway");
        }
        // Frames of one connection are handled in order: once this answer is back, every
        // oneway was seen and none was answered.
        connection
            .request(command(ECHO, b""), LONG)
            .await
            .expect("response");
        assert_eq!(server.service.oneways.get(), 100);
        assert_eq!(connection.unmatched_responses(), 0);
    });
}

#[test]
fn in_flight_limit_blocks_then_proceeds() {
    run(|| async {
        let server = start_server();
        let options = ClientOptions {
            in_flight_max: 4,
            ..ClientOptions::default()
        };
        let connection = Connection::connect_with(server.addr, &options)
            .await
            .expect("connect");
        let slow: Vec<_> = (0..4)
            .map(|_| {
                let connection = connection.clone();
                glommio::spawn_local(
                    async move { connection.request(delayed(200, b""), LONG).await },
                )
            })
            .collect();
        eventually("4 requests in flight", || connection.in_flight() == 4).await;
        let start = Instant::now();
        let fifth_done = Rc::new(Cell::new(false));
        let fifth = glommio::spawn_local({
            let (connection, fifth_done) = (connection.clone(), fifth_done.clone());
            async move {
                let outcome = connection.request(command(ECHO, b"5"), LONG).await;
                fifth_done.set(true);
                outcome
            }
        });
        sleep(Duration::from_millis(50)).await;
        assert!(!fifth_done.get());
        assert_eq!(connection.in_flight(), 4);
        assert_eq!(fifth.await.expect("fifth").body, &b"5"[..]);
        assert!(
            start.elapsed() >= Duration::from_millis(100),
            "{:?}",
            start.elapsed()
        );
        for task in slow {
            task.await.expect("slow");
        }
    });
}

#[test]
fn request_ok_turns_an_error_code_into_remote() {
    run(|| async {
        let server = start_server();
        let connection = connect(server.addr).await;
        let outcome = connection.request_ok(command(FAIL, b"")).await;
        match outcome {
            Err(ClientError::Remote { code: 1, remark }) => {
                assert_eq!(remark.as_deref(), Some("boom"))
            }
            other => panic!("{other:?}"),
        }
        connection
            .request_ok(command(ECHO, b""))
            .await
            .expect("success");
    });
}

#[test]
fn oversize_request_is_refused_and_the_connection_stays_usable() {
    run(|| async {
        let server = start_server();
        let connection = connect(server.addr).await;
        let mut request = command(ECHO, b"");
        request.body = Bytes::from(vec![0; crate::limits::FRAME_SIZE_MAX]);
        let outcome = connection.request(request, LONG).await;
        assert!(matches!(outcome, Err(ClientError::Wire(_))), "{outcome:?}");
        assert_eq!(connection.in_flight(), 0);
        connection
            .request(command(ECHO, b""), LONG)
            .await
            .expect("response");
    });
}
