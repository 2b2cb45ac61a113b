//! What a connection takes from its peer: the rules of [`admits`], and slow readers on
//! loopback pausing while the shard's other connections are served.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::*;
use crate::limits::{
    CONNECTION_IN_FLIGHT_BEHIND_MAX as BEHIND, CONNECTION_IN_FLIGHT_MAX as MAX,
    CONNECTION_LARGE_ANSWERS_IN_FLIGHT as LARGE_ANSWERS,
    CONNECTION_WRITE_QUEUE_BYTES_MAX as QUEUE_MAX,
};
use crate::net::testing::{serve_on_loopback, serve_within, BlockingClient};

#[test]
fn a_peer_with_nothing_waiting_is_served_whatever_the_shard() {
    for over in [false, true] {
        assert!(admits(0, 0, over));
        assert!(admits(0, MAX - 1, over));
        assert!(!admits(0, MAX, over));
    }
}

#[test]
fn a_peer_behind_gets_a_few_requests_while_the_shard_has_room() {
    assert!(admits(1, BEHIND - 1, false));
    assert!(!admits(1, BEHIND, false));
    assert!(admits(QUEUE_MAX, 0, false));
    assert!(
        !admits(QUEUE_MAX + 1, 0, false),
        "past its own queue's limit"
    );
    assert!(!admits(1, 0, true), "paused while the shard is over budget");
}

/// Answers [`LARGE`] with [`LARGE_BODY`] bytes, later; reports the budget's figures to
/// [`FIGURES`] as "queued connections" in the remark; answers anything else at once.
#[derive(Debug)]
struct Answers {
    budget: Rc<ShardBudget>,
}

const LARGE: i32 = 1;
const FIGURES: i32 = 2;
const SMALL: i32 = 3;
const LARGE_BODY: usize = 64 * 1024;

impl Service for Answers {
    fn call(&self, _peer: &Rc<Peer>, request: RemotingCommand) -> Reply {
        let mut response = RemotingCommand::response_to(&request, 0, None);
        match request.code {
            LARGE => Reply::Later(Box::pin(async move {
                response.body = Bytes::from(vec![7; LARGE_BODY]);
                Some(response)
            })),
            FIGURES => {
                let (queued, open) = (self.budget.queued_bytes(), self.budget.connections());
                response.remark = Some(format!("{queued} {open}"));
                Reply::Now(Some(response))
            }
            _ => Reply::Now(Some(response)),
        }
    }

    fn answers_large(&self, request: &RemotingCommand) -> bool {
        request.code == LARGE
    }
}

fn request(code: i32) -> RemotingCommand {
    RemotingCommand::request(code, Default::default(), Bytes::new())
}

/// The budget's queued bytes and connections, asked through `client`.
fn figures(client: &mut BlockingClient) -> [usize; 2] {
    let (response, _) = client.exchange(request(FIGURES));
    let remark = response.remark.expect("figures");
    let numbers: Vec<usize> = remark
        .split(' ')
        .map(|n| n.parse().expect("a number"))
        .collect();
    numbers.try_into().expect("two figures")
}

/// Polls `condition` until it holds; fails naming `what` after a generous while.
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "{what}: not within 30 s");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A connection that sends `count` LARGE requests and reads nothing.
fn flood(addr: SocketAddr, count: usize) -> TcpStream {
    let mut bytes = BytesMut::new();
    for opaque in 0..count {
        let mut large = request(LARGE);
        large.opaque = opaque as i32;
        large.encode(&mut bytes).expect("encodes");
    }
    let mut stream = TcpStream::connect(addr).expect("connect");
    // A few dozen KiB: the kernel takes them even once the server stops reading.
    stream.write_all(&bytes).expect("write");
    stream
}

#[test]
fn slow_readers_pause_within_the_budget_and_the_others_are_served() {
    const BUDGET: usize = 1 << 20;
    const SLOW: usize = 3;
    serve_within(
        (16, BUDGET),
        |budget| Answers { budget },
        |addr| {
            let mut good = BlockingClient::connect(addr);
            let slow: Vec<_> = (0..SLOW).map(|_| flood(addr, 2000)).collect();
            wait_until("the slow readers fill the budget", || {
                figures(&mut good)[0] > BUDGET
            });
            // A paused connection owes at most the answers of the requests it had in flight.
            let bound = BUDGET + SLOW * BEHIND * (LARGE_BODY + 1024);
            for _ in 0..50 {
                let [queued, open] = figures(&mut good);
                assert!(queued <= bound, "{queued} bytes queued, bound {bound}");
                assert_eq!(open, SLOW + 1);
                let (answer, _) = good.exchange(request(LARGE));
                assert_eq!(answer.body.len(), LARGE_BODY, "a reader is served");
                good.exchange(request(SMALL));
            }
            drop(slow);
            wait_until("the slow readers' bytes given back", || {
                figures(&mut good) == [0, 1]
            });
        },
    );
}

#[test]
fn with_many_large_answers_owed_the_next_waits_for_one() {
    glommio::LocalExecutorBuilder::default()
        .spawn(|| async {
            let in_flight = InFlight::default();
            for _ in 0..LARGE_ANSWERS {
                in_flight.enter(true);
            }
            // Its pause has only just begun: the next request waits, until one of the large
            // ones is answered.
            let mut pace = Box::pin(paced(&in_flight));
            assert!(futures_lite::future::poll_once(&mut pace).await.is_none());
            in_flight.leave(true);
            assert!(futures_lite::future::poll_once(&mut pace).await.is_some());
        })
        .expect("executor")
        .join()
        .expect("join");
}

/// Records every peer it served, to tell how many are still held.
#[derive(Debug, Default)]
struct Peers {
    seen: RefCell<std::collections::BTreeMap<u64, std::rc::Weak<Peer>>>,
}

impl Service for Peers {
    fn call(&self, peer: &Rc<Peer>, request: RemotingCommand) -> Reply {
        let mut seen = self.seen.borrow_mut();
        seen.insert(peer.id(), Rc::downgrade(peer));
        let held = seen.values().filter(|peer| peer.strong_count() > 0).count();
        let mut response = RemotingCommand::response_to(&request, 0, None);
        response.remark = Some(format!("{held} of {}", seen.len()));
        Reply::Now(Some(response))
    }

    fn disconnected(&self, peer: &Rc<Peer>) {
        self.seen
            .borrow_mut()
            .insert(peer.id(), Rc::downgrade(peer));
    }
}

#[test]
fn a_closed_connection_leaves_nothing_held() {
    serve_within(
        (16, 1 << 20),
        |_| Peers::default(),
        |addr| {
            let mut watcher = BlockingClient::connect(addr);
            for _ in 0..3 {
                let mut gone = BlockingClient::connect(addr);
                gone.exchange(request(SMALL));
            }
            // Connections that say nothing at all.
            for _ in 0..3 {
                drop(BlockingClient::connect(addr));
            }
            let held = |client: &mut BlockingClient| {
                let (response, _) = client.exchange(request(SMALL));
                response.remark.expect("a count")
            };
            wait_until("only the watcher's peer held", || {
                held(&mut watcher) == "1 of 7"
            });
        },
    );
}

/// Holds every [`LARGE`] request until its future is dropped; answers anything else with how
/// many it holds.
#[derive(Debug, Default)]
struct Parks {
    held: Rc<Cell<usize>>,
}

/// Counts one held request out when its future is dropped.
struct Held(Rc<Cell<usize>>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

impl Service for Parks {
    fn call(&self, _peer: &Rc<Peer>, request: RemotingCommand) -> Reply {
        let mut response = RemotingCommand::response_to(&request, 0, None);
        if request.code != LARGE {
            response.remark = Some(self.held.get().to_string());
            return Reply::Now(Some(response));
        }
        self.held.set(self.held.get() + 1);
        let held = Held(self.held.clone());
        Reply::Later(Box::pin(async move {
            let _held = held;
            std::future::pending::<()>().await;
            Some(response)
        }))
    }

    fn answers_large(&self, request: &RemotingCommand) -> bool {
        request.code == LARGE
    }
}

#[test]
fn a_read_is_abandoned_when_its_peer_goes() {
    serve_within(
        (16, 1 << 20),
        |_| Parks::default(),
        |addr| {
            let mut watcher = BlockingClient::connect(addr);
            let mut held = || {
                let (response, _) = watcher.exchange(request(SMALL));
                response.remark.expect("a count")
            };
            let parked = flood(addr, 2);
            wait_until("both reads held", || held() == "2");
            drop(parked);
            wait_until("none held once their peer is gone", || held() == "0");
        },
    );
}

/// Answers each request with a body shared in as many slices of growing sizes as the
/// request's code says, after a plain body of a few bytes: a pull's answer as the store holds
/// it.
#[derive(Debug)]
struct Shares;

#[derive(Debug)]
struct Slices(Vec<Vec<u8>>);

impl crate::wire::BodyParts for Slices {
    fn count(&self) -> usize {
        self.0.len()
    }
    fn part(&self, index: usize) -> &[u8] {
        &self.0[index]
    }
    fn held_bytes(&self) -> usize {
        self.0.iter().map(Vec::len).sum()
    }
}

/// The slices [`Shares`] answers a request of `code` with: `code` of them.
fn slices(code: i32) -> Vec<Vec<u8>> {
    (0..code as usize)
        .map(|i| vec![(i % 251) as u8; i % 3000])
        .collect()
}

impl Service for Shares {
    fn call(&self, _peer: &Rc<Peer>, request: RemotingCommand) -> Reply {
        let mut response = RemotingCommand::response_to(&request, 0, None);
        response.body = Bytes::from_static(b"head");
        response.shared_body = crate::wire::SharedBody::new(Slices(slices(request.code)));
        Reply::Later(Box::pin(async move { Some(response) }))
    }
}

/// Answers whose shared bodies are larger than the socket takes at once, in more slices than
/// one write takes, arrive whole and in order, between answers without one.
#[test]
fn shared_bodies_arrive_whole_between_plain_answers() {
    serve_on_loopback(
        || Shares,
        |addr| {
            let mut client = BlockingClient::connect(addr);
            // 3,000 slices make about 4.5 MB: partial writes and three writes' worth of slices.
            let codes = [0, 3000, 1, 2500, 7, 0];
            let opaques: Vec<i32> = codes
                .iter()
                .map(|&code| client.send(request(code)))
                .collect();
            for (code, opaque) in codes.into_iter().zip(opaques) {
                let response = client.read_frame();
                assert_eq!(response.opaque, opaque);
                let mut expected = b"head".to_vec();
                expected.extend(slices(code).concat());
                assert!(response.body == expected, "answer to {code} differs");
            }
        },
    );
}

/// From any byte, the slices are the rest of the parts, at most a write's worth of them.
#[test]
fn slices_from_any_byte_are_the_rest_of_the_parts() {
    let parts: [&[u8]; 3] = [b"ab", b"cde", b"f"];
    let whole = parts.concat();
    let mut slices = Vec::new();
    for from in 0..=whole.len() {
        slices_from(&parts, from, &mut slices);
        let joined: Vec<u8> = slices.iter().flat_map(|s| s.iter().copied()).collect();
        assert_eq!(joined, whole[from..], "from {from}");
        assert!(slices.iter().all(|s| !s.is_empty()));
    }
    let many = vec![&b"x"[..]; 3000];
    slices_from(&many, 5, &mut slices);
    assert_eq!(slices.len(), super::SLICES_PER_WRITE_MAX);
}
