//! PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361) (docs/protocol.md §2.5.1, §5.3): check the topic,
//! queue and subscription, read the queue from the shard's store, filter by tag, and answer
//! FOUND with the stored records verbatim, or PULL_NOT_FOUND / PULL_RETRY_IMMEDIATELY /
//! PULL_OFFSET_MOVED with the offset the client must use next.
//!
//! One [`PullHandler`] per shard, reading only that shard's store. A pull that finds
//! nothing new and may be suspended is parked in the shard's [`LongPoll`] and read once
//! more when a message arrives, at its deadline or at shutdown; that second read is
//! answered whatever it finds. Every answer carries all four required header fields.
//!
//! Filtering is two-step: the ConsumeQueue's tag codes decide which records are read, then
//! each record's TAGS is compared exactly, so a hash collision never delivers a foreign
//! tag. Filtered entries still advance `nextBeginOffset`.

use std::rc::Rc;
use std::time::Duration;

use crate::broker::admin::stats::Traffic;
use crate::broker::clients::heartbeat_body::{ExpressionType, SubscriptionData};
use crate::broker::clients::offsets::ConsumerOffsets;
use crate::broker::clients::registry::{ClientRegistry, Subscription};
use crate::broker::data::long_poll::LongPoll;
use crate::broker::data::records;
use crate::broker::data::topic_view::{ReadFrom, TopicView};
use crate::broker::handler::Handling;
use crate::broker::BrokerError;
use crate::limits::{PULL_BYTES_MAX, PULL_MESSAGES_MAX, PULL_SUSPEND_MS_MAX};
use crate::storage::log_buffer::LogBytes;
use crate::storage::store::Store;
use crate::storage::{QueueId, QueueOffset};
use crate::wire::body::perm;
use crate::wire::codes::response_code;
use crate::wire::headers::{pull_sys_flag, PullMessageRequestHeader, PullMessageResponseHeader};
use crate::wire::record::RecordView;
use crate::wire::RemotingCommand;

/// The heartbeat-registered subscriptions, as pulls without their own need them.
pub trait SubscriptionView {
    fn subscription(&self, group: &str, topic: &str) -> Option<Rc<Subscription>>;
}

impl SubscriptionView for ClientRegistry {
    fn subscription(&self, group: &str, topic: &str) -> Option<Rc<Subscription>> {
        ClientRegistry::subscription(self, group, topic)
    }
}

/// A checked pull: what to read and how to filter it.
struct Plan {
    header: PullMessageRequestHeader,
    queue_id: u32,
    /// `None`: every message.
    filter: Option<Filter>,
    /// Where the group reads from, for `suggestWhichBrokerId`.
    read_from: ReadFrom,
}

struct Filter {
    subscription: Rc<Subscription>,
    /// The subscription's tag codes as the ConsumeQueue stores them.
    codes: Rc<[i64]>,
}

impl Filter {
    fn new(subscription: Rc<Subscription>) -> Option<Filter> {
        if subscription.is_all() {
            return None;
        }
        let codes = subscription.codes.iter().map(|&c| i64::from(c)).collect();
        Some(Filter {
            subscription,
            codes,
        })
    }

    fn matches(&self, record: &[u8]) -> bool {
        let Ok(view) = RecordView::parse(record) else {
            return false;
        };
        view.tags()
            .is_some_and(|tag| self.subscription.tags.iter().any(|t| t == tag))
    }
}

/// What a read found, with the offsets the answer carries.
#[derive(Debug)]
struct Outcome {
    code: i32,
    next: u64,
    min: u64,
    max: u64,
    /// The records the answer carries.
    records: Vec<LogBytes>,
    /// How far behind the log's end the read was ([`crate::storage::pull::GetResult`]).
    behind: u64,
}

/// The broker id of a master (Java's `MixAll.MASTER_ID`).
const MASTER_ID: i64 = 0;

/// The pull handler of one shard.
pub struct PullHandler {
    store: Rc<Store>,
    topics: Rc<dyn TopicView>,
    subscriptions: Rc<dyn SubscriptionView>,
    offsets: Rc<ConsumerOffsets>,
    long_poll: Rc<LongPoll>,
    traffic: Rc<Traffic>,
}

impl std::fmt::Debug for PullHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullHandler")
            .field("long_poll", &self.long_poll)
            .finish_non_exhaustive()
    }
}

impl PullHandler {
    /// The handler; the caller also installs `long_poll.listener()` on the store so parked
    /// pulls hear of new messages. Every message a pull returns is counted in `traffic`.
    pub fn new(
        store: Rc<Store>,
        topics: Rc<dyn TopicView>,
        subscriptions: Rc<dyn SubscriptionView>,
        offsets: Rc<ConsumerOffsets>,
        long_poll: Rc<LongPoll>,
        traffic: Rc<Traffic>,
    ) -> Rc<PullHandler> {
        Rc::new(PullHandler {
            store,
            topics,
            subscriptions,
            offsets,
            long_poll,
            traffic,
        })
    }

    /// Handles a PULL_MESSAGE or LITE_PULL_MESSAGE. Refusals answer at once; reads answer
    /// later (the store may read the disk, and a pull may be parked).
    pub fn handle(self: &Rc<Self>, request: RemotingCommand) -> Handling {
        let plan = match self.plan(&request) {
            Ok(plan) => plan,
            Err(e) => return Handling::Now(Err(e)),
        };
        let this = Rc::clone(self);
        Handling::later(async move {
            let outcome = this.pull(&plan).await?;
            let suggest = this.suggest(&plan, outcome.behind);
            Ok(respond(&request, outcome, suggest))
        })
    }

    /// `suggestWhichBrokerId`, as Java's brokers answer it: the master, unless
    /// `slaveReadEnable` is on; then the group's `whichBrokerWhenConsumeSlowly` for a reader
    /// whose last record lies more than `accessMessageInMemoryMaxRatio` of the host's memory
    /// behind the log's end, else the group's `brokerId`. The client pulls that queue from
    /// that broker next, while the route lists it.
    fn suggest(&self, plan: &Plan, behind: u64) -> i64 {
        match self.topics.slave_read_after() {
            None => MASTER_ID,
            Some(limit) if behind > limit => plan.read_from.when_slow,
            Some(_) => plan.read_from.broker_id,
        }
    }

    /// The first read, the commit the pull carries, and the wait and second read when it
    /// found nothing and may be suspended.
    async fn pull(&self, plan: &Plan) -> Result<Outcome, BrokerError> {
        let h = &plan.header;
        // A reset an admin asked for comes first: the offset this pull would commit is the
        // one the reset replaced, so it is not committed (Java 5.x's order too).
        if let Some(reset) =
            self.offsets
                .take_pending_reset(&h.consumer_group, &h.topic, h.queue_id)
        {
            let (min, max) = self.store.queue_range(&h.topic, QueueId(plan.queue_id));
            let next = u64::try_from(reset).unwrap_or(0);
            return Ok(Outcome::moved(next, min.0, max.0));
        }
        if h.sys_flag & pull_sys_flag::COMMIT_OFFSET != 0 {
            let committed =
                self.offsets
                    .commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
            if let Err(e) = committed {
                tracing::debug!(error = %e, "pull's offset commit refused");
            }
        }
        let first = self.read(plan).await?;
        let suspend = h.sys_flag & pull_sys_flag::SUSPEND != 0 && h.suspend_timeout_millis > 0;
        if first.code != response_code::PULL_NOT_FOUND || !suspend {
            return Ok(first);
        }
        let timeout = Duration::from_millis(
            u64::try_from(h.suspend_timeout_millis)
                .unwrap_or(0)
                .min(PULL_SUSPEND_MS_MAX),
        );
        let codes = plan.filter.as_ref().map(|f| Rc::clone(&f.codes));
        let from = offset_of(h);
        let Ok(parked) = self
            .long_poll
            .park(&h.topic, plan.queue_id, from, codes, timeout)
        else {
            return Ok(first);
        };
        parked.await;
        self.read(plan).await
    }

    /// Checks the request in Java's order: broker readable, group exists and may consume,
    /// topic exists and is readable, queue in range, subscription known.
    fn plan(&self, request: &RemotingCommand) -> Result<Plan, BrokerError> {
        let header: PullMessageRequestHeader = request.decode_header()?;
        if self.topics.broker_perm() & perm::READ == 0 {
            let remark = "the broker pulling message is forbidden".to_owned();
            return Err(BrokerError::NoPermission(remark));
        }
        let read_from = self.topics.check_consumer_group(&header.consumer_group)?;
        let Some(info) = self.topics.topic(&header.topic) else {
            return Err(BrokerError::TopicNotExist(header.topic));
        };
        if !info.readable() {
            let remark = format!("the topic[{}] pulling message is forbidden", header.topic);
            return Err(BrokerError::NoPermission(remark));
        }
        let queue_id = match u32::try_from(header.queue_id) {
            Ok(q) if q < info.read_queue_nums => q,
            _ => {
                return Err(BrokerError::InvalidQueueId {
                    topic: header.topic,
                    queue_id: header.queue_id,
                    max: info.read_queue_nums,
                })
            }
        };
        let filter = self.filter(&header)?;
        Ok(Plan {
            header,
            queue_id,
            filter,
            read_from,
        })
    }

    /// The subscription to filter with: the request's own expression when it carries one,
    /// else the one the group's heartbeat registered.
    fn filter(&self, h: &PullMessageRequestHeader) -> Result<Option<Filter>, BrokerError> {
        if h.sys_flag & pull_sys_flag::CLASS_FILTER != 0 {
            return Ok(None);
        }
        let own = h.sys_flag & pull_sys_flag::SUBSCRIPTION != 0;
        let expression = h.subscription.as_deref().unwrap_or("").trim();
        let registered = || self.subscriptions.subscription(&h.consumer_group, &h.topic);
        let subscription = if own && !expression.is_empty() {
            Rc::new(Subscription::from_data(&SubscriptionData {
                expression_type: expression_type(h.expression_type.as_deref()),
                sub_string: expression.to_owned(),
                sub_version: h.sub_version,
                topic: h.topic.clone(),
                ..Default::default()
            }))
        } else if own {
            // The flag without an expression: what the heartbeat said, else everything.
            match registered() {
                Some(s) => s,
                None => return Ok(None),
            }
        } else {
            let Some(s) = registered() else {
                return Err(BrokerError::SubscriptionNotExist {
                    group: h.consumer_group.clone(),
                    topic: h.topic.clone(),
                });
            };
            if s.sub_version < h.sub_version {
                return Err(BrokerError::SubscriptionNotLatest {
                    group: h.consumer_group.clone(),
                    topic: h.topic.clone(),
                });
            }
            s
        };
        if subscription.expression_type != ExpressionType::Tag {
            return Err(BrokerError::FilterNotSupported {
                expression_type: subscription.expression_type.name().to_owned(),
            });
        }
        Ok(Filter::new(subscription))
    }

    /// One read of the queue, classified as Java's store classifies it; on a broker that
    /// does not correct offsets (a slave), one out of the queue's range is to be tried
    /// again from the same offset.
    async fn read(&self, plan: &Plan) -> Result<Outcome, BrokerError> {
        let mut outcome = self.read_queue(plan).await?;
        if outcome.code == response_code::PULL_OFFSET_MOVED && !self.topics.corrects_offsets() {
            outcome.code = response_code::PULL_RETRY_IMMEDIATELY;
            outcome.next = offset_of(&plan.header);
        }
        Ok(outcome)
    }

    async fn read_queue(&self, plan: &Plan) -> Result<Outcome, BrokerError> {
        let h = &plan.header;
        let from = offset_of(h);
        let count = usize::try_from(h.max_msg_nums)
            .unwrap_or(0)
            .clamp(1, PULL_MESSAGES_MAX);
        let codes = plan.filter.as_ref().map(|f| &*f.codes);
        let got = self
            .store
            .get_messages(
                &h.topic,
                QueueId(plan.queue_id),
                QueueOffset(from),
                count,
                PULL_BYTES_MAX,
                codes,
            )
            .await?;
        let (min, max) = (got.min.0, got.max.0);
        // A negative requested offset reads as 0 in `from`; it is still not a valid offset.
        let below = h.queue_offset < 0 || from < min;
        if max == 0 {
            let code = if h.queue_offset != 0 {
                response_code::PULL_OFFSET_MOVED
            } else {
                response_code::PULL_NOT_FOUND
            };
            return Ok(Outcome::empty(code, 0, min, max));
        }
        if below {
            return Ok(Outcome::moved(min, min, max));
        }
        if from == max {
            return Ok(Outcome::empty(
                response_code::PULL_NOT_FOUND,
                from,
                min,
                max,
            ));
        }
        if from > max {
            return Ok(Outcome::moved(max, min, max));
        }
        let next = got.next.0;
        let mut records = got.records;
        if let Some(filter) = &plan.filter {
            records.retain(|r| filter.matches(r));
        }
        let count = records.len() as u64;
        // Every read whose answer carries records is the one sent (a second read happens
        // only after the first found nothing).
        self.traffic.add_pulled(count);
        let header = &plan.header;
        let bytes = records.iter().map(|r| r.len() as u64).sum();
        (self.traffic.meters).messages_out(&header.topic, &header.consumer_group, count, bytes);
        let code = if count > 0 {
            response_code::SUCCESS
        } else if next > from {
            // Everything scanned was filtered out (or already deleted): pull again from
            // past it.
            response_code::PULL_RETRY_IMMEDIATELY
        } else {
            response_code::PULL_NOT_FOUND
        };
        Ok(Outcome {
            code,
            next,
            min,
            max,
            records,
            behind: got.behind,
        })
    }
}

impl Outcome {
    fn empty(code: i32, next: u64, min: u64, max: u64) -> Outcome {
        Outcome {
            code,
            next,
            min,
            max,
            records: Vec::new(),
            behind: 0,
        }
    }

    fn moved(next: u64, min: u64, max: u64) -> Outcome {
        Outcome::empty(response_code::PULL_OFFSET_MOVED, next, min, max)
    }
}

fn offset_of(h: &PullMessageRequestHeader) -> u64 {
    u64::try_from(h.queue_offset).unwrap_or(0)
}

fn expression_type(name: Option<&str>) -> ExpressionType {
    match name.map(str::trim) {
        None | Some("") => ExpressionType::Tag,
        Some(t) if t.eq_ignore_ascii_case("TAG") => ExpressionType::Tag,
        Some(t) if t.eq_ignore_ascii_case("SQL92") => ExpressionType::Sql92,
        Some(t) => ExpressionType::Other(t.to_owned()),
    }
}

fn respond(request: &RemotingCommand, outcome: Outcome, suggest: i64) -> RemotingCommand {
    let mut response = RemotingCommand::response_to(request, outcome.code, None);
    // Offsets stay far below i64::MAX: they count messages. Written straight into the
    // frame, as a send's answer is (a tail reader's pulls answer one message each).
    response.set_typed_header(PullMessageResponseHeader {
        suggest_which_broker_id: suggest,
        next_begin_offset: outcome.next as i64,
        min_offset: outcome.min as i64,
        max_offset: outcome.max as i64,
        ..Default::default()
    });
    response.shared_body = records::body(outcome.records);
    response
}
