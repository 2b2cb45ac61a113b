//! PULL handler and long-polling tests, each on a fresh glommio executor with the in-memory
//! disk and a hand-fired timer.

use crate::broker::data::test_support::*;
use crate::broker::handler::Handling;
use crate::storage::config::FlushPolicy;
use crate::storage::run_local;
use crate::wire::codes::response_code;
use crate::wire::headers::{pull_sys_flag, PullMessageResponseHeader};
use crate::wire::record::RecordView;
use crate::wire::RemotingCommand;

fn tagged(tag: Option<&str>) -> String {
    tag.map_or_else(String::new, |t| format!("TAGS\u{1}{t}\u{2}"))
}

async fn send_tags(f: &Fixture, tags: &[Option<&str>]) {
    for (i, tag) in tags.iter().enumerate() {
        let body = format!("m{i}");
        let request = send_request(10, &send_header("T", 0, &tagged(*tag)), body.as_bytes());
        assert_eq!(f.send(&request).await.code, response_code::SUCCESS);
    }
}

fn offsets(response: &RemotingCommand) -> (i64, i64, i64) {
    let h: PullMessageResponseHeader = response.decode_header().expect("pull header");
    assert_eq!(h.suggest_which_broker_id, 0);
    (h.next_begin_offset, h.min_offset, h.max_offset)
}

fn tags_of(response: &RemotingCommand) -> Vec<String> {
    records(&response.body_bytes())
        .iter()
        .map(|r| {
            RecordView::parse(r)
                .expect("record")
                .tags()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

#[test]
fn tag_expression_returns_only_matching_tags_and_reaches_the_end() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        send_tags(&f, &[Some("TagA"), Some("TagB"), Some("TagC"), None]).await;
        let mut h = pull_header("T", 0, 0, pull_sys_flag::SUBSCRIPTION);
        h.subscription = Some("TagA || TagC".into());
        let response = f.pull(pull_request(&h)).await;
        assert_eq!(response.code, response_code::SUCCESS);
        assert_eq!(tags_of(&response), ["TagA", "TagC"]);
        assert_eq!(offsets(&response), (4, 0, 4));
    });
}

#[test]
fn with_slave_reads_a_reader_far_behind_is_sent_to_the_slave() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        send_tags(&f, &[None; 10]).await;
        let suggested = |from: i64| {
            let mut h = pull_header("T", 0, from, pull_sys_flag::SUBSCRIPTION);
            h.max_msg_nums = 1;
            let request = pull_request(&h);
            async {
                let response = f.pull(request).await;
                assert_eq!(response.code, response_code::SUCCESS);
                let h: PullMessageResponseHeader = response.decode_header().expect("header");
                (
                    h.suggest_which_broker_id,
                    response.body_bytes().len() as u64,
                )
            }
        };
        // Without slaveReadEnable every reader is sent to the master.
        let (suggest, record) = suggested(0).await;
        assert_eq!(suggest, 0);
        // With it, one whose record lies more than the limit behind the end goes to the
        // group's slow-consumer broker (1 for a group created on first use), and one at
        // the end to the group's broker (0).
        f.topics.slave_read_after.set(Some(3 * record));
        assert_eq!(suggested(0).await.0, 1);
        assert_eq!(suggested(6).await.0, 1);
        assert_eq!(suggested(7).await.0, 0);
        assert_eq!(suggested(9).await.0, 0);
    });
}

#[test]
fn a_slave_leaves_an_offset_out_of_range_as_it_is() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        send_tags(&f, &[None; 3]).await;
        let past = pull_header("T", 0, 10, pull_sys_flag::SUBSCRIPTION);
        // A master moves the consumer to the queue's end...
        let response = f.pull(pull_request(&past)).await;
        assert_eq!(response.code, response_code::PULL_OFFSET_MOVED);
        assert_eq!(offsets(&response), (3, 0, 3));
        // ...a slave, whose copy may lag the master the consumer read from, does not.
        f.topics.slave.set(true);
        let response = f.pull(pull_request(&past)).await;
        assert_eq!(response.code, response_code::PULL_RETRY_IMMEDIATELY);
        assert_eq!(offsets(&response), (10, 0, 3));
        let within = pull_header("T", 0, 1, pull_sys_flag::SUBSCRIPTION);
        assert_eq!(
            f.pull(pull_request(&within)).await.code,
            response_code::SUCCESS
        );
    });
}

#[test]
fn everything_filtered_out_answers_retry_immediately_past_it() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        send_tags(&f, &[Some("TagB"), None]).await;
        let mut h = pull_header("T", 0, 0, pull_sys_flag::SUBSCRIPTION);
        h.subscription = Some("TagA".into());
        let response = f.pull(pull_request(&h)).await;
        assert_eq!(response.code, response_code::PULL_RETRY_IMMEDIATELY);
        assert_eq!(offsets(&response), (2, 0, 2));
    });
}

#[test]
fn pull_without_its_own_subscription_uses_the_heartbeat_one() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        send_tags(&f, &[Some("TagA"), Some("TagB")]).await;
        // The Rust client: sysFlag=2 and an empty subscription.
        let mut h = pull_header("T", 0, 0, pull_sys_flag::SUSPEND);
        h.subscription = Some(String::new());
        let refused = f.pull(pull_request(&h)).await;
        assert_eq!(refused.code, response_code::SUBSCRIPTION_NOT_EXIST);
        f.subscriptions.register("cg", "T", "TagB");
        let response = f.pull(pull_request(&h)).await;
        assert_eq!(response.code, response_code::SUCCESS);
        assert_eq!(tags_of(&response), ["TagB"]);
    });
}

#[test]
fn offsets_past_the_end_follow_java_rules() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let empty = f
            .pull(pull_request(&pull_header(
                "T",
                1,
                5,
                pull_sys_flag::SUBSCRIPTION,
            )))
            .await;
        assert_eq!(
            (empty.code, offsets(&empty)),
            (response_code::PULL_OFFSET_MOVED, (0, 0, 0))
        );
        send_tags(&f, &[None, None]).await;
        let cases = [
            (2, response_code::PULL_NOT_FOUND, 2),
            (3, response_code::PULL_OFFSET_MOVED, 2),
            (-1, response_code::PULL_OFFSET_MOVED, 0),
        ];
        for (offset, code, next) in cases {
            let h = pull_header("T", 0, offset, pull_sys_flag::SUBSCRIPTION);
            let response = f.pull(pull_request(&h)).await;
            assert_eq!(
                (response.code, offsets(&response)),
                (code, (next, 0, 2)),
                "{offset}"
            );
        }
    });
}

#[test]
fn unknown_topic_and_queue_are_refused() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let missing = f.pull(pull_request(&pull_header("Nope", 0, 0, 4))).await;
        assert_eq!(missing.code, response_code::TOPIC_NOT_EXIST);
        let queue = f.pull(pull_request(&pull_header("T", 4, 0, 4))).await;
        assert_eq!(queue.code, response_code::INVALID_PARAMETER);
    });
}

#[test]
fn commit_offset_flag_stores_the_consumer_offset() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let mut h = pull_header(
            "T",
            0,
            0,
            pull_sys_flag::SUBSCRIPTION | pull_sys_flag::COMMIT_OFFSET,
        );
        h.commit_offset = 42;
        f.pull(pull_request(&h)).await;
        assert_eq!(f.offsets.offset("cg", "T", 0), Some(42));
    });
}

fn parked_pull(f: &Fixture) -> Handling {
    let h = pull_header(
        "T",
        0,
        0,
        pull_sys_flag::SUSPEND | pull_sys_flag::SUBSCRIPTION,
    );
    f.pull.handle(pull_request(&h))
}

#[test]
fn parked_pull_is_answered_when_a_message_arrives() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let Handling::Later(later) = parked_pull(&f) else {
            panic!("pulls answer later")
        };
        let task = glommio::spawn_local(later);
        glommio::yield_if_needed().await;
        glommio::executor().yield_task_queue_now().await;
        assert_eq!(f.long_poll.parked(), 1);
        send_tags(&f, &[Some("TagA")]).await;
        let response = task.await.expect("answered");
        assert_eq!(response.code, response_code::SUCCESS);
        assert_eq!(response.opaque, 9);
        assert_eq!(offsets(&response), (1, 0, 1));
        assert_eq!(f.long_poll.parked(), 0);
    });
}

#[test]
fn parked_pull_is_answered_at_its_deadline() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let Handling::Later(later) = parked_pull(&f) else {
            panic!("pulls answer later")
        };
        let task = glommio::spawn_local(later);
        glommio::executor().yield_task_queue_now().await;
        assert_eq!(f.long_poll.parked(), 1);
        f.timer.fire();
        let response = task.await.expect("answered");
        assert_eq!(response.code, response_code::PULL_NOT_FOUND);
        assert_eq!(offsets(&response), (0, 0, 0));
        assert_eq!(f.long_poll.parked(), 0);
    });
}

#[test]
fn pulls_beyond_the_parked_limit_are_answered_at_once() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 2).await;
        let mut tasks = Vec::new();
        for _ in 0..2 {
            let Handling::Later(later) = parked_pull(&f) else {
                panic!("pulls answer later")
            };
            tasks.push(glommio::spawn_local(later));
        }
        glommio::executor().yield_task_queue_now().await;
        assert_eq!(f.long_poll.parked(), 2);
        let Handling::Later(third) = parked_pull(&f) else {
            panic!("pulls answer later")
        };
        let response = third.await.expect("answered");
        assert_eq!(response.code, response_code::PULL_NOT_FOUND);
        assert_eq!(f.long_poll.parked(), 2);
        f.long_poll.shutdown();
        for task in tasks {
            assert_eq!(
                task.await.expect("answered").code,
                response_code::PULL_NOT_FOUND
            );
        }
    });
}

#[test]
fn a_pull_returns_at_most_max_msg_nums() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        send_tags(&f, &[None, None, None, None, None]).await;
        let mut h = pull_header("T", 0, 1, pull_sys_flag::SUBSCRIPTION);
        h.max_msg_nums = 2;
        let response = f.pull(pull_request(&h)).await;
        assert_eq!(records(&response.body_bytes()).len(), 2);
        assert_eq!(offsets(&response), (3, 0, 5));
    });
}

#[test]
fn a_pending_admin_reset_moves_the_next_pull_once_and_is_not_overwritten_by_it() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        send_tags(&f, &[None, None, None]).await;
        f.offsets.reset("cg", "T", 0, 1).expect("reset");
        // The pull commits the offset it came from: the reset replaced it, so it stays 1.
        let flags = pull_sys_flag::SUBSCRIPTION | pull_sys_flag::COMMIT_OFFSET;
        let mut header = pull_header("T", 0, 3, flags);
        header.commit_offset = 3;
        let mut request = pull_request(&header);
        request.code = crate::wire::codes::request_code::LITE_PULL_MESSAGE;
        let moved = f.pull(request.clone()).await;
        assert_eq!(
            (moved.code, offsets(&moved)),
            (response_code::PULL_OFFSET_MOVED, (1, 0, 3))
        );
        assert_eq!(
            f.offsets.offset("cg", "T", 0),
            Some(1),
            "the reset offset kept"
        );
        let after = f.pull(request).await;
        assert_eq!(after.code, response_code::PULL_NOT_FOUND);
    });
}
