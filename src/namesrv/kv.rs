//! The NameServer's KV config (docs/protocol.md §2.9.5): namespace → key → value, held in memory.
//!
//! Clients read the `ORDER_TOPIC_CONFIG` namespace; registering brokers get it back. The
//! total number of entries is bounded by [`limits::NAMESRV_KV_ENTRIES_MAX`].

use std::collections::BTreeMap;

use super::error::NamesrvError;
use crate::limits;
use crate::wire::body::KvTable;

#[derive(Debug, Default)]
pub struct KvConfig {
    namespaces: BTreeMap<String, BTreeMap<String, String>>,
    entries: usize,
}

impl KvConfig {
    pub fn new() -> Self {
        KvConfig::default()
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
}
