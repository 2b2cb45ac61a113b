//! Request code → handler, through one `match`.
//!
//! Every shard holds one [`Dispatcher`]. It decides what a request is, applies admission
//! (limits), and calls the handler of its family; codes no handler serves get Java's
//! REQUEST_CODE_NOT_SUPPORTED answer. Handlers live in the broker and NameServer modules;
//! this file only routes.

use std::rc::Rc;

use crate::net::{Peer, Reply, Service};
use crate::wire::codes::response_code;
use crate::wire::RemotingCommand;

/// The broker's request router for one shard.
#[derive(Debug, Default)]
pub struct Dispatcher {}

impl Dispatcher {
    pub fn new() -> Self {
        Dispatcher {}
    }
}

impl Service for Dispatcher {
    fn call(&self, _peer: &Rc<Peer>, request: RemotingCommand) -> Reply {
        #[allow(clippy::match_single_binding)] // request families arrive with the broker
        match request.code {
            code => Reply::Now(Some(not_supported(&request, code))),
        }
    }
}

/// Java's answer to a code it has no processor for (REMOTING.md §1.5); shared by every
/// service so the remark reads the same whichever port a client asked.
pub fn not_supported(request: &RemotingCommand, code: i32) -> RemotingCommand {
    RemotingCommand::response_to(
        request,
        response_code::REQUEST_CODE_NOT_SUPPORTED,
        Some(format!(" request type {code} not supported")),
    )
}
