//! The ROCKETMQ binary header (serType 1, docs/protocol.md §1.4):
//!
//! ```text
//! i16 code | u8 language | i16 version | i32 opaque | i32 flag
//! i32 remarkLen | remark | i32 extLen | { i16 keyLen | key | i32 valLen | value }*
//! ```
//!
//! Every length is signed on the wire and checked before use: negative or longer than what
//! is left of the header is invalid. A header slice always comes from a complete frame, so a
//! header that ends early is invalid, never incomplete. Text that is not UTF-8 is decoded
//! lossily, as Java's `new String(bytes, UTF_8)` does.

use std::borrow::Cow;

use bytes::{BufMut, BytesMut};

use super::headers::FieldSink;
use super::{ExtFields, LanguageCode, RemotingCommand, SerializeType, WireError};
use crate::limits;

/// Reads a binary header into a command with an empty body. Bytes after the ext-field region
/// are ignored, as Java ignores them.
pub fn decode(header: &[u8]) -> Result<RemotingCommand, WireError> {
    let mut reader = Reader {
        bytes: header,
        pos: 0,
    };
    let code = reader.i16("code")?.into();
    let language = LanguageCode::Known(reader.u8("language")?);
    let version = reader.i16("version")?.into();
    let opaque = reader.i32("opaque")?;
    let flag = reader.i32("flag")?;
    let remark_len = reader.length("remark")?;
    let remark = match remark_len {
        0 => None,
        len => Some(text(reader.take(len, "remark")?)),
    };
    let ext_len = reader.length("extFields")?;
    let ext_fields = decode_ext_fields(reader.take(ext_len, "extFields")?)?;
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields,
        serialize_type: SerializeType::RocketMq,
        body: Default::default(),
        typed_fields: Default::default(),
        shared_body: Default::default(),
    })
}

/// A zero-length value is Java's null, so its key is left out.
fn decode_ext_fields(region: &[u8]) -> Result<ExtFields, WireError> {
    let mut reader = Reader {
        bytes: region,
        pos: 0,
    };
    let mut fields = ExtFields::with_capacities(16, region.len());
    while reader.remaining() > 0 {
        let key_len = reader.i16("ext key length")?;
        let key_len = usize::try_from(key_len)
            .map_err(|_| invalid(format!("negative ext key length {key_len}")))?;
        let key = reader.take(key_len, "ext key")?;
        let value_len = reader.length("ext value")?;
        let value = reader.take(value_len, "ext value")?;
        if value.is_empty() {
            continue;
        }
        if fields.len() >= limits::EXT_FIELDS_MAX {
            return Err(invalid(format!(
                "more than {} ext fields",
                limits::EXT_FIELDS_MAX
            )));
        }
        // Not scanned for what JSON would escape: a binary request is rarely written as
        // JSON, and the JSON encoder scans fields marked this way itself.
        let value = lossy(value);
        fields.insert_decoded(&lossy(key), true, |out| {
            out.push_str(&value);
            true
        });
    }
    Ok(fields)
}

/// Appends the binary header of `command` (not the frame prefix, not the body).
///
/// Fails on what the format cannot carry: a code or version outside `i16` (POP-era codes go
/// over JSON), or a key longer than `i16::MAX` bytes. Empty values are left out: the
/// decoder would read them as null anyway.
pub fn encode(command: &RemotingCommand, out: &mut BytesMut) -> Result<(), WireError> {
    let code = i16::try_from(command.code).map_err(|_| {
        invalid(format!(
            "code {} does not fit a binary header",
            command.code
        ))
    })?;
    let version = i16::try_from(command.version).map_err(|_| {
        invalid(format!(
            "version {} does not fit a binary header",
            command.version
        ))
    })?;
    out.put_i16(code);
    out.put_u8(command.language.byte());
    out.put_i16(version);
    out.put_i32(command.opaque);
    out.put_i32(command.flag);
    let remark = command.remark.as_deref().unwrap_or("");
    out.put_i32(len_i32(remark.len(), "remark")?);
    out.put_slice(remark.as_bytes());

    let ext_start = out.len();
    out.put_i32(0); // Patched once the region's length is known.
    for (key, value) in command.ext_fields.iter() {
        put_entry(out, key, value)?;
    }
    let mut typed = BinaryFields {
        out: &mut *out,
        error: None,
    };
    command.typed_fields.write_to(&mut typed);
    if let Some(error) = typed.error {
        return Err(error);
    }
    let ext_len = len_i32(out.len() - ext_start - 4, "extFields")?;
    out[ext_start..ext_start + 4].copy_from_slice(&ext_len.to_be_bytes());
    Ok(())
}

/// One ext-field entry: the key's and the value's lengths and bytes. An empty value is left
/// out, as Java leaves out a null.
fn put_entry(out: &mut BytesMut, key: &str, value: &str) -> Result<(), WireError> {
    if value.is_empty() {
        return Ok(());
    }
    let key_len = i16::try_from(key.len())
        .map_err(|_| invalid(format!("ext key of {} bytes is too long", key.len())))?;
    let value_len = len_i32(value.len(), "ext value")?;
    out.put_i16(key_len);
    out.put_slice(key.as_bytes());
    out.put_i32(value_len);
    out.put_slice(value.as_bytes());
    Ok(())
}

/// Writes a typed header's fields as ext-field entries; keeps the first failure.
struct BinaryFields<'a> {
    out: &'a mut BytesMut,
    error: Option<WireError>,
}

impl FieldSink for BinaryFields<'_> {
    fn field(&mut self, key: &'static str, text: &str, _plain: bool) {
        if self.error.is_none() {
            self.error = put_entry(self.out, key, text).err();
        }
    }
}

fn len_i32(len: usize, what: &str) -> Result<i32, WireError> {
    i32::try_from(len).map_err(|_| invalid(format!("{what} of {len} bytes is too long")))
}

fn text(bytes: &[u8]) -> String {
    lossy(bytes).into_owned()
}

/// Text as Java decodes it, invalid sequences replaced. Validating first is the fast path:
/// the lossy decoder walks the input in chunks even when it is all valid.
fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    match super::text::utf8(bytes) {
        Some(text) => Cow::Borrowed(text),
        None => String::from_utf8_lossy(bytes),
    }
}

fn invalid(why: String) -> WireError {
    WireError::Invalid(format!("binary header: {why}"))
}

/// A bounds-checked cursor over the header; every read names the field for the error.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8], WireError> {
        let slice = self
            .pos
            .checked_add(len)
            .and_then(|end| self.bytes.get(self.pos..end))
            .ok_or_else(|| {
                invalid(format!(
                    "{what} of {len} bytes overruns the {} left",
                    self.remaining()
                ))
            })?;
        self.pos += len;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], WireError> {
        let mut array = [0u8; N];
        array.copy_from_slice(self.take(N, what)?);
        Ok(array)
    }

    fn u8(&mut self, what: &str) -> Result<u8, WireError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn i16(&mut self, what: &str) -> Result<i16, WireError> {
        Ok(i16::from_be_bytes(self.array(what)?))
    }

    fn i32(&mut self, what: &str) -> Result<i32, WireError> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    /// An `i32` length that must be non-negative and fit in what is left of the input.
    fn length(&mut self, what: &str) -> Result<usize, WireError> {
        let len = self.i32(what)?;
        match usize::try_from(len) {
            Ok(len) if len <= self.remaining() => Ok(len),
            _ => Err(invalid(format!(
                "{what} length {len} outside the {} bytes left",
                self.remaining()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header laid out byte by byte from docs/protocol.md §1.4: PULL_MESSAGE from a Go client
    /// (language 9, version 317), opaque 5, remark "hi", one ext field topic=T.
    const GOLDEN: &[u8] = &[
        0, 11, // code
        9,  // language GO
        0x01, 0x3d, // version 317
        0, 0, 0, 5, // opaque
        0, 0, 0, 0, // flag
        0, 0, 0, 2, b'h', b'i', // remark
        0, 0, 0, 12, // ext region length: 2+5 + 4+1
        0, 5, b't', b'o', b'p', b'i', b'c', 0, 0, 0, 1, b'T',
    ];

    #[test]
    fn golden_header_decodes_and_re_encodes_byte_for_byte() {
        let command = decode(GOLDEN).expect("golden header");
        assert_eq!(command.code, 11);
        assert_eq!(command.language, LanguageCode::Known(9));
        assert_eq!(command.version, 317);
        assert_eq!(command.opaque, 5);
        assert_eq!(command.remark.as_deref(), Some("hi"));
        assert_eq!(command.ext_fields.get("topic"), Some("T"));
        let mut out = BytesMut::new();
        encode(&command, &mut out).expect("encodes");
        assert_eq!(&out[..], GOLDEN);
    }

    #[test]
    fn every_truncation_is_invalid_not_a_panic() {
        for len in 0..GOLDEN.len() {
            assert!(
                matches!(decode(&GOLDEN[..len]), Err(WireError::Invalid(_))),
                "{len}"
            );
        }
    }

    #[test]
    fn bad_lengths_are_invalid() {
        let patch = |at: usize, bytes: &[u8]| {
            let mut header = GOLDEN.to_vec();
            header[at..at + bytes.len()].copy_from_slice(bytes);
            decode(&header)
        };
        assert!(
            patch(13, &(-1i32).to_be_bytes()).is_err(),
            "negative remark length"
        );
        assert!(
            patch(13, &1000i32.to_be_bytes()).is_err(),
            "remark past the header"
        );
        assert!(
            patch(19, &(-4i32).to_be_bytes()).is_err(),
            "negative ext length"
        );
        assert!(
            patch(19, &13i32.to_be_bytes()).is_err(),
            "ext region past the header"
        );
        assert!(
            patch(23, &(-1i16).to_be_bytes()).is_err(),
            "negative key length"
        );
        assert!(
            patch(23, &6i16.to_be_bytes()).is_err(),
            "entry overruns the ext region"
        );
        assert!(
            patch(30, &(-1i32).to_be_bytes()).is_err(),
            "negative value length"
        );
    }

    #[test]
    fn empty_values_and_remark_are_null() {
        let mut header = GOLDEN[..13].to_vec();
        header.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 7, 0, 1, b'k', 0, 0, 0, 0]);
        let command = decode(&header).expect("valid");
        assert_eq!(command.remark, None);
        assert!(command.ext_fields.is_empty());
    }

    #[test]
    fn codes_beyond_i16_are_refused_on_encode() {
        let mut command = decode(GOLDEN).expect("golden header");
        command.code = 200_050;
        assert!(encode(&command, &mut BytesMut::new()).is_err());
    }
}
