//! A one-shot, many-waiter signal on one shard: set once, every waiter (present and future)
//! sees it. Used to tell accept loops and connections that the shard is shutting down.
//!
//! A waiter that is dropped before the latch is set removes its waker, so a long-lived latch
//! does not accumulate the wakers of connections that came and went, and once most of a crowd
//! of waiters has gone the map gives back the room they took.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

#[derive(Debug, Default)]
pub struct Latch {
    set: Cell<bool>,
    next_id: Cell<u64>,
    waiters: RefCell<HashMap<u64, Waker>>,
}

impl Latch {
    pub fn set(&self) {
        if !self.set.replace(true) {
            for (_, waker) in self.waiters.borrow_mut().drain() {
                waker.wake();
            }
        }
    }

    pub fn is_set(&self) -> bool {
        self.set.get()
    }

    /// Resolves once the latch is set.
    pub fn wait(&self) -> Wait<'_> {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        Wait { latch: self, id }
    }
}

#[derive(Debug)]
pub struct Wait<'a> {
    latch: &'a Latch,
    id: u64,
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.latch.set.get() {
            return Poll::Ready(());
        }
        self.latch
            .waiters
            .borrow_mut()
            .insert(self.id, cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        let mut waiters = self.latch.waiters.borrow_mut();
        waiters.remove(&self.id);
        // Halving at a quarter full: shrinking costs a copy, done once per halving.
        if waiters.capacity() > 64 && waiters.len() < waiters.capacity() / 4 {
            let keep = waiters.len() * 2;
            waiters.shrink_to(keep);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn dropped_waiters_leave_no_waker_nor_room_and_set_wakes_the_rest() {
        glommio::LocalExecutorBuilder::default()
            .spawn(|| async {
                let latch = Rc::new(Latch::default());
                for _ in 0..100 {
                    let waiter = latch.wait();
                    futures_lite::future::poll_once(waiter).await;
                }
                assert!(latch.waiters.borrow().is_empty());

                // A crowd of waiters at once, then gone: the map does not keep their room.
                let mut crowd: Vec<_> = (0..10_000).map(|_| Box::pin(latch.wait())).collect();
                for waiter in &mut crowd {
                    futures_lite::future::poll_once(waiter).await;
                }
                assert_eq!(latch.waiters.borrow().len(), 10_000);
                drop(crowd);
                assert!(latch.waiters.borrow().capacity() <= 64 * 2);

                let waiting = glommio::spawn_local({
                    let latch = latch.clone();
                    async move { latch.wait().await }
                });
                glommio::yield_if_needed().await;
                latch.set();
                waiting.await;
                latch.wait().await;
                assert!(latch.is_set());
            })
            .expect("executor")
            .join()
            .expect("join");
    }
}
