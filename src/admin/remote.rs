//! Requests to NameServers and brokers, one blocking connection per request: an admin
//! command sends a handful, and a fresh connection makes every error name the one address
//! that did not answer.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::AdminError;
use crate::wire::codes::response_code::SUCCESS;
use crate::wire::{frame, ExtFields, RemotingCommand};

/// How long one request may take, connect included (mqadmin's `timeoutMillis` is 5 s; its
/// consume-stats requests get 15 s).
#[derive(Debug, Clone, Copy)]
pub struct Patience(pub Duration);

/// Sends one request to `addr` and returns the response, whatever its code.
pub fn call(
    addr: &str,
    code: i32,
    fields: &[(&str, String)],
    body: &[u8],
    patience: Patience,
) -> Result<RemotingCommand, AdminError> {
    let unreachable = |why: String| AdminError::Unreachable {
        addr: addr.to_owned(),
        why,
    };
    let target = resolve(addr).map_err(unreachable)?;
    let mut stream = TcpStream::connect_timeout(&target, patience.0)
        .map_err(|e| unreachable(format!("cannot connect: {e}")))?;
    stream
        .set_read_timeout(Some(patience.0))
        .and_then(|()| stream.set_write_timeout(Some(patience.0)))
        .map_err(|e| unreachable(e.to_string()))?;
    let mut ext = ExtFields::with_capacity(fields.len());
    for (key, value) in fields {
        ext.insert(key, value);
    }
    let mut request = RemotingCommand::request(code, ext, Bytes::copy_from_slice(body));
    request.opaque = 1;
    let mut out = BytesMut::new();
    request
        .encode(&mut out)
        .map_err(|e| unreachable(format!("cannot encode the request: {e}")))?;
    stream
        .write_all(&out)
        .map_err(|e| unreachable(format!("cannot send: {e}")))?;
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match frame::decode(&mut buf) {
            Ok(Some(response)) if response.is_response() && response.opaque == 1 => {
                return Ok(response);
            }
            // A request of the peer's own (none is expected): not ours, read on.
            Ok(Some(_)) => continue,
            Ok(None) => {}
            Err(e) => return Err(unreachable(format!("answered an unreadable frame: {e}"))),
        }
        let read = stream.read(&mut chunk).map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                unreachable(format!("no answer within {} ms", patience.0.as_millis()))
            }
            _ => unreachable(format!("connection failed: {e}")),
        })?;
        if read == 0 {
            return Err(unreachable(
                "closed the connection without answering".into(),
            ));
        }
        buf.extend_from_slice(&chunk[..read]);
    }
}

/// [`call`], with any code but SUCCESS an error naming the address, the code and the
/// remark.
pub fn call_ok(
    addr: &str,
    code: i32,
    fields: &[(&str, String)],
    body: &[u8],
    patience: Patience,
) -> Result<RemotingCommand, AdminError> {
    let response = call(addr, code, fields, body, patience)?;
    if response.code != SUCCESS {
        return Err(AdminError::Refused {
            addr: addr.to_owned(),
            request: code,
            code: response.code,
            remark: response.remark.clone().unwrap_or_default(),
        });
    }
    Ok(response)
}

fn resolve(addr: &str) -> Result<SocketAddr, String> {
    addr.to_socket_addrs()
        .map_err(|e| format!("not a host:port ({e})"))?
        .next()
        .ok_or_else(|| "resolves to no address".to_owned())
}
