//! Per-shard copies of read-mostly values, updated by the owner shard and broadcast.
//!
//! Owns the shard-local [`Registry`] of named copies and the [`Replicated`] handle. Every
//! shard holds its own `Rc<T>`; readers take it without locks. Only the owner shard publishes;
//! each publish gets the next version and travels to every other shard over the request
//! links. Invariants: a copy's version never decreases (a late update is ignored); an update
//! that arrives before the shard created its copy is kept (newest only) and applied at
//! creation, so every shard converges on the owner's latest value.

use std::{
    any::Any,
    cell::{Cell, RefCell},
    collections::HashMap,
    fmt,
    rc::Rc,
};

use crate::{
    notify::Notify,
    shard::{ControlLink, Core, Shard},
    ShardId,
};

/// Why a replicated value could not be created or published.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplicaError {
    /// Only the owner shard publishes.
    NotOwner { owner: ShardId, shard: ShardId },
    /// This shard already has a replicated value with that name.
    DuplicateName(&'static str),
    /// The owner is not a shard of this launch.
    UnknownOwner { owner: ShardId, count: usize },
}

impl fmt::Display for ReplicaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplicaError::NotOwner { owner, shard } => {
                write!(f, "{shard} cannot publish: {owner} owns this value")
            }
            ReplicaError::DuplicateName(name) => {
                write!(
                    f,
                    "a replicated value named `{name}` already exists on this shard"
                )
            }
            ReplicaError::UnknownOwner { owner, count } => {
                write!(
                    f,
                    "owner {owner} does not exist (this process runs {count} shards)"
                )
            }
        }
    }
}

impl std::error::Error for ReplicaError {}

struct LocalCopy<T> {
    version: Cell<u64>,
    value: RefCell<Rc<T>>,
    changed: Notify,
}

impl<T> LocalCopy<T> {
    /// Installs `value` if it is newer than the current copy.
    fn offer(&self, version: u64, value: T) -> bool {
        if version <= self.version.get() {
            return false;
        }
        self.version.set(version);
        self.value.replace(Rc::new(value));
        self.changed.notify_all();
        true
    }
}

/// A version and its value, type-erased until the copy it belongs to exists.
type EarlyUpdate = (u64, Box<dyn Any>);

/// The named copies of one shard, type-erased so that [`Core`] stays non-generic.
#[derive(Default)]
pub(crate) struct Registry {
    copies: RefCell<HashMap<&'static str, Rc<dyn Any>>>,
    /// Updates that arrived before the shard created the copy: (version, value).
    early: RefCell<HashMap<&'static str, EarlyUpdate>>,
}

impl Registry {
    fn apply<T: 'static>(&self, name: &'static str, version: u64, value: T) {
        let copy = self.copies.borrow().get(name).cloned();
        match copy {
            Some(copy) => match copy.downcast::<LocalCopy<T>>() {
                Ok(copy) => {
                    copy.offer(version, value);
                }
                Err(_) => tracing::error!(name, "replicated update of another type ignored"),
            },
            None => {
                let mut early = self.early.borrow_mut();
                let newer = early.get(name).map_or(true, |(seen, _)| *seen < version);
                if newer {
                    early.insert(name, (version, Box::new(value)));
                }
            }
        }
    }

    fn register<T: 'static>(
        &self,
        name: &'static str,
        copy: Rc<LocalCopy<T>>,
    ) -> Result<(), ReplicaError> {
        let mut copies = self.copies.borrow_mut();
        if copies.contains_key(name) {
            return Err(ReplicaError::DuplicateName(name));
        }
        if let Some((version, value)) = self.early.borrow_mut().remove(name) {
            match value.downcast::<T>() {
                Ok(value) => {
                    copy.offer(version, *value);
                }
                Err(_) => tracing::error!(name, "early replicated update of another type ignored"),
            }
        }
        copies.insert(name, copy);
        Ok(())
    }
}

/// This shard's copy of a value owned by one shard and replicated to all.
///
/// Every shard creates it with the same name (typically at start-up); the owner publishes.
pub struct Replicated<T> {
    name: &'static str,
    owner: ShardId,
    copy: Rc<LocalCopy<T>>,
    link: Rc<dyn ControlLink>,
}

impl<T> fmt::Debug for Replicated<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replicated")
            .field("name", &self.name)
            .field("owner", &self.owner)
            .field("version", &self.copy.version.get())
            .finish_non_exhaustive()
    }
}

impl<T: Clone + Send + 'static> Replicated<T> {
    /// Creates this shard's copy of `name`, starting at version 0 with `initial` (every shard
    /// should pass the same initial value).
    pub fn new<M: Send + 'static, R: Send + 'static>(
        shard: &Shard<M, R>,
        name: &'static str,
        owner: ShardId,
        initial: T,
    ) -> Result<Self, ReplicaError> {
        if owner.index() >= shard.count() {
            return Err(ReplicaError::UnknownOwner {
                owner,
                count: shard.count(),
            });
        }
        let copy = Rc::new(LocalCopy {
            version: Cell::new(0),
            value: RefCell::new(Rc::new(initial)),
            changed: Notify::default(),
        });
        shard.core().replicas.register(name, copy.clone())?;
        Ok(Replicated {
            name,
            owner,
            copy,
            link: shard.control_link(),
        })
    }

    /// The local copy. Cheap; never waits.
    pub fn get(&self) -> Rc<T> {
        self.copy.value.borrow().clone()
    }

    /// Version of the local copy: 0 for the initial value, then one per publish.
    pub fn version(&self) -> u64 {
        self.copy.version.get()
    }

    /// The shard that publishes this value.
    pub fn owner(&self) -> ShardId {
        self.owner
    }

    /// On the owner: installs `value` locally, then sends it to every other shard (waiting
    /// while their mailboxes are full). Stopped shards are skipped. Returns the new version.
    pub async fn publish(&self, value: T) -> Result<u64, ReplicaError> {
        let core = self.link.core();
        if core.id != self.owner {
            return Err(ReplicaError::NotOwner {
                owner: self.owner,
                shard: core.id,
            });
        }
        let version = self.copy.version.get() + 1;
        self.copy.offer(version, value.clone());
        let name = self.name;
        let me = core.id;
        for peer in (0..core.count).map(ShardId::new).filter(|&p| p != me) {
            let value = value.clone();
            let update = Box::new(move |core: &Core| core.replicas.apply(name, version, value));
            if let Err(error) = self.link.send_control(peer, update).await {
                tracing::debug!(name, %peer, %error, "replicated update not delivered");
            }
        }
        Ok(version)
    }

    /// Resolves once the local copy has reached at least `version`.
    pub async fn wait_version(&self, version: u64) {
        while self.copy.version.get() < version {
            self.copy.changed.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(value: &'static str) -> Rc<LocalCopy<&'static str>> {
        Rc::new(LocalCopy {
            version: Cell::new(0),
            value: RefCell::new(Rc::new(value)),
            changed: Notify::default(),
        })
    }

    #[test]
    fn late_update_never_overwrites_a_newer_one() {
        let registry = Registry::default();
        let table = copy("v0");
        registry
            .register("table", table.clone())
            .expect("first registration");
        registry.apply("table", 2, "v2");
        registry.apply("table", 1, "v1");
        assert_eq!((table.version.get(), **table.value.borrow()), (2, "v2"));
    }

    #[test]
    fn early_updates_keep_the_newest_and_apply_at_creation() {
        let registry = Registry::default();
        registry.apply("table", 3, "v3");
        registry.apply("table", 1, "v1");
        let table = copy("v0");
        registry
            .register("table", table.clone())
            .expect("registration");
        assert_eq!((table.version.get(), **table.value.borrow()), (3, "v3"));
        assert_eq!(
            registry.register("table", copy("again")),
            Err(ReplicaError::DuplicateName("table"))
        );
    }
}
