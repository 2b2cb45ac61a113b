//! Every bound shardmq enforces, in one place, with the relations between them checked at
//! compile time. A value that arrives over the network is checked against one of these before
//! it sizes an allocation.

/// Largest frame including its 4-byte length prefix, as Java's `NettyDecoder` allows.
pub const FRAME_SIZE_MAX: usize = 16 * 1024 * 1024;

/// Largest value of the length prefix itself (the bytes after it).
pub const FRAME_LENGTH_FIELD_MAX: usize = FRAME_SIZE_MAX - 4;

/// Largest header (JSON or ROCKETMQ binary). Real headers are a few hundred bytes; a send
/// header carries the message's properties string, so allow that plus room.
pub const HEADER_SIZE_MAX: usize = 64 * 1024 + PROPERTIES_SIZE_MAX;

/// Largest properties string of a message (Java: `Short.MAX_VALUE` bytes).
pub const PROPERTIES_SIZE_MAX: usize = i16::MAX as usize;

/// Largest message body the broker stores (`maxMessageSize` default, 4 MiB).
pub const MESSAGE_BODY_SIZE_MAX: usize = 4 * 1024 * 1024;

/// Largest number of ext fields in one header.
pub const EXT_FIELDS_MAX: usize = 256;

/// Characters of a malformed header value quoted in an error: the error becomes a log line
/// and a response remark, which a peer must not be able to make huge.
pub const HEADER_ERROR_VALUE_CHARS_MAX: usize = 64;

/// Largest topic name (Java `TopicValidator`: 127 characters).
pub const TOPIC_NAME_MAX: usize = 127;

/// Bytes of responses queued for one connection before the connection stops reading
/// requests (backpressure on a slow reader).
pub const CONNECTION_WRITE_QUEUE_BYTES_MAX: usize = 32 * 1024 * 1024;

/// Requests one connection may have in flight (dispatched but not yet answered) before the
/// connection stops reading, while nothing waits in its write queue. Parked long polls count:
/// a consumer holds one per queue it reads.
pub const CONNECTION_IN_FLIGHT_MAX: usize = 4096;

/// Requests one connection may have in flight while responses wait in its write queue (its
/// peer is behind). Each answer lands on top of what waits, so this bounds what a peer that
/// stopped reading piles up past the queue's byte limit: 16 pull answers of
/// [`PULL_BYTES_MAX`] are 4 MiB, an eighth of the limit. A peer that reads empties its queue
/// between answers and is held to [`CONNECTION_IN_FLIGHT_MAX`] instead; while its last
/// answers are written, 16 still keep a pipelining producer's next requests at the store.
pub const CONNECTION_IN_FLIGHT_BEHIND_MAX: usize = 16;

/// Requests whose answers may be large (pulls, message lookups) one connection takes freely
/// while none of their answers waits. With this many unanswered, the next one is taken once
/// one of them is answered or after [`CONNECTION_LARGE_ANSWER_PAUSE`]: a peer that floods
/// pulls and reads nothing is behind before more than about this many answers (4 MiB of
/// pulls) are owed, while a consumer's long polls, parked one per queue, still all get in.
pub const CONNECTION_LARGE_ANSWERS_IN_FLIGHT: usize = 16;

/// See [`CONNECTION_LARGE_ANSWERS_IN_FLIGHT`]: the longest a consumer holding that many
/// parked pulls waits to have another taken, and about how often a peer flooding pulls gets
/// one more taken until its first answers are queued (a disk read takes well under this).
pub const CONNECTION_LARGE_ANSWER_PAUSE: std::time::Duration = std::time::Duration::from_millis(1);

/// Largest read of a connection. Reads start small and double while they come back full, so
/// an idle connection holds a few KiB of read buffer and a busy one reads this much at once.
pub const CONNECTION_READ_BYTES_MAX: usize = 64 * 1024;

/// Bytes queued for the peers of all of one shard's connections before those with bytes
/// queued stop being read; connections with nothing queued are still served, so slow readers
/// wait and the others do not. Twice one connection's limit: a couple of slow readers fit
/// before any is paused for the others' sake. Requests taken before the pause still answer,
/// at most [`CONNECTION_IN_FLIGHT_BEHIND_MAX`] per paused connection. The default of
/// `maxQueuedResponseBytesPerShard`.
pub const SHARD_WRITE_QUEUE_BYTES_MAX: usize = 2 * CONNECTION_WRITE_QUEUE_BYTES_MAX;

const _: () = assert!(HEADER_SIZE_MAX < FRAME_LENGTH_FIELD_MAX);
const _: () = assert!(MESSAGE_BODY_SIZE_MAX + HEADER_SIZE_MAX < FRAME_LENGTH_FIELD_MAX);
const _: () = assert!(CONNECTION_WRITE_QUEUE_BYTES_MAX >= FRAME_SIZE_MAX);
const _: () = assert!(CONNECTION_IN_FLIGHT_BEHIND_MAX <= CONNECTION_IN_FLIGHT_MAX);

/// Largest topic in a stored record, in UTF-8 bytes. Retry and DLQ topics may reach 255
/// characters (docs/protocol.md §2.4.1) and valid topic characters are ASCII, so 255 bytes holds
/// every topic the broker accepts; the v2 record format alone would allow 32767.
pub const RECORD_TOPIC_SIZE_MAX: usize = 255;

/// Largest CommitLog record: the fixed fields with two IPv6 hosts and a v2 topic length
/// (116 bytes), then the largest body, topic and properties. Recovery treats a larger
/// TOTALSIZE as corruption.
pub const RECORD_SIZE_MAX: usize =
    116 + MESSAGE_BODY_SIZE_MAX + RECORD_TOPIC_SIZE_MAX + PROPERTIES_SIZE_MAX;

/// Most queues one GET_TOPIC_STATS_INFO or GET_CONSUME_STATS answer lists. An entry takes
/// at most about 1 KiB (a 255-byte topic, the broker name, the keys and five numbers), so
/// the body stays well inside a frame; Java sets no bound, and mqadmin asks one topic at a
/// time (a topic has at most `TOPIC_QUEUES_MAX` queues per broker).
pub const STATS_QUEUES_MAX: usize = 8 * 1024;

const _: () = assert!(STATS_QUEUES_MAX * 1024 < FRAME_LENGTH_FIELD_MAX);

/// Most messages in one SEND_BATCH_MESSAGE body. Java sets no count, only the 4 MiB body
/// bound (about 190 000 empty entries); this caps the per-batch work of the store and the
/// comma-joined id list of the response (33 bytes per message).
pub const BATCH_MESSAGES_MAX: usize = 65_536;

const _: () = assert!(RECORD_TOPIC_SIZE_MAX >= TOPIC_NAME_MAX);
const _: () = assert!(RECORD_TOPIC_SIZE_MAX <= i16::MAX as usize);
const _: () = assert!(RECORD_SIZE_MAX <= i32::MAX as usize);

/// Pending connections the kernel queues per listening socket.
pub const LISTEN_BACKLOG: i32 = 1024;

/// Connections one shard serves at once on its broker ports (main and fast together), and on
/// the NameServer's port; more are closed on accept. The default of `maxConnectionsPerShard`.
pub const SHARD_CONNECTIONS_MAX: usize = 16 * 1024;

/// Broker addresses one NameServer tracks; a registration of a new address beyond it is
/// refused, so a misbehaving peer cannot grow the route table without bound.
pub const NAMESRV_BROKER_ADDRS_MAX: usize = 4096;

/// Topics one NameServer routes; registrations that would add topics beyond it are refused.
pub const NAMESRV_TOPICS_MAX: usize = 1 << 20;

/// Entries in the NameServer's KV config, over all namespaces.
pub const NAMESRV_KV_ENTRIES_MAX: usize = 64 * 1024;

/// Requests one outbound client connection keeps waiting for responses; a further request
/// waits for room (backpressure on the caller). No larger than what a shardmq connection
/// holds in flight, so a shardmq peer never parks our requests in its socket buffer.
pub const CLIENT_IN_FLIGHT_MAX: usize = 4096;

/// Bytes of requests queued on one client connection and not yet on the socket before
/// new requests and oneways wait: a peer that stops reading stops the callers.
pub const CLIENT_WRITE_QUEUE_BYTES_MAX: usize = FRAME_SIZE_MAX;

/// Largest read of a client connection (reads adapt as [`CONNECTION_READ_BYTES_MAX`]'s do).
pub const CLIENT_READ_BYTES_MAX: usize = 64 * 1024;

const _: () = assert!(CLIENT_IN_FLIGHT_MAX <= CONNECTION_IN_FLIGHT_MAX);
const _: () = assert!(CLIENT_IN_FLIGHT_MAX <= i32::MAX as usize);
const _: () = assert!(CLIENT_WRITE_QUEUE_BYTES_MAX >= FRAME_SIZE_MAX);

/// Producer plus consumer groups one shard's client registry tracks. A heartbeat that would
/// add groups beyond it is refused, so a client cannot grow the registry without bound; the
/// channels of a group are bounded by the shard's connections.
pub const BROKER_CLIENT_GROUPS_MAX: usize = 64 * 1024;

/// Subscriptions one consumer group of a heartbeat may carry (one per topic; real consumers
/// have a handful, plus their retry topic).
pub const BROKER_GROUP_SUBSCRIPTIONS_MAX: usize = 4096;

/// Stored consumer offsets, one per (group, topic, queue), on one shard. Updates that would
/// add entries beyond it are refused; updates of existing entries always succeed.
pub const CONSUMER_OFFSET_ENTRIES_MAX: usize = 4 * 1024 * 1024;

const _: () = assert!(BROKER_GROUP_SUBSCRIPTIONS_MAX <= CONSUMER_OFFSET_ENTRIES_MAX);

/// Queue leases (LOCK_BATCH_MQ) one shard holds, one per (consumer group, queue). A lock
/// beyond it is not granted once expired leases are gone: the client retries at its next
/// rebalance, and orderly consumers hold a handful of queues each.
pub const BROKER_QUEUE_LOCKS_MAX: usize = 256 * 1024;

/// Most topics one broker process holds. Every shard keeps a copy of the table and a change
/// copies it whole, so it is bounded like any other table.
pub const BROKER_TOPICS_MAX: usize = 64 * 1024;

/// Bytes one REGISTER_BROKER body the broker sends holds before compression (the JSON, or
/// the stream compressed from it). A larger topic table is registered in parts of at most
/// this much, so no table the broker accepts makes a frame over [`FRAME_SIZE_MAX`]
/// (docs/protocol.md §2.9.2).
pub const REGISTER_PART_BYTES_MAX: usize = 4 * 1024 * 1024;

/// Bytes a compressed REGISTER_BROKER body may inflate to; a body inflating past it is
/// refused. Deflate reaches ratios near 1000:1, so a frame's worth of compressed bytes could
/// otherwise ask for gigabytes. 32 MiB holds about 200 000 topics of 127-character names in
/// Java's compressed form (about 150 bytes each).
pub const REGISTER_BODY_INFLATED_MAX: usize = 32 * 1024 * 1024;

/// Parts one registration is split into; a shardmq NameServer keeps the topics of the parts
/// of one round until the last arrives.
pub const REGISTER_PARTS_MAX: usize = 1024;

// A part, its header and the deflate stream's overhead on incompressible input (5 bytes per
// 16 KiB block and a few more) fit a frame; the NameServer inflates what the broker sends.
const _: () = assert!(
    REGISTER_PART_BYTES_MAX + REGISTER_PART_BYTES_MAX / 1024 + HEADER_SIZE_MAX
        < FRAME_LENGTH_FIELD_MAX
);
const _: () = assert!(REGISTER_PART_BYTES_MAX <= REGISTER_BODY_INFLATED_MAX);

/// Most subscription groups one broker process holds. Every shard keeps a copy of the
/// table and a change copies it whole; a heartbeat or an admin request that would add a
/// group beyond it is refused (Java sets no bound).
pub const BROKER_SUBSCRIPTION_GROUPS_MAX: usize = 64 * 1024;

const _: () = assert!(BROKER_SUBSCRIPTION_GROUPS_MAX <= BROKER_CLIENT_GROUPS_MAX);

/// Pulls one shard holds parked for long polling; a pull beyond it is answered at once with
/// PULL_NOT_FOUND (the client pulls again), so consumers cannot grow the table without bound.
pub const PULL_PARKED_MAX: usize = 64 * 1024;

/// Longest a pull is held: Java clients give up on a suspended pull after 30 s.
pub const PULL_SUSPEND_MS_MAX: u64 = 25_000;

/// Messages one pull returns (Java `maxTransferCountOnMessageInMemory`).
pub const PULL_MESSAGES_MAX: usize = 32;

/// Bytes of records one pull returns, past its first record (Java
/// `maxTransferBytesOnMessageInMemory`). A first record is always returned whole.
pub const PULL_BYTES_MAX: usize = 256 * 1024;

const _: () = assert!(PULL_BYTES_MAX + RECORD_SIZE_MAX + HEADER_SIZE_MAX < FRAME_LENGTH_FIELD_MAX);

/// Messages one QUERY_MESSAGE answer holds (Java `maxMsgsNumBatch`), whatever `maxNum` asks.
pub const QUERY_MESSAGES_MAX: usize = 64;

/// Messages a unique-key QUERY_MESSAGE asks for, whatever its `maxNum` (Java
/// `defaultQueryMaxNum`): room for messages whose keys share the unique key's hash.
pub const QUERY_UNIQUE_KEY_MESSAGES: usize = 32;

/// Bytes of records one QUERY_MESSAGE answer holds past its first record, which is always
/// returned whole. Java sets no bound, but its clients refuse frames over 16 MiB.
pub const QUERY_BYTES_MAX: usize = 8 * 1024 * 1024;

/// Index entries one key lookup examines at most: entries of other keys sharing a hash slot
/// and entries outside the time range cost a read each, so a lookup ends somewhere.
pub const INDEX_LOOKUP_ENTRIES_MAX: usize = 100_000;

const _: () = assert!(QUERY_UNIQUE_KEY_MESSAGES <= QUERY_MESSAGES_MAX);
const _: () = assert!(QUERY_BYTES_MAX + RECORD_SIZE_MAX + HEADER_SIZE_MAX < FRAME_LENGTH_FIELD_MAX);
