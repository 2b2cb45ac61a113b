//! `shardmq admin`: a RocketMQ admin client with mqadmin's verbs and flags, for shardmq and
//! for any RocketMQ NameServer and broker (docs/operations.md, "The admin command").
//!
//! Each verb sends the requests mqadmin's sends, to the servers it sends them to, and prints
//! mqadmin's table (its column formats), or with `--json` one JSON document for scripts.
//! Requests are blocking, one connection each (the `remote` module): a verb sends a handful, and an
//! error names the one address that failed, with the request and the code and remark it
//! was answered.
//!
//! With `--access-key` and `--secret-key` every request is signed as RocketMQ's ACL 1.0
//! clients sign theirs ([`AccountArgs`]).
//!
//! Where a shardmq process runs several shards, each shard is a broker of the cluster with
//! its own address, as the NameServer lists them: `-b` names one shard, `-c` reaches all.

pub mod body;
mod cluster;
mod group;
mod message;
mod remote;
mod stats;
mod topic;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::wire::codes::{request_code, response_code};
use crate::wire::signature::Credentials;
use crate::wire::RemotingCommand;
use remote::Link;

/// `shardmq admin [--access-key KEY --secret-key SECRET] <verb> [flags]`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(flatten)]
    account: AccountArgs,
    #[command(subcommand)]
    verb: Verb,
}

/// The account that signs every request (RocketMQ's ACL 1.0): both keys, or neither. Global
/// options, so they go before or after the verb; the load harness takes them too.
#[derive(Clone, Default, Args)]
pub struct AccountArgs {
    /// Sign every request with this account's access key (RocketMQ ACL 1.0); needs
    /// --secret-key.
    #[arg(long, env = "SHARDMQ_ACCESS_KEY", global = true, value_name = "KEY")]
    pub access_key: Option<String>,
    /// The account's secret key, which signs each request and is never sent. Prefer the
    /// environment variable: a value given here shows in `ps` to every user of the host.
    #[arg(
        long,
        env = "SHARDMQ_SECRET_KEY",
        global = true,
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub secret_key: Option<String>,
}

impl AccountArgs {
    /// The credentials to sign with: `None` without keys, an error naming the missing key
    /// when only one is given. An empty value counts as none.
    pub fn credentials(&self) -> Result<Option<Credentials>, String> {
        let given = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
        match (given(&self.access_key), given(&self.secret_key)) {
            (Some(access_key), Some(secret_key)) => {
                Ok(Some(Credentials::new(access_key, secret_key)))
            }
            (None, None) => Ok(None),
            (Some(_), None) => Err(
                "--access-key needs --secret-key (or $SHARDMQ_SECRET_KEY): the secret key is missing"
                    .into(),
            ),
            (None, Some(_)) => Err(
                "--secret-key needs --access-key (or $SHARDMQ_ACCESS_KEY): the access key is missing"
                    .into(),
            ),
        }
    }
}

/// Never prints the secret key.
impl fmt::Debug for AccountArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountArgs")
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

/// Flags every verb takes.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// NameServer addresses, `host:port;host:port` (default: $NAMESRV_ADDR, else
    /// 127.0.0.1:9876).
    #[arg(short = 'n', long = "namesrvAddr")]
    namesrv: Option<String>,
    /// Print one JSON document instead of mqadmin's table.
    #[arg(long)]
    json: bool,
    /// How long each request may take, in milliseconds.
    #[arg(long = "timeoutMillis", default_value_t = 5000)]
    timeout_ms: u64,
    /// The account that signs every request, from the admin command's global options.
    #[arg(skip)]
    credentials: Option<Credentials>,
}

/// Which brokers a verb goes to: one address (`-b`), or a cluster's (`-c`).
#[derive(Debug, Clone, Args)]
pub struct Brokers {
    /// One broker's address, `host:port` (with shards, one shard's).
    #[arg(short = 'b', long = "brokerAddr")]
    broker: Option<String>,
    /// Every broker of a cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// List the clusters, their brokers and each broker's load.
    #[command(name = "clusterList")]
    ClusterList(cluster::ClusterListArgs),
    /// A broker's runtime figures (GET_BROKER_RUNTIME_INFO).
    #[command(name = "brokerStatus")]
    BrokerStatus(cluster::BrokerStatusArgs),
    /// A broker's configuration in force.
    #[command(name = "getBrokerConfig")]
    GetBrokerConfig(cluster::GetBrokerConfigArgs),
    /// Change one key of brokers' configuration while they run.
    #[command(name = "updateBrokerConfig")]
    UpdateBrokerConfig(cluster::UpdateBrokerConfigArgs),
    /// Take write permission from a broker's topics at every NameServer.
    #[command(name = "wipeWritePerm")]
    WipeWritePerm(cluster::WritePermArgs),
    /// Give write permission back to a broker's topics at every NameServer.
    #[command(name = "addWritePerm")]
    AddWritePerm(cluster::WritePermArgs),
    /// Every topic the NameServer knows.
    #[command(name = "topicList")]
    TopicList(topic::TopicListArgs),
    /// A topic's route: its brokers and queues.
    #[command(name = "topicRoute")]
    TopicRoute(topic::TopicRouteArgs),
    /// Each queue of a topic: its offsets and last store time.
    #[command(name = "topicStatus")]
    TopicStatus(topic::TopicStatusArgs),
    /// Create or change a topic on one broker or every master of a cluster.
    #[command(name = "updateTopic")]
    UpdateTopic(topic::UpdateTopicArgs),
    /// Delete a topic from a cluster's masters and every NameServer.
    #[command(name = "deleteTopic")]
    DeleteTopic(topic::DeleteTopicArgs),
    /// Create or change a subscription group.
    #[command(name = "updateSubGroup")]
    UpdateSubGroup(group::UpdateSubGroupArgs),
    /// Delete a subscription group.
    #[command(name = "deleteSubGroup")]
    DeleteSubGroup(group::DeleteSubGroupArgs),
    /// A consumer group's progress on each queue.
    #[command(name = "consumerProgress")]
    ConsumerProgress(group::ConsumerProgressArgs),
    /// A consumer group's connections and subscriptions.
    #[command(name = "consumerConnection")]
    ConsumerConnection(group::ConsumerConnectionArgs),
    /// A producer group's connections.
    #[command(name = "producerConnection")]
    ProducerConnection(group::ProducerConnectionArgs),
    /// Move a consumer group's offsets on a topic to a time.
    #[command(name = "resetOffsetByTime")]
    ResetOffsetByTime(group::ResetOffsetArgs),
    /// Move a consumer group's offsets on a topic to the end.
    #[command(name = "skipAccumulatedMessage")]
    SkipAccumulatedMessage(group::SkipArgs),
    /// Messages by their offset ids.
    #[command(name = "queryMsgById")]
    QueryMsgById(message::QueryByIdArgs),
    /// Messages of a topic by key.
    #[command(name = "queryMsgByKey")]
    QueryMsgByKey(message::QueryByKeyArgs),
    /// A message by the id its producer was given.
    #[command(name = "queryMsgByUniqueKey")]
    QueryMsgByUniqueKey(message::QueryByUniqueKeyArgs),
    /// The message at an offset of a queue.
    #[command(name = "queryMsgByOffset")]
    QueryMsgByOffset(message::QueryByOffsetArgs),
    /// Send one message.
    #[command(name = "sendMessage")]
    SendMessage(message::SendArgs),
    /// Print the oldest messages of a topic's queues, committing nothing.
    #[command(name = "consumeMessage")]
    ConsumeMessage(message::ConsumeArgs),
    /// Every topic and consumer group: backlog, rates in and out, the last day's counts.
    #[command(name = "statsAll")]
    StatsAll(stats::StatsAllArgs),
}

/// Why a verb failed.
#[derive(Debug)]
pub enum AdminError {
    /// No answer from `addr`.
    Unreachable { addr: String, why: String },
    /// `addr` answered `request` with a code other than SUCCESS.
    Refused {
        addr: String,
        request: i32,
        code: i32,
        remark: String,
    },
    /// `addr` answered something this command cannot read.
    Unreadable { addr: String, what: String },
    /// The flags, or what the NameServer says, leave nothing to do.
    Usage(String),
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminError::Unreachable { addr, why } => write!(f, "{addr} did not answer: {why}"),
            AdminError::Refused {
                addr,
                request,
                code,
                remark,
            } => write!(
                f,
                "{addr} refused {} ({request}): {} ({code}) {remark}",
                request_code::name(*request).unwrap_or("request"),
                response_code::name(*code).unwrap_or("code"),
            ),
            AdminError::Unreadable { addr, what } => write!(f, "{addr} answered {what}"),
            AdminError::Usage(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for AdminError {}

/// Runs one verb, printing its output to stdout.
pub fn run(args: AdminArgs) -> Result<(), AdminError> {
    let credentials = args.account.credentials().map_err(AdminError::Usage)?;
    let mut verb = args.verb;
    verb.common_mut().credentials = credentials;
    match verb {
        Verb::ClusterList(args) => cluster::cluster_list(args),
        Verb::BrokerStatus(args) => cluster::broker_status(args),
        Verb::GetBrokerConfig(args) => cluster::get_broker_config(args),
        Verb::UpdateBrokerConfig(args) => cluster::update_broker_config(args),
        Verb::WipeWritePerm(args) => cluster::write_perm(args, false),
        Verb::AddWritePerm(args) => cluster::write_perm(args, true),
        Verb::TopicList(args) => topic::topic_list(args),
        Verb::TopicRoute(args) => topic::topic_route(args),
        Verb::TopicStatus(args) => topic::topic_status(args),
        Verb::UpdateTopic(args) => topic::update_topic(args),
        Verb::DeleteTopic(args) => topic::delete_topic(args),
        Verb::UpdateSubGroup(args) => group::update_sub_group(args),
        Verb::DeleteSubGroup(args) => group::delete_sub_group(args),
        Verb::ConsumerProgress(args) => group::consumer_progress(args),
        Verb::ConsumerConnection(args) => group::consumer_connection(args),
        Verb::ProducerConnection(args) => group::producer_connection(args),
        Verb::ResetOffsetByTime(args) => group::reset_offset_by_time(args),
        Verb::SkipAccumulatedMessage(args) => group::skip_accumulated(args),
        Verb::QueryMsgById(args) => message::query_by_id(args),
        Verb::QueryMsgByKey(args) => message::query_by_key(args),
        Verb::QueryMsgByUniqueKey(args) => message::query_by_unique_key(args),
        Verb::QueryMsgByOffset(args) => message::query_by_offset(args),
        Verb::SendMessage(args) => message::send_message(args),
        Verb::ConsumeMessage(args) => message::consume_message(args),
        Verb::StatsAll(args) => stats::stats_all(args),
    }
}

impl Verb {
    /// The flags every verb takes.
    fn common_mut(&mut self) -> &mut Common {
        match self {
            Verb::ClusterList(args) => &mut args.common,
            Verb::BrokerStatus(args) => &mut args.common,
            Verb::GetBrokerConfig(args) => &mut args.common,
            Verb::UpdateBrokerConfig(args) => &mut args.common,
            Verb::WipeWritePerm(args) | Verb::AddWritePerm(args) => &mut args.common,
            Verb::TopicList(args) => &mut args.common,
            Verb::TopicRoute(args) => &mut args.common,
            Verb::TopicStatus(args) => &mut args.common,
            Verb::UpdateTopic(args) => &mut args.common,
            Verb::DeleteTopic(args) => &mut args.common,
            Verb::UpdateSubGroup(args) => &mut args.common,
            Verb::DeleteSubGroup(args) => &mut args.common,
            Verb::ConsumerProgress(args) => &mut args.common,
            Verb::ConsumerConnection(args) => &mut args.common,
            Verb::ProducerConnection(args) => &mut args.common,
            Verb::ResetOffsetByTime(args) => &mut args.common,
            Verb::SkipAccumulatedMessage(args) => &mut args.common,
            Verb::QueryMsgById(args) => &mut args.common,
            Verb::QueryMsgByKey(args) => &mut args.common,
            Verb::QueryMsgByUniqueKey(args) => &mut args.common,
            Verb::QueryMsgByOffset(args) => &mut args.common,
            Verb::SendMessage(args) => &mut args.common,
            Verb::ConsumeMessage(args) => &mut args.common,
            Verb::StatsAll(args) => &mut args.common,
        }
    }
}

/// What a verb talks to: the NameServers, and how each request goes out.
struct Admin {
    namesrvs: Vec<String>,
    link: Link,
    json: bool,
}

/// GET_BROKER_CLUSTER_INFO's body.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ClusterInfo {
    #[serde(default)]
    broker_addr_table: BTreeMap<String, BrokerData>,
    #[serde(default)]
    cluster_addr_table: BTreeMap<String, Vec<String>>,
}

/// A broker name's addresses by broker id (0: the master).
#[derive(Debug, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct BrokerData {
    #[serde(default)]
    cluster: String,
    broker_name: String,
    #[serde(default)]
    broker_addrs: BTreeMap<String, String>,
}

impl BrokerData {
    /// The master's address, else any (Java's `selectBrokerAddr`).
    fn select_addr(&self) -> Option<&str> {
        self.broker_addrs
            .get("0")
            .or_else(|| self.broker_addrs.values().next())
            .map(String::as_str)
    }

    /// Addresses by numeric broker id.
    fn addrs(&self) -> Vec<(i64, &str)> {
        let mut addrs: Vec<(i64, &str)> = self
            .broker_addrs
            .iter()
            .filter_map(|(id, addr)| Some((id.parse().ok()?, addr.as_str())))
            .collect();
        addrs.sort();
        addrs
    }
}

/// GET_ROUTEINFO_BY_TOPIC's body, the parts the verbs read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TopicRoute {
    #[serde(default)]
    queue_datas: Vec<QueueData>,
    #[serde(default)]
    broker_datas: Vec<BrokerData>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueueData {
    broker_name: String,
    read_queue_nums: i64,
    write_queue_nums: i64,
    perm: i64,
}

impl Admin {
    fn new(common: &Common) -> Admin {
        let list = common
            .namesrv
            .clone()
            .or_else(|| std::env::var("NAMESRV_ADDR").ok())
            .unwrap_or_else(|| "127.0.0.1:9876".to_owned());
        Admin {
            namesrvs: list
                .split(';')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect(),
            link: Link {
                patience: Duration::from_millis(common.timeout_ms),
                credentials: common.credentials.clone(),
            },
            json: common.json,
        }
    }

    /// A request to `addr` that must succeed.
    fn call(
        &self,
        addr: &str,
        code: i32,
        fields: &[(&str, String)],
        body: &[u8],
    ) -> Result<RemotingCommand, AdminError> {
        remote::call_ok(addr, code, fields, body, &self.link)
    }

    /// [`Admin::call`] with the body read as JSON into `T`.
    fn call_json<T: DeserializeOwned>(
        &self,
        addr: &str,
        code: i32,
        fields: &[(&str, String)],
    ) -> Result<T, AdminError> {
        let response = self.call(addr, code, fields, b"")?;
        read_body(addr, &response)
    }

    /// A request to the first NameServer that answers (mqadmin asks one); a refusal is
    /// final, an unreachable NameServer makes way for the next.
    fn namesrv_call(
        &self,
        code: i32,
        fields: &[(&str, String)],
    ) -> Result<(String, RemotingCommand), AdminError> {
        let mut last = AdminError::Usage("no NameServer address (-n)".into());
        for addr in &self.namesrvs {
            match self.call(addr, code, fields, b"") {
                Ok(response) => return Ok((addr.clone(), response)),
                Err(error @ AdminError::Unreachable { .. }) => last = error,
                Err(error) => return Err(error),
            }
        }
        Err(last)
    }

    fn namesrv_json<T: DeserializeOwned>(
        &self,
        code: i32,
        fields: &[(&str, String)],
    ) -> Result<T, AdminError> {
        let (addr, response) = self.namesrv_call(code, fields)?;
        read_body(&addr, &response)
    }

    fn cluster_info(&self) -> Result<ClusterInfo, AdminError> {
        self.namesrv_json(request_code::GET_BROKER_CLUSTER_INFO, &[])
    }

    fn route(&self, topic: &str) -> Result<TopicRoute, AdminError> {
        self.namesrv_json(
            request_code::GET_ROUTEINFO_BY_TOPIC,
            &[("topic", topic.to_owned())],
        )
    }

    /// The brokers of `cluster`, by broker name; an error naming the clusters there are when
    /// it is unknown.
    fn cluster_brokers(&self, cluster: &str) -> Result<Vec<BrokerData>, AdminError> {
        let info = self.cluster_info()?;
        let Some(names) = info.cluster_addr_table.get(cluster) else {
            let known: Vec<&str> = info.cluster_addr_table.keys().map(String::as_str).collect();
            return Err(AdminError::Usage(format!(
                "cluster `{cluster}` is not known to the NameServer (clusters: {})",
                known.join(", ")
            )));
        };
        let mut names = names.clone();
        names.sort();
        Ok(names
            .iter()
            .filter_map(|name| info.broker_addr_table.get(name).cloned())
            .collect())
    }

    /// The addresses `brokers` names: `-b`'s, or with `-c` the cluster's masters, and its
    /// slaves too with `slaves`.
    fn addresses(&self, brokers: &Brokers, slaves: bool) -> Result<Vec<String>, AdminError> {
        match brokers {
            Brokers {
                broker: Some(addr), ..
            } => Ok(vec![addr.clone()]),
            Brokers {
                cluster: Some(cluster),
                ..
            } => Ok(self
                .cluster_brokers(cluster)?
                .iter()
                .flat_map(|broker| broker.addrs())
                .filter(|(id, _)| slaves || *id == 0)
                .map(|(_, addr)| addr.to_owned())
                .collect()),
            _ => Err(AdminError::Usage(
                "name a broker (-b host:port) or a cluster (-c)".into(),
            )),
        }
    }

    /// Prints `value` as JSON with `--json`, else the table's lines.
    fn print(&self, lines: &[String], value: Value) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            );
        } else {
            for line in lines {
                println!("{line}");
            }
        }
    }
}

/// `response`'s body from `addr` read as `T`.
fn read_body<T: DeserializeOwned>(addr: &str, response: &RemotingCommand) -> Result<T, AdminError> {
    let unreadable = |what: String| AdminError::Unreadable {
        addr: addr.to_owned(),
        what,
    };
    let value =
        body::parse(&response.body).ok_or_else(|| unreadable("a body that is not JSON".into()))?;
    serde_json::from_value(value).map_err(|e| unreadable(format!("an unexpected body: {e}")))
}

/// Java's `PermName.perm2String`.
fn perm_text(perm: i64) -> String {
    let bit = |mask: i64, c: char| if perm & mask != 0 { c } else { '-' };
    [bit(4, 'R'), bit(2, 'W'), bit(1, 'X')].iter().collect()
}

/// Java's `timeMillisToHumanString2`: local time, `yyyy-MM-dd HH:mm:ss,SSS`.
fn human_time(ms: i64) -> String {
    let Ok(at) = jiff::Timestamp::from_millisecond(ms) else {
        return ms.to_string();
    };
    at.to_zoned(jiff::tz::TimeZone::system())
        .strftime("%Y-%m-%d %H:%M:%S,%3f")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(access_key: Option<&str>, secret_key: Option<&str>) -> AccountArgs {
        AccountArgs {
            access_key: access_key.map(str::to_owned),
            secret_key: secret_key.map(str::to_owned),
        }
    }

    #[test]
    fn both_keys_or_neither() {
        let both = account(Some("admin-key"), Some("admin-secret"));
        let credentials = both.credentials().expect("valid").expect("an account");
        assert_eq!(credentials.access_key, "admin-key");
        assert_eq!(credentials.secret_key(), "admin-secret");
        assert_eq!(account(None, None).credentials(), Ok(None));
        // An empty variable is no key.
        assert_eq!(account(Some(""), Some("")).credentials(), Ok(None));
        let only_access = account(Some("admin-key"), Some("")).credentials();
        assert!(only_access.is_err_and(|why| why.contains("secret key is missing")));
        let only_secret = account(None, Some("admin-secret")).credentials();
        assert!(only_secret.is_err_and(|why| why.contains("access key is missing")));
    }

    #[test]
    fn debug_hides_the_secret() {
        let shown = format!("{:?}", account(Some("admin-key"), Some("admin-secret")));
        assert!(
            shown.contains("admin-key") && !shown.contains("admin-secret"),
            "{shown}"
        );
    }
}
