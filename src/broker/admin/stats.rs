//! Message traffic of one shard's broker and its rates, for GET_BROKER_RUNTIME_INFO
//! (`mqadmin brokerStatus`, `clusterList`).
//!
//! The send and pull handlers add to [`Traffic`]: one `Cell` bump per stored record or
//! answered pull, the whole cost on the data path. [`ShardStats::run_sampling`] reads the
//! counters once a second into a ten-minute window, as Java's `StoreStatsService` does, so
//! a rate over the last 10 s, 1 min or 10 min is the difference of two samples; and it
//! keeps the totals seen at the last two local midnights, as Java's `BrokerStats` does, for
//! the "today" and "yesterday" counts.
//!
//! Lives on one shard and counts that shard's queues only: each shard is its own broker.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use super::meters::Meters;
use super::stats_items::{StatsItems, SAMPLE_EVERY_S};
use crate::clock::Clock;
use crate::storage::retention::local_hour;

/// How often the counters are sampled (Java samples every second).
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// The spans, in samples, of the three rates Java reports: 10 s, 1 min, 10 min.
const RATE_SPANS: [usize; 3] = [10, 60, 600];

/// Samples kept: the longest span and the sample it starts from.
const SAMPLES_MAX: usize = RATE_SPANS[2] + 1;

/// Messages stored and messages handed to consumers, since the shard started.
#[derive(Debug, Default)]
pub struct Traffic {
    stored: Cell<u64>,
    pulled: Cell<u64>,
    /// The same by topic, type and group, and the requests' latencies (Prometheus).
    pub meters: Meters,
}

impl Traffic {
    /// A record was appended to the store.
    pub fn add_stored(&self, messages: u64) {
        self.stored.set(self.stored.get() + messages);
    }

    /// A pull answer carried `messages` records.
    pub fn add_pulled(&self, messages: u64) {
        self.pulled.set(self.pulled.get() + messages);
    }

    pub fn totals(&self) -> Totals {
        Totals {
            stored: self.stored.get(),
            pulled: self.pulled.get(),
        }
    }
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub stored: u64,
    pub pulled: u64,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    at_ms: u64,
    totals: Totals,
}

/// The last ten minutes of samples.
#[derive(Debug, Default)]
pub struct TpsWindow {
    samples: VecDeque<Sample>,
}

impl TpsWindow {
    /// Adds the sample taken `at_ms` (monotonic), dropping the oldest beyond ten minutes.
    pub fn record(&mut self, at_ms: u64, totals: Totals) {
        if self.samples.len() == SAMPLES_MAX {
            self.samples.pop_front();
        }
        self.samples.push_back(Sample { at_ms, totals });
    }

    /// Java's rate text: events per second over the last 10 s, 1 min and 10 min,
    /// space-separated, each as Java prints a double (`"12.5 11.0 10.2"`).
    pub fn rates_text(&self, count: fn(&Totals) -> u64) -> String {
        let rates = RATE_SPANS.map(|span| format!("{:?}", self.rate(span, count)));
        rates.join(" ")
    }

    /// Events per second over the last `span` samples. While fewer are kept (the first ten
    /// minutes), over all of them: Java prints an empty field then, which `mqadmin
    /// clusterList` fails to parse.
    fn rate(&self, span: usize, count: fn(&Totals) -> u64) -> f64 {
        let (Some(last), Some(oldest)) = (self.samples.back(), self.samples.front()) else {
            return 0.0;
        };
        let first = self.samples.len().checked_sub(span + 1);
        let first = first.and_then(|i| self.samples.get(i)).unwrap_or(oldest);
        let elapsed_ms = last.at_ms.saturating_sub(first.at_ms);
        if elapsed_ms == 0 {
            return 0.0;
        }
        let events = count(&last.totals).saturating_sub(count(&first.totals));
        events as f64 * 1000.0 / elapsed_ms as f64
    }
}

/// The totals at the last two local midnights, for Java's `msgPutTotalTodayMorning` and
/// friends: zero until the first midnight the shard sees, as in Java.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Days {
    pub today_morning: Totals,
    pub yesterday_morning: Totals,
    /// The local hour of the previous sample.
    hour: Option<u32>,
}

impl Days {
    /// Notes a sample taken at local hour `hour`; the first sample after midnight makes
    /// `now` today's morning. Midnight is the hour falling by more than half a day, so the
    /// hour repeated when daylight saving time ends is not taken for one.
    pub fn observe(&mut self, hour: u32, now: Totals) {
        if self.hour.is_some_and(|previous| hour + 12 < previous) {
            self.yesterday_morning = self.today_morning;
            self.today_morning = now;
        }
        self.hour = Some(hour);
    }
}

/// One shard's traffic, its rates and its daily totals.
#[derive(Debug)]
pub struct ShardStats {
    pub traffic: Rc<Traffic>,
    window: RefCell<TpsWindow>,
    days: Cell<Days>,
    /// The stats items of VIEW_BROKER_STATS_DATA, sampled every [`SAMPLE_EVERY_S`] seconds.
    pub items: StatsItems,
    /// `brokerClusterName`: the key of the broker-wide items.
    cluster: String,
    /// Samples taken (one a second).
    ticks: Cell<u64>,
    clock: Clock,
}

impl ShardStats {
    /// Starts with one sample of zero counts, so the first rates cover the shard's life.
    pub fn new(clock: Clock, cluster: &str) -> Self {
        let mut window = TpsWindow::default();
        window.record(0, Totals::default());
        let stats = ShardStats {
            traffic: Rc::new(Traffic::default()),
            window: RefCell::new(window),
            days: Cell::new(Days::default()),
            items: StatsItems::default(),
            cluster: cluster.to_owned(),
            ticks: Cell::new(0),
            clock,
        };
        // The broker-wide items exist from the start, as Java's.
        stats.sample_items((0, 0));
        stats
    }

    /// Samples the counters now.
    pub fn sample(&self) {
        let totals = self.traffic.totals();
        let at_ms = self.clock.monotonic_ms();
        self.window.borrow_mut().record(at_ms, totals);
        let mut days = self.days.get();
        days.observe(local_hour(self.clock.wall_ms()), totals);
        self.days.set(days);
        let ticks = self.ticks.get() + 1;
        self.ticks.set(ticks);
        if ticks % SAMPLE_EVERY_S == 0 {
            self.sample_items((totals.stored, totals.pulled));
        }
    }

    /// Samples the stats items, with the broker's `(stored, pulled)` totals.
    fn sample_items(&self, totals: (u64, u64)) {
        let (meters, cluster) = (&self.traffic.meters, &self.cluster);
        (self.items).sample(meters, totals, cluster, self.clock.wall_ms());
    }

    /// Samples every [`SAMPLE_INTERVAL`] until `closing` completes.
    pub async fn run_sampling(self: Rc<Self>, closing: impl Future<Output = ()>) {
        let mut ticker = shards::Ticker::new(SAMPLE_INTERVAL, closing);
        while ticker.tick().await {
            self.sample();
        }
    }

    /// `putTps`: messages stored per second.
    pub fn put_tps(&self) -> String {
        self.window.borrow().rates_text(|t| t.stored)
    }

    /// `getTransferredTps`: messages handed to consumers per second.
    pub fn get_tps(&self) -> String {
        self.window.borrow().rates_text(|t| t.pulled)
    }

    pub fn days(&self) -> Days {
        self.days.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(n: u64) -> Totals {
        Totals {
            stored: n,
            pulled: n / 2,
        }
    }

    #[test]
    fn a_steady_rate_reads_the_same_over_every_span() {
        let mut window = TpsWindow::default();
        for second in 0..=700u64 {
            window.record(second * 1000, stored(second * 100));
        }
        assert_eq!(window.samples.len(), SAMPLES_MAX);
        assert_eq!(window.rates_text(|t| t.stored), "100.0 100.0 100.0");
        assert_eq!(window.rates_text(|t| t.pulled), "50.0 50.0 50.0");
    }

    #[test]
    fn each_span_sees_only_its_own_samples() {
        let mut window = TpsWindow::default();
        // Ten idle minutes, then 50 a second for the last 30 s.
        let mut total = 0;
        for second in 0..=600u64 {
            if second > 570 {
                total += 50;
            }
            window.record(second * 1000, stored(total));
        }
        let rates: Vec<f64> = RATE_SPANS
            .iter()
            .map(|&span| window.rate(span, |t| t.stored))
            .collect();
        assert_eq!(rates, [50.0, 25.0, 2.5]);
    }

    #[test]
    fn a_short_history_rates_over_what_it_has() {
        let mut window = TpsWindow::default();
        assert_eq!(window.rates_text(|t| t.stored), "0.0 0.0 0.0", "no samples");
        window.record(0, stored(0));
        assert_eq!(window.rates_text(|t| t.stored), "0.0 0.0 0.0", "one sample");
        window.record(0, stored(5));
        assert_eq!(
            window.rates_text(|t| t.stored),
            "0.0 0.0 0.0",
            "no time passed"
        );
        window.record(4000, stored(20));
        assert_eq!(window.rates_text(|t| t.stored), "5.0 5.0 5.0");
        window.record(5000, stored(20));
        assert_eq!(window.rate(10, |t| t.stored), 4.0);
    }

    #[test]
    fn rates_print_as_java_prints_a_double() {
        let mut window = TpsWindow::default();
        window.record(0, stored(0));
        window.record(3000, stored(1000));
        let text = window.rates_text(|t| t.stored);
        assert_eq!(
            text,
            "333.3333333333333 333.3333333333333 333.3333333333333"
        );
        assert!(text.split(' ').all(|r| r.parse::<f64>().is_ok()));
    }

    #[test]
    fn midnight_moves_the_daily_totals() {
        let mut days = Days::default();
        days.observe(23, stored(10));
        assert_eq!(
            days.today_morning,
            Totals::default(),
            "no midnight seen yet"
        );
        days.observe(0, stored(20));
        assert_eq!(days.today_morning, stored(20));
        assert_eq!(days.yesterday_morning, Totals::default());
        for hour in [1, 2, 1, 5, 23] {
            // 2 → 1: the hour daylight saving time repeats, not a new day.
            days.observe(hour, stored(30));
        }
        assert_eq!(days.today_morning, stored(20));
        days.observe(0, stored(90));
        assert_eq!(
            (days.yesterday_morning, days.today_morning),
            (stored(20), stored(90))
        );
    }

    #[test]
    fn a_fresh_shard_samples_its_counters() {
        let stats = ShardStats::new(Clock::system(), "DefaultCluster");
        stats.traffic.add_stored(3);
        stats.traffic.add_pulled(2);
        assert_eq!(
            stats.traffic.totals(),
            Totals {
                stored: 3,
                pulled: 2
            }
        );
        stats.sample();
        assert_eq!(stats.window.borrow().samples.len(), 2);
        assert_eq!(stats.put_tps().split(' ').count(), 3);
    }
}
