//! Reading one `broker.conf` value: the text forms Java accepts for each kind of key.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use super::FlushDiskType;

pub(super) const NAME_RULE: &str = "expected characters [a-zA-Z0-9._-%|], at most 127";
pub(super) const PORT_RULE: &str = "expected a port 1-65535";
pub(super) const BOOL_RULE: &str = "expected true or false";
pub(super) const MS_RULE: &str = "expected milliseconds ≥ 0";
pub(super) const IP_RULE: &str = "expected an IP address";

/// `value`, or `rule` as the reason it is missing.
pub(super) fn need<T>(value: Option<T>, rule: &str) -> Result<T, String> {
    value.ok_or_else(|| rule.to_owned())
}

/// A broker or cluster name: a topic name's characters plus `.`, since Java's default
/// broker name is the host name. (The broker-name and cluster topics are then skipped.)
pub(super) fn name(value: &str) -> Option<String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '%' | '|');
    let fits = !value.is_empty() && value.len() <= crate::limits::TOPIC_NAME_MAX;
    (fits && value.chars().all(allowed)).then(|| value.to_owned())
}

pub(super) fn number<T: TryFrom<i64>>(
    value: &str,
    range: std::ops::RangeInclusive<i64>,
) -> Option<T> {
    let n: i64 = value.parse().ok()?;
    range.contains(&n).then_some(())?;
    T::try_from(n).ok()
}

pub(super) fn port(value: &str) -> Option<u16> {
    number(value, 1..=65535)
}

pub(super) fn millis(value: &str) -> Option<Duration> {
    number::<u64>(value, 0..=i64::MAX).map(Duration::from_millis)
}

pub(super) fn boolean(value: &str) -> Option<bool> {
    if value.eq_ignore_ascii_case("true") {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

pub(super) fn parse_flush_disk_type(value: &str) -> Option<FlushDiskType> {
    match value {
        "ASYNC_FLUSH" => Some(FlushDiskType::AsyncFlush),
        "SYNC_FLUSH" => Some(FlushDiskType::SyncFlush),
        _ => None,
    }
}

pub(super) fn parse_hours(value: &str) -> Option<Vec<u8>> {
    value
        .split(';')
        .map(|hour| hour.trim().parse::<u8>().ok().filter(|&h| h < 24))
        .collect()
}

/// `host:port;host:port`; host names are resolved here, once, before any shard starts.
pub(super) fn parse_namesrv_addr(value: &str) -> Result<Vec<SocketAddr>, String> {
    let mut addrs = Vec::new();
    for item in value.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let addr = match item.parse::<SocketAddr>() {
            Ok(addr) => addr,
            Err(_) => item
                .to_socket_addrs()
                .ok()
                .and_then(|found| {
                    // `localhost` may resolve to ::1 first; NameServers mostly listen on IPv4.
                    let found: Vec<_> = found.collect();
                    found
                        .iter()
                        .find(|a| a.is_ipv4())
                        .or(found.first())
                        .copied()
                })
                .ok_or_else(|| format!("`{item}` is not a reachable host:port"))?,
        };
        if !addrs.contains(&addr) {
            addrs.push(addr);
        }
    }
    Ok(addrs)
}

/// `1s 5s 10s 1m 2h 1d`, Java's units.
pub fn parse_delay_levels(value: &str) -> Result<Vec<Duration>, String> {
    value
        .split_whitespace()
        .map(|level| {
            let split = level.len().saturating_sub(1);
            let (count, unit) = level.split_at(split);
            let seconds = match unit {
                "s" => 1,
                "m" => 60,
                "h" => 3600,
                "d" => 86_400,
                _ => return Err(format!("`{level}` has no unit s, m, h or d")),
            };
            let count: u64 = count
                .parse()
                .map_err(|_| format!("`{level}` is not a number and a unit"))?;
            Ok(Duration::from_secs(count * seconds))
        })
        .collect()
}
