//! Java's `ConfigManager` JSON files, as both the broker (`topics.json`,
//! `subscriptionGroup.json`, `consumerOffset.json`, `delayOffset.json`) and the NameServer
//! (`kvConfig.json`) keep them: reading one that may not exist yet, and replacing one so a
//! crash never leaves half of it and the previous content stays as `<file>.bak`
//! (docs/operations.md, "Files under storePathRootDir").
//!
//! Blocking functions: callers run them before the shards start or through
//! `spawn_blocking`, never on the reactor.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The bytes of `path`; `None` when it does not exist yet (a new store).
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, String> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(format!("cannot read {}: {err}", path.display())),
    }
}

/// Replaces `path` with `bytes` so that a crash at any point leaves either the old or the
/// new content, keeping the old content as `<path>.bak`: a temp file beside it, fsync, the
/// backup, rename, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir)?;
    let tmp = sibling(path, ".tmp");
    let mut file = File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    if path.exists() {
        // A hard link keeps the current file as the backup without a moment in which
        // `path` is missing; the rename makes the new backup appear whole.
        let bak_tmp = sibling(path, ".bak.tmp");
        let _ = fs::remove_file(&bak_tmp);
        if fs::hard_link(path, &bak_tmp).is_err() {
            fs::copy(path, &bak_tmp)?;
        }
        fs::rename(&bak_tmp, sibling(path, ".bak"))?;
    }
    fs::rename(&tmp, path)?;
    File::open(&dir)?.sync_all()
}

/// `path` with `suffix` appended to its file name (`<file>.bak`, `<file>.tmp`).
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(suffix);
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rewrite_keeps_the_previous_content_as_the_backup() {
        let dir = crate::storage::test_dir("config-file");
        let file = dir.join("config").join("topics.json");
        write_atomic(&file, b"first").expect("written");
        assert!(!sibling(&file, ".bak").exists(), "nothing to back up yet");
        write_atomic(&file, b"second").expect("rewritten");
        assert_eq!(read_optional(&file), Ok(Some(b"second".to_vec())));
        assert_eq!(fs::read(sibling(&file, ".bak")).expect("backup"), b"first");
        assert!(!sibling(&file, ".tmp").exists());
        let _ = fs::remove_dir_all(&dir);
    }
}
