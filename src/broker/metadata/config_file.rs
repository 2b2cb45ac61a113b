//! The broker's JSON files under a `config/` directory, Java's `ConfigManager` files: the
//! process-wide `topics.json` and `subscriptionGroup.json`, and each shard's
//! `consumerOffset.json` and `delayOffset.json`. Reading and replacing them is
//! [`crate::config::file`]'s, shared with the NameServer's `kvConfig.json`.

use std::path::{Path, PathBuf};

pub use crate::config::file::{read_optional, sibling, write_atomic};

/// `<storePathRootDir>/config/<name>`: process-wide files, like the tables they hold.
pub fn path(store_root: &Path, name: &str) -> PathBuf {
    store_root.join("config").join(name)
}
