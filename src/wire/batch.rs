//! The body of SEND_BATCH_MESSAGE (docs/protocol.md §2.4.2, §3.6): messages back to back, each
//! `TOTALSIZE i32 | MAGIC i32 | BODYCRC i32 | FLAG i32 | BODYLEN i32 | BODY | PROPLEN i16 |
//! PROPERTIES`. The broker turns every entry into an ordinary record.
//!
//! The body arrives whole inside a frame, so a length that runs past its end is `Invalid`,
//! never `Incomplete`. MAGIC and BODYCRC are ignored as Java's broker ignores them (clients
//! send 0; the CRC is computed again per stored record). TOTALSIZE must agree with the inner
//! lengths: Java reads past it, but every client computes it exactly, and a mismatch means the
//! entries would be cut differently by a reader that trusts it.

use bytes::{BufMut, BytesMut};

use super::{text, WireError};
use crate::limits::{BATCH_MESSAGES_MAX, MESSAGE_BODY_SIZE_MAX, PROPERTIES_SIZE_MAX};

/// Bytes of an entry around its body and properties.
pub const ENTRY_OVERHEAD: usize = 22;

/// One message of a batch, borrowed from the request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchEntry<'a> {
    pub flag: i32,
    pub body: &'a [u8],
    /// The entry's own properties (UNIQ_KEY, TAGS, KEYS, WAIT …); the wrapper's properties
    /// from the send header are merged by the broker, not here.
    pub properties: &'a str,
}

/// All entries of a batch body, or the first reason it is malformed. An empty body is
/// invalid: a send must store at least one message to answer with its offset.
pub fn decode(body: &[u8]) -> Result<Vec<BatchEntry<'_>>, WireError> {
    if body.is_empty() {
        return Err(WireError::Invalid("empty batch".into()));
    }
    iter(body).collect()
}

/// Iterates the entries of a batch body without allocating; after the first error it ends.
pub fn iter(body: &[u8]) -> Entries<'_> {
    Entries {
        rest: body,
        count: 0,
        failed: false,
    }
}

/// Iterator returned by [`iter`].
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    rest: &'a [u8],
    count: usize,
    failed: bool,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<BatchEntry<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let entry = if self.count == BATCH_MESSAGES_MAX {
            Err(invalid(format!("more than {BATCH_MESSAGES_MAX} messages")))
        } else {
            split_entry(self.rest)
        };
        match entry {
            Ok((entry, rest)) => {
                self.rest = rest;
                self.count += 1;
                Some(Ok(entry))
            }
            Err(error) => {
                self.failed = true;
                Some(Err(error))
            }
        }
    }
}

/// Reads the entry at the start of `bytes`; returns it and the bytes after it.
fn split_entry(bytes: &[u8]) -> Result<(BatchEntry<'_>, &[u8]), WireError> {
    let total = read_i32(bytes, 0)?;
    let total = usize::try_from(total)
        .ok()
        .filter(|total| (ENTRY_OVERHEAD..=bytes.len()).contains(total))
        .ok_or_else(|| invalid(format!("batch entry size {total} out of range")))?;
    let (entry, rest) = bytes.split_at(total);
    let flag = read_i32(entry, 12)?;
    let body_len = usize::try_from(read_i32(entry, 16)?)
        .ok()
        .filter(|len| *len <= MESSAGE_BODY_SIZE_MAX && 20 + len + 2 <= total)
        .ok_or_else(|| invalid("batch entry body length out of range".into()))?;
    let body = &entry[20..20 + body_len];
    let prop_at = 20 + body_len + 2;
    let prop_len = read_i16(entry, 20 + body_len)?;
    if usize::try_from(prop_len).ok() != Some(total - prop_at) {
        return Err(invalid("batch entry lengths disagree with its size".into()));
    }
    let properties = text::utf8(&entry[prop_at..])
        .ok_or_else(|| invalid("batch entry properties are not UTF-8".into()))?;
    Ok((
        BatchEntry {
            flag,
            body,
            properties,
        },
        rest,
    ))
}

/// Appends one entry as a Java producer writes it; returns its size.
pub fn encode_entry(out: &mut BytesMut, entry: &BatchEntry<'_>) -> Result<usize, WireError> {
    if entry.body.len() > MESSAGE_BODY_SIZE_MAX {
        return Err(invalid("batch entry body too long".into()));
    }
    if entry.properties.len() > PROPERTIES_SIZE_MAX {
        return Err(invalid("batch entry properties too long".into()));
    }
    let total = ENTRY_OVERHEAD + entry.body.len() + entry.properties.len();
    out.reserve(total);
    // Both lengths are checked against limits far below the field widths.
    out.put_u32(total as u32);
    out.put_u32(0);
    out.put_u32(0);
    out.put_i32(entry.flag);
    out.put_u32(entry.body.len() as u32);
    out.put_slice(entry.body);
    out.put_u16(entry.properties.len() as u16);
    out.put_slice(entry.properties.as_bytes());
    Ok(total)
}

fn read_i32(bytes: &[u8], at: usize) -> Result<i32, WireError> {
    match bytes.get(at..at + 4) {
        Some(&[a, b, c, d]) => Ok(i32::from_be_bytes([a, b, c, d])),
        _ => Err(invalid("batch entry ends inside a length".into())),
    }
}

fn read_i16(bytes: &[u8], at: usize) -> Result<i16, WireError> {
    match bytes.get(at..at + 2) {
        Some(&[a, b]) => Ok(i16::from_be_bytes([a, b])),
        _ => Err(invalid("batch entry ends inside a length".into())),
    }
}

fn invalid(why: String) -> WireError {
    WireError::Invalid(why)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn sample() -> Vec<BatchEntry<'static>> {
        vec![
            BatchEntry {
                flag: 0,
                body: b"first",
                properties: "UNIQ_KEY\u{1}A\u{2}TAGS\u{1}TagA\u{2}",
            },
            BatchEntry {
                flag: -1,
                body: b"",
                properties: "",
            },
            BatchEntry {
                flag: 9,
                body: &[0, 1, 2, 255],
                properties: "KEYS\u{1}é k\u{2}",
            },
        ]
    }

    fn encode_all(entries: &[BatchEntry<'_>]) -> Vec<u8> {
        let mut out = BytesMut::new();
        for entry in entries {
            encode_entry(&mut out, entry).unwrap();
        }
        out.to_vec()
    }

    #[test]
    fn batch_round_trips() {
        let body = encode_all(&sample());
        assert_eq!(decode(&body).unwrap(), sample());
        assert_eq!(&body[..4], &(22u32 + 5 + 21).to_be_bytes());
    }

    #[test]
    fn every_truncation_is_invalid_or_a_shorter_batch() {
        let body = encode_all(&sample());
        let boundaries = [48, 70, body.len()];
        for cut in 1..body.len() {
            let decoded = decode(&body[..cut]);
            if boundaries.contains(&cut) {
                assert!(decoded.is_ok(), "cut {cut}");
            } else {
                assert!(matches!(decoded, Err(WireError::Invalid(_))), "cut {cut}");
            }
        }
        assert!(decode(&[]).is_err());
    }

    #[test]
    fn malformed_lengths_are_invalid() {
        let body = encode_all(&sample()[..1]);
        let patch = |at: usize, value: &[u8]| {
            let mut bad = body.clone();
            bad[at..at + value.len()].copy_from_slice(value);
            bad
        };
        let cases = [
            patch(0, &(-1i32).to_be_bytes()),
            patch(0, &21i32.to_be_bytes()),
            patch(0, &(body.len() as i32 + 1).to_be_bytes()),
            patch(0, &(body.len() as i32 - 1).to_be_bytes()),
            patch(16, &(-5i32).to_be_bytes()),
            patch(16, &6i32.to_be_bytes()),
            patch(16, &i32::MAX.to_be_bytes()),
            patch(25, &(-1i16).to_be_bytes()),
            patch(25, &5i16.to_be_bytes()),
            patch(27, &[0xFF]),
        ];
        for (index, case) in cases.iter().enumerate() {
            assert!(
                matches!(decode(case), Err(WireError::Invalid(_))),
                "case {index}"
            );
        }
    }

    #[test]
    fn iteration_stops_after_an_error() {
        let mut body = encode_all(&sample());
        body.extend_from_slice(&[0, 0, 0, 1]);
        let results: Vec<_> = iter(&body).collect();
        assert_eq!(results.len(), 4);
        assert!(results[3].is_err());
    }

    #[test]
    fn count_is_limited() {
        let empty = BatchEntry {
            flag: 0,
            body: b"",
            properties: "",
        };
        let body = encode_all(&vec![empty; BATCH_MESSAGES_MAX + 1]);
        assert!(decode(&body).is_err());
        assert_eq!(
            decode(&body[ENTRY_OVERHEAD..]).unwrap().len(),
            BATCH_MESSAGES_MAX
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&bytes);
        }
    }
}
