//! The codec's error type.

use std::fmt;

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The input ends before the item does; `needed` is the least number of bytes in all the
    /// item could take (a hint for buffer sizing, never trusted beyond the limits).
    Incomplete { needed: usize },
    /// The input can never decode: a length out of its limit, a bad serialize type, malformed
    /// JSON, an unknown magic code. The string says what, for logs and error remarks.
    Invalid(String),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Incomplete { needed } => {
                write!(f, "incomplete input: {needed} bytes needed")
            }
            WireError::Invalid(why) => write!(f, "invalid input: {why}"),
        }
    }
}

impl std::error::Error for WireError {}

/// Why a typed header could not be read from a command's ext fields. Dispatch answers it with
/// a response code and this text as the remark, so it always names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// A field the header requires is absent.
    Missing { field: &'static str },
    /// A field is present but its text is not of the field's type.
    Malformed {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl HeaderError {
    /// The ext field key the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            HeaderError::Missing { field } | HeaderError::Malformed { field, .. } => field,
        }
    }
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::Missing { field } => write!(f, "the header field {field} is missing"),
            HeaderError::Malformed {
                field,
                value,
                expected,
            } => {
                write!(f, "the header field {field} is not {expected}: {value:?}")
            }
        }
    }
}

impl std::error::Error for HeaderError {}

impl From<HeaderError> for WireError {
    fn from(err: HeaderError) -> WireError {
        WireError::Invalid(err.to_string())
    }
}
