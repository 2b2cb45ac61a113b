//! The client's admin API run against a [`Cluster`], as an operator runs `mqadmin`: offset
//! resets and broker configuration (only the Rust client has an admin API).

use super::cluster::{Cluster, Running};
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
        let args = vec![
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
        let args = self.broker_admin_args("get-broker-config", shard);
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
        let mut args = self.broker_admin_args("update-broker-config", shard);
        for (key, value) in pairs {
            args.extend(["--set".into(), format!("{key}={value}")]);
        }
        let settings: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let label = format!(
            "{} admin update-broker-config {} at {}",
            client.name(),
            settings.join(" "),
            self.shard_addr(shard)
        );
        Running::spawn(client, Role::Admin, args, label, 60).finish()
    }

    fn broker_admin_args(&self, command: &str, shard: u16) -> Vec<String> {
        vec![
            command.into(),
            "--namesrv".into(),
            self.namesrv(),
            "--broker-addr".into(),
            self.shard_addr(shard),
        ]
    }
}
