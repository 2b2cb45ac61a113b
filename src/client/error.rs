//! The client's error type: what a caller of a request can be told, one variant per cause.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::wire::codes::response_code;
use crate::wire::{RemotingCommand, WireError};

/// Why a request, oneway or connect did not give the caller what it asked for.
#[derive(Debug)]
pub enum ClientError {
    /// The TCP connection could not be opened (refused, unreachable, or not within the
    /// connect timeout: `source.kind()` is `TimedOut` then).
    Connect { addr: SocketAddr, source: io::Error },
    /// No response within the request's timeout; the request is forgotten and a response
    /// that arrives later is dropped.
    Timeout { code: i32, timeout: Duration },
    /// The connection closed before the response arrived, or was already closed.
    Closed(CloseReason),
    /// The request could not be encoded (it breaks a frame limit the peer enforces); nothing
    /// was sent and the connection stays usable.
    Wire(WireError),
    /// The peer answered with a code other than SUCCESS (only from the `*_ok` helpers).
    Remote { code: i32, remark: Option<String> },
}

/// Why a connection closed. Every request pending on it fails with this reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer closed the connection.
    PeerClosed,
    /// Reading or writing the socket failed.
    Io(io::ErrorKind),
    /// The peer sent bytes that cannot be a frame; the stream cannot be trusted any more.
    Untrusted(WireError),
    /// This side closed it.
    Local,
}

impl ClientError {
    /// True when a retry on a new connection may succeed: the connection, not the request,
    /// was the problem.
    pub fn is_connection_failure(&self) -> bool {
        matches!(self, ClientError::Connect { .. } | ClientError::Closed(_))
    }
}

/// Passes a SUCCESS response through and turns any other code into
/// [`ClientError::Remote`].
pub fn success(response: RemotingCommand) -> Result<RemotingCommand, ClientError> {
    if response.code == response_code::SUCCESS {
        Ok(response)
    } else {
        Err(ClientError::Remote {
            code: response.code,
            remark: response.remark,
        })
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Connect { addr, source } => write!(f, "connect to {addr}: {source}"),
            ClientError::Timeout { code, timeout } => {
                write!(f, "no response to request code {code} within {timeout:?}")
            }
            ClientError::Closed(reason) => write!(f, "connection closed: {reason}"),
            ClientError::Wire(error) => write!(f, "request not sent: {error}"),
            ClientError::Remote { code, remark } => {
                let name = response_code::name(*code).unwrap_or("unknown code");
                write!(f, "peer answered {code} ({name})")?;
                match remark {
                    Some(remark) => write!(f, ": {remark}"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Connect { source, .. } => Some(source),
            ClientError::Wire(error) => Some(error),
            _ => None,
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::PeerClosed => f.write_str("closed by the peer"),
            CloseReason::Io(kind) => write!(f, "socket error: {kind}"),
            CloseReason::Untrusted(error) => write!(f, "undecodable frame from the peer: {error}"),
            CloseReason::Local => f.write_str("closed locally"),
        }
    }
}
