//! A client that sends requests but does not read its responses is stopped by backpressure
//! (the broker stops reading from it) instead of making the broker buffer without bound,
//! and once it reads again it gets every response.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use common::{json_frame, Broker};

/// The broker queues at most 32 MiB of responses per connection; kernel socket buffers
/// on both sides add a few MiB more.
const RESPONSE_BYTES_BOUND: usize = 48 << 20;

#[test]
fn broker_stops_reading_a_client_that_does_not_read() {
    let broker = Broker::start(1, &[]);
    let mut conn = broker.connect(0);
    let header = r#"{"code":9999,"language":"JAVA","version":479,"opaque":1,"flag":0}"#;
    let request = json_frame(header, b"");
    let chunk: Vec<u8> = request
        .iter()
        .copied()
        .cycle()
        .take(request.len() * 1000)
        .collect();

    // One response, to learn its size.
    conn.write_all(&request).unwrap();
    let response_len = common::read_frame(&mut conn)
        .map(|f| 8 + f.header.len())
        .unwrap();

    // Write as long as the broker takes bytes; stop when it has not for two seconds.
    conn.set_nonblocking(true).unwrap();
    let mut written = 0usize;
    let mut last_progress = Instant::now();
    let cap = 3 * RESPONSE_BYTES_BOUND / response_len * request.len(); // never reached if it holds
    while written < cap && last_progress.elapsed() < Duration::from_secs(2) {
        let offset = written % chunk.len();
        match conn.write(&chunk[offset..]) {
            Ok(n) => {
                written += n;
                last_progress = Instant::now();
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => panic!("write failed: {e}"),
        }
    }
    // A trailing partial frame stays unanswered until it is complete.
    let sent_requests = written / request.len();
    let owed = sent_requests * response_len;
    assert!(
        owed < RESPONSE_BYTES_BOUND,
        "broker kept reading: {sent_requests} requests ({owed} bytes of responses) accepted"
    );

    // Reading again releases the backpressure: every request is answered.
    conn.set_nonblocking(false).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut expected = sent_requests * response_len;
    let mut buf = vec![0u8; 1 << 20];
    while expected > 0 {
        let n = conn.read(&mut buf).expect("responses keep coming");
        assert!(
            n > 0,
            "connection closed with {expected} bytes of responses owed"
        );
        expected = expected.saturating_sub(n);
    }
}
