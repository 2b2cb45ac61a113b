//! Thread-per-core runtime substrate (no RocketMQ knowledge).
