//! Request code → handler, through one `match`.
//!
//! Every shard holds one [`Dispatcher`] with its shard's [`BrokerContext`]. It decides what a
//! request is and calls the handler of its family; codes no handler serves get Java's
//! REQUEST_CODE_NOT_SUPPORTED answer. Handlers live in [`crate::broker`] and return
//! `Result<RemotingCommand, BrokerError>`; this file turns an error into its response (code
//! from [`BrokerError::response_code`], remark from its text), the one place that happens.
//!
//! A new request family adds its arms to [`Dispatcher::call`]: synchronous handlers through
//! [`now`], handlers that wait (the owner shard, the store, a long poll) through [`later`].

use std::future::Future;
use std::rc::Rc;

use crate::broker::data::path::DataPath;
use crate::broker::data::send::SendConfig;
use crate::broker::data::send_rules::{
    dead_letter_topic, retry_topic_of, DLQ_TOPIC_PREFIX, RETRY_TOPIC_PREFIX,
};
use crate::broker::data::topic_view::ShardTopics;
use crate::broker::metadata::topics;
use crate::broker::{
    admin::queue_stats, admin::requests, clients::queue_locks, data::query, data::queue_offsets,
    scheduled::send_back, BrokerContext, BrokerError,
};
use crate::net::{Peer, Reply, Service};
use crate::storage::QueueId;
use crate::wire::codes::{request_code, response_code};
use crate::wire::headers::SendMessageRequestHeader;
use crate::wire::RemotingCommand;

/// The broker's request router for one shard.
#[derive(Debug)]
pub struct Dispatcher {
    ctx: Rc<BrokerContext>,
    data: Rc<DataPath>,
}

impl Dispatcher {
    pub fn new(ctx: Rc<BrokerContext>) -> Self {
        let mut send = SendConfig::new(ctx.store_host());
        send.body_size_max = ctx.config.max_message_size;
        send.delay_levels = ctx.schedule.levels().clone();
        let data = DataPath::new(
            ctx.store.clone(),
            Rc::new(ShardTopics(ctx.clone())),
            ctx.clients.clone(),
            ctx.offsets.clone(),
            ctx.stats.traffic.clone(),
            send,
            ctx.schedule.clone(),
        );
        Dispatcher {
            ctx,
            data: Rc::new(data),
        }
    }

    /// Answers every parked pull and parks no more: the first step of a shard's shutdown,
    /// so connections can drain.
    pub fn shutdown(&self) {
        self.data.shutdown();
    }

    /// HEART_BEAT. Like Java, it first gives each consumer group its subscription config
    /// (when unknown and auto-creation allows) and its retry topic, so the group's `%RETRY%`
    /// subscription is routed before the first failed message is sent back; the answer
    /// waits for that. A group that is neither known nor creatable is still registered,
    /// as Java does, but gets no config and no retry topic.
    fn heart_beat(&self, peer: &Rc<Peer>, request: &RemotingCommand) -> Reply {
        let ctx = &self.ctx;
        let mut missing = GroupsToCreate::default();
        let now = ctx.clock.monotonic_ms();
        let response = ctx.clients.heart_beat_with(peer, request, now, |consumer| {
            missing.note(ctx, &consumer.group_name);
        });
        if missing.is_empty() {
            return Reply::Now(Some(response));
        }
        let ctx = ctx.clone();
        Reply::Later(Box::pin(async move {
            missing.create(&ctx).await;
            Some(response)
        }))
    }

    /// SEND and PULL. A send to a topic this shard does not know yet first creates it
    /// (auto-creation from its template, or a retry topic), which waits for the owner shard.
    fn data_request(&self, peer: &Rc<Peer>, request: RemotingCommand) -> Reply {
        let addr = peer.remote_addr();
        let Some(creation) = topic_to_create(&self.ctx, &request) else {
            return self.data.handle(addr, request).unwrap_or_else(unserved);
        };
        let (ctx, data) = (self.ctx.clone(), self.data.clone());
        let failed = error_template(&request);
        Reply::Later(Box::pin(async move {
            if let Err(err) = creation.run(&ctx).await {
                return Some(fill_error(failed, &err));
            }
            match data.handle(addr, request)? {
                Reply::Now(response) => response,
                Reply::Later(response) => response.await,
            }
        }))
    }
}

/// What a heartbeat's consumer groups lack on this shard: their configs, their retry topics.
#[derive(Default)]
struct GroupsToCreate {
    groups: Vec<String>,
    retry_topics: Vec<String>,
}

impl GroupsToCreate {
    fn note(&mut self, ctx: &BrokerContext, group: &str) {
        let known = ctx.groups.get(group).is_some();
        if !known && !ctx.groups.may_auto_create(group) {
            return;
        }
        if !known && !self.groups.iter().any(|g| g == group) {
            self.groups.push(group.to_owned());
        }
        let topic = retry_topic_of(group);
        let creatable = topics::valid_topic_name(&topic) && ctx.topics.meta(&topic).is_none();
        if creatable && !self.retry_topics.contains(&topic) {
            self.retry_topics.push(topic);
        }
    }

    fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.retry_topics.is_empty()
    }

    /// Failures are only logged: the heartbeat is answered anyway, and the next one (or
    /// the group's first send-back) tries again.
    async fn create(&self, ctx: &BrokerContext) {
        for group in &self.groups {
            if let Err(error) = ctx.groups.find_or_create(group).await {
                tracing::warn!(group, %error, "subscription group not created at heartbeat");
            }
        }
        send_back::create_retry_topics(ctx, &self.retry_topics).await;
    }
}

/// A topic a send needs that the shard does not have.
struct TopicCreation {
    topic: String,
    default_topic: String,
    queues: i32,
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

/// The topic of a send that this shard does not know; `None` for other requests, known
/// topics, and headers the send handler will refuse itself.
fn topic_to_create(ctx: &BrokerContext, request: &RemotingCommand) -> Option<TopicCreation> {
    let code = request.code;
    let is_send = matches!(
        code,
        request_code::SEND_MESSAGE
            | request_code::SEND_MESSAGE_V2
            | request_code::SEND_BATCH_MESSAGE
    );
    if !is_send {
        return None;
    }
    // The common case, a known topic, costs one field lookup; the send handler decodes the
    // whole header itself. V2 and batch sends name the topic `b`, SEND_MESSAGE `topic`
    // (the codec accepts either set of names for any send code).
    let fields = &request.ext_fields;
    // A send to a retry topic may be redirected to the group's dead-letter topic, which
    // only the whole header tells.
    let named = fields.get("b").or_else(|| fields.get("topic"));
    let plain = |topic: &str| !topic.starts_with(RETRY_TOPIC_PREFIX);
    if named.is_some_and(|topic| plain(topic) && ctx.topics.meta(topic).is_some()) {
        return None;
    }
    let header = SendMessageRequestHeader::decode_for(code, fields).ok()?;
    let topic = dead_letter_topic(&header).unwrap_or_else(|| header.topic.clone());
    if ctx.topics.meta(&topic).is_some() {
        return None;
    }
    Some(TopicCreation {
        topic,
        default_topic: header.default_topic,
        queues: header.default_topic_queue_nums,
    })
}

/// [`DataPath::handle`] refused a code [`DataPath::serves`]: a bug, logged loudly. Nothing
/// is answered (the request is gone by then) and the client times out.
fn unserved() -> Reply {
    tracing::error!("data path refused a code it serves");
    Reply::Now(None)
}

impl Service for Dispatcher {
    fn call(&self, peer: &Rc<Peer>, request: RemotingCommand) -> Reply {
        let ctx = &self.ctx;
        let clients = &ctx.clients;
        match request.code {
            request_code::HEART_BEAT => self.heart_beat(peer, &request),
            request_code::UNREGISTER_CLIENT => {
                Reply::Now(Some(clients.unregister_client(peer, &request)))
            }
            request_code::CHECK_CLIENT_CONFIG => {
                Reply::Now(Some(clients.check_client_config(&request)))
            }
            request_code::GET_CONSUMER_LIST_BY_GROUP => {
                Reply::Now(Some(clients.consumer_list_by_group(&request)))
            }
            request_code::GET_CONSUMER_CONNECTION_LIST => {
                Reply::Now(Some(clients.consumer_connection_list(&request)))
            }
            request_code::GET_PRODUCER_CONNECTION_LIST => {
                Reply::Now(Some(clients.producer_connection_list(&request)))
            }
            request_code::QUERY_CONSUMER_OFFSET => {
                let min_offset = |topic: &str, queue_id: i32| {
                    let queue_id = QueueId(u32::try_from(queue_id).ok()?);
                    Some(ctx.store.queue_range(topic, queue_id).0 .0)
                };
                Reply::Now(Some(
                    ctx.offsets.query_consumer_offset(&request, min_offset),
                ))
            }
            request_code::GET_MAX_OFFSET => now(&request, queue_offsets::max_offset(ctx, &request)),
            request_code::GET_MIN_OFFSET => now(&request, queue_offsets::min_offset(ctx, &request)),
            request_code::SEARCH_OFFSET_BY_TIMESTAMP => {
                later_with(ctx, request, queue_offsets::search_by_time)
            }
            request_code::GET_EARLIEST_MSG_STORETIME => {
                later_with(ctx, request, queue_offsets::earliest_store_time)
            }
            request_code::VIEW_MESSAGE_BY_ID => later_with(ctx, request, query::view_message_by_id),
            request_code::QUERY_MESSAGE => later_with(ctx, request, query::query_message),
            request_code::UPDATE_CONSUMER_OFFSET => {
                Reply::Now(ctx.offsets.update_consumer_offset(&request))
            }
            request_code::UPDATE_AND_CREATE_TOPIC => {
                later_with(ctx, request, requests::create_topic)
            }
            request_code::DELETE_TOPIC_IN_BROKER => {
                later_with(ctx, request, requests::delete_topic)
            }
            request_code::GET_ALL_TOPIC_CONFIG => {
                now(&request, requests::all_topic_config(ctx, &request))
            }
            request_code::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => {
                later_with(ctx, request, requests::update_group)
            }
            request_code::GET_ALL_SUBSCRIPTIONGROUP_CONFIG => {
                now(&request, requests::all_group_config(ctx, &request))
            }
            request_code::DELETE_SUBSCRIPTIONGROUP => {
                later_with(ctx, request, requests::delete_group)
            }
            request_code::GET_TOPIC_STATS_INFO => {
                later_with(ctx, request, queue_stats::topic_stats)
            }
            request_code::GET_CONSUME_STATS => later_with(ctx, request, queue_stats::consume_stats),
            request_code::GET_BROKER_RUNTIME_INFO => {
                let parked = self.data.long_poll.parked();
                later_with(ctx, request, move |ctx, request| {
                    requests::runtime_info(ctx, request, parked)
                })
            }
            request_code::LOCK_BATCH_MQ => now(&request, queue_locks::lock_batch(ctx, &request)),
            request_code::UNLOCK_BATCH_MQ => {
                now(&request, queue_locks::unlock_batch(ctx, &request))
            }
            request_code::CONSUMER_SEND_MSG_BACK => {
                later_with(ctx, request, send_back::consumer_send_msg_back)
            }
            code if DataPath::serves(code) => self.data_request(peer, request),
            code => Reply::Now(Some(not_supported(&request, code))),
        }
    }

    fn disconnected(&self, peer: &Rc<Peer>) {
        self.ctx.clients.disconnected(peer.id());
    }
}

/// The answer of a handler that finished at once.
pub fn now(request: &RemotingCommand, result: Result<RemotingCommand, BrokerError>) -> Reply {
    Reply::Now(Some(
        result.unwrap_or_else(|err| fill_error(error_template(request), &err)),
    ))
}

/// The answer of a handler that waits; `failed` (from [`error_template`]) becomes the
/// response if it fails, since the request itself has moved into the handler.
pub fn later(
    failed: RemotingCommand,
    handler: impl Future<Output = Result<RemotingCommand, BrokerError>> + 'static,
) -> Reply {
    Reply::Later(Box::pin(async move {
        Some(handler.await.unwrap_or_else(|err| fill_error(failed, &err)))
    }))
}

/// [`later`] for a handler that takes the shard's context and the request itself.
fn later_with<Handler, Handled>(
    ctx: &Rc<BrokerContext>,
    request: RemotingCommand,
    handler: Handler,
) -> Reply
where
    Handler: FnOnce(Rc<BrokerContext>, RemotingCommand) -> Handled,
    Handled: Future<Output = Result<RemotingCommand, BrokerError>> + 'static,
{
    let failed = error_template(&request);
    later(failed, handler(ctx.clone(), request))
}

/// A response to `request` waiting for an error's code and remark.
pub fn error_template(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, response_code::SYSTEM_ERROR, None)
}

fn fill_error(mut response: RemotingCommand, err: &BrokerError) -> RemotingCommand {
    // Unknown topics and offsets are the client's lookups, not the broker's trouble.
    let expected = matches!(
        err,
        BrokerError::TopicNotExist(_) | BrokerError::MessageNotFound { .. }
    );
    if !expected {
        tracing::warn!(code = err.response_code(), error = %err, "request refused");
    }
    response.code = err.response_code();
    response.remark = Some(err.to_string());
    response
}

/// Java's answer to a code it has no processor for (REMOTING.md §1.5); shared by every
/// service so the remark reads the same whichever port a client asked.
pub fn not_supported(request: &RemotingCommand, code: i32) -> RemotingCommand {
    RemotingCommand::response_to(
        request,
        response_code::REQUEST_CODE_NOT_SUPPORTED,
        Some(format!(" request type {code} not supported")),
    )
}
