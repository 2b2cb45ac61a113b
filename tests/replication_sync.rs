//! SYNC_MASTER: a send is acknowledged once a slave has stored it. Without a slave in sync
//! the send is stored on the master and answered SLAVE_NOT_AVAILABLE; with a slave that stops
//! answering (a stalled link: a relay the test holds), FLUSH_SLAVE_TIMEOUT after
//! `syncFlushTimeout`; once the link flows again, the slave catches up without a gap and
//! sends are acknowledged again.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{
    code_of, create_topic, runtime_info, runtime_long, send_v2, wait_for, wait_max_offset,
    wait_until, Broker, PATIENCE, SUCCESS,
};

const TOPIC: &str = "SyncReplicated";
const SLAVE_NOT_AVAILABLE: i64 = 11;
const FLUSH_SLAVE_TIMEOUT: i64 = 12;

/// A TCP relay on 127.0.0.1 to `target`, which the test can stall: while stalled it passes
/// nothing on in either direction, and the connections stay open, as on a link that has
/// stopped delivering.
struct Relay {
    port: u16,
    stalled: Arc<AtomicBool>,
}

impl Relay {
    fn to(target: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("relay port");
        let port = listener.local_addr().expect("addr").port();
        let stalled = Arc::new(AtomicBool::new(false));
        let held = stalled.clone();
        std::thread::spawn(move || {
            for inbound in listener.incoming() {
                let Ok(inbound) = inbound else { return };
                let Ok(outbound) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                for (from, to) in [
                    (
                        inbound.try_clone().expect("clone"),
                        outbound.try_clone().expect("clone"),
                    ),
                    (outbound, inbound),
                ] {
                    let held = held.clone();
                    std::thread::spawn(move || pass(from, to, &held));
                }
            }
        });
        Relay { port, stalled }
    }

    fn stall(&self, stalled: bool) {
        self.stalled.store(stalled, Ordering::SeqCst);
    }
}

/// Copies `from` to `to`, holding what it read while the relay is stalled.
fn pass(mut from: TcpStream, mut to: TcpStream, stalled: &AtomicBool) {
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // The link holds the bytes, as a congested one would, until it is let go.
        while stalled.load(Ordering::SeqCst) {
            std::thread::park_timeout(Duration::from_millis(5));
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
}

fn send(conn: &mut TcpStream, n: usize) -> i64 {
    code_of(&send_v2(conn, TOPIC, 0, format!("sync {n}").as_bytes(), ""))
}

/// The master's view of its slaves: connections, and bytes not yet stored by one.
fn slaves(master: &mut TcpStream) -> (i64, i64) {
    let info = runtime_info(master);
    (
        runtime_long(&info, "haConnectionCount"),
        runtime_long(&info, "haBehindBytes"),
    )
}

#[test]
fn a_sync_master_answers_once_its_slave_has_the_message() {
    let master = Broker::start(
        1,
        &[
            "-o",
            "brokerRole=SYNC_MASTER",
            "-o",
            "syncFlushTimeout=1000",
        ],
    );
    let mut conn = master.connect(0);
    assert_eq!(code_of(&create_topic(&mut conn, TOPIC, 1)), SUCCESS);
    let mut sent = 0;
    assert_eq!(send(&mut conn, sent), SLAVE_NOT_AVAILABLE, "no slave yet");
    sent += 1;
    wait_max_offset(&mut conn, TOPIC, 0, 1);

    let relay = Relay::to(master.listen_port + 1);
    let slave = Broker::start(
        1,
        &[
            "-o",
            "brokerRole=SLAVE",
            "-o",
            "brokerId=1",
            "-o",
            "embeddedNamesrv=false",
            "-o",
            &format!("namesrvAddr=127.0.0.1:{}", master.namesrv_port),
            "-o",
            &format!("haMasterAddress=127.0.0.1:{}", relay.port),
        ],
    );
    assert_eq!(
        code_of(&create_topic(&mut slave.connect(0), TOPIC, 1)),
        SUCCESS
    );
    wait_until(PATIENCE, "the slave connected and caught up", || {
        slaves(&mut conn) == (1, 0)
    });
    for _ in 0..20 {
        assert_eq!(send(&mut conn, sent), SUCCESS, "acknowledged by the slave");
        sent += 1;
    }
    let mut on_slave = slave.connect(0);
    wait_max_offset(&mut on_slave, TOPIC, 0, sent as i64);

    relay.stall(true);
    assert_eq!(
        send(&mut conn, sent),
        FLUSH_SLAVE_TIMEOUT,
        "the slave cannot answer"
    );
    sent += 1;
    // The lag, in bytes and as the age of the oldest record not copied: the send waited
    // syncFlushTimeout (1 s) before it was answered.
    let info = runtime_info(&mut conn);
    assert!(runtime_long(&info, "haBehindBytes") > 0, "{info}");
    assert!(runtime_long(&info, "haBehindMs") >= 1000, "{info}");
    relay.stall(false);
    // The held bytes flow again: the slave has everything, the stalled send's record too.
    wait_for(PATIENCE, "a send acknowledged again", || {
        let code = send(&mut conn, sent);
        sent += 1;
        (code == SUCCESS).then_some(())
    });
    wait_max_offset(&mut on_slave, TOPIC, 0, sent as i64);
    wait_until(PATIENCE, "no lag left", || {
        let info = runtime_info(&mut conn);
        runtime_long(&info, "haBehindBytes") == 0 && runtime_long(&info, "haBehindMs") == 0
    });

    assert_eq!(slave.stop(), Some(0));
    wait_until(PATIENCE, "the master saw its slave go", || {
        slaves(&mut conn).0 == 0
    });
    assert_eq!(
        send(&mut conn, sent),
        SLAVE_NOT_AVAILABLE,
        "the slave is gone"
    );
}
