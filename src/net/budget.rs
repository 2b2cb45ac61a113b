//! What the connections of one shard hold together, against the shard's limits: how many are
//! open, and the bytes queued for their peers and not yet on the sockets.
//!
//! Every connection's [`Outbox`](super::Outbox) counts its bytes here. Past the byte limit the
//! shard is over budget: connections with bytes queued (their peers are behind) are not read
//! until it is under again, while connections with nothing queued go on being served, so slow
//! readers wait and the others do not. The limit is where reading stops, not a cap on what is
//! queued: requests handed to the service before still answer, a few per connection (see
//! [`crate::limits::CONNECTION_IN_FLIGHT_BEHIND_MAX`]).
//!
//! Lives on its shard only (`Rc`): the server, its connections and whoever reports on them
//! share one.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::task::Waker;

use crate::limits;

#[derive(Debug)]
pub struct ShardBudget {
    connections_max: usize,
    open: Cell<usize>,
    queued_bytes_max: usize,
    queued: Cell<usize>,
    /// Readers waiting for the shard to be under budget, by connection id.
    paused: RefCell<HashMap<u64, Waker>>,
}

impl ShardBudget {
    /// At most `connections_max` connections at once; connections with bytes queued are
    /// paused while all hold more than `queued_bytes_max`.
    pub fn new(connections_max: usize, queued_bytes_max: usize) -> Self {
        ShardBudget {
            connections_max,
            open: Cell::new(0),
            queued_bytes_max,
            queued: Cell::new(0),
            paused: RefCell::default(),
        }
    }

    /// Connections open now.
    pub fn connections(&self) -> usize {
        self.open.get()
    }

    pub fn connections_max(&self) -> usize {
        self.connections_max
    }

    /// Bytes queued for the peers of every connection and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.queued.get()
    }

    /// Counts a new connection; false (and nothing counted) when the shard is full.
    pub(super) fn admit_connection(&self) -> bool {
        let open = self.open.get();
        if open >= self.connections_max {
            return false;
        }
        self.open.set(open + 1);
        true
    }

    /// A connection counted by [`ShardBudget::admit_connection`] has ended.
    pub(super) fn connection_ended(&self, id: u64) {
        self.open.set(self.open.get() - 1);
        self.paused.borrow_mut().remove(&id);
    }

    pub(super) fn is_over(&self) -> bool {
        self.queued.get() > self.queued_bytes_max
    }

    /// One connection's queued bytes went from `before` to `now`. Falling under the limit
    /// wakes every paused reader.
    pub(super) fn requeued(&self, before: usize, now: usize) {
        let was_over = self.is_over();
        self.queued.set(self.queued.get() - before + now);
        if was_over && !self.is_over() {
            for (_, waker) in self.paused.borrow_mut().drain() {
                waker.wake();
            }
        }
    }

    /// Wakes `waker` once the shard is under budget; one waker per connection.
    pub(super) fn wake_when_under(&self, id: u64, waker: &Waker) {
        self.paused.borrow_mut().insert(id, waker.clone());
    }
}

impl Default for ShardBudget {
    fn default() -> Self {
        ShardBudget::new(
            limits::SHARD_CONNECTIONS_MAX,
            limits::SHARD_WRITE_QUEUE_BYTES_MAX,
        )
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    use bytes::Bytes;

    use super::*;
    use crate::net::Outbox;
    use crate::wire::RemotingCommand;

    /// Counts its wakes.
    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn frame(body: usize) -> RemotingCommand {
        RemotingCommand::request(1, Default::default(), Bytes::from(vec![0; body]))
    }

    #[test]
    fn connections_are_counted_up_to_the_limit() {
        let budget = ShardBudget::new(2, 1024);
        assert!(budget.admit_connection() && budget.admit_connection());
        assert!(!budget.admit_connection(), "a third is refused");
        assert_eq!(budget.connections(), 2);
        budget.connection_ended(0);
        assert_eq!(budget.connections(), 1);
        assert!(budget.admit_connection(), "an ended one frees its place");
    }

    #[test]
    fn every_outbox_counts_into_the_budget_until_written_or_discarded() {
        let budget = Rc::new(ShardBudget::new(16, 1000));
        let (a, b) = (
            Outbox::counted_in(budget.clone()),
            Outbox::counted_in(budget.clone()),
        );
        a.push(&frame(300));
        b.push(&frame(400));
        assert_eq!(budget.queued_bytes(), a.queued_bytes() + b.queued_bytes());
        assert!(!budget.is_over());

        // Taken by the writer, the bytes still count until they are written.
        let batch = futures_lite::future::block_on(a.take()).expect("a batch");
        assert_eq!(budget.queued_bytes(), batch.wire_len() + b.queued_bytes());
        a.written();
        assert_eq!(budget.queued_bytes(), b.queued_bytes());

        b.push(&frame(400));
        assert!(budget.is_over());
        b.discard();
        assert_eq!(budget.queued_bytes(), 0);
        assert!(!b.push(&frame(1)), "a discarded outbox takes nothing more");
        assert_eq!(budget.queued_bytes(), 0);

        // An outbox of its own (a client connection's) counts nowhere.
        Outbox::default().push(&frame(5000));
        assert_eq!(budget.queued_bytes(), 0);
    }

    #[test]
    fn paused_readers_wake_together_when_the_shard_falls_under_budget() {
        let budget = Rc::new(ShardBudget::new(16, 1000));
        let slow = Outbox::counted_in(budget.clone());
        slow.push(&frame(2000));
        assert!(budget.is_over());
        let wakes: Vec<_> = (0..3).map(|_| Arc::new(Wakes::default())).collect();
        for (id, wake) in wakes.iter().enumerate() {
            assert!(budget.admit_connection());
            budget.wake_when_under(id as u64, &Waker::from(wake.clone()));
        }
        // One connection's ending forgets its reader.
        budget.connection_ended(2);

        let other = Outbox::counted_in(budget.clone());
        other.push(&frame(10));
        other.discard();
        assert!(
            wakes.iter().all(|w| w.0.load(Ordering::Relaxed) == 0),
            "still over"
        );

        slow.discard();
        let woken: Vec<_> = wakes.iter().map(|w| w.0.load(Ordering::Relaxed)).collect();
        assert_eq!(woken, [1, 1, 0]);
        assert!(budget.paused.borrow().is_empty());
    }
}
