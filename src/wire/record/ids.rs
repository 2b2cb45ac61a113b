//! Offset newtypes. RocketMQ has three 64-bit positions that are all plain `long` in Java
//! (commit-log byte offset, logical queue offset, consume-queue byte offset); giving the two a
//! record carries their own types keeps a queue offset from ever being written where a
//! physical offset belongs.

use std::fmt;

/// Byte position of a record in the broker's CommitLog (PHYSICALOFFSET, also the offset
/// inside an offset message id). Java stores it as a signed `long`, so valid values stop at
/// `i64::MAX`; the codec rejects anything above on both encode and decode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhysicalOffset(pub u64);

/// Logical position of a message in one (topic, queue id): the n-th message has offset n.
/// Clients commit consumption progress in these units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueOffset(pub u64);

impl fmt::Display for PhysicalOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for QueueOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Largest offset Java can represent; both offsets are `long` on the wire.
pub(crate) const OFFSET_MAX: u64 = i64::MAX as u64;
