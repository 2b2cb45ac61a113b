//! One connection: a reader loop that decodes frames and hands them to the service, and a
//! writer task that drains the [`Outbox`].
//!
//! The reader hands over one frame at a time, each once the connection may take another
//! request (see [`admits`]): a peer that does not read its responses stops being read, and
//! while it is behind only a few of its requests are answered on top of what waits, so
//! memory per connection stays bounded whatever the peer does, and the shard's slow readers
//! together stay near its [`ShardBudget`]. When the connection ends, whatever is still queued
//! is dropped. When the shard shuts down, the reader stops, in-flight requests finish and
//! their responses are written, within [`SHUTDOWN_DRAIN_TIMEOUT`].

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

use super::outbox::Batch;
use super::{socket_fd, FrameReader, Latch, Outbox, Read, Reply, Service, ShardBudget};
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
    /// Set when the peer has gone (closed, failed, or sent what cannot be a frame): the
    /// reads it asked for are abandoned then.
    gone: Latch,
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
    /// Those whose answers may be large ([`Service::answers_large`]).
    large: Cell<usize>,
    waiter: RefCell<Option<Waker>>,
}

impl InFlight {
    fn enter(&self, large: bool) {
        self.count.set(self.count.get() + 1);
        self.large.set(self.large.get() + usize::from(large));
    }

    fn leave(&self, large: bool) {
        self.count.set(self.count.get() - 1);
        self.large.set(self.large.get() - usize::from(large));
        if let Some(waker) = self.waiter.borrow_mut().take() {
            waker.wake();
        }
    }

    fn count(&self) -> usize {
        self.count.get()
    }

    /// Wakes `waker` when a request leaves.
    fn wake_on_leave(&self, waker: &Waker) {
        *self.waiter.borrow_mut() = Some(waker.clone());
    }

    /// Waits until `done` holds, looking again each time a request leaves.
    async fn until(&self, done: impl Fn(&InFlight) -> bool) {
        poll_fn(|cx| {
            if done(self) {
                return Poll::Ready(());
            }
            self.wake_on_leave(cx.waker());
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
    budget: Rc<ShardBudget>,
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
        outbox: Outbox::counted_in(budget.clone()),
        next_opaque: Cell::new(0),
        gone: Latch::default(),
    });
    let in_flight = Rc::new(InFlight::default());
    let writer = glommio::spawn_local(write_loop(stream.clone(), peer.clone()));

    let end = read_loop(&stream, &peer, &service, &in_flight, &budget, &stopping).await;
    if !matches!(end, End::Stopping) {
        peer.gone.set();
    }
    match end {
        End::Stopping => {
            let drain = async {
                in_flight.until(|f| f.count() == 0).await;
                peer.outbox.close();
                peer.outbox.emptied().await;
            };
            let timeout = glommio::timer::sleep(SHUTDOWN_DRAIN_TIMEOUT);
            futures_lite::future::or(drain, timeout).await;
        }
        End::Untrusted(error) => {
            if let Some(suppressed) = crate::logging::peer_warning(remote.ip()) {
                tracing::warn!(%remote, %error, suppressed, "closing connection: untrusted frame");
            }
        }
        End::Gone => {}
    }
    // The writer is stopped rather than cancelled: glommio never frees a task cancelled
    // while it waits, which every connection's writer does.
    peer.outbox.discard();
    writer.await;
    service.disconnected(&peer);
}

async fn read_loop<S: Service>(
    stream: &RefCell<TcpStream>,
    peer: &Rc<Peer>,
    service: &Rc<S>,
    in_flight: &Rc<InFlight>,
    budget: &ShardBudget,
    stopping: &Latch,
) -> End {
    let mut reader = FrameReader::new(limits::CONNECTION_READ_BYTES_MAX);
    loop {
        let queued = peer.outbox.queued_bytes();
        let ready = admits(queued, in_flight.count(), budget.is_over())
            || admitted_unless_stopped(peer, in_flight, budget, stopping).await;
        if !ready || peer.outbox.is_closed() {
            return if stopping.is_set() {
                End::Stopping
            } else {
                End::Gone
            };
        }
        match reader.next_frame() {
            Ok(Some(command)) => {
                let large = !command.is_response() && service.answers_large(&command);
                if large && in_flight.large.get() >= limits::CONNECTION_LARGE_ANSWERS_IN_FLIGHT {
                    // Boxed: the wait is rare, and its state would otherwise widen the task of
                    // every connection, idle ones too (by about 400 bytes).
                    Box::pin(paced(in_flight)).await;
                }
                handle(command, large, peer, service, in_flight);
                continue;
            }
            Ok(None) => {}
            Err(error) => return End::Untrusted(error),
        }
        match reader.read(stream, stopping).await {
            Read::Bytes => {}
            Read::Closed | Read::Failed(_) => return End::Gone,
            Read::Stopped => return End::Stopping,
        }
    }
}

/// Whether a connection may hand the service one more request (or read more), with `queued`
/// bytes waiting for its peer, `in_flight` requests unanswered, and its shard over budget
/// or not. A peer with nothing waiting is served up to the in-flight limit whatever the
/// shard's other connections do. A peer with responses waiting is behind: it is not read
/// past its connection's byte limit nor while the shard is over budget, and only a few of its
/// requests may be in flight, since each answer lands on top of what waits.
fn admits(queued: usize, in_flight: usize, shard_over_budget: bool) -> bool {
    if queued == 0 {
        return in_flight < limits::CONNECTION_IN_FLIGHT_MAX;
    }
    queued <= limits::CONNECTION_WRITE_QUEUE_BYTES_MAX
        && !shard_over_budget
        && in_flight < limits::CONNECTION_IN_FLIGHT_BEHIND_MAX
}

/// Waits, before a request whose answer may be large is taken while
/// [`limits::CONNECTION_LARGE_ANSWERS_IN_FLIGHT`] such requests are unanswered, until one of
/// them is answered or [`limits::CONNECTION_LARGE_ANSWER_PAUSE`] has passed. Answers that
/// are being read (a pull from the disk) land before many more are taken, so a peer that
/// sends pulls and reads nothing is behind after a few of them; long polls parked by the
/// dozen, which wait for messages, only slow the next one by the pause.
async fn paced(in_flight: &InFlight) {
    let large = in_flight.large.get();
    let answered = in_flight.until(|f| f.large.get() < large);
    let pause = glommio::timer::sleep(limits::CONNECTION_LARGE_ANSWER_PAUSE);
    futures_lite::future::or(answered, pause).await;
}

/// [`admission`], or false once the shard is stopping.
async fn admitted_unless_stopped(
    peer: &Peer,
    in_flight: &InFlight,
    budget: &ShardBudget,
    stopping: &Latch,
) -> bool {
    let admitted = async {
        admission(peer, in_flight, budget).await;
        true
    };
    let stop = async {
        stopping.wait().await;
        false
    };
    futures_lite::future::or(admitted, stop).await
}

/// Waits until [`admits`] says yes or the outbox closes, woken by what can change the
/// answer: the writer freeing room, a request answered, the shard falling under budget.
async fn admission(peer: &Peer, in_flight: &InFlight, budget: &ShardBudget) {
    poll_fn(|cx| {
        let queued = peer.outbox.queued_bytes();
        if peer.outbox.is_closed() || admits(queued, in_flight.count(), budget.is_over()) {
            return Poll::Ready(());
        }
        peer.outbox.wake_on_room(cx.waker());
        in_flight.wake_on_leave(cx.waker());
        if budget.is_over() {
            budget.wake_when_under(peer.id, cx.waker());
        }
        Poll::Pending
    })
    .await
}

fn handle<S: Service>(
    command: RemotingCommand,
    large: bool,
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
            // and its response is dropped if the connection is gone by then. A read (a large
            // answer) is abandoned when its peer goes: a parked pull would otherwise hold its
            // place in the shard's long-poll table until its timeout, with nobody to answer.
            // Anything else runs to its end (a oneway send is stored though its sender left).
            in_flight.enter(large);
            let peer = peer.clone();
            let in_flight = in_flight.clone();
            glommio::spawn_local(async move {
                let response = match large {
                    true => {
                        let gone = async {
                            peer.gone.wait().await;
                            None
                        };
                        futures_lite::future::or(future, gone).await
                    }
                    false => future.await,
                };
                if let Some(response) = response {
                    if !oneway {
                        peer.outbox.push(&response);
                    }
                }
                in_flight.leave(large);
            })
            .detach();
        }
    }
}

/// Writes what the outbox queues until it is closed and drained, the socket fails, or the
/// outbox is discarded, which stops it even in the middle of a write.
async fn write_loop(stream: Rc<RefCell<TcpStream>>, peer: Rc<Peer>) {
    while let Some(batch) = peer.outbox.take().await {
        let write = async { Some(write_batch(&stream, &batch).await) };
        let discarded = async {
            peer.outbox.discarded().await;
            None
        };
        match futures_lite::future::or(write, discarded).await {
            Some(Ok(())) => peer.outbox.written(),
            Some(Err(error)) => {
                tracing::debug!(peer = %peer.remote, %error, "write failed");
                peer.outbox.discard();
                return;
            }
            None => return,
        }
    }
}

/// Writes `batch`: its bytes with plain writes when it has no shared body, else with
/// vectored writes of its bytes and the shared slices between them.
pub(crate) async fn write_batch(stream: &RefCell<TcpStream>, batch: &Batch) -> io::Result<()> {
    match batch.only_bytes() {
        Some(bytes) => write_all(stream, bytes).await,
        None => write_parts(stream, &batch.parts()).await,
    }
}

/// Writes `parts` back to back with vectored writes: slices that live where their owners keep
/// them (a pull's records, a replica's log bytes) go out without being copied together.
pub(crate) async fn write_parts(stream: &RefCell<TcpStream>, parts: &[&[u8]]) -> io::Result<()> {
    let total: usize = parts.iter().map(|part| part.len()).sum();
    let (mut done, mut slices) = (0, Vec::new());
    while done < total {
        slices_from(parts, done, &mut slices);
        let n = poll_fn(|cx| poll_write_slices(&mut stream.borrow_mut(), cx, &slices)).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        done += n;
    }
    Ok(())
}

/// Fills `out` with `parts` from byte `from` on, at most [`SLICES_PER_WRITE_MAX`] slices.
fn slices_from<'a>(parts: &[&'a [u8]], mut from: usize, out: &mut Vec<io::IoSlice<'a>>) {
    out.clear();
    for part in parts {
        if out.len() == SLICES_PER_WRITE_MAX {
            return;
        }
        if from >= part.len() {
            from -= part.len();
            continue;
        }
        out.push(io::IoSlice::new(&part[from..]));
        from = 0;
    }
}

/// Most slices one `sendmsg` takes (Linux's `IOV_MAX`).
const SLICES_PER_WRITE_MAX: usize = 1024;

/// One `sendmsg` of `slices` that never blocks the shard: when the socket has no room, the
/// runtime's write of the first slice waits for it (and writes that slice once there is).
fn poll_write_slices(
    stream: &mut TcpStream,
    cx: &mut std::task::Context<'_>,
    slices: &[io::IoSlice<'_>],
) -> Poll<io::Result<usize>> {
    use rustix::net::{sendmsg, SendAncillaryBuffer, SendFlags};
    let flags = SendFlags::DONTWAIT | SendFlags::NOSIGNAL;
    loop {
        match sendmsg(
            socket_fd(stream),
            slices,
            &mut SendAncillaryBuffer::default(),
            flags,
        ) {
            Ok(n) => return Poll::Ready(Ok(n)),
            Err(rustix::io::Errno::INTR) => continue,
            Err(rustix::io::Errno::AGAIN) => {
                let first = slices.first().map_or(&[][..], |s| &s[..]);
                return Pin::new(stream).poll_write(cx, first);
            }
            Err(error) => return Poll::Ready(Err(error.into())),
        }
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

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;
