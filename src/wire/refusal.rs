//! How a refused request becomes its response: the one place, for every service.
//!
//! Each layer keeps its own error type (the broker's `BrokerError`, the NameServer's
//! `NamesrvError`, the ACL's `Denied`) and says through [`Refusal`] which RocketMQ response
//! code each error is and whether it is worth a warning. [`RemotingCommand::refusal`]
//! builds the response: that code, the error's text as the remark (tools print it, so
//! texts follow Java's where Java's are known), the request's opaque;
//! [`RemotingCommand::refusal_to`] also logs a fault, within the peer's share of warnings.

use std::fmt;
use std::net::SocketAddr;

use super::codes::response_code;
use super::RemotingCommand;

/// An error a handler returns in place of a response.
pub trait Refusal: fmt::Display {
    /// The response code the client sees.
    fn response_code(&self) -> i32;

    /// An everyday answer (a lookup that found nothing, a topic not created yet) rather
    /// than a fault: not logged.
    fn is_routine(&self) -> bool {
        false
    }
}

impl RemotingCommand {
    /// The request without its remark, fields and body: what a response to it needs
    /// (code, opaque, flags, serialization), kept while a handler owns the request.
    pub fn without_payload(&self) -> RemotingCommand {
        RemotingCommand {
            code: self.code,
            language: self.language.clone(),
            version: self.version,
            opaque: self.opaque,
            flag: self.flag,
            remark: None,
            ext_fields: super::ExtFields::new(),
            serialize_type: self.serialize_type,
            body: bytes::Bytes::new(),
            typed_fields: Default::default(),
            shared_body: Default::default(),
        }
    }

    /// A SUCCESS response to `request`, with no header fields or body yet.
    pub fn success(request: &RemotingCommand) -> RemotingCommand {
        RemotingCommand::response_to(request, response_code::SUCCESS, None)
    }

    /// The response to `request` that `refusal` stands for.
    pub fn refusal(request: &RemotingCommand, refusal: &dyn Refusal) -> RemotingCommand {
        let code = refusal.response_code();
        RemotingCommand::response_to(request, code, Some(refusal.to_string()))
    }

    /// [`RemotingCommand::refusal`] for a request from `peer`, with a fault logged here,
    /// once, within the peer's share of warnings ([`crate::logging::peer_warning`]).
    pub fn refusal_to(
        peer: SocketAddr,
        request: &RemotingCommand,
        refusal: &dyn Refusal,
    ) -> RemotingCommand {
        let response = RemotingCommand::refusal(request, refusal);
        if !refusal.is_routine() {
            if let Some(suppressed) = crate::logging::peer_warning(peer.ip()) {
                tracing::warn!(%peer, request = request.code, code = response.code,
                    error = %refusal, suppressed, "request refused");
            }
        }
        response
    }

    /// Java's answer to a code no processor serves (docs/protocol.md §1.5); every service
    /// answers it alike, so the remark reads the same whichever port a client asked.
    pub fn not_supported(request: &RemotingCommand) -> RemotingCommand {
        let remark = format!(" request type {} not supported", request.code);
        RemotingCommand::response_to(
            request,
            response_code::REQUEST_CODE_NOT_SUPPORTED,
            Some(remark),
        )
    }
}
