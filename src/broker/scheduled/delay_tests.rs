//! Delay levels, parking rules, due times and delivered properties.

use super::*;
use crate::config::parse_delay_levels;
use crate::wire::codes::response_code;
use crate::wire::Refusal;

fn levels(text: &str) -> DelayLevels {
    DelayLevels::new(parse_delay_levels(text).expect("levels"))
}

const NOW: i64 = 1_700_000_000_000;

#[test]
fn java_default_levels_and_clamping() {
    let java = DelayLevels::default();
    assert_eq!(java.max_level(), 18);
    assert_eq!(java.delay(1), Some(Duration::from_secs(1)));
    assert_eq!(java.delay(3), Some(Duration::from_secs(10)));
    assert_eq!(java.delay(18), Some(Duration::from_secs(7200)));
    assert_eq!((java.delay(0), java.delay(19)), (None, None));
    assert_eq!(java.clamp(3), Some(3));
    assert_eq!(java.clamp(99), Some(18));
    assert_eq!(java.clamp(i64::MAX), Some(18));
    assert_eq!((java.clamp(0), java.clamp(-1)), (None, None));
    assert_eq!(levels("").clamp(1), None);
}

#[test]
fn a_timer_is_due_at_the_next_multiple_of_the_precision() {
    let second = TimerRules::default();
    assert_eq!(second.due_ms(NOW), NOW);
    assert_eq!(second.due_ms(NOW + 1), NOW + 1_000);
    assert_eq!(second.due_ms(NOW + 999), NOW + 1_000);
    assert_eq!(second.due_ms(NOW + 2_500), NOW + 3_000);
    let exact = TimerRules {
        precision_ms: 1,
        ..TimerRules::default()
    };
    assert_eq!(exact.due_ms(NOW + 2_501), NOW + 2_501);
}

proptest::proptest! {
    #[test]
    fn a_due_time_is_never_early_and_at_most_one_precision_late(
        at in 0i64..4_000_000_000_000,
        precision in 1i64..=60_000,
    ) {
        let rules = TimerRules { precision_ms: precision, ..TimerRules::default() };
        let due = rules.due_ms(at);
        proptest::prop_assert!(due >= at && due - at < precision);
        proptest::prop_assert_eq!(due % precision, 0);
    }
}

#[test]
fn a_delay_level_parks_the_message_with_its_real_queue() {
    let props = "TAGS\u{1}a\u{2}DELAY\u{1}99\u{2}UNIQ_KEY\u{1}U1\u{2}";
    let rules = TimerRules::default();
    let parked = park(
        &levels("1s 2s"),
        &rules,
        "T",
        3,
        SysFlag::default(),
        props,
        || NOW,
    )
    .expect("legal")
    .expect("parked");
    assert_eq!(parked.wait, Wait::Level(2));
    assert_eq!(parked.topic(), SCHEDULE_TOPIC);
    assert_eq!(parked.queue_id(), 1);
    assert_eq!(
        parked.properties,
        "TAGS\u{1}a\u{2}UNIQ_KEY\u{1}U1\u{2}DELAY\u{1}2\u{2}REAL_TOPIC\u{1}T\u{2}REAL_QID\u{1}3\u{2}"
    );
}

#[test]
fn no_level_bad_level_or_a_half_message_is_not_parked() {
    let l = levels("1s");
    let rules = TimerRules::default();
    let plain = SysFlag::default();
    for props in [
        "",
        "DELAY\u{1}0\u{2}",
        "DELAY\u{1}-2\u{2}",
        "DELAY\u{1}x\u{2}",
    ] {
        let parked = park(&l, &rules, "T", 0, plain, props, || NOW);
        assert_eq!(parked.expect("legal"), None);
    }
    let half = SysFlag(0x4);
    for props in ["DELAY\u{1}1\u{2}", "TIMER_DELAY_SEC\u{1}5\u{2}"] {
        let parked = park(&l, &rules, "T", 0, half, props, || NOW);
        assert_eq!(parked.expect("legal"), None);
    }
}

#[test]
fn timer_properties_follow_java_5_rules() {
    let l = levels("1s 5s 10s 2h");
    let rules = TimerRules::default();
    let park_with = |props: &str| park(&l, &rules, "T", 2, SysFlag::default(), props, || NOW);
    let timer = |props: &str| park_with(props).expect("legal").expect("parked");
    let sec = timer("TIMER_DELAY_SEC\u{1}7\u{2}UNIQ_KEY\u{1}U\u{2}");
    assert_eq!(
        sec.wait,
        Wait::Timer {
            due_ms: NOW + 7_000
        }
    );
    assert_eq!((sec.topic(), sec.queue_id()), (TIMER_TOPIC, 0));
    let expected = format!(
        "UNIQ_KEY\u{1}U\u{2}TIMER_OUT_MS\u{1}{}\u{2}REAL_TOPIC\u{1}T\u{2}REAL_QID\u{1}2\u{2}",
        NOW + 7_000
    );
    assert_eq!(sec.properties, expected);
    // Rounded up to the precision, never down.
    let at = timer(&format!("TIMER_DELIVER_MS\u{1}{}\u{2}", NOW + 4_001));
    assert_eq!(
        at.wait,
        Wait::Timer {
            due_ms: NOW + 5_000
        }
    );
    let ms = timer("TIMER_DELAY_MS\u{1}2500\u{2}TIMER_OUT_MS\u{1}1\u{2}");
    assert_eq!(
        ms.wait,
        Wait::Timer {
            due_ms: NOW + 3_000
        }
    );
    assert!(!ms.properties.contains("TIMER_DELAY_MS"));
    assert_eq!(ms.properties.matches("TIMER_OUT_MS").count(), 1);
    // Beyond the last level, still exact.
    let days = timer("TIMER_DELAY_SEC\u{1}259200\u{2}");
    assert_eq!(
        days.wait,
        Wait::Timer {
            due_ms: NOW + 259_200_000
        }
    );
    let past = format!("TIMER_DELIVER_MS\u{1}{}\u{2}", NOW - 1);
    assert_eq!(park_with(&past).expect("legal"), None);
    let beyond = park_with("TIMER_DELAY_SEC\u{1}259201\u{2}").expect_err("too far");
    assert_eq!(beyond.response_code(), response_code::MESSAGE_ILLEGAL);
    let junk = park_with("TIMER_DELAY_SEC\u{1}soon\u{2}").expect_err("unreadable");
    assert_eq!(junk.response_code(), response_code::MESSAGE_ILLEGAL);
    // A level wins over the timer, whose properties go.
    let both = park_with("DELAY\u{1}1\u{2}TIMER_DELAY_SEC\u{1}999999\u{2}").expect("legal");
    let both = both.expect("parked");
    assert_eq!(both.wait, Wait::Level(1));
    assert!(!both.properties.contains("TIMER"));
}

#[test]
fn the_furthest_timer_follows_timer_max_delay_sec() {
    let l = levels("1s");
    let rules = TimerRules {
        max_delay: Duration::from_secs(60),
        precision_ms: 100,
    };
    let park_with = |props: &str| park(&l, &rules, "T", 0, SysFlag::default(), props, || NOW);
    let ok = park_with("TIMER_DELAY_MS\u{1}59950\u{2}").expect("legal");
    assert_eq!(
        ok.expect("parked").wait,
        Wait::Timer {
            due_ms: NOW + 60_000
        }
    );
    let far = park_with("TIMER_DELAY_SEC\u{1}61\u{2}").expect_err("too far");
    assert_eq!(far.response_code(), response_code::MESSAGE_ILLEGAL);
}

#[test]
fn due_time_is_store_time_plus_the_level_delay() {
    let ten = Duration::from_secs(10);
    assert_eq!(due_ms(NOW, ten, NOW), NOW + 10_000);
    assert_eq!(due_ms(NOW - 60_000, ten, NOW), NOW - 50_000);
    // Stored "in the future": the clock went back; deliver now rather than hold the queue.
    assert_eq!(due_ms(NOW + 3_600_000, ten, NOW), NOW);
    assert_eq!(due_ms(NOW + 5_000, ten, NOW), NOW);
}

#[test]
fn delivery_restores_the_real_queue_without_scheduling_keys() {
    let props = "TAGS\u{1}a\u{2}WAIT\u{1}true\u{2}DELAY\u{1}2\u{2}TIMER_DELAY_SEC\u{1}3\u{2}\
                 REAL_TOPIC\u{1}%RETRY%g\u{2}REAL_QID\u{1}0\u{2}UNIQ_KEY\u{1}U\u{2}";
    let (topic, queue, kept) = delivery(props).expect("deliverable");
    assert_eq!((topic, queue), ("%RETRY%g", 0));
    assert_eq!(
        kept,
        "TAGS\u{1}a\u{2}REAL_TOPIC\u{1}%RETRY%g\u{2}REAL_QID\u{1}0\u{2}UNIQ_KEY\u{1}U\u{2}\
         WAIT\u{1}false\u{2}"
    );
    assert_eq!(delivery("DELAY\u{1}1\u{2}"), None);
    let parked = "TIMER_OUT_MS\u{1}5000\u{2}REAL_TOPIC\u{1}T\u{2}REAL_QID\u{1}1\u{2}";
    let (topic, queue, kept) = timer_delivery(parked, 5_004).expect("deliverable");
    assert_eq!((topic, queue), ("T", 1));
    assert_eq!(
        kept,
        "TIMER_OUT_MS\u{1}5000\u{2}REAL_TOPIC\u{1}T\u{2}REAL_QID\u{1}1\u{2}WAIT\u{1}false\u{2}\
         TIMER_DEQUEUE_MS\u{1}5004\u{2}"
    );
    assert_eq!(delivery("REAL_TOPIC\u{1}T\u{2}REAL_QID\u{1}x\u{2}"), None);
}
