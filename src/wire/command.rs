//! `RemotingCommand`: one request or response of the remoting protocol (docs/protocol.md §1), in
//! the form both header serializations decode to.
//!
//! A command owns its header fields and shares its body: a decoded body is a slice of the read
//! buffer, and an answer's records can stay where the store holds them
//! ([`RemotingCommand::shared_body`]), which the connection writes without copying them.
//!
//! The path of a request: [`super::frame::decode`] cuts a command off the read buffer,
//! dispatch matches its code against [`super::codes::request_code`], and the handler reads
//! its typed header with [`RemotingCommand::decode_header`] (a [`HeaderError`] names the bad
//! field). The answer is [`RemotingCommand::response_to`] plus
//! [`RemotingCommand::set_header`] (or [`RemotingCommand::set_typed_header`], whose fields go
//! into the frame without ever being ext fields), and [`RemotingCommand::encode`] writes the
//! frame in the request's serialization.

use std::borrow::Cow;
use std::fmt;
use std::rc::Rc;

use bytes::{BufMut, Bytes, BytesMut};

use super::codes::{language, language_from_name, VERSION_CURRENT};
use super::error::HeaderError;
use super::headers::{CommandHeader, FieldSink, WriteFields};
use super::shared_body::SharedBody;
use super::{header_binary, header_json, WireError};
use crate::limits;

/// Flag bit 0: the command is a response (docs/protocol.md §1.5).
pub const FLAG_RESPONSE: i32 = 0x1;
/// Flag bit 1: the request expects no response; answering it confuses the client.
pub const FLAG_ONEWAY: i32 = 0x2;

/// How a header is serialized; a response uses its request's type (docs/protocol.md §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SerializeType {
    Json = 0,
    RocketMq = 1,
}

impl SerializeType {
    /// The type for the high byte of the header-length word; Java closes the connection on
    /// any other value, and so do we.
    pub fn from_byte(byte: u8) -> Option<SerializeType> {
        match byte {
            0 => Some(SerializeType::Json),
            1 => Some(SerializeType::RocketMq),
            _ => None,
        }
    }
}

/// The sender's language. Any string is accepted on decode (docs/clients.md); the ones with a
/// binary code (docs/protocol.md §1.5) round-trip through the ROCKETMQ header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LanguageCode {
    Known(u8),
    /// A name with no binary code; encoded as OTHER (7) in a binary header.
    Other(String),
}

impl LanguageCode {
    pub const JAVA: LanguageCode = LanguageCode::Known(language::JAVA);

    /// The language a JSON header names. Names with a code become `Known` so that a command
    /// compares equal whichever header it came through.
    pub fn from_name(name: &str) -> LanguageCode {
        match language_from_name(name) {
            Some(code) => LanguageCode::Known(code),
            None => LanguageCode::Other(name.to_owned()),
        }
    }

    /// The byte of a binary header.
    pub fn byte(&self) -> u8 {
        match self {
            LanguageCode::Known(code) => *code,
            LanguageCode::Other(_) => language::OTHER,
        }
    }

    /// The name of a JSON header; `None` for a binary code no table names.
    pub fn name(&self) -> Option<&str> {
        match self {
            LanguageCode::Known(code) => language::name(*code),
            LanguageCode::Other(name) => Some(name),
        }
    }
}

/// Ext fields in arrival order; keys are unique (a later duplicate replaces the earlier).
/// Values are the Java `toString()` form: JSON numbers and booleans are kept as their text.
///
/// All keys and values live back to back in one string, indexed by a vector of spans: a
/// header of a dozen fields then costs two allocations instead of two dozen, and for so few
/// fields a scan beats hashing. The arrival order is kept for logs and stable re-encoding.
#[derive(Clone, Default)]
pub struct ExtFields {
    text: String,
    spans: Vec<Span>,
    /// One bit per [`key_bit`] of the keys present: a key whose bit is clear is absent, so
    /// most inserts (and lookups of absent keys) skip the scan.
    key_bits: u64,
    /// Some key or value may hold a byte JSON escapes (a quote, a backslash, a control
    /// character). Clear, the JSON encoder writes the text as it is, unscanned: a response's
    /// fields are names and numbers, and scanning them was most of encoding its header.
    escapes: bool,
}

/// A key's bit in [`ExtFields::key_bits`], from its length and end bytes: distinct for the
/// one-letter keys of SEND_MESSAGE_V2 and mostly distinct for Java's field names.
fn key_bit(key: &str) -> u64 {
    let bytes = key.as_bytes();
    let first = bytes.first().copied().unwrap_or(0);
    let last = bytes.last().copied().unwrap_or(0);
    let mix = usize::from(first) + 3 * usize::from(last) + 7 * bytes.len();
    1 << (mix % 64)
}

/// Where one entry's key and value sit in `ExtFields::text`. Only whole `&str`s are ever
/// appended, so every bound is a char boundary.
#[derive(Debug, Clone, Copy)]
struct Span {
    key_start: usize,
    key_end: usize,
    value_start: usize,
    value_end: usize,
}

impl ExtFields {
    pub fn new() -> ExtFields {
        ExtFields::default()
    }

    /// Room for `entries` fields of typical size without reallocating.
    pub fn with_capacity(entries: usize) -> ExtFields {
        ExtFields::with_capacities(entries, entries * 24)
    }

    /// Room for `entries` fields holding `text_bytes` bytes of keys and values in all.
    pub fn with_capacities(entries: usize, text_bytes: usize) -> ExtFields {
        ExtFields {
            text: String::with_capacity(text_bytes),
            spans: Vec::with_capacity(entries),
            key_bits: 0,
            escapes: false,
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        if self.key_bits & key_bit(key) == 0 {
            return None;
        }
        let span = self
            .spans
            .iter()
            .find(|span| short_eq(self.key(span), key))?;
        Some(self.value(span))
    }

    /// Sets `key` to `value`.
    pub fn insert(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) {
        self.insert_with(key.as_ref(), |text| text.push_str(value.as_ref()));
    }

    /// Sets `key` to the text `write` appends to the string it is given, so numbers are
    /// formatted straight into place. A replaced value's bytes stay behind unused until the
    /// fields are dropped; replacing is rare.
    pub fn insert_with(&mut self, key: &str, write: impl FnOnce(&mut String)) {
        let from = self.text.len();
        self.insert_text(key, write);
        self.escapes |= header_json::needs_escape(&self.text.as_bytes()[from..]);
    }

    /// [`ExtFields::insert_with`] for a decoder that knows whether the key (`key_escapes`) or
    /// the text `write` appends (its result) holds a byte JSON escapes: nothing is scanned.
    pub(super) fn insert_decoded(
        &mut self,
        key: &str,
        key_escapes: bool,
        write: impl FnOnce(&mut String) -> bool,
    ) {
        let mut escapes = key_escapes;
        self.insert_text(key, |out| escapes |= write(out));
        self.escapes |= escapes;
    }

    /// [`ExtFields::insert_with`] for a key and text that hold no byte JSON escapes (a field
    /// name and a number): nothing is scanned.
    pub(super) fn insert_plain_with(&mut self, key: &str, write: impl FnOnce(&mut String)) {
        debug_assert!(!header_json::needs_escape(key.as_bytes()), "{key}");
        self.insert_decoded(key, false, |out| {
            let from = out.len();
            write(out);
            debug_assert!(!header_json::needs_escape(&out.as_bytes()[from..]));
            false
        });
    }

    /// Whether some key or value may need escaping in JSON (none does when this is false).
    pub(super) fn may_need_escapes(&self) -> bool {
        self.escapes
    }

    /// The bytes of every key and value, an upper bound for sizing their encoding.
    pub(super) fn text_len(&self) -> usize {
        self.text.len()
    }

    fn insert_text(&mut self, key: &str, write: impl FnOnce(&mut String)) {
        if self.spans.capacity() == 0 {
            // Fields come in headers: size for a typical one at once instead of growing
            // through every power of two.
            self.spans.reserve(8);
            self.text.reserve(192);
        }
        let bit = key_bit(key);
        let existing = if self.key_bits & bit == 0 {
            None
        } else {
            self.spans
                .iter()
                .position(|span| short_eq(self.key(span), key))
        };
        self.key_bits |= bit;
        let (key_start, key_end) = match existing.and_then(|index| self.spans.get(index)) {
            Some(span) => (span.key_start, span.key_end),
            None => {
                let start = self.text.len();
                self.text.push_str(key);
                (start, self.text.len())
            }
        };
        let value_start = self.text.len();
        write(&mut self.text);
        let span = Span {
            key_start,
            key_end,
            value_start,
            value_end: self.text.len(),
        };
        match existing.and_then(|index| self.spans.get_mut(index)) {
            Some(slot) => *slot = span,
            None => self.spans.push(span),
        }
    }

    /// Removes `key`, saying whether it was there.
    pub fn remove(&mut self, key: &str) -> bool {
        let before = self.spans.len();
        let text = &self.text;
        self.spans
            .retain(|span| text.get(span.key_start..span.key_end) != Some(key));
        // Other keys may share the removed key's bit: recompute from what is left.
        self.key_bits = self
            .spans
            .iter()
            .fold(0, |bits, span| bits | key_bit(self.key(span)));
        self.spans.len() != before
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.spans
            .iter()
            .map(|span| (self.key(span), self.value(span)))
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    fn key(&self, span: &Span) -> &str {
        self.text
            .get(span.key_start..span.key_end)
            .unwrap_or_default()
    }

    fn value(&self, span: &Span) -> &str {
        self.text
            .get(span.value_start..span.value_end)
            .unwrap_or_default()
    }
}

/// String equality for keys of a few bytes, compared inline: the library comparison calls
/// `memcmp` for every equal-length pair, and one-letter SEND_MESSAGE_V2 keys all are.
fn short_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// Equal when the same keys have the same values in the same order, however the text is laid
/// out.
impl PartialEq for ExtFields {
    fn eq(&self, other: &ExtFields) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for ExtFields {}

impl fmt::Debug for ExtFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for ExtFields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> ExtFields {
        let mut fields = ExtFields::new();
        for (key, value) in iter {
            fields.insert(key, value);
        }
        fields
    }
}

/// A typed header kept as it is until its command is encoded, when the encoder writes its
/// fields straight into the frame ([`RemotingCommand::set_typed_header`]).
#[derive(Clone, Default)]
pub struct TypedFields(Option<Rc<dyn WriteFields>>);

impl TypedFields {
    /// Writes the fields, if there is a header, to `sink`.
    pub fn write_to(&self, sink: &mut dyn FieldSink) {
        if let Some(header) = &self.0 {
            header.write_fields(sink);
        }
    }

    /// `fields` with the header's fields written after theirs.
    fn written_after(&self, mut fields: ExtFields) -> ExtFields {
        self.write_to(&mut fields);
        fields
    }

    fn to_fields(&self) -> ExtFields {
        self.written_after(ExtFields::new())
    }
}

/// Equal when the fields written are.
impl PartialEq for TypedFields {
    fn eq(&self, other: &TypedFields) -> bool {
        self.to_fields() == other.to_fields()
    }
}

impl Eq for TypedFields {}

impl fmt::Debug for TypedFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_fields().fmt(f)
    }
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
    /// Header fields the frame writes after `ext_fields`, straight from a typed header.
    pub typed_fields: TypedFields,
    pub serialize_type: SerializeType,
    pub body: Bytes,
    /// Body bytes after `body` that the frame shares with their holder (a pull's records):
    /// written to the socket as they are, never copied into the frame.
    pub shared_body: SharedBody,
}

impl RemotingCommand {
    /// A two-way JSON request from this process. `opaque` is 0: the connection that sends it
    /// owns the opaque counter and sets it.
    pub fn request(code: i32, ext_fields: ExtFields, body: Bytes) -> RemotingCommand {
        RemotingCommand {
            code,
            language: LanguageCode::JAVA,
            version: VERSION_CURRENT,
            opaque: 0,
            flag: 0,
            remark: None,
            ext_fields,
            typed_fields: TypedFields::default(),
            serialize_type: SerializeType::Json,
            body,
            shared_body: SharedBody::default(),
        }
    }

    /// The response to `request`: same opaque and serialization (ali-ons cannot read a binary
    /// header, docs/clients.md item 8), no ext fields and no body yet.
    pub fn response_to(request: &RemotingCommand, code: i32, remark: Option<String>) -> Self {
        RemotingCommand {
            code,
            language: LanguageCode::JAVA,
            version: VERSION_CURRENT,
            opaque: request.opaque,
            flag: FLAG_RESPONSE,
            remark,
            ext_fields: ExtFields::new(),
            typed_fields: TypedFields::default(),
            serialize_type: request.serialize_type,
            body: Bytes::new(),
            shared_body: SharedBody::default(),
        }
    }

    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    /// The typed header carried in the header fields.
    pub fn decode_header<H: CommandHeader>(&self) -> Result<H, HeaderError> {
        H::decode(&self.all_fields())
    }

    /// Writes `header` into the ext fields, replacing fields of the same names.
    pub fn set_header<H: CommandHeader>(&mut self, header: &H) {
        header.encode(&mut self.ext_fields);
    }

    /// Keeps `header` as it is, for its fields to be written into the frame when it is
    /// encoded, after the ext fields (whose keys it must not repeat): an answer on the data
    /// path (a send's, a pull's) skips building ext fields only to encode them.
    pub fn set_typed_header(&mut self, header: impl WriteFields + 'static) {
        self.typed_fields = TypedFields(Some(Rc::new(header)));
    }

    /// Every header field: the ext fields, and the typed header's written after them.
    pub fn all_fields(&self) -> Cow<'_, ExtFields> {
        match self.typed_fields.0 {
            None => Cow::Borrowed(&self.ext_fields),
            Some(_) => Cow::Owned(self.typed_fields.written_after(self.ext_fields.clone())),
        }
    }

    /// Appends the whole frame: length prefix, header-length word, header and body.
    ///
    /// Fails, leaving `out` as it was, when the frame would break a limit the peer enforces
    /// (a header over [`limits::HEADER_SIZE_MAX`], a frame over [`limits::FRAME_SIZE_MAX`], a
    /// code or length the binary header cannot hold): sending it would only get the
    /// connection closed.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), WireError> {
        out.reserve(self.body.len() + self.shared_body.len());
        self.encode_owned(out)?;
        self.shared_body
            .slices()
            .for_each(|s| out.extend_from_slice(s));
        Ok(())
    }

    /// Appends the frame up to its [`SharedBody`], which the caller writes next (the
    /// connection's vectored write); [`RemotingCommand::encode`] when there is none.
    pub fn encode_owned(&self, out: &mut BytesMut) -> Result<(), WireError> {
        out.reserve(self.body.len());
        self.encode_header(out)?;
        out.extend_from_slice(&self.body);
        Ok(())
    }

    /// Every body byte, `body` then the shared part, for tests that read an answer (a pull's)
    /// in this process.
    #[cfg(test)]
    pub fn body_bytes(&self) -> Bytes {
        let mut all = self.body.to_vec();
        all.extend(self.shared_body.to_vec());
        Bytes::from(all)
    }

    /// Appends everything but the body; the length prefix still counts the body, which the
    /// caller must write next.
    pub fn encode_header(&self, out: &mut BytesMut) -> Result<(), WireError> {
        let start = out.len();
        out.reserve(256);
        out.put_u64(0); // Length prefix and header-length word, patched below.
        let written = match self.serialize_type {
            SerializeType::Json => header_json::encode(self, out),
            SerializeType::RocketMq => header_binary::encode(self, out),
        };
        let header_len = out.len() - start - 8;
        let frame_len = 8 + header_len + self.body.len() + self.shared_body.len();
        let checked = written.and_then(|()| check_encoded_sizes(header_len, frame_len));
        if let Err(err) = checked {
            out.truncate(start);
            return Err(err);
        }
        // Both fit: the frame is under 16 MiB, so the casts cannot truncate.
        let length_field = (frame_len - 4) as u32;
        let word = (self.serialize_type as u32) << 24 | header_len as u32;
        out[start..start + 4].copy_from_slice(&length_field.to_be_bytes());
        out[start + 4..start + 8].copy_from_slice(&word.to_be_bytes());
        Ok(())
    }
}

fn check_encoded_sizes(header_len: usize, frame_len: usize) -> Result<(), WireError> {
    if header_len > limits::HEADER_SIZE_MAX {
        return Err(WireError::Invalid(format!(
            "encoded header of {header_len} bytes exceeds {}",
            limits::HEADER_SIZE_MAX
        )));
    }
    if frame_len > limits::FRAME_SIZE_MAX {
        return Err(WireError::Invalid(format!(
            "encoded frame of {frame_len} bytes exceeds {}",
            limits::FRAME_SIZE_MAX
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::frame;

    #[test]
    fn ext_fields_replace_duplicates_in_place() {
        let mut fields: ExtFields = [("a", "1"), ("b", "2")].into_iter().collect();
        fields.insert("a", "3");
        assert_eq!(
            fields.iter().collect::<Vec<_>>(),
            vec![("a", "3"), ("b", "2")]
        );
        assert_eq!(fields, [("a", "3"), ("b", "2")].into_iter().collect());
        assert_ne!(fields, [("b", "2"), ("a", "3")].into_iter().collect());
        assert!(fields.remove("a"));
        assert!(!fields.remove("a"));
        assert_eq!(fields.get("a"), None);
        assert_eq!(fields.get("b"), Some("2"));
        assert_eq!(fields.len(), 1);
        assert_eq!(format!("{fields:?}"), r#"{"b": "2"}"#);
        assert!(!fields.is_empty());
    }

    #[test]
    fn a_typed_header_encodes_as_the_same_fields_set_in_ext_fields() {
        use crate::wire::headers::SendMessageResponseHeader;
        let mut header = SendMessageResponseHeader::new("C0A8".into(), 3, 1 << 40);
        // Client text that JSON escapes, and an empty field, which binary headers leave out.
        header.transaction_id = Some("id\"\\\u{1}\u{7f}ü".into());
        header.batch_uniq_id = Some(String::new());
        for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
            for before in [&[][..], &[("k", "v")][..]] {
                let mut request = RemotingCommand::request(10, ExtFields::new(), Bytes::new());
                request.serialize_type = serialize_type;
                let mut typed = RemotingCommand::response_to(&request, 0, None);
                typed.ext_fields = before.iter().copied().collect();
                let mut filled = typed.clone();
                typed.set_typed_header(header.clone());
                filled.set_header(&header);
                let (mut typed_frame, mut filled_frame) = (BytesMut::new(), BytesMut::new());
                typed.encode(&mut typed_frame).expect("encodes");
                filled.encode(&mut filled_frame).expect("encodes");
                assert_eq!(
                    typed_frame, filled_frame,
                    "{serialize_type:?} after {before:?}"
                );
                let decoded = frame::decode(&mut typed_frame)
                    .expect("valid")
                    .expect("whole");
                let read: SendMessageResponseHeader = decoded.decode_header().expect("decodes");
                let expected = match serialize_type {
                    SerializeType::Json => header.clone(),
                    SerializeType::RocketMq => SendMessageResponseHeader {
                        batch_uniq_id: None,
                        ..header.clone()
                    },
                };
                assert_eq!(read, expected);
                assert_eq!(typed.decode_header(), Ok(header.clone()), "read in process");
            }
        }
    }

    #[test]
    fn response_copies_opaque_and_serialization() {
        let mut request = RemotingCommand::request(105, ExtFields::new(), Bytes::new());
        request.opaque = -7;
        request.flag = FLAG_ONEWAY;
        request.serialize_type = SerializeType::RocketMq;
        assert!(request.is_oneway() && !request.is_response());
        let response = RemotingCommand::response_to(&request, 17, Some("no route".into()));
        assert_eq!(response.opaque, -7);
        assert!(response.is_response() && !response.is_oneway());
        assert_eq!(response.serialize_type, SerializeType::RocketMq);
        assert_eq!(response.language, LanguageCode::JAVA);
        assert_eq!(response.version, 479);
    }

    #[test]
    fn oversize_frame_is_refused_and_output_untouched() {
        let body = Bytes::from(vec![0u8; limits::FRAME_SIZE_MAX]);
        let command = RemotingCommand::request(10, ExtFields::new(), body);
        let mut out = BytesMut::from(&b"xy"[..]);
        assert!(matches!(
            command.encode(&mut out),
            Err(WireError::Invalid(_))
        ));
        assert_eq!(&out[..], b"xy");
    }

    #[test]
    fn language_names_normalise_to_codes() {
        assert_eq!(LanguageCode::from_name("CPP"), LanguageCode::Known(1));
        assert_eq!(
            LanguageCode::from_name("NODE"),
            LanguageCode::Other("NODE".into())
        );
        assert_eq!(LanguageCode::Other("NODE".into()).byte(), language::OTHER);
        assert_eq!(LanguageCode::Known(200).name(), None);
    }
}
