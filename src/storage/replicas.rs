//! What a master shard knows of its slaves' copies of its log (docs/replication.md): how
//! many are connected and the furthest offset one of them has stored. The HA connections
//! report; a SYNC_MASTER send waits here until a slave holds its record.

use std::cell::{Cell, RefCell};
use std::task::{Poll, Waker};

/// A slave further behind than this is not in sync (Java's `haMaxGapNotInSync`, 256 MiB): a
/// SYNC_MASTER send does not wait for it.
pub const IN_SYNC_GAP_MAX: u64 = 256 << 20;

/// The slaves of one shard's log.
#[derive(Debug, Default)]
pub struct Replicas {
    connected: Cell<usize>,
    /// The furthest end of the log a slave has reported storing.
    acked: Cell<u64>,
    /// Waiting for `acked` to reach an offset.
    waiters: RefCell<Vec<(u64, Waker)>>,
}

impl Replicas {
    /// A slave connected; it has stored the log up to `end`.
    pub fn connected(&self, end: u64) {
        self.connected.set(self.connected.get() + 1);
        self.acked(end);
    }

    /// A slave's connection ended. With none left, the sends still waiting time out, and
    /// their wakers go (a stalled slave that timed sends out left one each).
    pub fn disconnected(&self) {
        self.connected.set(self.connected.get().saturating_sub(1));
        if self.connected.get() == 0 {
            self.waiters.borrow_mut().clear();
        }
    }

    /// Slaves connected now.
    pub fn count(&self) -> usize {
        self.connected.get()
    }

    /// The furthest log end a slave has reported.
    pub fn acked_end(&self) -> u64 {
        self.acked.get()
    }

    /// A slave reports it has stored the log up to `end`.
    pub fn acked(&self, end: u64) {
        if end <= self.acked.get() {
            return;
        }
        self.acked.set(end);
        self.waiters.borrow_mut().retain(|(wanted, waker)| {
            let reached = *wanted <= end;
            if reached {
                waker.wake_by_ref();
            }
            !reached
        });
    }

    /// Whether a slave is connected and close enough to `end` to be waited for.
    pub fn in_sync(&self, end: u64) -> bool {
        self.count() > 0 && end.saturating_sub(self.acked.get()) < IN_SYNC_GAP_MAX
    }

    /// Resolves once a slave has stored the log up to `end`.
    pub async fn stored(&self, end: u64) {
        std::future::poll_fn(|cx| {
            if self.acked.get() >= end {
                return Poll::Ready(());
            }
            self.waiters.borrow_mut().push((end, cx.waker().clone()));
            Poll::Pending
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_wake_the_sends_they_cover() {
        let replicas = Replicas::default();
        assert!(!replicas.in_sync(0), "no slave");
        replicas.connected(100);
        assert!(replicas.in_sync(100 + IN_SYNC_GAP_MAX - 1));
        assert!(!replicas.in_sync(100 + IN_SYNC_GAP_MAX));
        let done = std::rc::Rc::new(Cell::new(0));
        let executor = glommio::LocalExecutor::default();
        executor.run(async {
            let replicas = &replicas;
            let waits = [150, 200].map(|end| {
                let done = done.clone();
                async move {
                    replicas.stored(end).await;
                    done.set(done.get() + 1);
                }
            });
            let [first, second] = waits;
            let report = async {
                replicas.acked(120);
                glommio::yield_if_needed().await;
                assert_eq!(done.get(), 0, "120 covers neither");
                replicas.acked(150);
                glommio::executor().yield_now().await;
                replicas.acked(90);
                replicas.acked(250);
            };
            futures_lite::future::zip(futures_lite::future::zip(first, second), report).await;
        });
        assert_eq!(done.get(), 2);
        assert_eq!(
            replicas.acked_end(),
            250,
            "an older report moves nothing back"
        );
        replicas.disconnected();
        assert!(!replicas.in_sync(250));
    }
}
