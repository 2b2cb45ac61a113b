//! One block of the CommitLog's in-memory tail ([`super::log_buffer`]): a buffer that only
//! grows. Bytes below its length never change once appended, so readers may keep windows on
//! them (a pull answer queued on a socket, a replication transfer) while appends write past
//! them, and nothing is copied for either.
//!
//! This is the one place the tail's memory is written through a pointer rather than a unique
//! reference, and the rules that make it sound are all here:
//!
//! - [`TailBlock::bytes`] hands out only `[start, end)` with `end` at most the length, and the
//!   length only grows;
//! - [`TailBlock::append_with`] writes only `[len, len + n)`, past every byte handed out, and
//!   raises the length after the write; a second append while one runs is refused, so two
//!   writable slices never overlap;
//! - the buffer itself goes to a write ([`TailBlock::full_buffer`]) only once the block is
//!   full, when nothing is appended to it again.

use std::cell::Cell;
use std::rc::Rc;

use glommio::io::DmaBuffer;

/// An append-only block: `buf`'s first `len` bytes are the log's, the rest not yet.
#[derive(Debug)]
pub struct TailBlock {
    buf: Rc<DmaBuffer>,
    /// `buf`'s memory, taken while `buf` was ours alone: writes go through it, never through
    /// a reference to the whole buffer.
    base: *mut u8,
    len: Cell<usize>,
    appending: Cell<bool>,
}

impl TailBlock {
    /// A block holding `front` at its start (bytes past it may be a reused buffer's old ones,
    /// never read).
    pub fn new(mut buf: DmaBuffer, front: &[u8]) -> TailBlock {
        buf.as_bytes_mut()[..front.len()].copy_from_slice(front);
        TailBlock {
            base: buf.as_mut_ptr(),
            buf: Rc::new(buf),
            len: Cell::new(front.len()),
            appending: Cell::new(false),
        }
    }

    /// Bytes appended so far.
    pub fn len(&self) -> usize {
        self.len.get()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    pub fn is_full(&self) -> bool {
        self.len() == self.capacity()
    }

    /// The appended bytes `[start, end)`.
    pub fn bytes(&self, start: usize, end: usize) -> &[u8] {
        assert!(
            start <= end && end <= self.len(),
            "[{start}, {end}) of a block holding {}",
            self.len()
        );
        #[allow(unsafe_code)]
        // SAFETY: `base` points at `capacity()` bytes that `buf` keeps alive as long as `self`.
        // `[start, end)` lies below the length, which never shrinks, and only bytes at or past
        // the length are ever written (`append_with`), so nothing writes these bytes while the
        // returned slice, tied to `self`, lives.
        unsafe {
            std::slice::from_raw_parts(self.base.add(start), end - start)
        }
    }

    /// Appends `n` bytes that `fill` writes in place; they must fit.
    pub fn append_with<R>(&self, n: usize, fill: impl FnOnce(&mut [u8]) -> R) -> R {
        let at = self.len();
        assert!(n <= self.capacity() - at, "{n} bytes past the block's end");
        assert!(!self.appending.replace(true), "an append inside an append");
        #[allow(unsafe_code)]
        // SAFETY: `[at, at + n)` is inside the buffer (checked above) and at or past the
        // length, so no slice from `bytes` covers it; no other append runs (the flag), so no
        // other writable slice does; the buffer goes to a write only when full, when `n` is 0.
        let room = unsafe { std::slice::from_raw_parts_mut(self.base.add(at), n) };
        let filled = fill(room);
        self.appending.set(false);
        self.len.set(at + n);
        filled
    }

    /// The whole buffer, to write as it is, once the block is full.
    pub fn full_buffer(&self) -> Option<Rc<DmaBuffer>> {
        self.is_full().then(|| Rc::clone(&self.buf))
    }

    /// The buffer for reuse, if nothing else holds it.
    pub fn into_buffer(self) -> Option<DmaBuffer> {
        Rc::try_unwrap(self.buf).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::io::alloc_block;

    #[test]
    fn windows_stay_put_while_appends_write_past_them() {
        let block = Rc::new(TailBlock::new(alloc_block(8192), b"head"));
        let kept = Rc::clone(&block);
        let head = kept.bytes(0, 4);
        block.append_with(4, |room| room.copy_from_slice(b"tail"));
        assert_eq!(head, b"head");
        assert_eq!(block.bytes(0, 8), b"headtail");
        assert!(block.full_buffer().is_none(), "not full yet");
        block.append_with(8192 - 8, |room| room.fill(7));
        assert!(block.is_full());
        let whole = block.full_buffer().expect("full");
        assert_eq!(&whole.as_bytes()[..8], b"headtail");
    }

    #[test]
    #[should_panic(expected = "of a block holding 4")]
    fn bytes_past_the_length_are_refused() {
        let block = TailBlock::new(alloc_block(4096), b"head");
        block.bytes(0, 5);
    }

    #[test]
    #[should_panic(expected = "past the block's end")]
    fn an_append_past_the_end_is_refused() {
        let block = TailBlock::new(alloc_block(4096), b"");
        block.append_with(4097, |_| ());
    }

    #[test]
    #[should_panic(expected = "an append inside an append")]
    fn an_append_inside_an_append_is_refused() {
        let block = TailBlock::new(alloc_block(4096), b"");
        block.append_with(1, |_| block.append_with(1, |_| ()));
    }

    #[test]
    fn a_buffer_is_reused_only_when_nothing_holds_it() {
        let held = TailBlock::new(alloc_block(4096), b"");
        held.append_with(4096, |room| room.fill(1));
        let writing = held.full_buffer();
        assert!(held.into_buffer().is_none(), "a write holds it");
        drop(writing);
        let free = TailBlock::new(alloc_block(4096), b"");
        assert!(free.into_buffer().is_some());
    }
}
