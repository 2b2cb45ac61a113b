//! What reput files a record by, taken when this process appends the record.
//!
//! Reput files each record in its ConsumeQueue and the index in the background, a while after
//! the append: by then the record's bytes have left the CPU's caches, and parsing them back
//! was half of reput's time under batched sends (bench/RESULTS.md, "Batched sends: where a
//! record's cycles go"). The append has every field reput reads while the record's fields are
//! at hand, so it queues a [`Filing`], and reput files from the queue without reading the
//! log. Records this process did not append (recovered from the device, copied from a
//! master) or appended while the queue was full are parsed from the log as before. Debug
//! builds parse every record too and check that both ways agree, so every test that stores a
//! record checks them.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use super::index::KeyHashes;
use super::offsets::QueueOffset;
use super::store::Queue;

/// Filings held for reput at most: about 6 MiB. Past it (reput far behind the appends) the
/// records are parsed from the log instead.
const HELD_MAX: usize = 1 << 16;

/// One record as reput files it.
#[derive(Debug)]
pub(super) struct Filing {
    /// Where the record starts in the log, and its size.
    pub pos: u64,
    pub size: u32,
    pub store_timestamp: i64,
    /// Its ConsumeQueue; none when the record is not consumable (a half or rollback record).
    pub queue: Option<Rc<Queue>>,
    pub queue_offset: QueueOffset,
    pub tags_code: i64,
    /// What the index files it under (nothing when the store keeps no index).
    pub keys: KeyHashes,
}

impl Filing {
    /// Whether `self` files the record as `other` does.
    pub fn same_as(&self, other: &Filing) -> bool {
        let same_queue = match (&self.queue, &other.queue) {
            (Some(a), Some(b)) => Rc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        };
        same_queue
            && (self.pos, self.size, self.store_timestamp)
                == (other.pos, other.size, other.store_timestamp)
            && (self.queue_offset, self.tags_code) == (other.queue_offset, other.tags_code)
            && self.keys == other.keys
    }
}

/// The filings of appended records reput has not filed yet, in log order.
#[derive(Debug, Default)]
pub(super) struct Filings {
    held: RefCell<VecDeque<Filing>>,
}

impl Filings {
    /// Holds the filing of a record just appended; dropped when too many are held.
    pub fn push(&self, filing: Filing) {
        let mut held = self.held.borrow_mut();
        if held.len() < HELD_MAX {
            held.push_back(filing);
        }
    }

    /// The filing of the record at `pos`, if its append left one. Reput asks in log order,
    /// so filings before `pos` are of records it has filed some other way.
    pub fn take(&self, pos: u64) -> Option<Filing> {
        let mut held = self.held.borrow_mut();
        while held.front()?.pos < pos {
            held.pop_front();
        }
        if held.front()?.pos == pos {
            held.pop_front()
        } else {
            None
        }
    }
}
