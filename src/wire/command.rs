//! `RemotingCommand`: one request or response of the remoting protocol (REMOTING.md §1), in
//! the form both header serializations decode to.

use bytes::{Bytes, BytesMut};

use super::WireError;

/// How a header is serialized; a response uses its request's type (REMOTING.md §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SerializeType {
    Json = 0,
    RocketMq = 1,
}

/// The sender's language. Any string is accepted on decode (CLIENTS.md); the ones with a
/// binary code (REMOTING.md §1.5) round-trip through the ROCKETMQ header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LanguageCode {
    Known(u8),
    /// A name with no binary code; encoded as OTHER (7) in a binary header.
    Other(String),
}

/// Ext fields in arrival order; keys are unique (a later duplicate replaces the earlier).
/// Values are the Java `toString()` form: JSON numbers and booleans are kept as their text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtFields {
    entries: Vec<(String, String)>,
}

/// One request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotingCommand {
    pub code: i32,
    pub language: LanguageCode,
    pub version: i32,
    pub opaque: i32,
    pub flag: i32,
    pub remark: Option<String>,
    pub ext_fields: ExtFields,
    pub serialize_type: SerializeType,
    pub body: Bytes,
}
