//! Administration and statistics: what mqadmin and dashboards ask a broker. Requests that
//! change a table are forwarded to its owner shard; statistics are gathered from this
//! shard's store and counters.
//!
//! - [`requests`]: UPDATE_AND_CREATE_TOPIC, DELETE_TOPIC_IN_BROKER, GET_ALL_TOPIC_CONFIG,
//!   the subscription-group requests, GET_BROKER_RUNTIME_INFO.
//! - [`queue_stats`]: GET_TOPIC_STATS_INFO, GET_CONSUME_STATS; [`mq_table`] their bodies'
//!   MessageQueue-keyed tables.
//! - [`broker_config`]: GET_BROKER_CONFIG, UPDATE_BROKER_CONFIG.
//! - [`consumer_calls`]: GET_CONSUMER_RUNNING_INFO, CONSUME_MESSAGE_DIRECTLY, forwarded to
//!   the consumer.
//! - [`reset_offset`]: INVOKE_BROKER_TO_RESET_OFFSET, a group's offsets moved by time.
//! - [`stats`]: the messages a shard stores and hands out, and their rates.
//! - [`stats_items`]: VIEW_BROKER_STATS_DATA, per-item figures over a minute, hour, day.
//! - [`meters`]: the same by topic, type and group, request latencies, and the gauges a
//!   Prometheus scrape reads.

pub mod broker_config;
pub mod consumer_calls;
pub mod meters;
pub mod mq_table;
pub mod queue_stats;
pub mod requests;
pub mod reset_offset;
pub mod stats;
pub mod stats_items;
