//! The client's admin API run against a [`Cluster`], as an operator runs `mqadmin`: offset
//! resets and broker configuration (only the Rust client has an admin API). On a broker that
//! checks the plain ACL ([`Cluster::start_with_acl`]) each run signs its requests as the
//! harness's admin account, unless told which account to sign as.

use shardmq::wire::signature::Credentials;

use super::cluster::{Cluster, Running};
use super::run::credential_args;
use super::{Client, Report, Role};

impl Cluster {
    /// Runs the client's admin reset of `group`'s offsets on `topic` to `timestamp` (ms since
    /// the epoch), as `mqadmin resetOffsetByTime -f true` (its default) does: the client sends
    /// INVOKE_BROKER_TO_RESET_OFFSET to the master of every broker in the topic's route.
    /// Returns its report ([`Report::reset_offsets`]); only the Rust client has an admin API.
    pub fn reset_offset_by_time(
        &self,
        client: Client,
        topic: &str,
        group: &str,
        timestamp: i64,
    ) -> Report {
        let mut args = vec![
            "reset-offset".into(),
            "--namesrv".into(),
            self.namesrv(),
            "--topic".into(),
            topic.into(),
            "--group".into(),
            group.into(),
            "--timestamp".into(),
            timestamp.to_string(),
            "--force".into(),
        ];
        args.extend(credential_args(self.admin()));
        let label = format!(
            "{} admin reset of {group} on {topic} to {timestamp}",
            client.name()
        );
        Running::spawn(client, Role::Admin, args, label, 60).finish()
    }

    /// Runs the client's admin read of the configuration of the broker at shard `shard`'s
    /// address, as `mqadmin getBrokerConfig -b` does (GET_BROKER_CONFIG to that address alone).
    /// Returns its report ([`Report::broker_config`]); only the Rust client has an admin API.
    pub fn get_broker_config(&self, client: Client, shard: u16) -> Report {
        let args = self.broker_admin_args("get-broker-config", shard, self.admin());
        let label = format!(
            "{} admin get-broker-config at {}",
            client.name(),
            self.shard_addr(shard)
        );
        Running::spawn(client, Role::Admin, args, label, 60).finish()
    }

    /// Runs the client's admin change of the configuration of the broker at shard `shard`'s
    /// address to `pairs` (key, value), all in one UPDATE_BROKER_CONFIG, as `mqadmin
    /// updateBrokerConfig -b` does (one key there). Returns its report
    /// ([`Report::updated_config`], [`Report::errors`]); only the Rust client has an admin API.
    pub fn update_broker_config(
        &self,
        client: Client,
        shard: u16,
        pairs: &[(&str, &str)],
    ) -> Report {
        self.update_broker_config_as(client, shard, pairs, self.admin())
    }

    /// [`Cluster::update_broker_config`] with every request signed as `credentials` (`None`:
    /// unsigned), for a broker that checks the plain ACL, where only an admin account may
    /// change its configuration.
    pub fn update_broker_config_as(
        &self,
        client: Client,
        shard: u16,
        pairs: &[(&str, &str)],
        credentials: Option<&Credentials>,
    ) -> Report {
        let mut args = self.broker_admin_args("update-broker-config", shard, credentials);
        for (key, value) in pairs {
            args.extend(["--set".into(), format!("{key}={value}")]);
        }
        let settings: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let label = format!(
            "{} admin update-broker-config {} at {}{}",
            client.name(),
            settings.join(" "),
            self.shard_addr(shard),
            credentials.map_or_else(String::new, |c| format!(" as {}", c.access_key))
        );
        Running::spawn(client, Role::Admin, args, label, 60).finish()
    }

    fn broker_admin_args(
        &self,
        command: &str,
        shard: u16,
        credentials: Option<&Credentials>,
    ) -> Vec<String> {
        let mut args = vec![
            command.into(),
            "--namesrv".into(),
            self.namesrv(),
            "--broker-addr".into(),
            self.shard_addr(shard),
        ];
        args.extend(credential_args(credentials));
        args
    }
}
