//! Delayed messages (docs/protocol.md §5.6): the delay levels, which messages are parked in
//! `SCHEDULE_TOPIC_XXXX` and how, when a parked message is due, and what it looks like once
//! delivered. Pure functions of a message's properties and the clock; the send path and
//! CONSUMER_SEND_MSG_BACK park messages with them, [`crate::broker::scheduled::schedule`] delivers
//! them.
//!
//! A message whose `DELAY` property is a level above 0 is stored in the schedule topic's
//! queue `level − 1` (levels above the last are clamped to it), with `REAL_TOPIC` and
//! `REAL_QID` naming where it goes. It is due at its store time plus the level's delay.
//!
//! 5.x per-message delays (`TIMER_DELAY_SEC`, `TIMER_DELAY_MS`, `TIMER_DELIVER_MS`) have no
//! timer wheel here: the delay is mapped to the shortest level at least as long as asked
//! (the last level when none is), so with Java's default levels a 7 s delay is delivered
//! after 10 s. Java 5.x's own rules stay: a time already past is delivered at once, more
//! than three days ahead or an unreadable value is MESSAGE_ILLEGAL, and a `DELAY` level wins
//! over the timer properties.

use std::rc::Rc;
use std::time::Duration;

use crate::broker::BrokerError;
use crate::wire::properties::{self, keys};
use crate::wire::record::{RecordFields, RecordVersion, SysFlag, TransactionType};
use crate::wire::topics::SCHEDULE_TOPIC;

/// Java 5.x `timerMaxDelaySec`: the furthest a timer message may be scheduled.
pub const TIMER_DELAY_MAX: Duration = Duration::from_secs(3 * 24 * 3600);

/// Properties that schedule a message; none of them survives its delivery.
const SCHEDULING_KEYS: [&str; 4] = [
    keys::DELAY,
    keys::TIMER_DELIVER_MS,
    keys::TIMER_DELAY_SEC,
    keys::TIMER_DELAY_MS,
];

/// `messageDelayLevel`: the delay of each level, level 1 first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelayLevels(Rc<[Duration]>);

impl Default for DelayLevels {
    fn default() -> Self {
        let levels = crate::config::BrokerConfig::default().message_delay_level;
        DelayLevels::new(levels)
    }
}

impl DelayLevels {
    pub fn new(levels: Vec<Duration>) -> Self {
        DelayLevels(levels.into())
    }

    /// The highest level; 0 when the broker has none (delays are then ignored).
    pub fn max_level(&self) -> u32 {
        self.0.len() as u32
    }

    /// The delay of `level` (1-based).
    pub fn delay(&self, level: u32) -> Option<Duration> {
        let index = usize::try_from(level).ok()?.checked_sub(1)?;
        self.0.get(index).copied()
    }

    /// A requested level clamped to the levels there are; `None` for "no delay".
    pub fn clamp(&self, level: i64) -> Option<u32> {
        if level <= 0 || self.0.is_empty() {
            return None;
        }
        Some(u32::try_from(level).map_or(self.max_level(), |l| l.min(self.max_level())))
    }

    /// The shortest level whose delay is at least `delay`, or the last level.
    pub fn level_for(&self, delay: Duration) -> Option<u32> {
        let at_least = self.0.iter().position(|&d| d >= delay);
        self.clamp(at_least.map_or(i64::from(self.max_level()), |i| i as i64 + 1))
    }
}

/// Where a parked message waits: its level, and its properties with `REAL_TOPIC`, `REAL_QID`
/// and the clamped `DELAY` set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parked {
    pub level: u32,
    pub properties: String,
}

impl Parked {
    /// The schedule queue of `level`.
    pub fn queue_id(&self) -> u32 {
        queue_of(self.level)
    }

    /// Points `fields` at the schedule queue instead of the message's own.
    pub fn apply<'a>(&'a self, fields: &mut RecordFields<'a>) {
        fields.topic = SCHEDULE_TOPIC;
        fields.version = RecordVersion::for_topic(SCHEDULE_TOPIC);
        fields.queue_id = self.queue_id();
        fields.properties = &self.properties;
    }
}

/// The schedule queue of a (1-based) level.
pub fn queue_of(level: u32) -> u32 {
    level - 1
}

/// Whether a message for (`topic`, `queue_id`) with `properties` waits in the schedule
/// topic, and how; `None` when it is stored where it was sent. Only plain and committed
/// messages are delayed, as Java only delays those.
pub fn park(
    levels: &DelayLevels,
    topic: &str,
    queue_id: u32,
    sysflag: SysFlag,
    props: &str,
    now_ms: impl FnOnce() -> i64,
) -> Result<Option<Parked>, BrokerError> {
    let delayable = matches!(
        sysflag.transaction(),
        TransactionType::NotType | TransactionType::Commit
    );
    // Every key that schedules contains one of these: most sends pay two scans, no parse.
    let asks = props.contains(keys::DELAY) || props.contains(keys::TIMER_DELIVER_MS);
    if !delayable || !asks {
        return Ok(None);
    }
    let Some(level) = requested_level(levels, props, now_ms())? else {
        return Ok(None);
    };
    let mut parked = properties::Builder::new();
    let dropped = [keys::REAL_TOPIC, keys::REAL_QID];
    parked
        .extend_from(props, |k| {
            !dropped.contains(&k) && !SCHEDULING_KEYS.contains(&k)
        })
        .and_then(|b| b.push(keys::DELAY, &level.to_string()))
        .and_then(|b| b.push(keys::REAL_TOPIC, topic))
        .and_then(|b| b.push(keys::REAL_QID, &queue_id.to_string()))
        .map_err(|e| BrokerError::MessageIllegal(e.to_string()))?;
    Ok(Some(Parked {
        level,
        properties: parked.finish(),
    }))
}

/// The level a message asks for: its `DELAY` level (an unreadable one means none, as it
/// does for Java's clients), else its timer properties mapped to a level.
fn requested_level(
    levels: &DelayLevels,
    props: &str,
    now_ms: i64,
) -> Result<Option<u32>, BrokerError> {
    if let Some(level) = delay_level(props) {
        return Ok(levels.clamp(level));
    }
    match timer_delay(props, now_ms)? {
        Some(delay) => Ok(levels.level_for(delay)),
        None => Ok(None),
    }
}

/// The `DELAY` level of `props` when it asks for one (a number above 0).
pub fn delay_level(props: &str) -> Option<i64> {
    let level = properties::get(props, keys::DELAY)?
        .trim()
        .parse::<i64>()
        .ok()?;
    (level > 0).then_some(level)
}

/// The delay a 5.x timer property asks for; `None` without one or for a time already past.
fn timer_delay(props: &str, now_ms: i64) -> Result<Option<Duration>, BrokerError> {
    let illegal = |key: &str, value: &str| {
        BrokerError::MessageIllegal(format!(
            "timer property {key}={value} is not a number of milliseconds or seconds"
        ))
    };
    let number = |key: &str| -> Result<Option<i64>, BrokerError> {
        properties::get(props, key)
            .map(|v| v.trim().parse::<i64>().map_err(|_| illegal(key, v)))
            .transpose()
    };
    let deliver_ms = if let Some(sec) = number(keys::TIMER_DELAY_SEC)? {
        now_ms.saturating_add(sec.saturating_mul(1000))
    } else if let Some(ms) = number(keys::TIMER_DELAY_MS)? {
        now_ms.saturating_add(ms)
    } else if let Some(at) = number(keys::TIMER_DELIVER_MS)? {
        at
    } else {
        return Ok(None);
    };
    let ahead = deliver_ms.saturating_sub(now_ms);
    if ahead <= 0 {
        return Ok(None);
    }
    let ahead = Duration::from_millis(ahead as u64);
    if ahead > TIMER_DELAY_MAX {
        let why = format!(
            "timer delay of {} s exceeds the maximum of {} s",
            ahead.as_secs(),
            TIMER_DELAY_MAX.as_secs()
        );
        return Err(BrokerError::MessageIllegal(why));
    }
    Ok(Some(ahead))
}

/// When a message stored at `stored_ms` in level `delay`'s queue is due. A store time in
/// the future (the clock went back) would hold the whole level back; such a message is
/// due now, as in Java.
pub fn due_ms(stored_ms: i64, delay: Duration, now_ms: i64) -> i64 {
    let delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
    let due = stored_ms.saturating_add(delay_ms);
    if due > now_ms.saturating_add(delay_ms) {
        now_ms
    } else {
        due
    }
}

/// Where a due message goes and the properties it is delivered with: without the
/// scheduling keys, with `WAIT=false` (nobody waits for its flush); `REAL_TOPIC` and
/// `REAL_QID` stay, as in Java. `None` when the record does not say where it belongs.
pub fn delivery(props: &str) -> Option<(&str, u32, String)> {
    let topic = properties::get(props, keys::REAL_TOPIC)?;
    let queue_id = properties::get(props, keys::REAL_QID)?.parse().ok()?;
    let mut kept = properties::Builder::new();
    kept.extend_from(props, |k| k != keys::WAIT && !SCHEDULING_KEYS.contains(&k))
        .and_then(|b| b.push(keys::WAIT, "false"))
        .ok()?;
    Some((topic, queue_id, kept.finish()))
}

#[cfg(test)]
#[path = "delay_tests.rs"]
mod tests;
