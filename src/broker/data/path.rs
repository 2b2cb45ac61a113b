//! The data path of one shard in one piece: the SEND and PULL handlers and the long-poll
//! table they share, wired to the shard's store. The dispatcher builds one per shard and
//! hands it the data request codes.
//!
//! Owners: the shard keeps the store's maintenance task running (reput is what makes a sent
//! message pullable and wakes parked pulls) and calls [`DataPath::shutdown`] when it stops,
//! so parked pulls are answered before their connections close.

use std::net::SocketAddr;
use std::rc::Rc;

use crate::broker::admin::stats::Traffic;
use crate::broker::clients::offsets::ConsumerOffsets;
use crate::broker::data::long_poll::{glommio_sleep, LongPoll};
use crate::broker::data::pull::{PullHandler, SubscriptionView};
use crate::broker::data::send::{SendConfig, SendHandler};
use crate::broker::data::topic_view::TopicView;
use crate::broker::scheduled::schedule::Schedule;
use crate::limits::PULL_PARKED_MAX;
use crate::net::Reply;
use crate::storage::store::Store;
use crate::wire::codes::request_code;
use crate::wire::topics::SCHEDULE_TOPIC;
use crate::wire::RemotingCommand;

/// SEND and PULL for one shard.
#[derive(Debug)]
pub struct DataPath {
    pub send: Rc<SendHandler>,
    pub pull: Rc<PullHandler>,
    pub long_poll: Rc<LongPoll>,
}

impl DataPath {
    /// Builds the handlers and tells the store to wake parked pulls, and the delay service
    /// for delayed messages, as it files messages. Both handlers count the messages they
    /// move in `traffic`.
    pub fn new(
        store: Rc<Store>,
        topics: Rc<dyn TopicView>,
        subscriptions: Rc<dyn SubscriptionView>,
        offsets: Rc<ConsumerOffsets>,
        traffic: Rc<Traffic>,
        config: SendConfig,
        schedule: Rc<Schedule>,
    ) -> DataPath {
        let long_poll = LongPoll::new(PULL_PARKED_MAX, glommio_sleep());
        let wake_pulls = long_poll.listener();
        // Weak: the store holds the listener, and the delay service holds the store.
        let schedule = Rc::downgrade(&schedule);
        store.set_dispatch_listener(Box::new(move |topic, queue_id, offset, tags_code| {
            wake_pulls(topic, queue_id, offset, tags_code);
            if topic == SCHEDULE_TOPIC {
                if let Some(schedule) = schedule.upgrade() {
                    schedule.arrived();
                }
            }
        }));
        let send = Rc::new(SendHandler::new(
            Rc::clone(&store),
            Rc::clone(&topics),
            Rc::clone(&traffic),
            config,
        ));
        let pull = PullHandler::new(
            store,
            topics,
            subscriptions,
            offsets,
            Rc::clone(&long_poll),
            traffic,
        );
        DataPath {
            send,
            pull,
            long_poll,
        }
    }

    /// Whether `code` is one of the requests [`DataPath::handle`] serves.
    pub fn serves(code: i32) -> bool {
        matches!(
            code,
            request_code::SEND_MESSAGE
                | request_code::SEND_MESSAGE_V2
                | request_code::SEND_BATCH_MESSAGE
                | request_code::PULL_MESSAGE
                | request_code::LITE_PULL_MESSAGE
        )
    }

    /// Handles a data request from a client at `peer_addr`; `None` for any other code.
    pub fn handle(&self, peer_addr: SocketAddr, request: RemotingCommand) -> Option<Reply> {
        match request.code {
            request_code::SEND_MESSAGE
            | request_code::SEND_MESSAGE_V2
            | request_code::SEND_BATCH_MESSAGE => Some(self.send.handle(peer_addr, &request)),
            request_code::PULL_MESSAGE | request_code::LITE_PULL_MESSAGE => {
                Some(self.pull.handle(request))
            }
            _ => None,
        }
    }

    /// Answers every parked pull and parks no more.
    pub fn shutdown(&self) {
        self.long_poll.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::data::test_support::*;
    use crate::storage::config::FlushPolicy;
    use crate::storage::run_local;
    use crate::wire::codes::response_code;
    use crate::wire::headers::pull_sys_flag;

    #[test]
    fn routes_data_codes_and_wakes_parked_pulls_through_the_store() {
        run_local(|| async {
            let f = fixture(FlushPolicy::Async, 16).await;
            let config = SendConfig::new(STORE_HOST.parse().expect("addr"));
            let levels = config.delay_levels.clone();
            let schedule = Rc::new(Schedule::new(f.store.clone(), levels, &Default::default()));
            let path = DataPath::new(
                f.store.clone(),
                f.topics.clone(),
                f.subscriptions.clone(),
                f.offsets.clone(),
                f.traffic.clone(),
                config,
                schedule,
            );
            assert!(path
                .handle(producer(), pull_request(&pull_header("T", 0, 0, 0)))
                .is_some());
            let mut other = pull_request(&pull_header("T", 0, 0, 0));
            other.code = 14;
            assert!(!DataPath::serves(14) && path.handle(producer(), other).is_none());
            let h = pull_header(
                "T",
                0,
                0,
                pull_sys_flag::SUSPEND | pull_sys_flag::SUBSCRIPTION,
            );
            let Some(Reply::Later(parked)) = path.handle(producer(), pull_request(&h)) else {
                panic!("pulls answer later");
            };
            let parked = glommio::spawn_local(parked);
            glommio::executor().yield_task_queue_now().await;
            assert_eq!(path.long_poll.parked(), 1);
            let send = send_request(320, &send_header("T", 0, ""), &[]);
            let refused = answer(path.handle(producer(), send).expect("served")).await;
            assert_eq!(
                refused.expect("answered").code,
                response_code::MESSAGE_ILLEGAL
            );
            let send = send_request(310, &send_header("T", 0, ""), b"x");
            answer(path.handle(producer(), send).expect("served")).await;
            f.store.reput().await.expect("reput");
            let response = parked.await.expect("answered");
            assert_eq!(response.code, response_code::SUCCESS);
            path.shutdown();
        });
    }
}
