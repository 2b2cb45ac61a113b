//! Topic names the protocol reserves (Java `TopicValidator` and `MixAll`): the prefixes of a
//! consumer group's retry and dead-letter topics, the auto-creation template, and the system
//! topics only a broker writes. Brokers, clients and the bench all meet these on the wire,
//! so each is defined here once.

/// Prefix of a consumer group's retry topic, `%RETRY%<group>`.
pub const RETRY_TOPIC_PREFIX: &str = "%RETRY%";
/// Prefix of a consumer group's dead-letter topic, `%DLQ%<group>`.
pub const DLQ_TOPIC_PREFIX: &str = "%DLQ%";

/// The template a broker creates unknown topics from when `autoCreateTopicEnable` is on; a
/// producer names it as the send header's `defaultTopic`.
pub const AUTO_CREATE_TOPIC_KEY_TOPIC: &str = "TBW102";

/// Where delayed messages wait for their level's delay, one queue a level.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
/// 5.x: where timer messages wait for their time, in queue 0 (Java's `TimerMessageStore`
/// topic).
pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";
pub const TRANS_HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
pub const TRANS_OP_HALF_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
pub const TRANS_CHECK_MAX_TIME_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
pub const SELF_TEST_TOPIC: &str = "SELF_TEST_TOPIC";
pub const OFFSET_MOVED_EVENT: &str = "OFFSET_MOVED_EVENT";
/// 5.x: every topic with this prefix belongs to the broker.
pub const SYSTEM_TOPIC_PREFIX: &str = "rmq_sys_";
