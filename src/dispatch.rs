//! Request code → handler, through one table, and the one place a broker handler's result
//! becomes its response.
//!
//! Every shard holds one [`Dispatcher`] with its shard's [`ShardBroker`]. `handler` names
//! the function that serves each request code (the contract is in
//! [`crate::broker::handler`]); codes it does not list get Java's REQUEST_CODE_NOT_SUPPORTED
//! answer. A [`BrokerError`] becomes its response through
//! [`RemotingCommand::refusal`]; a oneway request's result is only logged when it failed,
//! since nothing is sent back.
//!
//! Adding a request code is one line in `handler`.

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use crate::acl::Acl;
use crate::broker::access;
use crate::broker::admin::requests::ShardFigures;
use crate::broker::admin::{
    broker_config, consumer_calls, queue_stats, requests, reset_offset, stats_items,
};
use crate::broker::clients::heartbeat;
use crate::broker::clients::queue_locks;
use crate::broker::clients::registry::ClientChannel;
use crate::broker::context::send_limits;
use crate::broker::data::path::{self, DataPath, Parking};
use crate::broker::data::send::SendConfig;
use crate::broker::data::topic_view::ShardTopics;
use crate::broker::data::{query, queue_offsets};
use crate::broker::handler::{Connections, Handled, Handler, Handling, Request, ShardBroker};
use crate::broker::scheduled::send_back;
use crate::broker::transaction;
use crate::broker::{BrokerContext, BrokerError};
use crate::config::BrokerRole;
use crate::net::{Peer, Reply, Service, ShardBudget};
use crate::storage::QueueId;
use crate::wire::codes::request_code::*;
use crate::wire::RemotingCommand;

/// The handler of each request code the broker serves.
fn handler(code: i32) -> Option<Handler> {
    let handler: Handler = match code {
        SEND_MESSAGE | SEND_MESSAGE_V2 | SEND_BATCH_MESSAGE => path::send,
        PULL_MESSAGE | LITE_PULL_MESSAGE => path::pull,
        HEART_BEAT => heartbeat::heart_beat,
        UNREGISTER_CLIENT => |b, r| now(b.ctx.clients.unregister_client(&r.client, &r.command)),
        CHECK_CLIENT_CONFIG => |b, r| now(b.ctx.clients.check_client_config(&r.command)),
        GET_CONSUMER_LIST_BY_GROUP => |b, r| now(b.ctx.clients.consumer_list_by_group(&r.command)),
        GET_CONSUMER_CONNECTION_LIST => {
            |b, r| now(b.ctx.clients.consumer_connection_list(&r.command))
        }
        GET_PRODUCER_CONNECTION_LIST => {
            |b, r| now(b.ctx.clients.producer_connection_list(&r.command))
        }
        QUERY_CONSUMER_OFFSET => query_consumer_offset,
        UPDATE_CONSUMER_OFFSET => update_consumer_offset,
        GET_MAX_OFFSET => |b, r| now(queue_offsets::max_offset(&b.ctx, &r.command)),
        GET_MIN_OFFSET => |b, r| now(queue_offsets::min_offset(&b.ctx, &r.command)),
        SEARCH_OFFSET_BY_TIMESTAMP => {
            |b, r| later(queue_offsets::search_by_time(ctx(b), r.command))
        }
        GET_EARLIEST_MSG_STORETIME => {
            |b, r| later(queue_offsets::earliest_store_time(ctx(b), r.command))
        }
        VIEW_MESSAGE_BY_ID => |b, r| later(query::view_message_by_id(ctx(b), r.command)),
        QUERY_MESSAGE => |b, r| later(query::query_message(ctx(b), r.command)),
        UPDATE_AND_CREATE_TOPIC => |b, r| later(requests::create_topic(ctx(b), r.command)),
        UPDATE_AND_CREATE_TOPIC_LIST => {
            |b, r| later(requests::create_topic_list(ctx(b), r.command))
        }
        DELETE_TOPIC_IN_BROKER => |b, r| later(requests::delete_topic(ctx(b), r.command)),
        GET_ALL_TOPIC_CONFIG => |b, r| now(requests::all_topic_config(&b.ctx, &r.command)),
        GET_TOPIC_CONFIG => |b, r| now(requests::topic_config(&b.ctx, &r.command)),
        QUERY_TOPIC_CONSUME_BY_WHO => |b, r| now(requests::topic_consumed_by(&b.ctx, &r.command)),
        UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => {
            |b, r| later(requests::update_group(ctx(b), r.command))
        }
        GET_ALL_SUBSCRIPTIONGROUP_CONFIG => {
            |b, r| now(requests::all_group_config(&b.ctx, &r.command))
        }
        DELETE_SUBSCRIPTIONGROUP => |b, r| later(requests::delete_group(ctx(b), r.command)),
        GET_ALL_CONSUMER_OFFSET => |b, r| now(requests::all_consumer_offset(&b.ctx, &r.command)),
        GET_ALL_DELAY_OFFSET => |b, r| now(requests::all_delay_offset(&b.ctx, &r.command)),
        GET_TOPIC_STATS_INFO => |b, r| later(queue_stats::topic_stats(ctx(b), r.command)),
        GET_CONSUME_STATS => |b, r| later(queue_stats::consume_stats(ctx(b), r.command)),
        GET_BROKER_RUNTIME_INFO => runtime_info,
        GET_BROKER_CONFIG => |b, r| now(Ok(broker_config::get(&b.ctx, &r.command))),
        VIEW_BROKER_STATS_DATA => |b, r| now(stats_items::view_stats(&b.ctx, &r.command)),
        UPDATE_BROKER_CONFIG => |b, r| later(broker_config::update(ctx(b), r.command)),
        GET_CONSUMER_RUNNING_INFO => {
            |b, r| later(consumer_calls::consumer_running_info(ctx(b), r.command))
        }
        CONSUME_MESSAGE_DIRECTLY => {
            |b, r| later(consumer_calls::consume_message_directly(ctx(b), r.command))
        }
        LOCK_BATCH_MQ => |b, r| now(queue_locks::lock_batch(&b.ctx, &r.command)),
        UNLOCK_BATCH_MQ => |b, r| now(queue_locks::unlock_batch(&b.ctx, &r.command)),
        END_TRANSACTION => transaction::end::end_transaction,
        INVOKE_BROKER_TO_RESET_OFFSET => {
            |b, r| later(reset_offset::reset_offset(ctx(b), r.command))
        }
        CONSUMER_SEND_MSG_BACK => {
            |b, r| later(send_back::consumer_send_msg_back(ctx(b), r.command))
        }
        _ => return None,
    };
    Some(handler)
}

/// Whether the answer to a request code may be large: pulls, and lookups of stored messages.
fn answers_large(code: i32) -> bool {
    matches!(
        code,
        PULL_MESSAGE | LITE_PULL_MESSAGE | QUERY_MESSAGE | VIEW_MESSAGE_BY_ID
    )
}

fn now(handled: Handled) -> Handling {
    Handling::Now(handled)
}

fn later(handled: impl std::future::Future<Output = Handled> + 'static) -> Handling {
    Handling::later(handled)
}

/// The context, for a handler that keeps it while it waits.
fn ctx(broker: &ShardBroker) -> Rc<BrokerContext> {
    Rc::clone(&broker.ctx)
}

/// QUERY_CONSUMER_OFFSET: the stored offset, or 0 for a queue the store still holds from
/// its start.
fn query_consumer_offset(broker: &ShardBroker, request: Request) -> Handling {
    let ctx = &broker.ctx;
    let min_offset = |topic: &str, queue_id: i32| {
        let queue_id = QueueId(u32::try_from(queue_id).ok()?);
        Some(ctx.store.queue_range(topic, queue_id).0 .0)
    };
    now(ctx
        .offsets
        .query_consumer_offset(&request.command, min_offset))
}

/// UPDATE_CONSUMER_OFFSET, for a group this broker knows ([`BrokerContext::knows_group`]) and
/// a queue this shard hosts.
fn update_consumer_offset(broker: &ShardBroker, request: Request) -> Handling {
    let ctx = &broker.ctx;
    let exists = |group: &str, topic: &str, queue_id: i32| {
        if !ctx.knows_group(group) {
            return Err(BrokerError::SubscriptionGroupNotExist(group.to_owned()));
        }
        let Some(meta) = ctx.topics.meta(topic) else {
            return Err(BrokerError::TopicNotExist(topic.to_owned()));
        };
        let queues = meta.read_queue_nums.max(meta.write_queue_nums);
        if !(0..queues).contains(&queue_id) {
            return Err(BrokerError::InvalidQueueId {
                topic: topic.to_owned(),
                queue_id,
                max: u32::try_from(queues).unwrap_or(0),
            });
        }
        Ok(())
    };
    now(ctx.offsets.update_consumer_offset(&request.command, exists))
}

/// GET_BROKER_RUNTIME_INFO, with the parked pulls of the shard's data path and the figures
/// of its connections.
fn runtime_info(broker: &ShardBroker, request: Request) -> Handling {
    let figures = ShardFigures {
        parked_pulls: broker.data.long_poll.parked(),
        connections: broker.connections.open(),
        queued_response_bytes: broker.connections.queued_bytes(),
    };
    later(requests::runtime_info(
        ctx(broker),
        request.command,
        figures,
    ))
}

/// The broker's request router for one shard.
#[derive(Debug)]
pub struct Dispatcher {
    broker: ShardBroker,
    /// The ACL every request is checked against first, when `aclEnable` is on.
    access: Option<Rc<Acl>>,
}

impl Dispatcher {
    /// The router of the shard whose broker is `ctx` and whose connections count into
    /// `budget`, checking requests against `access` when there is one.
    pub fn new(ctx: Rc<BrokerContext>, budget: Rc<ShardBudget>, access: Option<Rc<Acl>>) -> Self {
        let mut send = SendConfig::new(ctx.store_host());
        let config = ctx.config();
        send.limits = send_limits(&config);
        send.sync_replicas = config.broker_role == BrokerRole::SyncMaster;
        send.delay_levels = ctx.schedule.levels().clone();
        send.timer_rules = *ctx.timers.rules();
        let data = DataPath::new(
            ctx.store.clone(),
            Rc::new(ShardTopics(ctx.clone())),
            ctx.clients.clone(),
            ctx.offsets.clone(),
            ctx.stats.traffic.clone(),
            send,
            Parking {
                schedule: ctx.schedule.clone(),
                timers: ctx.timers.clone(),
                transactions: ctx.transactions.clone(),
            },
        );
        let data = Rc::new(data);
        Dispatcher {
            broker: ShardBroker {
                ctx,
                data,
                connections: budget,
            },
            access,
        }
    }

    /// Serves the shard's mesh messages, sends forwarded by other shards included. Call once
    /// the shard's listeners are bound.
    pub fn serve_mesh(&self) {
        self.broker.ctx.serve_mesh(self.broker.data.send.clone());
    }

    /// Answers every parked pull and parks no more: the first step of a shard's shutdown,
    /// so connections can drain.
    pub fn shutdown(&self) {
        self.broker.data.shutdown();
    }
}

impl Service for Dispatcher {
    fn call(&self, peer: &Rc<Peer>, command: RemotingCommand) -> Reply {
        if let Some(access) = &self.access {
            let needs = access::needs(&command);
            if let Some(refused) = access.refusal(peer.remote_addr(), &command, &needs) {
                return Reply::Now(refused);
            }
        }
        let Some(handler) = handler(command.code) else {
            return Reply::Now(Some(RemotingCommand::not_supported(&command)));
        };
        let started = Instant::now();
        let origin = command.without_payload();
        let from = peer.remote_addr();
        let client: Rc<dyn ClientChannel> = peer.clone();
        match handler(&self.broker, Request { command, client }) {
            Handling::Now(handled) => {
                let response = respond(from, &origin, handled);
                timed(&self.broker.ctx, &origin, &response, false, started);
                Reply::Now(response)
            }
            Handling::Later(handled) => {
                let ctx = self.broker.ctx.clone();
                Reply::Later(Box::pin(async move {
                    let response = respond(from, &origin, handled.await);
                    // A pull answered later waited for messages (or, rarely, for the disk).
                    let parked = matches!(origin.code, PULL_MESSAGE | LITE_PULL_MESSAGE);
                    timed(&ctx, &origin, &response, parked, started);
                    response
                }))
            }
        }
    }

    fn answers_large(&self, request: &RemotingCommand) -> bool {
        answers_large(request.code)
    }

    fn response(&self, peer: &Rc<Peer>, response: RemotingCommand) {
        let opaque = response.opaque;
        if !self.broker.ctx.client_calls.answered(peer.id(), response) {
            tracing::debug!(peer = %peer.remote_addr(), opaque, "response to no pending request");
        }
    }

    fn disconnected(&self, peer: &Rc<Peer>) {
        self.broker.ctx.clients.disconnected(peer.id());
        self.broker.ctx.client_calls.disconnected(peer.id());
    }
}

/// Counts the request `origin` stands for in `rocketmq_rpc_latency`: its code, its
/// response's (-1 when oneway), whether it was held as a long poll, and how long it took.
fn timed(
    ctx: &BrokerContext,
    origin: &RemotingCommand,
    response: &Option<RemotingCommand>,
    long_polling: bool,
    started: Instant,
) {
    let code = response.as_ref().map_or(-1, |response| response.code);
    let meters = &ctx.stats.traffic.meters;
    meters.rpc((origin.code, code, long_polling), started.elapsed());
}

/// The response to the request `origin` stands for: the handler's, or its error's. A
/// oneway request is never answered, so its failure is only logged, quietly: a client
/// that sends oneway chose not to hear about it.
fn respond(
    peer: SocketAddr,
    origin: &RemotingCommand,
    handled: Handled,
) -> Option<RemotingCommand> {
    match handled {
        Ok(response) => Some(response),
        Err(err) if origin.is_oneway() => {
            tracing::debug!(%peer, request = origin.code, error = %err, "oneway request refused");
            None
        }
        Err(err) => Some(RemotingCommand::refusal_to(peer, origin, &err)),
    }
}

/// The connection as the client registry sees it.
impl ClientChannel for Peer {
    fn id(&self) -> u64 {
        Peer::id(self)
    }
    fn remote_addr(&self) -> std::net::SocketAddr {
        Peer::remote_addr(self)
    }
    fn send(&self, command: &RemotingCommand) -> bool {
        Peer::send(self, command)
    }
    fn next_opaque(&self) -> i32 {
        Peer::next_opaque(self)
    }
}

/// The shard's connections as its handlers see them.
impl Connections for ShardBudget {
    fn open(&self) -> usize {
        self.connections()
    }
    fn queued_bytes(&self) -> usize {
        ShardBudget::queued_bytes(self)
    }
}
