//! Requests to NameServers and brokers, one blocking connection per request: an admin
//! command sends a handful, and a fresh connection makes every error name the one address
//! that did not answer. With an account, every request is signed here, last, as RocketMQ's
//! ACL 1.0 clients sign theirs.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::AdminError;
use crate::wire::codes::response_code::SUCCESS;
use crate::wire::signature::Credentials;
use crate::wire::{frame, ExtFields, RemotingCommand};

/// How requests go out: how long each may take, connect included (mqadmin's `timeoutMillis`
/// is 5 s; its consume-stats requests get 15 s), and the account that signs them, if any.
#[derive(Debug, Clone)]
pub struct Link {
    pub patience: Duration,
    pub credentials: Option<Credentials>,
}

/// The request `call` sends: `fields` and `body` under `code`, signed last when there is
/// an account.
pub fn request(
    code: i32,
    fields: &[(&str, String)],
    body: &[u8],
    credentials: Option<&Credentials>,
) -> RemotingCommand {
    let mut ext = ExtFields::with_capacity(fields.len() + 2);
    for (key, value) in fields {
        ext.insert(key, value);
    }
    let mut request = RemotingCommand::request(code, ext, Bytes::copy_from_slice(body));
    request.opaque = 1;
    if let Some(credentials) = credentials {
        credentials.sign(&mut request);
    }
    request
}

/// Sends one request to `addr` and returns the response, whatever its code.
pub fn call(
    addr: &str,
    code: i32,
    fields: &[(&str, String)],
    body: &[u8],
    link: &Link,
) -> Result<RemotingCommand, AdminError> {
    let patience = link.patience;
    let unreachable = |why: String| AdminError::Unreachable {
        addr: addr.to_owned(),
        why,
    };
    let target = resolve(addr).map_err(unreachable)?;
    let mut stream = TcpStream::connect_timeout(&target, patience)
        .map_err(|e| unreachable(format!("cannot connect: {e}")))?;
    stream
        .set_read_timeout(Some(patience))
        .and_then(|()| stream.set_write_timeout(Some(patience)))
        .map_err(|e| unreachable(e.to_string()))?;
    let request = request(code, fields, body, link.credentials.as_ref());
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
                unreachable(format!("no answer within {} ms", patience.as_millis()))
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
    link: &Link,
) -> Result<RemotingCommand, AdminError> {
    let response = call(addr, code, fields, body, link)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::codes::request_code::SEND_MESSAGE_V2;
    use crate::wire::signature::{signature, ACCESS_KEY, SIGNATURE};

    fn fields() -> Vec<(&'static str, String)> {
        vec![("b", "TopicA".to_owned()), ("a", "group".to_owned())]
    }

    #[test]
    fn with_an_account_the_request_is_signed() {
        let account = Credentials::new("admin-key", "admin-secret");
        let request = request(SEND_MESSAGE_V2, &fields(), b"body", Some(&account));
        assert_eq!(request.ext_fields.get(ACCESS_KEY), Some("admin-key"));
        assert_eq!(request.ext_fields.get("b"), Some("TopicA"));
        let given = request.ext_fields.get(SIGNATURE).expect("signed");
        assert_eq!(given, signature(&request, "admin-secret"));
        assert_ne!(given, signature(&request, "another-secret"));
    }

    #[test]
    fn without_an_account_nothing_is_added() {
        let request = request(SEND_MESSAGE_V2, &fields(), b"body", None);
        assert_eq!(request.ext_fields.len(), 2);
        assert_eq!(request.ext_fields.get(ACCESS_KEY), None);
        assert_eq!(request.ext_fields.get(SIGNATURE), None);
        assert_eq!(request.opaque, 1);
    }
}
