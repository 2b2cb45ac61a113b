//! shardmq: a RocketMQ-protocol broker and NameServer, thread-per-core on io_uring.
//!
//! # Layer map
//!
//! A request arrives in [`net`], is decoded by [`wire`], routed by [`dispatch`] to a handler
//! of [`broker`], which reads and writes [`storage`]; the response goes back the same way.
//! Dependencies run one way, from the top of this table down: a module may use the ones in
//! the rows below it, never those above. `scripts/check-layers.sh` (run by the test
//! command) fails on an edge against it; test code may reach anywhere.
//!
//! | module | owns | may use |
//! | --- | --- | --- |
//! | [`server`] | start-up and shutdown of the shards, their listeners and tasks | everything below
//! |
//! | [`admin`] | `shardmq admin`, mqadmin's verbs over blocking connections | config, wire, limits |
//! | [`metrics`] | the Prometheus endpoint: every shard's metrics gathered over the mesh | broker, config, wire |
//! | [`dispatch`] | request code → handler, the one place an error becomes a response | broker,
//! net, storage, acl, config, wire, limits, clock |
//! | [`broker`] | RocketMQ broker semantics per request family; [`broker::BrokerContext`] |
//! storage, client, acl, config, wire, limits, clock |
//! | [`ha`] | replication of each shard's CommitLog, master and slave sides | net, storage,
//! client, config, wire, limits, clock |
//! | [`namesrv`] | the NameServer: route table, registration and expiry | net, acl, config,
//! wire, limits, clock |
//! | [`client`] | connections outward (NameServer registration, admin, load) | net, config, wire,
//! limits |
//! | [`acl`] | access control: `plain_acl.yml`, and whether a request's signature and account
//! allow what it needs | config, wire |
//! | [`net`] | sockets: accept, read buffer, bounded write queue, backpressure | wire, limits |
//! | [`storage`] | one shard's store: CommitLog, ConsumeQueue, IndexFile, flush, recovery,
//! retention | wire, limits, clock |
//! | [`config`] | the process's settings (RocketMQ's `broker.conf` and `namesrv.conf` keys), the
//! port scheme, and writing Java's JSON config files atomically | wire, limits |
//! | [`wire`] | bytes ⇄ frames, `RemotingCommand`, typed headers, JSON bodies, permission bits, the
//! record format, [`wire::Refusal`] | limits |
//! | [`clock`] | the time a shard reads: the system's, or a test's moved by hand | nothing |
//! | [`logging`] | the process's log lines: client text escaped, repeated warnings from a peer
//! counted | nothing |
//! | [`limits`] | a bound on every length and queue | nothing |
//!
//! Every layer above [`logging`] may also use it.
//!
//! [`net`] knows no handler: it calls a [`net::Service`], which [`dispatch`] (and the
//! NameServer) implement. The wire layer is pure: no I/O, no async.
//!
//! Below every layer, [`clock`] is where time comes from: each shard makes one
//! [`clock::Clock`] and gives it to its store and its broker context at construction, so
//! tests can move time by hand.
//!
//! Every shard (one pinned glommio executor from the `shards` crate) runs its own copy of each
//! layer; shard state is `Rc`/`RefCell` and crosses shards only as messages. The protocol,
//! storage, topology and operations are described in `docs/`.

pub mod acl;
pub mod admin;
pub mod broker;
pub mod client;
pub mod clock;
pub mod config;
pub mod dispatch;
pub mod ha;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod namesrv;
pub mod net;
pub mod server;
pub mod storage;
pub mod wire;
