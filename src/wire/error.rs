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
