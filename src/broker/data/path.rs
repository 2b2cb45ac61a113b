//! The data path of one shard in one piece: the SEND and PULL handlers and the long-poll
//! table they share, wired to the shard's store, and the [`send`] and [`pull`] request
//! handlers. The dispatcher builds one per shard.
//!
//! Owners: the shard keeps the store's maintenance task running (reput is what makes a sent
//! message pullable and wakes parked pulls) and calls [`DataPath::shutdown`] when it stops,
//! so parked pulls are answered before their connections close.

use std::net::SocketAddr;
use std::rc::Rc;

use shards::ShardId;

use crate::broker::admin::stats::Traffic;
use crate::broker::clients::offsets::ConsumerOffsets;
use crate::broker::data::long_poll::{glommio_sleep, LongPoll};
use crate::broker::data::pull::{PullHandler, SubscriptionView};
use crate::broker::data::send::{SendConfig, SendHandler};
use crate::broker::data::send_rules::dead_letter_topic;
use crate::broker::data::topic_view::TopicView;
use crate::broker::handler::{Handling, Request, ShardBroker};
use crate::broker::metadata::topics;
use crate::broker::scheduled::schedule::Schedule;
use crate::broker::scheduled::timer::Timers;
use crate::broker::transaction::Transactions;
use crate::broker::{forwarding_fault, BrokerContext, BrokerError, ShardMsg, ShardReply};
use crate::config::BrokerRole;
use crate::limits::PULL_PARKED_MAX;
use crate::storage::store::Store;
use crate::wire::frame::Encoded;
use crate::wire::headers::SendMessageRequestHeader;
use crate::wire::topics::{DLQ_TOPIC_PREFIX, RETRY_TOPIC_PREFIX, SCHEDULE_TOPIC, TIMER_TOPIC};
use crate::wire::RemotingCommand;

/// SEND and PULL for one shard.
#[derive(Debug)]
pub struct DataPath {
    pub send: Rc<SendHandler>,
    pub pull: Rc<PullHandler>,
    pub long_poll: Rc<LongPoll>,
}

/// The services that deliver parked messages, told when reput files one.
#[derive(Debug, Clone)]
pub struct Parking {
    /// Delay levels (`SCHEDULE_TOPIC_XXXX`).
    pub schedule: Rc<Schedule>,
    /// 5.x timers (`rmq_sys_wheel_timer`).
    pub timers: Rc<Timers>,
    /// Half messages (`RMQ_SYS_TRANS_HALF_TOPIC`), handed over as the send path stores them.
    pub transactions: Rc<Transactions>,
}

impl DataPath {
    /// Builds the handlers and tells the store to wake parked pulls, and the delay and timer
    /// services for parked messages, as it files messages. Both handlers count the messages
    /// they move in `traffic`.
    pub fn new(
        store: Rc<Store>,
        topics: Rc<dyn TopicView>,
        subscriptions: Rc<dyn SubscriptionView>,
        offsets: Rc<ConsumerOffsets>,
        traffic: Rc<Traffic>,
        config: SendConfig,
        parking: Parking,
    ) -> DataPath {
        let long_poll = LongPoll::new(PULL_PARKED_MAX, glommio_sleep());
        let wake_pulls = long_poll.listener();
        // Weak: the store holds the listener, and the services hold the store.
        let schedule = Rc::downgrade(&parking.schedule);
        let timers = Rc::downgrade(&parking.timers);
        store.set_dispatch_listener(Box::new(move |topic, queue_id, offset, tags_code| {
            wake_pulls(topic, queue_id, offset, tags_code);
            if topic == SCHEDULE_TOPIC {
                if let Some(schedule) = schedule.upgrade() {
                    schedule.arrived();
                }
            } else if topic == TIMER_TOPIC {
                if let Some(timers) = timers.upgrade() {
                    timers.arrived();
                }
            }
        }));
        let send = SendHandler::new(
            Rc::clone(&store),
            Rc::clone(&topics),
            Rc::clone(&traffic),
            config,
        );
        let send = Rc::new(send.with_transactions(parking.transactions));
        let pull = PullHandler::new(
            store,
            topics,
            subscriptions,
            offsets,
            Rc::clone(&long_poll),
            traffic,
        );
        DataPath {
            send,
            pull,
            long_poll,
        }
    }

    /// Answers every parked pull and parks no more.
    pub fn shutdown(&self) {
        self.long_poll.shutdown();
    }
}

/// SEND_MESSAGE, SEND_MESSAGE_V2, SEND_BATCH_MESSAGE. A send to a topic this shard does
/// not know yet first creates it (auto-creation from its template, or a retry or
/// dead-letter topic), which waits for the owner shard. A send to a topic none of whose
/// write queues this shard hosts is handed to a shard that hosts one, over the mesh: that
/// is a producer routing a new topic by the auto-creation template (each shard offers the
/// template's queues) until it reads the topic's own route.
pub fn send(broker: &ShardBroker, request: Request) -> Handling {
    if broker.ctx.config().broker_role == BrokerRole::Slave {
        return Handling::Now(Err(BrokerError::Slave));
    }
    let born_host = request.client_addr();
    let command = request.command;
    let route = route_send(&broker.ctx, &command);
    if let SendRoute::Here = route {
        return broker.data.send.handle(born_host, &command);
    }
    let (ctx, send) = (broker.ctx.clone(), broker.data.send.clone());
    Handling::later(async move {
        let host = match route {
            SendRoute::Here => None,
            SendRoute::To(shard) => Some(shard),
            SendRoute::Create(creation) => {
                creation.run(&ctx).await?;
                ctx.topics.write_host(&creation.topic, creation.queue_id)
            }
        };
        match host {
            None => send.handle(born_host, &command).result().await,
            Some(shard) => forward(&ctx, shard, born_host, command).await,
        }
    })
}

/// Stores a send another shard forwarded here (by `forward`) and gives back its answer, both
/// as frames.
pub async fn store_forwarded(
    sends: &Rc<SendHandler>,
    born_host: SocketAddr,
    command: Encoded,
) -> Result<Encoded, BrokerError> {
    let command = command.decode().map_err(forwarding_fault)?;
    let answer = sends.handle(born_host, &command).result().await?;
    Encoded::new(&answer).map_err(forwarding_fault)
}

/// Has shard `shard` store a send and answer it.
async fn forward(
    ctx: &BrokerContext,
    shard: usize,
    born_host: SocketAddr,
    command: RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let command = Encoded::new(&command).map_err(forwarding_fault)?;
    let msg = ShardMsg::Send { born_host, command };
    match ctx.shard.request(ShardId::new(shard), msg).await {
        Ok(ShardReply::Sent(answer)) => answer?.decode().map_err(forwarding_fault),
        Ok(other) => Err(BrokerError::Mesh(format!("unexpected reply {other:?}"))),
        Err(err) => Err(BrokerError::Mesh(err.to_string())),
    }
}

/// PULL_MESSAGE, LITE_PULL_MESSAGE.
pub fn pull(broker: &ShardBroker, request: Request) -> Handling {
    broker.data.pull.handle(request.command)
}

/// Where a send is stored.
enum SendRoute {
    /// On this shard (or refused by its send handler).
    Here,
    /// On that shard, which hosts a write queue of the topic.
    To(usize),
    /// Once its topic exists; then here or where its queue is.
    Create(TopicCreation),
}

/// A topic a send needs that the shard does not have.
struct TopicCreation {
    topic: String,
    default_topic: String,
    queues: i32,
    queue_id: i32,
}

impl TopicCreation {
    async fn run(&self, ctx: &BrokerContext) -> Result<(), BrokerError> {
        if self.topic.starts_with(RETRY_TOPIC_PREFIX) || self.topic.starts_with(DLQ_TOPIC_PREFIX) {
            let config = topics::group_topic_config(&self.topic);
            ctx.topics.create_if_absent(config).await.map(drop)
        } else {
            let topics = &ctx.topics;
            topics
                .get_or_auto_create(&self.topic, &self.default_topic, self.queues)
                .await
                .map(drop)
        }
    }
}

/// Where a send goes. The common case, a known topic with a write queue here, costs one
/// field lookup; the send handler decodes the whole header itself.
fn route_send(ctx: &BrokerContext, request: &RemotingCommand) -> SendRoute {
    // V2 and batch sends name the topic `b`, SEND_MESSAGE `topic` (the codec accepts either
    // set of names for any send code).
    let fields = &request.ext_fields;
    let writable_here = |topic: &str| {
        ctx.topics
            .meta(topic)
            .is_some_and(|meta| meta.write_queue_nums > 0)
    };
    // A send to a retry topic may be redirected to the group's dead-letter topic, which
    // only the whole header tells.
    let named = fields.get("b").or_else(|| fields.get("topic"));
    if named.is_some_and(|topic| !topic.starts_with(RETRY_TOPIC_PREFIX) && writable_here(topic)) {
        return SendRoute::Here;
    }
    // A header the send handler will refuse is refused here.
    let Ok(header) = SendMessageRequestHeader::decode_for(request.code, fields) else {
        return SendRoute::Here;
    };
    let topic = dead_letter_topic(&header).unwrap_or_else(|| header.topic.to_string());
    if ctx.topics.meta(&topic).is_none() {
        return SendRoute::Create(TopicCreation {
            topic,
            default_topic: header.default_topic.into_owned(),
            queues: header.default_topic_queue_nums,
            queue_id: header.queue_id,
        });
    }
    match ctx.topics.write_host(&topic, header.queue_id) {
        Some(shard) => SendRoute::To(shard),
        None => SendRoute::Here,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::data::test_support::*;
    use crate::storage::config::FlushPolicy;
    use crate::storage::run_local;
    use crate::wire::codes::response_code;
    use crate::wire::headers::pull_sys_flag;

    #[test]
    fn wakes_parked_pulls_through_the_store() {
        run_local(|| async {
            let f = fixture(FlushPolicy::Async, 16).await;
            let config = SendConfig::new(STORE_HOST.parse().expect("addr"));
            let levels = config.delay_levels.clone();
            let schedule = Rc::new(Schedule::new(f.store.clone(), levels, &Default::default()));
            let dir = crate::storage::test_dir("path-timers");
            let opened = crate::broker::scheduled::timer::open(dir.clone()).expect("timers");
            let timers = Timers::new(f.store.clone(), config.timer_rules, opened);
            let parking = Parking {
                schedule,
                timers: Rc::new(timers),
                transactions: Rc::new(test_transactions(&f.store)),
            };
            let path = DataPath::new(
                f.store.clone(),
                f.topics.clone(),
                f.subscriptions.clone(),
                f.offsets.clone(),
                f.traffic.clone(),
                config,
                parking,
            );
            let _ = std::fs::remove_dir_all(dir);
            let h = pull_header(
                "T",
                0,
                0,
                pull_sys_flag::SUSPEND | pull_sys_flag::SUBSCRIPTION,
            );
            let Handling::Later(parked) = path.pull.handle(pull_request(&h)) else {
                panic!("pulls answer later");
            };
            let parked = glommio::spawn_local(parked);
            glommio::executor().yield_task_queue_now().await;
            assert_eq!(path.long_poll.parked(), 1);
            let send = send_request(320, &send_header("T", 0, ""), &[]);
            let refused = answer(&send, path.send.handle(producer(), &send)).await;
            assert_eq!(refused.code, response_code::MESSAGE_ILLEGAL);
            let send = send_request(310, &send_header("T", 0, ""), b"x");
            answer(&send, path.send.handle(producer(), &send)).await;
            f.store.reput().await.expect("reput");
            let response = parked.await.expect("answered");
            assert_eq!(response.code, response_code::SUCCESS);
            path.shutdown();
        });
    }
}
