//! SEND handler tests, each on a fresh glommio executor with the in-memory disk.

use crate::broker::data::test_support::*;
use crate::broker::handler::Handling;
use crate::storage::config::FlushPolicy;
use crate::storage::{run_local, QueueId, QueueOffset};
use crate::wire::batch::{encode_entry, BatchEntry};
use crate::wire::codes::{request_code, response_code};
use crate::wire::headers::{pull_sys_flag, PullMessageResponseHeader, SendMessageResponseHeader};
use crate::wire::message_id::decode_offset_message_id;
use crate::wire::record::RecordView;
use crate::wire::RemotingCommand;

const PROPS: &str =
    "TAGS\u{1}TagA\u{2}KEYS\u{1}k1\u{2}UNIQ_KEY\u{1}0A0B0C0D00002A9F0000000000000001\u{2}";

#[test]
fn send_then_pull_returns_the_same_message_with_dense_offsets() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        for (i, body) in [&b"one"[..], b"two", b"three"].into_iter().enumerate() {
            let request = send_request(
                request_code::SEND_MESSAGE_V2,
                &send_header("T", 1, PROPS),
                body,
            );
            let response = f.send(&request).await;
            assert_eq!(response.code, response_code::SUCCESS);
            assert_eq!(response.opaque, 7);
            let header: SendMessageResponseHeader = response.decode_header().expect("header");
            assert_eq!((header.queue_id, header.queue_offset), (1, i as i64));
        }
        let response = f
            .pull(pull_request(&pull_header(
                "T",
                1,
                0,
                pull_sys_flag::SUBSCRIPTION,
            )))
            .await;
        assert_eq!(response.code, response_code::SUCCESS);
        let header: PullMessageResponseHeader = response.decode_header().expect("header");
        assert_eq!(
            (
                header.next_begin_offset,
                header.min_offset,
                header.max_offset
            ),
            (3, 0, 3)
        );
        let body = response.body_bytes();
        let records = records(&body);
        assert_eq!(records.len(), 3);
        for (i, (record, body)) in records
            .iter()
            .zip([&b"one"[..], b"two", b"three"])
            .enumerate()
        {
            let view = RecordView::parse(record).expect("record");
            assert_eq!(view.body(), body);
            assert_eq!(view.properties(), PROPS);
            assert_eq!(view.queue_offset().0, i as u64);
            assert_eq!(view.born_host(), producer());
            assert_eq!(view.store_host().to_string(), STORE_HOST);
            assert_eq!(view.born_timestamp_ms(), 1_600_000_000_000);
            assert!(view.store_timestamp_ms() >= 1_700_000_000_000);
        }
    });
}

#[test]
fn send_response_ids_decode_to_the_stored_record() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        f.send(&send_request(10, &send_header("T", 0, ""), b"first"))
            .await;
        let response = f
            .send(&send_request(10, &send_header("T", 0, PROPS), b"x"))
            .await;
        let header: SendMessageResponseHeader = response.decode_header().expect("header");
        assert_eq!(
            header.transaction_id.as_deref(),
            Some("0A0B0C0D00002A9F0000000000000001")
        );
        let (host, offset) = decode_offset_message_id(&header.msg_id).expect("offset id");
        assert_eq!(host.to_string(), STORE_HOST);
        assert!(offset.0 > 0, "the second record is not at the log start");
        let stored = f.store.read(offset, 8).await.expect("read");
        let size = u32::from_be_bytes([stored[0], stored[1], stored[2], stored[3]]) as usize;
        let record = f.store.read(offset, size).await.expect("read");
        let view = RecordView::parse(&record).expect("record");
        assert_eq!((view.body(), view.physical_offset()), (&b"x"[..], offset));
    });
}

fn batch_body(n: usize) -> Vec<u8> {
    let mut out = bytes::BytesMut::new();
    for i in 0..n {
        let props = format!("UNIQ_KEY\u{1}ID{i}\u{2}TAGS\u{1}TagB\u{2}");
        let body = format!("m{i}");
        let entry = BatchEntry {
            flag: 0,
            body: body.as_bytes(),
            properties: &props,
        };
        encode_entry(&mut out, &entry).expect("entry");
    }
    out.to_vec()
}

#[test]
fn batch_of_ten_stores_ten_records_with_their_own_ids() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let mut header = send_header("T", 2, "UNIQ_KEY\u{1}WRAPPER\u{2}WAIT\u{1}true\u{2}");
        header.batch = Some(true);
        let response = f
            .send(&send_request(
                request_code::SEND_BATCH_MESSAGE,
                &header,
                &batch_body(10),
            ))
            .await;
        assert_eq!(response.code, response_code::SUCCESS);
        let header: SendMessageResponseHeader = response.decode_header().expect("header");
        let ids: Vec<&str> = header.msg_id.split(',').collect();
        assert_eq!(ids.len(), 10);
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        assert_eq!((header.queue_id, header.queue_offset), (2, 0));
        let pull = f
            .pull(pull_request(&pull_header(
                "T",
                2,
                0,
                pull_sys_flag::SUBSCRIPTION,
            )))
            .await;
        let body = pull.body_bytes();
        let records = records(&body);
        assert_eq!(records.len(), 10);
        for (i, (record, id)) in records.iter().zip(&ids).enumerate() {
            let view = RecordView::parse(record).expect("record");
            assert_eq!(view.queue_offset().0, i as u64);
            assert_eq!(view.uniq_key(), Some(format!("ID{i}").as_str()));
            assert_eq!(view.property("WAIT"), Some("true"), "wrapper key merged");
            let (_, offset) = decode_offset_message_id(id).expect("id");
            assert_eq!(view.physical_offset(), offset);
        }
    });
}

#[test]
fn oversize_body_is_message_illegal() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let body = vec![0u8; crate::limits::MESSAGE_BODY_SIZE_MAX + 1];
        let response = f
            .send(&send_request(10, &send_header("T", 0, ""), &body))
            .await;
        assert_eq!(response.code, response_code::MESSAGE_ILLEGAL);
        assert_eq!(f.store.queue_range("T", QueueId(0)).1 .0, 0);
    });
}

#[test]
fn unknown_topic_without_a_template_is_topic_not_exist() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        f.topics.table.borrow_mut().remove("TBW102");
        let response = f
            .send(&send_request(10, &send_header("Fresh", 0, ""), b"x"))
            .await;
        assert_eq!(response.code, response_code::TOPIC_NOT_EXIST);
        let remark = response.remark.expect("remark");
        assert!(
            remark.starts_with("topic[Fresh] not exist, apply first please!"),
            "{remark}"
        );
    });
}

#[test]
fn unknown_topic_is_created_from_the_template() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let response = f
            .send(&send_request(310, &send_header("Fresh", -1, ""), b"x"))
            .await;
        assert_eq!(response.code, response_code::SUCCESS);
        let info = f
            .topics
            .table
            .borrow()
            .get("Fresh")
            .copied()
            .expect("created");
        assert_eq!(
            (info.read_queue_nums, info.write_queue_nums, info.perm),
            (4, 4, 6)
        );
    });
}

#[test]
fn system_topics_and_bad_names_are_refused() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let long = "t".repeat(128);
        let cases = [
            ("SCHEDULE_TOPIC_XXXX", 0, response_code::NO_PERMISSION),
            ("bad topic", 0, response_code::INVALID_PARAMETER),
            (&long, 0, response_code::INVALID_PARAMETER),
            ("T", 4, response_code::INVALID_PARAMETER),
        ];
        for (topic, queue, code) in cases {
            let response = f
                .send(&send_request(10, &send_header(topic, queue, ""), b"x"))
                .await;
            assert_eq!(response.code, code, "{topic} {queue}");
        }
        // Java's remarks for names the rules refuse.
        let remarks = [
            (
                "bad topic",
                "The specified topic: bad topic, contains illegal characters, allowing only \
                 ^[%|a-zA-Z0-9_-]+$"
                    .to_owned(),
            ),
            (
                &long,
                format!("The specified topic: {long}, is longer than topic max length: 127"),
            ),
        ];
        for (topic, remark) in remarks {
            let response = f
                .send(&send_request(10, &send_header(topic, 0, ""), b"x"))
                .await;
            assert_eq!(response.remark.as_deref(), Some(remark.as_str()));
        }
    });
}

#[test]
fn oneway_send_is_stored_without_waiting_for_the_disk() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Sync, 16).await;
        let mut request = send_request(10, &send_header("T", 3, ""), b"x");
        request.flag |= crate::wire::command::FLAG_ONEWAY;
        let handling = f.send.handle(producer(), &request);
        assert!(matches!(handling, Handling::Now(Ok(_))), "{handling:?}");
        f.store.reput().await.expect("reput");
        assert_eq!(f.store.queue_range("T", QueueId(3)).1 .0, 1);
    });
}

#[test]
fn sync_flush_send_answers_once_the_record_is_durable() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Sync, 16).await;
        let request = send_request(10, &send_header("T", 0, ""), b"durable");
        let Handling::Later(later) = f.send.handle(producer(), &request) else {
            panic!("a SYNC_FLUSH send waits for the flush");
        };
        let end = f.store.log().end();
        let response = later.await.expect("answered");
        assert_eq!(response.code, response_code::SUCCESS);
        assert!(f.store.log().flushed() >= end);
    });
}

#[test]
fn retry_send_past_its_maximum_goes_to_the_dead_letter_topic() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let mut header = send_header("%RETRY%cg", 0, "DELAY\u{1}3\u{2}TAGS\u{1}a\u{2}");
        header.reconsume_times = Some(3);
        header.max_reconsume_times = Some(2);
        let response = f.send(&send_request(10, &header, b"dead")).await;
        assert_eq!(response.code, response_code::SUCCESS);
        let info = f
            .topics
            .table
            .borrow()
            .get("%DLQ%cg")
            .copied()
            .expect("DLQ created");
        assert_eq!((info.write_queue_nums, info.perm), (1, 6));
        let pull = f
            .pull(pull_request(&pull_header(
                "%DLQ%cg",
                0,
                0,
                pull_sys_flag::SUBSCRIPTION,
            )))
            .await;
        let body = pull.body_bytes();
        let records = records(&body);
        let view = RecordView::parse(records[0]).expect("record");
        assert_eq!(
            (view.body(), view.properties()),
            (&b"dead"[..], "TAGS\u{1}a\u{2}")
        );
        assert_eq!(view.reconsume_times(), 3);
    });
}

#[test]
fn sync_flush_send_past_its_timeout_answers_flush_disk_timeout() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Sync, 16).await;
        let request = send_request(10, &send_header("T", 0, ""), b"slow");
        let Handling::Later(later) = f.send.handle(producer(), &request) else {
            panic!("a SYNC_FLUSH send waits for the flush");
        };
        // The writer has not run yet, so the timeout wins the race.
        f.timer.fire();
        let response = later.await.expect("answered");
        assert_eq!(response.code, response_code::FLUSH_DISK_TIMEOUT);
        let header: SendMessageResponseHeader = response.decode_header().expect("header");
        assert_eq!(header.queue_offset, 0);
    });
}

#[test]
fn sync_flush_send_whose_sync_fails_is_a_system_error() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Sync, 16).await;
        f.mem.set_faults(crate::storage::io::mem::Faults {
            sync_fail_per_mille: 1000,
            ..Default::default()
        });
        let request = send_request(10, &send_header("T", 0, ""), b"lost");
        let response = answer(&request, f.send.handle(producer(), &request)).await;
        assert_eq!(response.code, response_code::SYSTEM_ERROR);
        let again = answer(&request, f.send.handle(producer(), &request)).await;
        assert_eq!(
            again.code,
            response_code::SYSTEM_ERROR,
            "{:?}",
            again.remark
        );
    });
}

#[test]
fn ali_ons_send_with_json_numbers_is_stored() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let frame = br#"{"code":310,"language":"JAVA","version":121,"opaque":5,"flag":0,
            "extFields":{"a":"pg","b":"T","c":"TBW102","d":4,"e":1,"f":0,"g":1700000000000,
            "h":0,"i":"UNIQ_KEY\u0001K1\u0002","j":0,"k":false,"l":16,"m":false}}"#;
        let mut request = crate::wire::header_json::decode(frame).expect("valid header");
        request.body = bytes::Bytes::from_static(b"from node");
        let response = f.send(&request).await;
        assert_eq!(
            (response.code, response.opaque),
            (response_code::SUCCESS, 5)
        );
        let header: SendMessageResponseHeader = response.decode_header().expect("header");
        assert_eq!((header.queue_id, header.queue_offset), (1, 0));
        assert_eq!(header.transaction_id.as_deref(), Some("K1"));
    });
}

/// A batch send of `n` 10 KiB messages to queue 0 of T.
fn big_batch(n: usize) -> RemotingCommand {
    let mut out = bytes::BytesMut::new();
    let body = vec![7u8; 10 * 1024];
    for _ in 0..n {
        let entry = BatchEntry {
            flag: 0,
            body: &body,
            properties: "",
        };
        encode_entry(&mut out, &entry).expect("entry");
    }
    let mut header = send_header("T", 0, "");
    header.batch = Some(true);
    send_request(320, &header, &out)
}

/// Fills the 256 KiB test buffer without yielding, so the writer cannot drain it: big
/// records, then small ones for the last bytes.
fn fill_the_log_buffer(f: &Fixture) {
    for size in [16 * 1024, 64] {
        let body = vec![1u8; size];
        let mut filler = crate::storage::record::encode("T", QueueId(1), &body, None);
        while f.store.put("T", QueueId(1), &mut filler).is_ok() {}
    }
}

#[test]
fn a_batch_that_finds_the_log_buffer_full_waits_and_is_stored_whole() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        fill_the_log_buffer(&f);
        let request = big_batch(4);
        let Handling::Later(later) = f.send.handle(producer(), &request) else {
            panic!("a batch into a full buffer waits");
        };
        let response = later.await.expect("answered");
        assert_eq!(response.code, response_code::SUCCESS);
        let answer: SendMessageResponseHeader = response.decode_header().expect("header");
        let ids = answer.msg_id.split(',').map(decode_offset_message_id);
        let offsets: Vec<u64> = ids.map(|id| id.expect("id").1 .0).collect();
        f.store.reput().await.expect("reput");
        let entries = f.store.entries("T", QueueId(0), QueueOffset(0), 10).await;
        let stored: Vec<u64> = (entries.expect("entries").iter())
            .map(|e| e.physical_offset.0)
            .collect();
        assert_eq!(stored, offsets, "four records, their ids' offsets");
        let sizes = offsets.windows(2).map(|w| w[1] - w[0]);
        assert!(
            sizes.clone().all(|s| s > 10 * 1024),
            "back to back: {offsets:?}"
        );
    });
}

#[test]
fn a_send_that_finds_the_log_buffer_full_waits_for_room() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        fill_the_log_buffer(&f);
        let body = vec![2u8; 1024];
        let request = send_request(310, &send_header("T", 0, ""), &body);
        let Handling::Later(later) = f.send.handle(producer(), &request) else {
            panic!("a send into a full buffer waits");
        };
        let response = later.await.expect("answered");
        assert_eq!(
            response.code,
            response_code::SUCCESS,
            "{:?}",
            response.remark
        );
        f.store.reput().await.expect("reput");
        assert_eq!(f.store.queue_range("T", QueueId(0)).1 .0, 1);
    });
}

#[test]
fn a_batch_larger_than_a_segment_is_refused_and_stores_nothing() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        // A batch is stored in one segment, as in Java's log: the test's are 64 KiB.
        let response = f.send(&big_batch(30)).await;
        assert_eq!(response.code, response_code::MESSAGE_ILLEGAL);
        let remark = response.remark.unwrap_or_default();
        assert!(remark.contains("segment holds"), "{remark}");
        assert_eq!(f.store.queue_range("T", QueueId(0)).1 .0, 0);
    });
}

#[test]
fn half_messages_wait_in_the_half_queue() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let props = "TRAN_MSG\u{1}true\u{2}PGROUP\u{1}pg\u{2}UNIQ_KEY\u{1}K1\u{2}";
        let mut header = send_header("T", 1, props);
        header.sys_flag = crate::wire::record::SysFlag::TRANSACTION_PREPARED as i32;
        let response = f.send(&send_request(10, &header, b"half")).await;
        assert_eq!(response.code, response_code::SUCCESS);
        let answer: SendMessageResponseHeader = response.decode_header().expect("header");
        assert_eq!(
            (answer.queue_id, answer.queue_offset),
            (1, 0),
            "real queue, half offset"
        );
        assert_eq!(answer.transaction_id.as_deref(), Some("K1"));
        assert_eq!(
            f.store.queue_range("T", QueueId(1)).1 .0,
            0,
            "not in its queue"
        );
        let half_queue = f.store.queue_range("RMQ_SYS_TRANS_HALF_TOPIC", QueueId(0));
        assert_eq!(half_queue.1 .0, 1);
        assert_eq!(f.transactions.pending(), 1);

        let ok = f
            .send(&send_request(10, &send_header("T", 1, ""), b"x"))
            .await;
        let header: SendMessageResponseHeader = ok.decode_header().expect("header");
        assert_eq!(header.queue_offset, 0, "the queue is untouched");
    });
}

#[test]
fn stored_and_pulled_messages_are_counted() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        let mut header = send_header("T", 1, "");
        header.batch = Some(true);
        let batch = send_request(request_code::SEND_BATCH_MESSAGE, &header, &batch_body(3));
        assert_eq!(f.send(&batch).await.code, response_code::SUCCESS);
        let one = send_request(10, &send_header("T", 1, PROPS), b"one");
        assert_eq!(f.send(&one).await.code, response_code::SUCCESS);
        let refused = send_request(10, &send_header("T", 99, ""), b"no such queue");
        assert_ne!(f.send(&refused).await.code, response_code::SUCCESS);
        assert_eq!(
            (f.traffic.totals().stored, f.traffic.totals().pulled),
            (4, 0)
        );

        let all = pull_header("T", 1, 0, pull_sys_flag::SUBSCRIPTION);
        let pulled = f.pull(pull_request(&all)).await;
        assert_eq!(records(&pulled.body_bytes()).len(), 4);
        let past = pull_header("T", 1, 4, pull_sys_flag::SUBSCRIPTION);
        let nothing_new = f.pull(pull_request(&past)).await;
        assert_eq!(nothing_new.code, response_code::PULL_NOT_FOUND);
        assert_eq!(
            (f.traffic.totals().stored, f.traffic.totals().pulled),
            (4, 4)
        );
    });
}

#[test]
fn a_delayed_batch_is_refused_and_a_delayed_message_waits_in_its_level() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        for props in ["DELAY\u{1}2\u{2}", "TIMER_DELAY_SEC\u{1}5\u{2}"] {
            let mut header = send_header("T", 0, props);
            header.batch = Some(true);
            let code = request_code::SEND_BATCH_MESSAGE;
            let response = f.send(&send_request(code, &header, &batch_body(2))).await;
            assert_eq!(response.code, response_code::MESSAGE_ILLEGAL, "{props}");
        }
        assert_eq!(f.store.queue_range("T", QueueId(0)).1 .0, 0);

        let header = send_header("T", 3, "DELAY\u{1}2\u{2}");
        let response = f.send(&send_request(10, &header, b"later")).await;
        assert_eq!(response.code, response_code::SUCCESS);
        let sent: SendMessageResponseHeader = response.decode_header().expect("header");
        assert_eq!(sent.queue_id, 3);
        let schedule = QueueId(1);
        assert_eq!(f.store.queue_range("SCHEDULE_TOPIC_XXXX", schedule).1 .0, 1);
        assert_eq!(f.store.queue_range("T", QueueId(3)).1 .0, 0);
    });
}

#[test]
fn a_queue_past_a_shards_share_of_a_spread_topic_is_taken_modulo_its_queues() {
    run_local(|| async {
        let f = fixture(FlushPolicy::Async, 16).await;
        f.topics.add(
            "spread",
            2,
            crate::wire::body::perm::READ | crate::wire::body::perm::WRITE,
        );
        if let Some(info) = f.topics.table.borrow_mut().get_mut("spread") {
            info.partial = true;
        }
        let response = f
            .send(&send_request(10, &send_header("spread", 3, ""), b"x"))
            .await;
        assert_eq!(response.code, response_code::SUCCESS);
        let header: SendMessageResponseHeader = response.decode_header().expect("header");
        assert_eq!(header.queue_id, 1, "3 mod 2");
    });
}
