//! Messages the broker moves by itself: delayed messages parked in `SCHEDULE_TOPIC_XXXX` and
//! 5.x timer messages parked in `rmq_sys_wheel_timer`, delivered when due, and messages a
//! consumer hands back, re-stored in the group's retry or dead-letter topic. Each shard
//! delivers what it stored.
//!
//! - [`delay`]: delay levels, timer rules, parking, due times, the delivered message.
//! - [`schedule`]: the per-shard service that delivers delay levels (`delayOffset.json`).
//! - [`timer`]: the per-shard service that delivers timers, over [`timer_slots`], its index
//!   by due minute.
//! - [`send_back`]: CONSUMER_SEND_MSG_BACK, into the retry or dead-letter topic.

pub mod delay;
pub mod schedule;
pub mod send_back;
pub mod timer;
pub mod timer_slots;
