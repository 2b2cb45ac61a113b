//! The results of a run: a few lines for people and a JSON document for comparing runs
//! (`msgs_per_sec`, `mib_per_sec`, `latency_us`, `errors`, `params`, `machine`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::stats::Stats;
use crate::BenchError;

const MIB: f64 = 1024.0 * 1024.0;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Messages the broker accepted per second (oneway: sent per second).
    pub msgs_per_sec: f64,
    /// Body bytes of those messages per second.
    pub mib_per_sec: f64,
    /// Answered requests per second, failures included: what a sink measures.
    pub requests_per_sec: f64,
    pub messages: u64,
    pub requests: u64,
    pub elapsed_sec: f64,
    pub latency_us: Latency,
    /// Failed requests by response code name.
    pub errors: BTreeMap<String, u64>,
    pub params: Value,
    pub machine: Machine,
    /// What the harness itself spent, to show it was not the bottleneck.
    pub harness: Option<HarnessCost>,
}

/// CPU time of the harness process over the whole run (warm-up included) and the
/// requests it made in that time: the cost per request bounds the rate one core can drive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HarnessCost {
    pub cpu_sec: f64,
    pub requests: u64,
    pub cpu_us_per_request: f64,
}

impl HarnessCost {
    pub fn new(cpu: Duration, requests: u64) -> HarnessCost {
        HarnessCost {
            cpu_sec: cpu.as_secs_f64(),
            requests,
            cpu_us_per_request: cpu.as_secs_f64() * 1e6 / requests.max(1) as f64,
        }
    }
}

/// User plus system CPU time of this process so far, from `/proc/self/stat` (in the
/// kernel's 100 Hz ticks); `None` where that file is missing or unreadable.
pub fn process_cpu() -> Option<Duration> {
    const TICKS_PER_SEC: u64 = 100;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces; fields are counted after its closing parenthesis,
    // where utime and stime are the 12th and 13th.
    let mut fields = stat.get(stat.rfind(')')? + 2..)?.split(' ').skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis(
        (user + system) * 1000 / TICKS_PER_SEC,
    ))
}

/// Percentiles in microseconds; all zero when nothing was measured (oneway).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub kernel: String,
    pub cpu_model: String,
}

impl Machine {
    /// This machine, from `/proc`; fields it cannot read say `unknown`.
    pub fn current() -> Machine {
        let read = |path| std::fs::read_to_string(path).unwrap_or_default();
        let cpu_model = read("/proc/cpuinfo")
            .lines()
            .find(|line| line.starts_with("model name"))
            .and_then(|line| line.split_once(':'))
            .map_or_else(|| "unknown".to_owned(), |(_, name)| name.trim().to_owned());
        let kernel = read("/proc/sys/kernel/osrelease").trim().to_owned();
        Machine {
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            kernel: if kernel.is_empty() {
                "unknown".into()
            } else {
                kernel
            },
            cpu_model,
        }
    }
}

impl Report {
    pub fn new(stats: &Stats, elapsed: Duration, params: Value) -> Report {
        let seconds = elapsed.as_secs_f64().max(1e-9);
        let histogram = &stats.latency_us;
        let latency = if histogram.is_empty() {
            Latency::default()
        } else {
            Latency {
                p50: histogram.value_at_quantile(0.50),
                p90: histogram.value_at_quantile(0.90),
                p99: histogram.value_at_quantile(0.99),
                p999: histogram.value_at_quantile(0.999),
                max: histogram.max(),
            }
        };
        Report {
            msgs_per_sec: stats.messages as f64 / seconds,
            mib_per_sec: stats.bytes as f64 / MIB / seconds,
            requests_per_sec: stats.requests as f64 / seconds,
            messages: stats.messages,
            requests: stats.requests,
            elapsed_sec: seconds,
            latency_us: latency,
            errors: stats.errors(),
            params,
            machine: Machine::current(),
            harness: None,
        }
    }

    /// Takes the rates over `elapsed_sec` instead of the run's own time.
    pub fn rescale(&mut self, elapsed_sec: f64) {
        let factor = self.elapsed_sec / elapsed_sec.max(1e-9);
        self.msgs_per_sec *= factor;
        self.mib_per_sec *= factor;
        self.requests_per_sec *= factor;
        self.elapsed_sec = elapsed_sec;
    }

    /// The summary for a terminal.
    pub fn text(&self) -> String {
        let l = &self.latency_us;
        let mut out = format!(
            "{:.0} msgs/s  {:.1} MiB/s  {:.0} requests/s  ({} messages, {} requests in {:.1} s)\n\
             latency µs: p50 {}  p90 {}  p99 {}  p99.9 {}  max {}\n",
            self.msgs_per_sec,
            self.mib_per_sec,
            self.requests_per_sec,
            self.messages,
            self.requests,
            self.elapsed_sec,
            l.p50,
            l.p90,
            l.p99,
            l.p999,
            l.max
        );
        for (name, count) in &self.errors {
            out.push_str(&format!("errors: {name} {count}\n"));
        }
        if let Some(cost) = &self.harness {
            out.push_str(&format!(
                "harness: {:.2} s CPU for {} requests, {:.2} µs per request\n",
                cost.cpu_sec, cost.requests, cost.cpu_us_per_request
            ));
        }
        out
    }

    pub fn write_json(&self, path: &Path) -> Result<(), BenchError> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|error| BenchError::Io(std::io::Error::other(error)))?;
        std::fs::write(path, text + "\n")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Failure;
    use serde_json::json;

    #[test]
    fn json_has_the_documented_shape() {
        let mut stats = Stats::default();
        for micros in 1..=1000 {
            stats.record_success(1, 1024);
            stats.record_latency(Duration::from_micros(micros));
        }
        stats.record_failure(Failure::Code(2));
        let report = Report::new(&stats, Duration::from_secs(2), json!({"size": 1024}));
        let value = serde_json::to_value(&report).expect("serializes");
        assert_eq!(value["msgs_per_sec"], 500.0);
        assert!((value["mib_per_sec"].as_f64().expect("number") - 500.0 / 1024.0).abs() < 1e-9);
        for key in ["p50", "p90", "p99", "p999", "max"] {
            assert!(value["latency_us"][key].is_u64(), "{key}");
        }
        assert_eq!(value["latency_us"]["max"], 1000);
        assert_eq!(value["errors"]["SYSTEM_BUSY"], 1);
        assert_eq!(value["params"]["size"], 1024);
        assert!(value["machine"]["cores"].as_u64().expect("cores") >= 1);
        assert!(value["machine"]["kernel"].is_string());
        assert!(value["machine"]["cpu_model"].is_string());
        let mut rescaled = report.clone();
        rescaled.rescale(4.0);
        assert_eq!((rescaled.msgs_per_sec, rescaled.elapsed_sec), (250.0, 4.0));
    }

    #[test]
    fn process_cpu_reads_proc() {
        let spent = process_cpu().expect("/proc/self/stat");
        assert!(spent < Duration::from_secs(3600));
        let cost = HarnessCost::new(Duration::from_secs(2), 1_000_000);
        assert!((cost.cpu_us_per_request - 2.0).abs() < 1e-9);
    }
}
