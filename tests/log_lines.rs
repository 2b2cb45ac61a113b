//! The broker's log stays one line per event whatever a client sends, and a peer that keeps
//! sending garbage costs a few lines and a count, not a line per attempt.

mod common;

use std::path::Path;

use common::{closed_by_peer, code_of, wait_for, write_all, Broker, PATIENCE, SUCCESS};

fn log_text(log: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(log).unwrap_or_default()).into_owned()
}

#[test]
fn client_text_cannot_forge_a_log_line() {
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("broker.log");
    let broker = Broker::start_logged(1, &[], "warn", &log);
    let mut conn = broker.connect(0);
    let header = common::create_topic(&mut conn, "bad\nINFO forged line\0\u{1b}[2J", 1);
    assert_ne!(code_of(&header), SUCCESS, "{header}");

    let text = wait_for(PATIENCE, "the refusal in the log", || {
        let text = log_text(&log);
        text.contains("request refused").then_some(text)
    });
    assert!(
        text.contains("bad\\nINFO forged line\\0\\x1b[2J"),
        "the name appears escaped: {text}"
    );
    for line in text.lines() {
        assert!(!line.starts_with("INFO forged"), "a forged line: {text}");
        assert!(!line.contains('\0') && !line.contains('\u{1b}'), "{line:?}");
    }
}

/// A frame whose announced length is over the limit: the broker closes at once.
fn send_garbage(broker: &Broker) {
    let mut conn = broker.connect(0);
    let mut prefix = (17u32 * 1024 * 1024).to_be_bytes().to_vec();
    prefix.extend_from_slice(&20u32.to_be_bytes());
    write_all(&mut conn, &prefix);
    assert!(closed_by_peer(&mut conn), "an untrusted frame closes");
}

#[test]
fn a_peer_sending_garbage_costs_a_few_lines_and_a_count() {
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("broker.log");
    let broker = Broker::start_logged(1, &[], "warn", &log);
    let untrusted = |text: &str| {
        text.lines()
            .filter(|line| line.contains("untrusted frame"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    for _ in 0..30 {
        send_garbage(&broker);
    }
    // Each warning is written before its connection is closed, and each close was seen.
    let lines = untrusted(&log_text(&log));
    assert_eq!(
        lines.len(),
        3,
        "three lines for thirty bad connections: {lines:?}"
    );
    assert!(
        lines.iter().all(|line| line.contains("suppressed=0")),
        "{lines:?}"
    );

    // Once the peer's window has passed, the next warning says how many were left out.
    let line = wait_for(PATIENCE, "a warning with the count", || {
        send_garbage(&broker);
        untrusted(&log_text(&log)).into_iter().nth(3)
    });
    assert!(line.contains("suppressed="), "{line}");
    let count: u64 = line
        .split("suppressed=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(count >= 27, "the 27 and more left out are counted: {line}");
}
