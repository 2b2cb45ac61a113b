//! A process-wide config table (topics, subscription groups): one owner shard changes it
//! and writes its file, every shard reads its own copy.
//!
//! Reads are local and never wait. A change asked on any shard travels to the owner over the
//! mesh; the owner applies changes in batches, one batch at a time (so changes and file
//! writes happen in order): each batch is applied to one copy, written off the reactor, then
//! published as one new version to every shard's copy ([`shards::Replicated`]). The asking
//! shard waits until its own copy holds the change before it answers.

use std::cell::RefCell;
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
    owner: Option<Owner<T>>,
}

struct Owner<T> {
    file: PathBuf,
    /// One batch at a time, file write included.
    serial: Semaphore,
    /// Changes waiting for the next batch, each with the slot its answer goes to.
    pending: RefCell<Vec<Pending<T>>>,
}

/// A change of `T`: `Ok(false)` when there is nothing to do.
type Change<T> = Box<dyn FnOnce(&mut T) -> Result<bool, BrokerError>>;

/// The answer to one change: the version that holds it and whether it changed anything.
type Answer = Rc<RefCell<Option<Result<(u64, bool), BrokerError>>>>;

struct Pending<T> {
    change: Change<T>,
    answer: Answer,
}

impl<T> std::fmt::Debug for Owner<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Owner")
            .field("file", &self.file)
            .field("pending", &self.pending.borrow().len())
            .finish_non_exhaustive()
    }
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
            pending: RefCell::new(Vec::new()),
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
    ///
    /// Changes are applied in batches: while one batch is written and published, the
    /// changes that arrive wait, and the first of them to get its turn applies all of them
    /// to one copy, one file write and one publication (the others find their answers
    /// ready). So a burst of changes costs one copy, write and publication per batch, not
    /// per change, and they are still applied in arrival order.
    pub async fn apply_on_owner(
        &self,
        change: impl FnOnce(&mut T) -> Result<bool, BrokerError> + 'static,
        save: fn(&Path, &T) -> std::io::Result<()>,
    ) -> Result<(u64, bool), BrokerError> {
        let Some(owner) = &self.owner else {
            return Err(BrokerError::Mesh(format!(
                "{} does not own the config tables",
                self.shard.id()
            )));
        };
        let answer: Answer = Rc::default();
        owner.pending.borrow_mut().push(Pending {
            change: Box::new(change),
            answer: answer.clone(),
        });
        let _permit = owner
            .serial
            .acquire_permit(1)
            .await
            .map_err(|err| BrokerError::Mesh(err.to_string()))?;
        if let Some(done) = answer.borrow_mut().take() {
            return done;
        }
        let batch = std::mem::take(&mut *owner.pending.borrow_mut());
        let result = self.apply_batch(owner, batch, save).await;
        let done = answer.borrow_mut().take();
        done.unwrap_or_else(|| Err(BrokerError::Mesh("a change was lost from its batch".into())))
            .and_then(|answer| result.map(|()| answer))
    }

    /// Applies `batch` in order to one copy of the table, then writes and publishes it once
    /// if anything changed, and fills every change's answer.
    async fn apply_batch(
        &self,
        owner: &Owner<T>,
        batch: Vec<Pending<T>>,
        save: fn(&Path, &T) -> std::io::Result<()>,
    ) -> Result<(), BrokerError> {
        let mut table = (*self.table.get()).clone();
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut changed = false;
        for Pending { change, answer } in batch {
            let outcome = change(&mut table);
            changed |= matches!(outcome, Ok(true));
            outcomes.push((answer, outcome));
        }
        let version = if changed {
            self.persist_and_publish(owner, table, save).await
        } else {
            Ok(self.version())
        };
        for (answer, outcome) in outcomes {
            let done = match (&version, outcome) {
                (_, Err(err)) => Err(err),
                (Ok(version), Ok(changed)) => Ok((*version, changed)),
                (Err(err), Ok(_)) => Err(err.clone()),
            };
            *answer.borrow_mut() = Some(done);
        }
        version.map(drop)
    }

    async fn persist_and_publish(
        &self,
        owner: &Owner<T>,
        table: T,
        save: fn(&Path, &T) -> std::io::Result<()>,
    ) -> Result<u64, BrokerError> {
        let file = owner.file.clone();
        let snapshot = table.clone();
        glommio::executor()
            .spawn_blocking(move || save(&file, &snapshot))
            .await
            .map_err(|err| BrokerError::Persist(format!("{}: {err}", owner.file.display())))?;
        self.table
            .publish(table)
            .await
            .map_err(|err| BrokerError::Mesh(err.to_string()))
    }
}
