//! Round-trip, truncation, corruption and arbitrary-input tests of the record codec.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::BytesMut;
use proptest::prelude::*;

use super::*;
use crate::limits::PROPERTIES_SIZE_MAX;
use crate::wire::WireError;

fn v4(port: u16) -> SocketAddr {
    SocketAddr::new(Ipv4Addr::new(10, 0, 0, 1).into(), port)
}

fn v6(port: u16) -> SocketAddr {
    let ip = Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 3, 4, 5, 6);
    SocketAddr::new(ip.into(), port)
}

fn fields<'a>(born: SocketAddr, store: SocketAddr, version: RecordVersion) -> RecordFields<'a> {
    RecordFields {
        version,
        queue_id: 3,
        flag: -7,
        queue_offset: QueueOffset(42),
        physical_offset: PhysicalOffset(0x12C40),
        sysflag: SysFlag(SysFlag::COMPRESSED | 0x100),
        born_timestamp_ms: 1_700_000_000_123,
        born_host: born,
        store_timestamp_ms: 1_700_000_000_456,
        store_host: store,
        reconsume_times: 2,
        prepared_transaction_offset: PhysicalOffset(77),
        body: b"hello, record",
        topic: "TopicTest",
        properties: "TAGS\u{1}TagA\u{2}KEYS\u{1}k1 k2\u{2}UNIQ_KEY\u{1}0A0000010001\u{2}",
    }
}

fn encode(fields: &RecordFields<'_>) -> Vec<u8> {
    let mut out = BytesMut::new();
    let len = fields.encode(&mut out).unwrap();
    assert_eq!(len, out.len());
    out.to_vec()
}

fn all_shapes() -> Vec<RecordFields<'static>> {
    let mut shapes = Vec::new();
    for version in [RecordVersion::V1, RecordVersion::V2] {
        for born in [v4(50_001), v6(50_002)] {
            for store in [v4(10_911), v6(10_912)] {
                shapes.push(fields(born, store, version));
            }
        }
    }
    shapes
}

#[test]
fn every_field_round_trips() {
    for original in all_shapes() {
        let bytes = encode(&original);
        let view = RecordView::parse(&bytes).unwrap();
        let decoded = view.fields();
        assert_eq!(decoded.sysflag, original.stored_sysflag());
        assert_eq!(
            decoded,
            RecordFields {
                sysflag: original.stored_sysflag(),
                ..original
            }
        );
        assert_eq!(view.total_size() as usize, bytes.len());
        assert_eq!(view.as_bytes(), &bytes[..]);
        assert_eq!(view.sysflag().born_host_v6(), original.born_host.is_ipv6());
        assert_eq!(
            view.sysflag().store_host_v6(),
            original.store_host.is_ipv6()
        );
        assert!(view.body_crc_matches());
        assert_eq!(view.tags(), Some("TagA"));
        assert_eq!(view.keys(), Some("k1 k2"));
        assert_eq!(view.uniq_key(), Some("0A0000010001"));
    }
}

#[test]
fn smallest_record_has_the_documented_size() {
    let mut small = fields(v4(1), v4(2), RecordVersion::V1);
    (small.body, small.topic, small.properties) = (b"", "", "");
    assert_eq!(small.encoded_len().unwrap(), RECORD_SIZE_MIN);
    let bytes = encode(&small);
    assert!(matches!(check(&bytes), Ok(Scan::Message(_))));
}

#[test]
fn v1_layout_matches_the_spec_offsets() {
    let original = fields(v4(50_001), v4(10_911), RecordVersion::V1);
    let bytes = encode(&original);
    assert_eq!(&bytes[4..8], &MAGIC_V1.to_be_bytes());
    assert_eq!(&bytes[20..28], &42u64.to_be_bytes());
    assert_eq!(&bytes[64..68], &[10, 0, 0, 1]);
    assert_eq!(&bytes[68..72], &10_911u32.to_be_bytes());
    assert_eq!(&bytes[84..88], &13u32.to_be_bytes());
    assert_eq!(bytes[88 + 13], 9);
    let expected = 91 + 13 + original.topic.len() + original.properties.len();
    assert_eq!(bytes.len(), expected);
}

#[test]
fn version_follows_topic_length() {
    assert_eq!(
        RecordVersion::for_topic(&"t".repeat(127)),
        RecordVersion::V1
    );
    assert_eq!(
        RecordVersion::for_topic(&"t".repeat(128)),
        RecordVersion::V2
    );
    let long = "t".repeat(200);
    let mut record = fields(v4(1), v4(2), RecordVersion::V1);
    record.topic = &long;
    assert!(record.encoded_len().is_err());
    record.version = RecordVersion::V2;
    let bytes = encode(&record);
    assert_eq!(RecordView::parse(&bytes).unwrap().topic(), long);
}

#[test]
fn check_reports_what_reput_needs() {
    let bytes = encode(&fields(v6(1), v4(2), RecordVersion::V1));
    let Ok(Scan::Message(meta)) = check(&bytes) else {
        panic!("record rejected");
    };
    assert_eq!(meta.total_size as usize, bytes.len());
    assert_eq!(meta.queue_id, 3);
    assert_eq!(meta.queue_offset, QueueOffset(42));
    assert_eq!(meta.physical_offset, PhysicalOffset(0x12C40));
    assert_eq!(meta.prepared_transaction_offset, PhysicalOffset(77));
    assert_eq!(meta.store_timestamp_ms, 1_700_000_000_456);
    assert_eq!(meta.topic, "TopicTest");
    assert_eq!(meta.tags, Some("TagA"));
    assert_eq!(meta.tags_hash, 2_598_919);
    assert_eq!(meta.keys, Some("k1 k2"));
    assert_eq!(meta.uniq_key, Some("0A0000010001"));
    assert!(meta.sysflag.born_host_v6());
}

#[test]
fn check_accepts_a_record_followed_by_more_bytes() {
    let mut bytes = encode(&fields(v4(1), v4(2), RecordVersion::V2));
    let len = bytes.len();
    bytes.extend_from_slice(&[0xAB; 40]);
    let Ok(Scan::Message(meta)) = check(&bytes) else {
        panic!("record rejected");
    };
    assert_eq!(meta.total_size as usize, len);
}

#[test]
fn blank_record_is_reported_distinctly() {
    let mut blank = 4096u32.to_be_bytes().to_vec();
    blank.extend_from_slice(&MAGIC_BLANK.to_be_bytes());
    assert_eq!(
        check(&blank),
        Ok(Scan::Blank(BlankRecord { total_size: 4096 }))
    );
    assert!(matches!(
        RecordView::parse(&blank),
        Err(WireError::Invalid(_))
    ));
    blank[..4].copy_from_slice(&7u32.to_be_bytes());
    assert!(matches!(check(&blank), Err(WireError::Invalid(_))));
}

#[test]
fn truncation_at_every_byte_is_incomplete() {
    for original in all_shapes() {
        let bytes = encode(&original);
        for cut in 0..bytes.len() {
            match check(&bytes[..cut]) {
                Err(WireError::Incomplete { needed }) => assert!(needed > cut, "cut {cut}"),
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
    }
}

#[test]
fn every_body_byte_flip_fails_the_crc() {
    let original = fields(v4(1), v6(2), RecordVersion::V1);
    let bytes = encode(&original);
    let body_at = 72 + 8 + 20;
    for at in body_at..body_at + original.body.len() {
        for mask in [0x01u8, 0x80, 0xFF] {
            let mut corrupt = bytes.clone();
            corrupt[at] ^= mask;
            match check(&corrupt) {
                Err(WireError::Invalid(why)) => assert!(why.contains("CRC"), "{why}"),
                other => panic!("flip at {at}: {other:?}"),
            }
        }
    }
}

#[test]
fn inconsistent_lengths_are_invalid() {
    let bytes = encode(&fields(v4(1), v4(2), RecordVersion::V1));
    let body_len_at = 84;
    for bad_len in [0u32, 12, 14, 0x8000_0000, u32::MAX] {
        let mut corrupt = bytes.clone();
        corrupt[body_len_at..body_len_at + 4].copy_from_slice(&bad_len.to_be_bytes());
        assert!(
            matches!(check(&corrupt), Err(WireError::Invalid(_))),
            "{bad_len}"
        );
    }
    let mut bad_magic = bytes.clone();
    bad_magic[4] ^= 1;
    assert!(matches!(check(&bad_magic), Err(WireError::Invalid(_))));
    let mut huge = bytes.clone();
    huge[..4].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(check(&huge), Err(WireError::Invalid(_))));
    let mut negative_offset = bytes;
    negative_offset[20] = 0x80;
    assert!(matches!(
        check(&negative_offset),
        Err(WireError::Invalid(_))
    ));
}

#[test]
fn negative_properties_length_is_invalid() {
    // A hand-made record whose PROPLEN reads as a negative Java short.
    let props = "p".repeat(PROPERTIES_SIZE_MAX + 1);
    let mut small = fields(v4(1), v4(2), RecordVersion::V1);
    small.properties = "";
    let mut bytes = encode(&small);
    let prop_len_at = bytes.len() - 2;
    bytes[prop_len_at..].copy_from_slice(&(props.len() as u16).to_be_bytes());
    bytes.extend_from_slice(props.as_bytes());
    let total = bytes.len() as u32;
    bytes[..4].copy_from_slice(&total.to_be_bytes());
    match check(&bytes) {
        Err(WireError::Invalid(why)) => assert!(why.contains("properties length"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn append_time_fields_patch_in_place() {
    for original in all_shapes() {
        let mut bytes = encode(&original);
        set_queue_offset(&mut bytes, QueueOffset(9_000)).unwrap();
        set_physical_offset(&mut bytes, PhysicalOffset(1 << 40)).unwrap();
        set_store_timestamp(&mut bytes, -5).unwrap();
        let view = RecordView::parse(&bytes).unwrap();
        assert_eq!(view.queue_offset(), QueueOffset(9_000));
        assert_eq!(view.physical_offset(), PhysicalOffset(1 << 40));
        assert_eq!(view.store_timestamp_ms(), -5);
        assert_eq!(view.born_timestamp_ms(), original.born_timestamp_ms);
        assert_eq!(view.store_host(), original.store_host);
    }
    let mut short = [0u8; 30];
    assert!(set_physical_offset(&mut short, PhysicalOffset(1)).is_err());
    assert!(set_queue_offset(&mut short, QueueOffset(u64::MAX)).is_err());
    assert!(set_store_timestamp(&mut short, 1).is_err());
}

#[test]
fn encode_into_a_slice_matches_encode() {
    let original = fields(v6(1), v6(2), RecordVersion::V2);
    let expected = encode(&original);
    let mut slot = vec![0u8; expected.len() + 5];
    assert_eq!(original.encode_into(&mut slot).unwrap(), expected.len());
    assert_eq!(&slot[..expected.len()], &expected[..]);
    assert!(original
        .encode_into(&mut slot[..expected.len() - 1])
        .is_err());
}

#[test]
fn encoder_rejects_values_java_cannot_hold() {
    let base = fields(v4(1), v4(2), RecordVersion::V1);
    let too_far = PhysicalOffset(1 << 63);
    let cases = [
        RecordFields {
            queue_id: 1 << 31,
            ..base
        },
        RecordFields {
            physical_offset: too_far,
            ..base
        },
        RecordFields {
            prepared_transaction_offset: too_far,
            ..base
        },
        RecordFields {
            queue_offset: QueueOffset(u64::MAX),
            ..base
        },
    ];
    for case in cases {
        assert!(case.encoded_len().is_err(), "{case:?}");
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(Scan::Message(meta)) = check(&bytes) {
            prop_assert!(meta.total_size as usize <= bytes.len());
        }
        if let Ok(view) = RecordView::parse(&bytes) {
            let _ = (view.fields(), view.tags(), view.body_crc_matches());
        }
    }

    #[test]
    fn valid_header_then_noise_never_panics(
        noise in proptest::collection::vec(any::<u8>(), 0..400),
        v6_bits in 0u32..4,
    ) {
        // Random bytes behind a plausible TOTALSIZE and magic reach the inner length checks.
        let mut bytes = ((noise.len() + 8) as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(&MAGIC_V1.to_be_bytes());
        bytes.extend_from_slice(&noise);
        if bytes.len() > 40 {
            bytes[39] = (v6_bits << 4) as u8;
        }
        let _ = check(&bytes);
    }

    #[test]
    fn random_fields_round_trip(
        body in proptest::collection::vec(any::<u8>(), 0..300),
        topic in "[%|a-zA-Z0-9_-]{0,200}",
        props in "[a-zA-Z\u{1}\u{2}é]{0,100}",
        queue_offset in 0u64..=i64::MAX as u64,
        v6_born in any::<bool>(),
    ) {
        let mut record = fields(if v6_born { v6(9) } else { v4(9) }, v4(8), RecordVersion::for_topic(&topic));
        (record.body, record.topic, record.properties) = (&body, &topic, &props);
        record.queue_offset = QueueOffset(queue_offset);
        let bytes = encode(&record);
        let view = RecordView::parse(&bytes).unwrap();
        prop_assert_eq!(view.fields(), RecordFields { sysflag: record.stored_sysflag(), ..record });
        prop_assert!(matches!(check(&bytes), Ok(Scan::Message(_))));
        // The view's fields re-encode to the very same bytes.
        prop_assert_eq!(encode(&view.fields()), bytes);
    }
}
