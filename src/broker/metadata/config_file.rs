//! The broker's JSON config files under `<storePathRootDir>/config/` (`topics.json`,
//! `subscriptionGroup.json`): reading one that may not exist yet, and replacing one so a
//! crash never leaves half of it.
//!
//! Blocking functions: callers run them before the shards start or through
//! `spawn_blocking`, never on the reactor.

use std::io::Write;
use std::path::{Path, PathBuf};

/// `<storePathRootDir>/config/<name>`: process-wide files, like the tables they hold.
pub fn path(store_root: &Path, name: &str) -> PathBuf {
    store_root.join("config").join(name)
}

/// The bytes of `path`; `None` when it does not exist yet (a new store).
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, String> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(format!("cannot read {}: {err}", path.display())),
    }
}

/// Replaces `path` with `bytes` atomically: a temp file beside it, fsync, rename, fsync of
/// the directory. A crash leaves the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let temp = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temp, path)?;
    std::fs::File::open(dir)?.sync_all()
}
