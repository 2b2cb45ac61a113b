//! The time a shard reads: wall-clock milliseconds since the epoch for what is stored or shown
//! (store timestamps, data versions, uptime), and monotonic milliseconds for expiry, which
//! must never go back when the system clock is stepped.
//!
//! Each shard makes one [`Clock`] and hands it to its store and its broker context at
//! construction, so handlers and the store agree on "now", and a test can give both a
//! [`ManualClock`] and move time by hand. Real waiting (glommio timers, the flush writer's
//! interval, background tasks' periods) stays on glommio's timers: a hand-moved clock could
//! never wake them.
//!
//! A `Clock` is a plain enum: reading it is a branch and a system call, no dynamic dispatch
//! and no allocation, because the store reads it once per message.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A shard's clock; clones read the same time.
#[derive(Debug, Clone)]
pub struct Clock(Source);

#[derive(Debug, Clone)]
enum Source {
    /// The system clocks; monotonic time counts from `epoch`.
    System {
        epoch: Instant,
    },
    Manual(Rc<ManualTime>),
}

#[derive(Debug)]
struct ManualTime {
    wall_ms: Cell<i64>,
    monotonic_ms: Cell<u64>,
    /// Added to the wall clock after each reading, for tests that want distinct timestamps
    /// without moving the clock between puts.
    step_ms: i64,
}

impl Clock {
    /// The system's wall clock and a monotonic clock that starts at zero now.
    pub fn system() -> Clock {
        Clock(Source::System {
            epoch: Instant::now(),
        })
    }

    /// Milliseconds since the Unix epoch; 0 if the system clock is set before 1970.
    pub fn wall_ms(&self) -> i64 {
        match &self.0 {
            Source::System { .. } => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            Source::Manual(time) => {
                let now = time.wall_ms.get();
                time.wall_ms.set(now.saturating_add(time.step_ms));
                now
            }
        }
    }

    /// Milliseconds since this clock was made; never decreases.
    pub fn monotonic_ms(&self) -> u64 {
        match &self.0 {
            Source::System { epoch } => epoch.elapsed().as_millis() as u64,
            Source::Manual(time) => time.monotonic_ms.get(),
        }
    }
}

/// A clock that moves only when told to, for tests; [`ManualClock::clock`] gives the
/// [`Clock`] to hand to a store or a broker context.
#[derive(Debug, Clone)]
pub struct ManualClock(Rc<ManualTime>);

impl ManualClock {
    /// Stands at `wall_ms` since the epoch and at monotonic zero.
    pub fn new(wall_ms: i64) -> ManualClock {
        ManualClock::ticking(wall_ms, 0)
    }

    /// Like [`ManualClock::new`], but every wall-clock reading moves the wall clock on by
    /// `step_ms`.
    pub fn ticking(wall_ms: i64, step_ms: i64) -> ManualClock {
        ManualClock(Rc::new(ManualTime {
            wall_ms: Cell::new(wall_ms),
            monotonic_ms: Cell::new(0),
            step_ms,
        }))
    }

    pub fn clock(&self) -> Clock {
        Clock(Source::Manual(Rc::clone(&self.0)))
    }

    /// The wall clock's time, without the step a reading through [`Clock`] makes.
    pub fn wall_ms(&self) -> i64 {
        self.0.wall_ms.get()
    }

    /// Sets the wall clock alone, which may go back, as a stepped system clock does.
    pub fn set_wall_ms(&self, wall_ms: i64) {
        self.0.wall_ms.set(wall_ms);
    }

    /// Moves both clocks on by `by`.
    pub fn advance(&self, by: Duration) {
        let ms = by.as_millis() as u64;
        self.0
            .wall_ms
            .set(self.0.wall_ms.get().saturating_add(ms as i64));
        self.0
            .monotonic_ms
            .set(self.0.monotonic_ms.get().saturating_add(ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let manual = ManualClock::new(1_000);
        let clock = manual.clock();
        assert_eq!((clock.wall_ms(), clock.monotonic_ms()), (1_000, 0));
        assert_eq!(clock.wall_ms(), 1_000, "reading does not move it");
        manual.advance(Duration::from_millis(250));
        assert_eq!((clock.wall_ms(), clock.monotonic_ms()), (1_250, 250));
        manual.set_wall_ms(500);
        assert_eq!(clock.wall_ms(), 500, "the wall clock may go back");
        assert_eq!(clock.monotonic_ms(), 250, "the monotonic one never does");
    }

    #[test]
    fn a_ticking_clock_moves_on_each_wall_reading() {
        let manual = ManualClock::ticking(10, 5);
        let clock = manual.clock();
        assert_eq!([clock.wall_ms(), clock.wall_ms()], [10, 15]);
        assert_eq!(manual.wall_ms(), 20);
        assert_eq!(clock.monotonic_ms(), 0);
    }

    #[test]
    fn the_system_clock_reads_the_epoch_and_starts_monotonic_at_zero() {
        let clock = Clock::system();
        assert!(clock.wall_ms() > 1_600_000_000_000, "after 2020");
        assert!(clock.monotonic_ms() < 1_000);
    }
}
