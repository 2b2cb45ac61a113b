//! The records of a pull or query answer as the frame's [`SharedBody`]: the connection writes
//! them to the socket from where the store holds them, so a record is copied in this process
//! at most once, and runs of records not at all (docs/storage.md, "Reads without copies").
//!
//! A run is a stretch of records that lie back to back in one buffer (a queue's records in a
//! topic of few queues, a catch-up read's merged span). A run is sent from its buffer when
//! that pays and costs little memory: it is at least 8 KiB, and its buffer is at most eight
//! times its size, since a queued window keeps its whole buffer alive (the shard's write
//! budget counts the buffer). Everything else is copied once into one buffer of the answer.

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
    /// A run of records sent from the store's buffer.
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
    let mut runs: Vec<LogBytes> = Vec::new();
    for record in records {
        match runs.last_mut() {
            Some(run) => match run.joined(&record) {
                Some(longer) => *run = longer,
                None => runs.push(record),
            },
            None => runs.push(record),
        }
    }
    let kept: Vec<Option<usize>> = runs.iter().map(kept_bytes).collect();
    let copied_len = runs
        .iter()
        .zip(&kept)
        .filter(|(_, kept)| kept.is_none())
        .map(|(run, _)| run.len())
        .sum();
    let mut copied = BytesMut::with_capacity(copied_len);
    let mut body = Records {
        parts: Vec::new(),
        held: copied_len,
    };
    for (run, kept) in runs.into_iter().zip(kept) {
        let Some(held) = kept else {
            copied.extend_from_slice(&run);
            continue;
        };
        if !copied.is_empty() {
            body.parts.push(Part::Copied(copied.split().freeze()));
        }
        body.held += held;
        body.parts.push(Part::Shared(run));
    }
    if !copied.is_empty() {
        body.parts.push(Part::Copied(copied.freeze()));
    }
    SharedBody::new(body)
}

/// The memory a run keeps alive when it is sent from its buffer (the whole buffer), or `None`
/// when it is copied: it is short, or its buffer is too large for it.
fn kept_bytes(run: &LogBytes) -> Option<usize> {
    let held = run.held_bytes();
    (run.len() >= SHARED_RUN_MIN && held <= run.len() * HELD_PER_BYTE_MAX).then_some(held)
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::storage::io::alloc_block;
    use crate::storage::tail_block::TailBlock;

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
    fn a_run_in_one_buffer_goes_out_as_one_slice() {
        let block = Rc::new(TailBlock::new(alloc_block(64 * 1024), &[5; 64 * 1024]));
        let window = |start, len| LogBytes::Shared {
            block: Rc::clone(&block),
            start,
            len,
        };
        // 32 KiB of records back to back, then one after a gap.
        let mut records: Vec<LogBytes> = (0..16).map(|i| window(i * 2048, 2048)).collect();
        records.push(window(40 * 1024, 10 * 1024));
        let body = body(records);
        let slices: Vec<&[u8]> = body.slices().collect();
        assert_eq!(slices.len(), 2);
        let at = |offset| block.bytes(offset, offset).as_ptr();
        assert_eq!(slices[0].as_ptr(), at(0));
        assert_eq!(slices[0].len(), 32 * 1024);
        assert_eq!(slices[1].as_ptr(), at(40 * 1024));
        // Each run keeps the whole buffer alive, and counts it.
        assert_eq!(body.held_bytes(), 2 * 64 * 1024);

        // A run too short for its buffer is copied.
        let short: Vec<LogBytes> = (0..2).map(|i| window(i * 2048, 2048)).collect();
        let body = super::body(short);
        let slices: Vec<&[u8]> = body.slices().collect();
        assert_eq!(slices.len(), 1);
        assert_ne!(slices[0].as_ptr(), at(0));
        assert_eq!(body.held_bytes(), 4 * 1024);
    }

    #[test]
    fn nothing_gives_an_empty_body() {
        let body = body(Vec::new());
        assert!(body.is_empty());
        assert_eq!(body.slices().count(), 0);
    }
}
