//! Long polling (docs/protocol.md §2.5.1): pulls that found nothing new wait here, keyed by
//! (topic, queue), until a matching message for that queue becomes readable, their suspend
//! deadline passes, or the shard shuts down. The pull handler then runs the read once more
//! and answers with the original opaque.
//!
//! One [`LongPoll`] per shard; the shard's store tells it of every ConsumeQueue entry reput
//! files ([`LongPoll::listener`]), which is the moment a pull can see the message.
//!
//! Invariants: at most `max` pulls are parked (a pull beyond it is answered at once, so a
//! flood of consumers cannot grow the table); a parked pull is listed exactly until it is
//! woken or its future is dropped (a closed connection drops it); waking only schedules the
//! waiting task, so it is safe from inside the store's reput. Timers come from an injected
//! [`Sleep`], so tests decide when deadlines pass.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::storage::store::DispatchListener;

/// Makes a future that resolves after a duration: glommio's timer in the broker, a
/// hand-driven one in tests.
pub type Sleep = Rc<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()>>>>;

/// The reactor's timer.
pub fn glommio_sleep() -> Sleep {
    Rc::new(|d| {
        Box::pin(async move {
            glommio::timer::sleep(d).await;
        })
    })
}

/// Why a parked pull stopped waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// A message at or past the pull's offset, passing its tag filter, is readable.
    Arrived,
    Deadline,
    Shutdown,
}

/// A pull could not be parked: the table is full or the shard is shutting down. Answer it
/// now with PULL_NOT_FOUND.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotParked;

#[derive(Debug)]
struct Slot {
    /// The queue offset the pull waits for.
    offset: u64,
    /// Tag codes the pull accepts; `None` accepts every message.
    codes: Option<Rc<[i64]>>,
    woken: Cell<Option<Wake>>,
    waker: RefCell<Option<Waker>>,
    listed: Cell<bool>,
}

impl Slot {
    fn wake(&self, why: Wake) {
        self.listed.set(false);
        self.woken.set(Some(why));
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }
}

type Table = HashMap<String, HashMap<u32, Vec<Rc<Slot>>>>;

/// The shard's parked pulls.
pub struct LongPoll {
    parked: RefCell<Table>,
    count: Cell<usize>,
    max: usize,
    closed: Cell<bool>,
    sleep: Sleep,
}

impl std::fmt::Debug for LongPoll {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LongPoll")
            .field("count", &self.count.get())
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl LongPoll {
    /// At most `max` parked pulls (normally [`crate::limits::PULL_PARKED_MAX`]).
    pub fn new(max: usize, sleep: Sleep) -> Rc<LongPoll> {
        Rc::new(LongPoll {
            parked: RefCell::new(HashMap::new()),
            count: Cell::new(0),
            max,
            closed: Cell::new(false),
            sleep,
        })
    }

    /// Pulls waiting now.
    pub fn parked(&self) -> usize {
        self.count.get()
    }

    /// Parks a pull of (topic, queue) waiting for `offset`; the future says why it woke.
    pub fn park(
        self: &Rc<Self>,
        topic: &str,
        queue_id: u32,
        offset: u64,
        codes: Option<Rc<[i64]>>,
        timeout: Duration,
    ) -> Result<Parked, NotParked> {
        if self.closed.get() || self.count.get() >= self.max {
            return Err(NotParked);
        }
        let slot = Rc::new(Slot {
            offset,
            codes,
            woken: Cell::new(None),
            waker: RefCell::new(None),
            listed: Cell::new(true),
        });
        let mut table = self.parked.borrow_mut();
        let queues = match table.get_mut(topic) {
            Some(q) => q,
            None => table.entry(topic.to_owned()).or_default(),
        };
        queues.entry(queue_id).or_default().push(Rc::clone(&slot));
        self.count.set(self.count.get() + 1);
        Ok(Parked {
            poll: Rc::clone(self),
            topic: topic.to_owned(),
            queue_id,
            slot,
            deadline: (self.sleep)(timeout),
        })
    }

    /// A ConsumeQueue entry of (topic, queue) at `queue_offset` with `tags_code` became
    /// readable: wakes the pulls it satisfies.
    pub fn notify(&self, topic: &str, queue_id: u32, queue_offset: u64, tags_code: i64) {
        let mut table = self.parked.borrow_mut();
        let Some(slots) = table.get_mut(topic).and_then(|q| q.get_mut(&queue_id)) else {
            return;
        };
        let before = slots.len();
        slots.retain(|slot| {
            let wanted = queue_offset >= slot.offset
                && slot.codes.as_ref().map_or(true, |c| c.contains(&tags_code));
            if wanted {
                slot.wake(Wake::Arrived);
            }
            !wanted
        });
        self.count.set(self.count.get() - (before - slots.len()));
        if slots.is_empty() {
            Self::drop_queue(&mut table, topic, queue_id);
        }
    }

    /// Wakes every parked pull and refuses new ones: the shard is stopping.
    pub fn shutdown(&self) {
        self.closed.set(true);
        let table = std::mem::take(&mut *self.parked.borrow_mut());
        for slot in table.into_values().flat_map(|q| q.into_values().flatten()) {
            slot.wake(Wake::Shutdown);
        }
        self.count.set(0);
    }

    /// The store listener that feeds [`LongPoll::notify`]. It holds the table weakly, so the
    /// store does not keep a dropped shard's table alive.
    pub fn listener(self: &Rc<Self>) -> DispatchListener {
        let weak: Weak<LongPoll> = Rc::downgrade(self);
        Box::new(move |topic, queue_id, offset, tags_code| {
            if let Some(poll) = weak.upgrade() {
                poll.notify(topic, queue_id.0, offset.0, tags_code);
            }
        })
    }

    fn unlist(&self, topic: &str, queue_id: u32, slot: &Rc<Slot>) {
        if !slot.listed.replace(false) {
            return;
        }
        let mut table = self.parked.borrow_mut();
        if let Some(slots) = table.get_mut(topic).and_then(|q| q.get_mut(&queue_id)) {
            slots.retain(|s| !Rc::ptr_eq(s, slot));
            if slots.is_empty() {
                Self::drop_queue(&mut table, topic, queue_id);
            }
        }
        self.count.set(self.count.get() - 1);
    }

    fn drop_queue(table: &mut Table, topic: &str, queue_id: u32) {
        if let Some(queues) = table.get_mut(topic) {
            queues.remove(&queue_id);
            if queues.is_empty() {
                table.remove(topic);
            }
        }
    }
}

/// A parked pull; resolves with why it woke. Dropping it unlists the pull.
pub struct Parked {
    poll: Rc<LongPoll>,
    topic: String,
    queue_id: u32,
    slot: Rc<Slot>,
    deadline: Pin<Box<dyn Future<Output = ()>>>,
}

impl std::fmt::Debug for Parked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parked")
            .field("topic", &self.topic)
            .field("queue_id", &self.queue_id)
            .field("offset", &self.slot.offset)
            .finish_non_exhaustive()
    }
}

impl Future for Parked {
    type Output = Wake;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Wake> {
        if let Some(why) = self.slot.woken.get() {
            return Poll::Ready(why);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            let this = &*self;
            this.poll.unlist(&this.topic, this.queue_id, &this.slot);
            return Poll::Ready(Wake::Deadline);
        }
        *self.slot.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Parked {
    fn drop(&mut self) {
        self.poll.unlist(&self.topic, self.queue_id, &self.slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::data::test_support::ManualTimer;
    use crate::storage::run_local;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn only_a_matching_message_at_or_past_the_offset_wakes() {
        run_local(|| async {
            let poll = LongPoll::new(8, Rc::new(ManualTimer::default()).sleep());
            let codes: Rc<[i64]> = Rc::from(vec![7i64]);
            let parked = poll.park("T", 0, 5, Some(codes), HOUR).expect("room");
            poll.notify("T", 0, 4, 7); // below the offset
            poll.notify("T", 1, 5, 7); // another queue
            poll.notify("T", 0, 5, 8); // another tag
            assert_eq!(poll.parked(), 1);
            poll.notify("T", 0, 6, 7);
            assert_eq!(poll.parked(), 0);
            assert_eq!(parked.await, Wake::Arrived);
        });
    }

    #[test]
    fn dropping_a_parked_pull_unlists_it() {
        run_local(|| async {
            let poll = LongPoll::new(1, Rc::new(ManualTimer::default()).sleep());
            let parked = poll.park("T", 0, 0, None, HOUR).expect("room");
            assert_eq!(poll.park("T", 0, 0, None, HOUR).err(), Some(NotParked));
            drop(parked);
            assert_eq!(poll.parked(), 0);
            let again = poll.park("T", 0, 0, None, HOUR).expect("room again");
            poll.shutdown();
            assert_eq!(again.await, Wake::Shutdown);
            assert_eq!(poll.park("T", 0, 0, None, HOUR).err(), Some(NotParked));
        });
    }
}
