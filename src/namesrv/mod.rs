//! The NameServer (docs/protocol.md §2.9, §5.10): which brokers exist, which topics they host,
//! and the routes clients ask for.
//!
//! One shard owns the NameServer (the one listening on its port, 9876 by default) and its
//! state outright: a [`RouteTable`] and a [`KvConfig`] behind `RefCell`s, with no copy on
//! other shards. It only hears from brokers over its connections, as a Java NameServer
//! does, so an embedded NameServer behaves as a standalone one when the local broker
//! registers with it over loopback.
//!
//! - [`route`]: the route table, pure state with time passed in.
//! - [`crate::wire::body`] (not here): the JSON bodies, shared with the broker side that
//!   sends REGISTER_BROKER.
//! - [`service`]: the request handlers and the [`Service`](crate::net::Service) adapter,
//!   plus the expiry task.
//! - [`kv`]: the KV config (`ORDER_TOPIC_CONFIG` and whatever admins put there).
//! - [`error`]: every failure and its response code, in one place.
//!
//! A broker registering itself builds a [`RegisterBrokerBody`] (its topics in a
//! [`TopicConfigSerializeWrapper`] with a [`DataVersion`] it bumps on every topic change),
//! encodes it with [`encode`], and may set `bodyCrc32` from [`body_crc32`].
//!
//! Behaviour worth knowing:
//! - A broker expires 120 s after its last registration (or its `heartbeatTimeoutMillis`),
//!   checked every 5 s, and at once when the connection it registered over closes.
//! - A master's registration replaces its topic set: topics it no longer lists stop routing
//!   to it ([`NamesrvConfig::delete_topic_with_broker_registration`], on by default; Java
//!   5.x brokers need it off). With a new data version every listed topic is rewritten,
//!   otherwise only those the broker does not host yet. Slaves' registrations carry no
//!   queue data.
//! - `TBW102` ([`crate::wire::topics::AUTO_CREATE_TOPIC_KEY_TOPIC`]) is an ordinary topic
//!   here: a broker with `autoCreateTopicEnable` lists it (perm 7, 8 queues) in its
//!   registration, and the route lookup a producer makes after TOPIC_NOT_EXIST finds it like
//!   any other. When the broker then creates the real topic it publishes it at once with
//!   REGISTER_TOPIC_IN_NAMESRV (217), so the producer's next lookup succeeds.
//! - Compressed REGISTER_BROKER bodies (`compressed=true`, Java's `compressedRegister`) are
//!   read by [`crate::wire::register_body`], bounded in what they inflate to; plain JSON
//!   bodies are read in both fastjson's unquoted-key form and standard JSON.
//! - A registration split into numbered parts counts as one: topics absent from every part
//!   leave the routes only when the last part of a whole round arrives
//!   ([`RouteTable::register`]).
//! - The KV config survives restarts: it is loaded from `kvConfigPath` at start (a damaged
//!   file stops start-up) and every change is written there, in Java's format, before it is
//!   acknowledged ([`kv`]).
//!
//! [`RegisterBrokerBody`]: crate::wire::body::RegisterBrokerBody
//! [`TopicConfigSerializeWrapper`]: crate::wire::body::TopicConfigSerializeWrapper
//! [`DataVersion`]: crate::wire::body::DataVersion
//! [`encode`]: crate::wire::body::encode
//! [`body_crc32`]: crate::wire::body::body_crc32

pub mod error;
pub mod kv;
pub mod route;
pub mod service;

pub use error::NamesrvError;
pub use kv::KvConfig;
pub use route::{Registered, Registration, RouteTable};
pub use service::{NameServer, NamesrvConfig, EXPIRY_SCAN_INTERVAL};

#[cfg(test)]
mod loopback_tests;
