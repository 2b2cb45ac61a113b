//! One connection: a reader loop that decodes frames and hands them to the service, and a
//! writer task that drains the [`Outbox`].
//!
//! The reader stops reading while the outbox holds more than its byte limit or too many
//! requests are in flight, so memory per connection stays bounded whatever the peer does.
//! When the shard shuts down, the reader stops, in-flight requests finish and their
//! responses are written, within [`SHUTDOWN_DRAIN_TIMEOUT`].

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use futures_lite::io::AsyncWrite;
use glommio::net::TcpStream;

use super::{FrameReader, Latch, Outbox, Read, Reply, Service};
use crate::limits;
use crate::wire::{RemotingCommand, WireError};

/// How long a shutting-down connection may take to finish its requests and write them.
pub const SHUTDOWN_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The far end of one connection, as the service sees it.
#[derive(Debug)]
pub struct Peer {
    id: u64,
    remote: SocketAddr,
    local: SocketAddr,
    outbox: Outbox,
    next_opaque: Cell<i32>,
}

impl Peer {
    /// Unique among this shard's connections.
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn remote_addr(&self) -> SocketAddr {
        self.remote
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Queues a frame to the peer (a broker-initiated request such as
    /// NOTIFY_CONSUMER_IDS_CHANGED). False once the connection is closed.
    pub fn send(&self, command: &RemotingCommand) -> bool {
        self.outbox.push(command)
    }

    /// The opaque for the next request this side sends; wraps like Java's counter.
    pub fn next_opaque(&self) -> i32 {
        let opaque = self.next_opaque.get();
        self.next_opaque.set(opaque.wrapping_add(1));
        opaque
    }

    pub fn is_closed(&self) -> bool {
        self.outbox.is_closed()
    }
}

/// Requests of one connection handed to the service and not yet answered.
#[derive(Debug, Default)]
struct InFlight {
    count: Cell<usize>,
    waiter: RefCell<Option<Waker>>,
}

impl InFlight {
    fn enter(&self) {
        self.count.set(self.count.get() + 1);
    }

    fn leave(&self) {
        self.count.set(self.count.get() - 1);
        if let Some(waker) = self.waiter.borrow_mut().take() {
            waker.wake();
        }
    }

    /// Waits until at most `limit` requests are in flight.
    async fn at_most(&self, limit: usize) {
        poll_fn(|cx| {
            if self.count.get() <= limit {
                return Poll::Ready(());
            }
            *self.waiter.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}

/// Why the reader stopped.
#[derive(Debug)]
enum End {
    /// The peer closed or the socket failed: nobody is left to answer.
    Gone,
    /// The peer sent bytes that cannot be a frame: close at once.
    Untrusted(WireError),
    /// The shard is shutting down: finish what is in flight.
    Stopping,
}

pub(super) async fn serve<S: Service>(
    stream: TcpStream,
    id: u64,
    service: Rc<S>,
    stopping: Rc<Latch>,
) {
    let (remote, local) = match (stream.peer_addr(), stream.local_addr()) {
        (Ok(remote), Ok(local)) => (remote, local),
        _ => return, // reset before we looked at it
    };
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%remote, %error, "set_nodelay failed");
    }
    let stream = Rc::new(RefCell::new(stream));
    let peer = Rc::new(Peer {
        id,
        remote,
        local,
        outbox: Outbox::default(),
        next_opaque: Cell::new(0),
    });
    let in_flight = Rc::new(InFlight::default());
    let writer = glommio::spawn_local(write_loop(stream.clone(), peer.clone()));

    let end = read_loop(&stream, &peer, &service, &in_flight, &stopping).await;
    match end {
        End::Stopping => {
            let drain = async {
                in_flight.at_most(0).await;
                peer.outbox.close();
                writer.await;
            };
            let timeout = glommio::timer::sleep(SHUTDOWN_DRAIN_TIMEOUT);
            futures_lite::future::or(drain, timeout).await;
        }
        End::Untrusted(error) => {
            if let Some(suppressed) = crate::logging::peer_warning(remote.ip()) {
                tracing::warn!(%remote, %error, suppressed, "closing connection: untrusted frame");
            }
            peer.outbox.close();
        }
        End::Gone => peer.outbox.close(),
    }
    peer.outbox.close();
    service.disconnected(&peer);
}

async fn read_loop<S: Service>(
    stream: &RefCell<TcpStream>,
    peer: &Rc<Peer>,
    service: &Rc<S>,
    in_flight: &Rc<InFlight>,
    stopping: &Latch,
) -> End {
    let mut reader = FrameReader::new(limits::CONNECTION_READ_BYTES_MAX);
    loop {
        if let Err(error) = reader.drain(|command| handle(command, peer, service, in_flight)) {
            return End::Untrusted(error);
        }
        let admitted = async {
            peer.outbox
                .wait_for_room(limits::CONNECTION_WRITE_QUEUE_BYTES_MAX)
                .await;
            in_flight
                .at_most(limits::CONNECTION_IN_FLIGHT_MAX - 1)
                .await;
            true
        };
        let stop = async {
            stopping.wait().await;
            false
        };
        if !futures_lite::future::or(admitted, stop).await || peer.outbox.is_closed() {
            return if stopping.is_set() {
                End::Stopping
            } else {
                End::Gone
            };
        }
        match reader.read(stream, stopping).await {
            Read::Bytes => {}
            Read::Closed | Read::Failed(_) => return End::Gone,
            Read::Stopped => return End::Stopping,
        }
    }
}

fn handle<S: Service>(
    command: RemotingCommand,
    peer: &Rc<Peer>,
    service: &Rc<S>,
    in_flight: &Rc<InFlight>,
) {
    if command.is_response() {
        service.response(peer, command);
        return;
    }
    let oneway = command.is_oneway();
    match service.call(peer, command) {
        Reply::Now(Some(response)) if !oneway => {
            peer.outbox.push(&response);
        }
        Reply::Now(_) => {}
        Reply::Later(future) => {
            // The task is owned by the connection's in-flight count: shutdown waits for it,
            // and its response is dropped if the connection is gone by then.
            in_flight.enter();
            let peer = peer.clone();
            let in_flight = in_flight.clone();
            glommio::spawn_local(async move {
                if let Some(response) = future.await {
                    if !oneway {
                        peer.outbox.push(&response);
                    }
                }
                in_flight.leave();
            })
            .detach();
        }
    }
}

async fn write_loop(stream: Rc<RefCell<TcpStream>>, peer: Rc<Peer>) {
    while let Some(batch) = peer.outbox.take().await {
        if let Err(error) = write_all(&stream, &batch).await {
            tracing::debug!(peer = %peer.remote, %error, "write failed");
            peer.outbox.close();
            return;
        }
        peer.outbox.written();
    }
}

pub(crate) async fn write_all(stream: &RefCell<TcpStream>, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let n = poll_fn(|cx| Pin::new(&mut *stream.borrow_mut()).poll_write(cx, buf)).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        buf = &buf[n..];
    }
    Ok(())
}
