//! The bounded write queue of one connection.
//!
//! Responses and broker-initiated requests are encoded straight into the pending [`Batch`];
//! the connection's writer task swaps the whole batch out and writes it, so frames finished
//! close together leave in one `send`. A frame's [`SharedBody`] (a pull's records) is not
//! copied: the batch keeps it beside the encoded bytes, and the writer sends both with one
//! vectored write. The reader looks at [`Outbox::queued_bytes`] before it reads more
//! requests, and a server connection's outbox counts its bytes, and the memory its shared
//! bodies keep alive, into the shard's [`ShardBudget`]: a peer that does not read its
//! responses stops being read.
//!
//! Lives on the connection's shard only (`Rc`); one writer and one reader wait on it.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

use bytes::{Bytes, BytesMut};

use super::ShardBudget;
use crate::wire::codes::response_code;
use crate::wire::{ExtFields, RemotingCommand, SharedBody, TypedFields, WireError};

/// Frames on their way to the socket: their encoded bytes, and the shared bodies that go
/// between them.
#[derive(Debug, Default)]
pub struct Batch {
    bytes: BytesMut,
    /// Each shared body, after the first `.0` bytes of `bytes`.
    shared: Vec<(usize, SharedBody)>,
    /// The memory the shared bodies keep alive.
    held: usize,
}

impl Batch {
    /// Appends `command`'s frame, or nothing when the codec refuses it.
    fn push(&mut self, command: &RemotingCommand) -> Result<(), WireError> {
        command.encode_owned(&mut self.bytes)?;
        if !command.shared_body.is_empty() {
            self.held += command.shared_body.held_bytes();
            self.shared
                .push((self.bytes.len(), command.shared_body.clone()));
        }
        Ok(())
    }

    /// The memory the batch takes while it waits.
    fn queued_bytes(&self) -> usize {
        self.bytes.len() + self.held
    }

    fn is_empty(&self) -> bool {
        self.bytes.is_empty() && self.shared.is_empty()
    }

    /// Takes the frames queued so far; the room left stays for the next ones.
    fn split(&mut self) -> Batch {
        Batch {
            bytes: self.bytes.split(),
            shared: std::mem::take(&mut self.shared),
            held: std::mem::take(&mut self.held),
        }
    }

    /// The encoded bytes, when the batch has no shared body: what one plain write sends.
    pub fn only_bytes(&self) -> Option<&[u8]> {
        self.shared.is_empty().then_some(&self.bytes[..])
    }

    /// Bytes on the wire.
    #[cfg(test)]
    pub fn wire_len(&self) -> usize {
        self.bytes.len()
            + self
                .shared
                .iter()
                .map(|(_, body)| body.len())
                .sum::<usize>()
    }

    /// The batch's slices in wire order (none empty): encoded bytes, shared bodies between.
    pub fn parts(&self) -> Vec<&[u8]> {
        let mut parts = Vec::with_capacity(1 + 2 * self.shared.len());
        let mut at = 0;
        for (after, body) in &self.shared {
            parts.push(&self.bytes[at..*after]);
            parts.extend(body.slices());
            at = *after;
        }
        parts.push(&self.bytes[at..]);
        parts.retain(|part| !part.is_empty());
        parts
    }
}

#[derive(Debug, Default)]
pub struct Outbox {
    pending: RefCell<Batch>,
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
        if let Err(error) = pending.push(command) {
            // Our own frame breaks a wire limit (a bug, or a body past the frame size): the
            // peer must still learn that its request failed rather than wait for a timeout.
            tracing::error!(code = command.code, opaque = command.opaque, %error, "frame not sent");
            if command.is_response() {
                let mut failure = command.clone();
                failure.code = response_code::SYSTEM_ERROR;
                failure.remark = Some(format!("response could not be encoded: {error}"));
                failure.ext_fields = ExtFields::new();
                failure.typed_fields = TypedFields::default();
                failure.body = Bytes::new();
                failure.shared_body = SharedBody::default();
                // A bare response always encodes.
                let _ = pending.push(&failure);
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
        self.pending.borrow_mut().push(command)?;
        self.recount();
        wake(&self.writer);
        Ok(true)
    }

    /// The memory of the frames queued or being written: their encoded bytes, and what their
    /// shared bodies keep alive.
    pub fn queued_bytes(&self) -> usize {
        self.pending.borrow().queued_bytes() + self.writing.get()
    }

    /// Waits until frames are queued and takes them all; `None` once closed and drained.
    pub async fn take(&self) -> Option<Batch> {
        poll_fn(|cx| {
            let mut pending = self.pending.borrow_mut();
            if !pending.is_empty() {
                let batch = pending.split();
                self.writing.set(batch.queued_bytes());
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
            *pending = Batch::default();
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
        *self.pending.borrow_mut() = Batch::default();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::BodyParts;

    #[derive(Debug)]
    struct Slices(Vec<&'static [u8]>);

    impl BodyParts for Slices {
        fn count(&self) -> usize {
            self.0.len()
        }
        fn part(&self, index: usize) -> &[u8] {
            self.0[index]
        }
        fn held_bytes(&self) -> usize {
            100
        }
    }

    fn response(body: &'static [u8], shared: Vec<&'static [u8]>) -> RemotingCommand {
        let request = RemotingCommand::request(1, ExtFields::new(), Bytes::new());
        let mut response = RemotingCommand::response_to(&request, 0, None);
        response.body = Bytes::from_static(body);
        if !shared.is_empty() {
            response.shared_body = SharedBody::new(Slices(shared));
        }
        response
    }

    /// The parts are the frames' bytes, in order.
    #[test]
    fn parts_are_the_frames_in_order() {
        let frames = [
            response(b"a", vec![b"bc", b"", b"def"]),
            response(b"", Vec::new()),
            response(b"gh", vec![b"i"]),
        ];
        let mut batch = Batch::default();
        let mut whole = BytesMut::new();
        for frame in &frames {
            batch.push(frame).expect("encodes");
            frame.encode(&mut whole).expect("encodes");
        }
        assert_eq!(batch.wire_len(), whole.len());
        assert_eq!(batch.queued_bytes(), batch.bytes.len() + 200);
        let parts = batch.parts();
        assert!(parts.iter().all(|part| !part.is_empty()));
        assert_eq!(parts.concat(), whole[..]);
        assert!(Batch::default().only_bytes().is_some());
        assert!(batch.only_bytes().is_none());
    }
}
