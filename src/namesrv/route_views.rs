//! Read-only views of the route table: what clients and admin tools are answered with.

use std::collections::BTreeSet;

use super::{LiveBroker, RouteTable};
use crate::wire::body::{BrokerData, ClusterInfo, DataVersion, TopicList, TopicRouteData};

impl RouteTable {
    /// The route clients get for `topic`; None when no live broker hosts it.
    pub fn route(&self, topic: &str) -> Option<TopicRouteData> {
        let by_broker = self.topics.get(topic)?;
        let broker_datas: Vec<BrokerData> = by_broker
            .keys()
            .filter_map(|name| self.broker_data(name))
            .collect();
        if broker_datas.is_empty() {
            return None;
        }
        Some(TopicRouteData {
            broker_datas,
            queue_datas: by_broker.values().cloned().collect(),
            ..TopicRouteData::default()
        })
    }

    fn broker_data(&self, broker_name: &str) -> Option<BrokerData> {
        let entry = self.brokers.get(broker_name)?;
        Some(BrokerData {
            broker_addrs: entry.addrs.clone(),
            broker_name: broker_name.to_owned(),
            cluster: entry.cluster.clone(),
            enable_acting_master: entry.enable_acting_master,
            zone_name: entry.zone_name.clone(),
        })
    }

    pub fn cluster_info(&self) -> ClusterInfo {
        ClusterInfo {
            broker_addr_table: self
                .brokers
                .keys()
                .filter_map(|name| Some((name.clone(), self.broker_data(name)?)))
                .collect(),
            cluster_addr_table: self
                .clusters
                .iter()
                .map(|(cluster, names)| (cluster.clone(), names.iter().cloned().collect()))
                .collect(),
        }
    }

    pub fn topic_list(&self) -> TopicList {
        TopicList {
            broker_addr: None,
            topic_list: self.topics.keys().cloned().collect(),
        }
    }

    /// Topics hosted by at least one broker of `cluster`.
    pub fn topics_of_cluster(&self, cluster: &str) -> TopicList {
        let names = self.clusters.get(cluster);
        let topic_list = self
            .topics
            .iter()
            .filter(|(_, by_broker)| {
                names.is_some_and(|names| by_broker.keys().any(|name| names.contains(name)))
            })
            .map(|(topic, _)| topic.clone())
            .collect();
        TopicList {
            broker_addr: None,
            topic_list,
        }
    }

    /// Cluster and broker names, which brokers host as topics of their own, and one broker
    /// address for the admin tool to ask about the rest (Java's system topic list).
    pub fn system_topics(&self) -> TopicList {
        let mut names = BTreeSet::new();
        for (cluster, brokers) in &self.clusters {
            names.insert(cluster.clone());
            names.extend(brokers.iter().cloned());
        }
        TopicList {
            broker_addr: self
                .brokers
                .values()
                .find_map(|entry| entry.addrs.values().next().cloned()),
            topic_list: names.into_iter().collect(),
        }
    }

    /// True when the broker at `addr` registered another data version, or none.
    pub fn data_version_changed(&self, addr: &str, version: &DataVersion) -> bool {
        self.live
            .get(addr)
            .map_or(true, |live| live.data_version != *version)
    }

    /// The liveness record of the broker at `addr`.
    pub fn live(&self, addr: &str) -> Option<&LiveBroker> {
        self.live.get(addr)
    }
}
