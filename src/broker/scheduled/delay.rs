//! Delayed and timer messages (docs/protocol.md §5.6): the delay levels, which messages are
//! parked and where, when a parked message is due, and what it looks like once delivered.
//! Pure functions of a message's properties and the clock; the send path and
//! CONSUMER_SEND_MSG_BACK park messages with them, [`crate::broker::scheduled::schedule`] and
//! [`crate::broker::scheduled::timer`] deliver them.
//!
//! A message whose `DELAY` property is a level above 0 is stored in the schedule topic's
//! queue `level − 1` (levels above the last are clamped to it), with `REAL_TOPIC` and
//! `REAL_QID` naming where it goes. It is due at its store time plus the level's delay.
//!
//! A 5.x timer (`TIMER_DELAY_SEC`, `TIMER_DELAY_MS`, `TIMER_DELIVER_MS`) is parked in
//! `rmq_sys_wheel_timer` queue 0 with `TIMER_OUT_MS`, its due time: the asked time rounded up
//! to `timerPrecisionMs`, so it is never delivered early. Java 5.x's rules stay: a time
//! already past is delivered at once, more than `timerMaxDelaySec` ahead or an unreadable
//! value is MESSAGE_ILLEGAL, and a `DELAY` level wins over the timer properties.

use std::rc::Rc;
use std::time::Duration;

use crate::broker::BrokerError;
use crate::wire::properties::{self, keys};
use crate::wire::record::{RecordFields, RecordVersion, SysFlag, TransactionType};
use crate::wire::topics::{SCHEDULE_TOPIC, TIMER_TOPIC};

/// Java 5.x's default `timerMaxDelaySec`: the furthest a timer message may be scheduled.
pub const TIMER_DELAY_MAX: Duration = Duration::from_secs(3 * 24 * 3600);

/// Java 5.x's default `timerPrecisionMs`: due times are multiples of it.
pub const TIMER_PRECISION_MS: i64 = 1000;

/// How 5.x timer messages are accepted: `timerMaxDelaySec` and `timerPrecisionMs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerRules {
    /// The furthest ahead a timer may ask; further is MESSAGE_ILLEGAL.
    pub max_delay: Duration,
    /// Due times are rounded up to a multiple of it (ms, at least 1).
    pub precision_ms: i64,
}

impl Default for TimerRules {
    fn default() -> Self {
        TimerRules {
            max_delay: TIMER_DELAY_MAX,
            precision_ms: TIMER_PRECISION_MS,
        }
    }
}

impl TimerRules {
    /// The due time of a timer asked for `deliver_ms`: the next multiple of the precision at
    /// or after it, so a timer is never due before the time it asked for.
    pub fn due_ms(&self, deliver_ms: i64) -> i64 {
        let precision = self.precision_ms.max(1);
        let rest = deliver_ms.rem_euclid(precision);
        if rest == 0 {
            deliver_ms
        } else {
            deliver_ms.saturating_add(precision - rest)
        }
    }
}

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
}

/// What a parked message waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// A delay level (1-based), in the schedule topic.
    Level(u32),
    /// A 5.x timer due at this time (ms since the epoch), in the timer topic.
    Timer { due_ms: i64 },
}

/// Where a parked message waits, and its properties with `REAL_TOPIC`, `REAL_QID` and the
/// clamped `DELAY` (a level) or `TIMER_OUT_MS` (a timer) set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parked {
    pub wait: Wait,
    pub properties: String,
}

impl Parked {
    /// The topic it waits in.
    pub fn topic(&self) -> &'static str {
        match self.wait {
            Wait::Level(_) => SCHEDULE_TOPIC,
            Wait::Timer { .. } => TIMER_TOPIC,
        }
    }

    /// The schedule queue of its level, or the timer topic's only queue.
    pub fn queue_id(&self) -> u32 {
        match self.wait {
            Wait::Level(level) => queue_of(level),
            Wait::Timer { .. } => 0,
        }
    }

    /// Points `fields` at the queue it waits in instead of the message's own.
    pub fn apply<'a>(&'a self, fields: &mut RecordFields<'a>) {
        let topic = self.topic();
        fields.topic = topic;
        fields.version = RecordVersion::for_topic(topic);
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
    timers: &TimerRules,
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
    let Some(wait) = requested_wait(levels, timers, props, now_ms())? else {
        return Ok(None);
    };
    let (key, value) = match wait {
        Wait::Level(level) => (keys::DELAY, level.to_string()),
        Wait::Timer { due_ms } => (keys::TIMER_OUT_MS, due_ms.to_string()),
    };
    let mut parked = properties::Builder::new();
    let dropped = [keys::REAL_TOPIC, keys::REAL_QID, key];
    parked
        .extend_from(props, |k| {
            !dropped.contains(&k) && !SCHEDULING_KEYS.contains(&k)
        })
        .and_then(|b| b.push(key, &value))
        .and_then(|b| b.push(keys::REAL_TOPIC, topic))
        .and_then(|b| b.push(keys::REAL_QID, &queue_id.to_string()))
        .map_err(|e| BrokerError::MessageIllegal(e.to_string()))?;
    Ok(Some(Parked {
        wait,
        properties: parked.finish(),
    }))
}

/// What a message waits for: its `DELAY` level (an unreadable one means none, as it does for
/// Java's clients), else the due time of its timer properties.
fn requested_wait(
    levels: &DelayLevels,
    timers: &TimerRules,
    props: &str,
    now_ms: i64,
) -> Result<Option<Wait>, BrokerError> {
    if let Some(level) = delay_level(props) {
        return Ok(levels.clamp(level).map(Wait::Level));
    }
    let deliver_ms = timer_deliver_ms(props, now_ms, timers.max_delay)?;
    Ok(deliver_ms.map(|at| Wait::Timer {
        due_ms: timers.due_ms(at),
    }))
}

/// Whether `props` carry a 5.x timer key, readable or not.
pub fn asks_timer(props: &str) -> bool {
    SCHEDULING_KEYS[1..]
        .iter()
        .any(|&key| properties::get(props, key).is_some())
}

/// The `DELAY` level of `props` when it asks for one (a number above 0).
pub fn delay_level(props: &str) -> Option<i64> {
    let level = properties::get(props, keys::DELAY)?
        .trim()
        .parse::<i64>()
        .ok()?;
    (level > 0).then_some(level)
}

/// The time a 5.x timer property asks for; `None` without one or for a time already past
/// (delivered at once). More than `max_delay` ahead is MESSAGE_ILLEGAL.
fn timer_deliver_ms(
    props: &str,
    now_ms: i64,
    max_delay: Duration,
) -> Result<Option<i64>, BrokerError> {
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
    if Duration::from_millis(ahead as u64) > max_delay {
        let why = format!(
            "timer delay of {} s exceeds the maximum of {} s",
            ahead / 1000,
            max_delay.as_secs()
        );
        return Err(BrokerError::MessageIllegal(why));
    }
    Ok(Some(deliver_ms))
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
    delivered(props, None)
}

/// [`delivery`] for a timer message delivered at `now_ms`: `TIMER_OUT_MS` (its due time)
/// stays and `TIMER_DEQUEUE_MS` says when it was delivered, as Java 5.x adds.
pub fn timer_delivery(props: &str, now_ms: i64) -> Option<(&str, u32, String)> {
    delivered(props, Some(now_ms))
}

fn delivered(props: &str, dequeued_ms: Option<i64>) -> Option<(&str, u32, String)> {
    let topic = properties::get(props, keys::REAL_TOPIC)?;
    let queue_id = properties::get(props, keys::REAL_QID)?.parse().ok()?;
    let mut kept = properties::Builder::new();
    let dequeue_key = dequeued_ms.map(|_| keys::TIMER_DEQUEUE_MS);
    kept.extend_from(props, |k| {
        k != keys::WAIT && Some(k) != dequeue_key && !SCHEDULING_KEYS.contains(&k)
    })
    .and_then(|b| b.push(keys::WAIT, "false"))
    .ok()?;
    if let Some(ms) = dequeued_ms {
        kept.push(keys::TIMER_DEQUEUE_MS, &ms.to_string()).ok()?;
    }
    Some((topic, queue_id, kept.finish()))
}

#[cfg(test)]
#[path = "delay_tests.rs"]
mod tests;
