//! The broker process a scenario starts itself: `shardmq broker` on 127.0.0.1, free ports,
//! a fresh store in a directory of its own, its log in a file beside the store. The process
//! is stopped by its PID (SIGTERM, then SIGKILL if it does not exit) and its directory
//! deleted when the [`BrokerProcess`] is dropped, on success and on error alike.
//!
//! Also what `/proc` and the store tell about the running broker: its resident memory, its
//! open files and the disk its store takes.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::BenchError;

/// Port stride between shards (docs/topology.md, "Port scheme").
const SHARD_PORT_STRIDE: u16 = 4;
/// Ports are taken below the kernel's ephemeral range, so no outgoing connection holds one.
const PORTS_START: u16 = 20_000;
const PORTS_SPAN: u16 = 12_000;
/// Between two checks while waiting for the process to listen or exit.
const POLL: Duration = Duration::from_millis(10);
/// How long a SIGTERM is given before SIGKILL when the harness cleans up.
const CLEANUP_GRACE: Duration = Duration::from_secs(30);
/// Log lines shown when the broker fails.
const LOG_TAIL_BYTES: u64 = 4096;

/// The ports of a broker: each shard's main port and the embedded NameServer's.
#[derive(Debug, Clone)]
pub struct Ports {
    pub shards: Vec<u16>,
    pub namesrv: u16,
}

impl Ports {
    /// Free ports for `shards` shards: main, fast (main - 2) and HA (main + 1) of each,
    /// and the NameServer's, all bindable on 127.0.0.1 right now.
    pub fn free(shards: u16) -> Result<Ports, BenchError> {
        let span = shards * SHARD_PORT_STRIDE + 4;
        let seed = (std::process::id() % 200) as u16 * 59;
        for attempt in 0..300u16 {
            let offset = seed.wrapping_add(attempt.wrapping_mul(span)) % PORTS_SPAN;
            let base = PORTS_START + 2 + offset;
            let mains: Vec<u16> = (0..shards).map(|k| base + k * SHARD_PORT_STRIDE).collect();
            let namesrv = base + shards * SHARD_PORT_STRIDE + 2;
            let mut all: Vec<u16> = mains.iter().flat_map(|&m| [m - 2, m, m + 1]).collect();
            all.push(namesrv);
            let held: Vec<_> = all
                .iter()
                .map(|&port| TcpListener::bind(("127.0.0.1", port)))
                .collect();
            if held.iter().all(Result::is_ok) {
                return Ok(Ports {
                    shards: mains,
                    namesrv,
                });
            }
        }
        Err(BenchError::Broker(
            "no block of free ports between 20000 and 32000".into(),
        ))
    }

    /// Shard `k`'s main address.
    pub fn shard_addr(&self, k: usize) -> Option<SocketAddr> {
        self.shards
            .get(k)
            .map(|&port| SocketAddr::from(([127, 0, 0, 1], port)))
    }

    /// The embedded NameServer's address.
    pub fn namesrv_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.namesrv))
    }

    /// Every port a client connects to: the NameServer's and each shard's main port.
    fn listening(&self) -> Vec<SocketAddr> {
        let mut addrs = vec![self.namesrv_addr()];
        addrs.extend((0..self.shards.len()).filter_map(|k| self.shard_addr(k)));
        addrs
    }
}

/// A `shardmq broker` started by the harness, with its own directory.
#[derive(Debug)]
pub struct BrokerProcess {
    binary: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
    /// The run's directory: `store/` and `broker.log`.
    dir: PathBuf,
    pub store: PathBuf,
    pub ports: Ports,
    keep: bool,
}

impl BrokerProcess {
    /// Makes the run's directory under `parent`, picks free ports and starts the broker.
    pub fn start(
        binary: &Path,
        shards: u16,
        options: &[String],
        parent: &Path,
        keep: bool,
    ) -> Result<BrokerProcess, BenchError> {
        if !binary.is_file() {
            return Err(BenchError::Config(format!(
                "no broker binary at {} (build it with cargo build --release -p shardmq, or \
                 pass --shardmq)",
                binary.display()
            )));
        }
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis());
        let dir = parent.join(format!("shardmq-metadata-{}-{stamp}", std::process::id()));
        fs::create_dir_all(dir.join("store"))?;
        let dir = dir.canonicalize()?;
        let store = dir.join("store");
        let ports = Ports::free(shards)?;
        let mut args: Vec<String> = [
            "broker",
            "--listen-addr",
            "127.0.0.1",
            "--shards",
            &shards.to_string(),
            "--listen-port",
            &ports.shards[0].to_string(),
            "--namesrv-listen-port",
            &ports.namesrv.to_string(),
            "--store-path",
            &store.to_string_lossy(),
            "-o",
            "mappedFileSizeCommitLog=67108864",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for option in options {
            args.push("-o".into());
            args.push(option.clone());
        }
        let mut broker = BrokerProcess {
            binary: binary.to_owned(),
            args,
            child: None,
            dir,
            store,
            ports,
            keep,
        };
        broker.spawn()?;
        Ok(broker)
    }

    /// The command line, for the report.
    pub fn command_line(&self) -> String {
        format!("{} {}", self.binary.display(), self.args.join(" "))
    }

    /// The running process's id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Where the broker's log goes.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("broker.log")
    }

    /// Starts the process again with the same arguments (after [`BrokerProcess::stop`]).
    pub fn spawn(&mut self) -> Result<(), BenchError> {
        if self.child.is_some() {
            return Err(BenchError::Broker("already running".into()));
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let child = Command::new(&self.binary)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|error| {
                BenchError::Broker(format!("cannot start {}: {error}", self.binary.display()))
            })?;
        self.child = Some(child);
        Ok(())
    }

    /// Waits until the NameServer and every shard accept connections; returns how long
    /// that took from now. Fails when the process exits or `within` passes first.
    pub fn wait_listening(&mut self, within: Duration) -> Result<Duration, BenchError> {
        let started = Instant::now();
        let mut pending = self.ports.listening();
        while !pending.is_empty() {
            self.check_running()?;
            pending.retain(|addr| TcpStream::connect_timeout(addr, POLL * 10).is_err());
            if pending.is_empty() {
                break;
            }
            if started.elapsed() > within {
                return Err(self.failed(&format!(
                    "{} not listening {within:?} after start",
                    pending[0]
                )));
            }
            std::thread::sleep(POLL);
        }
        Ok(started.elapsed())
    }

    /// Sends SIGTERM and waits for the process to exit; returns how long it took.
    pub fn stop(&mut self, within: Duration) -> Result<Duration, BenchError> {
        let started = Instant::now();
        let Some(mut child) = self.child.take() else {
            return Ok(Duration::ZERO);
        };
        if child.try_wait()?.is_some() {
            return Err(self.failed("had exited before it was stopped"));
        }
        terminate(&child)?;
        loop {
            if let Some(status) = child.try_wait()? {
                if !status.success() {
                    return Err(self.failed(&format!("exited with {status} after SIGTERM")));
                }
                return Ok(started.elapsed());
            }
            if started.elapsed() > within {
                let _ = child.kill();
                let _ = child.wait();
                return Err(self.failed(&format!("still running {within:?} after SIGTERM")));
            }
            std::thread::sleep(POLL);
        }
    }

    /// An error unless the process is still running.
    pub fn check_running(&mut self) -> Result<(), BenchError> {
        let exited = match self.child.as_mut() {
            None => Some("is not running".to_owned()),
            Some(child) => child
                .try_wait()?
                .map(|status| format!("exited with {status}")),
        };
        match exited {
            Some(what) => {
                self.child = None;
                Err(self.failed(&what))
            }
            None => Ok(()),
        }
    }

    /// A broker error saying `what` happened, with the end of its log.
    pub fn failed(&self, what: &str) -> BenchError {
        BenchError::Broker(format!(
            "{what}; end of {}:\n{}",
            self.log_path().display(),
            log_tail(&self.log_path())
        ))
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if matches!(child.try_wait(), Ok(None)) && terminate(&child).is_ok() {
                let deadline = Instant::now() + CLEANUP_GRACE;
                while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                    std::thread::sleep(POLL);
                }
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        if self.keep {
            eprintln!("store and broker log kept in {}", self.dir.display());
        } else if let Err(error) = fs::remove_dir_all(&self.dir) {
            eprintln!("cannot delete {}: {error}", self.dir.display());
        }
    }
}

/// SIGTERM to the child, by its PID.
fn terminate(child: &Child) -> Result<(), BenchError> {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    if !status.success() {
        return Err(BenchError::Broker(format!(
            "kill -TERM {} failed: {status}",
            child.id()
        )));
    }
    Ok(())
}

/// The last few KiB of a log file, or why it cannot be read.
fn log_tail(path: &Path) -> String {
    let read = || -> io::Result<String> {
        let mut file = File::open(path)?;
        let length = file.metadata()?.len();
        file.seek(SeekFrom::Start(length.saturating_sub(LOG_TAIL_BYTES)))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    read().unwrap_or_else(|error| format!("(cannot read the log: {error})"))
}

/// What `/proc/<pid>` says of a process at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessFigures {
    /// Resident memory (`VmRSS`), in KiB.
    pub rss_kib: u64,
    /// Open file descriptors, sockets included.
    pub open_files: u64,
    /// The soft limit on them (`Max open files`).
    pub open_files_limit: u64,
}

impl ProcessFigures {
    /// Reads `/proc/<pid>`; `None` when the process is gone or `/proc` is unreadable.
    pub fn of(pid: u32) -> Option<ProcessFigures> {
        let proc_dir = PathBuf::from(format!("/proc/{pid}"));
        let status = fs::read_to_string(proc_dir.join("status")).ok()?;
        let limits = fs::read_to_string(proc_dir.join("limits")).ok()?;
        Some(ProcessFigures {
            rss_kib: parse_rss_kib(&status)?,
            open_files: fs::read_dir(proc_dir.join("fd")).ok()?.count() as u64,
            open_files_limit: parse_open_files_limit(&limits)?,
        })
    }
}

/// `VmRSS` of a `/proc/<pid>/status`, in KiB.
pub fn parse_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The soft `Max open files` of a `/proc/<pid>/limits`.
pub fn parse_open_files_limit(limits: &str) -> Option<u64> {
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Allocated bytes (`st_blocks` × 512, not file lengths) of a store, by part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskUse {
    /// Every file and directory of the store (the shards' own directories included, which
    /// no part holds).
    pub total: u64,
    /// By the part of a shard's store (`commitlog`, `consumequeue`, `index`, …) or, outside
    /// the shards' directories, the top-level name (`config`, …); directories included.
    pub parts: BTreeMap<String, u64>,
    /// ConsumeQueue segment files alone, without their directories.
    pub queue_files: u64,
    /// ConsumeQueues (one directory `<topic>/<queue>` of a shard) with allocated entries.
    pub queues_with_entries: u64,
}

impl DiskUse {
    /// Walks the store at `root`.
    pub fn of(root: &Path) -> io::Result<DiskUse> {
        let mut use_ = DiskUse::default();
        for entry in fs::read_dir(root)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let meta = fs::symlink_metadata(&path)?;
            use_.total += allocated(&meta);
            if meta.is_dir() && name.starts_with("shard-") {
                for part in fs::read_dir(&path)? {
                    let part = part?;
                    let part_name = part.file_name().to_string_lossy().into_owned();
                    let bytes = if part_name == "consumequeue" {
                        use_.add_queues(&part.path())?
                    } else {
                        tree_bytes(&part.path())?
                    };
                    use_.total += bytes;
                    *use_.parts.entry(part_name).or_default() += bytes;
                }
            } else {
                let bytes = if meta.is_dir() {
                    tree_bytes(&path)? - allocated(&meta)
                } else {
                    0
                };
                use_.total += bytes;
                *use_.parts.entry(name).or_default() += bytes + allocated(&meta);
            }
        }
        Ok(use_)
    }

    /// Counts one shard's `consumequeue/<topic>/<queue>/<segment>` tree; returns its bytes.
    fn add_queues(&mut self, root: &Path) -> io::Result<u64> {
        let mut bytes = allocated(&fs::symlink_metadata(root)?);
        for topic in fs::read_dir(root)? {
            let topic = topic?.path();
            bytes += allocated(&fs::symlink_metadata(&topic)?);
            if !topic.is_dir() {
                continue;
            }
            for queue in fs::read_dir(&topic)? {
                let queue = queue?.path();
                bytes += allocated(&fs::symlink_metadata(&queue)?);
                if !queue.is_dir() {
                    continue;
                }
                let mut entries = 0;
                for segment in fs::read_dir(&queue)? {
                    let meta = fs::symlink_metadata(segment?.path())?;
                    let file = allocated(&meta);
                    entries += file;
                    self.queue_files += file;
                }
                bytes += entries;
                if entries > 0 {
                    self.queues_with_entries += 1;
                }
            }
        }
        Ok(bytes)
    }
}

/// Allocated bytes of one file or directory entry.
fn allocated(meta: &fs::Metadata) -> u64 {
    meta.blocks() * 512
}

/// Allocated bytes of a tree, its root included.
fn tree_bytes(root: &Path) -> io::Result<u64> {
    let meta = fs::symlink_metadata(root)?;
    let mut bytes = allocated(&meta);
    if meta.is_dir() {
        for entry in fs::read_dir(root)? {
            bytes += tree_bytes(&entry?.path())?;
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_parse() {
        let status = "Name:\tshardmq\nVmPeak:\t  900 kB\nVmRSS:\t  123456 kB\nThreads:\t3\n";
        assert_eq!(parse_rss_kib(status), Some(123_456));
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max open files            20000                20000                files     \n";
        assert_eq!(parse_open_files_limit(limits), Some(20_000));
        assert_eq!(parse_rss_kib("Name:\tx\n"), None);
    }

    #[test]
    fn free_ports_are_bindable_and_leave_room_for_every_shard() {
        let ports = Ports::free(2).expect("ports");
        assert_eq!(ports.shards.len(), 2);
        assert_eq!(ports.shards[1], ports.shards[0] + SHARD_PORT_STRIDE);
        assert!(ports.namesrv > ports.shards[1] + 1);
        assert!(TcpListener::bind(("127.0.0.1", ports.namesrv)).is_ok());
    }

    #[test]
    fn disk_use_counts_allocated_blocks_by_part() {
        let root = std::env::temp_dir().join(format!("bench-disk-use-{}", std::process::id()));
        let queue = root.join("shard-0/consumequeue/T/0");
        fs::create_dir_all(&queue).expect("dirs");
        fs::create_dir_all(root.join("shard-0/consumequeue/T/1")).expect("dirs");
        fs::create_dir_all(root.join("config")).expect("dirs");
        // A sparse segment: long, with one written block.
        let segment = File::create(queue.join("00000000000000000000")).expect("segment");
        segment.set_len(6_000_000).expect("length");
        std::os::unix::fs::FileExt::write_at(&segment, &[1; 20], 0).expect("write");
        segment.sync_all().expect("sync");
        fs::write(root.join("config/topics.json"), b"{}").expect("config");
        let use_ = DiskUse::of(&root).expect("walk");
        fs::remove_dir_all(&root).expect("cleanup");
        assert_eq!(use_.queues_with_entries, 1);
        assert!(
            use_.queue_files > 0 && use_.queue_files < 1_000_000,
            "{use_:?}"
        );
        assert!(use_.parts["consumequeue"] > use_.queue_files);
        assert!(use_.parts.contains_key("config"));
        assert!(
            use_.total > use_.parts.values().sum::<u64>(),
            "the shard's own directory"
        );
    }
}
