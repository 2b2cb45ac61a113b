//! Frames (docs/protocol.md §1.2): `u32 L | u8 serType | u24 headerLen | header | body`, where `L`
//! counts everything after itself.
//!
//! The frame's first eight bytes are checked as soon as they arrive, so a peer announcing a
//! frame the broker would refuse is rejected before the connection buffers it. A decoded body
//! is a slice of the read buffer: no copy.

use bytes::BytesMut;

use super::{header_binary, header_json, RemotingCommand, SerializeType, WireError};
use crate::limits;

/// Bytes before the header: the length prefix and the header-length word.
pub const FRAME_PREFIX_LEN: usize = 8;

/// The size of the frame at the front of `buf`, prefix included, once its first eight bytes
/// are there; `Ok(None)` before that. The length prefix alone is checked as soon as its four
/// bytes are readable.
pub fn frame_length(buf: &[u8]) -> Result<Option<usize>, WireError> {
    let Some(length_field) = be_u32(buf, 0) else {
        return Ok(None);
    };
    // Java reads the prefix as a signed int: anything over 2^31 is negative, and refused.
    let length = length_field as usize;
    if !(4..=limits::FRAME_LENGTH_FIELD_MAX).contains(&length) {
        return Err(WireError::Invalid(format!(
            "frame length {} outside 4..={}",
            length_field as i32,
            limits::FRAME_LENGTH_FIELD_MAX
        )));
    }
    let Some(word) = be_u32(buf, 4) else {
        return Ok(None);
    };
    let serialize_byte = (word >> 24) as u8;
    if SerializeType::from_byte(serialize_byte).is_none() {
        return Err(WireError::Invalid(format!(
            "serialize type {serialize_byte}"
        )));
    }
    let header_len = (word & 0x00ff_ffff) as usize;
    if header_len > length - 4 || header_len > limits::HEADER_SIZE_MAX {
        return Err(WireError::Invalid(format!(
            "header length {header_len} in a frame of {length} (header limit {})",
            limits::HEADER_SIZE_MAX
        )));
    }
    Ok(Some(length + 4))
}

/// Takes one command off the front of `buf`. `Ok(None)` means the frame is not complete yet
/// and `buf` is untouched; on success the frame's bytes are split off `buf`, and the command's
/// body shares them. An error means the stream cannot be trusted any more.
pub fn decode(buf: &mut BytesMut) -> Result<Option<RemotingCommand>, WireError> {
    let Some(frame_len) = frame_length(buf)? else {
        return Ok(None);
    };
    if buf.len() < frame_len {
        return Ok(None);
    }
    // frame_length vouched for the word and the bounds, so these reads are in range.
    let word = be_u32(buf, 4).unwrap_or(0);
    let header_end = FRAME_PREFIX_LEN + (word & 0x00ff_ffff) as usize;
    let header = buf.get(FRAME_PREFIX_LEN..header_end).unwrap_or_default();
    let mut command = match SerializeType::from_byte((word >> 24) as u8) {
        Some(SerializeType::RocketMq) => header_binary::decode(header)?,
        _ => header_json::decode(header)?,
    };
    let frame = buf.split_to(frame_len).freeze();
    command.body = frame.slice(header_end..);
    Ok(Some(command))
}

/// A command as its frame's bytes, which may cross to another shard's thread where the
/// command itself may not: its [`super::SharedBody`] is memory of the shard that made it.
/// The bytes travel and the command is decoded again on the other side; a path that
/// forwards commands between shards is rare (a send that reached a shard hosting none of its
/// topic's write queues), so the copy costs nothing that matters.
#[derive(Debug, Clone)]
pub struct Encoded(BytesMut);

impl Encoded {
    pub fn new(command: &RemotingCommand) -> Result<Encoded, WireError> {
        let mut out = BytesMut::new();
        command.encode(&mut out)?;
        Ok(Encoded(out))
    }

    /// The command again, as [`decode`] reads it off a socket.
    pub fn decode(mut self) -> Result<RemotingCommand, WireError> {
        decode(&mut self.0)?
            .ok_or_else(|| WireError::Invalid("an encoded frame is cut short".into()))
    }
}

fn be_u32(buf: &[u8], at: usize) -> Option<u32> {
    let bytes = buf.get(at..at + 4)?;
    Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

#[cfg(test)]
mod tests {
    use bytes::{BufMut, Bytes};
    use proptest::prelude::*;

    use super::*;
    use crate::wire::{ExtFields, LanguageCode};

    const JSON_HEADER: &[u8] = br#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":479}"#;

    /// HEART_BEAT from a C++ client with a binary header (language 1, version 63, opaque
    /// 0x01020304, oneway flag), no remark, no ext fields.
    const BINARY_HEADER: &[u8] = &[
        0, 34, 1, 0, 63, 1, 2, 3, 4, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    fn frame(serialize_type: u8, header: &[u8], body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.put_u32((4 + header.len() + body.len()) as u32);
        out.put_u32(u32::from(serialize_type) << 24 | header.len() as u32);
        out.extend_from_slice(header);
        out.extend_from_slice(body);
        out
    }

    fn golden_frames() -> [Vec<u8>; 3] {
        [
            frame(0, JSON_HEADER, b"hello"),
            frame(1, BINARY_HEADER, b"{}"),
            frame(0, br#"{"code":0}"#, b""),
        ]
    }

    #[test]
    fn golden_json_frame_decodes_with_a_zero_copy_body() {
        let mut buf = BytesMut::from(&frame(0, JSON_HEADER, b"hello")[..]);
        buf.extend_from_slice(b"next");
        let body_at = buf.as_ptr().wrapping_add(8 + JSON_HEADER.len());
        let command = decode(&mut buf).expect("valid").expect("complete");
        assert_eq!(command.code, 105);
        assert_eq!(command.serialize_type, SerializeType::Json);
        assert_eq!(&command.body[..], b"hello");
        assert_eq!(
            command.body.as_ptr(),
            body_at,
            "the body must share the read buffer"
        );
        assert_eq!(&buf[..], b"next");
    }

    #[test]
    fn golden_binary_frame_decodes() {
        let mut buf = BytesMut::from(&frame(1, BINARY_HEADER, b"{}")[..]);
        let command = decode(&mut buf).expect("valid").expect("complete");
        assert_eq!(
            (command.code, command.version, command.opaque),
            (34, 63, 0x01020304)
        );
        assert_eq!(command.language, LanguageCode::Known(1));
        assert!(command.is_oneway());
        assert_eq!(command.serialize_type, SerializeType::RocketMq);
        assert_eq!(&command.body[..], b"{}");
        assert!(buf.is_empty());
    }

    #[test]
    fn every_truncation_is_incomplete_and_leaves_the_buffer_alone() {
        for golden in golden_frames() {
            for len in 0..golden.len() {
                let mut buf = BytesMut::from(&golden[..len]);
                assert_eq!(decode(&mut buf), Ok(None), "cut at {len}");
                assert_eq!(&buf[..], &golden[..len]);
                let expected = (len >= 8).then_some(golden.len());
                assert_eq!(frame_length(&golden[..len]), Ok(expected), "cut at {len}");
            }
            assert!(decode(&mut BytesMut::from(&golden[..]))
                .expect("valid")
                .is_some());
        }
    }

    #[test]
    fn back_to_back_frames_decode_in_order() {
        let [a, b, c] = golden_frames();
        let mut buf = BytesMut::from(&[a, b, c].concat()[..]);
        let codes: Vec<i32> = std::iter::from_fn(|| decode(&mut buf).expect("valid"))
            .map(|command| command.code)
            .collect();
        assert_eq!(codes, [105, 34, 0]);
        assert!(buf.is_empty());
    }

    fn prefix(length: u32, word: u32) -> Vec<u8> {
        [length.to_be_bytes(), word.to_be_bytes()].concat()
    }

    #[test]
    fn bad_lengths_are_refused_from_the_prefix_alone() {
        let too_long = (limits::FRAME_LENGTH_FIELD_MAX + 1) as u32;
        for length in [too_long, 17 << 20, u32::MAX, 0x8000_0000, 0, 3] {
            let bytes = length.to_be_bytes();
            assert!(
                matches!(frame_length(&bytes), Err(WireError::Invalid(_))),
                "{length}"
            );
        }
        let header_max = limits::HEADER_SIZE_MAX as u32;
        let bad_words = [
            (100, 2 << 24),                     // serialize type 2
            (100, 0xff << 24),                  // serialize type 255
            (100, 97),                          // header longer than the frame
            (header_max + 100, header_max + 1), // header over its limit
            (limits::FRAME_LENGTH_FIELD_MAX as u32, 0x00ff_ffff),
        ];
        for (length, word) in bad_words {
            let bytes = prefix(length, word);
            assert!(
                matches!(frame_length(&bytes), Err(WireError::Invalid(_))),
                "{word:x}"
            );
            assert!(decode(&mut BytesMut::from(&bytes[..])).is_err());
        }
        assert_eq!(frame_length(&prefix(4, 0)), Ok(Some(8)));
        assert_eq!(frame_length(&prefix(100, 1 << 24 | 96)), Ok(Some(104)));
    }

    #[test]
    fn a_bad_header_in_a_complete_frame_is_invalid() {
        for bytes in [
            frame(0, b"{", b""),
            frame(1, &BINARY_HEADER[..20], b""),
            frame(0, b"", b""),
        ] {
            assert!(matches!(
                decode(&mut BytesMut::from(&bytes[..])),
                Err(WireError::Invalid(_))
            ));
        }
    }

    fn arb_language() -> impl Strategy<Value = LanguageCode> {
        prop_oneof![
            any::<u8>().prop_map(LanguageCode::Known),
            "[A-Z_]{1,8}".prop_map(|name| LanguageCode::from_name(&name)),
        ]
    }

    prop_compose! {
        fn arb_command()(
            code in any::<i16>(),
            language in arb_language(),
            version in any::<i16>(),
            opaque in any::<i32>(),
            flag in any::<i32>(),
            remark in proptest::option::of("(?s).{0,24}"),
            fields in proptest::collection::vec(("(?s).{0,8}", "(?s).{0,16}"), 0..8),
            body in proptest::collection::vec(any::<u8>(), 0..64),
            binary in any::<bool>(),
        ) -> RemotingCommand {
            RemotingCommand {
                code: code.into(),
                language,
                version: version.into(),
                opaque,
                flag,
                remark,
                ext_fields: fields.into_iter().collect(),
                serialize_type: if binary { SerializeType::RocketMq } else { SerializeType::Json },
                body: Bytes::from(body),
                typed_fields: Default::default(),
                shared_body: Default::default(),
            }
        }
    }

    /// What a command reads back as: the binary header cannot tell empty from null and names
    /// no language outside its table.
    fn as_read_back(mut command: RemotingCommand) -> RemotingCommand {
        if command.serialize_type == SerializeType::RocketMq {
            command.language = LanguageCode::Known(command.language.byte());
            command.remark = command.remark.filter(|remark| !remark.is_empty());
            let kept = command
                .ext_fields
                .iter()
                .filter(|(_, value)| !value.is_empty());
            command.ext_fields = kept.map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        }
        command
    }

    proptest! {
        #[test]
        fn arbitrary_commands_round_trip(command in arb_command()) {
            let mut buf = BytesMut::new();
            command.encode(&mut buf).expect("encodes");
            prop_assert_eq!(frame_length(&buf), Ok(Some(buf.len())));
            let decoded = decode(&mut buf).expect("valid").expect("complete");
            prop_assert!(buf.is_empty());
            prop_assert_eq!(decoded, as_read_back(command));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut buf = BytesMut::from(&bytes[..]);
            let before = buf.len();
            if let Ok(Some(_)) = decode(&mut buf) {
                prop_assert!(buf.len() < before);
            }
        }

        #[test]
        fn arbitrary_headers_in_valid_frames_never_panic(
            serialize_type in 0u8..2,
            header in proptest::collection::vec(any::<u8>(), 0..128),
            body in proptest::collection::vec(any::<u8>(), 0..16),
        ) {
            let mut buf = BytesMut::from(&frame(serialize_type, &header, &body)[..]);
            prop_assert_ne!(decode(&mut buf), Ok(None));
        }

        #[test]
        fn mutated_golden_frames_never_panic(
            which in 0usize..3,
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ) {
            let mut bytes = golden_frames()[which].clone();
            for (index, value) in flips {
                let at = index.index(bytes.len());
                bytes[at] = value;
            }
            let _ = decode(&mut BytesMut::from(&bytes[..]));
        }
    }

    #[test]
    fn a_request_built_here_reads_back() {
        let fields: ExtFields = [("topic", "T")].into_iter().collect();
        let request = RemotingCommand::request(105, fields, Bytes::from_static(b"x"));
        let mut buf = BytesMut::new();
        request.encode(&mut buf).expect("encodes");
        assert_eq!(decode(&mut buf), Ok(Some(request)));
    }
}
