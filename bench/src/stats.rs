//! What a run counts. Each executor thread fills its own [`Stats`] (no sharing on the send
//! path) and the main thread merges them at the end.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use shardmq::client::ClientError;
use shardmq::wire::codes::response_code;

/// Highest latency the histograms hold, in microseconds; longer ones are clamped to it.
const LATENCY_US_MAX: u64 = 600_000_000;

/// Why a request did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Failure {
    /// The broker answered with this response code.
    Code(i32),
    Timeout,
    /// The connection closed under the request.
    Closed,
    /// The request could not be encoded.
    Encode,
}

impl Failure {
    pub fn of(error: &ClientError) -> Failure {
        match error {
            ClientError::Timeout { .. } => Failure::Timeout,
            ClientError::Wire(_) => Failure::Encode,
            ClientError::Remote { code, .. } => Failure::Code(*code),
            _ => Failure::Closed,
        }
    }

    /// The response code's name (`SYSTEM_BUSY`), or `CODE_<n>` for one no table names.
    pub fn name(self) -> String {
        match self {
            Failure::Code(code) => {
                response_code::name(code).map_or_else(|| format!("CODE_{code}"), str::to_owned)
            }
            Failure::Timeout => "CLIENT_TIMEOUT".to_owned(),
            Failure::Closed => "CONNECTION_CLOSED".to_owned(),
            Failure::Encode => "ENCODE_FAILED".to_owned(),
        }
    }
}

/// Counts of the measured part of a run (after the warm-up).
#[derive(Debug, Clone)]
pub struct Stats {
    /// Requests that got any answer (or, oneway, were queued).
    pub requests: u64,
    /// Messages the broker accepted (oneway: sent).
    pub messages: u64,
    /// Body bytes of those messages.
    pub bytes: u64,
    pub failures: BTreeMap<Failure, u64>,
    /// Send to response, of every answered request.
    pub latency_us: Histogram<u64>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            requests: 0,
            messages: 0,
            bytes: 0,
            failures: BTreeMap::new(),
            latency_us: Histogram::new_with_bounds(1, LATENCY_US_MAX, 3)
                .expect("constant histogram bounds are valid"),
        }
    }
}

impl Stats {
    pub fn record_success(&mut self, messages: u64, bytes: u64) {
        self.requests += 1;
        self.messages += messages;
        self.bytes += bytes;
    }

    pub fn record_failure(&mut self, failure: Failure) {
        if failure != Failure::Timeout {
            self.requests += 1;
        }
        *self.failures.entry(failure).or_insert(0) += 1;
    }

    pub fn record_latency(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_us
            .saturating_record(micros.clamp(1, LATENCY_US_MAX));
    }

    pub fn merge(&mut self, other: &Stats) {
        self.requests += other.requests;
        self.messages += other.messages;
        self.bytes += other.bytes;
        for (failure, count) in &other.failures {
            *self.failures.entry(*failure).or_insert(0) += count;
        }
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency_us.add(&other.latency_us);
    }

    /// Failures by name, for the report.
    pub fn errors(&self) -> BTreeMap<String, u64> {
        self.failures
            .iter()
            .map(|(failure, count)| (failure.name(), *count))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_counts_and_latencies() {
        let mut a = Stats::default();
        a.record_success(4, 400);
        a.record_latency(Duration::from_micros(100));
        let mut b = Stats::default();
        b.record_failure(Failure::Code(response_code::REQUEST_CODE_NOT_SUPPORTED));
        b.record_failure(Failure::Timeout);
        b.record_latency(Duration::from_micros(300));
        a.merge(&b);
        assert_eq!((a.requests, a.messages, a.bytes), (2, 4, 400));
        assert_eq!(a.latency_us.len(), 2);
        let errors = a.errors();
        assert_eq!(errors.get("REQUEST_CODE_NOT_SUPPORTED"), Some(&1));
        assert_eq!(errors.get("CLIENT_TIMEOUT"), Some(&1));
    }

    #[test]
    fn unknown_codes_get_a_name() {
        assert_eq!(Failure::Code(12345).name(), "CODE_12345");
    }
}
