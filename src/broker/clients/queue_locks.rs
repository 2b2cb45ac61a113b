//! LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42) (docs/protocol.md §2.5.7, §5.9): the leases orderly
//! push consumers take on queues, so that one client at a time consumes a queue in order.
//!
//! A lock is granted when the queue is free, already held by the asking client (a renewal),
//! or held by another client whose lease is older than [`LOCK_LEASE_MS`] (a crashed owner).
//! The answer lists the queues the client holds now. Locks are advisory, as in Java: pulls do
//! not check them. They live in memory only: after a restart every client re-locks within
//! its 20 s renewal interval.
//!
//! Each shard is its own broker, so a shard locks the queues clients ask it for: the queues
//! whose route names this shard.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::broker::context::BrokerContext;
use crate::broker::error::BrokerError;
use crate::limits::BROKER_QUEUE_LOCKS_MAX;
use crate::wire::RemotingCommand;

/// How long a lease lasts without renewal (Java's `rocketmq.broker.rebalance.lockMaxLiveTime`).
pub const LOCK_LEASE_MS: u64 = 60_000;

/// A queue as clients name it, fields in fastjson's (alphabetical) order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageQueue {
    pub broker_name: String,
    pub queue_id: i32,
    pub topic: String,
}

/// LockBatchRequestBody and UnlockBatchRequestBody (`onlyThisBroker` is ignored: a shard
/// has no replicas to ask).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchBody {
    consumer_group: String,
    client_id: String,
    #[serde(default)]
    mq_set: Vec<MessageQueue>,
}

#[derive(Serialize)]
struct LockBatchResponseBody<'a> {
    #[serde(rename = "lockOKMQSet")]
    lock_ok_mq_set: &'a [MessageQueue],
}

#[derive(Debug)]
struct Lease {
    client_id: String,
    renewed_ms: u64,
}

/// One shard's queue leases, by (consumer group, queue).
#[derive(Debug, Default)]
pub struct QueueLocks {
    leases: RefCell<HashMap<(String, MessageQueue), Lease>>,
}

impl QueueLocks {
    /// Locks or renews each of `queues` for `client` of `group` at `now_ms` where allowed;
    /// returns the queues `client` holds afterwards, sorted.
    pub fn lock(
        &self,
        group: &str,
        client: &str,
        queues: Vec<MessageQueue>,
        now_ms: u64,
    ) -> Vec<MessageQueue> {
        let mut leases = self.leases.borrow_mut();
        if leases.len() + queues.len() > BROKER_QUEUE_LOCKS_MAX {
            // Only expired leases can go without asking anyone.
            leases.retain(|_, lease| !expired(lease, now_ms));
        }
        let mut held: Vec<MessageQueue> = queues
            .into_iter()
            .filter(|mq| {
                let key = (group.to_owned(), mq.clone());
                let room = leases.len() < BROKER_QUEUE_LOCKS_MAX;
                match leases.get_mut(&key) {
                    Some(lease) if lease.client_id == client || expired(lease, now_ms) => {
                        lease.client_id = client.to_owned();
                        lease.renewed_ms = now_ms;
                        true
                    }
                    Some(_) => false,
                    None if room => {
                        let lease = Lease {
                            client_id: client.to_owned(),
                            renewed_ms: now_ms,
                        };
                        leases.insert(key, lease);
                        true
                    }
                    None => false,
                }
            })
            .collect();
        held.sort();
        held.dedup();
        held
    }

    /// Releases those of `queues` that `client` of `group` holds.
    pub fn unlock(&self, group: &str, client: &str, queues: Vec<MessageQueue>) {
        let mut leases = self.leases.borrow_mut();
        for mq in queues {
            let key = (group.to_owned(), mq);
            if leases.get(&key).is_some_and(|l| l.client_id == client) {
                leases.remove(&key);
            }
        }
    }
}

fn expired(lease: &Lease, now_ms: u64) -> bool {
    now_ms.saturating_sub(lease.renewed_ms) > LOCK_LEASE_MS
}

fn batch_body(request: &RemotingCommand) -> Result<BatchBody, BrokerError> {
    serde_json::from_slice(&request.body).map_err(|e| {
        BrokerError::InvalidParameter(format!("the lock request body is not valid: {e}"))
    })
}

/// The group a LOCK_BATCH_MQ or UNLOCK_BATCH_MQ names, read as the handler reads it (what
/// access control checks).
pub fn batch_group(request: &RemotingCommand) -> Option<String> {
    batch_body(request).ok().map(|body| body.consumer_group)
}

/// LOCK_BATCH_MQ: the queues the client holds after the request, in `lockOKMQSet`.
pub fn lock_batch(
    ctx: &Rc<BrokerContext>,
    request: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let body = batch_body(request)?;
    let now = ctx.clock.monotonic_ms();
    let held = ctx
        .queue_locks
        .lock(&body.consumer_group, &body.client_id, body.mq_set, now);
    let mut response = RemotingCommand::success(request);
    let json = serde_json::to_vec(&LockBatchResponseBody {
        lock_ok_mq_set: &held,
    })
    .expect("plain strings and numbers serialize");
    response.body = Bytes::from(json);
    Ok(response)
}

/// UNLOCK_BATCH_MQ (often oneway).
pub fn unlock_batch(
    ctx: &Rc<BrokerContext>,
    request: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let body = batch_body(request)?;
    ctx.queue_locks
        .unlock(&body.consumer_group, &body.client_id, body.mq_set);
    Ok(RemotingCommand::success(request))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mq(queue_id: i32) -> MessageQueue {
        MessageQueue {
            broker_name: "broker-a-0".into(),
            queue_id,
            topic: "T".into(),
        }
    }

    #[test]
    fn a_held_queue_is_refused_to_others_until_its_lease_expires() {
        let locks = QueueLocks::default();
        assert_eq!(locks.lock("g", "c1", vec![mq(0), mq(1)], 0), [mq(0), mq(1)]);
        assert_eq!(locks.lock("g", "c2", vec![mq(1), mq(2)], 1_000), [mq(2)]);
        // Another group locks independently.
        assert_eq!(locks.lock("h", "c2", vec![mq(1)], 1_000), [mq(1)]);
        // c1 renews at 30 s; at 80 s its lease is 50 s old, still valid.
        assert_eq!(locks.lock("g", "c1", vec![mq(1)], 30_000), [mq(1)]);
        assert!(locks.lock("g", "c2", vec![mq(1)], 80_000).is_empty());
        // Past 60 s without renewal the queue goes to whoever asks.
        assert_eq!(locks.lock("g", "c2", vec![mq(1)], 90_001), [mq(1)]);
        assert!(locks.lock("g", "c1", vec![mq(1)], 90_002).is_empty());
    }

    #[test]
    fn only_the_holder_unlocks() {
        let locks = QueueLocks::default();
        locks.lock("g", "c1", vec![mq(0)], 0);
        locks.unlock("g", "c2", vec![mq(0)]);
        assert!(locks.lock("g", "c2", vec![mq(0)], 1).is_empty());
        locks.unlock("g", "c1", vec![mq(0), mq(5)]);
        assert_eq!(locks.lock("g", "c2", vec![mq(0)], 2), [mq(0)]);
    }

    #[test]
    fn the_table_is_bounded_and_expired_leases_make_room() {
        let locks = QueueLocks::default();
        let all: Vec<_> = (0..BROKER_QUEUE_LOCKS_MAX as i32).map(mq).collect();
        assert_eq!(locks.lock("g", "c1", all, 0).len(), BROKER_QUEUE_LOCKS_MAX);
        let more = BROKER_QUEUE_LOCKS_MAX as i32;
        assert!(locks.lock("g", "c2", vec![mq(more)], 1).is_empty());
        assert_eq!(locks.lock("g", "c2", vec![mq(more)], 70_000), [mq(more)]);
    }

    #[test]
    fn bodies_parse_as_java_sends_them() {
        let body = br#"{"clientId":"10.0.0.5@4242#812","consumerGroup":"cg1","mqSet":[{"brokerName":"broker-a","queueId":0,"topic":"T1"}],"onlyThisBroker":false}"#;
        let mut request =
            RemotingCommand::request(41, Default::default(), Bytes::from_static(body));
        let body = batch_body(&request).expect("parses");
        assert_eq!(
            (body.consumer_group.as_str(), body.mq_set.len()),
            ("cg1", 1)
        );
        let encoded = serde_json::to_string(&LockBatchResponseBody {
            lock_ok_mq_set: &body.mq_set,
        })
        .expect("encodes");
        assert_eq!(
            encoded,
            r#"{"lockOKMQSet":[{"brokerName":"broker-a","queueId":0,"topic":"T1"}]}"#
        );
        request.body = Bytes::from_static(b"{\"mqSet\":[]}");
        assert!(matches!(
            batch_body(&request),
            Err(BrokerError::InvalidParameter(_))
        ));
    }
}
