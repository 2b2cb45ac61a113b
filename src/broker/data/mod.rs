//! The data path: SEND and PULL with long polling, and the lookups of stored messages
//! (queue offsets and times, a message by its CommitLog offset or by key). Everything here
//! runs on the shard that owns the queue and reads or writes that shard's store only.
//!
//! - [`path`]: [`path::DataPath`], the send and pull handlers and the long-poll table they
//!   share, wired to the store.
//! - [`send`], [`send_rules`]: SEND_MESSAGE, SEND_MESSAGE_V2, SEND_BATCH_MESSAGE.
//! - [`pull`], [`long_poll`]: PULL_MESSAGE, LITE_PULL_MESSAGE and the parked pulls.
//! - [`queue_offsets`]: GET_MAX_OFFSET, GET_MIN_OFFSET, SEARCH_OFFSET_BY_TIMESTAMP,
//!   GET_EARLIEST_MSG_STORETIME.
//! - [`query`]: VIEW_MESSAGE_BY_ID and QUERY_MESSAGE.
//! - [`records`]: the records of their answers, sent from where the store holds them.
//! - [`topic_view`]: what sends and pulls need of the topic table, as a small trait.

pub mod long_poll;
pub mod path;
pub mod pull;
#[cfg(test)]
mod pull_tests;
pub mod query;
pub mod queue_offsets;
pub mod records;
pub mod send;
pub mod send_rules;
#[cfg(test)]
mod send_tests;
#[cfg(test)]
pub(crate) mod test_support;
pub mod topic_view;
