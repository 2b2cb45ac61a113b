//! HEART_BEAT (34) as the broker answers it: before the registry takes the heartbeat, each
//! consumer group gets its subscription config (when unknown and auto-creation allows) and
//! its `%RETRY%` topic, as Java does, so the group's retry subscription is routed before the
//! first failed message is sent back. The answer waits for that. A group that is neither
//! known nor creatable is still registered, as Java does, but gets no config and no retry
//! topic.

use crate::broker::data::send_rules::retry_topic_of;
use crate::broker::handler::{Handling, Request, ShardBroker};
use crate::broker::metadata::topics;
use crate::broker::scheduled::send_back;
use crate::broker::BrokerContext;

/// HEART_BEAT.
pub fn heart_beat(broker: &ShardBroker, request: Request) -> Handling {
    let ctx = &broker.ctx;
    let mut missing = GroupsToCreate::default();
    let now = ctx.clock.monotonic_ms();
    let handled = ctx
        .clients
        .heart_beat_with(request.client, &request.command, now, |consumer| {
            missing.note(ctx, &consumer.group_name);
        });
    if missing.is_empty() {
        return Handling::Now(handled);
    }
    let ctx = ctx.clone();
    Handling::later(async move {
        missing.create(&ctx).await;
        handled
    })
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
