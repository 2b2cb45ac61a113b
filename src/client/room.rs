//! Waiting for room on one connection: callers whose request would pass the in-flight or
//! queued-bytes limit park here until a response, a timeout or a finished write frees room.
//!
//! Waiters queue in arrival order and are woken from the front, as many as the event frees
//! room for, so a freed slot does not wake every parked caller. A caller that finds room
//! never touches the queue. Invariant: the queue holds only live waiters (a dropped waiter
//! removes itself), and a waiter that was woken but dropped before it used its room passes
//! the wake-up on, so room never sits free while a live waiter sleeps.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// The wait queue of one connection.
#[derive(Debug, Default)]
pub(super) struct Room {
    waiters: RefCell<VecDeque<(u64, Waker)>>,
    next_id: Cell<u64>,
}

impl Room {
    /// Resolves once `ready()` holds; `ready` is checked first without queueing.
    pub(super) fn wait<F: Fn() -> bool>(&self, ready: F) -> Wait<'_, F> {
        Wait {
            room: self,
            ready,
            id: None,
            done: false,
        }
    }

    /// Wakes up to `count` waiters from the front.
    pub(super) fn notify(&self, count: usize) {
        for _ in 0..count {
            // Pop and release the borrow before waking: a waker may run code that waits again.
            let next = self.waiters.borrow_mut().pop_front();
            match next {
                Some((_, waker)) => waker.wake(),
                None => return,
            }
        }
    }

    pub(super) fn notify_all(&self) {
        let count = self.waiters.borrow().len();
        self.notify(count);
    }

    pub(super) fn waiting(&self) -> usize {
        self.waiters.borrow().len()
    }
}

/// The future of [`Room::wait`].
pub(super) struct Wait<'a, F> {
    room: &'a Room,
    ready: F,
    /// Set once the waiter has queued: its id in the queue.
    id: Option<u64>,
    done: bool,
}

impl<F> std::fmt::Debug for Wait<'_, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wait").field("id", &self.id).finish()
    }
}

// No field is structurally pinned.
impl<F> Unpin for Wait<'_, F> {}

impl<F: Fn() -> bool> Future for Wait<'_, F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if (this.ready)() {
            this.done = true;
            if let Some(id) = this.id {
                this.room
                    .waiters
                    .borrow_mut()
                    .retain(|(queued, _)| *queued != id);
            }
            return Poll::Ready(());
        }
        let mut waiters = this.room.waiters.borrow_mut();
        let queued = this
            .id
            .and_then(|id| waiters.iter_mut().find(|(queued, _)| *queued == id));
        match queued {
            Some((_, waker)) => waker.clone_from(cx.waker()),
            None => {
                // First wait, or woken without room (another caller took it): back of the queue.
                let id = this.room.next_id.get();
                this.room.next_id.set(id.wrapping_add(1));
                waiters.push_back((id, cx.waker().clone()));
                this.id = Some(id);
            }
        }
        Poll::Pending
    }
}

impl<F> Drop for Wait<'_, F> {
    fn drop(&mut self) {
        let Some(id) = self.id else { return };
        if self.done {
            return;
        }
        let mut waiters = self.room.waiters.borrow_mut();
        let before = waiters.len();
        waiters.retain(|(queued, _)| *queued != id);
        let was_queued = waiters.len() != before;
        drop(waiters);
        if !was_queued {
            // Woken for room it will not use: hand the wake-up to the next waiter.
            self.room.notify(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;

    #[test]
    fn woken_then_dropped_waiter_passes_the_wake_on() {
        glommio::LocalExecutorBuilder::default()
            .spawn(|| async {
                let room = Rc::new(Room::default());
                let free = Rc::new(Cell::new(false));
                let first = glommio::spawn_local({
                    let (room, free) = (room.clone(), free.clone());
                    async move { room.wait(|| free.get()).await }
                });
                let second = glommio::spawn_local({
                    let (room, free) = (room.clone(), free.clone());
                    async move { room.wait(|| free.get()).await }
                });
                glommio::executor().yield_task_queue_now().await;
                assert_eq!(room.waiting(), 2);
                free.set(true);
                room.notify(1);
                // The woken waiter is cancelled before it runs: the other one must still go.
                drop(first);
                second.await;
                assert_eq!(room.waiting(), 0);
            })
            .expect("executor")
            .join()
            .expect("join");
    }
}
