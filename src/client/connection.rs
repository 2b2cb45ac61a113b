//! One outbound connection: a writer task that sends queued frames in batches, a reader task
//! that decodes responses and completes pending requests by opaque, and the timeout scan.
//!
//! The three tasks belong to the [`Connection`]: dropping it cancels them and closes the
//! socket. When any of them sees the connection fail, every pending request fails at once
//! with the same [`CloseReason`], and later calls fail without touching the socket.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use glommio::net::TcpStream;
use glommio::Task;

use super::pending::Pending;
use super::{success, ClientError, ClientOptions, CloseReason, InboundHandler};
use crate::limits;
use crate::net::{write_batch, FrameReader, Latch, Outbox, Read};
use crate::wire::codes::response_code;
use crate::wire::command::{FLAG_ONEWAY, FLAG_RESPONSE};
use crate::wire::signature::Credentials;
use crate::wire::RemotingCommand;

/// A client connection to one broker or NameServer, used from the shard that opened it.
#[derive(Debug)]
pub struct Connection {
    shared: Rc<Shared>,
    _tasks: [Task<()>; 3],
}

/// What the connection's tasks and its callers share.
struct Shared {
    remote: SocketAddr,
    outbox: Outbox,
    pending: Pending,
    /// Set when the connection fails or is closed; stops the reader.
    closing: Latch,
    request_timeout: Duration,
    in_flight_max: usize,
    on_request: Option<InboundHandler>,
    credentials: Option<Rc<Credentials>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("remote", &self.remote)
            .field("in_flight", &self.pending.len())
            .field("closed", &self.pending.close_reason())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Connects with default options and `timeout` for the TCP handshake.
    pub async fn connect(
        addr: SocketAddr,
        timeout: Duration,
    ) -> Result<Rc<Connection>, ClientError> {
        let options = ClientOptions {
            connect_timeout: timeout,
            ..ClientOptions::default()
        };
        Connection::connect_with(addr, &options).await
    }

    pub async fn connect_with(
        addr: SocketAddr,
        options: &ClientOptions,
    ) -> Result<Rc<Connection>, ClientError> {
        let connect_error = |source: std::io::Error| ClientError::Connect { addr, source };
        let stream = TcpStream::connect_timeout(addr, options.connect_timeout)
            .await
            .map_err(|error| connect_error(error.into()))?;
        // Requests are small and latency-bound; the writer already batches what is queued.
        stream
            .set_nodelay(true)
            .map_err(|error| connect_error(error.into()))?;
        let shared = Rc::new(Shared {
            remote: addr,
            outbox: Outbox::default(),
            pending: Pending::new(),
            closing: Latch::default(),
            request_timeout: options.request_timeout,
            in_flight_max: options.in_flight_max.clamp(1, limits::CLIENT_IN_FLIGHT_MAX),
            on_request: options.on_request.clone(),
            credentials: options.credentials.clone(),
        });
        let stream = Rc::new(RefCell::new(stream));
        let reader = glommio::spawn_local(read_loop(shared.clone(), stream.clone()));
        let writer = glommio::spawn_local(write_loop(shared.clone(), stream));
        let scanner = glommio::spawn_local({
            let shared = shared.clone();
            async move { shared.pending.scan().await }
        });
        Ok(Rc::new(Connection {
            shared,
            _tasks: [reader, writer, scanner],
        }))
    }

    pub fn remote_addr(&self) -> SocketAddr {
        self.shared.remote
    }

    /// Sends `command` and waits for its response, at most `timeout` once sent.
    ///
    /// Waits first while the connection is at its in-flight or queued-bytes limit; that wait
    /// ends as earlier requests complete or time out. The command's opaque and flags are
    /// set here. Dropping the future forgets the request (its response is then dropped).
    pub async fn request(
        &self,
        mut command: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, ClientError> {
        let shared = &*self.shared;
        shared.pending.room().wait(|| shared.has_room(true)).await;
        shared.check_open()?;
        let opaque = shared.pending.next_opaque();
        command.opaque = opaque;
        command.flag &= !(FLAG_RESPONSE | FLAG_ONEWAY);
        shared.sign(&mut command);
        shared.queue(&command)?;
        shared.pending.insert(opaque, command.code, timeout);
        drop(command);
        shared.pending.response(opaque).await
    }

    /// [`Connection::request`] with the connection's default timeout, for callers that
    /// want SUCCESS: any other response code is [`ClientError::Remote`].
    pub async fn request_ok(
        &self,
        command: RemotingCommand,
    ) -> Result<RemotingCommand, ClientError> {
        success(self.request(command, self.shared.request_timeout).await?)
    }

    /// Sends `command` with the oneway flag: the peer never answers it. Resolves once the
    /// frame is queued (waiting first while the write queue is full).
    pub async fn oneway(&self, mut command: RemotingCommand) -> Result<(), ClientError> {
        let shared = &*self.shared;
        shared.pending.room().wait(|| shared.has_room(false)).await;
        shared.check_open()?;
        command.opaque = shared.pending.next_opaque();
        command.flag = (command.flag & !FLAG_RESPONSE) | FLAG_ONEWAY;
        shared.sign(&mut command);
        shared.queue(&command)
    }

    /// Sends the response to a request the peer sent us, for handlers that answer later
    /// than their callback returns. `response` keeps the request's opaque
    /// ([`RemotingCommand::response_to`] sets it).
    pub fn respond(&self, mut response: RemotingCommand) -> Result<(), ClientError> {
        self.shared.check_open()?;
        response.flag = (response.flag | FLAG_RESPONSE) & !FLAG_ONEWAY;
        self.shared.queue(&response)
    }

    /// Fails every pending request with [`CloseReason::Local`] and closes the socket once
    /// what is queued is written.
    pub fn close(&self) {
        self.shared.fail(CloseReason::Local);
    }

    pub fn is_closed(&self) -> bool {
        self.shared.pending.close_reason().is_some()
    }

    /// Why the connection closed, once it has.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.shared.pending.close_reason()
    }

    /// Requests sent and waiting for their response.
    pub fn in_flight(&self) -> usize {
        self.shared.pending.len()
    }

    /// Responses that arrived for no waiting request (late after a timeout, or unknown).
    pub fn unmatched_responses(&self) -> u64 {
        self.shared.pending.unmatched()
    }
}

impl Shared {
    /// Room for one more request (`counts_in_flight`) or oneway; always true once closed, so
    /// waiters wake up to fail.
    fn has_room(&self, counts_in_flight: bool) -> bool {
        if self.pending.close_reason().is_some() {
            return true;
        }
        let slots = !counts_in_flight || self.pending.len() < self.in_flight_max;
        slots && self.outbox.queued_bytes() <= limits::CLIENT_WRITE_QUEUE_BYTES_MAX
    }

    /// Signs a request with the connection's account, when it has one: last, once every
    /// field is set.
    fn sign(&self, command: &mut RemotingCommand) {
        if let Some(credentials) = &self.credentials {
            credentials.sign(command);
        }
    }

    fn check_open(&self) -> Result<(), ClientError> {
        match self.pending.close_reason() {
            Some(reason) => Err(ClientError::Closed(reason)),
            None => Ok(()),
        }
    }

    fn queue(&self, command: &RemotingCommand) -> Result<(), ClientError> {
        match self.outbox.try_push(command) {
            Ok(true) => Ok(()),
            Ok(false) => Err(ClientError::Closed(
                self.pending.close_reason().unwrap_or(CloseReason::Local),
            )),
            Err(error) => Err(ClientError::Wire(error)),
        }
    }

    fn fail(&self, reason: CloseReason) {
        if self.pending.close_reason().is_some() {
            return;
        }
        tracing::debug!(remote = %self.remote, %reason, "client connection closed");
        self.pending.fail_all(reason);
        self.outbox.close();
        self.closing.set();
    }

    /// A frame from the peer: a response to one of ours, or a request of its own.
    fn received(&self, command: RemotingCommand) {
        if command.is_response() {
            self.pending.complete(command);
            return;
        }
        let oneway = command.is_oneway();
        let opaque = command.opaque;
        let reply = match &self.on_request {
            Some(handler) => handler(command),
            // Java's answer to a code it has no processor for, so the peer does not wait
            // for a timeout.
            None if !oneway => Some(RemotingCommand::response_to(
                &command,
                response_code::REQUEST_CODE_NOT_SUPPORTED,
                Some(format!(" request type {} not supported", command.code)),
            )),
            None => None,
        };
        if let Some(mut reply) = reply.filter(|_| !oneway) {
            reply.opaque = opaque;
            reply.flag = (reply.flag | FLAG_RESPONSE) & !FLAG_ONEWAY;
            self.outbox.push(&reply);
        }
    }
}

async fn read_loop(shared: Rc<Shared>, stream: Rc<RefCell<TcpStream>>) {
    let reason = read_frames(&shared, &stream).await;
    shared.fail(reason);
}

async fn read_frames(shared: &Shared, stream: &RefCell<TcpStream>) -> CloseReason {
    let mut reader = FrameReader::new(limits::CLIENT_READ_BYTES_MAX);
    loop {
        // Every complete frame is handled before the next read, so the waiters of one read's
        // responses are all woken in one pass and run together.
        if let Err(error) = reader.drain(|command| shared.received(command)) {
            return CloseReason::Untrusted(error);
        }
        match reader.read(stream, &shared.closing).await {
            Read::Bytes => {}
            Read::Closed => return CloseReason::PeerClosed,
            Read::Failed(error) => return CloseReason::Io(error.kind()),
            Read::Stopped => return shared.pending.close_reason().unwrap_or(CloseReason::Local),
        }
    }
}

async fn write_loop(shared: Rc<Shared>, stream: Rc<RefCell<TcpStream>>) {
    while let Some(batch) = shared.outbox.take().await {
        if let Err(error) = write_batch(&stream, &batch).await {
            shared.fail(CloseReason::Io(error.kind()));
            return;
        }
        shared.outbox.written();
        // Written bytes free room for callers parked on the queued-bytes limit.
        if shared.pending.room().waiting() > 0 {
            shared.pending.room().notify_all();
        }
    }
}
