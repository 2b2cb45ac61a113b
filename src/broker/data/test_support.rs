//! Test fixture for the send and pull handlers: a store on the in-memory disk, a topic
//! table and subscription registry in plain maps, and a timer the test fires by hand.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;

use crate::broker::admin::stats::Traffic;
use crate::broker::clients::heartbeat_body::SubscriptionData;
use crate::broker::clients::offsets::ConsumerOffsets;
use crate::broker::clients::registry::Subscription;
use crate::broker::data::long_poll::{LongPoll, Sleep};
use crate::broker::data::pull::{PullHandler, SubscriptionView};
use crate::broker::data::send::{SendConfig, SendHandler};
use crate::broker::data::topic_view::{TopicInfo, TopicView};
use crate::broker::handler::{answered, Handling};
use crate::clock::ManualClock;
use crate::storage::config::{FlushPolicy, LogConfig, StoreConfig};
use crate::storage::index::Geometry;
use crate::storage::io::mem::{Faults, MemDisk};
use crate::storage::io::Disk;
use crate::storage::store::Store;
use crate::wire::body::perm;
use crate::wire::headers::{CommandHeader, PullMessageRequestHeader, SendMessageRequestHeader};
use crate::wire::{ExtFields, RemotingCommand};

pub const STORE_HOST: &str = "127.0.0.1:10911";
pub const PRODUCER: &str = "10.1.2.3:45678";

#[derive(Debug, Default)]
pub struct Topics {
    pub table: RefCell<HashMap<String, TopicInfo>>,
    pub broker_perm: Cell<Option<i32>>,
    /// What [`TopicView::slave_read_after`] answers (`slaveReadEnable` off by default).
    pub slave_read_after: Cell<Option<u64>>,
    /// Set: what [`TopicView::corrects_offsets`] answers on a slave (`false`).
    pub slave: Cell<bool>,
}

impl Topics {
    pub fn add(&self, name: &str, queues: u32, perm: i32) {
        let info = TopicInfo {
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm,
            partial: false,
        };
        self.table.borrow_mut().insert(name.to_owned(), info);
    }
}

impl TopicView for Topics {
    fn topic(&self, name: &str) -> Option<TopicInfo> {
        self.table.borrow().get(name).copied()
    }

    fn create_topic(&self, name: &str, info: TopicInfo) -> Option<TopicInfo> {
        Some(
            *self
                .table
                .borrow_mut()
                .entry(name.to_owned())
                .or_insert(info),
        )
    }

    fn broker_perm(&self) -> i32 {
        self.broker_perm.get().unwrap_or(perm::READ | perm::WRITE)
    }

    fn slave_read_after(&self) -> Option<u64> {
        self.slave_read_after.get()
    }

    fn corrects_offsets(&self) -> bool {
        !self.slave.get()
    }
}

#[derive(Debug, Default)]
pub struct Subscriptions(pub RefCell<HashMap<(String, String), Rc<Subscription>>>);

impl Subscriptions {
    pub fn register(&self, group: &str, topic: &str, expression: &str) {
        let sub = Subscription::from_data(&SubscriptionData {
            sub_string: expression.to_owned(),
            topic: topic.to_owned(),
            sub_version: 1,
            ..Default::default()
        });
        let key = (group.to_owned(), topic.to_owned());
        self.0.borrow_mut().insert(key, Rc::new(sub));
    }
}

impl SubscriptionView for Subscriptions {
    fn subscription(&self, group: &str, topic: &str) -> Option<Rc<Subscription>> {
        let key = (group.to_owned(), topic.to_owned());
        self.0.borrow().get(&key).cloned()
    }
}

/// Every sleep it made ends when the test calls [`ManualTimer::fire`].
#[derive(Debug, Default)]
pub struct ManualTimer {
    fired: Cell<bool>,
    wakers: RefCell<Vec<Waker>>,
}

impl ManualTimer {
    pub fn sleep(self: &Rc<Self>) -> Sleep {
        let timer = Rc::clone(self);
        Rc::new(move |_| {
            let timer = Rc::clone(&timer);
            Box::pin(std::future::poll_fn(move |cx: &mut Context<'_>| {
                if timer.fired.get() {
                    return Poll::Ready(());
                }
                timer.wakers.borrow_mut().push(cx.waker().clone());
                Poll::Pending
            })) as Pin<Box<dyn Future<Output = ()>>>
        })
    }

    pub fn fire(&self) {
        self.fired.set(true);
        for w in self.wakers.take() {
            w.wake();
        }
    }
}

pub struct Fixture {
    pub mem: MemDisk,
    /// The store clock (ms since the epoch); each reading advances it by 1 ms.
    pub clock: ManualClock,
    pub store: Rc<Store>,
    pub topics: Rc<Topics>,
    pub subscriptions: Rc<Subscriptions>,
    pub offsets: Rc<ConsumerOffsets>,
    pub long_poll: Rc<LongPoll>,
    pub timer: Rc<ManualTimer>,
    pub send: Rc<SendHandler>,
    pub pull: Rc<PullHandler>,
    pub traffic: Rc<Traffic>,
    /// Where the send handler puts half messages.
    pub transactions: Rc<crate::broker::transaction::Transactions>,
}

pub async fn fixture(flush: FlushPolicy, parked_max: usize) -> Fixture {
    let mem = MemDisk::new(1, Faults::default());
    let disk = Disk::Mem(mem.clone());
    let config = StoreConfig {
        log: LogConfig::small(flush),
        cq_entries_per_segment: 1024,
        index: Geometry::SMALL,
        ..StoreConfig::new(PathBuf::from("/data"), 0)
    };
    let clock = ManualClock::ticking(1_700_000_000_000, 1);
    let store = Store::open(disk, config, clock.clock()).await;
    let store = Rc::new(store.expect("store opens"));
    let topics = Rc::new(Topics::default());
    topics.add("TBW102", 8, perm::READ | perm::WRITE | perm::INHERIT);
    topics.add("T", 4, perm::READ | perm::WRITE);
    let subscriptions = Rc::new(Subscriptions::default());
    let offsets = Rc::new(ConsumerOffsets::new());
    let timer = Rc::new(ManualTimer::default());
    let long_poll = LongPoll::new(parked_max, timer.sleep());
    store.set_dispatch_listener(long_poll.listener());
    let config = SendConfig::new(STORE_HOST.parse().expect("addr"));
    let traffic = Rc::new(Traffic::default());
    let (sleep, counted) = (timer.sleep(), traffic.clone());
    let transactions = Rc::new(test_transactions(&store));
    let send = SendHandler::with_sleep(store.clone(), topics.clone(), counted, config, sleep);
    let send = Rc::new(send.with_transactions(transactions.clone()));
    let pull = PullHandler::new(
        store.clone(),
        topics.clone(),
        subscriptions.clone(),
        offsets.clone(),
        long_poll.clone(),
        traffic.clone(),
    );
    Fixture {
        mem,
        clock,
        store,
        topics,
        subscriptions,
        offsets,
        long_poll,
        transactions,
        timer,
        send,
        pull,
        traffic,
    }
}

impl Fixture {
    /// Sends and files the message in its ConsumeQueue, as the shard's maintenance would.
    pub async fn send(&self, request: &RemotingCommand) -> RemotingCommand {
        let response = answer(request, self.send.handle(producer(), request)).await;
        self.store.reput().await.expect("reput");
        response
    }

    pub async fn pull(&self, request: RemotingCommand) -> RemotingCommand {
        let origin = request.clone();
        answer(&origin, self.pull.handle(request)).await
    }
}

pub fn producer() -> SocketAddr {
    PRODUCER.parse().expect("addr")
}

/// The response the dispatcher sends for `request` once `handling` completes.
pub async fn answer(request: &RemotingCommand, handling: Handling) -> RemotingCommand {
    answered(request, handling.result().await)
}

pub fn send_header<'a>(
    topic: &'a str,
    queue_id: i32,
    properties: &'a str,
) -> SendMessageRequestHeader<'a> {
    SendMessageRequestHeader {
        producer_group: "pg".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        born_timestamp: 1_600_000_000_000,
        properties: Some(properties.into()),
        ..Default::default()
    }
}

pub fn send_request(code: i32, header: &SendMessageRequestHeader, body: &[u8]) -> RemotingCommand {
    let mut fields = ExtFields::new();
    header.encode_for(code, &mut fields);
    let mut request = RemotingCommand::request(code, fields, Bytes::copy_from_slice(body));
    request.opaque = 7;
    request
}

pub fn pull_header(
    topic: &str,
    queue_id: i32,
    offset: i64,
    sys_flag: i32,
) -> PullMessageRequestHeader {
    PullMessageRequestHeader {
        consumer_group: "cg".into(),
        topic: topic.into(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag,
        suspend_timeout_millis: 15_000,
        sub_version: 1,
        ..Default::default()
    }
}

pub fn pull_request(header: &PullMessageRequestHeader) -> RemotingCommand {
    let mut fields = ExtFields::new();
    header.encode(&mut fields);
    let mut request = RemotingCommand::request(11, fields, Bytes::new());
    request.opaque = 9;
    request
}

/// The records of a pull body, split at their TOTALSIZE.
pub fn records(mut body: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while body.len() >= 4 {
        let size = u32::from_be_bytes([body[0], body[1], body[2], body[3]]) as usize;
        let (record, rest) = body.split_at(size);
        out.push(record);
        body = rest;
    }
    out
}

/// A transaction service over `store` with Java's settings and no producers connected.
pub fn test_transactions(store: &Rc<Store>) -> crate::broker::transaction::Transactions {
    use crate::broker::transaction::TransactionConfig;
    let config = TransactionConfig {
        timeout: std::time::Duration::from_secs(6),
        check_interval: std::time::Duration::from_secs(60),
        check_max: 15,
        store_host: STORE_HOST.parse().expect("addr"),
        broker_name: "broker-a-0".into(),
        progress_path: crate::storage::test_dir("transactions").join("progress.json"),
    };
    let clients = Rc::new(crate::broker::clients::registry::ClientRegistry::new());
    crate::broker::transaction::Transactions::new(
        store.clone(),
        clients,
        config,
        Default::default(),
    )
}
