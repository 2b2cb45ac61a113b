//! Numeric codes of the remoting protocol (docs/protocol.md §1.5, §2.1, §2.2): request codes,
//! response codes and the sender-language byte, each with a `name()` for logs.
//!
//! Codes are plain `i32` (`u8` for languages) constants rather than enums because the wire
//! carries codes this broker does not know, and those must survive decoding so the broker can
//! answer REQUEST_CODE_NOT_SUPPORTED with the code it was sent.

/// Declares a module of constants and a `name()` that maps a value back to its constant's name.
macro_rules! code_table {
    ($(#[$doc:meta])* $module:ident: $t:ty { $($(#[$cdoc:meta])* $name:ident = $value:expr,)* }) => {
        $(#[$doc])*
        pub mod $module {
            $( $(#[$cdoc])* pub const $name: $t = $value; )*

            /// The constant's name, for logs; `None` for a code this table lacks.
            pub fn name(code: $t) -> Option<&'static str> {
                match code {
                    $( $name => Some(stringify!($name)), )*
                    _ => None,
                }
            }
        }
    };
}

code_table! {
    /// Request codes (docs/protocol.md §2.2). Numbers are the same in 4.9 and 5.x.
    request_code: i32 {
        SEND_MESSAGE = 10,
        PULL_MESSAGE = 11,
        QUERY_MESSAGE = 12,
        QUERY_CONSUMER_OFFSET = 14,
        UPDATE_CONSUMER_OFFSET = 15,
        UPDATE_AND_CREATE_TOPIC = 17,
        UPDATE_AND_CREATE_TOPIC_LIST = 18,
        GET_ALL_TOPIC_CONFIG = 21,
        UPDATE_BROKER_CONFIG = 25,
        GET_BROKER_CONFIG = 26,
        GET_BROKER_RUNTIME_INFO = 28,
        SEARCH_OFFSET_BY_TIMESTAMP = 29,
        GET_MAX_OFFSET = 30,
        GET_MIN_OFFSET = 31,
        GET_EARLIEST_MSG_STORETIME = 32,
        VIEW_MESSAGE_BY_ID = 33,
        HEART_BEAT = 34,
        UNREGISTER_CLIENT = 35,
        CONSUMER_SEND_MSG_BACK = 36,
        END_TRANSACTION = 37,
        GET_CONSUMER_LIST_BY_GROUP = 38,
        CHECK_TRANSACTION_STATE = 39,
        NOTIFY_CONSUMER_IDS_CHANGED = 40,
        LOCK_BATCH_MQ = 41,
        UNLOCK_BATCH_MQ = 42,
        GET_ALL_CONSUMER_OFFSET = 43,
        GET_ALL_DELAY_OFFSET = 45,
        CHECK_CLIENT_CONFIG = 46,
        PUT_KV_CONFIG = 100,
        GET_KV_CONFIG = 101,
        DELETE_KV_CONFIG = 102,
        REGISTER_BROKER = 103,
        UNREGISTER_BROKER = 104,
        GET_ROUTEINFO_BY_TOPIC = 105,
        GET_BROKER_CLUSTER_INFO = 106,
        UPDATE_AND_CREATE_SUBSCRIPTIONGROUP = 200,
        GET_ALL_SUBSCRIPTIONGROUP_CONFIG = 201,
        GET_TOPIC_STATS_INFO = 202,
        GET_CONSUMER_CONNECTION_LIST = 203,
        GET_PRODUCER_CONNECTION_LIST = 204,
        WIPE_WRITE_PERM_OF_BROKER = 205,
        GET_ALL_TOPIC_LIST_FROM_NAMESERVER = 206,
        DELETE_SUBSCRIPTIONGROUP = 207,
        GET_CONSUME_STATS = 208,
        RESET_CONSUMER_OFFSET_IN_CONSUMER = 211,
        DELETE_TOPIC_IN_BROKER = 215,
        DELETE_TOPIC_IN_NAMESRV = 216,
        REGISTER_TOPIC_IN_NAMESRV = 217,
        GET_KVLIST_BY_NAMESPACE = 219,
        RESET_CONSUMER_CLIENT_OFFSET = 220,
        GET_CONSUMER_STATUS_FROM_CLIENT = 221,
        INVOKE_BROKER_TO_RESET_OFFSET = 222,
        INVOKE_BROKER_TO_GET_CONSUMER_STATUS = 223,
        GET_TOPICS_BY_CLUSTER = 224,
        QUERY_TOPIC_CONSUME_BY_WHO = 300,
        GET_SYSTEM_TOPIC_LIST_FROM_NS = 304,
        GET_SYSTEM_TOPIC_LIST_FROM_BROKER = 305,
        GET_CONSUMER_RUNNING_INFO = 307,
        CONSUME_MESSAGE_DIRECTLY = 309,
        SEND_MESSAGE_V2 = 310,
        VIEW_BROKER_STATS_DATA = 315,
        SEND_BATCH_MESSAGE = 320,
        QUERY_CONSUME_QUEUE = 321,
        QUERY_DATA_VERSION = 322,
        SEND_REPLY_MESSAGE = 324,
        SEND_REPLY_MESSAGE_V2 = 325,
        PUSH_REPLY_MESSAGE_TO_CLIENT = 326,
        ADD_WRITE_PERM_OF_BROKER = 327,
        GET_TOPIC_CONFIG = 351,
        LITE_PULL_MESSAGE = 361,
        RECALL_MESSAGE = 370,
        QUERY_ASSIGNMENT = 400,
        SET_MESSAGE_REQUEST_MODE = 401,
        GET_ALL_MESSAGE_REQUEST_MODE = 402,
        BROKER_HEARTBEAT = 904,
        POP_MESSAGE = 200050,
        ACK_MESSAGE = 200051,
        PEEK_MESSAGE = 200052,
        CHANGE_MESSAGE_INVISIBLETIME = 200053,
        NOTIFICATION = 200054,
        POLLING_INFO = 200055,
        POP_ROLLBACK = 200056,
        BATCH_ACK_MESSAGE = 200151,
    }
}

code_table! {
    /// Response codes (docs/protocol.md §2.1). 209–211 meant ACL failures in 4.9 and POP/broker
    /// errors in 5.x; the broker never emits them.
    response_code: i32 {
        SUCCESS = 0,
        SYSTEM_ERROR = 1,
        SYSTEM_BUSY = 2,
        REQUEST_CODE_NOT_SUPPORTED = 3,
        TRANSACTION_FAILED = 4,
        FLUSH_DISK_TIMEOUT = 10,
        SLAVE_NOT_AVAILABLE = 11,
        FLUSH_SLAVE_TIMEOUT = 12,
        MESSAGE_ILLEGAL = 13,
        SERVICE_NOT_AVAILABLE = 14,
        VERSION_NOT_SUPPORTED = 15,
        NO_PERMISSION = 16,
        TOPIC_NOT_EXIST = 17,
        TOPIC_EXIST_ALREADY = 18,
        PULL_NOT_FOUND = 19,
        PULL_RETRY_IMMEDIATELY = 20,
        PULL_OFFSET_MOVED = 21,
        QUERY_NOT_FOUND = 22,
        SUBSCRIPTION_PARSE_FAILED = 23,
        SUBSCRIPTION_NOT_EXIST = 24,
        SUBSCRIPTION_NOT_LATEST = 25,
        SUBSCRIPTION_GROUP_NOT_EXIST = 26,
        FILTER_DATA_NOT_EXIST = 27,
        FILTER_DATA_NOT_LATEST = 28,
        INVALID_PARAMETER = 29,
        TRANSACTION_SHOULD_COMMIT = 200,
        TRANSACTION_SHOULD_ROLLBACK = 201,
        TRANSACTION_STATE_UNKNOW = 202,
        TRANSACTION_STATE_GROUP_WRONG = 203,
        NO_BUYER_ID = 204,
        NOT_IN_CURRENT_UNIT = 205,
        CONSUMER_NOT_ONLINE = 206,
        CONSUME_MSG_TIMEOUT = 207,
        NO_MESSAGE = 208,
        POLLING_FULL = 209,
        POLLING_TIMEOUT = 210,
        BROKER_NOT_EXIST = 211,
        BROKER_DISPATCH_NOT_COMPLETE = 212,
        BROADCAST_CONSUMPTION = 213,
        FLOW_CONTROL = 215,
        NOT_LEADER_FOR_QUEUE = 501,
        ILLEGAL_OPERATION = 604,
        GO_AWAY = 1500,
    }
}

code_table! {
    /// Sender-language bytes of the ROCKETMQ binary header (docs/protocol.md §1.5). A JSON header
    /// carries the same languages by name. RUST and NODE_JS exist only in 5.x enums, which is
    /// why responses always say JAVA.
    language: u8 {
        JAVA = 0,
        CPP = 1,
        DOTNET = 2,
        PYTHON = 3,
        DELPHI = 4,
        ERLANG = 5,
        RUBY = 6,
        OTHER = 7,
        HTTP = 8,
        GO = 9,
        PHP = 10,
        OMS = 11,
        RUST = 12,
        NODE_JS = 13,
    }
}

/// The language byte for a name, as Java's enum `valueOf` would resolve it (exact, upper case).
pub fn language_from_name(name: &str) -> Option<u8> {
    (0..=language::NODE_JS).find(|&code| language::name(code) == Some(name))
}

/// `version` this broker puts on every command it sends: `V5_3_3` (docs/protocol.md §1.6).
pub const VERSION_CURRENT: i32 = 479;

/// The name of `MQVersion.Version` ordinal `version` (`V4_9_4`, `V5_3_3_SNAPSHOT`), for the
/// versions from 4.1.0 on, where Java's enum has a SNAPSHOT and a release entry for each of 10
/// patch versions of each minor one, 4.9.9 going straight to 5.0.0 (docs/protocol.md §1.6);
/// `None` for older ordinals, whose run is irregular.
pub fn version_desc(version: i32) -> Option<String> {
    const V4_1_0_SNAPSHOT: i32 = 232;
    const V5_0_0_SNAPSHOT: i32 = 412;
    let (major, first_minor, index) = match version {
        _ if version >= V5_0_0_SNAPSHOT => (5, 0, version - V5_0_0_SNAPSHOT),
        _ if version >= V4_1_0_SNAPSHOT => (4, 1, version - V4_1_0_SNAPSHOT),
        _ => return None,
    };
    let (minor, patch) = (first_minor + index / 20, index % 20 / 2);
    let snapshot = if index % 2 == 0 { "_SNAPSHOT" } else { "" };
    Some(format!("V{major}_{minor}_{patch}{snapshot}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_follow_javas_enum() {
        for (ordinal, name) in [
            (232, "V4_1_0_SNAPSHOT"),
            (315, "V4_5_1"),
            (393, "V4_9_0"),
            (401, "V4_9_4"),
            (409, "V4_9_8"),
            (411, "V4_9_9"),
            (413, "V5_0_0"),
            (479, "V5_3_3"),
        ] {
            assert_eq!(version_desc(ordinal).as_deref(), Some(name), "{ordinal}");
        }
        assert_eq!(version_desc(121), None, "V3_4_9: before the regular run");
    }

    #[test]
    fn names_resolve_both_ways() {
        assert_eq!(request_code::name(310), Some("SEND_MESSAGE_V2"));
        assert_eq!(request_code::name(9999), None);
        assert_eq!(
            response_code::name(response_code::PULL_NOT_FOUND),
            Some("PULL_NOT_FOUND")
        );
        assert_eq!(language_from_name("GO"), Some(language::GO));
        assert_eq!(language_from_name("NODE"), None);
        assert_eq!(language::name(language::NODE_JS), Some("NODE_JS"));
    }
}
