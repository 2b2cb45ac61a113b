//! Ways to send a log's cold bytes (on disk, not in memory) to a TCP socket, measured side by
//! side on one file (bench/RESULTS.md, "Cold reads: DMA or sendfile"):
//!
//! - `disk`: O_DIRECT reads of 1 MiB, four in flight, through io_uring, sent nowhere: what
//!   the disk gives on this path (fio's figure, in this process);
//! - `loopback`: one 1 MiB buffer in memory written to the socket again and again: what
//!   loopback TCP takes;
//! - `dma`: the broker's way, the `disk` reads each written to the socket from the buffer;
//! - `sendfile`: `sendfile(2)` of 1 MiB at a time from a buffered descriptor (a blocking
//!   call: it waits for the disk and for the socket, so a broker would need a thread for
//!   it), the next four blocks asked for ahead with `posix_fadvise(WILLNEED)` and each range
//!   sent dropped from the page cache with `posix_fadvise(DONTNEED)` so it evicts nothing
//!   else;
//! - `sendfile-direct`: the same from an O_DIRECT descriptor (the kernel reads into pages of
//!   its own, bypassing the page cache).
//!
//! The file's pages are dropped from the page cache before every run. A sink thread (CPU 0)
//! reads the socket into a 1 MiB buffer; the sender runs on CPU 1. Printed per run: MiB/s and
//! the sender's CPU seconds per GiB (the process's user and system time less the sink's, so
//! the kernel's work on the sender's behalf counts).
//!
//! `cargo bench --bench cold_send` (env: BENCH_DIR, where the file goes, on the disk to
//! measure, default `.cache/cold-send`; BENCH_MIB, the file's size, default 1024;
//! BENCH_ROUNDS, runs of each way, default 3; BENCH_ONLY, a comma-separated subset of the
//! ways). The file is removed at the end.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_lite::AsyncWriteExt;
use glommio::io::DmaFile;
use glommio::{LocalExecutorBuilder, Placement};
use rustix::fs::{fadvise, sendfile, Advice, OFlags};

const BLOCK: usize = 1 << 20;
const IN_FLIGHT: usize = 4;
const SENDER_CPU: usize = 1;
const SINK_CPU: usize = 0;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// User plus system time in clock ticks of 10 ms, from a /proc `stat` file.
fn cpu_ticks(stat: &str) -> u64 {
    let text = std::fs::read_to_string(stat).unwrap_or_default();
    // Fields after the command name's closing parenthesis: utime and stime are 12th and 13th.
    let after = text.rfind(')').map_or("", |at| &text[at + 2..]);
    after
        .split(' ')
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<u64>().ok())
        .sum()
}

fn pin(cpu: usize) {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    if let Some(core) = cores.into_iter().find(|c| c.id == cpu) {
        core_affinity::set_for_current(core);
    }
}

/// Writes the file once: `mib` MiB of bytes that do not compress or repeat per block.
fn make_file(path: &Path, mib: u64) {
    if std::fs::metadata(path).is_ok_and(|m| m.len() == mib << 20) {
        return;
    }
    let mut file = File::create(path).expect("create the file");
    let mut block = vec![0u8; BLOCK];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..mib {
        for chunk in block.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes());
        }
        file.write_all(&block).expect("write the file");
    }
    file.sync_all().expect("sync the file");
}

/// Drops the file's pages from the page cache (they are clean: written and synced).
fn drop_cached(path: &Path) {
    let file = File::open(path).expect("open the file");
    fadvise(&file, 0, None, Advice::DontNeed).expect("fadvise");
}

/// A sink on CPU 0 that reads one connection to its end: its address, and a thread giving
/// the bytes it read and its own CPU ticks.
fn sink() -> (SocketAddr, std::thread::JoinHandle<(u64, u64)>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the sink");
    let addr = listener.local_addr().expect("sink address");
    let thread = std::thread::spawn(move || {
        pin(SINK_CPU);
        let start = cpu_ticks("/proc/thread-self/stat");
        let (mut conn, _) = listener.accept().expect("accept");
        let mut buf = vec![0u8; BLOCK];
        let mut total = 0u64;
        loop {
            match conn.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => total += n as u64,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => panic!("sink read: {e}"),
            }
        }
        (total, cpu_ticks("/proc/thread-self/stat") - start)
    });
    (addr, thread)
}

/// The O_DIRECT reads of `disk` and `dma`, each block written to `socket` if there is one.
async fn direct_reads(path: &Path, size: u64, mut socket: Option<glommio::net::TcpStream>) {
    let file = Rc::new(DmaFile::open(path).await.expect("open O_DIRECT"));
    let mut pending = std::collections::VecDeque::new();
    let mut pos = 0u64;
    while pos < size || !pending.is_empty() {
        while pending.len() < IN_FLIGHT && pos < size {
            let (file, at) = (Rc::clone(&file), pos);
            pending.push_back(glommio::spawn_local(async move {
                file.read_at_aligned(at, BLOCK).await.expect("read")
            }));
            pos += BLOCK as u64;
        }
        let block = pending.pop_front().expect("a read in flight").await;
        if let Some(socket) = socket.as_mut() {
            socket.write_all(&block).await.expect("write");
        }
    }
}

/// Sends the file one way from the sender's CPU, to the sink at `addr` (none for `disk`).
fn run(way: &str, path: &Path, size: u64, addr: Option<SocketAddr>) {
    match way {
        "sendfile" => send_file(path, size, addr, false),
        "sendfile-direct" => send_file(path, size, addr, true),
        _ => {
            let (way, path) = (way.to_owned(), path.to_owned());
            LocalExecutorBuilder::new(Placement::Fixed(SENDER_CPU))
                .spawn(move || async move {
                    match way.as_str() {
                        "disk" => direct_reads(&path, size, None).await,
                        "loopback" => {
                            let mut socket = connect(addr).await;
                            let block = vec![7u8; BLOCK];
                            for _ in 0..size / BLOCK as u64 {
                                socket.write_all(&block).await.expect("write");
                            }
                        }
                        _ => direct_reads(&path, size, Some(connect(addr).await)).await,
                    }
                })
                .expect("executor")
                .join()
                .expect("sender");
        }
    }
}

/// `sendfile` and `sendfile-direct` (`direct`), on this thread pinned to the sender's CPU.
fn send_file(path: &Path, size: u64, addr: Option<SocketAddr>, direct: bool) {
    pin(SENDER_CPU);
    let flags = if direct {
        OFlags::DIRECT.bits() as i32
    } else {
        0
    };
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .expect("open");
    let socket = TcpStream::connect(addr.expect("a sink")).expect("connect");
    let (mut offset, mut ahead) = (0u64, 0u64);
    while offset < size {
        let from = offset;
        // The next blocks asked for ahead, as the `dma` way keeps reads in flight (the
        // kernel's own read-ahead is a fraction of this and is reset by the DONTNEED behind).
        let horizon = (from + (IN_FLIGHT * BLOCK) as u64).min(size);
        if !direct && ahead < horizon {
            let start = ahead.max(from);
            let len = std::num::NonZeroU64::new(horizon - start);
            fadvise(&file, start, len, Advice::WillNeed).expect("fadvise");
            ahead = horizon;
        }
        let want = (size - offset).min(BLOCK as u64) as usize;
        let sent = sendfile(&socket, &file, Some(&mut offset), want).expect("sendfile");
        assert!(sent > 0, "sendfile sent nothing at {from}");
        if !direct {
            let len = std::num::NonZeroU64::new(offset - from);
            fadvise(&file, from, len, Advice::DontNeed).expect("fadvise");
        }
    }
}

async fn connect(addr: Option<SocketAddr>) -> glommio::net::TcpStream {
    glommio::net::TcpStream::connect(addr.expect("a sink"))
        .await
        .expect("connect")
}

fn main() {
    let dir =
        PathBuf::from(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".cache/cold-send".into()));
    let mib = env_u64("BENCH_MIB", 1024);
    let rounds = env_u64("BENCH_ROUNDS", 3);
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let ways = ["disk", "loopback", "dma", "sendfile", "sendfile-direct"];
    let ways: Vec<&str> = ways
        .into_iter()
        .filter(|w| only.is_empty() || only.split(',').any(|o| o == *w))
        .collect();
    std::fs::create_dir_all(&dir).expect("create BENCH_DIR");
    let path = dir.join(format!("cold-send.{}.bin", std::process::id()));
    make_file(&path, mib);
    let size = mib << 20;
    println!("# cold send: {mib} MiB file in {}, {rounds} rounds, sender CPU {SENDER_CPU}, sink CPU {SINK_CPU}", dir.display());
    println!("| way | MiB/s | sender CPU s per GiB |");
    println!("| --- | ---: | ---: |");
    for _ in 0..rounds {
        for way in &ways {
            drop_cached(&path);
            let (addr, sink) = match *way {
                "disk" => (None, None),
                _ => {
                    let (addr, sink) = sink();
                    (Some(addr), Some(sink))
                }
            };
            let cpu0 = cpu_ticks("/proc/self/stat");
            let started = Instant::now();
            run(way, &path, size, addr);
            let (got, sink_ticks) = sink.map_or((size, 0), |s| s.join().expect("sink"));
            let elapsed = started.elapsed();
            let ticks = cpu_ticks("/proc/self/stat") - cpu0 - sink_ticks;
            assert_eq!(got, size, "{way}: the sink got {got} of {size} bytes");
            let mibs = mib as f64 / elapsed.as_secs_f64();
            let cpu_per_gib = Duration::from_millis(ticks * 10).as_secs_f64() * 1024.0 / mib as f64;
            println!("| {way} | {mibs:.0} | {cpu_per_gib:.3} |");
        }
    }
    std::fs::remove_file(&path).expect("remove the file");
}
