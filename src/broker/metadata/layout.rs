//! The shard count a store belongs to (docs/storage.md, "The shard count").
//!
//! Each shard keeps its messages, queues and offsets under `shard-<k>/`, and the topic
//! table places each queue on one shard, so a store is readable only by the shard count that
//! wrote it: with fewer shards, the data under the missing `shard-<k>` would be unreachable,
//! with more, queues would move. The count is recorded in `config/shards.json` when a store is
//! first opened, and a start-up with another count is refused with a message naming both.
//!
//! Stores written before the count was recorded (where every shard hosted every topic's
//! queues in full) are recognised by their `shard-<k>` directories: their count is the
//! number of those, and their topics are read in that layout once
//! ([`crate::broker::metadata::topics`]), then the count is recorded.
//!
//! Blocking; runs before the shards start.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::broker::metadata::config_file;
use crate::wire::body;

/// `config/shards.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShardsFile {
    shard_count: usize,
}

/// What the store at hand is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreLayout {
    /// Nothing written yet.
    New,
    /// Written with queues placed, and its shard count recorded.
    Placed,
    /// Written before the shard count was recorded: every shard held every topic's queues.
    Copied,
}

/// `<storePathRootDir>/config/shards.json`.
pub fn shards_file(store_root: &Path) -> PathBuf {
    config_file::path(store_root, "shards.json")
}

/// What the store at `root` is, refusing it when it was written with a shard count other
/// than `shards`. `asked` says where `shards` came from, for the message.
pub fn check(root: &Path, shards: usize, asked: &str) -> Result<StoreLayout, String> {
    let file = shards_file(root);
    let refuse = |found: usize, evidence: String| {
        Err(format!(
            "store {} was written by {found} shards ({evidence}), but this start has \
             {shards} ({asked}); start with --shards {found} (or shards={found} in \
             broker.conf): each shard's messages and offsets are under shard-<k>/ and \
             another count cannot reach them",
            root.display()
        ))
    };
    if let Some(bytes) = config_file::read_optional(&file)? {
        let recorded: ShardsFile = body::decode(&bytes, "shards.json")
            .map_err(|err| format!("{}: {err}", file.display()))?;
        if recorded.shard_count != shards {
            return refuse(
                recorded.shard_count,
                format!("recorded in {}", file.display()),
            );
        }
        return Ok(StoreLayout::Placed);
    }
    let Some(found) = shard_dirs(root)? else {
        return Ok(StoreLayout::New);
    };
    if found != shards {
        return refuse(found, format!("it holds shard-0 to shard-{}", found - 1));
    }
    Ok(StoreLayout::Copied)
}

/// Records `shards` as the store's count. Blocking; atomic.
pub fn record(root: &Path, shards: usize) -> std::io::Result<()> {
    let bytes = body::encode(&ShardsFile {
        shard_count: shards,
    });
    config_file::write_atomic(&shards_file(root), &bytes)
}

/// How many shards wrote the directories under `root`: one more than the highest
/// `shard-<k>`; `None` when there is none.
fn shard_dirs(root: &Path) -> Result<Option<usize>, String> {
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(format!("cannot read {}: {err}", root.display())),
    };
    let mut highest = None;
    for entry in entries {
        let entry = entry.map_err(|err| format!("cannot read {}: {err}", root.display()))?;
        let name = entry.file_name();
        let index = name
            .to_str()
            .and_then(|name| name.strip_prefix("shard-"))
            .and_then(|k| k.parse::<usize>().ok());
        if let Some(index) = index.filter(|_| entry.path().is_dir()) {
            highest = highest.max(Some(index));
        }
    }
    Ok(highest.map(|k| k + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_is_new_copied_or_placed_and_keeps_its_count() {
        let root = crate::storage::test_dir("layout");
        assert_eq!(check(&root, 2, "--shards"), Ok(StoreLayout::New));
        std::fs::create_dir_all(root.join("shard-0")).expect("dir");
        std::fs::create_dir_all(root.join("shard-1")).expect("dir");
        assert_eq!(check(&root, 2, "--shards"), Ok(StoreLayout::Copied));
        let refused = check(&root, 4, "the CPUs it may use").expect_err("other count");
        assert!(refused.contains("written by 2 shards"), "{refused}");
        assert!(refused.contains("shard-0 to shard-1"), "{refused}");
        assert!(refused.contains("--shards 2"), "{refused}");
        record(&root, 2).expect("recorded");
        assert_eq!(check(&root, 2, "--shards"), Ok(StoreLayout::Placed));
        let refused = check(&root, 1, "--shards 1").expect_err("other count");
        assert!(refused.contains("shards.json"), "{refused}");
        std::fs::write(shards_file(&root), b"{").expect("damaged");
        assert!(check(&root, 2, "--shards").is_err(), "never guessed");
        let _ = std::fs::remove_dir_all(&root);
    }
}
