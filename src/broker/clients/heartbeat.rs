//! HEART_BEAT (34) as the broker answers it: the registry takes the heartbeat and the answer
//! goes at once. Each consumer group the shard lacks a subscription config (when
//! auto-creation allows) or a `%RETRY%` topic for gets them as Java does, in the background:
//! creating them goes through the owner shard and the NameServers, which a client must not
//! wait for (Java clients give a heartbeat 3 s). One setup per group is in flight at a time;
//! a failed one is logged and the group's next heartbeat (or its first send-back, which
//! creates the retry topic itself) tries again. A group that is neither known nor creatable
//! is still registered, as Java does, but gets no config and no retry topic.

use crate::broker::data::send_rules::retry_topic_of;
use crate::broker::handler::{Handling, Request, ShardBroker};
use crate::broker::metadata::topics;
use crate::broker::scheduled::send_back;
use std::rc::Rc;

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
    missing.start(ctx);
    Handling::Now(handled)
}

/// What a heartbeat's consumer groups lack on this shard: their configs, their retry topics.
#[derive(Default)]
struct GroupsToCreate {
    /// Every group with something to create.
    names: Vec<String>,
    groups: Vec<String>,
    retry_topics: Vec<String>,
}

impl GroupsToCreate {
    fn note(&mut self, ctx: &BrokerContext, group: &str) {
        if ctx.groups_in_setup.borrow().contains(group) {
            return;
        }
        let known = ctx.groups.get(group).is_some();
        if !known && !ctx.groups.may_auto_create(group) {
            return;
        }
        let topic = retry_topic_of(group);
        let creatable = topics::valid_topic_name(&topic) && ctx.topics.meta(&topic).is_none();
        if (known && !creatable) || self.names.iter().any(|g| g == group) {
            return;
        }
        self.names.push(group.to_owned());
        if !known {
            self.groups.push(group.to_owned());
        }
        if creatable {
            self.retry_topics.push(topic);
        }
    }

    /// Creates what is missing in a task of its own; the groups stay in setup until it ends.
    fn start(self, ctx: &Rc<BrokerContext>) {
        if self.names.is_empty() {
            return;
        }
        ctx.groups_in_setup
            .borrow_mut()
            .extend(self.names.iter().cloned());
        let ctx = ctx.clone();
        glommio::spawn_local(async move {
            self.create(&ctx).await;
            let mut in_setup = ctx.groups_in_setup.borrow_mut();
            for group in &self.names {
                in_setup.remove(group);
            }
        })
        .detach();
    }

    /// Failures are only logged: the next heartbeat (or the group's first send-back) tries
    /// again.
    async fn create(&self, ctx: &BrokerContext) {
        for group in &self.groups {
            if let Err(error) = ctx.groups.find_or_create(group).await {
                tracing::warn!(group, %error, "subscription group not created at heartbeat");
            }
        }
        send_back::create_retry_topics(ctx, &self.retry_topics).await;
    }
}
