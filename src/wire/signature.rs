//! RocketMQ's request signature (ACL 1.0, docs/access-control.md §2): the Base64 of the
//! HMAC-SHA1, keyed with the account's secret key, of the values of the request's ext fields in
//! the order of their keys (the `Signature` field itself left out), followed by the body.
//!
//! Clients add `AccessKey` to the fields before they sign, so the access key is signed too.
//! Keys are ordered as Java's `TreeMap<String, String>` orders them: by UTF-16 code units,
//! which differs from Rust's byte order only for keys holding characters above U+FFFF.
//!
//! One exception, kept for old clients: a request of version 4.9.3 or older does not sign
//! `_UNIQUE_KEY_QUERY`, which the Java client added to a QUERY_MESSAGE after signing it.

use std::cmp::Ordering;
use std::fmt;

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::{ExtFields, RemotingCommand};

/// The field naming the account.
pub const ACCESS_KEY: &str = "AccessKey";
/// The field carrying the signature.
pub const SIGNATURE: &str = "Signature";
/// The field of a temporary credential's token (signed like any other field).
pub const SECURITY_TOKEN: &str = "SecurityToken";
/// The field old Java clients add to QUERY_MESSAGE after signing it.
const UNIQUE_KEY_QUERY: &str = "_UNIQUE_KEY_QUERY";
/// `MQVersion.Version.V4_9_3`: the last version that left `_UNIQUE_KEY_QUERY` unsigned.
const V4_9_3: i32 = 399;

/// Base64 of an HMAC-SHA1: 20 bytes in 28 characters.
const ENCODED_LEN: usize = 28;

/// A secret key made ready to sign: the HMAC's keyed state, which costs two SHA-1 blocks to
/// compute, kept so that each request costs only its own bytes.
#[derive(Clone)]
pub struct SigningKey(Hmac<Sha1>);

impl SigningKey {
    pub fn new(secret_key: &str) -> SigningKey {
        // An HMAC takes a key of any length.
        let Ok(mac) = Hmac::<Sha1>::new_from_slice(secret_key.as_bytes()) else {
            unreachable!("HMAC accepts keys of every length")
        };
        SigningKey(mac)
    }
}

/// Never shows the key.
impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<hidden>)")
    }
}

/// The signature of `command` under `secret_key`, as the server computes it from what
/// arrived.
pub fn signature(command: &RemotingCommand, secret_key: &str) -> String {
    let encoded = server_signature(command, &SigningKey::new(secret_key));
    String::from_utf8_lossy(&encoded).into_owned()
}

/// Whether `given` is the signature `key` gives `command`, in time that does not depend on
/// where they differ.
pub fn verify(command: &RemotingCommand, key: &SigningKey, given: &str) -> bool {
    let expected = server_signature(command, key);
    let given = given.as_bytes();
    given.len() == ENCODED_LEN
        && given
            .iter()
            .zip(&expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// What the server signs: every field but `Signature` (and an old client's
/// `_UNIQUE_KEY_QUERY`).
fn server_signature(command: &RemotingCommand, key: &SigningKey) -> [u8; ENCODED_LEN] {
    let unsigned_query_flag = command.version <= V4_9_3;
    let signed =
        |field: &str| field != SIGNATURE && !(unsigned_query_flag && field == UNIQUE_KEY_QUERY);
    sign_fields(&command.ext_fields, signed, &command.body, key)
}

/// The Base64 HMAC-SHA1 of the values of the `fields` whose key `signed` accepts, in key
/// order, then `body`.
fn sign_fields(
    fields: &ExtFields,
    signed: impl Fn(&str) -> bool,
    body: &[u8],
    key: &SigningKey,
) -> [u8; ENCODED_LEN] {
    let mut entries: Vec<(&str, &str)> = Vec::with_capacity(fields.len());
    entries.extend(fields.iter().filter(|(field, _)| signed(field)));
    entries.sort_unstable_by(|a, b| java_order(a.0, b.0));
    let mut mac = key.0.clone();
    for (_, value) in entries {
        mac.update(value.as_bytes());
    }
    mac.update(body);
    let mut encoded = [0u8; ENCODED_LEN];
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(mac.finalize().into_bytes(), &mut encoded);
    debug_assert_eq!(written, Ok(ENCODED_LEN));
    encoded
}

/// Java's `String.compareTo`: UTF-16 code units.
fn java_order(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

/// An account's access key and secret key: what a client signs its requests with.
#[derive(Clone)]
pub struct Credentials {
    pub access_key: String,
    secret_key: String,
    key: SigningKey,
}

impl PartialEq for Credentials {
    fn eq(&self, other: &Self) -> bool {
        (&self.access_key, &self.secret_key) == (&other.access_key, &other.secret_key)
    }
}

impl Eq for Credentials {}

impl Credentials {
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Credentials {
        let secret_key = secret_key.into();
        Credentials {
            access_key: access_key.into(),
            key: SigningKey::new(&secret_key),
            secret_key,
        }
    }

    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// Signs `command` as a RocketMQ client does: sets `AccessKey`, then `Signature` over
    /// every other field and the body. Sign last: a field changed afterwards breaks it.
    pub fn sign(&self, command: &mut RemotingCommand) {
        command.ext_fields.remove(SIGNATURE);
        command.ext_fields.insert(ACCESS_KEY, &self.access_key);
        let signed = |key: &str| key != SIGNATURE;
        let signature = sign_fields(&command.ext_fields, signed, &command.body, &self.key);
        command
            .ext_fields
            .insert(SIGNATURE, String::from_utf8_lossy(&signature));
    }
}

/// Never prints the secret key.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<hidden>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn command(fields: &[(&str, &str)], body: &'static [u8]) -> RemotingCommand {
        let mut ext = ExtFields::new();
        for (key, value) in fields {
            ext.insert(key, value);
        }
        RemotingCommand::request(10, ext, Bytes::from_static(body))
    }

    /// Java's `AclUtils.combineRequestContent`: the values in key order, then the body.
    #[test]
    fn signs_values_in_key_order_then_body() {
        let mut request = command(&[("topic", "T"), ("b", "2"), ("a", "1")], b"body");
        Credentials::new("RocketMQ", "12345678").sign(&mut request);
        // HMAC-SHA1("12345678", "RocketMQ" + "1" + "2" + "T" + "body"): AccessKey sorts first.
        let expected = {
            let mut mac = Hmac::<Sha1>::new_from_slice(b"12345678").unwrap();
            mac.update(b"RocketMQ12Tbody");
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        };
        assert_eq!(request.ext_fields.get(SIGNATURE), Some(expected.as_str()));
        assert_eq!(signature(&request, "12345678"), expected);
        assert_ne!(signature(&request, "12345679"), expected);
    }

    #[test]
    fn known_answer() {
        // printf 'RocketMQ12Tbody' | openssl dgst -sha1 -hmac 12345678 -binary | base64
        let mut request = command(&[("topic", "T"), ("b", "2"), ("a", "1")], b"body");
        Credentials::new("RocketMQ", "12345678").sign(&mut request);
        assert_eq!(
            request.ext_fields.get(SIGNATURE),
            Some("fK5pFQxq+b/6WxOlpcEB6eu+dM4=")
        );
    }

    #[test]
    fn keys_sort_as_java_strings() {
        // U+FF61 is one UTF-16 unit, above a surrogate pair's first unit (U+D83D for U+1F600):
        // Java puts the emoji first, byte order the other way round.
        assert_eq!(java_order("\u{1F600}", "\u{FF61}"), Ordering::Less);
        assert_eq!("\u{1F600}".cmp("\u{FF61}"), Ordering::Greater);
        assert_eq!(java_order("a", "b"), Ordering::Less);
    }

    #[test]
    fn old_clients_leave_the_unique_key_flag_unsigned() {
        let mut request = command(&[("topic", "T")], b"");
        request.version = V4_9_3;
        Credentials::new("RocketMQ", "12345678").sign(&mut request);
        let expected = request.ext_fields.get(SIGNATURE).unwrap().to_owned();
        request.ext_fields.insert(UNIQUE_KEY_QUERY, "true");
        assert_eq!(signature(&request, "12345678"), expected);
        request.version = V4_9_3 + 1;
        assert_ne!(signature(&request, "12345678"), expected);
    }

    #[test]
    fn debug_hides_the_secret() {
        let shown = format!("{:?}", Credentials::new("RocketMQ", "12345678"));
        assert!(shown.contains("RocketMQ") && !shown.contains("12345678"));
    }

    #[test]
    fn verification_is_exact() {
        let mut request = command(&[("topic", "T")], b"body");
        Credentials::new("RocketMQ", "12345678").sign(&mut request);
        let given = request.ext_fields.get(SIGNATURE).unwrap().to_owned();
        let key = SigningKey::new("12345678");
        assert!(verify(&request, &key, &given));
        let mut changed = given.clone().into_bytes();
        changed[27] = if changed[27] == b'=' { b'A' } else { b'=' };
        assert!(!verify(
            &request,
            &key,
            std::str::from_utf8(&changed).unwrap()
        ));
        assert!(!verify(&request, &key, &given[..27]));
        assert!(!verify(&request, &SigningKey::new("12345679"), &given));
    }
}
