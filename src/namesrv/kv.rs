//! The NameServer's KV config (docs/protocol.md §2.9.5): namespace → key → value.
//!
//! Clients read the `ORDER_TOPIC_CONFIG` namespace; registering brokers get it back. The
//! total number of entries is bounded by [`limits::NAMESRV_KV_ENTRIES_MAX`].
//!
//! Kept in `kvConfigPath` (docs/operations.md, "The NameServer's configuration") in Java's
//! format, `{"configTable":{"<namespace>":{"<key>":"<value>"}}}`, so a Java NameServer's file
//! loads here and the other way round. [`KvConfig::load`] reads it before the NameServer
//! starts (a file that is not that JSON stops start-up), and every change is written
//! whole with [`crate::config::file::write_atomic`] before it is acknowledged.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::NamesrvError;
use crate::config::file;
use crate::limits;
use crate::wire::body::KvTable;

/// Java's `KVConfigSerializeWrapper`: the whole file.
#[derive(Debug, Default, Serialize, Deserialize)]
struct KvConfigFile {
    #[serde(rename = "configTable", default)]
    config_table: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KvConfig {
    namespaces: BTreeMap<String, BTreeMap<String, String>>,
    entries: usize,
}

impl KvConfig {
    pub fn new() -> Self {
        KvConfig::default()
    }

    /// Reads the file at `path`; a missing file is an empty config. Blocking: call it
    /// before the NameServer's shard starts.
    pub fn load(path: &Path) -> Result<Self, String> {
        let Some(bytes) = file::read_optional(path)? else {
            return Ok(KvConfig::new());
        };
        let parsed: KvConfigFile = serde_json::from_slice(&bytes).map_err(|err| {
            format!(
                "{} is not a KV config ({err}); compare it with {} (the previous good \
                 version) and copy that over it, or move it away to start with no KV config",
                path.display(),
                file::sibling(path, ".bak").display()
            )
        })?;
        let mut kv = KvConfig::new();
        for (namespace, table) in parsed.config_table {
            for (key, value) in table {
                kv.put(&namespace, &key, &value).map_err(|_| {
                    format!(
                        "{} holds more than {} KV entries",
                        path.display(),
                        limits::NAMESRV_KV_ENTRIES_MAX
                    )
                })?;
            }
        }
        Ok(kv)
    }

    /// The file's bytes for the config as it stands.
    pub fn encode(&self) -> Vec<u8> {
        let wrapper = KvConfigFile {
            config_table: self.namespaces.clone(),
        };
        serde_json::to_vec_pretty(&wrapper).unwrap_or_default()
    }

    pub fn put(&mut self, namespace: &str, key: &str, value: &str) -> Result<(), NamesrvError> {
        let exists = self
            .namespaces
            .get(namespace)
            .is_some_and(|table| table.contains_key(key));
        if !exists && self.entries >= limits::NAMESRV_KV_ENTRIES_MAX {
            return Err(NamesrvError::TooManyKvEntries);
        }
        let table = self.namespaces.entry(namespace.to_owned()).or_default();
        if table.insert(key.to_owned(), value.to_owned()).is_none() {
            self.entries += 1;
        }
        Ok(())
    }

    pub fn get(&self, namespace: &str, key: &str) -> Option<&str> {
        self.namespaces.get(namespace)?.get(key).map(String::as_str)
    }

    pub fn delete(&mut self, namespace: &str, key: &str) {
        let Some(table) = self.namespaces.get_mut(namespace) else {
            return;
        };
        if table.remove(key).is_some() {
            self.entries -= 1;
        }
        if table.is_empty() {
            self.namespaces.remove(namespace);
        }
    }

    /// The whole namespace; None when it holds nothing.
    pub fn namespace(&self, namespace: &str) -> Option<KvTable> {
        let table = self.namespaces.get(namespace)?;
        Some(KvTable {
            table: table.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_delete_and_list() {
        let mut kv = KvConfig::new();
        assert_eq!(kv.get("ORDER_TOPIC_CONFIG", "T"), None);
        kv.put("ORDER_TOPIC_CONFIG", "T", "broker-a:4")
            .expect("room");
        kv.put("ORDER_TOPIC_CONFIG", "T", "broker-a:8")
            .expect("room");
        assert_eq!(kv.get("ORDER_TOPIC_CONFIG", "T"), Some("broker-a:8"));
        assert_eq!(kv.entries, 1);
        let table = kv.namespace("ORDER_TOPIC_CONFIG").expect("present");
        assert_eq!(table.table.get("T").map(String::as_str), Some("broker-a:8"));
        kv.delete("ORDER_TOPIC_CONFIG", "T");
        assert_eq!(kv.entries, 0);
        assert_eq!(kv.namespace("ORDER_TOPIC_CONFIG"), None);
    }

    #[test]
    fn the_file_is_javas_and_a_damaged_one_is_an_error() {
        let dir = crate::storage::test_dir("kv-config");
        let path = dir.join("kvConfig.json");
        assert_eq!(KvConfig::load(&path), Ok(KvConfig::new()), "missing: empty");
        let mut kv = KvConfig::new();
        kv.put("ORDER_TOPIC_CONFIG", "T", "broker-a:4")
            .expect("room");
        kv.put("ns", "k", "v").expect("room");
        file::write_atomic(&path, &kv.encode()).expect("written");
        let text = std::fs::read_to_string(&path).expect("read");
        let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(json["configTable"]["ns"]["k"], "v", "{text}");
        assert_eq!(KvConfig::load(&path), Ok(kv));

        // A Java NameServer's file (fastjson, compact) loads as well.
        std::fs::write(
            &path,
            r#"{"configTable":{"ORDER_TOPIC_CONFIG":{"T":"b:8"}}}"#,
        )
        .expect("written");
        let java = KvConfig::load(&path).expect("Java's file");
        assert_eq!(java.get("ORDER_TOPIC_CONFIG", "T"), Some("b:8"));

        std::fs::write(&path, b"{\"configTable\":{\"ns\":").expect("written");
        let err = KvConfig::load(&path).expect_err("damaged");
        assert!(
            err.contains("kvConfig.json") && err.contains(".bak"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
