//! Whole blocks of the log read back from disk, shared by every pull on the shard, with
//! read-ahead: the shard's own page cache for catch-up readers (O_DIRECT bypasses the
//! kernel's).
//!
//! Consumers that catch up read the queues of a topic side by side, and the records of those
//! queues are interleaved in the log. Read per pull, each block would come off the disk once
//! per queue; read once into this cache, each pull takes its records from memory, and the
//! blocks after it are already on their way.
//!
//! Only blocks wholly written and sealed (below the log's written mark, never rewritten) are
//! cached, so an entry never goes stale; a deleted segment's blocks are dropped with it. A
//! block is read by a task of its own, so a pull that gives up does not cancel a read others
//! wait for; a failed read is forgotten, and the next pull tries again.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::task::{Poll, Waker};

use super::error::{StoreError, StoreResult};
use super::io::{ReadBuf, SegmentFile};

/// One cached block, or its read in flight.
#[derive(Debug, Default)]
pub(super) struct Slot {
    data: RefCell<Option<StoreResult<ReadBuf>>>,
    waiters: RefCell<Vec<Waker>>,
    /// The cache's clock at the last use, for LRU eviction.
    used: Cell<u64>,
}

impl Slot {
    /// `[at, at + len)` of the block once it is read, sharing its buffer.
    pub(super) async fn range(&self, at: usize, len: usize) -> StoreResult<ReadBuf> {
        std::future::poll_fn(|cx| match &*self.data.borrow() {
            Some(Ok(buf)) => Poll::Ready(Ok(buf.slice(at, len))),
            Some(Err(e)) => Poll::Ready(Err(e.clone())),
            None => {
                self.waiters.borrow_mut().push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }

    fn loading(&self) -> bool {
        self.data.borrow().is_none()
    }
}

type Slots = Rc<RefCell<HashMap<u64, Rc<Slot>>>>;

/// The cache of one CommitLog.
#[derive(Debug)]
pub(super) struct ReadCache {
    block_size: u64,
    /// Most blocks held (reads in flight included).
    capacity: usize,
    slots: Slots,
    clock: Cell<u64>,
}

impl ReadCache {
    pub(super) fn new(block_size: usize, bytes: usize) -> Self {
        ReadCache {
            block_size: block_size as u64,
            capacity: bytes / block_size,
            slots: Rc::default(),
            clock: Cell::new(0),
        }
    }

    /// Whether the block at `start` is cached or being read.
    pub(super) fn has(&self, start: u64) -> bool {
        self.slots.borrow().contains_key(&start)
    }

    /// The block starting at log offset `start`, at `pos` in `file`: from the cache, or read
    /// once however many ask for it. `None` when the cache holds no blocks at all.
    pub(super) fn load(&self, start: u64, file: &SegmentFile, pos: u64) -> Option<Rc<Slot>> {
        if self.capacity == 0 {
            return None;
        }
        let now = self.clock.get() + 1;
        self.clock.set(now);
        if let Some(slot) = self.slots.borrow().get(&start) {
            slot.used.set(now);
            return Some(Rc::clone(slot));
        }
        self.make_room();
        let slot = Rc::new(Slot::default());
        slot.used.set(now);
        self.slots.borrow_mut().insert(start, Rc::clone(&slot));
        let (file, len) = (file.clone(), self.block_size as usize);
        let (filled, slots) = (Rc::clone(&slot), Rc::clone(&self.slots));
        glommio::spawn_local(async move {
            let read = match file.read_at(pos, len).await {
                Ok(buf) if buf.len() < len => Err(StoreError::OutOfRange {
                    offset: start,
                    size: len,
                }),
                other => other,
            };
            if read.is_err() {
                let mut slots = slots.borrow_mut();
                if slots.get(&start).is_some_and(|s| Rc::ptr_eq(s, &filled)) {
                    slots.remove(&start);
                }
            }
            *filled.data.borrow_mut() = Some(read);
            for waker in filled.waiters.take() {
                waker.wake();
            }
        })
        .detach();
        Some(slot)
    }

    /// Drops the least recently used finished block while the cache is full. Reads in flight
    /// stay: someone waits for them.
    fn make_room(&self) {
        let mut slots = self.slots.borrow_mut();
        while slots.len() >= self.capacity {
            let oldest = slots
                .iter()
                .filter(|(_, slot)| !slot.loading())
                .min_by_key(|(_, slot)| slot.used.get())
                .map(|(&start, _)| start);
            match oldest {
                Some(start) => slots.remove(&start),
                None => return,
            };
        }
    }

    /// Forgets every block in `[start, end)`: the segment holding them is deleted.
    pub(super) fn forget(&self, start: u64, end: u64) {
        self.slots
            .borrow_mut()
            .retain(|&block, _| block < start || block >= end);
    }
}
