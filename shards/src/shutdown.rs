//! Shutdown: the process-wide trigger ([`ShutdownHandle`]) and each shard's [`Gate`].
//!
//! The handle is the only cross-thread piece (an atomic flag plus the wakers of one watcher
//! task per shard); everything else is shard-local. Invariants: the trigger is one-way; a
//! gate starts closing exactly once, after which [`Gate::enter`] fails, and it is drained
//! when closing has begun and no [`Pass`] is alive.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    rc::Rc,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, PoisonError,
    },
    task::{Context, Poll, Waker},
};

use crate::{notify::Event, ShardId};

/// Why shutdown began; logged once and used to pick the error `launch` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    Requested,
    Signal(i32),
    ShardFailed(ShardId),
}

#[derive(Debug, Default)]
struct Trigger {
    fired: AtomicBool,
    state: Mutex<TriggerState>,
}

#[derive(Debug, Default)]
struct TriggerState {
    reason: Option<Reason>,
    wakers: Vec<Waker>,
}

/// Starts a graceful shutdown of every shard of one launch. Cheap to clone, `Send + Sync`.
#[derive(Clone, Debug, Default)]
pub struct ShutdownHandle {
    trigger: Arc<Trigger>,
}

impl ShutdownHandle {
    /// A handle not yet attached to a launch; pass it to [`crate::Launcher::with_shutdown`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Begins shutdown on every shard. Idempotent and callable from any thread.
    pub fn trigger(&self) {
        self.fire(Reason::Requested);
    }

    /// Whether shutdown has begun.
    pub fn is_triggered(&self) -> bool {
        self.trigger.fired.load(Ordering::Acquire)
    }

    pub(crate) fn fire(&self, reason: Reason) {
        let wakers = {
            let mut state = self.lock();
            if state.reason.is_none() {
                state.reason = Some(reason);
                tracing::info!(?reason, "shutdown begins");
            }
            self.trigger.fired.store(true, Ordering::Release);
            std::mem::take(&mut state.wakers)
        };
        for waker in wakers {
            waker.wake();
        }
    }

    /// The reason recorded by the first trigger, if any.
    pub(crate) fn reason(&self) -> Option<Reason> {
        self.lock().reason
    }

    /// Resolves once shutdown has been triggered, from whichever thread.
    pub(crate) fn triggered(&self) -> Triggered {
        Triggered {
            handle: self.clone(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TriggerState> {
        // A panic while holding this lock cannot leave the state inconsistent: every
        // critical section is a plain field update.
        self.trigger
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Future returned by [`ShutdownHandle::triggered`].
#[derive(Debug)]
pub(crate) struct Triggered {
    handle: ShutdownHandle,
}

impl Future for Triggered {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.handle.is_triggered() {
            return Poll::Ready(());
        }
        let mut state = self.handle.lock();
        // Checked again under the lock: `fire` sets the flag before taking the wakers.
        if self.handle.is_triggered() {
            return Poll::Ready(());
        }
        if !state.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            state.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// Admission to a shard's in-flight work. Shutdown of the shard waits for every [`Pass`].
#[derive(Clone, Debug, Default)]
pub struct Gate {
    inner: Rc<GateInner>,
}

#[derive(Debug, Default)]
struct GateInner {
    passes: std::cell::Cell<usize>,
    closing: Event,
    drained: Event,
}

/// Returned by [`Gate::enter`] once shutdown has begun.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GateClosed;

impl fmt::Display for GateClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the shard is shutting down and admits no new work")
    }
}

impl std::error::Error for GateClosed {}

impl Gate {
    /// A pass for one unit of in-flight work; fails once the shard is closing.
    pub fn enter(&self) -> Result<Pass, GateClosed> {
        if self.is_closing() {
            return Err(GateClosed);
        }
        Ok(self.admit())
    }

    /// Resolves when shutdown begins on this shard: accept loops stop here.
    pub fn closing(&self) -> impl Future<Output = ()> + 'static {
        let closing = self.inner.closing.clone();
        async move { closing.wait().await }
    }

    /// Whether shutdown has begun on this shard.
    pub fn is_closing(&self) -> bool {
        self.inner.closing.is_set()
    }

    /// Passes currently alive.
    pub fn passes(&self) -> usize {
        self.inner.passes.get()
    }

    /// Starts closing; the gate is drained as soon as no pass remains.
    pub(crate) fn close(&self) {
        self.inner.closing.set();
        if self.inner.passes.get() == 0 {
            self.inner.drained.set();
        }
    }

    /// Resolves once closing has begun and every pass is gone.
    pub(crate) async fn drained(&self) {
        self.inner.drained.wait().await;
    }

    fn admit(&self) -> Pass {
        self.inner.passes.set(self.inner.passes.get() + 1);
        Pass {
            gate: self.inner.clone(),
        }
    }
}

/// Held by in-flight work; dropping the last one lets a closing shard finish.
///
/// Cloning always succeeds, even while closing: work already admitted may fan out.
#[derive(Debug)]
pub struct Pass {
    gate: Rc<GateInner>,
}

impl Clone for Pass {
    fn clone(&self) -> Self {
        Gate {
            inner: self.gate.clone(),
        }
        .admit()
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        let left = self.gate.passes.get() - 1;
        self.gate.passes.set(left);
        if left == 0 && self.gate.closing.is_set() {
            self.gate.drained.set();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future;

    #[test]
    fn gate_drains_after_last_pass_and_refuses_new_ones() {
        let gate = Gate::default();
        let pass = gate.enter().expect("open gate");
        let child = pass.clone();
        gate.close();
        assert_eq!(gate.enter().err(), Some(GateClosed));
        let mut drained = Box::pin(gate.drained());
        assert!(future::block_on(future::poll_once(&mut drained)).is_none());
        drop(pass);
        assert!(future::block_on(future::poll_once(&mut drained)).is_none());
        drop(child);
        assert!(future::block_on(future::poll_once(&mut drained)).is_some());
    }

    #[test]
    fn trigger_wakes_a_waiter_on_another_thread() {
        let handle = ShutdownHandle::new();
        let remote = handle.clone();
        let waiter = std::thread::spawn(move || future::block_on(remote.triggered()));
        handle.trigger();
        waiter.join().expect("waiter thread");
        assert_eq!(handle.reason(), Some(Reason::Requested));
    }
}
