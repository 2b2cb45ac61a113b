//! The timer service over a store on the in-memory disk, with the store clock moved by hand
//! and the index in a temporary directory.

use super::*;
use crate::broker::data::test_support::*;
use crate::storage::config::FlushPolicy;
use crate::storage::run_local;
use crate::wire::codes::response_code;
use crate::wire::headers::{pull_sys_flag, SendMessageResponseHeader};
use proptest::prelude::*;

const MINUTE: i64 = BUCKET_MS;

/// Sends a message to (`T`, `queue`) asking for `TIMER_DELIVER_MS=at`.
async fn send_at(f: &Fixture, queue: i32, at: i64, body: &[u8]) {
    let props = format!("TAGS\u{1}A\u{2}TIMER_DELIVER_MS\u{1}{at}\u{2}");
    let request = send_request(310, &send_header("T", queue, &props), body);
    let response = f.send(&request).await;
    assert_eq!(
        response.code,
        response_code::SUCCESS,
        "{:?}",
        response.remark
    );
    let header: SendMessageResponseHeader = response.decode_header().expect("header");
    assert_eq!(header.queue_id, queue);
}

/// The bodies (T, `queue`) holds, once reput has filed what was delivered.
async fn delivered(f: &Fixture, queue: i32) -> Vec<Vec<u8>> {
    f.store.reput().await.expect("reput");
    let flags = pull_sys_flag::SUBSCRIPTION;
    let header = pull_header("T", queue, 0, flags);
    let pull = f.pull(pull_request(&header)).await;
    records(&pull.body_bytes())
        .into_iter()
        .map(|r| RecordView::parse(r).expect("record").body().to_vec())
        .collect()
}

fn service(f: &Fixture, dir: &std::path::Path) -> Timers {
    let opened = open(dir.to_owned()).expect("timer state opens");
    Timers::new(f.store.clone(), TimerRules::default(), opened)
}

fn near_len(timers: &Timers) -> usize {
    timers.wheel.borrow().near.len()
}

#[test]
fn a_timer_is_delivered_at_its_time_and_not_before() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let dir = crate::storage::test_dir("timer-exact");
        let timers = service(&f, &dir);
        let sent_at = f.clock.wall_ms();
        // 7 s: the delay levels would have said 10 s.
        let asked = sent_at + 7_000;
        send_at(&f, 1, asked, b"seven").await;
        assert_eq!(f.store.queue_range(TIMER_TOPIC, QUEUE).1 .0, 1);
        let due = TimerRules::default().due_ms(asked);
        let next = timers.turn().await.expect("a timer waits");
        assert!(next > sent_at && next <= due, "next look at {next}");
        assert_eq!(timers.progress().pending, 1);
        assert_eq!(timers.progress().offset_behind, 0);

        // The manual clock ticks 1 ms a reading: stand a little before the due time.
        f.clock.set_wall_ms(due - 50);
        assert_eq!(timers.turn().await, Some(due));
        assert!(delivered(&f, 1).await.is_empty(), "delivered early");

        f.clock.set_wall_ms(due);
        assert_eq!(timers.turn().await, None);
        f.store.reput().await.expect("reput");
        let pull = f
            .pull(pull_request(&pull_header(
                "T",
                1,
                0,
                pull_sys_flag::SUBSCRIPTION,
            )))
            .await;
        let body = pull.body_bytes();
        let got = records(&body);
        assert_eq!(got.len(), 1);
        let view = RecordView::parse(got[0]).expect("record");
        assert_eq!(
            (view.topic(), view.queue_id(), view.body()),
            ("T", 1, &b"seven"[..])
        );
        assert_eq!(view.tags(), Some("A"));
        assert_eq!(view.property("TIMER_DELIVER_MS"), None);
        assert_eq!(
            view.property("TIMER_OUT_MS"),
            Some(due.to_string().as_str())
        );
        let dequeued: i64 = view
            .property("TIMER_DEQUEUE_MS")
            .expect("set")
            .parse()
            .expect("ms");
        assert!(dequeued >= due);
        assert_eq!(view.property("REAL_TOPIC"), Some("T"));
        assert_eq!(view.property("WAIT"), Some("false"));
        assert_eq!(timers.progress().pending, 0);
        assert!(timers.progress().delivered_until > due);
        let _ = std::fs::remove_dir_all(dir);
    });
}

#[test]
fn only_the_minute_being_delivered_is_in_memory() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let dir = crate::storage::test_dir("timer-minutes");
        let timers = service(&f, &dir);
        let start = bucket_of(f.clock.wall_ms()) + MINUTE;
        // Sent out of due order: three minutes, two timers each.
        for (i, minute) in [2, 0, 1, 2, 1, 0].into_iter().enumerate() {
            let at = start + minute * MINUTE + 1_000 * (i as i64 + 1);
            send_at(&f, 0, at, format!("m{minute}").as_bytes()).await;
        }
        assert_eq!(timers.turn().await, Some(start));
        assert_eq!((near_len(&timers), timers.progress().pending), (0, 6));
        for minute in 0..3 {
            f.clock.set_wall_ms(start + minute * MINUTE);
            timers.turn().await;
            assert_eq!(near_len(&timers), 2, "minute {minute}");
            assert_eq!(timers.progress().pending as i64, 6 - 2 * minute);
            f.clock.set_wall_ms(start + minute * MINUTE + 10_000);
            timers.turn().await;
            assert_eq!(near_len(&timers), 0);
        }
        let bodies = delivered(&f, 0).await;
        assert_eq!(bodies, [b"m0", b"m0", b"m1", b"m1", b"m2", b"m2"]);
        // The files of delivered minutes go once the state says so.
        timers.persist().await.expect("persisted");
        let left = std::fs::read_dir(&dir).expect("dir").count();
        assert_eq!(left, 2, "state.json and the last minute's file");
        let _ = std::fs::remove_dir_all(dir);
    });
}

#[test]
fn a_restart_keeps_pending_timers_and_repeats_nothing_after_a_clean_stop() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let dir = crate::storage::test_dir("timer-restart");
        let now = f.clock.wall_ms();
        let (soon, later) = (now + 3_000, now + 5 * 3_600_000);
        {
            let timers = service(&f, &dir);
            send_at(&f, 0, soon, b"soon").await;
            send_at(&f, 0, later, b"later").await;
            timers.turn().await;
            f.clock.set_wall_ms(soon + 1_000);
            timers.turn().await;
            timers.persist().await.expect("persisted");
        }
        assert_eq!(delivered(&f, 0).await, [b"soon"]);
        let timers = service(&f, &dir);
        let due = TimerRules::default().due_ms(later);
        assert_eq!(timers.turn().await, Some(bucket_of(due)));
        assert_eq!(timers.progress().pending, 1);
        assert_eq!(timers.state().enqueued, 2);
        // The manual clock ticks 1 ms a reading: stand a little before the due time.
        f.clock.set_wall_ms(due - 50);
        timers.turn().await;
        assert_eq!(
            delivered(&f, 0).await,
            [b"soon"],
            "nothing early, nothing twice"
        );
        f.clock.set_wall_ms(due);
        assert_eq!(timers.turn().await, None);
        assert_eq!(delivered(&f, 0).await, [&b"soon"[..], b"later"]);
        let _ = std::fs::remove_dir_all(dir);
    });
}

#[test]
fn a_crash_repeats_only_what_was_delivered_since_the_state_was_written() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let dir = crate::storage::test_dir("timer-crash");
        let now = f.clock.wall_ms();
        {
            let timers = service(&f, &dir);
            send_at(&f, 0, now + 2_000, b"first").await;
            timers.turn().await;
            timers.persist().await.expect("persisted");
            send_at(&f, 0, now + 3_000, b"second").await;
            send_at(&f, 0, now + 3 * 3_600_000, b"far").await;
            f.clock.set_wall_ms(now + 4_000);
            timers.turn().await;
            // Dropped without writing its state again: a crash.
        }
        assert_eq!(delivered(&f, 0).await, [&b"first"[..], b"second"]);
        let timers = service(&f, &dir);
        timers.turn().await;
        let bodies = delivered(&f, 0).await;
        // Both deliveries came after the state write; the far timer is listed once.
        assert_eq!(bodies, [&b"first"[..], b"second", b"first", b"second"]);
        assert_eq!(timers.progress().pending, 1);
        let files = SlotFiles::new(dir.clone()).scan(0).expect("scan");
        let listed: u64 = files.values().map(|i| i.entries).sum();
        assert_eq!(listed, 3, "nothing listed twice");
        let _ = std::fs::remove_dir_all(dir);
    });
}

#[test]
fn a_timer_listed_after_its_time_goes_at_once() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let dir = crate::storage::test_dir("timer-late");
        let timers = service(&f, &dir);
        let now = f.clock.wall_ms();
        send_at(&f, 0, now + 1_500, b"late").await;
        // The service looks only after the time has passed (a busy or restarted shard).
        f.clock.set_wall_ms(now + 120_000);
        timers.deliver_due().await;
        assert!(timers.progress().delivered_until > now + 1_500);
        assert_eq!(timers.turn().await, None);
        assert_eq!(delivered(&f, 0).await, [b"late"]);
        // Never written to a file: the state keeps it unlisted until delivered.
        assert_eq!(timers.state().enqueued, 1);
        let _ = std::fs::remove_dir_all(dir);
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Any timers, sent in any order, with the service looking at any moments and restarting
    /// cleanly in between: each is delivered once, never before its time.
    #[test]
    fn every_timer_once_and_never_early(
        delays in proptest::collection::vec(0i64..400_000, 1..12),
        looks in proptest::collection::vec((1i64..90_000, any::<bool>()), 1..24),
    ) {
        run_local(move || async move {
            let f = fixture(FlushPolicy::Async, 16).await;
            let dir = crate::storage::test_dir("timer-prop");
            let start = f.clock.wall_ms();
            let mut timers = service(&f, &dir);
            let rules = TimerRules::default();
            let mut due = Vec::new();
            for (i, delay) in delays.iter().enumerate() {
                send_at(&f, 0, start + delay, i.to_string().as_bytes()).await;
                due.push(rules.due_ms(start + delay));
            }
            let mut now = start;
            let end = start + 400_000 + 2_000;
            for (step, restart) in looks.iter().copied().chain(std::iter::once((end - start, false))) {
                now = (now + step).min(end);
                f.clock.set_wall_ms(now);
                timers.turn().await;
                // The manual clock ticks on each reading: this is past every reading so far.
                let after = f.clock.wall_ms();
                for body in delivered(&f, 0).await {
                    let i: usize = String::from_utf8(body).expect("text").parse().expect("index");
                    assert!(due[i] <= after, "timer {i} due {} delivered by {after}", due[i]);
                }
                if restart {
                    timers.persist().await.expect("persisted");
                    timers = service(&f, &dir);
                }
            }
            f.clock.set_wall_ms(end);
            timers.turn().await;
            let mut got: Vec<usize> = delivered(&f, 0)
                .await
                .into_iter()
                .map(|b| String::from_utf8(b).expect("text").parse().expect("index"))
                .collect();
            got.sort_unstable();
            assert_eq!(got, (0..delays.len()).collect::<Vec<_>>());
            let _ = std::fs::remove_dir_all(dir);
        });
    }
}
