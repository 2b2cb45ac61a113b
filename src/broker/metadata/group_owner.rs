//! Every shard's view of the subscription-group table, and the owner shard's authority
//! over it: shard 0 alone changes it and writes `subscriptionGroup.json`, every shard
//! reads its own copy (see [`crate::broker::metadata::owned_table`]). Lookups on the pull
//! path are local.

use std::cell::Cell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

use crate::broker::metadata::groups::{
    self, GroupTable, SubscriptionGroupConfig, SubscriptionGroupWrapper,
};
use crate::broker::metadata::owned_table::OwnedTable;
use crate::broker::{BrokerError, BrokerShard, GroupChange, ShardMsg};

/// This shard's copy of the subscription-group table.
#[derive(Debug)]
pub struct Groups {
    table: OwnedTable<GroupTable>,
    /// `autoCreateSubscriptionGroup`.
    auto_create: Cell<bool>,
}

impl Groups {
    /// Creates this shard's copy; every shard passes the same `initial` table.
    pub fn new(
        shard: &BrokerShard,
        initial: GroupTable,
        file: PathBuf,
        auto_create: bool,
    ) -> Result<Self, shards::ReplicaError> {
        Ok(Groups {
            table: OwnedTable::new(shard, "subscription groups", initial, file)?,
            auto_create: Cell::new(auto_create),
        })
    }

    /// The shared table as this shard holds it now.
    pub fn table(&self) -> Rc<GroupTable> {
        self.table.get()
    }

    /// The config of `group` on this shard; never waits.
    pub fn get(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        self.table.get().get(group).cloned()
    }

    /// Whether an unknown `group` would be created on first use.
    pub fn may_auto_create(&self, group: &str) -> bool {
        groups::may_auto_create(group, self.auto_create.get())
    }

    /// `autoCreateSubscriptionGroup` from now on (UPDATE_BROKER_CONFIG).
    pub fn set_auto_create(&self, auto_create: bool) {
        self.auto_create.set(auto_create);
    }

    /// The config in force for `group`, as Java's `findSubscriptionGroupConfig`: the
    /// table's, else a default one created now when auto-creation allows, else
    /// SUBSCRIPTION_GROUP_NOT_EXIST.
    pub async fn find_or_create(
        &self,
        group: &str,
    ) -> Result<SubscriptionGroupConfig, BrokerError> {
        if let Some(config) = self.get(group) {
            return Ok(config);
        }
        if !self.may_auto_create(group) {
            return Err(BrokerError::SubscriptionGroupNotExist(group.to_owned()));
        }
        let config = SubscriptionGroupConfig::new(group);
        self.change(GroupChange::CreateIfAbsent(config)).await?;
        self.get(group)
            .ok_or_else(|| BrokerError::SubscriptionGroupNotExist(group.to_owned()))
    }

    /// Creates or replaces a group (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP).
    pub async fn update(&self, config: SubscriptionGroupConfig) -> Result<(), BrokerError> {
        groups::validate_group(&config.group_name)?;
        self.change(GroupChange::Update(config)).await
    }

    /// Deletes a group; unknown groups are fine, as in Java.
    pub async fn delete(&self, group: &str) -> Result<(), BrokerError> {
        self.change(GroupChange::Delete(group.to_owned())).await
    }

    /// Makes the table `master`'s, version included ([`GroupTable::adopt`]): a slave's
    /// copy of its master's.
    pub async fn adopt(&self, master: SubscriptionGroupWrapper) -> Result<(), BrokerError> {
        self.change(GroupChange::Adopt(Arc::new(master))).await
    }

    async fn change(&self, change: GroupChange) -> Result<(), BrokerError> {
        self.table
            .ask_owner(ShardMsg::Group(change))
            .await
            .map(drop)
    }

    /// On the owner: applies `change` at `now` (ms since the epoch), persists, publishes;
    /// returns the version that holds it.
    pub(in crate::broker) async fn apply_on_owner(
        &self,
        change: GroupChange,
        now: i64,
    ) -> Result<u64, BrokerError> {
        let apply = move |table: &mut GroupTable| match change {
            GroupChange::Update(config) => table.upsert(config, now),
            GroupChange::CreateIfAbsent(config) if table.get(&config.group_name).is_none() => {
                table.upsert(config, now)
            }
            GroupChange::CreateIfAbsent(_) => Ok(false),
            GroupChange::Delete(group) => Ok(table.remove(&group, now)),
            GroupChange::Adopt(master) => table.adopt(&master),
        };
        let (version, _) = self.table.apply_on_owner(apply).await?;
        Ok(version)
    }
}
