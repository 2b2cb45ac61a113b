//! GET_BROKER_CONFIG (26) and UPDATE_BROKER_CONFIG (25): the configuration in force, and the
//! keys of [`LIVE_KEYS`](crate::config::LIVE_KEYS) changed while the broker runs (docs/operations.md, "Changing keys
//! while the broker runs").
//!
//! The configuration is one per process, like the tables: an update reaching any shard goes
//! to the owner shard ([`CONFIG_OWNER`]), which checks every key (one refused, none applied),
//! writes the updates file ([`crate::config::updates_file`]) and then hands the new
//! configuration to every shard, itself included. Only then is the update answered, so a
//! GET_BROKER_CONFIG after it, on any shard, shows it. Updates are applied one at a time.
//!
//! Where Java differs: it answers SUCCESS to an update naming an unknown key or carrying an
//! invalid value and ignores them; shardmq refuses the request by the key's name (an unknown
//! key or one that cannot change live NO_PERMISSION, as Java refuses its black-listed keys;
//! an invalid value INVALID_PARAMETER).

use std::rc::Rc;
use std::sync::Arc;

use shards::ShardId;

use crate::broker::context::send_limits;
use crate::broker::data::send::SendHandler;
use crate::broker::metadata::config_file::{read_optional, write_atomic};
use crate::broker::metadata::owned_table::TABLES_OWNER;
use crate::broker::metadata::register;
use crate::broker::{BrokerContext, BrokerError, ShardMsg, ShardReply};
use crate::config::{merged_updates, parse_properties, updates_file, BrokerConfig, ConfigError};
use crate::wire::body::DataVersion;
use crate::wire::RemotingCommand;

/// The shard that applies updates, as it owns the tables.
pub const CONFIG_OWNER: usize = TABLES_OWNER;

/// GET_BROKER_CONFIG: every honoured key with its value in force, one `key=value` line
/// each, sorted by key as Java 5 sorts them; the header's `version` is the configuration's
/// data version (its counter counts the updates since start).
pub fn get(ctx: &BrokerContext, request: &RemotingCommand) -> RemotingCommand {
    let mut text = String::new();
    for (key, value) in ctx.config().properties() {
        text.push_str(key);
        text.push('=');
        text.push_str(&value);
        text.push('\n');
    }
    let mut response = RemotingCommand::success(request);
    let version = serde_json::to_string(&ctx.config_version()).unwrap_or_default();
    response.ext_fields.insert("version", version);
    response.body = text.into_bytes().into();
    response
}

/// UPDATE_BROKER_CONFIG: the body's `key=value` lines (Java properties, UTF-8), applied by
/// the owner shard to the whole process.
pub async fn update(
    ctx: Rc<BrokerContext>,
    request: RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let text = std::str::from_utf8(&request.body)
        .map_err(|_| BrokerError::InvalidParameter("the body is not UTF-8 text".into()))?;
    let entries: Vec<(String, String)> = parse_properties(text)
        .map_err(|e| {
            BrokerError::InvalidParameter(format!("the body is not properties text: {e}"))
        })?
        .into_iter()
        .map(|entry| (entry.key, entry.value))
        .collect();
    if entries.is_empty() {
        return Ok(RemotingCommand::success(&request));
    }
    let reply = ctx
        .shard
        .request(ShardId::new(CONFIG_OWNER), ShardMsg::UpdateConfig(entries))
        .await
        .map_err(|err| BrokerError::Mesh(err.to_string()))?;
    match reply {
        ShardReply::Changed(result) => result.map(|_| RemotingCommand::success(&request)),
        other => Err(BrokerError::Mesh(format!("unexpected reply {other:?}"))),
    }
}

/// On the owner shard: checks `entries` against the configuration in force, keeps them in
/// the updates file, and gives every shard the new configuration. Returns its version.
pub async fn apply_on_owner(
    ctx: &BrokerContext,
    entries: Vec<(String, String)>,
) -> Result<u64, BrokerError> {
    // Never closed, so a permit always comes.
    let _turn = ctx
        .config_updates
        .acquire_permit(1)
        .await
        .map_err(|err| BrokerError::Mesh(err.to_string()))?;
    let next = ctx
        .config()
        .updated(&entries, "UPDATE_BROKER_CONFIG")
        .map_err(refusal)?;
    let file = updates_file(&next.store_path_root_dir);
    let written = glommio::executor()
        .spawn_blocking(move || {
            let kept = read_optional(&file)
                .map_err(|e| format!("{}: {e}", file.display()))?
                .unwrap_or_default();
            let text = merged_updates(&String::from_utf8_lossy(&kept), &entries);
            write_atomic(&file, text.as_bytes()).map_err(|e| format!("{}: {e}", file.display()))
        })
        .await;
    written.map_err(BrokerError::Persist)?;
    let mut version = ctx.config_version();
    version.advance(ctx.clock.wall_ms());
    let counter = u64::try_from(version.counter).unwrap_or_default();
    let msg = ShardMsg::Reconfigure {
        config: Arc::new(next),
        version,
    };
    for (shard, reply) in ctx.shard.gather(msg).await {
        if let Err(err) = reply {
            tracing::warn!(%shard, %err, "a shard did not take the updated configuration");
        }
    }
    Ok(counter)
}

/// On every shard: the configuration in force becomes `config`; the parts that copied a
/// key of [`crate::config::LIVE_KEYS`] take the new value, and a new `brokerPermission` is
/// registered with the NameServers at once.
pub async fn reconfigure(
    ctx: &BrokerContext,
    sends: &SendHandler,
    config: BrokerConfig,
    version: DataVersion,
) {
    let before = ctx.replace_config(Rc::new(config), version);
    let config = ctx.config();
    ctx.groups
        .set_auto_create(config.auto_create_subscription_group);
    ctx.transactions
        .set_limits(config.transaction_timeout, config.transaction_check_max);
    sends.set_limits(send_limits(&config));
    if before.broker_permission != config.broker_permission {
        ctx.register_all(register::CHANGE_WAIT_MAX).await;
    }
}

/// The answer to a refused update.
fn refusal(error: ConfigError) -> BrokerError {
    match error {
        ConfigError::InvalidValue { .. } => BrokerError::InvalidParameter(error.to_string()),
        _ => BrokerError::NoPermission(error.to_string()),
    }
}
