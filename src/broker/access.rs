//! What each broker request needs of the ACL beyond a valid signature: the topics and groups
//! it names, with the permission each needs, or an admin account (docs/access-control.md
//! §3). Java's `PlainAccessResource.parse`, with three additions: QUERY_CONSUMER_OFFSET needs
//! what UPDATE_CONSUMER_OFFSET needs (a group's progress is the group's), LOCK_BATCH_MQ and
//! UNLOCK_BATCH_MQ need SUB on their group (else any account could take an orderly group's
//! queues from its consumers), and every request that changes topics, groups, offsets by
//! time or the configuration needs an admin.

use crate::acl::{Needs, Perm};
use crate::wire::body;
use crate::wire::codes::request_code::*;
use crate::wire::headers::send::SendMessageRequestHeader;
use crate::wire::RemotingCommand;

use super::clients::heartbeat_body::HeartbeatData;
use super::clients::queue_locks;

/// Requests only an admin account may send. Java's list (`Permission.ADMIN_CODE`), plus
/// UPDATE_AND_CREATE_TOPIC_LIST and INVOKE_BROKER_TO_RESET_OFFSET.
const ADMIN_ONLY: &[i32] = &[
    UPDATE_AND_CREATE_TOPIC,
    UPDATE_AND_CREATE_TOPIC_LIST,
    UPDATE_BROKER_CONFIG,
    DELETE_TOPIC_IN_BROKER,
    UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
    DELETE_SUBSCRIPTIONGROUP,
    INVOKE_BROKER_TO_RESET_OFFSET,
    // UPDATE_AND_CREATE_ACL_CONFIG, DELETE_ACL_CONFIG, GET_BROKER_CLUSTER_ACL_INFO and
    // UPDATE_AND_CREATE_STATIC_TOPIC: not served, but never by a non-admin either.
    50,
    51,
    52,
    513,
];

/// What `command` needs.
pub fn needs(command: &RemotingCommand) -> Needs<'_> {
    if ADMIN_ONLY.contains(&command.code) {
        return Needs::admin();
    }
    let field = |key: &str| command.ext_fields.get(key);
    let mut needs = Needs::default();
    // A request without the field it names is refused by its handler.
    let (topic, group) = match command.code {
        SEND_MESSAGE | SEND_MESSAGE_V2 | SEND_BATCH_MESSAGE => {
            // Whichever key names the handler reads the header with.
            if let Some(topic) =
                SendMessageRequestHeader::topic_for(command.code, &command.ext_fields)
            {
                needs.send_to(topic);
            }
            return needs;
        }
        CONSUMER_SEND_MSG_BACK => (None, field("group")),
        PULL_MESSAGE | LITE_PULL_MESSAGE | UPDATE_CONSUMER_OFFSET | QUERY_CONSUMER_OFFSET => {
            (field("topic"), field("consumerGroup"))
        }
        QUERY_MESSAGE => (field("topic"), None),
        UNREGISTER_CLIENT | GET_CONSUMER_LIST_BY_GROUP => (None, field("consumerGroup")),
        LOCK_BATCH_MQ | UNLOCK_BATCH_MQ => {
            if let Some(group) = queue_locks::batch_group(command) {
                needs.group(group, Perm::SUB);
            }
            return needs;
        }
        HEART_BEAT => {
            // Read as the handler reads it; a body it cannot read is refused there.
            let read = body::decode::<HeartbeatData>(&command.body, "HEART_BEAT body");
            for consumer in read.map(|data| data.consumer_data_set).unwrap_or_default() {
                needs.group(consumer.group_name, Perm::SUB);
                for subscription in consumer.subscription_data_set {
                    needs.topic(subscription.topic, Perm::SUB);
                }
            }
            return needs;
        }
        _ => (None, None),
    };
    if let Some(topic) = topic {
        needs.topic(topic, Perm::SUB);
    }
    if let Some(group) = group {
        needs.group(group, Perm::SUB);
    }
    needs
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::wire::ExtFields;

    fn command(code: i32, fields: &[(&str, &str)], body: &'static str) -> RemotingCommand {
        let mut ext = ExtFields::new();
        for (key, value) in fields {
            ext.insert(key, value);
        }
        RemotingCommand::request(code, ext, Bytes::from_static(body.as_bytes()))
    }

    fn named(needs: &Needs) -> String {
        format!("{needs:?}")
    }

    /// The broker reads a send's header with either code's key names (docs/clients.md item
    /// 7), so the check must find the topic under both, or a header with the other names
    /// would pass unchecked.
    #[test]
    fn a_send_names_its_topic_under_either_key_set() {
        for (code, fields) in [
            (SEND_MESSAGE_V2, [("a", "pg"), ("b", "orders")]),
            (
                SEND_MESSAGE_V2,
                [("producerGroup", "pg"), ("topic", "orders")],
            ),
            (SEND_MESSAGE, [("producerGroup", "pg"), ("topic", "orders")]),
            (SEND_MESSAGE, [("a", "pg"), ("b", "orders")]),
            (
                SEND_BATCH_MESSAGE,
                [("producerGroup", "pg"), ("topic", "orders")],
            ),
        ] {
            let shown = named(&needs(&command(code, &fields, "")));
            assert!(shown.contains("orders"), "{code} {fields:?}: {shown}");
        }
    }

    #[test]
    fn a_heartbeat_names_its_groups_and_topics_and_admin_codes_need_an_admin() {
        let body = r#"{"clientID":"c","consumerDataSet":[{"groupName":"readers",
            "subscriptionDataSet":[{"topic":"orders","subString":"*"}]}],"producerDataSet":[]}"#;
        let shown = named(&needs(&command(HEART_BEAT, &[], body)));
        assert!(
            shown.contains("readers") && shown.contains("orders"),
            "{shown}"
        );
        let shown = named(&needs(&command(
            DELETE_TOPIC_IN_BROKER,
            &[("topic", "t")],
            "",
        )));
        assert!(shown.contains("admin: true"), "{shown}");
    }
}
