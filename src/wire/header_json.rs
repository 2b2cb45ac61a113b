//! The JSON header (serType 0, docs/protocol.md §1.3).
//!
//! Decoding is as lenient as the Java broker, because real clients rely on it (docs/clients.md):
//! keys in any order, unknown keys ignored, `serializeTypeCurrentRPC` optional, `language` as
//! any string or an integer, ext-field values as strings, numbers or booleans (kept as the text
//! Java's `toString()` gives), `null` meaning absent. Only a missing `code` or malformed JSON
//! is invalid.
//!
//! Encoding is by hand: the keys Java sorts alphabetically are written in that fixed order,
//! which is cheaper than building a JSON tree for every send response.

use std::fmt;

use bytes::{BufMut, BytesMut};
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use super::codes::language;
use super::headers::FieldSink;
use super::{ExtFields, LanguageCode, RemotingCommand, SerializeType, WireError};
use crate::limits;

/// Reads a JSON header into a command with an empty body.
pub fn decode(header: &[u8]) -> Result<RemotingCommand, WireError> {
    match super::header_json_fast::decode(header) {
        Some(command) => Ok(command),
        None => decode_full(header),
    }
}

/// [`decode`] through serde, for every header the fast path declines.
pub(super) fn decode_full(header: &[u8]) -> Result<RemotingCommand, WireError> {
    let mut deserializer = serde_json::Deserializer::from_slice(header);
    HeaderVisitor {
        header_len: header.len(),
    }
    .deserialize(&mut deserializer)
    .and_then(|command| deserializer.end().map(|()| command))
    .map_err(|err| WireError::Invalid(format!("JSON header: {err}")))
}

/// Appends the JSON header of `command` (not the frame prefix, not the body).
///
/// `extFields` is written even when empty: a Java client reads the ext fields of some
/// responses without a null check, and `{}` costs nine bytes.
pub fn encode(command: &RemotingCommand, out: &mut BytesMut) -> Result<(), WireError> {
    out.put_slice(b"{\"code\":");
    put_int(out, command.code.into());
    out.put_slice(b",\"extFields\":{");
    let fields = &command.ext_fields;
    // Quotes, a colon and a comma per field, beyond the text itself.
    out.reserve(fields.text_len() + 6 * fields.len());
    let put: fn(&mut BytesMut, &str) = match fields.may_need_escapes() {
        true => put_str,
        false => put_plain,
    };
    for (index, (key, value)) in fields.iter().enumerate() {
        if index > 0 {
            out.put_u8(b',');
        }
        put(out, key);
        out.put_u8(b':');
        put(out, value);
    }
    let mut typed = JsonFields {
        out: &mut *out,
        first: fields.is_empty(),
    };
    command.typed_fields.write_to(&mut typed);
    out.put_slice(b"},\"flag\":");
    put_int(out, command.flag.into());
    out.put_slice(b",\"language\":");
    match command.language.name() {
        Some(name) => put_str(out, name),
        None => put_int(out, command.language.byte().into()),
    }
    out.put_slice(b",\"opaque\":");
    put_int(out, command.opaque.into());
    if let Some(remark) = &command.remark {
        out.put_slice(b",\"remark\":");
        put_str(out, remark);
    }
    out.put_slice(b",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
    put_int(out, command.version.into());
    out.put_u8(b'}');
    Ok(())
}

/// Writes a typed header's fields as members of the `extFields` object, after `first` says
/// whether any came before.
struct JsonFields<'a> {
    out: &'a mut BytesMut,
    first: bool,
}

impl FieldSink for JsonFields<'_> {
    fn field(&mut self, key: &'static str, text: &str, plain: bool) {
        if !std::mem::take(&mut self.first) {
            self.out.put_u8(b',');
        }
        // A key is a field name the code spells: nothing in it to escape.
        debug_assert!(!needs_escape(key.as_bytes()), "{key}");
        put_plain(self.out, key);
        self.out.put_u8(b':');
        match plain {
            true => put_plain(self.out, text),
            false => put_str(self.out, text),
        }
    }
}

fn put_int(out: &mut BytesMut, value: i64) {
    out.put_slice(decimal(value, &mut [0; 20]).as_bytes());
}

/// `value` in decimal, formatted into `digits` without the `fmt` machinery: integers are most
/// of what a header holds. Twenty bytes fit `i64::MIN` with its sign.
pub(crate) fn decimal(value: i64, digits: &mut [u8; 20]) -> &str {
    let mut start = digits.len();
    let mut rest = value.unsigned_abs();
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        start -= 1;
        digits[start] = b'-';
    }
    std::str::from_utf8(&digits[start..]).unwrap_or_default()
}

/// Writes a JSON string, escaping quote, backslash and control characters; message properties
/// in a send header separate keys and values with U+0001 and U+0002. Clean input is skipped
/// eight bytes at a time: this loop is most of the cost of encoding a header.
fn put_str(out: &mut BytesMut, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.put_u8(b'"');
    let mut at = 0;
    loop {
        let end = at + plain_run(&bytes[at..]);
        out.put_slice(&bytes[at..end]);
        let Some(&byte) = bytes.get(end) else {
            break;
        };
        match byte {
            b'"' => out.put_slice(b"\\\""),
            b'\\' => out.put_slice(b"\\\\"),
            _ => {
                out.put_slice(b"\\u00");
                out.put_u8(HEX[usize::from(byte >> 4)]);
                out.put_u8(HEX[usize::from(byte & 0xf)]);
            }
        }
        at = end + 1;
    }
    out.put_u8(b'"');
}

/// Writes a JSON string that needs no escapes ([`needs_escape`] is false for it).
fn put_plain(out: &mut BytesMut, text: &str) {
    out.put_u8(b'"');
    out.put_slice(text.as_bytes());
    out.put_u8(b'"');
}

/// Whether `bytes` hold a byte a JSON string must escape: a quote, a backslash or a control
/// character.
pub(super) fn needs_escape(bytes: &[u8]) -> bool {
    plain_run(bytes) < bytes.len()
}

/// The length of the run at the start of `bytes` that a JSON string holds as it is: up to the
/// first quote, backslash or control byte, eight bytes at a time. The last few bytes are read
/// as a word padded with zeroes, which are control bytes, so a run ends at the text's end at
/// the latest and no byte is looked at alone.
#[inline]
pub(super) fn plain_run(bytes: &[u8]) -> usize {
    let mut at = 0;
    loop {
        let word = match bytes.get(at..at + 8) {
            Some(word) => u64::from_le_bytes(word.try_into().unwrap_or_default()),
            None => {
                let rest = bytes.get(at..).unwrap_or_default();
                let mut padded = [0u8; 8];
                padded[..rest.len()].copy_from_slice(rest);
                u64::from_le_bytes(padded)
            }
        };
        let found = escape_bytes(word);
        if found != 0 {
            // Little-endian: the lowest flagged byte is the first in the text.
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
}

/// The high bit of each of eight bytes (read little-endian) that is below 0x20, a quote or a
/// backslash: the classic "has a zero byte" bit trick applied to the word, to the word xor
/// '"' and to the word xor '\\'. Above the lowest flagged byte a borrow may flag a byte that
/// is none of those; the lowest is always exact, and it is the only one read.
fn escape_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let has_quote = quote.wrapping_sub(ONES) & !quote;
    let has_backslash = backslash.wrapping_sub(ONES) & !backslash;
    (below_space | has_quote | has_backslash) & HIGH
}

/// Reads the top-level object; `header_len` sizes the ext fields' text in one allocation.
struct HeaderVisitor {
    header_len: usize,
}

impl<'de> DeserializeSeed<'de> for HeaderVisitor {
    type Value = RemotingCommand;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = RemotingCommand;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a RemotingCommand JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RemotingCommand, A::Error> {
        let mut code = None;
        let mut command = unset();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Code => code = map.next_value::<LenientInt>()?.0,
                Key::Version => command.version = map.next_value::<LenientInt>()?.or_zero(),
                Key::Opaque => command.opaque = map.next_value::<LenientInt>()?.or_zero(),
                Key::Flag => command.flag = map.next_value::<LenientInt>()?.or_zero(),
                Key::Language => command.language = map.next_value::<Language>()?.0,
                Key::Remark => {
                    let mut remark = String::new();
                    let present = map.next_value_seed(TextSeed { out: &mut remark })?;
                    command.remark = present.then_some(remark);
                }
                Key::ExtFields => {
                    let seed = ExtFieldsSeed {
                        text_bytes: self.header_len,
                    };
                    command.ext_fields = map.next_value_seed(seed)?;
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        command.code = code.ok_or_else(|| de::Error::missing_field("code"))?;
        Ok(command)
    }
}

/// A decoded JSON header before its keys are read: what a header that leaves a key out
/// means (Java's defaults, language JAVA), with no body.
pub(super) fn unset() -> RemotingCommand {
    RemotingCommand {
        code: 0,
        language: LanguageCode::JAVA,
        version: 0,
        opaque: 0,
        flag: 0,
        remark: None,
        ext_fields: ExtFields::new(),
        serialize_type: SerializeType::Json,
        body: Default::default(),
        typed_fields: Default::default(),
        shared_body: Default::default(),
    }
}

/// The top-level keys the decoder reads; matching on the borrowed key avoids an allocation.
enum Key {
    Code,
    Language,
    Version,
    Opaque,
    Flag,
    Remark,
    ExtFields,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a header key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(match key {
            "code" => Key::Code,
            "language" => Key::Language,
            "version" => Key::Version,
            "opaque" => Key::Opaque,
            "flag" => Key::Flag,
            "remark" => Key::Remark,
            "extFields" => Key::ExtFields,
            _ => Key::Other,
        })
    }
}

/// An `int` header field: a JSON integer or a string holding one (fastjson coerces both);
/// `null` is absent. Out of `i32` range is an error, as in Java.
struct LenientInt(Option<i32>);

impl LenientInt {
    fn or_zero(self) -> i32 {
        self.0.unwrap_or(0)
    }
}

impl<'de> Deserialize<'de> for LenientInt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LenientIntVisitor)
    }
}

struct LenientIntVisitor;

impl Visitor<'_> for LenientIntVisitor {
    type Value = LenientInt;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a 32-bit integer")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<LenientInt, E> {
        i32::try_from(value)
            .map(|v| LenientInt(Some(v)))
            .map_err(|_| E::custom(format!("integer {value} out of range")))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<LenientInt, E> {
        i32::try_from(value)
            .map(|v| LenientInt(Some(v)))
            .map_err(|_| E::custom(format!("integer {value} out of range")))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<LenientInt, E> {
        value
            .parse()
            .map(|v| LenientInt(Some(v)))
            .map_err(|_| E::custom(format!("{value:?} is not an integer")))
    }

    fn visit_unit<E: de::Error>(self) -> Result<LenientInt, E> {
        Ok(LenientInt(None))
    }
}

/// `language`: any name, or an ordinal (Java's enum ordinals equal the binary codes).
struct Language(LanguageCode);

impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LanguageVisitor)
    }
}

struct LanguageVisitor;

impl Visitor<'_> for LanguageVisitor {
    type Value = Language;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a language name or code")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Language, E> {
        Ok(Language(LanguageCode::from_name(name)))
    }

    fn visit_u64<E: de::Error>(self, code: u64) -> Result<Language, E> {
        Ok(Language(match u8::try_from(code) {
            Ok(code) => LanguageCode::Known(code),
            Err(_) => LanguageCode::Other(code.to_string()),
        }))
    }

    fn visit_i64<E: de::Error>(self, code: i64) -> Result<Language, E> {
        Ok(Language(LanguageCode::Other(code.to_string())))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Language, E> {
        Ok(Language(LanguageCode::Known(language::JAVA)))
    }
}

/// `extFields`: an object (or `null`) of values turned into their Java `toString()` text,
/// written straight into the fields' one string.
struct ExtFieldsSeed {
    text_bytes: usize,
}

impl<'de> DeserializeSeed<'de> for ExtFieldsSeed {
    type Value = ExtFields;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<ExtFields, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ExtFieldsSeed {
    type Value = ExtFields;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an extFields object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<ExtFields, E> {
        Ok(ExtFields::new())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ExtFields, A::Error> {
        let mut fields = ExtFields::with_capacities(16, self.text_bytes);
        while let Some(key) = map.next_key::<Str<'de>>()? {
            if fields.len() >= limits::EXT_FIELDS_MAX {
                return Err(de::Error::custom("too many extFields"));
            }
            // The value is written straight into the fields' text; a null takes the key out
            // again, as Java's map would then hold null for it.
            let key = key.as_str();
            let mut present = Ok(false);
            fields.insert_with(key, |out| present = map.next_value_seed(TextSeed { out }));
            if !present? {
                fields.remove(key);
            }
        }
        Ok(fields)
    }
}

/// A JSON string, borrowed from the input unless it had escapes.
enum Str<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Str<'_> {
    fn as_str(&self) -> &str {
        match self {
            Str::Borrowed(text) => text,
            Str::Owned(text) => text,
        }
    }
}

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(StrVisitor)
    }
}

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Str<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Str<'de>, E> {
        Ok(Str::Borrowed(text))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Str<'de>, E> {
        Ok(Str::Owned(text.to_owned()))
    }
}

/// Any JSON value appended to `out` as the text Java would hold: strings as they are, numbers
/// as JSON writes them (integers in decimal), booleans as `true`/`false`, objects and arrays
/// as compact JSON. Deserializes to whether there was a value: `null` is absent.
struct TextSeed<'a> {
    out: &'a mut String,
}

impl<'de> DeserializeSeed<'de> for TextSeed<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TextSeed<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<bool, E> {
        self.out.push_str(value);
        Ok(true)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<bool, E> {
        self.visit_str(decimal(value, &mut [0; 20]))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<bool, E> {
        match i64::try_from(value) {
            Ok(value) => self.visit_i64(value),
            Err(_) => self.visit_str(&value.to_string()),
        }
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<bool, E> {
        // serde_json writes 12.0 as "12.0", like Java's Double.toString; JSON has no NaN.
        let number = serde_json::Number::from_f64(value);
        self.visit_str(&number.map(|n| n.to_string()).unwrap_or_default())
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<bool, E> {
        self.visit_str(if value { "true" } else { "false" })
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
        let value = serde_json::Value::deserialize(MapAccessDeserializer::new(map))?;
        self.visit_str(&value.to_string())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<bool, A::Error> {
        let value = serde_json::Value::deserialize(SeqAccessDeserializer::new(seq))?;
        self.visit_str(&value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GET_ROUTEINFO_BY_TOPIC request from a 5.3.3 Java client (docs/protocol.md §1.3).
    const JAVA_REQUEST: &str = r#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":479}"#;

    /// A send response from a Java broker (docs/protocol.md §1.3).
    const JAVA_RESPONSE: &str = r#"{"code":0,"extFields":{"msgId":"C0A8000100002A9F0000000000000000","queueId":"2","queueOffset":"0","MSG_REGION":"DefaultRegion","TRACE_ON":"true","transactionId":"0A000005108A18B4AAC2178D3E5A0000"},"flag":1,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":479}"#;

    fn parse(json: &str) -> RemotingCommand {
        decode(json.as_bytes()).expect("valid header")
    }

    #[test]
    fn java_request_decodes_and_re_encodes_byte_for_byte() {
        let command = parse(JAVA_REQUEST);
        assert_eq!(
            (command.code, command.opaque, command.flag, command.version),
            (105, 7, 0, 479)
        );
        assert_eq!(command.language, LanguageCode::JAVA);
        assert_eq!(command.ext_fields.get("topic"), Some("TopicTest"));
        let mut out = BytesMut::new();
        encode(&command, &mut out).expect("encodes");
        assert_eq!(std::str::from_utf8(&out), Ok(JAVA_REQUEST));
    }

    #[test]
    fn java_response_decodes() {
        let command = parse(JAVA_RESPONSE);
        assert_eq!(command.flag, 1);
        assert_eq!(command.ext_fields.len(), 6);
        assert_eq!(command.ext_fields.get("queueId"), Some("2"));
        assert_eq!(command.ext_fields.get("TRACE_ON"), Some("true"));
    }

    #[test]
    fn ali_ons_numbers_booleans_and_nulls_become_java_text() {
        let command = parse(
            r#"{"code":310,"language":"JAVA","version":121,"opaque":3,"flag":0,"remark":null,
            "extFields":{"a":"pg","e":3,"g":1700000000000,"k":false,"x":null,"y":1.5,"z":-2,
            "o":{"b":[1, 2]}}}"#,
        );
        let fields = &command.ext_fields;
        assert_eq!(command.remark, None);
        assert_eq!(fields.get("e"), Some("3"));
        assert_eq!(fields.get("g"), Some("1700000000000"));
        assert_eq!(fields.get("k"), Some("false"));
        assert_eq!(fields.get("x"), None);
        assert_eq!(fields.get("y"), Some("1.5"));
        assert_eq!(fields.get("z"), Some("-2"));
        assert_eq!(fields.get("o"), Some(r#"{"b":[1,2]}"#));
    }

    #[test]
    fn any_language_and_go_style_headers_decode() {
        let go = parse(r#"{"code":10,"language":"GO","version":317,"remark":"","opaque":1}"#);
        assert_eq!(go.language, LanguageCode::Known(language::GO));
        assert_eq!(go.remark.as_deref(), Some(""));
        assert!(go.ext_fields.is_empty());
        let node = parse(r#"{"code":10,"language":"NODE","extFields":null}"#);
        assert_eq!(node.language, LanguageCode::Other("NODE".into()));
        assert_eq!(
            parse(r#"{"code":10,"language":12}"#).language,
            LanguageCode::Known(12)
        );
        assert_eq!(
            parse(r#"{"code":10,"language":-1}"#).language.byte(),
            language::OTHER
        );
        let odd = parse(r#"{"unknown":{"deep":[1]},"code":"34","opaque":-5,"flag":null}"#);
        assert_eq!(
            (odd.code, odd.opaque, odd.flag, odd.version),
            (34, -5, 0, 0)
        );
    }

    #[test]
    fn control_characters_escape_and_round_trip() {
        let properties = "TAGS\u{1}a\u{2}KEYS\u{1}k \"q\" \\ \n\u{1f}é";
        let command = parse(r#"{"code":10,"extFields":{"i":"TAGS\u0001a\u0002"}}"#);
        assert_eq!(command.ext_fields.get("i"), Some("TAGS\u{1}a\u{2}"));
        let mut command = command;
        command.ext_fields.insert("i", properties);
        command.remark = Some("\u{0}".into());
        let mut out = BytesMut::new();
        encode(&command, &mut out).expect("encodes");
        let text = std::str::from_utf8(&out).expect("UTF-8");
        assert!(
            text.contains(r#"TAGS\u0001a\u0002KEYS\u0001k \"q\" \\ \u000a\u001fé"#),
            "{text}"
        );
        assert_eq!(decode(&out), Ok(command));
    }

    #[test]
    fn malformed_headers_are_invalid() {
        let bad = [
            r#"{"opaque":1}"#,
            r#"{"code":null}"#,
            r#"{"code":1.5}"#,
            r#"{"code":2147483648}"#,
            r#"{"code":"x"}"#,
            r#"{"code":1,"opaque":4294967295}"#,
            r#"{"code":1,"extFields":[1]}"#,
            r#"{"code":1"#,
            r#"[{"code":1}]"#,
            r#"{"code":1} x"#,
            "",
            "\u{ff}",
        ];
        for json in bad {
            assert!(
                matches!(decode(json.as_bytes()), Err(WireError::Invalid(_))),
                "{json}"
            );
        }
    }

    #[test]
    fn every_ascii_byte_at_every_offset_escapes_correctly() {
        for byte in 0u8..0x80 {
            for at in 0..17 {
                let mut text = "abcdefghijklmnopq".to_owned().into_bytes();
                text[at] = byte;
                let text = String::from_utf8(text).expect("ASCII");
                let mut out = BytesMut::new();
                put_str(&mut out, &text);
                let back: String = serde_json::from_slice(&out).expect("valid JSON string");
                assert_eq!(back, text, "byte {byte:#x} at {at}");
                assert!(out.iter().all(|&b| b >= 0x20), "byte {byte:#x} at {at}");
            }
        }
    }

    /// The run ends at the first byte JSON escapes, wherever it falls in a word, and at the
    /// end when there is none; a byte above the first that the bit trick may flag (a borrow
    /// from a control byte) never moves it.
    #[test]
    fn plain_run_stops_at_the_first_byte_to_escape() {
        let naive = |bytes: &[u8]| {
            bytes
                .iter()
                .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
                .unwrap_or(bytes.len())
        };
        let mut cases: Vec<Vec<u8>> = (0..20).map(|len| vec![b'a'; len]).collect();
        for len in 1..20 {
            for at in 0..len {
                for byte in [0, 0x1f, b'"', b'\\', 0x20, 0x7f, 0x80, 0xa0, 0xff] {
                    let mut text = vec![b'x'; len];
                    text[at] = byte;
                    cases.push(text.clone());
                    // A control byte right before the others, whose borrow reaches them.
                    if at + 1 < len {
                        text[at + 1] = 0x21;
                        cases.push(text);
                    }
                }
            }
        }
        for bytes in cases {
            assert_eq!(plain_run(&bytes), naive(&bytes), "{bytes:?}");
        }
    }

    #[test]
    fn decimal_matches_display() {
        for value in [0, 7, -7, 10, 479, i64::from(i32::MIN), i64::MAX, i64::MIN] {
            assert_eq!(decimal(value, &mut [0; 20]), value.to_string());
        }
    }

    #[test]
    fn a_later_null_removes_an_earlier_value() {
        let command = parse(r#"{"code":1,"extFields":{"a":"1","b":"2","a":null}}"#);
        assert_eq!(command.ext_fields, [("b", "2")].into_iter().collect());
    }

    #[test]
    fn too_many_ext_fields_are_invalid() {
        let entries: Vec<String> = (0..=limits::EXT_FIELDS_MAX)
            .map(|i| format!(r#""k{i}":"v""#))
            .collect();
        let json = format!(r#"{{"code":1,"extFields":{{{}}}}}"#, entries.join(","));
        assert!(decode(json.as_bytes()).is_err());
    }
}
