//! Java `broker.conf` keys shardmq keeps no setting for, and what it does with each
//! (docs/operations.md, "What happens to every Java key").
//!
//! The rule: a key that changes durability, placement or permissions is never accepted while
//! shardmq does something else. It is either honoured (a field of
//! [`BrokerConfig`](super::BrokerConfig), set in `config.rs`), or it is [`LIMITED`]: accepted
//! only with the values that ask for what shardmq does anyway (Java's default, or a value
//! that changes nothing here), every other value refused at start-up with a message naming
//! the key, what shardmq does instead and what to set.
//!
//! [`IGNORED_KEYS`] change none of the three: thread pools, request-queue waits, buffer and
//! wire tuning, and a few whose effect shardmq already has (each commented). They are
//! accepted with one warning each, so a Java user's file works unchanged.
//!
//! The store paths (`storePathCommitLog`, `storePathConsumeQueue`, `storePathIndex`,
//! `storeCheckpoint`, `abortFile`) depend on `storePathRootDir`, which may come later in
//! the file, so they are checked by [`BrokerConfig::finish`](super::BrokerConfig::finish)
//! against [`STORE_PATHS`].

use super::values::{boolean, need, BOOL_RULE};
use super::{Applied, ConfigError};

/// Keys of Java `broker.conf` files that tune machinery shardmq does not have and change no
/// durability, placement or permission; accepted with a warning.
pub const IGNORED_KEYS: &[&str] = &[
    // Thread pools and their queues: a shard serves every request on its own core.
    "sendMessageThreadPoolNums",
    "pullMessageThreadPoolNums",
    "litePullMessageThreadPoolNums",
    "ackMessageThreadPoolNums",
    "processReplyMessageThreadPoolNums",
    "queryMessageThreadPoolNums",
    "adminBrokerThreadPoolNums",
    "clientManageThreadPoolNums",
    "consumerManageThreadPoolNums",
    "heartbeatThreadPoolNums",
    "endTransactionThreadPoolNums",
    "serverWorkerThreads",
    "serverSelectorThreads",
    "serverCallbackExecutorThreads",
    "serverPooledByteBufAllocatorEnable",
    "clientWorkerThreads",
    "useEpollNativeSelector",
    "useReentrantLockWhenPutMessage",
    "waitTimeMillsInSendQueue",
    "waitTimeMillsInPullQueue",
    "waitTimeMillsInHeartbeatQueue",
    "waitTimeMillsInTransactionQueue",
    // A send waits at most 1 s for room in the log buffer, then SYSTEM_BUSY.
    "osPageCacheBusyTimeOutMills",
    // Java's off-heap write buffer. shardmq always writes the CommitLog through its own
    // buffer with direct I/O and hands each append to the disk at once, which is no less
    // durable than either value (docs/operations.md §Durability).
    "transientStorePoolEnable",
    "transientStorePoolSize",
    // SQL92 filtering is not built; a SQL92 subscription is refused whatever this says.
    "enablePropertyFilter",
    "enableCalcFilterBitMap",
    "isEnableBatchPush",
    "warmMapedFileEnable",
    // How much one pull carries; shardmq's bound is in docs/operations.md §Limits.
    "maxTransferBytesOnMessageInMemory",
    "maxTransferCountOnMessageInMemory",
    // Pulls are always held (long polling); a client sees the same messages either way.
    "longPollingEnable",
    "transferMsgByHeap",
    // shardmq registers every round whether its table changed or not, which leaves every
    // NameServer in the same state.
    "forceRegister",
    // The ConsumeQueue is derived: recovery rebuilds it from the CommitLog past the last
    // checkpoint (about every second), so how often it is flushed loses nothing.
    "flushIntervalConsumeQueue",
    "flushConsumeQueueLeastPages",
];

/// A key accepted only with the values that ask for what shardmq does.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limited {
    pub key: &'static str,
    /// The one boolean (any case) it accepts; the other is refused.
    pub accepts: bool,
    /// What shardmq does instead, and what to set: the end of the refusal.
    pub instead: &'static str,
}

/// Keys accepted only with the values that change nothing in shardmq.
pub(super) const LIMITED: &[Limited] = &[
    Limited {
        key: "enableControllerMode",
        accepts: false,
        instead: "there is no controller: a slave follows the master it is configured \
            with and is never promoted; set enableControllerMode=false or remove the key",
    },
    Limited {
        key: "enableDLegerCommitLog",
        accepts: false,
        instead: "DLedger is not built: each shard keeps its own CommitLog; set \
                  enableDLegerCommitLog=false or remove the key",
    },
    Limited {
        key: "timerWheelEnable",
        accepts: true,
        instead: "shardmq always takes timer messages (DELIVER_TIME and the other 5.x timer \
                  properties) and cannot refuse them; set timerWheelEnable=true or remove the \
                  key",
    },
    Limited {
        key: "checkCRCOnRecover",
        accepts: true,
        instead: "shardmq always verifies every record it recovers and cuts the log at the \
                  first damaged one; set checkCRCOnRecover=true or remove the key",
    },
    Limited {
        key: "fetchNamesrvAddrByAddressServer",
        accepts: false,
        instead: "shardmq does not ask an address server for NameServers: list them in \
                  namesrvAddr and set fetchNamesrvAddrByAddressServer=false or remove the key",
    },
];

/// The [`LIMITED`] entry of `key`.
pub(super) fn limited(key: &str) -> Option<&'static Limited> {
    LIMITED.iter().find(|rule| rule.key == key)
}

/// Java's store-path keys: the only value each accepts is its Java default,
/// `<storePathRootDir>/<default>`, and `layout` says where a shard keeps it instead.
pub(super) const STORE_PATHS: &[(&str, &str, &str)] = &[
    (
        "storePathCommitLog",
        "commitlog",
        "each shard keeps its CommitLog under <storePathRootDir>/shard-<k>/commitlog",
    ),
    (
        "storePathConsumeQueue",
        "consumequeue",
        "each shard keeps its ConsumeQueues under <storePathRootDir>/shard-<k>/consumequeue",
    ),
    (
        "storePathIndex",
        "index",
        "each shard keeps its IndexFiles under <storePathRootDir>/shard-<k>/index",
    ),
    (
        "storeCheckpoint",
        "checkpoint",
        "each shard keeps its checkpoint at <storePathRootDir>/shard-<k>/checkpoint",
    ),
    (
        "abortFile",
        "abort",
        "shardmq keeps no abort file: every start recovers each shard from its checkpoint",
    ),
];

/// Applies a [`Limited`] key (broker.conf or namesrv.conf): set when `rule` accepts `value`,
/// refused naming what shardmq does instead when it does not, an invalid value when it is
/// not a value of the key at all.
pub(super) fn apply_limited(
    rule: &Limited,
    key: &str,
    value: &str,
    origin: &str,
) -> Result<Applied, ConfigError> {
    match accepted(rule, value) {
        Ok(true) => Ok(Applied::Set),
        Ok(false) => Err(ConfigError::Unsupported {
            key: key.to_owned(),
            value: value.to_owned(),
            origin: origin.to_owned(),
            instead: rule.instead.to_owned(),
        }),
        Err(why) => Err(ConfigError::InvalidValue {
            key: key.to_owned(),
            value: value.to_owned(),
            why,
            origin: origin.to_owned(),
        }),
    }
}

/// Whether `value` is one `rule` accepts; `Err` when it is not a value of the key at all.
fn accepted(rule: &Limited, value: &str) -> Result<bool, String> {
    need(boolean(value), BOOL_RULE).map(|v| v == rule.accepts)
}
