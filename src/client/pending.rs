//! The requests of one connection that wait for a response: opaque → entry, the timeout
//! scan, and failing them all when the connection dies.
//!
//! Lives on the connection's shard (`Rc`). Invariants:
//! - an entry is inserted after its frame is queued and removed only by the future that
//!   waits for it (on completion or when dropped), so `len()` counts exactly the requests
//!   holding a slot of the in-flight limit;
//! - an entry completes once: by its response, its deadline or the connection's failure;
//!   whichever comes later finds it done and is dropped (a late response counts as
//!   unmatched);
//! - once closed, no entry is inserted and every entry is done.
//!
//! Timeouts cost no timer per request: one scan task sleeps until the earliest deadline (plus
//! [`TIMEOUT_GRANULARITY`], so deadlines close together share a scan) and is woken early only
//! when a request arrives with a deadline before the one it sleeps to. With one timeout per
//! connection that is about one scan per timeout period.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::{poll_fn, Future};
use std::hash::{BuildHasherDefault, Hasher};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::room::Room;
use super::{ClientError, CloseReason};
use crate::wire::RemotingCommand;

/// How late a timeout may fire; deadlines within it are expired by one scan.
pub const TIMEOUT_GRANULARITY: Duration = Duration::from_millis(2);

/// Entries reserved when a connection opens; the table grows past it (up to the in-flight
/// limit) at most a few times in a connection's life and never shrinks.
const ENTRIES_RESERVED: usize = 256;

/// A deadline for a timeout too large to add to `now`.
const FAR_FUTURE: Duration = Duration::from_secs(365 * 24 * 3600);

#[derive(Debug)]
struct Entry {
    code: i32,
    timeout: Duration,
    deadline: Instant,
    slot: Slot,
}

#[derive(Debug)]
enum Slot {
    Waiting(Option<Waker>),
    Done(Result<RemotingCommand, ClientError>),
}

/// The pending requests of one connection.
#[derive(Debug)]
pub(super) struct Pending {
    entries: RefCell<HashMap<i32, Entry, BuildHasherDefault<OpaqueHasher>>>,
    next_opaque: Cell<i32>,
    unmatched: Cell<u64>,
    closed: RefCell<Option<CloseReason>>,
    room: Room,
    /// The deadline the scan task sleeps until; `None` while it waits for a first entry.
    armed: Cell<Option<Instant>>,
    rearm: Cell<bool>,
    scanner: RefCell<Option<Waker>>,
}

impl Pending {
    pub(super) fn new() -> Pending {
        let mut entries = HashMap::default();
        entries.reserve(ENTRIES_RESERVED);
        Pending {
            entries: RefCell::new(entries),
            next_opaque: Cell::new(0),
            unmatched: Cell::new(0),
            closed: RefCell::new(None),
            room: Room::default(),
            armed: Cell::new(None),
            rearm: Cell::new(false),
            scanner: RefCell::new(None),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    pub(super) fn room(&self) -> &Room {
        &self.room
    }

    /// Responses that matched no waiting request (late after a timeout, or never asked for).
    pub(super) fn unmatched(&self) -> u64 {
        self.unmatched.get()
    }

    pub(super) fn close_reason(&self) -> Option<CloseReason> {
        self.closed.borrow().clone()
    }

    /// The next opaque of this connection's counter, skipping values still pending after
    /// the counter wrapped.
    pub(super) fn next_opaque(&self) -> i32 {
        let entries = self.entries.borrow();
        loop {
            let opaque = self.next_opaque.get();
            self.next_opaque.set(opaque.wrapping_add(1));
            if !entries.contains_key(&opaque) {
                return opaque;
            }
        }
    }

    /// Registers a request whose frame is queued. The caller checked that the connection is
    /// open and that `opaque` came from [`Pending::next_opaque`] since.
    pub(super) fn insert(&self, opaque: i32, code: i32, timeout: Duration) {
        let now = Instant::now();
        let deadline = now.checked_add(timeout).unwrap_or_else(|| now + FAR_FUTURE);
        let entry = Entry {
            code,
            timeout,
            deadline,
            slot: Slot::Waiting(None),
        };
        let previous = self.entries.borrow_mut().insert(opaque, entry);
        debug_assert!(previous.is_none(), "opaque {opaque} pending twice");
        if self.armed.get().map_or(true, |armed| deadline < armed) {
            self.wake_scanner();
        }
    }

    /// Waits for the response to `opaque`; dropping the future forgets the request.
    pub(super) fn response(&self, opaque: i32) -> Response<'_> {
        Response {
            pending: self,
            opaque,
            done: false,
        }
    }

    /// Hands a response to the request waiting for it, or drops it.
    pub(super) fn complete(&self, response: RemotingCommand) {
        let opaque = response.opaque;
        let mut entries = self.entries.borrow_mut();
        let Some(Entry {
            slot: slot @ Slot::Waiting(_),
            ..
        }) = entries.get_mut(&opaque)
        else {
            drop(entries);
            self.unmatched.set(self.unmatched.get() + 1);
            tracing::debug!(
                opaque,
                code = response.code,
                "response to no waiting request"
            );
            return;
        };
        let waiting = std::mem::replace(slot, Slot::Done(Ok(response)));
        drop(entries);
        if let Slot::Waiting(Some(waker)) = waiting {
            waker.wake();
        }
    }

    /// Fails every waiting request with `reason` and refuses new ones.
    pub(super) fn fail_all(&self, reason: CloseReason) {
        if self.closed.borrow().is_some() {
            return;
        }
        *self.closed.borrow_mut() = Some(reason.clone());
        let mut wakers = Vec::new();
        for entry in self.entries.borrow_mut().values_mut() {
            if let Slot::Waiting(waker) = &mut entry.slot {
                wakers.extend(waker.take());
                entry.slot = Slot::Done(Err(ClientError::Closed(reason.clone())));
            }
        }
        wakers.into_iter().for_each(Waker::wake);
        self.room.notify_all();
        self.wake_scanner();
    }

    /// Expires the entries due at `now`; returns the earliest deadline still waiting.
    fn expire(&self, now: Instant) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut wakers = Vec::new();
        for entry in self.entries.borrow_mut().values_mut() {
            let Slot::Waiting(waker) = &mut entry.slot else {
                continue;
            };
            if entry.deadline <= now {
                wakers.extend(waker.take());
                entry.slot = Slot::Done(Err(ClientError::Timeout {
                    code: entry.code,
                    timeout: entry.timeout,
                }));
            } else if next.map_or(true, |next| entry.deadline < next) {
                next = Some(entry.deadline);
            }
        }
        wakers.into_iter().for_each(Waker::wake);
        next
    }

    /// The timeout scan; returns once the connection is closed.
    pub(super) async fn scan(&self) {
        while self.closed.borrow().is_none() {
            let now = Instant::now();
            let next = self.expire(now);
            self.armed.set(next);
            let rearmed = poll_fn(|cx| {
                if self.rearm.replace(false) {
                    return Poll::Ready(());
                }
                *self.scanner.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            });
            match next {
                Some(deadline) => {
                    let sleep = deadline.saturating_duration_since(now) + TIMEOUT_GRANULARITY;
                    futures_lite::future::or(rearmed, glommio::timer::sleep(sleep)).await;
                }
                None => rearmed.await,
            }
        }
    }

    fn wake_scanner(&self) {
        self.rearm.set(true);
        if let Some(waker) = self.scanner.borrow_mut().take() {
            waker.wake();
        }
    }

    fn poll_response(
        &self,
        opaque: i32,
        cx: &mut Context<'_>,
    ) -> Poll<Result<RemotingCommand, ClientError>> {
        let mut entries = self.entries.borrow_mut();
        let Some(entry) = entries.get_mut(&opaque) else {
            // Only the future removes its entry, so this is a bug; fail the call, not the shard.
            debug_assert!(false, "no entry for pending opaque {opaque}");
            let reason = self.closed.borrow().clone().unwrap_or(CloseReason::Local);
            return Poll::Ready(Err(ClientError::Closed(reason)));
        };
        if let Slot::Waiting(waker) = &mut entry.slot {
            match waker {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => *waker = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        }
        let outcome = match entries.remove(&opaque).map(|entry| entry.slot) {
            Some(Slot::Done(outcome)) => outcome,
            _ => unreachable!("entry checked done above"),
        };
        drop(entries);
        self.room.notify(1);
        Poll::Ready(outcome)
    }

    fn forget(&self, opaque: i32) {
        let removed = self.entries.borrow_mut().remove(&opaque);
        if removed.is_some() {
            self.room.notify(1);
        }
    }
}

/// The future of [`Pending::response`].
#[derive(Debug)]
pub(super) struct Response<'a> {
    pending: &'a Pending,
    opaque: i32,
    done: bool,
}

impl Future for Response<'_> {
    type Output = Result<RemotingCommand, ClientError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let outcome = self.pending.poll_response(self.opaque, cx);
        if outcome.is_ready() {
            self.done = true;
        }
        outcome
    }
}

impl Drop for Response<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.pending.forget(self.opaque);
        }
    }
}

/// Opaques are a counter: a multiply spreads consecutive values over the table's high bits,
/// where the default SipHash would spend most of a lookup on hashing four bytes.
#[derive(Debug, Default)]
pub(super) struct OpaqueHasher(u64);

impl Hasher for OpaqueHasher {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*byte)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_i32(&mut self, value: i32) {
        self.0 = u64::from(value as u32).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
