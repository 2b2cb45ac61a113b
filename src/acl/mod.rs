//! Access control: RocketMQ's plain ACL (ACL 1.0), as Java's `PlainAccessValidator` checks it
//! (docs/access-control.md).
//!
//! An [`AclTable`] is what `plain_acl.yml` says ([`mod@file`]): addresses white-listed for
//! everyone, and accounts, each with a secret key, addresses of its own, an admin flag and
//! permissions on topics and groups. [`AclTable::check`] decides one request in Java's order:
//!
//! 1. a globally white-listed address passes;
//! 2. the request must name an account (`AccessKey`), and the account must exist;
//! 3. an address white-listed for that account passes (Java skips every later check too);
//! 4. the `Signature` must be the one the account's secret gives
//!    ([`crate::wire::signature`]);
//! 5. an admin account passes; a request that [`Needs`] an admin is refused otherwise;
//! 6. each topic and group the request names must be allowed: by the account's entry for
//!    it, or else its default for topics or groups.
//!
//! A refusal's remark names what is missing in Java's words and never a secret. Which
//! resources a request names is for the servers to say (the broker's
//! `broker::access`, the NameServer's protected codes).
//!
//! [`Acl`] is one shard's copy of the table, which its dispatcher (and on shard 0 the
//! embedded NameServer) checks every request against; shard 0 re-reads the file when it
//! changes and publishes the new table to every shard, keeping the last good table when the
//! new text is refused.

mod address;
pub mod file;
mod watch;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

pub use address::AddressPattern;
pub use watch::{check_own_account, load, load_configured, Acl, POLL_INTERVAL};

use crate::wire::codes::response_code;
use crate::wire::signature::{verify, SigningKey, ACCESS_KEY, SIGNATURE};
use crate::wire::{Refusal, RemotingCommand};

/// A request the ACL refuses: NO_PERMISSION, with the reason as its remark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied(pub String);

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Refusal for Denied {
    fn response_code(&self) -> i32 {
        response_code::NO_PERMISSION
    }
}

/// A permission, Java's bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perm(u8);

impl Perm {
    pub const DENY: Perm = Perm(1);
    pub const PUB: Perm = Perm(1 << 2);
    pub const SUB: Perm = Perm(1 << 3);

    /// Java's `Permission.checkPermission`: whether holding `self` allows `needed`.
    fn allows(self, needed: Perm) -> bool {
        self.0 & Perm::DENY.0 == 0 && self.0 & needed.0 != 0
    }
}

/// Java's default for an account that names none: nothing is allowed.
impl Default for Perm {
    fn default() -> Self {
        Perm::DENY
    }
}

/// The topic Java lets any account publish message traces to.
const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
/// The prefix of a group's retry topic, which stands for the group.
const RETRY_PREFIX: &str = "%RETRY%";

/// One account of the file.
#[derive(Clone)]
pub struct Account {
    /// The secret key, ready to check signatures with.
    key: SigningKey,
    /// Addresses this account is trusted from without a signature.
    white: Option<AddressPattern>,
    admin: bool,
    default_topic: Perm,
    default_group: Perm,
    topics: HashMap<String, Perm>,
    groups: HashMap<String, Perm>,
}

impl Default for Account {
    fn default() -> Self {
        Account {
            key: SigningKey::new(""),
            white: None,
            admin: false,
            default_topic: Perm::DENY,
            default_group: Perm::DENY,
            topics: HashMap::new(),
            groups: HashMap::new(),
        }
    }
}

/// Never shows the secret key.
impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("white", &self.white)
            .field("admin", &self.admin)
            .field("topics", &self.topics.len())
            .field("groups", &self.groups.len())
            .finish_non_exhaustive()
    }
}

/// What `plain_acl.yml` says.
#[derive(Debug, Clone, Default)]
pub struct AclTable {
    global_white: Vec<AddressPattern>,
    accounts: HashMap<String, Account>,
}

/// A topic or a group a request uses.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Resource<'a> {
    Topic(Cow<'a, str>),
    Group(Cow<'a, str>),
}

/// What one request needs beyond a valid signature.
#[derive(Debug, Default)]
pub struct Needs<'a> {
    admin: bool,
    resources: Vec<(Resource<'a>, Perm)>,
}

impl<'a> Needs<'a> {
    /// An admin account.
    pub fn admin() -> Needs<'a> {
        Needs {
            admin: true,
            resources: Vec::new(),
        }
    }

    /// `perm` on `topic`; a retry topic stands for its group, as in Java.
    pub fn topic(&mut self, topic: impl Into<Cow<'a, str>>, perm: Perm) {
        let topic = topic.into();
        let resource = match topic.strip_prefix(RETRY_PREFIX) {
            Some(group) => Resource::Group(Cow::Owned(group.to_owned())),
            None => Resource::Topic(topic),
        };
        self.resources.push((resource, perm));
    }

    /// Sending to `topic`: PUB, or SUB on the group for its retry topic (a consumer
    /// sending a message back).
    pub fn send_to(&mut self, topic: &'a str) {
        let perm = match topic.starts_with(RETRY_PREFIX) {
            true => Perm::SUB,
            false => Perm::PUB,
        };
        self.topic(topic, perm);
    }

    /// `perm` on `group`.
    pub fn group(&mut self, group: impl Into<Cow<'a, str>>, perm: Perm) {
        self.resources.push((Resource::Group(group.into()), perm));
    }
}

impl AclTable {
    /// The table `text` (a `plain_acl.yml`) describes.
    pub fn parse(text: &str) -> Result<AclTable, String> {
        file::parse(text)
    }

    /// Accounts in the table.
    pub fn accounts(&self) -> usize {
        self.accounts.len()
    }

    /// Whether `command`, from `peer`, may do what it `needs`; else the remark of the
    /// NO_PERMISSION refusal.
    pub fn check(
        &self,
        peer: IpAddr,
        command: &RemotingCommand,
        needs: &Needs,
    ) -> Result<(), String> {
        if self.global_white.iter().any(|white| white.matches(peer)) {
            return Ok(());
        }
        let Some(access_key) = command.ext_fields.get(ACCESS_KEY) else {
            return Err("No accessKey is configured".to_owned());
        };
        let Some(account) = self.accounts.get(access_key) else {
            return Err(format!("No acl config for {access_key}"));
        };
        if account
            .white
            .as_ref()
            .is_some_and(|white| white.matches(peer))
        {
            return Ok(());
        }
        let given = command.ext_fields.get(SIGNATURE).unwrap_or_default();
        if !verify(command, &account.key, given) {
            return Err(format!("Check signature failed for accessKey={access_key}"));
        }
        if account.admin {
            return Ok(());
        }
        if needs.admin {
            return Err(format!(
                "Need admin permission for request code={}, but accessKey={access_key} is not",
                command.code
            ));
        }
        let traces = (Resource::Topic(Cow::Borrowed(TRACE_TOPIC)), Perm::PUB);
        if needs.resources.contains(&traces) {
            return Ok(());
        }
        for (resource, needed) in &needs.resources {
            let (kind, name, owned, default) = match resource {
                Resource::Topic(name) => ("topic", name, &account.topics, account.default_topic),
                Resource::Group(name) => ("group", name, &account.groups, account.default_group),
            };
            match owned.get(name.as_ref()) {
                None if !default.allows(*needed) => {
                    return Err(format!("No default permission for {kind}:{name}"));
                }
                Some(perm) if !perm.allows(*needed) => {
                    return Err(format!("No permission for {kind}:{name}"));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
