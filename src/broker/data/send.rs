//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320) (docs/protocol.md
//! §2.4, §5.1–§5.2): validate the send, find or auto-create its topic, pick the queue, turn
//! each message into a CommitLog record and append it to the shard's store.
//!
//! One [`SendHandler`] per shard, writing only to that shard's store. Records are encoded
//! into one reusable buffer and copied into the log by `Store::put`, so a send allocates
//! only its response. Puts of one send never await in between, so a batch's messages get
//! consecutive queue offsets in one queue.
//!
//! A message with a DELAY level (or a 5.x timer property) is stored in the schedule topic (or
//! the timer topic) instead and delivered later by the shard's delay service (or timer
//! service), [`crate::broker::scheduled::delay`].
//!
//! Answers: under ASYNC_FLUSH at once; under SYNC_FLUSH (and `WAIT` not `false`) after the
//! record is durable, or FLUSH_DISK_TIMEOUT once the sync flush timeout passes. Oneway
//! sends are stored without waiting for the disk (their answer is never sent). Pulls see a message
//! once the store's reput files it (the put wakes the shard's maintenance task, and reput wakes
//! parked pulls).

use std::borrow::Cow;
use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use crate::broker::admin::meters::MessageType;
use crate::broker::admin::stats::Traffic;
use crate::broker::data::long_poll::{glommio_sleep, Sleep};
use crate::broker::data::send_rules::{check_topic, dead_letter_topic};
use crate::broker::data::topic_view::{TopicInfo, TopicView};
use crate::broker::handler::Handling;
use crate::broker::scheduled::delay::{self, DelayLevels, Parked, TimerRules};
use crate::broker::transaction::{half, Transactions};
use crate::broker::BrokerError;
use crate::limits::{MESSAGE_BODY_SIZE_MAX, PROPERTIES_SIZE_MAX};
use crate::storage::commit_log::Durable;
use crate::storage::config::FlushPolicy;
use crate::storage::store::{PutResult, Store};
use crate::wire::body::perm;
use crate::wire::codes::{request_code, response_code};
use crate::wire::headers::{SendMessageRequestHeader, SendMessageResponseHeader};
use crate::wire::message_id::{write_offset_message_id, MESSAGE_ID_LEN_V6};
use crate::wire::properties::{self, keys};
use crate::wire::record::{
    PhysicalOffset, QueueOffset, RecordFields, RecordVersion, SysFlag, TransactionType,
};
use crate::wire::topics::RETRY_TOPIC_PREFIX;
use crate::wire::{batch, RemotingCommand, WireError};

/// Longest a send waits for room in a full log buffer before SYSTEM_BUSY (Java's
/// `osPageCacheBusyTimeOutMills`).
pub const BUSY_WAIT_MAX: Duration = Duration::from_secs(1);

/// Per-shard send settings.
#[derive(Debug, Clone)]
pub struct SendConfig {
    /// The shard's advertised address (`brokerIP1`:port): STOREHOST of its records and the
    /// address inside offset message ids, so it must be what clients reach.
    pub store_host: SocketAddr,
    /// The settings that may change while the broker runs ([`SendHandler::set_limits`]).
    pub limits: SendLimits,
    /// `brokerRole=SYNC_MASTER`: a send is answered once a slave has stored it.
    pub sync_replicas: bool,
    /// `messageDelayLevel`: where messages with a DELAY level are parked.
    pub delay_levels: DelayLevels,
    /// `timerMaxDelaySec` and `timerPrecisionMs`: how 5.x timer messages are parked.
    pub timer_rules: TimerRules,
}

/// The send settings UPDATE_BROKER_CONFIG may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendLimits {
    /// `maxMessageSize`: largest body (for a batch, the whole request body).
    pub body_size_max: usize,
    /// `syncFlushTimeout`: how long a SYNC_FLUSH send waits before FLUSH_DISK_TIMEOUT, and a
    /// SYNC_MASTER send for its slave before FLUSH_SLAVE_TIMEOUT.
    pub sync_flush_timeout: Duration,
    /// `rejectTransactionMessage`: half messages are refused with NO_PERMISSION.
    pub reject_transactions: bool,
}

impl Default for SendLimits {
    /// Java's defaults.
    fn default() -> Self {
        SendLimits {
            body_size_max: MESSAGE_BODY_SIZE_MAX,
            sync_flush_timeout: Duration::from_secs(5),
            reject_transactions: false,
        }
    }
}

impl SendConfig {
    /// Java's defaults for a shard advertised at `store_host`.
    pub fn new(store_host: SocketAddr) -> Self {
        SendConfig {
            store_host,
            limits: SendLimits::default(),
            sync_replicas: false,
            delay_levels: DelayLevels::default(),
            timer_rules: TimerRules::default(),
        }
    }
}

/// A stored send, waiting to be answered.
struct Sent {
    header: SendMessageResponseHeader,
    durable: Durable,
    /// The producer asked to wait for the flush (`WAIT` property, default true).
    wait: bool,
}

/// The send handler of one shard.
pub struct SendHandler {
    store: Rc<Store>,
    topics: Rc<dyn TopicView>,
    traffic: Rc<Traffic>,
    config: SendConfig,
    /// `config.limits` as they stand now.
    limits: Cell<SendLimits>,
    sleep: Sleep,
    /// Round-robin start for sends that leave the queue to the broker.
    next_queue: Cell<u32>,
    /// Where half messages go once stored; without it they are refused.
    transactions: Option<Rc<Transactions>>,
}

impl std::fmt::Debug for SendHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendHandler")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SendHandler {
    /// The handler; every record it stores is counted in `traffic`.
    pub fn new(
        store: Rc<Store>,
        topics: Rc<dyn TopicView>,
        traffic: Rc<Traffic>,
        config: SendConfig,
    ) -> Self {
        Self::with_sleep(store, topics, traffic, config, glommio_sleep())
    }

    /// [`SendHandler::new`] with the timer the flush timeout uses.
    pub fn with_sleep(
        store: Rc<Store>,
        topics: Rc<dyn TopicView>,
        traffic: Rc<Traffic>,
        config: SendConfig,
        sleep: Sleep,
    ) -> Self {
        SendHandler {
            store,
            topics,
            traffic,
            limits: Cell::new(config.limits),
            config,
            sleep,
            next_queue: Cell::new(0),
            transactions: None,
        }
    }

    /// Sends from now on follow `limits` (UPDATE_BROKER_CONFIG).
    pub fn set_limits(&self, limits: SendLimits) {
        self.limits.set(limits);
    }

    /// The handler, storing half messages for `transactions`.
    pub fn with_transactions(mut self, transactions: Rc<Transactions>) -> Self {
        self.transactions = Some(transactions);
        self
    }

    /// Handles a SEND_MESSAGE, SEND_MESSAGE_V2 or SEND_BATCH_MESSAGE from `born_host` (the
    /// producer's address as this connection sees it).
    ///
    /// When the log buffer is full (the disk is behind), the send waits for room for up to
    /// [`BUSY_WAIT_MAX`] before it is refused with SYSTEM_BUSY, as Java's broker holds a put
    /// while its page cache is busy: a burst slows producers down instead of failing them.
    pub fn handle(self: &Rc<Self>, born_host: SocketAddr, request: &RemotingCommand) -> Handling {
        match self.send(born_host, request) {
            Err(BrokerError::StoreBusy) => self.send_when_room(born_host, request),
            Ok(sent) => self.reply(request, sent),
            Err(e) => Handling::Now(Err(e)),
        }
    }

    fn send_when_room(
        self: &Rc<Self>,
        born_host: SocketAddr,
        request: &RemotingCommand,
    ) -> Handling {
        let (this, request) = (Rc::clone(self), request.clone());
        // Room for the body and the largest properties is room for the record.
        let size = (request.body.len() + PROPERTIES_SIZE_MAX) as u64;
        let timeout = (self.sleep)(BUSY_WAIT_MAX);
        Handling::later(async move {
            let room = async { this.store.writable(size).await.is_ok() };
            let expired = async {
                timeout.await;
                false
            };
            if !futures_lite::future::or(room, expired).await {
                return Err(BrokerError::StoreBusy);
            }
            let sent = this.send(born_host, &request)?;
            this.reply(&request, sent).result().await
        })
    }

    /// Answers a stored send: at once, or (when the producer waits for it) once the record
    /// is synced under SYNC_FLUSH and stored by a slave under SYNC_MASTER, each within
    /// `syncFlushTimeout`, as Java's `handleDiskFlush` and `handleHA` answer.
    fn reply(self: &Rc<Self>, request: &RemotingCommand, sent: Sent) -> Handling {
        let mut response = RemotingCommand::success(request);
        response.set_typed_header(sent.header);
        let waits = sent.wait && !request.is_oneway();
        let flush = waits && self.store.config().log.flush == FlushPolicy::Sync;
        // No await since the put: the log's end is this send's last record's end.
        let replicated = (waits && self.config.sync_replicas).then(|| self.store.log().end().0);
        if !flush && replicated.is_none() {
            drop(sent.durable);
            return Handling::Now(Ok(response));
        }
        let this = Rc::clone(self);
        Handling::later(async move {
            if flush {
                let timeout = (this.sleep)(this.limits.get().sync_flush_timeout);
                match within(timeout, sent.durable).await {
                    Some(Ok(())) => {}
                    // Stored, not yet durable: the client reports FLUSH_DISK_TIMEOUT.
                    None => response.code = response_code::FLUSH_DISK_TIMEOUT,
                    Some(Err(e)) => return Err(e.into()),
                }
            }
            if let Some(end) = replicated {
                let replicas = this.store.replicas();
                if !replicas.in_sync(end) {
                    // Stored here only: Java's SLAVE_NOT_AVAILABLE.
                    response.code = response_code::SLAVE_NOT_AVAILABLE;
                } else {
                    let timeout = (this.sleep)(this.limits.get().sync_flush_timeout);
                    if within(timeout, replicas.stored(end)).await.is_none() {
                        response.code = response_code::FLUSH_SLAVE_TIMEOUT;
                    }
                }
            }
            Ok(response)
        })
    }

    fn send(&self, born_host: SocketAddr, request: &RemotingCommand) -> Result<Sent, BrokerError> {
        let mut header = SendMessageRequestHeader::decode_for(request.code, &request.ext_fields)?;
        let batch = request.code == request_code::SEND_BATCH_MESSAGE || header.batch == Some(true);
        check_topic(&header.topic, batch)?;
        // The keys a send looks at, read in one pass before a dead-letter redirect rewrites
        // the properties (it keeps these).
        let [wait, tran_msg, uniq_key, sharding_key] = properties::get_each(
            header.properties.as_deref().unwrap_or(""),
            [
                keys::WAIT,
                keys::TRAN_MSG,
                keys::UNIQ_KEY,
                keys::SHARDING_KEY,
            ],
        );
        // Java's `message_type` of a message neither delayed nor a half message.
        let kind = match sharding_key {
            Some(_) => MessageType::Fifo,
            None => MessageType::Normal,
        };
        let wait = wait != Some("false");
        let tran_msg = tran_msg.is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let uniq_key = uniq_key.map(str::to_owned);
        let props = header.properties.as_deref().unwrap_or("");
        let is_half = half::is_half(tran_msg, header.reconsume_times.unwrap_or(0), props);
        let half = self.check_transaction_kind(&header, is_half, batch, props)?;
        let info = match dead_letter_topic(&header) {
            Some(dlq) => self.redirect_to_dlq(&mut header, dlq)?,
            None => self.topic_for_send(&header)?,
        };
        let queue_id = self.pick_queue(&header, &info)?;
        let properties = header.properties.as_deref().unwrap_or("");
        self.check_sizes(properties, &request.body)?;
        let msg = Message {
            header: &header,
            queue_id,
            born_host,
            properties,
            kind,
        };
        let (header, durable) = if batch {
            if delay::delay_level(properties).is_some() || delay::asks_timer(properties) {
                // Java's store refuses delayed batches; clients never send one.
                let why = "batch messages cannot be delayed".to_owned();
                return Err(BrokerError::MessageIllegal(why));
            }
            self.put_batch(&msg, &request.body)?
        } else if let Some(transactions) = half {
            let (mut header, durable) = self.put_half(&msg, &request.body, transactions)?;
            header.transaction_id = uniq_key;
            (header, durable)
        } else {
            let sysflag = SysFlag(header.sys_flag as u32);
            let (levels, timers) = (&self.config.delay_levels, &self.config.timer_rules);
            let now = || self.store.now_ms();
            let topic = &header.topic;
            let parked = delay::park(levels, timers, topic, queue_id, sysflag, properties, now)?;
            let (mut header, durable) = self.put_one(&msg, &request.body, parked.as_ref())?;
            header.transaction_id = uniq_key;
            (header, durable)
        };
        Ok(Sent {
            header,
            durable,
            wait,
        })
    }

    /// Checks a send's transaction kind, as Java's broker and store do: a half message
    /// (`half`, [`half::is_half`]) is refused under `rejectTransactionMessage` (NO_PERMISSION)
    /// or when no transaction service takes it; a half batch, a delayed half message, and a
    /// PREPARED or ROLLBACK sysflag on a send that is no half message are MESSAGE_ILLEGAL (Java
    /// would store such a record where no queue files it). Gives the transaction service
    /// that takes a half message; `None` for any other send.
    fn check_transaction_kind(
        &self,
        h: &SendMessageRequestHeader,
        half: bool,
        batch: bool,
        props: &str,
    ) -> Result<Option<&Transactions>, BrokerError> {
        let kind = SysFlag(h.sys_flag as u32).transaction();
        let unfiled = matches!(kind, TransactionType::Prepared | TransactionType::Rollback);
        if !half {
            if unfiled {
                let why = "a PREPARED or ROLLBACK message must be a half message (TRAN_MSG=true)";
                return Err(BrokerError::MessageIllegal(why.to_owned()));
            }
            return Ok(None);
        }
        let service = self.transactions.as_deref();
        let Some(service) = service.filter(|_| !self.limits.get().reject_transactions) else {
            let remark = format!(
                "the broker[{}] sending transaction message is forbidden",
                self.config.store_host
            );
            return Err(BrokerError::NoPermission(remark));
        };
        let why = if batch {
            "transactional messages cannot be sent in a batch"
        } else if kind == TransactionType::Rollback {
            "a half message cannot be a ROLLBACK"
        } else if delay::delay_level(props).is_some() || delay::asks_timer(props) {
            "transactional messages cannot be delayed"
        } else {
            return Ok(Some(service));
        };
        Err(BrokerError::MessageIllegal(why.to_owned()))
    }

    /// The topic's config, auto-creating it from the send's template topic when unknown.
    fn topic_for_send(&self, h: &SendMessageRequestHeader) -> Result<TopicInfo, BrokerError> {
        if self.topics.broker_perm() & perm::WRITE == 0 {
            let remark = format!(
                "the broker[{}] sending message is forbidden",
                self.config.store_host
            );
            return Err(BrokerError::NoPermission(remark));
        }
        let info = match self.topics.topic(&h.topic) {
            Some(info) => info,
            None => self.auto_create(h)?,
        };
        if !info.writable() {
            let remark = format!("the topic[{}] sending message is forbidden", h.topic);
            return Err(BrokerError::NoPermission(remark));
        }
        Ok(info)
    }

    /// Points the send at the group's dead-letter topic (one read-write queue, created on
    /// first use) and drops its delay level: a dead letter is stored, never rescheduled.
    fn redirect_to_dlq(
        &self,
        h: &mut SendMessageRequestHeader,
        dlq: String,
    ) -> Result<TopicInfo, BrokerError> {
        let info = self.topics.topic(&dlq).or_else(|| {
            let info = TopicInfo {
                read_queue_nums: 1,
                write_queue_nums: 1,
                perm: perm::READ | perm::WRITE,
                partial: false,
            };
            self.topics.create_topic(&dlq, info)
        });
        h.topic = dlq.into();
        h.queue_id = 0;
        if let Some(props) = h.properties.as_deref() {
            if properties::get(props, keys::DELAY).is_some() {
                let mut kept = properties::Builder::new();
                kept.extend_from(props, |k| k != keys::DELAY)
                    .map_err(illegal)?;
                h.properties = Some(kept.finish().into());
            }
        }
        let info = info.ok_or_else(|| BrokerError::TopicNotExist(h.topic.to_string()))?;
        if !info.writable() {
            let remark = format!("the topic[{}] sending message is forbidden", h.topic);
            return Err(BrokerError::NoPermission(remark));
        }
        Ok(info)
    }

    /// Java's auto-creation (docs/protocol.md §2.4.1 step 3): from a template with the INHERIT
    /// bit, `min(requested, template write queues)` queues, the template's perm without
    /// INHERIT; a retry topic falls back to one read-write queue.
    fn auto_create(&self, h: &SendMessageRequestHeader) -> Result<TopicInfo, BrokerError> {
        let template = self.topics.topic(&h.default_topic);
        let created = match template {
            Some(t) if t.perm & perm::INHERIT != 0 => {
                let wanted = u32::try_from(h.default_topic_queue_nums)
                    .unwrap_or(0)
                    .max(1);
                let queues = wanted.min(t.write_queue_nums);
                let info = TopicInfo {
                    read_queue_nums: queues,
                    write_queue_nums: queues,
                    perm: t.perm & !perm::INHERIT,
                    partial: false,
                };
                self.topics.create_topic(&h.topic, info)
            }
            _ => None,
        };
        let created = created.or_else(|| {
            h.topic.starts_with(RETRY_TOPIC_PREFIX).then(|| {
                let info = TopicInfo {
                    read_queue_nums: 1,
                    write_queue_nums: 1,
                    perm: perm::READ | perm::WRITE,
                    partial: false,
                };
                self.topics.create_topic(&h.topic, info)
            })?
        });
        created.ok_or_else(|| BrokerError::TopicNotExist(h.topic.to_string()))
    }

    /// The queue to write: the requested one, or round-robin over the writable queues when
    /// the producer left the choice to the broker (negative queue id). A queue id past the
    /// shard's share of a topic spread over several shards names a queue of another route:
    /// the auto-creation template's, which offers each shard the template's queue count
    /// until the producer reads the topic's own route, or another shard's, for a send
    /// forwarded from it (docs/topology.md). It is taken modulo the shard's write queues,
    /// so the message is stored rather than refused.
    fn pick_queue(
        &self,
        h: &SendMessageRequestHeader,
        info: &TopicInfo,
    ) -> Result<u32, BrokerError> {
        let invalid = || BrokerError::InvalidQueueId {
            topic: h.topic.to_string(),
            queue_id: h.queue_id,
            max: info.queue_nums_max(),
        };
        match u32::try_from(h.queue_id) {
            Ok(q) if q < info.queue_nums_max() => Ok(q),
            _ if info.write_queue_nums == 0 => Err(invalid()),
            Ok(q) if info.partial => Ok(q % info.write_queue_nums),
            Ok(_) => Err(invalid()),
            Err(_) => {
                let n = self.next_queue.get();
                self.next_queue.set(n.wrapping_add(1));
                Ok(n % info.write_queue_nums)
            }
        }
    }

    fn check_sizes(&self, properties: &str, body: &[u8]) -> Result<(), BrokerError> {
        let body_size_max = self.limits.get().body_size_max;
        if body.len() > body_size_max {
            let why = format!(
                "message body size {} exceeds the maximum of {} bytes",
                body.len(),
                body_size_max
            );
            return Err(BrokerError::MessageIllegal(why));
        }
        if properties.len() > PROPERTIES_SIZE_MAX {
            let why = format!(
                "message properties length {} exceeds the maximum of {PROPERTIES_SIZE_MAX} bytes",
                properties.len()
            );
            return Err(BrokerError::MessageIllegal(why));
        }
        Ok(())
    }

    /// Stores one message, in the schedule topic when it is `parked`; the answer names the
    /// queue the message will be delivered to, with its schedule queue offset.
    fn put_one(
        &self,
        msg: &Message<'_>,
        body: &[u8],
        parked: Option<&Parked>,
    ) -> Result<(SendMessageResponseHeader, Durable), BrokerError> {
        let mut fields = msg.fields(&self.config, msg.header.flag, body, msg.properties);
        if let Some(parked) = parked {
            parked.apply(&mut fields);
        }
        let kind = match parked {
            Some(_) => MessageType::Delay,
            None => msg.kind,
        };
        let put = self.put_record(&fields, kind)?;
        Ok(self.answer(msg, put))
    }

    /// The answer to a send of one message stored at `put`: its offset message id, the queue
    /// it names with the queue offset it got.
    fn answer(&self, msg: &Message<'_>, put: PutResult) -> (SendMessageResponseHeader, Durable) {
        let mut id = String::with_capacity(MESSAGE_ID_LEN_V6);
        write_offset_message_id(&mut id, self.config.store_host, put.offset);
        (msg.response(id, put.queue_offset), put.durable)
    }

    /// Stores a half message in the half queue (docs/protocol.md §5.8) and hands it to the
    /// transaction service; the answer names the real queue with the half queue offset, and
    /// the message id is the half record's, as Java answers.
    fn put_half(
        &self,
        msg: &Message<'_>,
        body: &[u8],
        transactions: &Transactions,
    ) -> Result<(SendMessageResponseHeader, Durable), BrokerError> {
        let props = half::half_properties(msg.properties, &msg.header.topic, msg.queue_id)
            .map_err(illegal)?;
        let mut fields = msg.fields(&self.config, msg.header.flag, body, msg.properties);
        half::as_half(&mut fields, &props);
        let put = self.put_record(&fields, MessageType::Transaction)?;
        transactions.half_stored(&put, &props);
        Ok(self.answer(msg, put))
    }

    /// Stores every entry of a batch as its own record, back to back in one append, so a
    /// malformed entry or a full log buffer stores nothing: a batch refused half-way would be
    /// retried whole and duplicate the half that was stored.
    fn put_batch(
        &self,
        msg: &Message<'_>,
        body: &[u8],
    ) -> Result<(SendMessageResponseHeader, Durable), BrokerError> {
        let entries = batch::decode(body).map_err(illegal)?;
        let props = (entries.iter())
            .map(|entry| entry_properties(entry.properties, msg.properties))
            .collect::<Result<Vec<_>, _>>()?;
        let records = (entries.iter().zip(&props))
            .map(|(entry, props)| {
                let fields = msg.fields(&self.config, entry.flag, entry.body, props);
                Ok((fields, fields.encoded_len().map_err(illegal)?))
            })
            .collect::<Result<Vec<_>, BrokerError>>()?;
        let put = self.store.put_fields(&records)?;
        let mut ids = String::with_capacity(records.len() * (MESSAGE_ID_LEN_V6 + 1));
        let mut offset = put.offset.0;
        for (fields, size) in &records {
            if !ids.is_empty() {
                ids.push(',');
            }
            write_offset_message_id(&mut ids, self.config.store_host, PhysicalOffset(offset));
            offset += *size as u64;
            self.traffic
                .meters
                .message_in(fields.topic, msg.kind, *size);
        }
        self.traffic.add_stored(records.len() as u64);
        Ok((msg.response(ids, put.queue_offset), put.durable))
    }

    /// Encodes `fields` straight into the log; counted as a message of `kind` sent.
    fn put_record(
        &self,
        fields: &RecordFields<'_>,
        kind: MessageType,
    ) -> Result<PutResult, BrokerError> {
        let len = fields.encoded_len().map_err(illegal)?;
        // Encoded where it is stored: the fields' size just checked out, so the write fits.
        let put = self.store.put_fields(&[(*fields, len)])?;
        self.traffic.add_stored(1);
        self.traffic.meters.message_in(fields.topic, kind, len);
        Ok(put)
    }
}

/// What every record of one send shares.
struct Message<'a> {
    header: &'a SendMessageRequestHeader<'a>,
    queue_id: u32,
    born_host: SocketAddr,
    properties: &'a str,
    /// Normal or FIFO (the metrics' `message_type`; delayed and half messages are known by
    /// where they are stored).
    kind: MessageType,
}

impl<'a> Message<'a> {
    fn fields<'b>(
        &'b self,
        config: &SendConfig,
        flag: i32,
        body: &'b [u8],
        properties: &'b str,
    ) -> RecordFields<'b> {
        let h = self.header;
        // Inner-batch bits describe a store layout this broker does not write.
        let sysflag =
            SysFlag(h.sys_flag as u32).without(SysFlag::NEED_UNWRAP | SysFlag::INNER_BATCH);
        RecordFields {
            version: RecordVersion::for_topic(&h.topic),
            queue_id: self.queue_id,
            flag,
            queue_offset: QueueOffset(0),
            physical_offset: PhysicalOffset(0),
            sysflag,
            born_timestamp_ms: h.born_timestamp,
            born_host: self.born_host,
            store_timestamp_ms: 0,
            store_host: config.store_host,
            reconsume_times: h.reconsume_times.unwrap_or(0),
            prepared_transaction_offset: PhysicalOffset(0),
            body,
            topic: &h.topic,
            properties,
        }
    }

    fn response(&self, msg_id: String, queue_offset: QueueOffset) -> SendMessageResponseHeader {
        // Queue ids are below the topic's queue count and offsets below i64::MAX.
        SendMessageResponseHeader::new(msg_id, self.queue_id as i32, queue_offset.0 as i64)
    }
}

/// A batch entry's properties: its own, plus the wrapper's keys it lacks (never the
/// wrapper's UNIQ_KEY over its own). Borrowed when there is nothing to merge.
fn entry_properties<'a>(own: &'a str, wrapper: &str) -> Result<Cow<'a, str>, BrokerError> {
    let missing = properties::iter(wrapper).any(|(k, _)| properties::get(own, k).is_none());
    if !missing {
        return Ok(Cow::Borrowed(own));
    }
    Ok(Cow::Owned(
        properties::merge_missing(own, wrapper).map_err(illegal)?,
    ))
}

fn illegal(e: WireError) -> BrokerError {
    BrokerError::MessageIllegal(e.to_string())
}

/// `work`'s output, or `None` when `timeout` resolves first.
async fn within<T>(
    timeout: impl std::future::Future<Output = ()>,
    work: impl std::future::Future<Output = T>,
) -> Option<T> {
    let done = async { Some(work.await) };
    let expired = async {
        timeout.await;
        None
    };
    futures_lite::future::or(done, expired).await
}
