//! The retry rules of CONSUMER_SEND_MSG_BACK and the lookup of the failed message; the whole
//! request is exercised against the real broker in `tests/consumer_send_msg_back.rs`.

use super::*;
use crate::broker::data::test_support::*;
use crate::storage::config::FlushPolicy;
use crate::storage::run_local;
use crate::wire::codes::response_code;
use crate::wire::headers::SendMessageResponseHeader;
use crate::wire::message_id::decode_offset_message_id;
use crate::wire::Refusal;

/// Sends a message to `T` and reads it back by the physical offset of its offset id;
/// returns the record and that id.
async fn send_and_look_up(f: &Fixture, props: &str, body: &[u8]) -> (LogBytes, String) {
    let sent = f
        .send(&send_request(310, &send_header("T", 2, props), body))
        .await;
    let header: SendMessageResponseHeader = sent.decode_header().expect("header");
    let (_, offset) = decode_offset_message_id(&header.msg_id).expect("offset id");
    let record = stored_record(&f.store, offset.0 as i64).await;
    (record.expect("found"), header.msg_id)
}

#[test]
fn java_decides_between_retry_and_dead_letter() {
    assert_eq!(Target::of(0, 0, 16), Target::Retry { level: 3 });
    assert_eq!(Target::of(0, 5, 16), Target::Retry { level: 8 });
    assert_eq!(Target::of(1, 5, 16), Target::Retry { level: 1 });
    assert_eq!(Target::of(0, 16, 16), Target::DeadLetter);
    assert_eq!(Target::of(0, 0, 0), Target::DeadLetter);
    assert_eq!(Target::of(-1, 0, 16), Target::DeadLetter);
    assert_eq!(Target::Retry { level: 1 }.topic("g"), "%RETRY%g");
    assert_eq!(Target::DeadLetter.topic("g"), "%DLQ%g");
}

#[test]
fn the_client_limit_counts_from_version_3_4_9() {
    let header = ConsumerSendMsgBackRequestHeader {
        max_reconsume_times: Some(2),
        ..Default::default()
    };
    assert_eq!(max_reconsume_times(&header, 479, 16), 2);
    assert_eq!(max_reconsume_times(&header, 120, 16), 16);
    assert_eq!(max_reconsume_times(&header, 120, 3), 3);
    let without = ConsumerSendMsgBackRequestHeader::default();
    assert_eq!(max_reconsume_times(&without, 479, 5), 5);
}

#[test]
fn a_stored_message_is_found_by_its_physical_offset_only() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let props = "TAGS\u{1}a\u{2}WAIT\u{1}true\u{2}UNIQ_KEY\u{1}U1\u{2}";
        let (record, msg_id) = send_and_look_up(&f, props, b"payload").await;
        let (host, offset) = decode_offset_message_id(&msg_id).expect("offset id");
        let view = RecordView::parse(&record).expect("record");
        assert_eq!((view.topic(), view.body()), ("T", &b"payload"[..]));
        for wrong in [offset.0 as i64 + 1, -1, 1 << 40] {
            let err = stored_record(&f.store, wrong)
                .await
                .expect_err("no record there");
            assert_eq!(err, BrokerError::SendBackNotFound(wrong));
            assert_eq!(err.response_code(), response_code::SYSTEM_ERROR);
        }

        let retry = resent_properties(&view, Target::Retry { level: 4 }, host).expect("props");
        assert_eq!(
            retry,
            format!(
                "TAGS\u{1}a\u{2}UNIQ_KEY\u{1}U1\u{2}RETRY_TOPIC\u{1}T\u{2}\
                 ORIGIN_MESSAGE_ID\u{1}{}\u{2}WAIT\u{1}false\u{2}DELAY\u{1}4\u{2}",
                msg_id
            )
        );
        let dead = resent_properties(&view, Target::DeadLetter, host).expect("props");
        assert!(!dead.contains("DELAY") && dead.contains("RETRY_TOPIC\u{1}T"));
    });
}

#[test]
fn a_second_round_keeps_the_first_topic_and_id() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let props = "RETRY_TOPIC\u{1}Orig\u{2}ORIGIN_MESSAGE_ID\u{1}FIRST\u{2}DELAY\u{1}3\u{2}";
        // The send parks it (DELAY 3); the parked record is what a consumer never sees,
        // but its properties show the rule just as well.
        let (record, msg_id) = send_and_look_up(&f, props, b"again").await;
        let (host, _) = decode_offset_message_id(&msg_id).expect("offset id");
        let view = RecordView::parse(&record).expect("record");
        let props = resent_properties(&view, Target::Retry { level: 5 }, host).expect("props");
        assert!(props.contains("RETRY_TOPIC\u{1}Orig\u{2}"), "{props}");
        assert!(
            props.contains("ORIGIN_MESSAGE_ID\u{1}FIRST\u{2}"),
            "{props}"
        );
        assert!(props.ends_with("DELAY\u{1}5\u{2}") && !props.contains("DELAY\u{1}3"));
    });
}
