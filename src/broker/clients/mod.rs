//! The clients of one shard and what they hold: producers and consumers registered by
//! HEART_BEAT, the consumer groups' committed offsets, and orderly consumers' queue locks.
//! All of it is per shard: a client's connection to shard k is known to shard k only.
//!
//! - [`heartbeat`]: the HEART_BEAT handler, which first creates what a consumer group lacks.
//! - [`registry`]: HEART_BEAT's registration, UNREGISTER_CLIENT, CHECK_CLIENT_CONFIG, the
//!   consumer and producer lists, NOTIFY_CONSUMER_IDS_CHANGED; [`heartbeat_body`] its JSON
//!   bodies.
//! - [`offsets`]: QUERY_CONSUMER_OFFSET, UPDATE_CONSUMER_OFFSET and `consumerOffset.json`.
//! - [`queue_locks`]: LOCK_BATCH_MQ, UNLOCK_BATCH_MQ.
//! - [`calls`]: requests the broker sends a client and waits for the answer to.

pub mod calls;
pub mod heartbeat;
pub mod heartbeat_body;
pub mod offsets;
pub mod queue_locks;
pub mod registry;
