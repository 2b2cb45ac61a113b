//! The fast path of the JSON header decoder: a hand-written scanner for the shape every
//! client sends (a flat object of integers and strings, `extFields` a flat object of strings,
//! integers, booleans and nulls). It declines anything else, and any error, by returning
//! `None`, and [`super::header_json::decode`] then runs the full serde decoder, which owns
//! every lenient rule and every error message. So the scanner only has to be right on what it
//! accepts, and a test checks that it agrees with the full decoder there.
//!
//! Why by hand: a send's header is most of the broker's work per small message, and serde's
//! string path slows down at each escape, of which a properties string has two per pair.

use super::codes::language;
use super::header_json::{decimal, plain_run};
use super::{ExtFields, LanguageCode, RemotingCommand};
use crate::limits;

/// Decodes `header` when it has the common shape; `None` sends the caller to the full decoder.
pub(super) fn decode(header: &[u8]) -> Option<RemotingCommand> {
    // Checked once here, every slice between ASCII delimiters below is a valid `str`.
    let text = super::text::utf8(header)?;
    let mut scan = Scanner { text, at: 0 };
    let mut code = None;
    let mut command = super::header_json::unset();
    scan.expect(b'{')?;
    if !scan.eat(b'}') {
        loop {
            let key = scan.plain_string()?;
            scan.expect(b':')?;
            match key {
                "code" => code = scan.int()?,
                "version" => command.version = scan.int()?.unwrap_or(0),
                "opaque" => command.opaque = scan.int()?.unwrap_or(0),
                "flag" => command.flag = scan.int()?.unwrap_or(0),
                "language" => command.language = scan.language()?,
                "remark" => command.remark = scan.optional_string()?,
                "extFields" => command.ext_fields = scan.ext_fields(header.len())?,
                _ => scan.skip_scalar()?,
            }
            if !scan.eat(b',') {
                break;
            }
        }
        scan.expect(b'}')?;
    }
    scan.skip_whitespace();
    if scan.at != text.len() {
        return None;
    }
    command.code = code?;
    Some(command)
}

struct Scanner<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scanner<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes().get(self.at) {
            self.at += 1;
        }
    }

    /// The next non-blank byte, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes().get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let found = self.text[self.at..].starts_with(word);
        if found {
            self.at += word.len();
        }
        found
    }

    /// A string without escapes, borrowed: keys and most header values.
    fn plain_string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.at;
        let end = self.string_run();
        self.at = end + 1;
        (self.bytes().get(end) == Some(&b'"')).then(|| &self.text[start..end])
    }

    /// Where the run of plain string bytes from `self.at` ends: the offset of the first
    /// quote, backslash or control byte (or the end of the text).
    fn string_run(&self) -> usize {
        self.at + plain_run(&self.bytes()[self.at..])
    }

    /// A string of any content appended to `out`, escapes decoded; whether it had any (text
    /// without escapes in JSON needs none when encoded again).
    fn string_into(&mut self, out: &mut String) -> Option<bool> {
        self.string_with(Some(out))
    }

    /// [`Scanner::string_into`], or with no `out` the string read past and dropped.
    #[inline]
    fn string_with(&mut self, mut out: Option<&mut String>) -> Option<bool> {
        self.expect(b'"')?;
        let mut escaped = false;
        loop {
            let end = self.string_run();
            if let Some(out) = out.as_deref_mut() {
                out.push_str(&self.text[self.at..end]);
            }
            self.at = end + 1;
            match self.bytes().get(end)? {
                b'"' => return Some(escaped),
                b'\\' => {
                    let decoded = self.escape()?;
                    if let Some(out) = out.as_deref_mut() {
                        out.push(decoded);
                    }
                }
                _ => return None, // a raw control byte: not JSON
            }
            escaped = true;
        }
    }

    /// The character of the escape after a backslash. Lone surrogates are declined.
    fn escape(&mut self) -> Option<char> {
        let byte = *self.bytes().get(self.at)?;
        self.at += 1;
        Some(match byte {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                if (0xd800..0xdc00).contains(&unit) {
                    if !self.eat_word("\\u") {
                        return None;
                    }
                    let low = self.hex4()?;
                    if !(0xdc00..0xe000).contains(&low) {
                        return None;
                    }
                    char::from_u32(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00))?
                } else {
                    char::from_u32(unit)?
                }
            }
            _ => return None,
        })
    }

    /// Four hex digits; properties strings escape two control characters per pair, so this
    /// runs a dozen times a send and stays off the slower library parsers.
    fn hex4(&mut self) -> Option<u32> {
        let digits = self.bytes().get(self.at..self.at + 4)?;
        let mut value = 0;
        for &digit in digits {
            let nibble = match digit {
                b'0'..=b'9' => digit - b'0',
                b'a'..=b'f' => digit - b'a' + 10,
                b'A'..=b'F' => digit - b'A' + 10,
                _ => return None,
            };
            value = value << 4 | u32::from(nibble);
        }
        self.at += 4;
        Some(value)
    }

    /// A string, or `null` for none.
    fn optional_string(&mut self) -> Option<Option<String>> {
        if self.peek() == Some(b'n') {
            return self.eat_word("null").then_some(None);
        }
        let mut text = String::new();
        self.string_into(&mut text)?;
        Some(Some(text))
    }

    /// A JSON integer's text: an optional minus and digits, no leading zero, not followed by
    /// a fraction or exponent (those are the full decoder's).
    fn integer_text(&mut self) -> Option<&'a str> {
        self.skip_whitespace();
        let start = self.at;
        let bytes = self.bytes();
        let digits = start + usize::from(bytes.get(start) == Some(&b'-'));
        let mut end = digits;
        while bytes.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        let leading_zero = bytes.get(digits) == Some(&b'0') && end > digits + 1;
        // serde_json reads -0 as the float -0.0: that is the full decoder's to read.
        let minus_zero = digits > start && end == digits + 1 && bytes.get(digits) == Some(&b'0');
        if end == digits
            || leading_zero
            || minus_zero
            || matches!(bytes.get(end), Some(b'.' | b'e' | b'E'))
        {
            return None;
        }
        self.at = end;
        Some(&self.text[start..end])
    }

    /// An `int` field: an integer, a string holding one, or `null` (absent).
    fn int(&mut self) -> Option<Option<i32>> {
        match self.peek()? {
            b'n' => self.eat_word("null").then_some(None),
            b'"' => Some(Some(self.plain_string()?.parse().ok()?)),
            _ => Some(Some(self.integer_text()?.parse().ok()?)),
        }
    }

    /// `language`: a name, an ordinal from 0, or `null` (Java).
    fn language(&mut self) -> Option<LanguageCode> {
        match self.peek()? {
            b'n' => self
                .eat_word("null")
                .then_some(LanguageCode::Known(language::JAVA)),
            b'"' => Some(LanguageCode::from_name(self.plain_string()?)),
            _ => {
                let code: u64 = self.integer_text()?.parse().ok()?;
                Some(match u8::try_from(code) {
                    Ok(code) => LanguageCode::Known(code),
                    Err(_) => LanguageCode::Other(code.to_string()),
                })
            }
        }
    }

    /// A top-level value the decoder ignores: only scalars here.
    fn skip_scalar(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string_with(None).map(drop),
            b't' => self.eat_word("true").then_some(()),
            b'f' => self.eat_word("false").then_some(()),
            b'n' => self.eat_word("null").then_some(()),
            _ => self.integer_text().map(drop),
        }
    }

    /// `extFields`: `null`, or an object whose values become Java's `toString()` text.
    fn ext_fields(&mut self, header_len: usize) -> Option<ExtFields> {
        if self.peek()? == b'n' {
            return self.eat_word("null").then(ExtFields::new);
        }
        self.expect(b'{')?;
        let mut fields = ExtFields::with_capacities(16, header_len);
        if self.eat(b'}') {
            return Some(fields);
        }
        let mut escaped_key = String::new();
        loop {
            if fields.len() >= limits::EXT_FIELDS_MAX {
                return None;
            }
            // Keys are borrowed from the header unless they have escapes.
            let at = self.at;
            let (key, key_escapes) = match self.plain_string() {
                Some(key) => (key, false),
                None => {
                    self.at = at;
                    escaped_key.clear();
                    let escapes = self.string_into(&mut escaped_key)?;
                    (escaped_key.as_str(), escapes)
                }
            };
            self.expect(b':')?;
            match self.peek()? {
                b'n' if self.eat_word("null") => {
                    fields.remove(key);
                }
                first => self.ext_value(first, key, key_escapes, &mut fields)?,
            }
            if !self.eat(b',') {
                break;
            }
        }
        self.expect(b'}')?;
        Some(fields)
    }

    /// An ext field's string, number or boolean (`first` is its first byte), stored under
    /// `key` as Java's `toString()` text.
    fn ext_value(
        &mut self,
        first: u8,
        key: &str,
        key_escapes: bool,
        fields: &mut ExtFields,
    ) -> Option<()> {
        let mut digits = [0; 20];
        let plain = match first {
            b'"' => None,
            b't' if self.eat_word("true") => Some("true"),
            b'f' if self.eat_word("false") => Some("false"),
            _ => Some(decimal(self.integer_text()?.parse().ok()?, &mut digits)),
        };
        let mut ok = true;
        fields.insert_decoded(key, key_escapes, |out| match plain {
            Some(text) => {
                out.push_str(text);
                false
            }
            None => self.string_into(out).unwrap_or_else(|| {
                ok = false;
                false
            }),
        });
        ok.then_some(())
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use proptest::prelude::*;

    use super::super::header_json;

    /// Decodes with both decoders: the fast one must decline or agree, and what it decoded
    /// must encode to JSON that reads back the same (it says which text needs escapes).
    fn agree(json: &str) {
        if let Some(fast) = super::decode(json.as_bytes()) {
            let full = header_json::decode_full(json.as_bytes());
            assert_eq!(full.as_ref(), Ok(&fast), "{json}");
            let mut encoded = BytesMut::new();
            header_json::encode(&fast, &mut encoded).expect("encodes");
            let again = header_json::decode_full(&encoded);
            assert_eq!(again.map(|c| c.ext_fields), Ok(fast.ext_fields), "{json}");
        }
    }

    #[test]
    fn takes_what_clients_send() {
        let java = r#"{"code":310,"extFields":{"a":"pg","b":"T","i":"TAGS\u0001a\u0002UNIQ_KEY\u0001AC\u0002","g":"1700000000000"},"flag":0,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":479}"#;
        let ali_ons = r#"{ "code": 310, "language": "JAVA", "version": 121, "opaque": 3, "flag": 0,
            "remark": null, "extFields": { "a": "pg", "e": 3, "g": -17, "k": false, "x": null } }"#;
        for json in [java, ali_ons] {
            assert!(super::decode(json.as_bytes()).is_some(), "{json}");
            agree(json);
        }
    }

    #[test]
    fn declines_what_only_the_full_decoder_reads() {
        for json in [
            r#"{"code":1,"extFields":{"y":1.5}}"#,
            r#"{"code":1,"extFields":{"o":{"b":[1]}}}"#,
            r#"{"code":1,"unknown":[1]}"#,
            r#"{"code":1,"language":-1}"#,
            r#"{"code":1,"remark":"\ud800"}"#,
            r#"{"code":01}"#,
            r#"{"code":1,"extFields":{"z":-0}}"#,
            r#"{"code":1.0}"#,
            r#"{"opaque":1}"#,
            r#"{"code":1} x"#,
        ] {
            assert!(super::decode(json.as_bytes()).is_none(), "{json}");
        }
    }

    /// A JSON text built from pieces clients use and pieces they should not, shuffled.
    fn header_text() -> impl Strategy<Value = String> {
        let scalar = prop_oneof![
            4 => "-?[0-9]{1,20}",
            8 => "\"[a-zA-Z0-9 _\\\\\"/\\u{1}\\u{2}é]{0,12}\"".prop_map(|s| escape_json(&s)),
            1 => Just("null".to_owned()),
            1 => Just("true".to_owned()),
            1 => Just("1.5".to_owned()),
            1 => Just("\"\\u0001\\ud83d\\ude00\"".to_owned()),
        ];
        let field = (
            "[a-z]{1,3}|code|opaque|flag|version|language|remark",
            scalar.clone(),
        )
            .prop_map(|(k, v)| format!("\"{k}\":{v}"));
        let ext = prop::collection::vec(field.clone(), 0..6)
            .prop_map(|fields| format!("\"extFields\":{{{}}}", fields.join(",")));
        (
            0..2000i32,
            prop::collection::vec(prop_oneof![1 => field, 2 => ext], 0..5),
            "[ ]{0,2}",
        )
            .prop_map(|(code, mut fields, pad)| {
                fields.insert(0, format!("\"code\":{code}"));
                format!("{{{pad}{}}}", fields.join(&format!(",{pad}")))
            })
    }

    /// JSON string syntax for `raw`, quote and backslash escaped, control bytes as \u00XX.
    fn escape_json(quoted: &str) -> String {
        let inner = &quoted[1..quoted.len() - 1];
        let mut out = String::from("\"");
        for c in inner.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    proptest! {
        #[test]
        fn agrees_with_the_full_decoder(json in header_text()) {
            agree(&json);
        }

        #[test]
        fn agrees_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            if let Some(fast) = super::decode(&bytes) {
                prop_assert_eq!(header_json::decode_full(&bytes), Ok(fast));
            }
        }
    }
}
