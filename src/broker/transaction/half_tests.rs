use super::*;

use crate::wire::record::{RecordFields, RecordVersion};

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], port))
}

/// A stored half record with `props`, at queue offset `q` and CommitLog offset `at`.
fn stored_half(props: &str, q: u64, at: u64) -> Vec<u8> {
    let fields = RecordFields {
        version: RecordVersion::V1,
        queue_id: 0,
        flag: 3,
        queue_offset: QueueOffset(q),
        physical_offset: PhysicalOffset(at),
        sysflag: SysFlag(0),
        born_timestamp_ms: 1_000,
        born_host: addr(5000),
        store_timestamp_ms: 2_000,
        store_host: addr(10911),
        reconsume_times: 0,
        prepared_transaction_offset: PhysicalOffset(0),
        body: b"payload",
        topic: TRANS_HALF_TOPIC,
        properties: props,
    };
    fields.to_vec().expect("encode")
}

fn props(pairs: &[(&str, &str)]) -> String {
    let mut b = Builder::new();
    for (k, v) in pairs {
        b.push(k, v).expect("pair");
    }
    b.finish()
}

#[test]
fn java_decides_what_is_a_half_message() {
    let delayed = props(&[("DELAY", "3")]);
    assert!(is_half(true, 0, ""));
    assert!(is_half(true, 0, &delayed));
    assert!(is_half(true, 2, ""));
    // A message sent back by a consumer of an old client keeps TRAN_MSG: not a half.
    assert!(!is_half(true, 1, &delayed));
    assert!(!is_half(false, 0, ""));
}

#[test]
fn a_half_message_names_where_it_goes_and_its_transaction() {
    let sent = props(&[
        ("UNIQ_KEY", "U1"),
        ("TRAN_MSG", "true"),
        ("REAL_TOPIC", "forged"),
    ]);
    let half = half_properties(&sent, "T", 3).expect("props");
    assert_eq!(properties::get(&half, "REAL_TOPIC"), Some("T"));
    assert_eq!(properties::get(&half, "REAL_QID"), Some("3"));
    assert_eq!(properties::get(&half, keys::TRANSACTION_ID), Some("U1"));
    assert_eq!(
        properties::iter(&half)
            .filter(|(k, _)| *k == "REAL_TOPIC")
            .count(),
        1
    );
}

#[test]
fn the_committed_message_is_the_half_in_its_real_queue() {
    let half_props = props(&[
        ("UNIQ_KEY", "U1"),
        ("TRAN_MSG", "true"),
        ("PGROUP", "pg"),
        ("REAL_TOPIC", "T"),
        ("REAL_QID", "2"),
        ("WAIT", "true"),
    ]);
    let bytes = stored_half(&half_props, 7, 4096);
    let half = RecordView::parse(&bytes).expect("half");
    let committed = committed_properties(half.properties()).expect("props");
    let fields =
        effect_fields(End::Commit, &half, PhysicalOffset(4096), &committed).expect("commit");
    assert_eq!((fields.topic, fields.queue_id), ("T", 2));
    assert_eq!(fields.sysflag.transaction(), TransactionType::Commit);
    assert_eq!(fields.prepared_transaction_offset, PhysicalOffset(4096));
    assert_eq!((fields.body, fields.flag), (&b"payload"[..], 3));
    assert_eq!(properties::get(fields.properties, "TRAN_MSG"), None);
    assert_eq!(properties::get(fields.properties, "REAL_QID"), None);
    assert_eq!(properties::get(fields.properties, "WAIT"), Some("false"));
    assert_eq!(properties::get(fields.properties, "UNIQ_KEY"), Some("U1"));
    assert!(effect_fields(End::Rollback, &half, PhysicalOffset(4096), &committed).is_none());
    let discard = effect_fields(End::Discard, &half, PhysicalOffset(4096), half.properties())
        .expect("discard");
    assert_eq!(
        (discard.topic, discard.queue_id),
        (TRANS_CHECK_MAX_TIME_TOPIC, 0)
    );

    let out = fields.to_vec().expect("encode");
    let stored = RecordView::parse(&out).expect("record");
    assert!(is_effect(&stored, End::Commit, PhysicalOffset(4096)));
    assert!(!is_effect(&stored, End::Commit, PhysicalOffset(4097)));
    assert!(!is_effect(&stored, End::Discard, PhysicalOffset(4096)));
}

#[test]
fn checked_copies_carry_their_transaction_and_count() {
    let first = stored_half(&props(&[("UNIQ_KEY", "U1")]), 7, 0);
    assert_eq!(identity(&RecordView::parse(&first).expect("r")), (7, 0));
    let copy_props = checked_properties(&props(&[("UNIQ_KEY", "U1")]), 7, 1).expect("props");
    let again = checked_properties(&copy_props, 7, 2).expect("props");
    let copy = stored_half(&again, 12, 900);
    assert_eq!(identity(&RecordView::parse(&copy).expect("r")), (7, 2));
    assert_eq!(
        properties::iter(&again).count(),
        3,
        "no key twice: {again:?}"
    );
}

#[test]
fn op_records_say_which_transaction_ended_and_how() {
    let body = op_body(42);
    assert_eq!(body, "42,");
    assert_eq!(op_offsets(b"1,2,3,").collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(op_offsets(b"junk,5,").collect::<Vec<_>>(), [5]);
    let p = op_properties(End::Discard, PhysicalOffset(77)).expect("props");
    let fields = op_fields(body.as_bytes(), &p, addr(10911), 5);
    let out = fields.to_vec().expect("encode");
    let op = RecordView::parse(&out).expect("op");
    assert_eq!(op.topic(), TRANS_OP_HALF_TOPIC);
    assert_eq!(op.tags(), Some(OP_TAG));
    assert_eq!(op_end(&op), Some((End::Discard, PhysicalOffset(77))));
}

#[test]
fn immunity_replaces_the_timeout_for_the_first_check() {
    assert_eq!(first_check_ms("", 1_000, 6_000), 7_000);
    let immune = props(&[("CHECK_IMMUNITY_TIME_IN_SECONDS", "60")]);
    assert_eq!(first_check_ms(&immune, 1_000, 6_000), 61_000);
    let default = props(&[("CHECK_IMMUNITY_TIME_IN_SECONDS", "-1")]);
    assert_eq!(first_check_ms(&default, 1_000, 6_000), 7_000);
    let unreadable = props(&[("CHECK_IMMUNITY_TIME_IN_SECONDS", "soon")]);
    assert_eq!(first_check_ms(&unreadable, 1_000, 6_000), 7_000);
}
