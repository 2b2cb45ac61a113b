//! Round-trip latency of `Shard::request` between two pinned shards, for several
//! `spin_before_park` settings, back to back and with an idle gap between requests.
//!
//! Run: `cargo bench -p shards --bench mesh_rtt` (release profile). Prints one table row per
//! setting: percentiles in microseconds and the CPU the process used per second of wall time.

use std::{fs, time::Duration, time::Instant};

use hdrhistogram::Histogram;
use shards::{launch, Config, MailboxError, Shard, ShardId};

const WARMUP: u64 = 2_000;

struct Scenario {
    label: &'static str,
    requests: u64,
    gap: Option<Duration>,
}

const SCENARIOS: [Scenario; 2] = [
    Scenario {
        label: "back-to-back",
        requests: 50_000,
        gap: None,
    },
    Scenario {
        label: "1 ms gap",
        requests: 3_000,
        gap: Some(Duration::from_millis(1)),
    },
];

fn main() {
    let spins = [None, Some(50), Some(200), Some(500)];
    println!(
        "{:<14} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "load", "spin µs", "p50 µs", "p99 µs", "p999 µs", "max µs", "cpu/wall"
    );
    for scenario in &SCENARIOS {
        for spin in spins {
            let cpu_before = process_cpu_seconds();
            let started = Instant::now();
            let histogram = measure(spin.map(Duration::from_micros), scenario);
            let cpu = process_cpu_seconds() - cpu_before;
            let wall = started.elapsed().as_secs_f64();
            print_row(scenario.label, spin, &histogram, cpu / wall);
        }
    }
}

fn measure(spin: Option<Duration>, scenario: &Scenario) -> Histogram<u64> {
    let config = Config {
        shards: 2,
        spin_before_park: spin,
        io_memory_bytes: 64 << 10,
        handle_signals: false,
        ..Config::default()
    };
    let requests = scenario.requests;
    let gap = scenario.gap;
    let outputs = launch(config, move |shard: Shard<u64>| async move {
        shard.serve(|_, n| async move { n + 1 });
        if shard.id() != ShardId::new(0) {
            return Ok::<_, MailboxError>(None);
        }
        let peer = ShardId::new(1);
        for n in 0..WARMUP {
            shard.request(peer, n).await?;
        }
        let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
            .map_err(|_| MailboxError::Stopped { shard: peer })?;
        for n in 0..requests {
            if let Some(gap) = gap {
                glommio::timer::sleep(gap).await;
            }
            let sent = Instant::now();
            let reply = shard.request(peer, n).await?;
            let nanos = sent.elapsed().as_nanos() as u64;
            assert_eq!(reply, n + 1);
            histogram.saturating_record(nanos.max(1));
        }
        shard.shutdown_handle().trigger();
        Ok(Some(histogram))
    })
    .expect("bench launch");
    outputs
        .into_iter()
        .flatten()
        .next()
        .expect("shard 0 returns the histogram")
}

fn print_row(load: &str, spin: Option<u64>, histogram: &Histogram<u64>, cpu_per_wall: f64) {
    let micros = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    let spin = spin.map_or_else(|| "off".to_owned(), |s| s.to_string());
    println!(
        "{load:<14} {spin:>9} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>10.2}",
        micros(0.5),
        micros(0.99),
        micros(0.999),
        histogram.max() as f64 / 1000.0,
        cpu_per_wall
    );
}

/// User + system CPU time of this process, from /proc (clock ticks of 10 ms).
fn process_cpu_seconds() -> f64 {
    let Ok(stat) = fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}
