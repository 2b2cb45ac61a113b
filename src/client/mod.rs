//! The outbound remoting client: connections this process opens to brokers and NameServers
//! (REGISTER_BROKER, admin commands, the bench's load).
//!
//! A [`Connection`] lives on the shard that opened it (`Rc`, no locks). It pipelines: many
//! requests share one socket, each matched to its response by a per-connection opaque
//! counter, in whatever order responses come. Guarantees to callers:
//! - at most [`ClientOptions::in_flight_max`] requests wait for responses and at most
//!   [`limits::CLIENT_WRITE_QUEUE_BYTES_MAX`] bytes wait for the socket; a caller past
//!   either limit waits (backpressure) instead of growing a queue;
//! - every request ends: with its response, [`ClientError::Timeout`], or — the moment the
//!   connection fails — [`ClientError::Closed`];
//! - a request the peer sends us (NOTIFY_CONSUMER_IDS_CHANGED, …) goes to the
//!   [`ClientOptions::on_request`] handler; without one, two-way requests are answered
//!   REQUEST_CODE_NOT_SUPPORTED as Java does.
//!
//! A [`Pool`] keeps one connection per address and reconnects on the next use after one
//! fails.
//!
//! [`limits::CLIENT_WRITE_QUEUE_BYTES_MAX`]: crate::limits::CLIENT_WRITE_QUEUE_BYTES_MAX

mod connection;
mod error;
mod pending;
mod pool;
mod room;
#[cfg(test)]
mod tests;

use std::rc::Rc;
use std::time::Duration;

use glommio::channels::local_channel::{self, LocalReceiver};

pub use connection::Connection;
pub use error::{success, ClientError, CloseReason};
pub use pending::TIMEOUT_GRANULARITY;
pub use pool::Pool;

use crate::limits;
use crate::wire::signature::Credentials;
use crate::wire::RemotingCommand;

/// Java's default connect timeout (`connectTimeoutMillis`).
pub const CONNECT_TIMEOUT_DEFAULT: Duration = Duration::from_secs(3);

/// Timeout of the `*_ok` helpers unless the options say otherwise (Java's
/// `timeoutMillis` for synchronous calls).
pub const REQUEST_TIMEOUT_DEFAULT: Duration = Duration::from_secs(3);

/// Called on the reader of a connection for each request the peer sends. Returns the
/// response for a two-way request (its opaque and flags are set by the connection); the
/// return value of a oneway request is ignored. It must not block: work that takes time
/// belongs in a task that later answers with [`Connection::respond`].
pub type InboundHandler = Rc<dyn Fn(RemotingCommand) -> Option<RemotingCommand>>;

/// How connections are opened and what they do with the peer's requests.
#[derive(Clone)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    /// The timeout of [`Connection::request_ok`].
    pub request_timeout: Duration,
    /// Requests in flight per connection, clamped to `1..=`[`limits::CLIENT_IN_FLIGHT_MAX`].
    pub in_flight_max: usize,
    pub on_request: Option<InboundHandler>,
    /// The account every request is signed with (ACL, docs/access-control.md); `None` sends
    /// requests unsigned.
    pub credentials: Option<Rc<Credentials>>,
}

impl ClientOptions {
    /// The default options, signing with `credentials` when there are any.
    pub fn signed_by(credentials: Option<Credentials>) -> ClientOptions {
        ClientOptions {
            credentials: credentials.map(Rc::new),
            ..ClientOptions::default()
        }
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: CONNECT_TIMEOUT_DEFAULT,
            request_timeout: REQUEST_TIMEOUT_DEFAULT,
            in_flight_max: limits::CLIENT_IN_FLIGHT_MAX,
            on_request: None,
            credentials: None,
        }
    }
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("in_flight_max", &self.in_flight_max)
            .field("on_request", &self.on_request.as_ref().map(|_| ".."))
            .field("credentials", &self.credentials)
            .finish()
    }
}

/// A handler that forwards the peer's requests to a bounded channel, for a consumer task
/// that reacts to notifications. When the channel is full the request is dropped and logged
/// (a notification is a hint the next rebalance repeats); two-way requests are not answered
/// here: the consumer answers them with [`Connection::respond`].
pub fn inbound_channel(capacity: usize) -> (InboundHandler, LocalReceiver<RemotingCommand>) {
    let (sender, receiver) = local_channel::new_bounded(capacity.max(1));
    let handler: InboundHandler = Rc::new(move |request: RemotingCommand| {
        let code = request.code;
        if sender.try_send(request).is_err() {
            tracing::warn!(code, "request from the peer dropped: inbound channel full");
        }
        None
    });
    (handler, receiver)
}
