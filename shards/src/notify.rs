//! Shard-local wake-up primitives: [`Notify`] (wake every waiter on each change) and [`Event`]
//! (a latch that stays set).
//!
//! Both live on one shard (`Rc`, no atomics). Invariant: a waiter registers at most one waker,
//! keyed by its own slot, and removes it when dropped, so loops that race a wait against other
//! futures many times do not grow the waiter list.

use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
    future::Future,
    pin::Pin,
    rc::Rc,
    task::{Context, Poll, Waker},
};

#[derive(Debug, Default)]
struct Waiters {
    generation: Cell<u64>,
    next_key: Cell<u64>,
    wakers: RefCell<HashMap<u64, Waker>>,
}

/// Wakes every current waiter each time [`Notify::notify_all`] is called.
#[derive(Clone, Debug, Default)]
pub(crate) struct Notify {
    inner: Rc<Waiters>,
}

impl Notify {
    pub(crate) fn notify_all(&self) {
        let inner = &self.inner;
        inner.generation.set(inner.generation.get().wrapping_add(1));
        // Take the wakers out first: a woken task may register again from inside `wake`.
        let wakers: Vec<Waker> = inner.wakers.borrow_mut().drain().map(|(_, w)| w).collect();
        for waker in wakers {
            waker.wake();
        }
    }

    /// Resolves at the first `notify_all` after this call. Callers check their condition,
    /// then wait, then check again: nothing can run between the check and the first poll of
    /// this future on a single-threaded executor, so no notification is lost.
    pub(crate) fn notified(&self) -> Notified {
        Notified {
            inner: self.inner.clone(),
            generation: self.inner.generation.get(),
            key: None,
        }
    }
}

/// Future returned by [`Notify::notified`].
#[derive(Debug)]
pub(crate) struct Notified {
    inner: Rc<Waiters>,
    generation: u64,
    key: Option<u64>,
}

impl Future for Notified {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.inner.generation.get() != self.generation {
            return Poll::Ready(());
        }
        let key = match self.key {
            Some(key) => key,
            None => {
                let key = self.inner.next_key.get();
                self.inner.next_key.set(key.wrapping_add(1));
                self.key = Some(key);
                key
            }
        };
        let mut wakers = self.inner.wakers.borrow_mut();
        match wakers.get_mut(&key) {
            Some(old) if old.will_wake(cx.waker()) => {}
            Some(old) => old.clone_from(cx.waker()),
            None => {
                wakers.insert(key, cx.waker().clone());
            }
        }
        Poll::Pending
    }
}

impl Drop for Notified {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.inner.wakers.borrow_mut().remove(&key);
        }
    }
}

/// A latch: once set it stays set, and every present and future waiter completes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Event {
    set: Rc<Cell<bool>>,
    notify: Notify,
}

impl Event {
    pub(crate) fn set(&self) {
        if !self.set.replace(true) {
            self.notify.notify_all();
        }
    }

    pub(crate) fn is_set(&self) -> bool {
        self.set.get()
    }

    pub(crate) async fn wait(&self) {
        while !self.is_set() {
            self.notify.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future;

    #[test]
    fn event_wakes_waiters_and_stays_set() {
        let event = Event::default();
        let mut waiter = Box::pin(event.wait());
        assert!(future::block_on(future::poll_once(&mut waiter)).is_none());
        event.set();
        assert!(future::block_on(future::poll_once(&mut waiter)).is_some());
        assert!(future::block_on(future::poll_once(event.wait())).is_some());
    }

    #[test]
    fn repeated_polls_keep_one_waker_per_waiter() {
        let notify = Notify::default();
        let mut waiter = Box::pin(notify.notified());
        for _ in 0..10 {
            assert!(future::block_on(future::poll_once(&mut waiter)).is_none());
        }
        assert_eq!(notify.inner.wakers.borrow().len(), 1);
        drop(waiter);
        assert!(notify.inner.wakers.borrow().is_empty());
    }
}
