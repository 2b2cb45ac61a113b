//! The live view of a run: [`Progress`] counters each executor thread bumps (relaxed
//! atomics, the only state threads share) and the line on stderr that reads them once a
//! second.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Live counters of one thread, warm-up included, for the progress line.
#[derive(Debug, Default)]
pub struct Progress {
    pub requests: AtomicU64,
    pub messages: AtomicU64,
    pub failures: AtomicU64,
}

impl Progress {
    pub fn add(&self, requests: u64, messages: u64, failures: u64) {
        self.requests.fetch_add(requests, Ordering::Relaxed);
        self.messages.fetch_add(messages, Ordering::Relaxed);
        self.failures.fetch_add(failures, Ordering::Relaxed);
    }

    pub fn read(&self) -> [u64; 3] {
        [&self.requests, &self.messages, &self.failures].map(|n| n.load(Ordering::Relaxed))
    }
}

/// The once-a-second line on stderr, drawn only on a terminal.
#[derive(Debug)]
pub struct ProgressLine {
    enabled: bool,
    started: Instant,
    previous: [u64; 3],
}

impl ProgressLine {
    /// A line drawn when stderr is a terminal.
    pub fn on_terminal() -> Self {
        ProgressLine::new(std::io::stderr().is_terminal())
    }

    pub fn new(enabled: bool) -> Self {
        ProgressLine {
            enabled,
            started: Instant::now(),
            previous: [0; 3],
        }
    }

    pub fn show(&mut self, threads: &[Arc<Progress>]) {
        if !self.enabled {
            return;
        }
        let mut total = [0u64; 3];
        for counters in threads {
            for (sum, value) in total.iter_mut().zip(counters.read()) {
                *sum += value;
            }
        }
        let [requests, messages, failures] = total;
        let [r0, m0, f0] = self.previous;
        self.previous = total;
        eprint!(
            "\r{:>5.0} s  {:>9} requests/s  {:>9} msgs/s  {:>7} errors/s  ({failures} errors)   ",
            self.started.elapsed().as_secs_f64(),
            requests - r0,
            messages - m0,
            failures - f0,
        );
    }

    pub fn clear(&self) {
        if self.enabled {
            eprint!("\r{:100}\r", "");
        }
    }
}
