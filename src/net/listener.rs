//! Listening sockets and the accept loop of one shard.

use std::cell::Cell;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::{FromRawFd, IntoRawFd};
use std::rc::Rc;
use std::time::Duration;

use glommio::net::TcpListener;
use glommio::sync::Gate;
use socket2::{Domain, Protocol, Socket, Type};

use super::{connection, Latch, Service, ShardBudget};
use crate::limits;

/// How long the accept loop backs off after an accept error (e.g. out of file descriptors),
/// so a persistent error does not spin the shard.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);
/// How often a repeating accept failure is logged.
const ACCEPT_ERROR_LOG_EVERY: Duration = Duration::from_secs(10);

/// Binds a listening socket for the current shard's executor.
///
/// `SO_REUSEADDR` lets a restarted broker bind while old connections sit in TIME_WAIT.
/// No `SO_REUSEPORT`: every shard has its own port, and a second process on the same port is
/// a mistake to report, not to share load with.
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_nodelay(true)?;
    socket.bind(&addr.into())?;
    socket.listen(limits::LISTEN_BACKLOG)?;
    // glommio's own bind always sets SO_REUSEPORT and it takes a socket only as a raw fd.
    let fd = socket.into_raw_fd();
    // SAFETY: `fd` was just released by `into_raw_fd` from a bound, listening TCP socket;
    // nothing else owns it, so the listener becomes its only owner and closes it on drop.
    #[allow(unsafe_code)]
    let listener = unsafe { TcpListener::from_raw_fd(fd) };
    Ok(listener)
}

/// A listener's failing accepts (out of descriptors), which repeat every backoff: each
/// waits 100 ms, and they are logged once per 10 s with the count of the others.
#[derive(Debug, Default)]
pub struct AcceptFailures {
    last_logged: Option<std::time::Instant>,
    unlogged: u64,
}

impl AcceptFailures {
    /// Counts or logs `error` as `what`, then waits the backoff.
    pub async fn failed(&mut self, error: &dyn std::fmt::Display, what: &str) {
        let now = std::time::Instant::now();
        if self
            .last_logged
            .map_or(true, |at| now - at >= ACCEPT_ERROR_LOG_EVERY)
        {
            tracing::warn!(%error, suppressed = self.unlogged, "{what}");
            (self.last_logged, self.unlogged) = (Some(now), 0);
        } else {
            self.unlogged += 1;
        }
        glommio::timer::sleep(ACCEPT_ERROR_BACKOFF).await;
    }
}

/// Accepts connections on one shard and tracks them until they end. One server may run
/// several listeners (a broker shard's main and fast ports); their connections share its
/// [`ShardBudget`].
#[derive(Debug)]
pub struct Server<S> {
    service: Rc<S>,
    stopping: Rc<Latch>,
    connections: Gate,
    budget: Rc<ShardBudget>,
    next_id: Cell<u64>,
}

impl<S: Service> Server<S> {
    /// Serves `service` within `budget`, which the caller may keep to report on.
    pub fn new(service: Rc<S>, budget: Rc<ShardBudget>) -> Rc<Self> {
        Rc::new(Server {
            service,
            stopping: Rc::new(Latch::default()),
            connections: Gate::new(),
            budget,
            next_id: Cell::new(0),
        })
    }

    /// Accepts until [`Server::shutdown`]; each connection runs in its own task.
    pub async fn run(self: Rc<Self>, listener: TcpListener) {
        let mut failures = AcceptFailures::default();
        loop {
            let accept = async { Some(listener.accept().await) };
            let stop = async {
                self.stopping.wait().await;
                None
            };
            match futures_lite::future::or(accept, stop).await {
                None => return,
                Some(Ok(stream)) => self.start(stream),
                Some(Err(error)) => failures.failed(&error, "accept failed").await,
            }
        }
    }

    fn start(&self, stream: glommio::net::TcpStream) {
        if !self.budget.admit_connection() {
            let peer = stream.peer_addr().ok();
            let ip = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| addr.ip());
            if let Some(suppressed) = crate::logging::peer_warning(ip) {
                tracing::warn!(
                    ?peer,
                    limit = self.budget.connections_max(),
                    suppressed,
                    "connection refused: shard at its connection limit"
                );
            }
            return; // dropping the stream closes it
        }
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let budget = self.budget.clone();
        let task = connection::serve(
            stream,
            id,
            self.service.clone(),
            self.stopping.clone(),
            budget.clone(),
        );
        let spawned = self.connections.spawn(async move {
            task.await;
            budget.connection_ended(id);
        });
        match spawned {
            Ok(task) => {
                task.detach();
            }
            // Shutting down: the stream is dropped.
            Err(_) => self.budget.connection_ended(id),
        }
    }

    /// Connections currently open on this shard.
    pub fn connection_count(&self) -> usize {
        self.budget.connections()
    }

    /// Stops accepting, lets every connection finish its in-flight requests (bounded by the
    /// drain timeout) and returns when all have closed.
    pub async fn shutdown(&self) {
        self.stopping.set();
        // Err means another caller already closed the gate; either way every connection is done.
        let _ = self.connections.close().await;
    }
}
