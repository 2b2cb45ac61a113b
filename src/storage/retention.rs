//! Retention: whole CommitLog segments are deleted oldest first once expired
//! (`fileReservedTime`), at the hours of `deleteWhen` or at any hour under disk pressure
//! (`diskMaxUsedSpaceRatio`); the ConsumeQueues' min offsets follow the log's new start, and
//! IndexFiles whose every entry points below it are deleted.
//!
//! A segment is expired when the first record of the segment after it was stored before the
//! cut-off: every record of the older segment is older still. The segment being written, the
//! one after it, and anything not yet written or covered by the last checkpoint (recovery
//! restarts from there) are never deleted.

use jiff::{civil::DateTime, tz::TimeZone, Timestamp};

use super::error::StoreResult;
use super::offsets::PhysicalOffset;
use super::record::{scan, Scanned, MAGIC_BLANK};
use super::store::Store;

/// Retention settings, RocketMQ's keys and defaults.
#[derive(Debug, Clone)]
pub struct RetentionConfig {
    /// `fileReservedTime`, hours.
    pub file_reserved_hours: u64,
    /// `deleteWhen`: hours of the day (`;`-separated) when expired segments are deleted.
    pub delete_when: String,
    /// `diskMaxUsedSpaceRatio`, percent: above it expired segments go at any hour.
    pub disk_max_used_space_ratio: u32,
    /// `diskSpaceCleanForciblyRatio`, percent: above it the oldest go even if not expired,
    /// when `clean_file_forcibly`; else expired ones go at any hour.
    pub disk_clean_forcibly_ratio: u32,
    /// `cleanFileForciblyEnable`.
    pub clean_file_forcibly: bool,
    /// Segments deleted per pass, so one pass never holds the shard long.
    pub files_per_pass_max: usize,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            file_reserved_hours: 72,
            delete_when: "04".to_owned(),
            disk_max_used_space_ratio: 75,
            disk_clean_forcibly_ratio: 85,
            clean_file_forcibly: true,
            files_per_pass_max: 10,
        }
    }
}

/// What a retention pass should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    Nothing,
    /// Delete expired segments.
    Expired,
    /// Delete the oldest segments whether expired or not.
    Forced,
}

impl RetentionConfig {
    /// Decides from the hour of day and the disk's used ratio (percent), both supplied by the
    /// caller so the policy stays a pure function.
    pub fn sweep(&self, hour: u32, disk_used_percent: u32) -> Sweep {
        if disk_used_percent >= self.disk_clean_forcibly_ratio {
            return if self.clean_file_forcibly {
                Sweep::Forced
            } else {
                Sweep::Expired
            };
        }
        let listed = self
            .delete_when
            .split(';')
            .any(|h| h.trim().parse::<u32>() == Ok(hour));
        if listed || disk_used_percent >= self.disk_max_used_space_ratio {
            Sweep::Expired
        } else {
            Sweep::Nothing
        }
    }
}

impl Store {
    /// Runs one retention pass: deletes up to `files_per_pass_max` segments as `sweep` says,
    /// judging expiry against `now_ms`. Returns how many segments went.
    pub async fn retain(
        &self,
        cfg: &RetentionConfig,
        sweep: Sweep,
        now_ms: i64,
    ) -> StoreResult<usize> {
        let seg = self.config().log.segment_size;
        let cutoff = now_ms - (cfg.file_reserved_hours * 3_600_000) as i64;
        let mut deleted = 0;
        while sweep != Sweep::Nothing && deleted < cfg.files_per_pass_max {
            let starts = self.log().segment_starts();
            let (Some(&first), Some(&next)) = (starts.first(), starts.get(1)) else {
                break;
            };
            let active = self.log().end().0 - self.log().end().0 % seg;
            let settled = next <= active
                && first + seg <= self.log().written().0
                && next <= self.checkpointed_offset().0;
            if !settled {
                break;
            }
            if sweep == Sweep::Expired {
                match self.first_timestamp(next).await? {
                    Some(ts) if ts < cutoff => {}
                    _ => break,
                }
            }
            self.log().remove_oldest_segment().await?;
            deleted += 1;
        }
        if deleted > 0 {
            let log_min = self.log().min_offset();
            self.queues_follow_log(log_min).await?;
            self.index().delete_before(log_min).await?;
        }
        Ok(deleted)
    }

    /// One scheduled pass: decides from the local hour and the disk's use what `cfg` asks
    /// for, and deletes accordingly. Returns how many segments went.
    pub async fn retention_pass(&self, cfg: &RetentionConfig) -> StoreResult<usize> {
        let now_ms = self.now_ms();
        let used = self.disk().used_percent(&self.config().shard_dir())?;
        let sweep = cfg.sweep(local_hour(now_ms), used);
        let deleted = self.retain(cfg, sweep, now_ms).await?;
        if deleted > 0 {
            tracing::info!(
                ?sweep,
                disk_used_percent = used,
                deleted,
                "retention deleted segments"
            );
        }
        Ok(deleted)
    }

    /// Runs [`Store::retention_pass`] every `interval`, with the settings `cfg` gives then (they
    /// may change while the broker runs), until `closing` completes. A failed
    /// pass is logged and tried again next time: retention never stops the shard.
    pub async fn run_retention(
        self: std::rc::Rc<Self>,
        cfg: impl Fn() -> RetentionConfig,
        interval: std::time::Duration,
        closing: impl std::future::Future<Output = ()>,
    ) {
        let mut ticker = shards::Ticker::new(interval, closing);
        while ticker.tick().await {
            if let Err(error) = self.retention_pass(&cfg()).await {
                tracing::warn!(%error, "retention pass failed");
            }
        }
    }

    /// Store time of the first record of the segment starting at `start`, if it holds one.
    async fn first_timestamp(&self, start: u64) -> StoreResult<Option<i64>> {
        let head = self.read(PhysicalOffset(start), 8).await?;
        let size = u32::from_be_bytes(head[..4].try_into().expect("4"));
        if u32::from_be_bytes(head[4..8].try_into().expect("4")) == MAGIC_BLANK {
            return Ok(None);
        }
        let rec = self.read(PhysicalOffset(start), size as usize).await?;
        Ok(match scan(&rec) {
            Scanned::Record(m) => Some(m.store_timestamp_ms),
            _ => None,
        })
    }
}

/// The hour of day (0–23) of `now_ms` in the machine's time zone, which is how RocketMQ
/// reads `deleteWhen`.
pub fn local_hour(now_ms: i64) -> u32 {
    match local_time(now_ms) {
        Some(time) => u32::from(time.hour().unsigned_abs()),
        None => (now_ms.div_euclid(3_600_000).rem_euclid(24)) as u32, // UTC as a fallback
    }
}

/// `now_ms` as a date and time in the machine's time zone (`TZ`, else /etc/localtime, else
/// UTC); `None` beyond the years ±9999.
pub(super) fn local_time(now_ms: i64) -> Option<DateTime> {
    let at = Timestamp::from_millisecond(now_ms).ok()?;
    Some(TimeZone::system().to_datetime(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_follows_hours_and_disk_pressure() {
        let cfg = RetentionConfig {
            delete_when: "04;05".into(),
            ..RetentionConfig::default()
        };
        assert_eq!(cfg.sweep(4, 10), Sweep::Expired);
        assert_eq!(cfg.sweep(5, 10), Sweep::Expired);
        assert_eq!(cfg.sweep(6, 10), Sweep::Nothing);
        assert_eq!(cfg.sweep(6, 80), Sweep::Expired);
        assert_eq!(cfg.sweep(6, 90), Sweep::Forced);
        let gentle = RetentionConfig {
            clean_file_forcibly: false,
            ..cfg
        };
        assert_eq!(
            gentle.sweep(6, 90),
            Sweep::Expired,
            "cleanFileForciblyEnable=false"
        );
    }

    #[test]
    fn local_hour_is_an_hour_of_the_day() {
        for h in 0..48i64 {
            assert!(local_hour(h * 3_600_000 + 1234) < 24);
        }
    }

    /// Set in the child that [`local_hour_follows_tz_as_date_does`] starts with a `TZ`.
    const TZ_CHILD: &str = "SHARDMQ_TZ_TEST_CHILD";

    /// The hour agrees with date(1), which reads the zone through the C library, both in
    /// this process's zone and in a child given a zone half an hour off UTC.
    #[test]
    fn local_hour_follows_tz_as_date_does() {
        for secs in [1_700_000_000i64, 1_700_001_800, 1_719_800_000] {
            let out = std::process::Command::new("date")
                .args(["-d", &format!("@{secs}"), "+%H"])
                .output()
                .expect("run date");
            let hour: u32 = String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .expect("hour");
            assert_eq!(local_hour(secs * 1000), hour, "at {secs}");
        }
        if std::env::var_os(TZ_CHILD).is_some() {
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "storage::retention::tests::local_hour_follows_tz_as_date_does",
            ])
            .env(TZ_CHILD, "1")
            .env("TZ", "Asia/Kolkata")
            .output()
            .expect("run the child");
        assert!(
            out.status.success(),
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
