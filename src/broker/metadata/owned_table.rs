//! A process-wide config table (topics, subscription groups): one owner shard changes it
//! and writes its file, every shard reads its own copy.
//!
//! Reads are local and never wait. A change asked on any shard travels to the owner over the
//! mesh; the owner applies changes in batches, one batch at a time (so changes and file
//! writes happen in order): each batch is applied to one copy, appended to the table's
//! journal off the reactor
//! ([`journal`](crate::broker::metadata::journal)), then published as one new version to every
//! shard's copy ([`shards::Replicated`]). The asking shard waits until its own copy holds
//! the change before it answers.
//!
//! The tables are persistent maps, so the copy a batch changes and the copies published
//! share everything the batch did not touch: with the journal, a batch costs its own size,
//! whatever the table's. A batch that does not move the table's data version forward (a
//! slave taking its master's version, which may be older) is written as a new snapshot
//! instead, since replay skips records not newer than the snapshot.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;

use glommio::sync::Semaphore;
use shards::{Replicated, ShardId};

use crate::broker::metadata::journal::{Journal, Journaled};
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
    /// The table's journal: opened by the first batch, and away on a blocking thread while
    /// a batch writes it.
    journal: RefCell<Option<Journal>>,
    /// The background compaction: held while one runs (one permit), and the size of the
    /// snapshot the last one wrote, for the next batch to tell the journal.
    compaction: Rc<Semaphore>,
    compacted: Rc<Cell<Option<u64>>>,
}

/// A change of `T`: `Ok(false)` when there is nothing to do.
type Change<T> = Box<dyn FnOnce(&mut T) -> Result<bool, BrokerError>>;

/// The answer to one change: the version that holds it and whether it changed anything.
type Answer = Rc<RefCell<Option<Result<(u64, bool), BrokerError>>>>;

struct Pending<T> {
    change: Change<T>,
    answer: Answer,
}

impl<T> Owner<T> {
    /// Runs `work` on the table's journal off the reactor, opening the journal first if no
    /// batch has yet. Batches run one at a time, so nothing else holds it meanwhile.
    async fn on_journal<R: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Journal) -> std::io::Result<R> + Send + 'static,
    ) -> std::io::Result<R> {
        let journal = self.journal.borrow_mut().take();
        let file = self.file.clone();
        let (journal, done) = glommio::executor()
            .spawn_blocking(move || {
                let mut journal = match journal {
                    Some(journal) => journal,
                    None => match Journal::open(&file) {
                        Ok(journal) => journal,
                        Err(err) => return (None, Err(err)),
                    },
                };
                let done = work(&mut journal);
                (Some(journal), done)
            })
            .await;
        *self.journal.borrow_mut() = journal;
        done
    }
}

impl<T> std::fmt::Debug for Owner<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Owner")
            .field("file", &self.file)
            .field("pending", &self.pending.borrow().len())
            .finish_non_exhaustive()
    }
}

impl<T: Journaled> OwnedTable<T> {
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
            journal: RefCell::new(None),
            compaction: Rc::new(Semaphore::new(1)),
            compacted: Rc::default(),
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
    /// journals it, publishes it. Returns the version that holds the change (the
    /// current one when nothing changed) and whether it is new.
    ///
    /// Changes are applied in batches: while one batch is written and published, the
    /// changes that arrive wait, and the first of them to get its turn applies all of them
    /// to one copy, one journal write and one publication (the others find their answers
    /// ready). So a burst of changes costs one journal write and publication per batch, not
    /// per change, and they are still applied in arrival order.
    pub async fn apply_on_owner(
        &self,
        change: impl FnOnce(&mut T) -> Result<bool, BrokerError> + 'static,
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
        let result = self.apply_batch(owner, batch).await;
        let done = answer.borrow_mut().take();
        done.unwrap_or_else(|| Err(BrokerError::Mesh("a change was lost from its batch".into())))
            .and_then(|answer| result.map(|()| answer))
    }

    /// Applies `batch` in order to one copy of the table, then journals and publishes it
    /// once if anything changed, and fills every change's answer.
    async fn apply_batch(
        &self,
        owner: &Owner<T>,
        batch: Vec<Pending<T>>,
    ) -> Result<(), BrokerError> {
        let mut table = (*self.table.get()).clone();
        let before = table.counter();
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut changed = false;
        for Pending { change, answer } in batch {
            let outcome = change(&mut table);
            changed |= matches!(outcome, Ok(true));
            outcomes.push((answer, outcome));
        }
        let version = if changed {
            // Every change moves the counter forward but a slave's taking of its master's
            // version, which may not (docs/replication.md).
            let whole = table.counter() <= before;
            self.persist_and_publish(owner, table, whole).await
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

    /// Persists `table` (as a journal record, or `whole`: as a new snapshot), then
    /// publishes it.
    async fn persist_and_publish(
        &self,
        owner: &Owner<T>,
        mut table: T,
        whole: bool,
    ) -> Result<u64, BrokerError> {
        let persist_error = |err: &dyn std::fmt::Display| {
            BrokerError::Persist(format!("{}: {err}", owner.file.display()))
        };
        if whole {
            // Replay keeps only records newer than the snapshot, and this table's version
            // is not: it becomes the snapshot.
            table.take_record();
            self.write_whole(owner, &table)
                .await
                .map_err(|err| persist_error(&err))?;
        } else if let Some(record) = table.take_record() {
            let compacted = owner.compacted.take();
            owner
                .on_journal(move |journal| {
                    if let Some(bytes) = compacted {
                        journal.compacted(bytes);
                    }
                    journal.append(&record)
                })
                .await
                .map_err(|err| persist_error(&err))?;
            self.compact_if_due(owner, &table).await;
        }
        self.table
            .publish(table)
            .await
            .map_err(|err| BrokerError::Mesh(err.to_string()))
    }

    /// Writes `table` as the snapshot and empties the journals ([`Journal::restart`]),
    /// once no compaction runs (one would write an older snapshot over it).
    async fn write_whole(&self, owner: &Owner<T>, table: &T) -> std::io::Result<()> {
        let _idle = owner
            .compaction
            .acquire_permit(1)
            .await
            .map_err(|err| std::io::Error::other(err.to_string()))?;
        owner.compacted.take();
        let snapshot = table.snapshot();
        owner
            .on_journal(move |journal| journal.restart(&snapshot))
            .await
    }

    /// Folds the journal into a new snapshot of `table` when it has outgrown the last one:
    /// the journal is rotated now, between batches, and the snapshot written in the
    /// background, so no batch waits for a write of the whole table.
    async fn compact_if_due(&self, owner: &Owner<T>, table: &T) {
        let due = owner
            .journal
            .borrow()
            .as_ref()
            .is_some_and(Journal::wants_compaction);
        if !due {
            return;
        }
        // Free unless a compaction still runs: only a batch takes it otherwise, and
        // batches run one at a time.
        let Ok(running) = owner.compaction.try_acquire_static_permit(1) else {
            return;
        };
        let compaction = match owner.on_journal(Journal::rotate).await {
            Ok(compaction) => compaction,
            Err(err) => {
                tracing::warn!(file = %owner.file.display(), %err, "cannot rotate the journal");
                return;
            }
        };
        let compacted = owner.compacted.clone();
        let (table, file) = (table.clone(), owner.file.clone());
        glommio::spawn_local(async move {
            let written = glommio::executor()
                .spawn_blocking(move || compaction.run(&table.snapshot()))
                .await;
            match written {
                Ok(bytes) => compacted.set(Some(bytes)),
                Err(err) => {
                    tracing::warn!(file = %file.display(), %err, "cannot compact the journal")
                }
            }
            drop(running);
        })
        .detach();
    }
}
