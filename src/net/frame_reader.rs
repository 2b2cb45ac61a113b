//! The read side that server and client connections share: one buffer per connection that
//! length-prefixed frames are read into and cut from (frame boundaries and limits are
//! [`crate::wire::frame`]'s), and reads sized to bring the rest of a large frame at once.
//!
//! What a frame means, when to stop reading for a while and how much a read asks for are
//! the caller's: the server pauses for backpressure and reads a fixed size, the client adapts
//! its read size so that responses, which keep their part of the buffer alive, stay small.
//! Decoding cuts commands out of the buffer without copying; nothing here allocates per
//! frame.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;

use bytes::BytesMut;
use futures_lite::io::AsyncRead;
use glommio::net::TcpStream;

use super::Latch;
use crate::wire::{frame, RemotingCommand, WireError};

/// The frames coming in on one connection.
#[derive(Debug)]
pub(crate) struct FrameReader {
    buf: BytesMut,
}

/// How one [`FrameReader::read`] ended.
#[derive(Debug)]
pub(crate) enum Read {
    /// `n` bytes came, into room for `asked`.
    Bytes {
        n: usize,
        asked: usize,
    },
    /// The peer closed its side.
    Closed,
    Failed(io::Error),
    /// The stop latch was set first; the buffer holds what it held before.
    Stopped,
}

impl FrameReader {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        FrameReader {
            buf: BytesMut::with_capacity(capacity),
        }
    }

    /// Hands every complete frame in the buffer to `each`, in order. An error means the
    /// stream cannot be trusted any more; the frames before it were handed over.
    pub(crate) fn drain(&mut self, mut each: impl FnMut(RemotingCommand)) -> Result<(), WireError> {
        while let Some(command) = frame::decode(&mut self.buf)? {
            each(command);
        }
        Ok(())
    }

    /// Reads once from `stream`, unless `stop` is set first. The read has room for `size`
    /// bytes, or for the rest of the frame at the front of the buffer when that is more.
    pub(crate) async fn read(
        &mut self,
        stream: &RefCell<TcpStream>,
        size: usize,
        stop: &Latch,
    ) -> Read {
        // A front the length check refuses is the next drain's error; here it only sizes the
        // read, and after a drain it cannot happen.
        let rest = match frame::frame_length(&self.buf) {
            Ok(Some(total)) => total.saturating_sub(self.buf.len()),
            Ok(None) | Err(_) => 0,
        };
        let asked = rest.max(size);
        let start = self.buf.len();
        self.buf.resize(start + asked, 0);
        let read = async { Some(read_some(stream, &mut self.buf[start..]).await) };
        let stopped = async {
            stop.wait().await;
            None
        };
        let (kept, outcome) = match futures_lite::future::or(read, stopped).await {
            Some(Ok(0)) => (0, Read::Closed),
            Some(Ok(n)) => (n, Read::Bytes { n, asked }),
            Some(Err(error)) => (0, Read::Failed(error)),
            None => (0, Read::Stopped),
        };
        self.buf.truncate(start + kept);
        outcome
    }
}

async fn read_some(stream: &RefCell<TcpStream>, buf: &mut [u8]) -> io::Result<usize> {
    // The RefCell is borrowed only inside one poll; the writer borrows it between polls.
    // glommio keeps separate readiness sources for the two directions.
    poll_fn(|cx| Pin::new(&mut *stream.borrow_mut()).poll_read(cx, buf)).await
}
