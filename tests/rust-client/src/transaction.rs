//! `produce --mode transaction`: a `TransactionMQProducer` sends `count` messages one after
//! another with `send_message_in_transaction`; its `TransactionListener` returns the local
//! outcome `--outcomes` gives each message and answers the broker's checks
//! (CHECK_TRANSACTION_STATE) as that item says, printing a `checked` line for every check it
//! gets. With `--serve-checks` it stays up after the sends, answering checks, until stdin ends.
//! `--count 0 --serve-checks` is a producer of the group that only answers checks, as a
//! restarted application instance does.

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rocketmq_client_rust::{
    ClientRuntime, LocalTransactionState, TransactionListener, TransactionMQProducer,
};
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::MessageTrait;
use serde_json::json;
use tokio::sync::Mutex;

use crate::output;
use crate::produce::{result_fields, sent_line, Outcome, ProduceArgs};

/// The listener an application would write, its local transactions scripted by `--outcomes`.
struct Scripted {
    outcomes: Vec<Outcome>,
    key_prefix: String,
    /// Checks received so far per message (its UNIQ_KEY, else its id). The client calls the
    /// listener from threads of its own, one check at a time unless configured otherwise.
    checks: Mutex<HashMap<String, usize>>,
}

impl Scripted {
    /// The message index a key `<key-prefix><i>` names.
    fn index(&self, keys: &[String]) -> Option<usize> {
        keys.iter()
            .find_map(|key| key.strip_prefix(self.key_prefix.as_str())?.parse().ok())
    }
}

impl TransactionListener for Scripted {
    /// The send passes the outcome `--outcomes` gives the message as its argument.
    fn execute_local_transaction(
        &self,
        _message: &dyn MessageTrait,
        arg: Option<&(dyn Any + Send + Sync)>,
    ) -> LocalTransactionState {
        arg.and_then(|arg| arg.downcast_ref::<LocalTransactionState>())
            .copied()
            .unwrap_or(LocalTransactionState::Unknown)
    }

    fn check_local_transaction(&self, message: &MessageExt) -> LocalTransactionState {
        let inner = message.message_inner();
        let uniq_key = inner.property("UNIQ_KEY").map(str::to_string);
        let id = uniq_key
            .clone()
            .unwrap_or_else(|| message.msg_id().to_string());
        let nth = {
            // Held for an instant; `try_lock` never blocks or panics, whatever thread this is.
            let mut checks = loop {
                match self.checks.try_lock() {
                    Ok(checks) => break checks,
                    Err(_) => std::thread::yield_now(),
                }
            };
            let count = checks.entry(id).or_insert(0);
            *count += 1;
            *count
        };
        let keys = inner.keys().unwrap_or_default();
        let index = self.index(&keys);
        // A message this process cannot name (another key scheme) stays undecided.
        let answer = index
            .map(|index| {
                self.outcomes[index % self.outcomes.len()]
                    .answer(nth)
                    .local()
            })
            .unwrap_or(LocalTransactionState::Unknown);
        output::line(
            "checked",
            json!({
                "index": index,
                "nth": nth,
                "answer": answer.to_string(),
                "msgId": message.msg_id().to_string(),
                "transactionId": inner.transaction_id(),
                "uniqKey": uniq_key,
                "topic": message.topic().to_string(),
                "queueId": message.queue_id(),
                "queueOffset": message.queue_offset(),
                "commitLogOffset": message.commit_log_offset(),
                "keys": keys.join(" "),
                "body": message.body().map(|body| String::from_utf8_lossy(&body).into_owned()),
                "checkTimes": inner.property("TRANSACTION_CHECK_TIMES"),
            }),
        );
        answer
    }
}

pub async fn run(args: ProduceArgs, runtime: Arc<ClientRuntime>) -> bool {
    let listener = Scripted {
        outcomes: args.outcomes.clone(),
        key_prefix: args.key_prefix.clone(),
        checks: Mutex::new(HashMap::new()),
    };
    // `topics`: the producer looks the topic's route up when it starts, so it knows the broker
    // and heartbeats it (which is how the broker finds a producer of the group to check
    // with) even when it sends nothing.
    let mut builder = TransactionMQProducer::builder(runtime)
        .producer_group(args.group.clone())
        .name_server_addr(args.namesrv.clone())
        .topics(vec![args.topic.clone()])
        .transaction_listener(listener);
    if let Some(hook) = args.credentials.rpc_hook() {
        builder = builder.rpc_hook(hook);
    }
    let mut producer = builder.build();
    if let Err(error) = producer.start().await {
        output::error("start", None, &output::describe(&error));
        output::done(&json!({ "ok": false, "sent": 0, "failed": args.count }));
        return false;
    }
    output::started(json!({
        "client": "rust", "role": "producer", "mode": "Transaction",
        "serveChecks": args.serve_checks,
    }));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let (sent, failed) = send(&producer, &args, deadline).await;
    if args.serve_checks {
        let _ = tokio::time::timeout_at(deadline.into(), stdin_closed()).await;
    }
    producer.shutdown().await;
    let ok = failed == 0 && sent == args.count;
    output::done(&json!({ "ok": ok, "sent": sent, "failed": failed }));
    ok
}

/// Sends one after another; stops at the first failure.
async fn send(
    producer: &TransactionMQProducer,
    args: &ProduceArgs,
    deadline: Instant,
) -> (usize, usize) {
    for index in 0..args.count {
        if Instant::now() > deadline {
            output::error("send", Some(index), "run time limit reached");
            return (index, args.count - index);
        }
        let local = args.outcome(index).local.local();
        match producer
            .send_message_in_transaction(args.message(index), Some(local))
            .await
        {
            Ok(result) => {
                let Some(send_result) = result.send_result.as_ref() else {
                    output::error("send", Some(index), "send returned no result");
                    return (index, args.count - index);
                };
                let mut fields = result_fields(send_result);
                fields["transactionId"] = json!(send_result.transaction_id);
                fields["localState"] = json!(result
                    .local_transaction_state
                    .map(|state| state.to_string()));
                sent_line(index, fields);
            }
            Err(error) => {
                output::error("send", Some(index), &output::describe(&error));
                return (index, args.count - index);
            }
        }
    }
    (args.count, 0)
}

/// Resolves once stdin reaches its end (the test closed it, or it was never open).
async fn stdin_closed() {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        let _ = tx.send(());
    });
    let _ = rx.await;
}
