//! Launch configuration and shard identity.
//!
//! Owns [`Config`] (everything `launch` needs, validated in one place) and [`ShardId`].
//! Invariant: a validated config has `1..=SHARDS_MAX` shards and non-zero capacities, so the
//! rest of the crate can index by shard without further checks.

use std::{fmt, time::Duration};

use crate::preflight::StartError;

/// Upper bound on shards per process; ids must fit in a `u16` and the mesh grows as n².
pub const SHARDS_MAX: usize = 1024;

/// Identity of a shard within one process: `0..count`, dense, stable for the process lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShardId(u16);

impl ShardId {
    /// The shard with index `index`; panics if it does not fit (a caller bug, not input).
    pub fn new(index: usize) -> Self {
        let Ok(id) = u16::try_from(index) else {
            panic!("shard index {index} exceeds the shard id range");
        };
        ShardId(id)
    }

    /// The dense index of this shard, usable to index per-shard tables.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

impl fmt::Display for ShardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shard-{}", self.0)
    }
}

/// How to start the shards. Build with `Config::default()` and override fields.
#[derive(Clone, Debug)]
pub struct Config {
    /// Number of shards (executors). Default: the number of CPUs this process may run on.
    pub shards: usize,
    /// How long an idle executor busy-polls before it parks in the kernel. `None` parks at
    /// once: least CPU, highest cross-shard latency. See the crate docs for the measured
    /// trade-off behind the default.
    pub spin_before_park: Option<Duration>,
    /// Memory each shard registers with io_uring for DMA buffers. Locked memory: see
    /// [`crate::memlock_required`].
    pub io_memory_bytes: usize,
    /// Depth of each of the three io_uring rings of a shard.
    pub ring_depth: usize,
    /// Prefix of executor thread names (`<name>-<shard>`).
    pub name: String,
    /// Capacity of every shard-to-shard link, per direction, for requests and replies alike.
    /// A full link makes the sender wait: that is the backpressure between shards.
    pub mailbox_capacity: usize,
    /// Most incoming requests a shard handles at once; beyond it the shard stops reading
    /// its mailboxes, so senders feel the backpressure.
    pub serve_concurrency: usize,
    /// CPU shares of the foreground queue (requests, mailboxes).
    pub foreground_shares: usize,
    /// CPU shares of the background queue (flush, reput, replication).
    pub background_shares: usize,
    /// Turn SIGINT/SIGTERM into a graceful shutdown while `launch` runs.
    pub handle_signals: bool,
}

/// Default spin before park, chosen on the `mesh_rtt` measurements (see crate docs).
pub const SPIN_BEFORE_PARK_DEFAULT: Duration = Duration::from_micros(50);

impl Default for Config {
    fn default() -> Self {
        Config {
            shards: crate::preflight::allowed_cpus().map_or(1, |cpus| cpus.len().max(1)),
            spin_before_park: Some(SPIN_BEFORE_PARK_DEFAULT),
            io_memory_bytes: 10 << 20,
            ring_depth: 128,
            name: "shard".to_owned(),
            mailbox_capacity: 1024,
            serve_concurrency: 1024,
            foreground_shares: 1000,
            background_shares: 250,
            handle_signals: true,
        }
    }
}

impl Config {
    /// Checks the invariants the rest of the crate relies on.
    pub fn validate(&self) -> Result<(), StartError> {
        let invalid =
            |field: &'static str, reason: String| Err(StartError::InvalidConfig { field, reason });
        if self.shards == 0 || self.shards > SHARDS_MAX {
            return invalid(
                "shards",
                format!("must be 1..={SHARDS_MAX}, got {}", self.shards),
            );
        }
        let positive = [
            ("ring_depth", self.ring_depth),
            ("mailbox_capacity", self.mailbox_capacity),
            ("serve_concurrency", self.serve_concurrency),
            ("foreground_shares", self.foreground_shares),
            ("background_shares", self.background_shares),
        ];
        for (field, value) in positive {
            if value == 0 {
                return invalid(field, "must be greater than zero".to_owned());
            }
        }
        Ok(())
    }

    /// All shard ids of this configuration, in order.
    pub fn shard_ids(&self) -> impl Iterator<Item = ShardId> {
        (0..self.shards).map(ShardId::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        Config::default().validate().expect("default config");
    }

    #[test]
    fn zero_shards_is_rejected_by_name() {
        let config = Config {
            shards: 0,
            ..Config::default()
        };
        let err = config.validate().expect_err("zero shards");
        assert!(err.to_string().contains("shards"), "{err}");
    }
}
