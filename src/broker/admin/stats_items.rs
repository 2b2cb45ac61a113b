//! VIEW_BROKER_STATS_DATA (315), what `mqadmin statsAll` reads: for one stats item (a name
//! and a key, e.g. `TOPIC_PUT_NUMS` of a topic, `GROUP_GET_NUMS` of `topic@group`) its sum,
//! rate and average per call over the last minute, hour and day (docs/protocol.md §2.8.13).
//!
//! As Java's `StatsItem`, the counters are sampled into three windows: every 10 s (7 kept, a
//! minute), every 10 min (7, an hour) and every hour (25, a day); a window's figures are the
//! difference between its newest and oldest samples. The counters are [`Meters`]'s, so
//! sampling costs the data path nothing; the samples cost about 1 KiB per item.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use serde::Serialize;

use super::meters::Meters;
use crate::broker::handler::Handled;
use crate::broker::{BrokerContext, BrokerError};
use crate::wire::RemotingCommand;

/// The stats names this broker keeps, with the key each is looked up by.
pub const STATS_NAMES: &[(&str, &str)] = &[
    ("TOPIC_PUT_NUMS", "topic"),
    ("TOPIC_PUT_SIZE", "topic"),
    ("GROUP_GET_NUMS", "topic@group"),
    ("GROUP_GET_SIZE", "topic@group"),
    ("BROKER_PUT_NUMS", "brokerClusterName"),
    ("BROKER_GET_NUMS", "brokerClusterName"),
];

/// Seconds between samples of the minute window; the hour and day windows take every 60th
/// and 360th of them.
pub const SAMPLE_EVERY_S: u64 = 10;

/// One sample of an item: when, its value, how many calls added to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sample {
    at_ms: i64,
    value: u64,
    times: u64,
}

/// The three windows of one item.
#[derive(Debug, Default)]
struct Windows {
    minute: VecDeque<Sample>,
    hour: VecDeque<Sample>,
    day: VecDeque<Sample>,
}

fn push(window: &mut VecDeque<Sample>, sample: Sample, keep: usize) {
    if window.len() == keep {
        window.pop_front();
    }
    window.push_back(sample);
}

/// A window's figures, Java's `BrokerStatsItem`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Figures {
    pub avgpt: f64,
    pub sum: u64,
    pub tps: f64,
}

impl Figures {
    fn of(window: &VecDeque<Sample>) -> Figures {
        let (Some(first), Some(last)) = (window.front(), window.back()) else {
            return Figures::default();
        };
        let sum = last.value.saturating_sub(first.value);
        let times = last.times.saturating_sub(first.times);
        let elapsed_ms = last.at_ms - first.at_ms;
        Figures {
            avgpt: if times > 0 {
                sum as f64 / times as f64
            } else {
                0.0
            },
            sum,
            tps: if elapsed_ms > 0 {
                sum as f64 * 1000.0 / elapsed_ms as f64
            } else {
                0.0
            },
        }
    }
}

/// VIEW_BROKER_STATS_DATA's body (`BrokerStatsData`), fields in fastjson's order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsData {
    pub stats_day: Figures,
    pub stats_hour: Figures,
    pub stats_minute: Figures,
}

/// The sampled items of one shard.
#[derive(Debug, Default)]
pub struct StatsItems {
    items: RefCell<HashMap<(&'static str, String), Windows>>,
    samples_taken: Cell<u64>,
}

impl StatsItems {
    /// Samples every item of `meters` (and the broker totals, keyed by `cluster`) at
    /// `now_ms`; call every [`SAMPLE_EVERY_S`] seconds.
    pub fn sample(&self, meters: &Meters, totals: (u64, u64), cluster: &str, now_ms: i64) {
        let taken = self.samples_taken.get();
        self.samples_taken.set(taken + 1);
        let (hourly, daily) = (taken % 60 == 0, taken % 360 == 0);
        let mut items = self.items.borrow_mut();
        let mut record = |name: &'static str, key: String, value: u64, times: u64| {
            let windows = items.entry((name, key)).or_default();
            let sample = Sample {
                at_ms: now_ms,
                value,
                times,
            };
            push(&mut windows.minute, sample, 7);
            if hourly {
                push(&mut windows.hour, sample, 7);
            }
            if daily {
                push(&mut windows.day, sample, 25);
            }
        };
        meters.each_in(|topic, messages, bytes| {
            record("TOPIC_PUT_NUMS", topic.to_owned(), messages, messages);
            record("TOPIC_PUT_SIZE", topic.to_owned(), bytes, messages);
        });
        meters.each_out(|topic, group, counts| {
            let key = format!("{topic}@{group}");
            record("GROUP_GET_NUMS", key.clone(), counts.messages, counts.pulls);
            record("GROUP_GET_SIZE", key, counts.bytes, counts.pulls);
        });
        record("BROKER_PUT_NUMS", cluster.to_owned(), totals.0, totals.0);
        record("BROKER_GET_NUMS", cluster.to_owned(), totals.1, totals.1);
    }

    /// The figures of item `name` `key`; `None` when it has never been sampled.
    pub fn figures(&self, name: &str, key: &str) -> Option<StatsData> {
        let items = self.items.borrow();
        let (name, _) = STATS_NAMES.iter().find(|(known, _)| *known == name)?;
        let windows = items.get(&(*name, key.to_owned()))?;
        Some(StatsData {
            stats_day: Figures::of(&windows.day),
            stats_hour: Figures::of(&windows.hour),
            stats_minute: Figures::of(&windows.minute),
        })
    }
}

/// VIEW_BROKER_STATS_DATA: `{statsName, statsKey}`; Java's SYSTEM_ERROR remark for an item
/// this shard has no figures of.
pub fn view_stats(ctx: &Rc<BrokerContext>, request: &RemotingCommand) -> Handled {
    let field = |name: &str| {
        request
            .ext_fields
            .get(name)
            .ok_or_else(|| BrokerError::InvalidParameter(format!("the request has no {name}")))
    };
    let (name, key) = (field("statsName")?, field("statsKey")?);
    let Some(data) = ctx.stats.items.figures(name, key) else {
        return Err(BrokerError::ClientCall(format!(
            "The stats <{name}> <{key}> not exist"
        )));
    };
    let mut response = RemotingCommand::success(request);
    response.body = serde_json::to_vec(&data).unwrap_or_default().into();
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::admin::meters::MessageType;

    #[test]
    fn windows_hold_javas_spans_and_figures() {
        let (items, meters) = (StatsItems::default(), Meters::default());
        // 13 samples 10 s apart, 100 messages of 10 bytes each time.
        for i in 0..13u64 {
            for _ in 0..100 {
                meters.message_in("T", MessageType::Normal, 10);
            }
            meters.messages_out("T", "G", 50, 500);
            items.sample(&meters, (0, 0), "C", (i * 10_000) as i64);
        }
        let puts = items.figures("TOPIC_PUT_NUMS", "T").expect("sampled");
        // The minute window: the last 7 samples, 60 s apart at the ends.
        assert_eq!(puts.stats_minute.sum, 600);
        assert_eq!(puts.stats_minute.tps, 10.0);
        assert_eq!(puts.stats_minute.avgpt, 1.0);
        // One hourly sample so far: no span yet.
        assert_eq!(puts.stats_hour, Figures::default());
        let gets = items.figures("GROUP_GET_NUMS", "T@G").expect("sampled");
        assert_eq!(
            (gets.stats_minute.sum, gets.stats_minute.avgpt),
            (300, 50.0)
        );
        let size = items.figures("GROUP_GET_SIZE", "T@G").expect("sampled");
        assert_eq!(size.stats_minute.sum, 3000);
        assert!(items.figures("TOPIC_PUT_NUMS", "other").is_none());
        assert!(items.figures("NO_SUCH_STATS", "T").is_none());
        let body = serde_json::to_string(&puts).expect("json");
        assert!(
            body.starts_with(r#"{"statsDay":{"avgpt":0.0,"sum":0,"tps":0.0},"statsHour""#),
            "{body}"
        );
    }
}
