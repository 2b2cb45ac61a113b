//! The read side that server and client connections share: one buffer per connection that
//! length-prefixed frames are read into and cut from (frame boundaries and limits are
//! [`crate::wire::frame`]'s), and reads sized to what comes.
//!
//! Reads start at [`READ_BYTES_MIN`] and double while they come back full, up to the
//! connection's largest read; after a read that did not fill, the next asks twice what came.
//! A read brings the rest of a large frame at once whatever its size. The buffer's room is
//! made when the socket is read and an empty buffer is let go, so an idle connection holds no
//! read buffer, and the large buffer of a burst goes with its last frame.
//!
//! What a frame means and when to stop reading for a while are the caller's. Decoding cuts
//! commands out of the buffer without copying: a decoded command keeps its part of the
//! buffer alive, and small reads while frames trickle in keep those parts small. A read
//! allocates its room; a frame allocates nothing.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use futures_lite::io::AsyncRead;
use glommio::net::TcpStream;

use super::{socket_fd, Latch};
use crate::wire::{frame, RemotingCommand, WireError};

/// The smallest read, and the first.
const READ_BYTES_MIN: usize = 4 * 1024;

/// The frames coming in on one connection.
#[derive(Debug)]
pub(crate) struct FrameReader {
    buf: BytesMut,
    /// The next read's size, from [`READ_BYTES_MIN`] to `read_max`.
    read_size: usize,
    read_max: usize,
}

/// How one [`FrameReader::read`] ended.
#[derive(Debug)]
pub(crate) enum Read {
    /// Some bytes came.
    Bytes,
    /// The peer closed its side.
    Closed,
    Failed(io::Error),
    /// The stop latch was set first; the buffer holds what it held before.
    Stopped,
}

impl FrameReader {
    /// A reader whose reads grow up to `read_max` bytes (at least [`READ_BYTES_MIN`]).
    pub(crate) fn new(read_max: usize) -> Self {
        FrameReader {
            buf: BytesMut::new(),
            read_size: READ_BYTES_MIN,
            read_max,
        }
    }

    /// The next complete frame in the buffer, if there is one. An error means the stream
    /// cannot be trusted any more.
    pub(crate) fn next_frame(&mut self) -> Result<Option<RemotingCommand>, WireError> {
        let frame = frame::decode(&mut self.buf);
        self.release_if_empty();
        frame
    }

    /// Hands every complete frame in the buffer to `each`, in order. An error means the
    /// stream cannot be trusted any more; the frames before it were handed over.
    pub(crate) fn drain(&mut self, mut each: impl FnMut(RemotingCommand)) -> Result<(), WireError> {
        while let Some(command) = self.next_frame()? {
            each(command);
        }
        Ok(())
    }

    /// Reads once from `stream`, unless `stop` is set first. The read has room for the next
    /// read size, or for the rest of the frame at the front of the buffer when that is more.
    pub(crate) async fn read(&mut self, stream: &RefCell<TcpStream>, stop: &Latch) -> Read {
        // A front the length check refuses is the next decode's error; here it only sizes the
        // read, and after a decode it cannot happen.
        let rest = match frame::frame_length(&self.buf) {
            Ok(Some(total)) => total.saturating_sub(self.buf.len()),
            Ok(None) | Err(_) => 0,
        };
        let asked = rest.max(self.read_size);
        let read = async { Some(self.read_some(stream, asked).await) };
        let stopped = async {
            stop.wait().await;
            None
        };
        match futures_lite::future::or(read, stopped).await {
            Some(Ok(0)) => Read::Closed,
            Some(Ok(n)) => {
                self.read_size = next_read_size(n, asked, self.read_max);
                Read::Bytes
            }
            Some(Err(error)) => Read::Failed(error),
            None => Read::Stopped,
        }
    }

    /// Reads up to `asked` bytes onto the end of the buffer. The room is made for each try and
    /// given back when the socket has nothing yet, so a connection waiting for its peer holds
    /// no buffer at all. The socket is read straight into the buffer's spare room, which is
    /// never zeroed first (zeroing a read's room cost more than the read's frames).
    async fn read_some(&mut self, stream: &RefCell<TcpStream>, asked: usize) -> io::Result<usize> {
        poll_fn(|cx| {
            // The RefCell is borrowed only inside one poll; the writer borrows it between
            // polls. glommio keeps separate readiness sources for the two directions.
            let polled = self.poll_recv(&mut stream.borrow_mut(), cx, asked);
            self.release_if_empty();
            polled
        })
        .await
    }

    /// One non-blocking `recv` into the buffer's spare room; when the socket has nothing, the
    /// runtime's read waits for it (and reads into a small buffer if bytes came meanwhile).
    fn poll_recv(
        &mut self,
        stream: &mut TcpStream,
        cx: &mut Context<'_>,
        asked: usize,
    ) -> Poll<io::Result<usize>> {
        use rustix::io::Errno;
        use rustix::net::{recv, RecvFlags};
        let start = self.buf.len();
        self.buf.reserve(asked);
        loop {
            let room = &mut self.buf.spare_capacity_mut()[..asked];
            match recv(socket_fd(stream), room, RecvFlags::DONTWAIT) {
                Ok(((read, _), _)) => {
                    let n = read.len();
                    #[allow(unsafe_code)]
                    // SAFETY: `recv` initialised the first `n` bytes of the spare room, which
                    // start at the buffer's length.
                    unsafe {
                        self.buf.set_len(start + n)
                    };
                    return Poll::Ready(Ok(n));
                }
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => break,
                Err(error) => return Poll::Ready(Err(error.into())),
            }
        }
        let mut small = [0u8; 512];
        let polled = Pin::new(stream).poll_read(cx, &mut small);
        if let Poll::Ready(Ok(n)) = polled {
            self.buf.extend_from_slice(&small[..n]);
        }
        polled
    }

    /// Lets an empty buffer's allocation go: the frames cut from it keep what they use, and
    /// the next read takes room of its own size rather than a burst's.
    fn release_if_empty(&mut self) {
        if self.buf.is_empty() {
            self.buf = BytesMut::new();
        }
    }
}

/// The read after one that brought `read` bytes into room for `asked`: twice as large when
/// it filled, else twice what came.
fn next_read_size(read: usize, asked: usize, read_max: usize) -> usize {
    let next = if read == asked { asked * 2 } else { read * 2 };
    next.clamp(READ_BYTES_MIN, read_max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use futures_lite::AsyncWriteExt;

    /// A reader waiting on a connection whose peer says nothing holds no buffer; after a
    /// burst of frames its buffer goes with the last frame decoded.
    #[test]
    fn a_waiting_reader_holds_no_buffer() {
        glommio::LocalExecutorBuilder::default()
            .spawn(|| async {
                let listener = glommio::net::TcpListener::bind("127.0.0.1:0").expect("bind");
                let addr = listener.local_addr().expect("address");
                let mut peer = glommio::net::TcpStream::connect(addr)
                    .await
                    .expect("connect");
                let stream = RefCell::new(listener.accept().await.expect("accept"));
                let (stop, mut reader) = (Latch::default(), FrameReader::new(64 * 1024));

                let mut read = Box::pin(reader.read(&stream, &stop));
                assert!(futures_lite::future::poll_once(&mut read).await.is_none());
                drop(read);
                assert_eq!(reader.buf.capacity(), 0, "nothing held while waiting");

                let mut burst = BytesMut::new();
                for code in 0..100 {
                    let body = Bytes::from(vec![7u8; 1000]);
                    let request = RemotingCommand::request(code, Default::default(), body);
                    request.encode(&mut burst).expect("encodes");
                }
                peer.write_all(&burst).await.expect("write");
                let mut frames = Vec::new();
                while frames.len() < 100 {
                    assert!(matches!(reader.read(&stream, &stop).await, Read::Bytes));
                    reader.drain(|command| frames.push(command)).expect("valid");
                }
                assert!(frames.iter().all(|frame| frame.body.len() == 1000));
                assert_eq!(reader.buf.capacity(), 0, "the burst's buffer is gone");
            })
            .expect("executor")
            .join()
            .expect("join");
    }

    #[test]
    fn reads_double_while_full_and_follow_what_came_otherwise() {
        let max = 64 * 1024;
        assert_eq!(next_read_size(4096, 4096, max), 8192);
        assert_eq!(next_read_size(32 * 1024, 32 * 1024, max), max);
        assert_eq!(next_read_size(max, max, max), max);
        assert_eq!(next_read_size(10_000, max, max), 20_000);
        assert_eq!(next_read_size(100, 8192, max), READ_BYTES_MIN);
        // A large frame's read does not make the next one large.
        assert_eq!(next_read_size(4 << 20, 4 << 20, max), max);
    }
}
