//! Frames (REMOTING.md §1.2): `u32 L | u8 serType | u24 headerLen | header | body`, where `L`
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

fn be_u32(buf: &[u8], at: usize) -> Option<u32> {
    let bytes = buf.get(at..at + 4)?;
    Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}
