//! END_TRANSACTION (37): a producer commits or rolls back a half message, on its own or in
//! answer to a check. Always oneway from real clients, so its answer is never read; a caller
//! that asks for one gets Java's: SUCCESS, or SYSTEM_ERROR when no pending half message
//! matches, ILLEGAL_OPERATION when the message's immunity time has passed. An end that took
//! effect is counted in the metrics (`rocketmq_commit_messages_total`,
//! `rocketmq_rollback_messages_total`, `rocketmq_finish_message_latency`).

use crate::broker::handler::{Handling, Request, ShardBroker};
use crate::broker::BrokerError;
use crate::config::BrokerRole;
use crate::wire::headers::EndTransactionRequestHeader;
use crate::wire::RemotingCommand;

/// END_TRANSACTION (37).
pub fn end_transaction(broker: &ShardBroker, request: Request) -> Handling {
    if broker.ctx.config().broker_role == BrokerRole::Slave {
        return Handling::Now(Err(BrokerError::Slave));
    }
    let header = match request
        .command
        .decode_header::<EndTransactionRequestHeader>()
    {
        Ok(header) => header,
        Err(e) => return Handling::Now(Err(e.into())),
    };
    let ctx = broker.ctx.clone();
    let command = request.command;
    Handling::later(async move {
        if let Some(ended) = ctx.transactions.end(&header).await? {
            let meters = &ctx.stats.traffic.meters;
            meters.transaction_ended(
                &ended.topic,
                ended.committed,
                ended.born_ms,
                ctx.clock.wall_ms(),
            );
        }
        Ok(RemotingCommand::success(&command))
    })
}
