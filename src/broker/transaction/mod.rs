//! Transactional messages (docs/protocol.md §2.6, §5.8), per shard: a half message, its end
//! and its checks all belong to the shard that stored it, so the data path stays on one core.
//!
//! - [`half`]: what half messages, checked copies, op records and the records that end a
//!   transaction look like; pure functions.
//! - [`service`]: the shard's pending transactions, rebuilt from the half and op queues at
//!   start (`service_start.rs`); ends and check rounds.
//! - [`end`]: the END_TRANSACTION (37) handler.
//!
//! A half message is stored by the send path ([`crate::broker::data::send`]), which hands it
//! to the service. A producer routing a new topic by its template may have its half message
//! handed to the shard hosting the topic's queue (docs/topology.md); its end then reaches the
//! shard it sent to, which holds no such half message and changes nothing, and the check of
//! the shard that stored it decides the transaction.

pub mod end;
pub mod half;
pub mod service;
mod writes;

pub use service::{TransactionConfig, Transactions};
