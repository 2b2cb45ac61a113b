//! Start-up checks: can this process run io_uring executors with the requested config?
//!
//! Owns [`StartError`], the locked-memory arithmetic ([`memlock_required`]) and the probes
//! behind [`preflight`]. Runs on the launching thread before any executor exists, so a
//! misconfigured host fails with one actionable message instead of a panic in a shard thread.

use std::{fmt, fs, io};

use rustix::{
    io::Errno,
    io_uring::{io_uring_params, io_uring_setup},
    process::{getrlimit, setrlimit, Resource, Rlimit},
};

use crate::{config::Config, ShardId};

/// glommio's reactor refuses to start below this RLIMIT_MEMLOCK.
pub const MEMLOCK_FLOOR_BYTES: u64 = 512 << 10;
/// glommio rounds io memory up to 4 KiB pages and never registers less than 64 KiB.
const IO_MEMORY_MIN_BYTES: u64 = 64 << 10;
/// Every shard has a main, a latency and a poll ring; the io memory is registered with each.
const RINGS_PER_SHARD: u64 = 3;
const PAGE_BYTES: u64 = 4096;
const CAP_IPC_LOCK: u32 = 14;

/// Why the shards could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// A config field is out of range.
    InvalidConfig { field: &'static str, reason: String },
    /// The kernel refused to create an io_uring instance.
    IoUringUnavailable { errno: i32, hint: &'static str },
    /// RLIMIT_MEMLOCK is below what the shards will register with io_uring.
    MemlockTooLow { limit_bytes: u64, needed_bytes: u64 },
    /// The CPUs this process may run on could not be determined.
    NoCpus,
    /// glommio could not build the executor of a shard.
    Executor { shard: ShardId, reason: String },
    /// A shard thread could not be spawned.
    Thread { shard: ShardId, source: io::Error },
    /// The signal handlers could not be installed.
    Signals(io::Error),
    /// Another shard failed to start, so this one stopped waiting for it.
    PeerFailed,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::InvalidConfig { field, reason } => {
                write!(f, "invalid config `{field}`: {reason}")
            }
            StartError::IoUringUnavailable { errno, hint } => write!(
                f,
                "io_uring is unavailable ({}): {hint}",
                io::Error::from_raw_os_error(*errno)
            ),
            StartError::MemlockTooLow {
                limit_bytes,
                needed_bytes,
            } => {
                let needed_kib = needed_bytes.div_ceil(1024);
                write!(
                    f,
                    "locked-memory limit (RLIMIT_MEMLOCK) is {} KiB but the shards need {needed_kib} KiB \
                     for io_uring buffers and rings; raise it with `ulimit -l {needed_kib}` \
                     (systemd: `LimitMEMLOCK={needed_bytes}`), run with CAP_IPC_LOCK, \
                     or lower io_memory_bytes / shards",
                    limit_bytes / 1024
                )
            }
            StartError::NoCpus => write!(f, "could not read the CPU affinity of this process"),
            StartError::Executor { shard, reason } => {
                write!(f, "{shard}: could not start its executor: {reason}")
            }
            StartError::Thread { shard, source } => {
                write!(f, "{shard}: could not spawn its thread: {source}")
            }
            StartError::Signals(source) => {
                write!(f, "could not install SIGINT/SIGTERM handlers: {source}")
            }
            StartError::PeerFailed => write!(f, "another shard failed to start"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Thread { source, .. } | StartError::Signals(source) => Some(source),
            _ => None,
        }
    }
}

/// Locked memory (bytes) the given config needs: for every shard, its io memory registered
/// with each of its three rings, plus the rings themselves; never below glommio's floor.
///
/// The kernel charges registered buffers to the user's RLIMIT_MEMLOCK once per ring, and
/// every process of the same user counts against the same limit.
pub fn memlock_required(config: &Config) -> u64 {
    let io_memory = page_align((config.io_memory_bytes as u64).max(IO_MEMORY_MIN_BYTES));
    let per_shard = RINGS_PER_SHARD * (io_memory + ring_bytes(config.ring_depth as u64));
    (per_shard * config.shards as u64).max(MEMLOCK_FLOOR_BYTES)
}

/// The largest io memory, up to `wanted`, that `config`'s shards can register under this
/// process's locked-memory limit: `wanted` itself with CAP_IPC_LOCK or no limit. Never
/// below glommio's 64 KiB, which [`preflight`] then refuses when even that does not fit.
pub fn io_memory_within_memlock(config: &Config, wanted: usize) -> usize {
    let limit = match has_cap_ipc_lock() {
        true => u64::MAX,
        false => memlock_limit(),
    };
    io_memory_within(config, wanted, limit)
}

/// The memory this process may use: the machine's (`MemTotal`), or its cgroup's limit when
/// that is lower (v2 `memory.max`, v1 `memory.limit_in_bytes`, as a container sees them at
/// `/sys/fs/cgroup`). `None` when neither can be read.
pub fn memory_limit_bytes() -> Option<u64> {
    let read = |path: &str| fs::read_to_string(path).ok();
    let total = host_memory_bytes();
    let cgroup = [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .map(|path| read(path).and_then(|text| text.trim().parse::<u64>().ok()));
    total.into_iter().chain(cgroup.into_iter().flatten()).min()
}

/// The machine's memory (`MemTotal`); `None` without `/proc`.
pub fn host_memory_bytes() -> Option<u64> {
    mem_total(&fs::read_to_string("/proc/meminfo").ok()?)
}

/// `MemTotal` of a `/proc/meminfo` text, in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find_map(|l| l.strip_prefix("MemTotal:"))?;
    let kib = line.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()?;
    kib.checked_mul(1024)
}

/// [`io_memory_within_memlock`] under a limit of `limit_bytes`.
fn io_memory_within(config: &Config, wanted: usize, limit_bytes: u64) -> usize {
    let per_ring = limit_bytes / (config.shards.max(1) as u64) / RINGS_PER_SHARD;
    let room = per_ring.saturating_sub(ring_bytes(config.ring_depth as u64));
    let fits = room / PAGE_BYTES * PAGE_BYTES;
    let fits = usize::try_from(fits).unwrap_or(usize::MAX);
    fits.clamp(
        IO_MEMORY_MIN_BYTES as usize,
        wanted.max(IO_MEMORY_MIN_BYTES as usize),
    )
}

/// Kernel memory of one ring of `depth` entries: 64-byte SQEs, a completion queue twice as
/// deep with 16-byte CQEs, the SQ index array and the ring headers. Older kernels charge it
/// to RLIMIT_MEMLOCK, newer ones to the memory cgroup; counting it keeps the check safe on both.
fn ring_bytes(depth: u64) -> u64 {
    page_align(64 * depth) + page_align(PAGE_BYTES + 4 * depth + 16 * 2 * depth)
}

fn page_align(bytes: u64) -> u64 {
    bytes.div_ceil(PAGE_BYTES) * PAGE_BYTES
}

/// Checks that io_uring works and the locked-memory limit fits the config.
pub fn preflight(config: &Config) -> Result<(), StartError> {
    config.validate()?;
    probe_io_uring()?;
    check_memlock(config)
}

fn check_memlock(config: &Config) -> Result<(), StartError> {
    if has_cap_ipc_lock() {
        return Ok(());
    }
    let limit_bytes = memlock_limit();
    let needed_bytes = memlock_required(config);
    if limit_bytes < needed_bytes {
        return Err(StartError::MemlockTooLow {
            limit_bytes,
            needed_bytes,
        });
    }
    Ok(())
}

/// Raises the soft RLIMIT_NOFILE to the hard one, as far as the process may without
/// privilege; returns the limit in force, and the one before (`u64::MAX` when unlimited).
/// A broker keeps a descriptor per connection and per file it serves from, and the soft
/// limit (often 1,024) is the first thing tens of thousands of queues run into.
pub fn raise_open_files_limit() -> io::Result<(u64, u64)> {
    let limit = getrlimit(Resource::Nofile);
    let before = limit.current.unwrap_or(u64::MAX);
    if limit.current == limit.maximum {
        return Ok((before, before));
    }
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        },
    )?;
    Ok((limit.maximum.unwrap_or(u64::MAX), before))
}

/// The soft RLIMIT_MEMLOCK in bytes (`u64::MAX` when unlimited).
fn memlock_limit() -> u64 {
    getrlimit(Resource::Memlock).current.unwrap_or(u64::MAX)
}

/// Whether CAP_IPC_LOCK is effective, which lifts the locked-memory limit for io_uring.
fn has_cap_ipc_lock() -> bool {
    let Ok(status) = fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_IPC_LOCK) != 0)
}

/// Creates and closes a tiny io_uring to learn whether the kernel lets us use one.
fn probe_io_uring() -> Result<(), StartError> {
    let mut params = io_uring_params::default();
    // SAFETY: io_uring_setup's one precondition is an open `wq_fd` when the ATTACH_WQ flag is
    // set; default params set no flags. The ring's descriptor is owned and closed on drop.
    #[allow(unsafe_code)]
    let ring = unsafe { io_uring_setup(4, &mut params) };
    let Err(errno) = ring else {
        return Ok(());
    };
    let hint = match errno {
        Errno::NOSYS => "the kernel has no io_uring (Linux 5.8 or newer is needed)",
        Errno::PERM | Errno::ACCESS => {
            "io_uring is disabled (sysctl kernel.io_uring_disabled) or blocked by a seccomp \
             profile (containers: allow io_uring_setup/enter/register)"
        }
        Errno::NOMEM => "not enough locked memory for a ring; raise `ulimit -l`",
        _ => "the kernel refused io_uring_setup",
    };
    Err(StartError::IoUringUnavailable {
        errno: errno.raw_os_error(),
        hint,
    })
}

/// CPUs this process may run on, in ascending order (from sched_getaffinity).
pub fn allowed_cpus() -> Result<Vec<usize>, StartError> {
    let cpus = core_affinity::get_core_ids().ok_or(StartError::NoCpus)?;
    if cpus.is_empty() {
        return Err(StartError::NoCpus);
    }
    Ok(cpus.into_iter().map(|core| core.id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(shards: usize, io_memory_bytes: usize) -> Config {
        Config {
            shards,
            io_memory_bytes,
            ring_depth: 128,
            ..Config::default()
        }
    }

    #[test]
    fn requirement_counts_each_ring_registration() {
        let one = memlock_required(&config(1, 10 << 20));
        // 3 registrations of 10 MiB plus three small rings.
        assert!(one > 30 << 20 && one < (30 << 20) + (200 << 10), "{one}");
        assert_eq!(memlock_required(&config(4, 10 << 20)), 4 * one);
    }

    #[test]
    fn io_memory_is_cut_to_what_the_limit_holds() {
        let two = config(2, 0);
        let wanted = 144 << 20;
        assert_eq!(io_memory_within(&two, wanted, u64::MAX), wanted);
        // 64 MiB for two shards: a sixth of it per registration, less the ring.
        let fits = io_memory_within(&two, wanted, 64 << 20);
        assert!(fits > 10 << 20 && fits < (64 << 20) / 6, "{fits}");
        assert_eq!(fits % 4096, 0);
        let cut = config(2, fits);
        assert!(memlock_required(&cut) <= 64 << 20);
        assert!(memlock_required(&config(2, fits + 4096)) > 64 << 20);
        // Below glommio's own minimum the minimum stands, and preflight judges it.
        assert_eq!(io_memory_within(&two, wanted, 4096), 64 << 10);
    }

    #[test]
    fn memory_limit_reads_meminfo() {
        let meminfo = "MemTotal:       24683772 kB\nMemFree:         1000 kB\n";
        assert_eq!(mem_total(meminfo), Some(24_683_772 * 1024));
        assert_eq!(mem_total("MemFree: 1 kB\n"), None);
        let limit = memory_limit_bytes().expect("this host's memory");
        assert!(limit > 64 << 20, "{limit}");
    }

    #[test]
    fn requirement_never_below_glommio_floor() {
        assert_eq!(memlock_required(&config(1, 0)), MEMLOCK_FLOOR_BYTES);
    }

    #[test]
    fn memlock_message_names_the_fix_and_the_number() {
        let err = StartError::MemlockTooLow {
            limit_bytes: 8 << 20,
            needed_bytes: 64 << 20,
        };
        let text = err.to_string();
        assert!(text.contains("ulimit -l 65536"), "{text}");
        assert!(text.contains("LimitMEMLOCK=67108864"), "{text}");
        assert!(text.contains("io_memory_bytes"), "{text}");
    }

    #[test]
    fn this_host_passes_preflight_with_small_io_memory() {
        preflight(&config(2, 64 << 10)).expect("io_uring and memlock on the test host");
    }
}
