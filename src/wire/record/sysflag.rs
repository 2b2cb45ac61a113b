//! The SYSFLAG word of a record and of a send header (docs/protocol.md §3.2).
//!
//! Compression (docs/protocol.md §3.7): producers compress bodies and consumers decompress them;
//! the broker stores, CRCs and returns the body exactly as sent, and tag filtering never looks
//! inside it. So this module only names the bits and there is deliberately no decompressor here;
//! add one only when a broker feature has to read a body.

/// A message's system flags. Unknown bits are kept as they are, since clients read them back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SysFlag(pub u32);

/// Transaction state carried in bits 2–3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionType {
    /// An ordinary message.
    NotType,
    /// A half message, not consumable until committed.
    Prepared,
    Commit,
    Rollback,
}

/// The compression algorithm named by bits 8–10, meaningful only when COMPRESSED is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Type 0 (4.x and the 5.x legacy default) and type 3 both mean zlib.
    Zlib,
    Lz4,
    Zstd,
    /// A type value this codec does not know; stored and returned untouched.
    Unknown(u32),
}

impl SysFlag {
    pub const COMPRESSED: u32 = 0x001;
    pub const MULTI_TAGS: u32 = 0x002;
    pub const TRANSACTION_MASK: u32 = 0x00C;
    pub const TRANSACTION_PREPARED: u32 = 0x004;
    pub const TRANSACTION_COMMIT: u32 = 0x008;
    pub const TRANSACTION_ROLLBACK: u32 = 0x00C;
    pub const BORN_HOST_V6: u32 = 0x010;
    pub const STORE_HOST_V6: u32 = 0x020;
    pub const NEED_UNWRAP: u32 = 0x040;
    pub const INNER_BATCH: u32 = 0x080;
    pub const COMPRESSION_TYPE_MASK: u32 = 0x700;
    const COMPRESSION_TYPE_SHIFT: u32 = 8;

    pub fn contains(self, bits: u32) -> bool {
        self.0 & bits == bits
    }

    pub fn with(self, bits: u32) -> SysFlag {
        SysFlag(self.0 | bits)
    }

    pub fn without(self, bits: u32) -> SysFlag {
        SysFlag(self.0 & !bits)
    }

    pub fn is_compressed(self) -> bool {
        self.contains(Self::COMPRESSED)
    }

    /// The algorithm a consumer will use to inflate the body, or `None` when the body is
    /// stored plain.
    pub fn compression(self) -> Option<Compression> {
        if !self.is_compressed() {
            return None;
        }
        let kind = (self.0 & Self::COMPRESSION_TYPE_MASK) >> Self::COMPRESSION_TYPE_SHIFT;
        Some(match kind {
            0 | 3 => Compression::Zlib,
            1 => Compression::Lz4,
            2 => Compression::Zstd,
            other => Compression::Unknown(other),
        })
    }

    pub fn transaction(self) -> TransactionType {
        match self.0 & Self::TRANSACTION_MASK {
            0 => TransactionType::NotType,
            Self::TRANSACTION_PREPARED => TransactionType::Prepared,
            Self::TRANSACTION_COMMIT => TransactionType::Commit,
            _ => TransactionType::Rollback,
        }
    }

    /// The same flags with the transaction bits replaced; used when a half message is stored
    /// as NOT_TYPE and when END_TRANSACTION re-stores it as COMMIT or ROLLBACK.
    pub fn with_transaction(self, kind: TransactionType) -> SysFlag {
        let bits = match kind {
            TransactionType::NotType => 0,
            TransactionType::Prepared => Self::TRANSACTION_PREPARED,
            TransactionType::Commit => Self::TRANSACTION_COMMIT,
            TransactionType::Rollback => Self::TRANSACTION_ROLLBACK,
        };
        SysFlag((self.0 & !Self::TRANSACTION_MASK) | bits)
    }

    /// Whether the consume queue gets an entry: half and rolled-back messages are never
    /// consumable (docs/protocol.md §3.2).
    pub fn is_dispatched(self) -> bool {
        matches!(
            self.transaction(),
            TransactionType::NotType | TransactionType::Commit
        )
    }

    pub fn born_host_v6(self) -> bool {
        self.contains(Self::BORN_HOST_V6)
    }

    pub fn store_host_v6(self) -> bool {
        self.contains(Self::STORE_HOST_V6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_type_is_read_only_when_compressed() {
        assert_eq!(SysFlag(0x100).compression(), None);
        assert_eq!(SysFlag(0x001).compression(), Some(Compression::Zlib));
        assert_eq!(SysFlag(0x101).compression(), Some(Compression::Lz4));
        assert_eq!(SysFlag(0x201).compression(), Some(Compression::Zstd));
        assert_eq!(SysFlag(0x301).compression(), Some(Compression::Zlib));
        assert_eq!(SysFlag(0x701).compression(), Some(Compression::Unknown(7)));
    }

    #[test]
    fn transaction_bits_round_trip() {
        let flag = SysFlag(SysFlag::COMPRESSED | SysFlag::TRANSACTION_PREPARED);
        assert_eq!(flag.transaction(), TransactionType::Prepared);
        assert!(!flag.is_dispatched());
        let committed = flag.with_transaction(TransactionType::Commit);
        assert_eq!(
            committed.0,
            SysFlag::COMPRESSED | SysFlag::TRANSACTION_COMMIT
        );
        assert!(committed.is_dispatched());
        assert_eq!(committed.with_transaction(TransactionType::NotType).0, 1);
        assert!(!SysFlag(SysFlag::TRANSACTION_ROLLBACK).is_dispatched());
    }
}
