//! The only code that touches sockets: per-shard listeners, one task per connection that
//! decodes frames incrementally, hands requests to a [`Service`], and writes responses in
//! order of completion through a bounded [`outbox`](Outbox).
//!
//! Lives on every shard; a connection is served entirely by the shard that accepted it.
//!
//! Guarantees a connection gives the service above it:
//! - a oneway request never gets a response, whatever the service returns;
//! - a frame that cannot be trusted (bad length, bad serialize type, oversize) closes only
//!   its own connection;
//! - a peer that stops reading stops being read: at most [`limits::CONNECTION_WRITE_QUEUE_BYTES_MAX`]
//!   bytes are queued for it, plus the responses of the requests it had in flight then. While
//!   responses wait, only [`limits::CONNECTION_IN_FLIGHT_BEHIND_MAX`] requests are in flight;
//!   requests with large answers (pulls) are taken a few at a time until their answers come
//!   ([`limits::CONNECTION_LARGE_ANSWERS_IN_FLIGHT`]);
//! - the connections of one shard count what they queue into its [`ShardBudget`]: past it,
//!   those whose peers are behind stop being read, and the others are served as before;
//! - a connection that ends gives back its queued bytes and its place at once, and an idle
//!   one holds no read or write buffer.
//!
//! [`limits::CONNECTION_WRITE_QUEUE_BYTES_MAX`]: crate::limits::CONNECTION_WRITE_QUEUE_BYTES_MAX
//! [`limits::CONNECTION_IN_FLIGHT_BEHIND_MAX`]: crate::limits::CONNECTION_IN_FLIGHT_BEHIND_MAX
//! [`limits::CONNECTION_LARGE_ANSWERS_IN_FLIGHT`]: crate::limits::CONNECTION_LARGE_ANSWERS_IN_FLIGHT

mod budget;
mod connection;
mod frame_reader;
mod latch;
mod listener;
mod outbox;
#[cfg(test)]
pub(crate) mod testing;

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

pub use budget::ShardBudget;
pub use connection::Peer;
pub(crate) use connection::{write_all, write_batch, write_parts};
pub(crate) use frame_reader::{FrameReader, Read};
pub use latch::Latch;
pub use listener::{bind, AcceptFailures, Server};
pub use outbox::Outbox;

use crate::wire::RemotingCommand;

/// `stream`'s descriptor, for the socket calls glommio does not make (vectored sends, reads
/// into uninitialised room), borrowed for as long as the stream is.
fn socket_fd(stream: &glommio::net::TcpStream) -> std::os::fd::BorrowedFd<'_> {
    use std::os::fd::AsRawFd;
    #[allow(unsafe_code)]
    // SAFETY: the descriptor is the stream's own, open until the stream is dropped, and the
    // borrow cannot outlive the stream.
    unsafe {
        std::os::fd::BorrowedFd::borrow_raw(stream.as_raw_fd())
    }
}

/// What a service answers to one request.
pub enum Reply {
    /// The response (or nothing) is known at once; it is queued before the next frame of the
    /// connection is looked at.
    Now(Option<RemotingCommand>),
    /// The response comes later (a synchronous flush, a parked pull); responses of one
    /// connection leave in the order they complete.
    Later(Pin<Box<dyn Future<Output = Option<RemotingCommand>>>>),
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Now(response) => f.debug_tuple("Now").field(response).finish(),
            Reply::Later(_) => f.write_str("Later(..)"),
        }
    }
}

/// The layer above the connections: [`crate::dispatch`] in the broker.
pub trait Service: 'static {
    /// Handles one request from `peer`.
    fn call(&self, peer: &Rc<Peer>, request: RemotingCommand) -> Reply;

    /// A response to a request the broker sent to `peer`.
    fn response(&self, peer: &Rc<Peer>, response: RemotingCommand) {
        tracing::debug!(peer = %peer.remote_addr(), opaque = response.opaque, "response to no pending request");
    }

    /// Whether the answer to `request` may be large (up to hundreds of KiB: a pull, a
    /// message lookup). A connection takes only a few such requests at a time while none of
    /// their answers has come (see [`crate::limits::CONNECTION_LARGE_ANSWERS_IN_FLIGHT`]),
    /// and such a request, a read, is abandoned (its future dropped) when its peer goes.
    fn answers_large(&self, _request: &RemotingCommand) -> bool {
        false
    }

    /// `peer`'s connection has closed; called once, after its last request was handed over.
    fn disconnected(&self, _peer: &Rc<Peer>) {}
}
