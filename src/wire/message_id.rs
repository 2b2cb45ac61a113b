//! Message ids (docs/protocol.md §3.5).
//!
//! * The *offset message id* names a stored record by broker address and CommitLog offset;
//!   the broker returns it in send responses and clients hand it back to VIEW_MESSAGE_BY_ID
//!   and END_TRANSACTION, so it must decode exactly.
//! * The *unique key* (UNIQ_KEY property) is the client-side id. Producers set it; the broker
//!   builds one the Java way only for messages it creates itself or that arrive without one,
//!   and otherwise treats it as an opaque string.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::record::PhysicalOffset;
use super::WireError;

/// Length of an offset message id (or unique key) built from an IPv4 address.
pub const MESSAGE_ID_LEN_V4: usize = 32;
/// Length of an offset message id (or unique key) built from an IPv6 address.
pub const MESSAGE_ID_LEN_V6: usize = 56;

/// The offset message id of the record at `offset` on the broker at `store_host`:
/// uppercase hex of `ip | port (i32) | offset (i64)`.
pub fn offset_message_id(store_host: SocketAddr, offset: PhysicalOffset) -> String {
    let mut id = String::with_capacity(MESSAGE_ID_LEN_V6);
    write_offset_message_id(&mut id, store_host, offset);
    id
}

/// Appends the offset message id to `out`, so a batch's comma-joined list takes one buffer.
pub fn write_offset_message_id(out: &mut String, store_host: SocketAddr, offset: PhysicalOffset) {
    let mut raw = [0u8; MESSAGE_ID_LEN_V6 / 2];
    let ip = put_ip(&mut raw, store_host.ip());
    raw[ip..ip + 4].copy_from_slice(&u32::from(store_host.port()).to_be_bytes());
    raw[ip + 4..ip + 12].copy_from_slice(&offset.0.to_be_bytes());
    write_hex(out, &raw[..ip + 12]);
}

/// Decodes an offset message id; the length tells the address family, as in Java clients.
pub fn decode_offset_message_id(id: &str) -> Result<(SocketAddr, PhysicalOffset), WireError> {
    let mut bytes = [0u8; MESSAGE_ID_LEN_V6 / 2];
    let raw = decode_hex(id, &mut bytes)?;
    let (ip, rest) = split_ip(raw)?;
    let (port, offset) = rest.split_at(4);
    let port = u16::try_from(u32::from_be_bytes(array(port)))
        .map_err(|_| WireError::Invalid("message id port out of range".into()))?;
    let offset = u64::from_be_bytes(array(offset));
    if offset > i64::MAX as u64 {
        return Err(WireError::Invalid("message id offset is negative".into()));
    }
    Ok((SocketAddr::new(ip, port), PhysicalOffset(offset)))
}

/// The parts of a Java remoting client's unique key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UniqKey {
    pub ip: IpAddr,
    /// Low 16 bits of the producer's process id.
    pub pid: u16,
    pub class_loader_hash: i32,
    /// Milliseconds from the start of the month (client local time) to the id's creation,
    /// truncated to 32 bits as Java does.
    pub ms_since_month_start: u32,
    pub counter: u16,
}

impl UniqKey {
    /// Decodes a unique key built by [`UniqKeyGenerator`] or a Java remoting client. 5.x
    /// gRPC ids (34 characters) are a different format and fail here.
    pub fn decode(key: &str) -> Result<UniqKey, WireError> {
        let mut bytes = [0u8; MESSAGE_ID_LEN_V6 / 2];
        let raw = decode_hex(key, &mut bytes)?;
        let (ip, rest) = split_ip(raw)?;
        Ok(UniqKey {
            ip,
            pid: u16::from_be_bytes(array(&rest[..2])),
            class_loader_hash: i32::from_be_bytes(array(&rest[2..6])),
            ms_since_month_start: u32::from_be_bytes(array(&rest[6..10])),
            counter: u16::from_be_bytes(array(&rest[10..12])),
        })
    }

    /// Roughly when the key was created, for the time window of a query by unique key: the
    /// embedded offset from the start of `now_ms`'s month, or of the previous month when that
    /// would lie in the future. Months are taken in UTC, so a key from a client in another
    /// time zone is off by that zone's offset; callers widen their window accordingly.
    pub fn born_time_near_ms(&self, now_ms: i64) -> i64 {
        let span = i64::from(self.ms_since_month_start);
        let month = month_bounds(now_ms);
        if month.start_ms.saturating_add(span) >= now_ms {
            month.previous_start_ms.saturating_add(span)
        } else {
            month.start_ms.saturating_add(span)
        }
    }
}

/// Builds unique keys the way Java's `MessageClientIDSetter` does, with time passed in so
/// the broker's clock stays injectable.
#[derive(Debug, Clone)]
pub struct UniqKeyGenerator {
    /// Hex of `ip | pid | class-loader hash`, fixed for the process.
    prefix: String,
    month: MonthBounds,
    counter: u16,
}

impl UniqKeyGenerator {
    /// `class_loader_hash` has no meaning outside Java; any per-process random value keeps
    /// keys of two processes with the same pid apart.
    pub fn new(ip: IpAddr, pid: u32, class_loader_hash: i32) -> UniqKeyGenerator {
        let mut raw = [0u8; 22];
        let at = put_ip(&mut raw, ip);
        raw[at..at + 2].copy_from_slice(&(pid as u16).to_be_bytes());
        raw[at + 2..at + 6].copy_from_slice(&class_loader_hash.to_be_bytes());
        let mut prefix = String::with_capacity(MESSAGE_ID_LEN_V6);
        write_hex(&mut prefix, &raw[..at + 6]);
        UniqKeyGenerator {
            prefix,
            month: month_bounds(0),
            counter: 0,
        }
    }

    /// The next key at wall-clock time `now_ms`.
    pub fn next_key(&mut self, now_ms: i64) -> String {
        if now_ms < self.month.start_ms || now_ms >= self.month.next_start_ms {
            self.month = month_bounds(now_ms);
        }
        // Java casts the span to int, so late in a long month it wraps; keep the same bits.
        let span = now_ms.wrapping_sub(self.month.start_ms) as u32;
        let mut key = String::with_capacity(self.prefix.len() + 12);
        key.push_str(&self.prefix);
        write_hex(&mut key, &span.to_be_bytes());
        write_hex(&mut key, &self.counter.to_be_bytes());
        self.counter = self.counter.wrapping_add(1);
        key
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MonthBounds {
    previous_start_ms: i64,
    start_ms: i64,
    next_start_ms: i64,
}

const DAY_MS: i64 = 86_400_000;

/// Start of the UTC month containing `now_ms`, and of its neighbours.
fn month_bounds(now_ms: i64) -> MonthBounds {
    let days = now_ms.div_euclid(DAY_MS);
    let (year, month, day) = civil_from_days(days);
    let (prev_year, prev_month) = if month == 1 {
        (year - 1, 12)
    } else {
        (year, month - 1)
    };
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    MonthBounds {
        previous_start_ms: days_from_civil(prev_year, prev_month, 1).saturating_mul(DAY_MS),
        start_ms: (days - (day - 1)).saturating_mul(DAY_MS),
        next_start_ms: days_from_civil(next_year, next_month, 1).saturating_mul(DAY_MS),
    }
}

/// Proleptic Gregorian date of a day count from 1970-01-01 (Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Day count from 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Copies `ip`'s octets to the front of `out`; returns how many there are (4 or 16).
fn put_ip(out: &mut [u8], ip: IpAddr) -> usize {
    match ip {
        IpAddr::V4(ip) => {
            out[..4].copy_from_slice(&ip.octets());
            4
        }
        IpAddr::V6(ip) => {
            out[..16].copy_from_slice(&ip.octets());
            16
        }
    }
}

/// Appends `bytes` (at most a v6 message id's 28) in upper-case hex, in one push: a batch's
/// answer writes one id per message.
fn write_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut hex = [0u8; MESSAGE_ID_LEN_V6];
    for (pair, &byte) in hex.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0xf)];
    }
    out.push_str(std::str::from_utf8(&hex[..2 * bytes.len()]).expect("hex digits are ASCII"));
}

/// Decodes hex of either case into `buf`; only the two id lengths are accepted.
fn decode_hex<'b>(text: &str, buf: &'b mut [u8; 28]) -> Result<&'b [u8], WireError> {
    if text.len() != MESSAGE_ID_LEN_V4 && text.len() != MESSAGE_ID_LEN_V6 {
        return Err(WireError::Invalid(format!(
            "message id of {} characters, expected 32 or 56",
            text.len()
        )));
    }
    let out = &mut buf[..text.len() / 2];
    for (slot, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        *slot = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Ok(out)
}

fn nibble(digit: u8) -> Result<u8, WireError> {
    match digit {
        b'0'..=b'9' => Ok(digit - b'0'),
        b'a'..=b'f' => Ok(digit - b'a' + 10),
        b'A'..=b'F' => Ok(digit - b'A' + 10),
        _ => Err(WireError::Invalid("message id is not hex".into())),
    }
}

/// Splits the address off a 16- or 28-byte id.
fn split_ip(raw: &[u8]) -> Result<(IpAddr, &[u8]), WireError> {
    match raw.len() {
        16 => Ok((Ipv4Addr::from(array::<4>(&raw[..4])).into(), &raw[4..])),
        28 => Ok((Ipv6Addr::from(array::<16>(&raw[..16])).into(), &raw[16..])),
        _ => Err(WireError::Invalid("message id of unexpected size".into())),
    }
}

/// Copies the first `N` bytes of `bytes` (callers pass slices of exactly `N`).
fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let n = bytes.len().min(N);
    out[..n].copy_from_slice(&bytes[..n]);
    out
}

#[cfg(test)]
mod tests;
