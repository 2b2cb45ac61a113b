//! shardmq: a RocketMQ-protocol broker and NameServer, thread-per-core on io_uring.
//!
//! # Layer map
//!
//! A request travels down these layers and its response back up; a layer only calls the
//! one below it.
//!
//! | layer | owns | never does |
//! | --- | --- | --- |
//! | [`net`] | sockets: accept, read buffer, bounded write queue, backpressure | interpret a frame |
//! | [`wire`] | bytes ⇄ frames, `RemotingCommand`, typed headers, the record format | I/O, async |
//! | [`dispatch`] | request code → handler, admission, this shard or a mailbox | touch a socket |
//! | [`broker`] | RocketMQ broker semantics per request family; the per-shard [`broker::BrokerContext`] | touch a socket |
//! | [`namesrv`] | the NameServer: route table, broker registration and expiry, its JSON bodies | touch a socket |
//! | [`storage`] | one shard's store: CommitLog, ConsumeQueue, flush, checkpoint, recovery, retention | touch a socket |
//!
//! Beside the layers, [`client`] opens connections outward (NameServer registration, admin,
//! load generation) and speaks the same [`wire`] codec over its own sockets.
//!
//! Below every layer, [`clock`] is where time comes from: each shard makes one
//! [`clock::Clock`] and gives it to its store and its broker context at construction, so
//! tests can move time by hand.
//!
//! Limits on every length and queue live in [`limits`]; the process's settings (RocketMQ's
//! `broker.conf` keys) in [`config`]; start-up and shutdown of the shards in [`server`].
//!
//! Every shard (one pinned glommio executor from the `shards` crate) runs its own copy of each
//! layer; shard state is `Rc`/`RefCell` and crosses shards only as messages.

pub mod broker;
pub mod client;
pub mod clock;
pub mod config;
pub mod dispatch;
pub mod limits;
pub mod namesrv;
pub mod net;
pub mod server;
pub mod storage;
pub mod wire;
