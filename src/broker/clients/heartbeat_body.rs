//! JSON bodies of client registration (docs/protocol.md §2.3, §2.5.4, §2.8.7): the HEART_BEAT
//! body a client sends, the CHECK_CLIENT_CONFIG body, and what GET_CONSUMER_LIST_BY_GROUP
//! and GET_CONSUMER_CONNECTION_LIST / GET_PRODUCER_CONNECTION_LIST answer.
//!
//! Pure types with no state; any shard parses and writes them. [`Subscription`] is a
//! heartbeat's subscription made ready for filtering (tags split, codes computed).
//!
//! Reading is as lenient as fastjson, because real clients rely on it (docs/clients.md item 4):
//! every field may be missing or `null` (it reads as the Java default), enums are names in any
//! case or ordinals, numbers may arrive as strings, booleans as `"0"`/`"1"`, and unknown keys
//! (5.x `heartbeatFingerprint`, `withoutSub` handled below) are ignored. Writing follows
//! fastjson's output: compact, keys in alphabetical order (fields are declared in that order),
//! enums as names.

use std::collections::BTreeMap;

use serde::de::{self, Deserializer};

use crate::broker::metadata::lenient::{lenient_bool, lenient_i64, nullable, LenientInt};
use serde::{Deserialize, Serialize, Serializer};

use crate::wire::properties::java_hash;

/// Java hashes are 32-bit; a client that printed one unsigned still means the same bits.
fn lenient_i32_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<i32>, D::Error> {
    let list: Vec<LenientInt> = nullable(deserializer)?;
    Ok(list.into_iter().map(|LenientInt(v)| v as i32).collect())
}

/// Declares a Java enum read by name (any case) or by ordinal, written by name. Variants are
/// listed in Java's declaration order, which is what the ordinals index.
macro_rules! java_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $wire:literal,)* } default $default:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vdoc])* $variant,)* }

        impl $name {
            const ALL: &'static [($name, &'static str)] = &[$(($name::$variant, $wire),)*];

            /// The Java constant's name.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $wire,)* }
            }

            fn from_name(text: &str) -> Option<$name> {
                Self::ALL.iter().find(|(_, name)| name.eq_ignore_ascii_case(text)).map(|(v, _)| *v)
            }

            fn from_ordinal(ordinal: i64) -> Option<$name> {
                usize::try_from(ordinal).ok().and_then(|i| Self::ALL.get(i)).map(|(v, _)| *v)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name::$default
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = serde_json::Value::deserialize(deserializer)?;
                let parsed = match &value {
                    serde_json::Value::Null => Some($name::default()),
                    serde_json::Value::String(text) => $name::from_name(text.trim())
                        .or_else(|| text.trim().parse().ok().and_then($name::from_ordinal)),
                    serde_json::Value::Number(n) => n.as_i64().and_then($name::from_ordinal),
                    _ => None,
                };
                parsed.ok_or_else(|| {
                    de::Error::custom(format!(
                        "{value} is not a {} name or ordinal",
                        stringify!($name)
                    ))
                })
            }
        }
    };
}

java_enum! {
    /// How a consumer gets messages (Java `ConsumeType`).
    ConsumeType {
        /// Pull and lite-pull consumers.
        Actively = "CONSUME_ACTIVELY",
        /// Push consumers.
        Passively = "CONSUME_PASSIVELY",
        Pop = "CONSUME_POP",
    } default Passively
}

java_enum! {
    /// Java `MessageModel`: broadcasting consumers keep their offsets locally.
    MessageModel {
        Broadcasting = "BROADCASTING",
        Clustering = "CLUSTERING",
    } default Clustering
}

java_enum! {
    /// Java `ConsumeFromWhere`; only the client acts on it, the broker reports it.
    ConsumeFromWhere {
        LastOffset = "CONSUME_FROM_LAST_OFFSET",
        LastOffsetAndFromMinWhenBootFirst = "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST",
        MinOffset = "CONSUME_FROM_MIN_OFFSET",
        MaxOffset = "CONSUME_FROM_MAX_OFFSET",
        FirstOffset = "CONSUME_FROM_FIRST_OFFSET",
        Timestamp = "CONSUME_FROM_TIMESTAMP",
    } default LastOffset
}

/// A subscription's expression language. Java keeps it as a string; `TAG` when absent or
/// empty. Any other name is kept so the broker can say which filter it does not support.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum ExpressionType {
    #[default]
    Tag,
    Sql92,
    Other(String),
}

impl ExpressionType {
    pub fn name(&self) -> &str {
        match self {
            ExpressionType::Tag => "TAG",
            ExpressionType::Sql92 => "SQL92",
            ExpressionType::Other(name) => name,
        }
    }

    fn from_name(text: &str) -> ExpressionType {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("TAG") {
            ExpressionType::Tag
        } else if text.eq_ignore_ascii_case("SQL92") {
            ExpressionType::Sql92
        } else {
            ExpressionType::Other(text.to_owned())
        }
    }
}

impl Serialize for ExpressionType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for ExpressionType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text: Option<String> = Option::deserialize(deserializer)?;
        Ok(ExpressionType::from_name(text.as_deref().unwrap_or("")))
    }
}

/// One topic a consumer group subscribes to (Java `SubscriptionData`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionData {
    #[serde(deserialize_with = "lenient_bool")]
    pub class_filter_mode: bool,
    /// Java `String.hashCode()` of each tag, for the consume queue's tag codes.
    #[serde(deserialize_with = "lenient_i32_list")]
    pub code_set: Vec<i32>,
    #[serde(deserialize_with = "nullable")]
    pub expression_type: ExpressionType,
    /// `*` (or empty) for every message, `TagA || TagB`, or an SQL92 expression.
    #[serde(deserialize_with = "nullable")]
    pub sub_string: String,
    /// The client's clock when it built the subscription, in ms; a newer one replaces.
    #[serde(deserialize_with = "lenient_i64")]
    pub sub_version: i64,
    #[serde(deserialize_with = "nullable")]
    pub tags_set: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub topic: String,
}

/// One consumer group of a client instance (Java `ConsumerData`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerData {
    #[serde(deserialize_with = "nullable")]
    pub consume_from_where: ConsumeFromWhere,
    #[serde(deserialize_with = "nullable")]
    pub consume_type: ConsumeType,
    #[serde(deserialize_with = "nullable")]
    pub group_name: String,
    #[serde(deserialize_with = "nullable")]
    pub message_model: MessageModel,
    #[serde(deserialize_with = "nullable")]
    pub subscription_data_set: Vec<SubscriptionData>,
    #[serde(deserialize_with = "lenient_bool")]
    pub unit_mode: bool,
}

/// One producer group of a client instance (Java `ProducerData`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerData {
    #[serde(deserialize_with = "nullable")]
    pub group_name: String,
}

/// HEART_BEAT (34) request body (Java `HeartbeatData`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HeartbeatData {
    #[serde(rename = "clientID", deserialize_with = "nullable")]
    pub client_id: String,
    #[serde(deserialize_with = "nullable")]
    pub consumer_data_set: Vec<ConsumerData>,
    #[serde(deserialize_with = "nullable")]
    pub producer_data_set: Vec<ProducerData>,
    /// 5.x "light" heartbeat: `subscriptionDataSet` was left out on purpose, so the stored
    /// subscriptions stay as they are instead of being emptied.
    #[serde(deserialize_with = "lenient_bool")]
    pub without_sub: bool,
}

/// CHECK_CLIENT_CONFIG (46) request body (Java `CheckClientRequestBody`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CheckClientRequestBody {
    #[serde(deserialize_with = "nullable")]
    pub client_id: String,
    #[serde(deserialize_with = "nullable")]
    pub group: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_data: Option<SubscriptionData>,
}

/// GET_CONSUMER_LIST_BY_GROUP (38) response body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerListByGroup {
    pub consumer_id_list: Vec<String>,
}

/// One client connection of a group, as GET_CONSUMER_CONNECTION_LIST reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Connection {
    /// The client's `ip:port` as the broker sees it.
    pub client_addr: String,
    pub client_id: String,
    /// The `language` name of the client's requests (any string a client sent).
    pub language: String,
    pub version: i32,
}

/// GET_CONSUMER_CONNECTION_LIST (203) response body (Java `ConsumerConnection`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerConnection {
    pub connection_set: Vec<Connection>,
    pub consume_from_where: ConsumeFromWhere,
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    pub subscription_table: BTreeMap<String, SubscriptionData>,
}

/// What a consumer group subscribes to on one topic, ready for the pull path's filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub topic: String,
    /// The expression as the client wrote it.
    pub expression: String,
    pub expression_type: ExpressionType,
    /// Trimmed tags of a TAG expression; empty for `*`.
    pub tags: Vec<String>,
    /// Java hashes of `tags`, sorted and unique: what consume-queue tag codes are checked
    /// against.
    pub codes: Vec<i32>,
    pub sub_version: i64,
    pub class_filter_mode: bool,
}

impl Subscription {
    /// Builds the subscription from a heartbeat's entry. Tags come from `tagsSet`, or from the
    /// expression when a client left the set out; codes are always recomputed, because the
    /// store computes its tag codes with the same function and a client's may be missing.
    pub fn from_data(data: &SubscriptionData) -> Subscription {
        let is_tag = data.expression_type == ExpressionType::Tag;
        let tags: Vec<String> = if !is_tag || is_all(&data.sub_string) {
            Vec::new()
        } else if data.tags_set.is_empty() {
            split_tags(&data.sub_string)
        } else {
            split_tags(&data.tags_set.join("||"))
        };
        let mut codes: Vec<i32> = tags.iter().map(|tag| java_hash(tag)).collect();
        codes.sort_unstable();
        codes.dedup();
        Subscription {
            topic: data.topic.clone(),
            expression: data.sub_string.clone(),
            expression_type: data.expression_type.clone(),
            tags,
            codes,
            sub_version: data.sub_version,
            class_filter_mode: data.class_filter_mode,
        }
    }

    /// The form clients and admin tools read.
    pub fn to_data(&self) -> SubscriptionData {
        SubscriptionData {
            class_filter_mode: self.class_filter_mode,
            code_set: self.codes.clone(),
            expression_type: self.expression_type.clone(),
            sub_string: self.expression.clone(),
            sub_version: self.sub_version,
            tags_set: self.tags.clone(),
            topic: self.topic.clone(),
        }
    }

    /// A TAG subscription to every message.
    pub fn is_all(&self) -> bool {
        self.expression_type == ExpressionType::Tag && is_all(&self.expression)
    }

    /// The broker's coarse tag filter (docs/protocol.md §5.3): a consume-queue entry with tag code
    /// `code` may match. Only meaningful for TAG subscriptions.
    pub fn matches_tag_code(&self, code: i64) -> bool {
        // Consume-queue entries keep the code as a long; a tag's code is its i32 hash.
        self.is_all() || self.codes.binary_search(&(code as i32)).is_ok()
    }
}

fn is_all(expression: &str) -> bool {
    let expression = expression.trim();
    expression.is_empty() || expression == "*"
}

fn split_tags(expression: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for tag in expression
        .split("||")
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        if !tags.iter().any(|known| known == tag) {
            tags.push(tag.to_owned());
        }
    }
    tags
}

/// GET_PRODUCER_CONNECTION_LIST (204) response body (Java `ProducerConnection`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerConnection {
    pub connection_set: Vec<Connection>,
}

#[cfg(test)]
#[path = "heartbeat_body_tests.rs"]
mod tests;
