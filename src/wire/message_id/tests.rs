use super::*;

fn v4_host() -> SocketAddr {
    SocketAddr::new(Ipv4Addr::new(10, 0, 0, 1).into(), 10_911)
}

fn v6_host() -> SocketAddr {
    let ip = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x42);
    SocketAddr::new(ip.into(), 10_911)
}

#[test]
fn offset_id_matches_the_spec_example() {
    let id = offset_message_id(v4_host(), PhysicalOffset(0x12C40));
    assert_eq!(id, "0A00000100002A9F0000000000012C40");
    let decoded = decode_offset_message_id(&id.to_lowercase()).unwrap();
    assert_eq!(decoded, (v4_host(), PhysicalOffset(0x12C40)));
}

#[test]
fn offset_id_round_trips_ipv6() {
    let offset = PhysicalOffset(i64::MAX as u64);
    let id = offset_message_id(v6_host(), offset);
    assert_eq!(id.len(), MESSAGE_ID_LEN_V6);
    assert!(id.starts_with("20010DB8"));
    assert_eq!(decode_offset_message_id(&id).unwrap(), (v6_host(), offset));
}

#[test]
fn malformed_offset_ids_are_invalid() {
    let good = offset_message_id(v4_host(), PhysicalOffset(1));
    let cases = [
        String::new(),
        good[..31].to_string(),
        format!("{good}0"),
        good.replacen('A', "G", 1),
        "0A000001FFFFFFFF0000000000012C40".to_string(),
        "0A00000100002A9F8000000000012C40".to_string(),
        "é".repeat(16),
    ];
    for case in cases {
        assert!(decode_offset_message_id(&case).is_err(), "{case}");
    }
}

#[test]
fn batch_ids_share_one_buffer() {
    let mut ids = String::new();
    for offset in [0, 1] {
        if !ids.is_empty() {
            ids.push(',');
        }
        write_offset_message_id(&mut ids, v4_host(), PhysicalOffset(offset));
    }
    assert_eq!(
        ids,
        "0A00000100002A9F0000000000000000,0A00000100002A9F0000000000000001"
    );
}

// 2026-11-22T03:00:00Z; the month started 2026-11-01T00:00:00Z = 1_793_491_200_000.
const NOW_MS: i64 = 1_795_316_400_000;
const MONTH_START_MS: i64 = 1_793_491_200_000;

#[test]
fn month_bounds_are_utc_calendar_months() {
    let bounds = month_bounds(NOW_MS);
    assert_eq!(bounds.start_ms, MONTH_START_MS);
    // October has 31 days, November 30.
    assert_eq!(bounds.previous_start_ms, MONTH_START_MS - 31 * DAY_MS);
    assert_eq!(bounds.next_start_ms, MONTH_START_MS + 30 * DAY_MS);
    let leap = month_bounds(951_782_400_000); // 2000-02-29T00:00:00Z
    assert_eq!(leap.next_start_ms - leap.start_ms, 29 * DAY_MS);
    assert_eq!(month_bounds(-1).start_ms, -31 * DAY_MS); // December 1969
    let _ = (month_bounds(i64::MIN), month_bounds(i64::MAX));
}

#[test]
fn unique_keys_decode_to_their_parts() {
    let ip: IpAddr = Ipv4Addr::new(192, 168, 1, 7).into();
    let mut generator = UniqKeyGenerator::new(ip, 0x1_2345, -2);
    let first = generator.next_key(NOW_MS);
    let second = generator.next_key(NOW_MS + 1);
    assert_eq!(first.len(), MESSAGE_ID_LEN_V4);
    assert_eq!(&first[..20], "C0A801072345FFFFFFFE");
    let parts = UniqKey::decode(&second).unwrap();
    assert_eq!(parts.ip, ip);
    assert_eq!(parts.pid, 0x2345);
    assert_eq!(parts.class_loader_hash, -2);
    assert_eq!(
        i64::from(parts.ms_since_month_start),
        NOW_MS + 1 - MONTH_START_MS
    );
    assert_eq!(parts.counter, 1);
    assert_eq!(parts.born_time_near_ms(NOW_MS + 5_000), NOW_MS + 1);
}

#[test]
fn unique_key_from_last_month_is_dated_last_month() {
    let ip: IpAddr = Ipv6Addr::LOCALHOST.into();
    let mut generator = UniqKeyGenerator::new(ip, 1, 1);
    let late_october = MONTH_START_MS - DAY_MS;
    let key = generator.next_key(late_october);
    assert_eq!(key.len(), MESSAGE_ID_LEN_V6);
    let parts = UniqKey::decode(&key).unwrap();
    assert_eq!(parts.ip, ip);
    assert_eq!(
        parts.born_time_near_ms(MONTH_START_MS + 60_000),
        late_october
    );
    // The generator moves to the new month by itself.
    let parts = UniqKey::decode(&generator.next_key(NOW_MS)).unwrap();
    assert_eq!(
        i64::from(parts.ms_since_month_start),
        NOW_MS - MONTH_START_MS
    );
}

#[test]
fn grpc_style_ids_are_not_unique_keys() {
    assert!(UniqKey::decode("01000000000000000000000000000000AB").is_err());
}
