//! Test support: a [`Service`] behind a real listener on loopback, driven by blocking client
//! code on another thread, the way a RocketMQ client would talk to it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::time::Duration;

use bytes::BytesMut;

use super::{bind, Server, Service, ShardBudget};
use crate::limits;
use crate::wire::{frame, RemotingCommand};

/// Serves the service `make` builds (on the executor's thread) on a loopback port and runs
/// `client` against it on a blocking thread; a panic in `client` fails the calling test.
pub(crate) fn serve_on_loopback<S: Service>(
    make: impl FnOnce() -> S + Send + 'static,
    client: impl FnOnce(SocketAddr) + Send + 'static,
) {
    let limits = (
        limits::SHARD_CONNECTIONS_MAX,
        limits::SHARD_WRITE_QUEUE_BYTES_MAX,
    );
    serve_within(limits, |_| make(), client);
}

/// [`serve_on_loopback`] within a [`ShardBudget`] of `(connections, queued bytes)`, which
/// `make` gets so that the service can report on it.
pub(crate) fn serve_within<S: Service>(
    (connections_max, queued_bytes_max): (usize, usize),
    make: impl FnOnce(Rc<ShardBudget>) -> S + Send + 'static,
    client: impl FnOnce(SocketAddr) + Send + 'static,
) {
    glommio::LocalExecutorBuilder::default()
        .spawn(move || async move {
            let listener = bind("127.0.0.1:0".parse().expect("address")).expect("bind");
            let addr = listener.local_addr().expect("local address");
            let budget = Rc::new(ShardBudget::new(connections_max, queued_bytes_max));
            let server = Server::new(Rc::new(make(budget.clone())), budget);
            glommio::spawn_local(server.clone().run(listener)).detach();
            let outcome = glommio::executor()
                .spawn_blocking(move || {
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || client(addr)))
                })
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

/// A blocking remoting client for tests.
#[derive(Debug)]
pub(crate) struct BlockingClient {
    stream: TcpStream,
    next_opaque: i32,
}

impl BlockingClient {
    pub(crate) fn connect(addr: SocketAddr) -> BlockingClient {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        BlockingClient {
            stream,
            next_opaque: 1,
        }
    }

    /// Sends `request` with the next opaque; returns that opaque.
    pub(crate) fn send(&mut self, mut request: RemotingCommand) -> i32 {
        request.opaque = self.next_opaque;
        self.next_opaque += 1;
        let mut out = BytesMut::new();
        request.encode(&mut out).expect("encodes");
        self.stream.write_all(&out).expect("write");
        request.opaque
    }

    pub(crate) fn read_frame(&mut self) -> RemotingCommand {
        let mut length = [0u8; 4];
        self.stream.read_exact(&mut length).expect("read length");
        let mut rest = vec![0u8; u32::from_be_bytes(length) as usize];
        self.stream.read_exact(&mut rest).expect("read frame");
        let mut buf = BytesMut::from(&length[..]);
        buf.extend_from_slice(&rest);
        frame::decode(&mut buf).expect("valid").expect("complete")
    }

    /// Sends `request` and returns its response, with the server's own requests that
    /// arrived before it.
    pub(crate) fn exchange(
        &mut self,
        request: RemotingCommand,
    ) -> (RemotingCommand, Vec<RemotingCommand>) {
        let opaque = self.send(request);
        let mut pushed = Vec::new();
        loop {
            let frame = self.read_frame();
            if frame.is_response() {
                assert_eq!(frame.opaque, opaque, "responses come in order here");
                return (frame, pushed);
            }
            pushed.push(frame);
        }
    }
}
