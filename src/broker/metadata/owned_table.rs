//! A process-wide config table (topics, subscription groups): one owner shard changes it
//! and writes its file, every shard reads its own copy.
//!
//! Reads are local and never wait. A change asked on any shard travels to the owner over the
//! mesh; the owner applies it under a one-permit semaphore (so changes and file writes
//! happen in order), writes the file off the reactor, then publishes the new version to
//! every shard's copy ([`shards::Replicated`]). The asking shard waits until its own copy
//! holds the change before it answers.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use glommio::sync::Semaphore;
use shards::{Replicated, ShardId};

use crate::broker::{BrokerError, BrokerShard, ShardMsg, ShardReply};

/// Index of the shard that owns every process-wide table.
pub const TABLES_OWNER: usize = 0;

fn owner_id() -> ShardId {
    ShardId::new(TABLES_OWNER)
}

/// This shard's copy of a table `T`, and on the owner the right to change it.
#[derive(Debug)]
pub struct OwnedTable<T> {
    table: Replicated<T>,
    shard: BrokerShard,
    /// `Some` on the owner only.
    owner: Option<Owner>,
}

#[derive(Debug)]
struct Owner {
    file: PathBuf,
    /// One change at a time, file write included.
    serial: Semaphore,
}

impl<T: Clone + Send + 'static> OwnedTable<T> {
    /// Creates this shard's copy of the table `name`; every shard passes the same `initial`
    /// (loaded before the shards start).
    pub fn new(
        shard: &BrokerShard,
        name: &'static str,
        initial: T,
        file: PathBuf,
    ) -> Result<Self, shards::ReplicaError> {
        let table = Replicated::new(shard, name, owner_id(), initial)?;
        let owner = (shard.id() == owner_id()).then(|| Owner {
            file,
            serial: Semaphore::new(1),
        });
        Ok(OwnedTable {
            table,
            shard: shard.clone(),
            owner,
        })
    }

    /// The table as this shard holds it now.
    pub fn get(&self) -> Rc<T> {
        self.table.get()
    }

    /// Version of the local copy (one per published change).
    pub fn version(&self) -> u64 {
        self.table.version()
    }

    /// Resolves once the local copy has reached `version`.
    pub async fn wait_version(&self, version: u64) {
        self.table.wait_version(version).await;
    }

    /// Sends `change` to the owner and waits until this shard's copy holds its result.
    pub async fn ask_owner(&self, change: ShardMsg) -> Result<u64, BrokerError> {
        let reply = self
            .shard
            .request(owner_id(), change)
            .await
            .map_err(|err| BrokerError::Mesh(err.to_string()))?;
        match reply {
            ShardReply::Changed(Ok(version)) => {
                self.wait_version(version).await;
                Ok(version)
            }
            ShardReply::Changed(Err(err)) => Err(err),
            other => Err(BrokerError::Mesh(format!("unexpected reply {other:?}"))),
        }
    }

    /// On the owner: applies `change` to a copy of the table (`Ok(false)`: nothing to do),
    /// writes it with `save`, publishes it. Returns the version that holds the change (the
    /// current one when nothing changed) and whether it is new.
    pub async fn apply_on_owner(
        &self,
        change: impl FnOnce(&mut T) -> Result<bool, BrokerError>,
        save: fn(&Path, &T) -> std::io::Result<()>,
    ) -> Result<(u64, bool), BrokerError> {
        let Some(owner) = &self.owner else {
            return Err(BrokerError::Mesh(format!(
                "{} does not own the config tables",
                self.shard.id()
            )));
        };
        let _permit = owner
            .serial
            .acquire_permit(1)
            .await
            .map_err(|err| BrokerError::Mesh(err.to_string()))?;
        let mut table = (*self.table.get()).clone();
        if !change(&mut table)? {
            return Ok((self.version(), false));
        }
        let file = owner.file.clone();
        let snapshot = table.clone();
        glommio::executor()
            .spawn_blocking(move || save(&file, &snapshot))
            .await
            .map_err(|err| BrokerError::Persist(format!("{}: {err}", owner.file.display())))?;
        let version = self
            .table
            .publish(table)
            .await
            .map_err(|err| BrokerError::Mesh(err.to_string()))?;
        Ok((version, true))
    }
}
