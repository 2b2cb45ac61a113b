//! A full disk is an ordinary state: on a real, small ext4 filesystem (an image mounted
//! through a loop device), sends are refused with SERVICE_NOT_AVAILABLE and a remark that
//! says the disk is full, everything acknowledged is still served byte for byte, a broker
//! started on the full disk serves it too, and sends are accepted again once space is freed,
//! without a restart, and new queues then take only the blocks they use. After a restart nothing
//! acknowledged is missing and no queue offset was given twice. Under ASYNC_FLUSH and
//! SYNC_FLUSH.
//!
//! Mounting needs root (CI runs as root); without it this test fails and says so.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;

const TOPIC: &str = "Full";
const SERVICE_NOT_AVAILABLE: i64 = 14;

/// A small ext4 filesystem mounted on a directory; unmounted on drop.
struct SmallDisk {
    mount: PathBuf,
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn new(mib: u64) -> SmallDisk {
        let is_root = Command::new("id").arg("-u").output().expect("id").stdout == b"0\n";
        assert!(
            is_root,
            "the disk-full test mounts a filesystem image and must run as root"
        );
        let dir = tempfile::tempdir().expect("dir");
        let image = dir.path().join("disk.img");
        let mount = dir.path().join("mnt");
        std::fs::create_dir(&mount).expect("mount point");
        let file = std::fs::File::create(&image).expect("image");
        file.set_len(mib << 20).expect("size");
        run("mkfs.ext4", &["-q", "-F", image.to_str().expect("path")]);
        run(
            "mount",
            &[
                "-o",
                "loop",
                image.to_str().expect("path"),
                mount.to_str().expect("path"),
            ],
        );
        SmallDisk { mount, dir }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mount).status();
    }
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().expect(program);
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn body(i: usize) -> Vec<u8> {
    let mut body = format!("{i:06}").into_bytes();
    body.resize(64 * 1024, b'a' + (i % 26) as u8);
    body
}

fn number(record: &Record) -> usize {
    std::str::from_utf8(&record.body[..6])
        .expect("utf8")
        .parse()
        .expect("numbered")
}

/// Every message of queue 0, by number, checked byte for byte; panics on a queue offset
/// that holds another message than before.
fn consume_all(conn: &mut std::net::TcpStream) -> Vec<usize> {
    let mut got = Vec::new();
    let mut offset = 0u64;
    loop {
        let (header, bytes) = pull(conn, TOPIC, 0, offset);
        let code = code_of(&header);
        if code != SUCCESS {
            return got;
        }
        let mut at = 0;
        while at < bytes.len() {
            let size = u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4")) as usize;
            let record = decode_record(&bytes[at..at + size]);
            let n = number(&record);
            assert_eq!(record.body, body(n), "message {n} byte for byte");
            assert_eq!(record.queue_offset as usize, got.len(), "dense offsets");
            got.push(n);
            at += size;
        }
        offset = header["extFields"]["nextBeginOffset"]
            .as_str()
            .and_then(|n| n.parse().ok())
            .expect("nextBeginOffset");
    }
}

fn assert_disk_full(refusal: &serde_json::Value) {
    assert_eq!(code_of(refusal), SERVICE_NOT_AVAILABLE, "{refusal}");
    let remark = refusal["remark"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        remark.contains("disk") && remark.contains("full"),
        "{remark}"
    );
}

/// A connection to the broker that waits as long as the loop device's syncs may take on a
/// busy machine (a topic's creation syncs its config file there).
fn connect(broker: &Broker) -> std::net::TcpStream {
    let conn = broker.connect(0);
    conn.set_read_timeout(Some(PATIENCE)).expect("timeout");
    conn
}

fn fill_then_free(flush: &str) {
    let disk = SmallDisk::new(96);
    let ballast = disk.mount.join("ballast");
    std::fs::write(&ballast, vec![1u8; 24 << 20]).expect("ballast");
    let store = disk.mount.join("store");
    let args = [
        "-o".to_owned(),
        format!("flushDiskType={flush}"),
        "-o".to_owned(),
        "mappedFileSizeCommitLog=16777216".to_owned(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let broker = Broker::start_in(1, &args, store.clone(), None);
    let mut conn = connect(&broker);
    assert_eq!(code_of(&create_topic(&mut conn, TOPIC, 1)), SUCCESS);
    create_group(&mut conn, "cg");

    let mut acked = Vec::new();
    let refusal = loop {
        let n = acked.len();
        assert!(n < 2000, "the disk never filled");
        let sent = send_v2(&mut conn, TOPIC, 0, &body(n), "");
        if code_of(&sent) != SUCCESS {
            break sent;
        }
        acked.push(n);
    };
    assert_disk_full(&refusal);

    // Reads go on: everything acknowledged, byte for byte, and nothing else.
    assert_eq!(consume_all(&mut conn), acked);

    // A broker started on the full disk serves the same, and still refuses sends.
    drop(conn);
    assert_eq!(broker.stop(), Some(0));
    let log = disk.dir.path().join("broker.log");
    let broker = Broker::spawn(1, &args, store.clone(), None, Some(("info", &log)));
    let mut conn = connect(&broker);
    assert_eq!(consume_all(&mut conn), acked);
    assert_disk_full(&send_v2(&mut conn, TOPIC, 0, &body(acked.len()), ""));

    // Space comes back: sends are accepted again by themselves.
    std::fs::remove_file(&ballast).expect("free space");
    let resumed = acked.len();
    wait_until(PATIENCE, "sends accepted again", || {
        code_of(&send_v2(&mut conn, TOPIC, 0, &body(resumed), "")) == SUCCESS
    });
    acked.push(resumed);

    // New queues take disk space as their entries are written, not a whole ConsumeQueue
    // segment each: with the little left after the new CommitLog segment, new queues are
    // filed, served and flushed, each taking a block or so.
    for topic in ["NewA", "NewB", "NewC", "NewD"] {
        let sent = send_v2(&mut conn, topic, 0, b"after the disk filled", "");
        assert_eq!(code_of(&sent), SUCCESS, "{sent}");
        pull_until_found(&mut conn, topic, 0, 0);
        let queue = store.join("shard-0/consumequeue").join(topic).join("0");
        let allocated = wait_for(PATIENCE, "the queue's file written", || {
            let file = std::fs::read_dir(&queue).ok()?.next()?.ok()?;
            let blocks = std::os::unix::fs::MetadataExt::blocks(&file.metadata().ok()?);
            (blocks > 0).then_some(blocks * 512)
        });
        assert!(allocated <= 64 << 10, "{topic}: {allocated} bytes on disk");
    }
    wait_all_written(&mut conn);

    // After a restart nothing acknowledged is missing and no offset was given twice.
    drop(conn);
    assert_eq!(broker.stop(), Some(0));
    let broker = Broker::start_in(1, &args, store, None);
    assert_eq!(consume_all(&mut connect(&broker)), acked);
}

/// Both flush modes in one test, one after the other: each fills a filesystem through a loop
/// device whose syncs reach the host's disk, and neither should wait on the other's I/O.
#[test]
fn a_full_disk_loses_nothing_acknowledged_under_either_flush_mode() {
    fill_then_free("ASYNC_FLUSH");
    fill_then_free("SYNC_FLUSH");
}
