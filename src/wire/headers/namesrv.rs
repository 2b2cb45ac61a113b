//! NameServer requests (docs/protocol.md §2.9): route lookup, broker (un)registration, topics and
//! the KV config.

use super::command_header;

command_header! {
    /// GET_ROUTEINFO_BY_TOPIC (105) request.
    pub struct GetRouteInfoRequestHeader {
        req topic: String = "topic",
        /// Routes are always standard JSON here, so this only records what was asked.
        opt accept_standard_json_only: bool = "acceptStandardJsonOnly",
    }
}

command_header! {
    /// REGISTER_BROKER (103) request, broker to NameServer.
    pub struct RegisterBrokerRequestHeader {
        req broker_name: String = "brokerName",
        /// `ip:port`.
        req broker_addr: String = "brokerAddr",
        req cluster_name: String = "clusterName",
        req ha_server_addr: String = "haServerAddr",
        /// 0 for a master.
        req broker_id: i64 = "brokerId",
        /// 5.x; 120 000 when absent.
        opt heartbeat_timeout_millis: i64 = "heartbeatTimeoutMillis",
        opt enable_acting_master: bool = "enableActingMaster",
        /// The body is a zlib stream (docs/protocol.md §2.9.2).
        def compressed: bool = "compressed",
        /// CRC of the body; 0 means unchecked.
        def body_crc32: i32 = "bodyCrc32",
        opt zone_name: String = "__ZONE_NAME",
        /// shardmq's own (Java ignores it): this body is part `registrationPart` (from 0) of
        /// the `registrationParts` one registration was split into (docs/protocol.md §2.9.2).
        opt registration_part: i32 = "registrationPart",
        opt registration_parts: i32 = "registrationParts",
        /// shardmq's own (Java ignores it): the body lists only the topics that changed
        /// since the broker's last registration; the others stay (docs/protocol.md §2.9.2).
        opt registration_increment: bool = "registrationIncrement",
    }
}

command_header! {
    /// REGISTER_BROKER (103) response.
    pub struct RegisterBrokerResponseHeader {
        opt ha_server_addr: String = "haServerAddr",
        /// For a slave: its master's address.
        opt master_addr: String = "masterAddr",
    }
}

command_header! {
    /// UNREGISTER_BROKER (104) request.
    pub struct UnregisterBrokerRequestHeader {
        req broker_name: String = "brokerName",
        req broker_addr: String = "brokerAddr",
        req cluster_name: String = "clusterName",
        req broker_id: i64 = "brokerId",
    }
}

command_header! {
    /// DELETE_TOPIC_IN_NAMESRV (216) request.
    pub struct DeleteTopicFromNamesrvRequestHeader {
        req topic: String = "topic",
        opt cluster_name: String = "clusterName",
    }
}

command_header! {
    /// REGISTER_TOPIC_IN_NAMESRV (217) request; the body is a `TopicRouteData` whose queue
    /// data is recorded for brokers the NameServer knows.
    pub struct RegisterTopicRequestHeader {
        req topic: String = "topic",
    }
}

command_header! {
    /// GET_TOPICS_BY_CLUSTER (224) request.
    pub struct GetTopicsByClusterRequestHeader {
        req cluster: String = "cluster",
    }
}

command_header! {
    /// PUT_KV_CONFIG (100) request.
    pub struct PutKvConfigRequestHeader {
        req namespace: String = "namespace",
        req key: String = "key",
        req value: String = "value",
    }
}

command_header! {
    /// GET_KV_CONFIG (101) and DELETE_KV_CONFIG (102) request.
    pub struct KvConfigKeyRequestHeader {
        req namespace: String = "namespace",
        req key: String = "key",
    }
}

command_header! {
    /// GET_KV_CONFIG (101) response.
    pub struct GetKvConfigResponseHeader {
        opt value: String = "value",
    }
}

command_header! {
    /// GET_KVLIST_BY_NAMESPACE (219) request.
    pub struct GetKvListByNamespaceRequestHeader {
        req namespace: String = "namespace",
    }
}

command_header! {
    /// BROKER_HEARTBEAT (904) request (5.x), which refreshes a broker's registration without
    /// resending its topics. Only the fields the NameServer reads are listed.
    pub struct BrokerHeartbeatRequestHeader {
        req cluster_name: String = "clusterName",
        req broker_addr: String = "brokerAddr",
        req broker_name: String = "brokerName",
        opt heartbeat_timeout_millis: i64 = "heartbeatTimeoutMills",
    }
}

command_header! {
    /// QUERY_DATA_VERSION (322) request: a broker with `forceRegister=false` asks whether
    /// the NameServer holds its current topic version before registering; the body is its
    /// `DataVersion`.
    pub struct QueryDataVersionRequestHeader {
        req broker_name: String = "brokerName",
        req broker_addr: String = "brokerAddr",
        req cluster_name: String = "clusterName",
        req broker_id: i64 = "brokerId",
    }
}

command_header! {
    /// QUERY_DATA_VERSION (322) response.
    pub struct QueryDataVersionResponseHeader {
        opt changed: bool = "changed",
    }
}

command_header! {
    /// WIPE_WRITE_PERM_OF_BROKER (205) and ADD_WRITE_PERM_OF_BROKER (327) request (mqadmin
    /// wipeWritePerm / addWritePerm).
    pub struct BrokerPermRequestHeader {
        req broker_name: String = "brokerName",
    }
}

command_header! {
    /// WIPE_WRITE_PERM_OF_BROKER (205) response.
    pub struct WipeWritePermOfBrokerResponseHeader {
        req wipe_topic_count: i32 = "wipeTopicCount",
    }
}

command_header! {
    /// ADD_WRITE_PERM_OF_BROKER (327) response.
    pub struct AddWritePermOfBrokerResponseHeader {
        req add_topic_count: i32 = "addTopicCount",
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::assert_round_trip;
    use super::super::CommandHeader;
    use super::*;
    use crate::wire::ExtFields;

    #[test]
    fn every_header_round_trips() {
        assert_round_trip(&GetRouteInfoRequestHeader::sample());
        assert_round_trip(&RegisterBrokerRequestHeader::sample());
        assert_round_trip(&RegisterBrokerResponseHeader::sample());
        assert_round_trip(&UnregisterBrokerRequestHeader::sample());
        assert_round_trip(&DeleteTopicFromNamesrvRequestHeader::sample());
        assert_round_trip(&RegisterTopicRequestHeader::sample());
        assert_round_trip(&GetTopicsByClusterRequestHeader::sample());
        assert_round_trip(&PutKvConfigRequestHeader::sample());
        assert_round_trip(&KvConfigKeyRequestHeader::sample());
        assert_round_trip(&GetKvConfigResponseHeader::sample());
        assert_round_trip(&GetKvListByNamespaceRequestHeader::sample());
        assert_round_trip(&BrokerHeartbeatRequestHeader::sample());
        assert_round_trip(&QueryDataVersionRequestHeader::sample());
        assert_round_trip(&QueryDataVersionResponseHeader::sample());
        assert_round_trip(&BrokerPermRequestHeader::sample());
        assert_round_trip(&WipeWritePermOfBrokerResponseHeader::sample());
        assert_round_trip(&AddWritePermOfBrokerResponseHeader::sample());
    }

    #[test]
    fn java_primitives_default_when_absent_and_are_always_written() {
        let header = RegisterBrokerRequestHeader {
            broker_name: "broker-a".into(),
            broker_addr: "10.0.0.1:10911".into(),
            cluster_name: "DefaultCluster".into(),
            ha_server_addr: "10.0.0.1:10912".into(),
            ..Default::default()
        };
        let mut fields = ExtFields::new();
        header.encode(&mut fields);
        assert_eq!(fields.get("compressed"), Some("false"));
        assert_eq!(fields.get("bodyCrc32"), Some("0"));
        fields.remove("compressed");
        fields.remove("bodyCrc32");
        assert_eq!(RegisterBrokerRequestHeader::decode(&fields), Ok(header));
    }
}
