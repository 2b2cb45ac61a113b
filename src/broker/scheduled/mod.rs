//! Messages the broker moves by itself: delayed messages parked in `SCHEDULE_TOPIC_XXXX`
//! and delivered when due, and messages a consumer hands back, re-stored in the group's
//! retry or dead-letter topic. Each shard delivers what it stored.
//!
//! - [`delay`]: delay levels, parking rules, due times, the delivered message.
//! - [`schedule`]: the per-shard service that delivers parked messages (`delayOffset.json`).
//! - [`send_back`]: CONSUMER_SEND_MSG_BACK, into the retry or dead-letter topic.

pub mod delay;
pub mod schedule;
pub mod send_back;
