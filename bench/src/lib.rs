//! `shardmq-bench`: a load harness that speaks the RocketMQ remoting protocol, so it measures
//! shardmq and any other RocketMQ broker the same way.
//!
//! The layers, from the command line down:
//! - [`args`] — the command line (clap) and its defaults;
//! - [`account`] — the account that signs every request, for a broker that checks them;
//! - [`route`] — where a topic's write queues live (NameServer lookup or `--broker`);
//! - [`produce`] — the producer load: executor threads, connections, sender tasks;
//! - [`consume`] — long-polling pull consumers of one group; [`e2e`] runs both at once;
//! - [`topic`] — creates the topic on every broker master before a run; [`topics`] measures
//!   how topic creation scales with the topic count;
//! - [`metadata`] — starts a broker itself and runs the scenario of tens of thousands of
//!   topics and thousands of groups through a restart;
//! - [`message`] — builds each send request from a template, without per-message work
//!   beyond what changes (queue id, born timestamp, UNIQ_KEY, KEYS);
//! - [`stats`] — per-thread counters and latency histograms, merged at the end;
//! - [`progress`] — live counters and the once-a-second line on stderr;
//! - [`report`] — the text summary, the JSON report and the machine description;
//! - [`process`] — a broker the harness starts itself: ports, stop by PID, memory, files and
//!   the disk its store takes.
//!
//! Every run stops by itself: after its duration, or after its message count, with each
//! request bounded by a timeout.

pub mod account;
pub mod args;
pub mod consume;
pub mod e2e;
pub mod error;
pub mod message;
pub mod metadata;
pub mod process;
pub mod produce;
pub mod progress;
pub mod report;
pub mod route;
pub mod stats;
pub mod topic;
pub mod topics;

pub use error::BenchError;
