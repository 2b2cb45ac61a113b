//! The subscription-group table (docs/protocol.md §2.8.8): each consumer group's config as
//! Java's `SubscriptionGroupManager` keeps it, the auto-creation rule, and the
//! `subscriptionGroup.json` file.
//!
//! Pure values and functions: no shard, no async. [`GroupTable`] is what the owner shard
//! changes and every shard holds a copy of (see [`crate::broker::metadata::group_owner`]); the file
//! functions are blocking and run off the reactor. Invariant: every change bumps the table's
//! [`DataVersion`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::broker::metadata::journal::{self, Journaled};
use crate::broker::metadata::lenient::{nullable, LenientBool, LenientInt};
use crate::broker::{metadata::config_file, metadata::topics, BrokerError};
use crate::limits;
use crate::wire::body;
use crate::wire::body::DataVersion;

/// Groups Java's broker creates at start (`SubscriptionGroupManager.init`).
const SYSTEM_GROUPS: &[&str] = &[
    "TOOLS_CONSUMER",
    "FILTERSRV_CONSUMER",
    "SELF_TEST_C_GROUP",
    "CID_ONS-HTTP-PROXY",
    "CID_ONSAPI_PULL",
    "CID_ONSAPI_PERMISSION",
    "CID_ONSAPI_OWNER",
    "CID_SYS_RMQ_TRANS",
];

/// Groups with this prefix are the broker's own: created on first use even when
/// `autoCreateSubscriptionGroup` is off (Java `MixAll.isSysConsumerGroup`).
const SYSTEM_GROUP_PREFIX: &str = "CID_RMQ_SYS_";

/// Longest group name (Java `Validators.CHARACTER_MAX_LENGTH`).
const GROUP_NAME_MAX: usize = 255;

/// One consumer group's config (Java `SubscriptionGroupConfig`), written as fastjson
/// writes it: keys in alphabetical order (the fields are declared so), `null` left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "GroupConfigBody")]
pub struct SubscriptionGroupConfig {
    pub attributes: BTreeMap<String, String>,
    pub broker_id: i64,
    pub consume_broadcast_enable: bool,
    pub consume_enable: bool,
    pub consume_from_min_enable: bool,
    pub consume_message_orderly: bool,
    pub consume_timeout_minute: i32,
    pub group_name: String,
    /// 5.x retry policy, kept as the admin sent it (only `retryMaxTimes` is applied).
    pub group_retry_policy: serde_json::Value,
    pub group_sys_flag: i32,
    pub notify_consumer_ids_changed_enable: bool,
    pub retry_max_times: i32,
    pub retry_queue_nums: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_data_set: Option<serde_json::Value>,
    pub which_broker_when_consume_slowly: i64,
}

/// Java 5.x's default `retryMaxTimes` of a consumer group.
pub const RETRY_MAX_TIMES_DEFAULT: i32 = 16;

impl SubscriptionGroupConfig {
    /// Java's defaults for group `name`.
    pub fn new(name: &str) -> Self {
        SubscriptionGroupConfig {
            attributes: BTreeMap::new(),
            broker_id: 0,
            consume_broadcast_enable: true,
            consume_enable: true,
            consume_from_min_enable: true,
            consume_message_orderly: false,
            consume_timeout_minute: 15,
            group_name: name.to_owned(),
            group_retry_policy: serde_json::json!({"type": "CUSTOMIZED"}),
            group_sys_flag: 0,
            notify_consumer_ids_changed_enable: true,
            retry_max_times: RETRY_MAX_TIMES_DEFAULT,
            retry_queue_nums: 1,
            subscription_data_set: None,
            which_broker_when_consume_slowly: 1,
        }
    }
}

/// A config as admin tools and other brokers send it: every field may be missing or
/// `null` (Java's default then), numbers may be strings, booleans strings or numbers.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct GroupConfigBody {
    #[serde(deserialize_with = "nullable")]
    attributes: BTreeMap<String, String>,
    broker_id: Option<LenientInt>,
    consume_broadcast_enable: Option<LenientBool>,
    consume_enable: Option<LenientBool>,
    consume_from_min_enable: Option<LenientBool>,
    consume_message_orderly: Option<LenientBool>,
    consume_timeout_minute: Option<LenientInt>,
    #[serde(deserialize_with = "nullable")]
    group_name: String,
    group_retry_policy: Option<serde_json::Value>,
    group_sys_flag: Option<LenientInt>,
    notify_consumer_ids_changed_enable: Option<LenientBool>,
    retry_max_times: Option<LenientInt>,
    retry_queue_nums: Option<LenientInt>,
    subscription_data_set: Option<serde_json::Value>,
    which_broker_when_consume_slowly: Option<LenientInt>,
}

impl From<GroupConfigBody> for SubscriptionGroupConfig {
    fn from(b: GroupConfigBody) -> Self {
        let d = SubscriptionGroupConfig::new(&b.group_name);
        let flag = |v: Option<LenientBool>, default: bool| v.map_or(default, |v| v.0);
        // Java's int fields keep the low 32 bits of a larger number, as a cast does.
        let int = |v: Option<LenientInt>, default: i32| v.map_or(default, |v| v.0 as i32);
        let long = |v: Option<LenientInt>, default: i64| v.map_or(default, |v| v.0);
        SubscriptionGroupConfig {
            attributes: b.attributes,
            broker_id: long(b.broker_id, d.broker_id),
            consume_broadcast_enable: flag(b.consume_broadcast_enable, d.consume_broadcast_enable),
            consume_enable: flag(b.consume_enable, d.consume_enable),
            consume_from_min_enable: flag(b.consume_from_min_enable, d.consume_from_min_enable),
            consume_message_orderly: flag(b.consume_message_orderly, d.consume_message_orderly),
            consume_timeout_minute: int(b.consume_timeout_minute, d.consume_timeout_minute),
            group_retry_policy: b.group_retry_policy.unwrap_or(d.group_retry_policy),
            group_sys_flag: int(b.group_sys_flag, d.group_sys_flag),
            notify_consumer_ids_changed_enable: flag(
                b.notify_consumer_ids_changed_enable,
                d.notify_consumer_ids_changed_enable,
            ),
            retry_max_times: int(b.retry_max_times, d.retry_max_times),
            retry_queue_nums: int(b.retry_queue_nums, d.retry_queue_nums),
            subscription_data_set: b.subscription_data_set,
            which_broker_when_consume_slowly: long(
                b.which_broker_when_consume_slowly,
                d.which_broker_when_consume_slowly,
            ),
            group_name: b.group_name,
        }
    }
}

/// Decodes an UPDATE_AND_CREATE_SUBSCRIPTIONGROUP body and checks its group name.
pub fn decode_config(bytes: &[u8]) -> Result<SubscriptionGroupConfig, BrokerError> {
    let config: SubscriptionGroupConfig = body::decode(bytes, "SubscriptionGroupConfig")
        .map_err(|err| BrokerError::InvalidParameter(err.to_string()))?;
    validate_group(&config.group_name)?;
    Ok(config)
}

/// Java's group name rule: the topic characters `[%|a-zA-Z0-9_-]`, 1 to 255 of them.
pub fn validate_group(name: &str) -> Result<(), BrokerError> {
    let shown = || {
        name.chars()
            .take(limits::TOPIC_NAME_MAX)
            .collect::<String>()
    };
    let invalid = |why: &str| {
        Err(BrokerError::InvalidParameter(format!(
            "the consumer group[{}] is invalid: {why}",
            shown()
        )))
    };
    if name.is_empty() {
        return invalid("the name is empty");
    }
    if name.len() > GROUP_NAME_MAX {
        return invalid("the name is longer than 255 characters");
    }
    if !name.chars().all(topics::valid_name_char) {
        return invalid("only characters [%|a-zA-Z0-9_-] are allowed");
    }
    Ok(())
}

/// Whether `group` is the broker's own, created on first use whatever the configuration.
pub fn is_system_group(group: &str) -> bool {
    group.starts_with(SYSTEM_GROUP_PREFIX) || SYSTEM_GROUPS.contains(&group)
}

/// Whether an unknown `group` is created on first use: auto-creation is on (or the group
/// is a system one) and its name is valid.
pub fn may_auto_create(group: &str, auto_create: bool) -> bool {
    (auto_create || is_system_group(group)) && validate_group(group).is_ok()
}

/// The subscription groups of a broker and their version.
///
/// The map is persistent ([`imbl`]): every batch of changes copies the table and every
/// shard holds a copy, and each copy shares all but what changed.
#[derive(Debug, Clone, Default)]
pub struct GroupTable {
    pub data_version: DataVersion,
    groups: imbl::OrdMap<Arc<str>, Arc<SubscriptionGroupConfig>>,
    /// Groups put in or taken out since the last journal record ([`Journaled`]); empty in
    /// the copies the owner publishes.
    unsaved: BTreeSet<Arc<str>>,
}

/// Two tables are equal when they hold the same groups at the same version.
impl PartialEq for GroupTable {
    fn eq(&self, other: &Self) -> bool {
        self.data_version == other.data_version && self.groups == other.groups
    }
}

impl Eq for GroupTable {}

/// The table as Java writes `subscriptionGroup.json` and answers
/// GET_ALL_SUBSCRIPTIONGROUP_CONFIG (`forbiddenTable` is 5.x; 4.9 readers ignore it).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionGroupWrapper {
    #[serde(default)]
    pub data_version: DataVersion,
    #[serde(default, deserialize_with = "nullable")]
    pub forbidden_table: BTreeMap<String, BTreeMap<String, i32>>,
    #[serde(default, deserialize_with = "nullable")]
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
}

impl GroupTable {
    pub fn get(&self, group: &str) -> Option<&SubscriptionGroupConfig> {
        self.groups.get(group).map(|config| &**config)
    }

    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Creates or replaces `config`; `false` when the table already held exactly it.
    pub fn upsert(
        &mut self,
        config: SubscriptionGroupConfig,
        now_ms: i64,
    ) -> Result<bool, BrokerError> {
        if self.get(&config.group_name) == Some(&config) {
            return Ok(false);
        }
        let is_new = !self.groups.contains_key(config.group_name.as_str());
        if is_new && self.groups.len() >= limits::BROKER_SUBSCRIPTION_GROUPS_MAX {
            return Err(BrokerError::TooManyGroups);
        }
        self.put(config);
        self.data_version.advance(now_ms);
        Ok(true)
    }

    /// Removes `group`; `false` when it was not there.
    pub fn remove(&mut self, group: &str, now_ms: i64) -> bool {
        let Some((name, _)) = self.groups.remove_with_key(group) else {
            return false;
        };
        self.unsaved.insert(name);
        self.data_version.advance(now_ms);
        true
    }

    /// Makes this table `master`'s (a slave's copy of its master's, docs/replication.md,
    /// from GET_ALL_SUBSCRIPTIONGROUP_CONFIG's answer): the same groups, each keyed by its
    /// name, and its data version, even one that is not newer than this table's. `false`,
    /// changing nothing, when the table was already exactly that. TOO_MANY_GROUPS when
    /// `master` holds more than a table may.
    pub fn adopt(&mut self, master: &SubscriptionGroupWrapper) -> Result<bool, BrokerError> {
        let theirs = &master.subscription_group_table;
        if theirs.len() > limits::BROKER_SUBSCRIPTION_GROUPS_MAX {
            return Err(BrokerError::TooManyGroups);
        }
        let mut changed = false;
        for (name, config) in theirs {
            let config = SubscriptionGroupConfig {
                group_name: name.clone(),
                ..config.clone()
            };
            if self.get(name) != Some(&config) {
                self.put(config);
                changed = true;
            }
        }
        let gone: Vec<Arc<str>> = self
            .groups
            .keys()
            .filter(|name| !theirs.contains_key(&***name))
            .cloned()
            .collect();
        for name in gone {
            self.groups.remove(&name);
            self.unsaved.insert(name);
            changed = true;
        }
        if !changed {
            if self.data_version == master.data_version {
                return Ok(false);
            }
            // Only the version changes: a group written again as it is carries it to the
            // journal.
            if let Some(name) = self.groups.keys().next() {
                self.unsaved.insert(name.clone());
            }
        }
        self.data_version = master.data_version.clone();
        Ok(true)
    }

    /// Puts `config` in, replacing the group of its name.
    fn put(&mut self, config: SubscriptionGroupConfig) {
        let name: Arc<str> = config.group_name.as_str().into();
        self.groups.insert(name.clone(), Arc::new(config));
        self.unsaved.insert(name);
    }

    /// Puts in the groups Java's broker always has (the file's version of one wins).
    pub fn with_system_groups(mut self, now_ms: i64) -> Self {
        let before = self.groups.len();
        for name in SYSTEM_GROUPS {
            if !self.groups.contains_key(*name) {
                self.put(SubscriptionGroupConfig::new(name));
            }
        }
        if self.groups.len() != before {
            self.data_version.advance(now_ms);
        }
        // What a start opens, it writes whole (see [`journal::replace_all`]).
        self.unsaved.clear();
        self
    }

    pub fn wrapper(&self) -> SubscriptionGroupWrapper {
        SubscriptionGroupWrapper {
            data_version: self.data_version.clone(),
            forbidden_table: BTreeMap::new(),
            subscription_group_table: self
                .groups
                .iter()
                .map(|(name, config)| (name.to_string(), (**config).clone()))
                .collect(),
        }
    }
}

impl Journaled for GroupTable {
    fn take_record(&mut self) -> Option<Vec<u8>> {
        let groups = &self.groups;
        journal::record_of(&self.data_version, &mut self.unsaved, |name| {
            groups.get(name).map(|config| (**config).clone())
        })
    }

    fn snapshot(&self) -> Vec<u8> {
        body::encode(&self.wrapper())
    }

    fn counter(&self) -> i64 {
        self.data_version.counter
    }
}

/// `<storePathRootDir>/config/subscriptionGroup.json`: process-wide, like the table.
pub fn groups_file(store_root: &Path) -> PathBuf {
    config_file::path(store_root, "subscriptionGroup.json")
}

/// Reads `path` and the changes journaled since it was written (see [`journal`]); a
/// missing file is an empty table. Blocking. Also reads Java's own file.
pub fn load(path: &Path) -> Result<GroupTable, String> {
    let mut table = GroupTable::default();
    if let Some(bytes) = config_file::read_optional(path)? {
        let wrapper: SubscriptionGroupWrapper = body::decode(&bytes, "subscriptionGroup.json")
            .map_err(|err| format!("{}: {err}", path.display()))?;
        // A key is the group's name even when an old file's entry lacks `groupName`.
        for (group_name, config) in wrapper.subscription_group_table {
            table.put(SubscriptionGroupConfig {
                group_name,
                ..config
            });
        }
        table.data_version = wrapper.data_version;
    }
    journal::replay(path, table.data_version.counter, |record| {
        for config in record.put {
            table.put(config);
        }
        for name in &record.remove {
            table.groups.remove(name.as_str());
        }
        table.data_version = record.data_version;
    })?;
    table.unsaved.clear();
    Ok(table)
}

/// Writes `table` whole to `path` atomically and drops its journal (see
/// [`journal::replace_all`]). Blocking.
pub fn save(path: &Path, table: &GroupTable) -> std::io::Result<()> {
    journal::replace_all(path, &table.snapshot())
}

#[cfg(test)]
#[path = "groups_tests.rs"]
mod tests;
