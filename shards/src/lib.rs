//! Thread-per-core runtime substrate: pinned glommio executors ("shards"), bounded typed
//! mailboxes between them, per-shard copies of read-mostly values, named task queues and
//! gate-based graceful shutdown. It knows nothing of RocketMQ.
//!
//! # Map
//!
//! - [`launch`] / [`Launcher`] (`launch.rs`): one pinned executor per shard, life cycle,
//!   results; [`preflight`] (`preflight.rs`): io_uring and locked-memory checks.
//! - [`Shard`] (`shard.rs`): the handle a shard's code gets: id, mailboxes, `serve`, gate,
//!   task queues. Mailbox internals in `mailbox.rs`, the mesh of links in `mesh.rs`.
//! - [`Replicated`] (`replicated.rs`): read-mostly values owned by one shard, copied to all.
//! - [`ShutdownHandle`], [`Gate`], [`Pass`] (`shutdown.rs`); SIGINT/SIGTERM in `signals.rs`.
//!
//! # Calling rules
//!
//! - Everything but [`ShutdownHandle`] and [`Config`] stays on its shard's thread (`Rc`).
//! - Work that shutdown must wait for holds a [`Pass`] from [`Shard::gate`]; loops that accept
//!   new work stop on [`Shard::closing`]. A shard's future should return once closing.
//! - Cross-shard means a message: [`Shard::request`] (with reply), [`Shard::tell`],
//!   [`Shard::broadcast`], [`Shard::gather`]; handlers are installed with [`Shard::serve`].
//!   Every link is bounded ([`Config::mailbox_capacity`]): a full mailbox makes the sender
//!   wait. A message to a shard that has stopped fails with [`MailboxError::Stopped`].
//! - Keep cross-shard hops off the data path: a round trip costs tens of microseconds.
//!
//! # Shutdown
//!
//! SIGINT/SIGTERM (when [`Config::handle_signals`]), [`ShutdownHandle::trigger`], or any shard
//! failing starts it. Each shard then: closes its gate (`closing()` resolves, `enter()` fails),
//! waits for its passes, tells every peer it has drained, waits until all peers have drained,
//! stops its mailboxes and returns. So mailboxes keep working while any shard still has
//! work in flight. A second signal during shutdown exits the process at once.
//!
//! # Locked memory
//!
//! Each shard registers [`Config::io_memory_bytes`] with each of its three io_uring rings.
//! Without CAP_IPC_LOCK, RLIMIT_MEMLOCK must cover [`memlock_required`]: about
//! `shards × 3 × (io_memory + ~20 KiB)`, at least 512 KiB. [`preflight`] checks it and names
//! the fix (`ulimit -l`, systemd `LimitMEMLOCK=`, or less io memory).
//!
//! Buffers beyond that memory come from the C heap; [`launch`] sets glibc's thresholds so a
//! freed 1 MiB block is reused instead of mapped and faulted in again (`src/heap.rs`).
//!
//! # Spin before park
//!
//! An idle executor parks in the kernel; waking it makes a cross-shard round trip cost
//! ~80-95 µs at p50 and milliseconds at the tail. Spinning a while before parking trades CPU
//! for latency. Measured with `benches/mesh_rtt.rs` (figures and command in `BENCH.md`):
//! back to back, any spin of 50 µs or more brings p50 to ~15 µs; 200 and 500 µs did not
//! lower it further but cost more CPU (0.54 → 0.80 CPU per wall second in one run). After
//! an idle gap longer than the spin (1 ms) every setting parks and pays ~70-150 µs.
//! The default, [`SPIN_BEFORE_PARK_DEFAULT`], is therefore 50 µs: most of the gain for the
//! least CPU. Set `spin_before_park: None` where CPU matters more than hop latency.
//!
//! # glommio 0.9 caveats handled here
//!
//! - Both task queues use `Latency::NotImportant` (shares only): with a short latency goal,
//!   glommio 0.9 sometimes parks an executor that still has runnable tasks. A 50 ms heartbeat
//!   timer per shard bounds any such stall.
//! - A full link whose consumer is gone never frees room, so sends race the peer's stop.
//! - A panicking executor does not drop its tasks; peers learn of its death explicitly.
//! - The mesh is built from `shared_channel` pairs on the launching thread rather than with
//!   `channel_mesh`, whose builder orders peers by executor id and shares an `Rc` across
//!   threads while joining.

#![deny(unsafe_code)]

mod config;
mod heap;
mod launch;
mod mailbox;
mod mesh;
mod notify;
mod preflight;
mod replicated;
mod shard;
mod shutdown;
mod signals;
mod ticker;

pub use config::{Config, ShardId, SHARDS_MAX, SPIN_BEFORE_PARK_DEFAULT};
pub use glommio::Task;
pub use launch::{launch, LaunchError, Launcher};
pub use mailbox::MailboxError;
pub use preflight::{
    allowed_cpus, host_memory_bytes, io_memory_within_memlock, memlock_required,
    memory_limit_bytes, preflight, raise_open_files_limit, StartError, MEMLOCK_FLOOR_BYTES,
};
pub use replicated::{ReplicaError, Replicated};
pub use shard::Shard;
pub use shutdown::{Gate, GateClosed, Pass, ShutdownHandle};
pub use ticker::Ticker;
