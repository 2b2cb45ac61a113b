//! The RocketMQ remoting codec: pure functions from bytes to frames, commands, typed headers and
//! records and back. No I/O and no async here; every length read from input is checked against
//! [`crate::limits`] before it is trusted, and no input makes this module panic.
//!
//! Decoding tells *incomplete* (wait for more bytes) from *invalid* (the peer cannot be
//! trusted; close the connection or answer with an error) through [`WireError`].

pub mod codes;
pub mod command;
pub mod error;
pub mod frame;
pub mod header_binary;
pub mod header_json;
mod header_json_fast;
pub mod headers;

pub mod batch;
pub mod body;
pub mod message_id;
pub mod properties;
pub mod record;
pub mod refusal;
pub mod register_body;
pub mod shared_body;
pub mod signature;
pub mod text;
pub mod topics;

pub use command::{ExtFields, LanguageCode, RemotingCommand, SerializeType, TypedFields};
pub use error::{HeaderError, WireError};
pub use refusal::Refusal;
pub use shared_body::{BodyParts, SharedBody};
