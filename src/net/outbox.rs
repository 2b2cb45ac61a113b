//! The bounded write queue of one connection.
//!
//! Responses and broker-initiated requests are encoded straight into `pending`; the
//! connection's writer task swaps the whole buffer out and writes it, so frames finished
//! close together leave in one `send`. The reader looks at [`Outbox::queued_bytes`] before it
//! reads more requests, and a server connection's outbox counts its bytes into the shard's
//! [`ShardBudget`]: a peer that does not read its responses stops being read.
//!
//! Lives on the connection's shard only (`Rc`); one writer and one reader wait on it.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

use bytes::{Bytes, BytesMut};

use super::ShardBudget;
use crate::wire::codes::response_code;
use crate::wire::{ExtFields, RemotingCommand, WireError};

#[derive(Debug, Default)]
pub struct Outbox {
    pending: RefCell<BytesMut>,
    /// Bytes taken by the writer and not yet on the socket.
    writing: Cell<usize>,
    closed: Cell<bool>,
    /// Set by [`Outbox::discard`]: the writer stops, even in the middle of a batch.
    discarded: Cell<bool>,
    writer: RefCell<Option<Waker>>,
    reader: RefCell<Option<Waker>>,
    /// The shard's budget this outbox counts into, and what it counted last.
    budget: Option<Rc<ShardBudget>>,
    counted: Cell<usize>,
}

impl Outbox {
    /// An outbox whose bytes count into `budget`.
    pub(super) fn counted_in(budget: Rc<ShardBudget>) -> Outbox {
        Outbox {
            budget: Some(budget),
            ..Outbox::default()
        }
    }

    /// Queues one frame. Returns false (and drops the frame) once the connection is closed.
    pub fn push(&self, command: &RemotingCommand) -> bool {
        if self.closed.get() {
            return false;
        }
        let mut pending = self.pending.borrow_mut();
        if let Err(error) = command.encode(&mut pending) {
            // Our own frame breaks a wire limit (a bug, or a body past the frame size): the
            // peer must still learn that its request failed rather than wait for a timeout.
            tracing::error!(code = command.code, opaque = command.opaque, %error, "frame not sent");
            if command.is_response() {
                let mut failure = command.clone();
                failure.code = response_code::SYSTEM_ERROR;
                failure.remark = Some(format!("response could not be encoded: {error}"));
                failure.ext_fields = ExtFields::new();
                failure.body = Bytes::new();
                // A bare response always encodes.
                let _ = failure.encode(&mut pending);
            }
        }
        drop(pending);
        self.recount();
        wake(&self.writer);
        true
    }

    /// Queues one frame, or hands the codec's refusal back with nothing queued: a client
    /// reports it to the caller of the request instead of answering the peer. `Ok(false)`
    /// once the connection is closed.
    pub fn try_push(&self, command: &RemotingCommand) -> Result<bool, WireError> {
        if self.closed.get() {
            return Ok(false);
        }
        command.encode(&mut self.pending.borrow_mut())?;
        self.recount();
        wake(&self.writer);
        Ok(true)
    }

    /// Bytes queued or being written.
    pub fn queued_bytes(&self) -> usize {
        self.pending.borrow().len() + self.writing.get()
    }

    /// Waits until frames are queued and takes them all; `None` once closed and drained.
    pub async fn take(&self) -> Option<BytesMut> {
        poll_fn(|cx| {
            let mut pending = self.pending.borrow_mut();
            if !pending.is_empty() {
                let batch = pending.split();
                self.writing.set(batch.len());
                return Poll::Ready(Some(batch));
            }
            if self.closed.get() {
                return Poll::Ready(None);
            }
            *self.writer.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// The writer finished the batch it took: frees its room for the reader.
    pub fn written(&self) {
        self.writing.set(0);
        let mut pending = self.pending.borrow_mut();
        if pending.is_empty() {
            // Nothing waits: the room left over from the last batches goes too, so a
            // connection whose peer is idle holds no write buffer.
            *pending = BytesMut::new();
        }
        drop(pending);
        self.recount();
        wake(&self.reader);
    }

    /// Wakes `waker` when the writer frees room or the outbox closes.
    pub(super) fn wake_on_room(&self, waker: &Waker) {
        *self.reader.borrow_mut() = Some(waker.clone());
    }

    /// No more frames are accepted; the writer drains what is queued and stops.
    pub fn close(&self) {
        self.closed.set(true);
        wake(&self.writer);
        wake(&self.reader);
    }

    /// Closes the outbox, drops what it still holds and stops its writer (see
    /// [`Outbox::discarded`]): the connection is over, and its bytes leave the shard's budget
    /// with it rather than with the last holder of its peer (a request still in flight).
    pub(super) fn discard(&self) {
        self.discarded.set(true);
        *self.pending.borrow_mut() = BytesMut::new();
        self.writing.set(0);
        self.recount();
        self.close();
    }

    /// Resolves once the outbox is discarded. The writer waits on it beside its write, so
    /// that a peer that does not read holds neither the writer nor the socket once the
    /// connection is over.
    pub(super) async fn discarded(&self) {
        poll_fn(|cx| {
            if self.discarded.get() {
                return Poll::Ready(());
            }
            *self.writer.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// Waits until everything queued is written, or discarded.
    pub(super) async fn emptied(&self) {
        poll_fn(|cx| {
            if self.queued_bytes() == 0 {
                return Poll::Ready(());
            }
            self.wake_on_room(cx.waker());
            Poll::Pending
        })
        .await
    }

    pub fn is_closed(&self) -> bool {
        self.closed.get()
    }

    /// Brings the shard's budget in line with what this outbox holds now.
    fn recount(&self) {
        if let Some(budget) = &self.budget {
            let now = self.queued_bytes();
            budget.requeued(self.counted.replace(now), now);
        }
    }
}

fn wake(slot: &RefCell<Option<Waker>>) {
    if let Some(waker) = slot.borrow_mut().take() {
        waker.wake();
    }
}
