//! Typed request and response headers (docs/protocol.md §1.7, §2.3–§2.9): the Java "custom header"
//! classes, read from a command's ext fields and written to them, or, for an answer on the
//! data path, straight into the encoded frame ([`FieldSink`]).
//!
//! Reading follows Java: integers are decimal (`Integer.parseInt`), booleans are `true` in any
//! case or, for the C++ client, `"1"` (docs/clients.md item 3), anything else false; a required
//! field that is missing or a number that does not parse is a [`HeaderError`] naming the
//! field. Unknown keys (ACL signatures, namespace hooks, 5.x base fields) are ignored.
//! Writing always emits every required field: Java clients dereference them unchecked.
//!
//! One file per request family; most headers are declared with `command_header!`, which
//! derives both directions from one list of (Rust field, wire key) pairs.

use std::borrow::Cow;

use super::error::HeaderError;
use super::header_json::decimal;
use super::ExtFields;
use crate::limits;

pub mod admin;
pub mod client;
pub mod namesrv;
pub mod offset;
pub mod pull;
pub mod send;

pub use admin::*;
pub use client::*;
pub use namesrv::*;
pub use offset::*;
pub use pull::*;
pub use send::*;

/// A typed header carried in the ext fields of a command.
pub trait CommandHeader: Sized {
    fn decode(fields: &ExtFields) -> Result<Self, HeaderError>;
    /// Writes every present field, replacing fields of the same keys.
    fn encode(&self, fields: &mut ExtFields);
}

/// The type of a header field: how its wire text is read and written.
pub trait FieldValue: Sized {
    /// What the text should have been, for [`HeaderError::Malformed`].
    const EXPECTED: &'static str;
    /// The wire text never holds a byte JSON escapes (numbers, booleans): it is not scanned.
    const PLAIN: bool = false;
    fn parse(text: &str) -> Option<Self>;
    /// Calls `use_text` with the wire text.
    fn with_text<R>(&self, use_text: impl FnOnce(&str) -> R) -> R;
    /// A value for round-trip tests; distinct for distinct `n` where the type allows.
    #[cfg(test)]
    fn sample(n: u32) -> Self;
}

impl FieldValue for String {
    const EXPECTED: &'static str = "a string";
    fn parse(text: &str) -> Option<Self> {
        Some(text.to_owned())
    }
    fn with_text<R>(&self, use_text: impl FnOnce(&str) -> R) -> R {
        use_text(self)
    }
    #[cfg(test)]
    fn sample(n: u32) -> Self {
        format!("v{n}\u{1}x\u{2}\"ü")
    }
}

/// Text that is most often a constant (a response's region): borrowed then, not allocated.
impl FieldValue for Cow<'static, str> {
    const EXPECTED: &'static str = "a string";
    fn parse(text: &str) -> Option<Self> {
        Some(Cow::Owned(text.to_owned()))
    }
    fn with_text<R>(&self, use_text: impl FnOnce(&str) -> R) -> R {
        use_text(self)
    }
    #[cfg(test)]
    fn sample(n: u32) -> Self {
        Cow::Owned(String::sample(n))
    }
}

impl FieldValue for i32 {
    const EXPECTED: &'static str = "a 32-bit decimal integer";
    const PLAIN: bool = true;
    fn parse(text: &str) -> Option<Self> {
        text.parse().ok()
    }
    fn with_text<R>(&self, use_text: impl FnOnce(&str) -> R) -> R {
        use_text(decimal((*self).into(), &mut [0; 20]))
    }
    #[cfg(test)]
    fn sample(n: u32) -> Self {
        -1_000_000 - n as i32
    }
}

impl FieldValue for i64 {
    const EXPECTED: &'static str = "a 64-bit decimal integer";
    const PLAIN: bool = true;
    fn parse(text: &str) -> Option<Self> {
        text.parse().ok()
    }
    fn with_text<R>(&self, use_text: impl FnOnce(&str) -> R) -> R {
        use_text(decimal(*self, &mut [0; 20]))
    }
    #[cfg(test)]
    fn sample(n: u32) -> Self {
        1_700_000_000_000 + i64::from(n)
    }
}

impl FieldValue for bool {
    const EXPECTED: &'static str = "a boolean";
    const PLAIN: bool = true;
    fn parse(text: &str) -> Option<Self> {
        Some(parse_bool(text))
    }
    fn with_text<R>(&self, use_text: impl FnOnce(&str) -> R) -> R {
        use_text(if *self { "true" } else { "false" })
    }
    #[cfg(test)]
    fn sample(n: u32) -> Self {
        n % 2 == 1
    }
}

/// Java's `Boolean.parseBoolean` (`"true"` in any case), plus `"1"`, which the C++ client
/// sends for true.
pub fn parse_bool(text: &str) -> bool {
    text.eq_ignore_ascii_case("true") || text == "1"
}

/// A field the header cannot do without.
pub fn required<T: FieldValue>(fields: &ExtFields, key: &'static str) -> Result<T, HeaderError> {
    required_text(key, fields.get(key))
}

/// [`required`], for a field's text already looked up.
pub fn required_text<T: FieldValue>(
    key: &'static str,
    text: Option<&str>,
) -> Result<T, HeaderError> {
    let text = text.ok_or(HeaderError::Missing { field: key })?;
    T::parse(text).ok_or_else(|| malformed::<T>(key, text))
}

/// A field that may be absent. An empty text counts as absent for numbers, where it can only
/// mean a client that wrote a null as ""; for a boolean it reads false, as in Java.
pub fn optional<T: FieldValue>(
    fields: &ExtFields,
    key: &'static str,
) -> Result<Option<T>, HeaderError> {
    optional_text(key, fields.get(key))
}

/// [`optional`], for a field's text already looked up.
pub fn optional_text<T: FieldValue>(
    key: &'static str,
    text: Option<&str>,
) -> Result<Option<T>, HeaderError> {
    match text {
        None => Ok(None),
        Some(text) => match T::parse(text) {
            Some(value) => Ok(Some(value)),
            None if text.is_empty() => Ok(None),
            None => Err(malformed::<T>(key, text)),
        },
    }
}

/// Writes one field of a header to `sink`.
pub fn put<T: FieldValue>(sink: &mut dyn FieldSink, key: &'static str, value: &T) {
    value.with_text(|text| sink.field(key, text, T::PLAIN));
}

/// Where a header's fields go: [`ExtFields`], or an encoder that writes them straight into a
/// frame (a header set with [`crate::wire::RemotingCommand::set_typed_header`]).
pub trait FieldSink {
    /// One field and its wire text; `plain`: the text holds no byte JSON escapes.
    fn field(&mut self, key: &'static str, text: &str, plain: bool);
}

impl FieldSink for ExtFields {
    fn field(&mut self, key: &'static str, text: &str, plain: bool) {
        match plain {
            true => self.insert_plain_with(key, |out| out.push_str(text)),
            false => self.insert_with(key, |out| out.push_str(text)),
        }
    }
}

/// A header that writes its fields to a [`FieldSink`]; every `command_header!` header is one.
pub trait WriteFields: std::fmt::Debug {
    fn write_fields(&self, sink: &mut dyn FieldSink);
}

fn malformed<T: FieldValue>(key: &'static str, text: &str) -> HeaderError {
    HeaderError::Malformed {
        field: key,
        value: text
            .chars()
            .take(limits::HEADER_ERROR_VALUE_CHARS_MAX)
            .collect(),
        expected: T::EXPECTED,
    }
}

/// Declares a header struct and its [`CommandHeader`] impl from a list of fields, each
/// `req` (must be present), `opt` (an `Option`) or `def` (a Java primitive: absent reads as
/// the type's default, always written):
///
/// ```text
/// command_header! {
///     /// GET_MAX_OFFSET (30) request.
///     pub struct GetMaxOffsetRequestHeader {
///         req topic: String = "topic",
///         opt committed: bool = "committed",
///     }
/// }
/// ```
macro_rules! command_header {
    (
        $(#[$doc:meta])*
        pub struct $name:ident {
            $( $(#[$fdoc:meta])* $kind:ident $field:ident : $ty:ty = $key:literal, )*
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$fdoc])* pub $field: $crate::wire::headers::command_header!(@type $kind $ty), )*
        }

        impl $crate::wire::headers::CommandHeader for $name {
            fn decode(
                fields: &$crate::wire::ExtFields,
            ) -> Result<Self, $crate::wire::error::HeaderError> {
                Ok($name { $( $field: $crate::wire::headers::command_header!(@decode $kind fields $key), )* })
            }

            fn encode(&self, fields: &mut $crate::wire::ExtFields) {
                $crate::wire::headers::WriteFields::write_fields(self, fields);
            }
        }

        impl $crate::wire::headers::WriteFields for $name {
            fn write_fields(&self, sink: &mut dyn $crate::wire::headers::FieldSink) {
                $( $crate::wire::headers::command_header!(@encode $kind sink $key &self.$field); )*
            }
        }

        #[cfg(test)]
        impl $name {
            /// Every field set, to distinct values where the type allows.
            #[allow(unused_assignments, unused_mut, unused_variables)]
            pub(crate) fn sample() -> Self {
                let mut n = 0u32;
                $name { $( $field: {
                    n += 1;
                    $crate::wire::headers::command_header!(@sample $kind n)
                }, )* }
            }
        }
    };
    (@type opt $ty:ty) => { Option<$ty> };
    (@type $kind:ident $ty:ty) => { $ty };
    (@decode req $fields:ident $key:literal) => {
        $crate::wire::headers::required($fields, $key)?
    };
    (@decode opt $fields:ident $key:literal) => {
        $crate::wire::headers::optional($fields, $key)?
    };
    (@decode def $fields:ident $key:literal) => {
        $crate::wire::headers::optional($fields, $key)?.unwrap_or_default()
    };
    (@encode opt $sink:ident $key:literal $value:expr) => {
        if let Some(value) = $value {
            $crate::wire::headers::put($sink, $key, value)
        }
    };
    (@encode $kind:ident $sink:ident $key:literal $value:expr) => {
        $crate::wire::headers::put($sink, $key, $value)
    };
    (@sample opt $n:ident) => { Some($crate::wire::headers::FieldValue::sample($n)) };
    (@sample $kind:ident $n:ident) => { $crate::wire::headers::FieldValue::sample($n) };
}
pub(crate) use command_header;

#[cfg(test)]
pub(crate) mod tests {
    use std::fmt::Debug;

    use bytes::{Bytes, BytesMut};

    use super::*;
    use crate::wire::{frame, RemotingCommand, SerializeType};

    /// Checks `header` survives its ext fields and a whole frame in both serializations.
    pub(crate) fn assert_round_trip<H: CommandHeader + PartialEq + Debug>(header: &H) {
        let mut fields = ExtFields::new();
        header.encode(&mut fields);
        assert_eq!(
            &H::decode(&fields).expect("decodes from ext fields"),
            header
        );
        for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
            let mut command = RemotingCommand::request(10, ExtFields::new(), Bytes::new());
            command.serialize_type = serialize_type;
            command.set_header(header);
            let mut buf = BytesMut::new();
            command.encode(&mut buf).expect("encodes");
            let decoded = frame::decode(&mut buf).expect("valid").expect("complete");
            assert_eq!(&decoded.decode_header::<H>().expect("decodes"), header);
        }
    }

    fn fields(pairs: &[(&str, &str)]) -> ExtFields {
        pairs.iter().copied().collect()
    }

    #[test]
    fn booleans_read_like_java_plus_one() {
        for (text, value) in [
            ("true", true),
            ("TRUE", true),
            ("1", true),
            ("false", false),
        ] {
            assert_eq!(bool::parse(text), Some(value), "{text}");
        }
        for text in ["0", "yes", "", "t"] {
            assert_eq!(bool::parse(text), Some(false), "{text}");
        }
    }

    #[test]
    fn integers_are_decimal_and_errors_name_the_field() {
        let f = fields(&[
            ("a", "12"),
            ("b", "+3"),
            ("c", "12.0"),
            ("d", "0x1"),
            ("e", ""),
        ]);
        assert_eq!(required::<i32>(&f, "a"), Ok(12));
        assert_eq!(required::<i64>(&f, "b"), Ok(3));
        for key in ["c", "d", "e"] {
            let err = required::<i32>(&f, key).expect_err("not an integer");
            assert_eq!(err.field(), key);
        }
        assert_eq!(optional::<i32>(&f, "e"), Ok(None));
        assert_eq!(optional::<String>(&f, "e"), Ok(Some(String::new())));
        assert_eq!(optional::<i32>(&f, "z"), Ok(None));
        let err = required::<i32>(&f, "queueId").expect_err("missing");
        assert_eq!(err, HeaderError::Missing { field: "queueId" });
        assert!(err.to_string().contains("queueId"));
        assert!(required::<i32>(&fields(&[("a", "2147483648")]), "a").is_err());
    }
}
