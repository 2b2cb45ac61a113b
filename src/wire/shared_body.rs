//! Body bytes a frame shares with whoever holds them instead of copying them into the frame:
//! the records of a pull or query answer, as the store holds them (cached blocks, read
//! buffers). The connection writes the encoded header and these slices to the socket with
//! one vectored write (docs/storage.md, "Reads without copies").
//!
//! What the slices are is their holder's business; the codec needs their bytes, their number,
//! and how much memory they keep alive while a frame waits to be written, which the shard's
//! write budget counts ([`SharedBody::held_bytes`]).

use std::fmt;
use std::rc::Rc;

/// Slices of memory owned elsewhere, in the order they go on the wire.
pub trait BodyParts: fmt::Debug {
    /// How many slices there are.
    fn count(&self) -> usize;
    /// Slice `index`, `index < count()`.
    fn part(&self, index: usize) -> &[u8];
    /// The memory these slices keep alive, at least their length: a window on a large
    /// buffer keeps all of it.
    fn held_bytes(&self) -> usize;
}

/// The shared part of a frame's body, written after [`super::RemotingCommand::body`]; empty
/// for nearly every frame.
#[derive(Clone, Default)]
pub struct SharedBody {
    parts: Option<Rc<dyn BodyParts>>,
    len: usize,
}

impl SharedBody {
    pub fn new(parts: impl BodyParts + 'static) -> SharedBody {
        let len = (0..parts.count()).map(|i| parts.part(i).len()).sum();
        SharedBody {
            parts: Some(Rc::new(parts)),
            len,
        }
    }

    /// Bytes on the wire.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Memory kept alive while the frame is queued.
    pub fn held_bytes(&self) -> usize {
        self.parts
            .as_ref()
            .map_or(0, |p| p.held_bytes().max(self.len))
    }

    /// The slices in wire order.
    pub fn slices(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let parts = self.parts.as_deref();
        let count = parts.map_or(0, |p| p.count());
        (0..count).filter_map(move |i| parts.map(|p| p.part(i)))
    }

    /// The bytes copied into one buffer, for tests that read an answer in this process.
    #[cfg(test)]
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        self.slices().for_each(|s| out.extend_from_slice(s));
        out
    }
}

/// Equal when the bytes are, however they are cut.
impl PartialEq for SharedBody {
    fn eq(&self, other: &SharedBody) -> bool {
        self.len == other.len
            && self
                .slices()
                .flatten()
                .zip(other.slices().flatten())
                .all(|(a, b)| a == b)
    }
}

impl Eq for SharedBody {}

impl fmt::Debug for SharedBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedBody")
            .field("len", &self.len)
            .field("slices", &self.slices().count())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Pieces(Vec<Vec<u8>>);

    impl BodyParts for Pieces {
        fn count(&self) -> usize {
            self.0.len()
        }
        fn part(&self, index: usize) -> &[u8] {
            &self.0[index]
        }
        fn held_bytes(&self) -> usize {
            1000
        }
    }

    #[test]
    fn bytes_compare_however_cut() {
        let a = SharedBody::new(Pieces(vec![b"ab".to_vec(), b"cde".to_vec()]));
        let b = SharedBody::new(Pieces(vec![b"abcd".to_vec(), b"e".to_vec()]));
        let c = SharedBody::new(Pieces(vec![b"abcdf".to_vec()]));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 5);
        assert_eq!(a.to_vec(), b"abcde");
        assert_eq!(a.held_bytes(), 1000);
        assert_eq!(SharedBody::default().held_bytes(), 0);
        assert!(SharedBody::default().is_empty());
    }
}
