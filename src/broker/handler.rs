//! The contract every broker request handler keeps.
//!
//! A handler is a function from the shard's broker ([`ShardBroker`]: its context and its
//! data path) and a [`Request`] to a [`Handling`]: a response now, or a future of one. The
//! handler decodes its typed header first (`request.command.decode_header::<H>()?`) and
//! reads only the parts of the context it needs; what fails is a [`BrokerError`], which
//! [`crate::dispatch`] turns into the response, the one place that happens. A oneway
//! request's response is dropped by the connection, so handlers answer every request alike.
//!
//! Registering a request code is one line in [`crate::dispatch`]'s table, naming a
//! function with the [`Handler`] signature.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;

use super::clients::registry::ClientChannel;
use super::data::path::DataPath;
use super::{BrokerContext, BrokerError};
use crate::wire::RemotingCommand;

/// A handler's result: the response, or why the request was refused.
pub type Handled = Result<RemotingCommand, BrokerError>;
/// A request handler.
pub type Handler = fn(&ShardBroker, Request) -> Handling;

/// One request and the connection it came on.
#[derive(Debug)]
pub struct Request {
    pub command: RemotingCommand,
    /// The client's connection: its address, and a way to send it requests of the broker's
    /// own (NOTIFY_CONSUMER_IDS_CHANGED).
    pub client: Rc<dyn ClientChannel>,
}

impl Request {
    /// The address the request came from (a message's born host).
    pub fn client_addr(&self) -> SocketAddr {
        self.client.remote_addr()
    }
}

/// A handler's answer, now or later.
pub enum Handling {
    /// Answered at once; queued before the connection's next frame is looked at.
    Now(Handled),
    /// Answered when the future completes (a flush, a parked pull, another shard).
    Later(Pin<Box<dyn Future<Output = Handled>>>),
}

impl Handling {
    pub fn later(handled: impl Future<Output = Handled> + 'static) -> Handling {
        Handling::Later(Box::pin(handled))
    }

    /// The result, waiting for it if it comes later.
    pub async fn result(self) -> Handled {
        match self {
            Handling::Now(handled) => handled,
            Handling::Later(handled) => handled.await,
        }
    }
}

impl std::fmt::Debug for Handling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Handling::Now(handled) => f.debug_tuple("Now").field(handled).finish(),
            Handling::Later(_) => f.write_str("Later(..)"),
        }
    }
}

/// What the handlers of one shard share: the shard's broker context, its data path and its
/// connections' figures.
#[derive(Debug)]
pub struct ShardBroker {
    pub ctx: Rc<BrokerContext>,
    pub data: Rc<DataPath>,
    pub connections: Rc<dyn Connections>,
}

/// The shard's connections as far as handlers report on them (GET_BROKER_RUNTIME_INFO). They
/// live in a layer the broker does not see; [`crate::dispatch`] implements this over it.
pub trait Connections: std::fmt::Debug {
    /// Connections the shard serves now.
    fn open(&self) -> usize;
    /// Bytes queued for their peers and not yet written.
    fn queued_bytes(&self) -> usize;
}

/// The response the dispatcher sends for `handled`, for tests that call handlers directly.
#[cfg(test)]
pub fn answered(request: &RemotingCommand, handled: Handled) -> RemotingCommand {
    handled.unwrap_or_else(|err| RemotingCommand::refusal(request, &err))
}
