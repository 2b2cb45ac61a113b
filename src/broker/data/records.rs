//! The records of a pull or query answer as the frame's [`SharedBody`]: the connection writes
//! them to the socket from where the store holds them, so a record is copied in this process
//! at most once, and runs of records not at all (docs/storage.md, "Reads without copies").
//!
//! A run is a stretch of records that lie back to back in one buffer (a queue's records in a
//! topic of few queues, a catch-up read's merged span). A run is sent from its buffer when
//! that pays and costs little memory: it is at least 8 KiB, and its buffer is at most eight
//! times its size, since a queued window keeps its whole buffer alive (the shard's write
//! budget counts the buffer). Everything else, and any window on the open block of the log's
//! tail, which an append would then have to copy whole, is copied once into one buffer of the
//! answer.

use bytes::{Bytes, BytesMut};

use crate::storage::log_buffer::LogBytes;
use crate::wire::{BodyParts, SharedBody};

/// The smallest run sent from the store's buffer: a shorter one is copied, which costs less
/// than a slice of the write of its own.
const SHARED_RUN_MIN: usize = 8 * 1024;

/// The most memory a shared run may keep alive per byte it sends.
const HELD_PER_BYTE_MAX: usize = 8;

#[derive(Debug)]
enum Part {
    /// A record sent from the store's buffer.
    Shared(LogBytes),
    /// Records copied back to back.
    Copied(Bytes),
}

/// An answer's records, in order.
#[derive(Debug)]
struct Records {
    parts: Vec<Part>,
    held: usize,
}

impl BodyParts for Records {
    fn count(&self) -> usize {
        self.parts.len()
    }

    fn part(&self, index: usize) -> &[u8] {
        match &self.parts[index] {
            Part::Shared(record) => record,
            Part::Copied(bytes) => bytes,
        }
    }

    fn held_bytes(&self) -> usize {
        self.held
    }
}

/// The body of an answer carrying `records`, in their order.
pub fn body(records: Vec<LogBytes>) -> SharedBody {
    if records.is_empty() {
        return SharedBody::default();
    }
    let shared = shared_runs(&records);
    let copied_len = records
        .iter()
        .zip(&shared)
        .filter(|(_, shared)| shared.is_none())
        .map(|(record, _)| record.len())
        .sum();
    let mut copied = BytesMut::with_capacity(copied_len);
    let mut body = Records {
        parts: Vec::new(),
        held: copied_len,
    };
    for (record, shared) in records.into_iter().zip(shared) {
        let Some(held) = shared else {
            copied.extend_from_slice(&record);
            continue;
        };
        if !copied.is_empty() {
            body.parts.push(Part::Copied(copied.split().freeze()));
        }
        body.held += held;
        body.parts.push(Part::Shared(record));
    }
    if !copied.is_empty() {
        body.parts.push(Part::Copied(copied.freeze()));
    }
    SharedBody::new(body)
}

/// For each record, `None` when it is copied, else the memory it adds to what the answer keeps
/// alive when sent from its buffer: the buffer, counted once per run at its first record.
fn shared_runs(records: &[LogBytes]) -> Vec<Option<usize>> {
    let mut shared = vec![None; records.len()];
    let mut start = 0;
    while start < records.len() {
        let mut end = start + 1;
        while end < records.len() && follows(&records[end - 1], &records[end]) {
            end += 1;
        }
        let run = &records[start..end];
        let bytes: usize = run.iter().map(|r| r.len()).sum();
        // Every record of a run can be kept (`follows`) and shares the first one's buffer.
        let held = run[0]
            .held_bytes()
            .filter(|&held| bytes >= SHARED_RUN_MIN && held <= bytes * HELD_PER_BYTE_MAX);
        if let Some(held) = held {
            shared[start] = Some(held);
            shared[start + 1..end].fill(Some(0));
        }
        start = end;
    }
    shared
}

/// Whether `next` starts where `prev` ends in memory, and both may be kept. Two buffers can
/// only meet end to start by chance, which at worst counts one buffer too few.
fn follows(prev: &LogBytes, next: &LogBytes) -> bool {
    prev.held_bytes().is_some()
        && next.held_bytes().is_some()
        && prev.as_ptr().wrapping_add(prev.len()) == next.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(len: usize, byte: u8) -> LogBytes {
        LogBytes::Owned(vec![byte; len])
    }

    #[test]
    fn small_records_are_copied_into_one_part() {
        let body = body(vec![owned(100, 1), owned(200, 2), owned(300, 3)]);
        assert_eq!(body.len(), 600);
        assert_eq!(body.slices().count(), 1);
        let bytes = body.to_vec();
        assert_eq!((bytes[0], bytes[100], bytes[300], bytes[599]), (1, 2, 3, 3));
        assert_eq!(body.held_bytes(), 600);
    }

    #[test]
    fn a_large_record_is_sent_as_it_is_between_copies() {
        let large = owned(SHARED_RUN_MIN, 9);
        let at = large.as_ptr();
        let body = body(vec![owned(10, 1), large, owned(20, 2), owned(30, 3)]);
        let slices: Vec<&[u8]> = body.slices().collect();
        assert_eq!(slices.len(), 3);
        assert_eq!(slices[1].as_ptr(), at, "not copied");
        assert_eq!(
            (slices[0].len(), slices[1].len(), slices[2].len()),
            (10, SHARED_RUN_MIN, 50)
        );
        assert_eq!(body.held_bytes(), 60 + SHARED_RUN_MIN);
    }

    #[test]
    fn nothing_gives_an_empty_body() {
        let body = body(Vec::new());
        assert!(body.is_empty());
        assert_eq!(body.slices().count(), 0);
    }
}
