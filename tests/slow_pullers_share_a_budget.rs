//! Connections that send PULL_MESSAGE requests and never read the answers are paused once the
//! shard's queued answers pass `maxQueuedResponseBytesPerShard`, instead of growing the
//! broker without bound; meanwhile a connection that reads is served, and once the slow
//! ones close, what was queued for them is gone.

mod common;

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::thread::JoinHandle;

use common::*;

const BUDGET: i64 = 1 << 20;
const PULLERS: usize = 5;
const BODY: usize = 1024;
/// A pull answer: 32 records of a body and their fixed fields, topic and properties.
const ANSWER_MAX: i64 = 32 * (BODY as i64 + 512);
/// Requests a paused connection may still have in flight, each of which answers
/// (`CONNECTION_IN_FLIGHT_BEHIND_MAX` and `CONNECTION_LARGE_ANSWERS_IN_FLIGHT`, doubled for
/// the few taken while the budget was being reached).
const OWED_PER_PULLER: i64 = 2 * 16;

/// A connection that writes pull requests, as many as the broker takes, and reads nothing.
struct Puller {
    stream: TcpStream,
    writer: JoinHandle<()>,
}

impl Puller {
    fn start(broker: &Broker, topic: &str, requests: usize) -> Puller {
        let fields = serde_json::json!({
            "consumerGroup": "cg", "topic": topic, "queueId": "0", "queueOffset": "0",
            "maxMsgNums": "32", "sysFlag": "4", "commitOffset": "0",
            "suspendTimeoutMillis": "0", "subscription": "*", "subVersion": "0",
            "expressionType": "TAG"
        });
        let header = serde_json::json!({
            "code": PULL_MESSAGE, "language": "JAVA", "version": 479, "opaque": 1, "flag": 0,
            "extFields": fields,
        });
        let frame = json_frame(&header.to_string(), b"");
        let stream = broker.connect(0);
        let mut writing = stream.try_clone().expect("clone");
        let writer = std::thread::spawn(move || {
            for _ in 0..requests {
                // Fails once the test shuts the connection down; blocks while it is paused.
                if writing.write_all(&frame).is_err() {
                    return;
                }
            }
        });
        Puller { stream, writer }
    }

    fn close(self) {
        self.stream.shutdown(Shutdown::Both).expect("shutdown");
        self.writer.join().expect("writer");
    }
}

#[test]
fn slow_pullers_pause_within_the_budget_and_a_reader_is_served() {
    let budget = format!("maxQueuedResponseBytesPerShard={BUDGET}");
    let broker = Broker::start(1, &["-o", &budget]);
    let mut reader = broker.connect(0);
    for _ in 0..64 {
        let sent = send_v2(&mut reader, "pulled", 0, &[b'x'; BODY], "");
        assert_eq!(code_of(&sent), SUCCESS, "{sent}");
    }
    wait_max_offset(&mut reader, "pulled", 0, 64);

    let pullers: Vec<_> = (0..PULLERS)
        .map(|_| Puller::start(&broker, "pulled", 2000))
        .collect();
    wait_until(PATIENCE, "the pullers' answers filling the budget", || {
        runtime_long(&runtime_info(&mut reader), "queuedResponseBytes") > BUDGET
    });
    let bound = BUDGET + PULLERS as i64 * OWED_PER_PULLER * ANSWER_MAX;
    for round in 0..20 {
        let table = runtime_info(&mut reader);
        let queued = runtime_long(&table, "queuedResponseBytes");
        assert!(queued <= bound, "{queued} bytes queued, bound {bound}");
        assert_eq!(runtime_long(&table, "connections"), PULLERS as i64 + 1);
        let sent = send_v2(&mut reader, "pulled", 1, b"served", "");
        assert_eq!(code_of(&sent), SUCCESS, "round {round}: {sent}");
        let (header, body) = pull(&mut reader, "pulled", 0, 0);
        assert_eq!(code_of(&header), PULL_FOUND, "round {round}: {header}");
        assert!(body.len() > 32 * BODY, "a whole answer");
    }

    for puller in pullers {
        puller.close();
    }
    wait_until(PATIENCE, "the pullers' bytes and places given back", || {
        let table = runtime_info(&mut reader);
        runtime_long(&table, "queuedResponseBytes") == 0 && runtime_long(&table, "connections") == 1
    });
}
