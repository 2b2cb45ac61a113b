//! White-listed remote addresses of `plain_acl.yml` (docs/access-control.md §1), in Java's
//! forms: `*` (every address), one address (`192.168.0.1`, `::1`), a list (`192.168.0.1,
//! 192.168.0.2`), a list of last parts (`192.168.0.{1,2}`), and IPv4 parts given as `*` or a
//! range (`192.168.*.*`, `192.168.1.10-20`). A blank value white-lists nothing.
//!
//! Java's range form only varies its parts from the first `*` or range on; here each part is
//! matched on its own, which agrees with Java on every pattern Java accepts.

use std::fmt;
use std::net::IpAddr;

/// Addresses allowed without a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressPattern {
    /// `*`: every address.
    Any,
    /// One of these addresses.
    List(Vec<IpAddr>),
    /// IPv4 addresses whose four parts each lie in an inclusive range.
    Ranges([(u8, u8); 4]),
}

impl AddressPattern {
    /// The pattern `text` means; `None` for a blank one, which matches nothing.
    pub fn parse(text: &str) -> Result<Option<AddressPattern>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if matches!(text, "*" | "*.*.*.*" | "*:*:*:*:*:*:*:*") {
            return Ok(Some(AddressPattern::Any));
        }
        let pattern = if let Some(head) = text.strip_suffix('}') {
            let (prefix, lasts) = head
                .split_once('{')
                .ok_or_else(|| format!("`{text}`: a `}}` without its `{{`"))?;
            let addresses = lasts
                .split(',')
                .map(|last| address(&format!("{prefix}{}", last.trim())))
                .collect::<Result<_, _>>()?;
            AddressPattern::List(addresses)
        } else if text.contains(',') {
            let addresses = text.split(',').map(address).collect::<Result<_, _>>()?;
            AddressPattern::List(addresses)
        } else if text.contains('*') || text.contains('-') {
            AddressPattern::Ranges(ranges(text)?)
        } else {
            AddressPattern::List(vec![address(text)?])
        };
        Ok(Some(pattern))
    }

    /// Whether `peer` is one of the addresses.
    pub fn matches(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        match self {
            AddressPattern::Any => true,
            AddressPattern::List(addresses) => addresses.contains(&peer),
            AddressPattern::Ranges(parts) => match peer {
                IpAddr::V4(v4) => v4
                    .octets()
                    .iter()
                    .zip(parts)
                    .all(|(octet, (low, high))| (low..=high).contains(&octet)),
                IpAddr::V6(_) => false,
            },
        }
    }
}

impl fmt::Display for AddressPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressPattern::Any => f.write_str("*"),
            AddressPattern::List(addresses) => {
                let shown: Vec<String> = addresses.iter().map(ToString::to_string).collect();
                f.write_str(&shown.join(","))
            }
            AddressPattern::Ranges(parts) => {
                let shown: Vec<String> = parts
                    .iter()
                    .map(|&(low, high)| match (low, high) {
                        (0, 255) => "*".to_owned(),
                        _ if low == high => low.to_string(),
                        _ => format!("{low}-{high}"),
                    })
                    .collect();
                f.write_str(&shown.join("."))
            }
        }
    }
}

fn address(text: &str) -> Result<IpAddr, String> {
    let text = text.trim();
    text.parse::<IpAddr>()
        .map(|ip| ip.to_canonical())
        .map_err(|_| format!("`{text}` is not an IPv4 or IPv6 address"))
}

/// The four parts of an IPv4 pattern with `*` or ranges.
fn ranges(text: &str) -> Result<[(u8, u8); 4], String> {
    let form = || {
        format!(
            "`{text}`: expected four IPv4 parts, each a number, `*` or a range `a-b` \
             (192.168.*.*, 10.0.1.1-20); ranges of IPv6 addresses are not supported"
        )
    };
    let mut parts = [(0u8, 255u8); 4];
    let mut given = text.split('.');
    for part in &mut parts {
        let text = given.next().ok_or_else(form)?.trim();
        *part = match text.split_once('-') {
            _ if text == "*" => (0, 255),
            Some((low, high)) => {
                let low: u8 = low.trim().parse().map_err(|_| form())?;
                let high: u8 = high.trim().parse().map_err(|_| form())?;
                if low > high {
                    return Err(form());
                }
                (low, high)
            }
            None => {
                let n: u8 = text.parse().map_err(|_| form())?;
                (n, n)
            }
        };
    }
    if given.next().is_some() {
        return Err(form());
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> AddressPattern {
        AddressPattern::parse(text).expect(text).expect(text)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect(text)
    }

    #[test]
    fn javas_forms_match_what_they_say() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            ("*", &["1.2.3.4", "::1"], &[]),
            ("*.*.*.*", &["10.0.0.1"], &[]),
            (
                "192.168.0.1",
                &["192.168.0.1", "::ffff:192.168.0.1"],
                &["192.168.0.2"],
            ),
            ("::1", &["::1"], &["127.0.0.1"]),
            (
                "10.0.0.1,10.0.0.3",
                &["10.0.0.1", "10.0.0.3"],
                &["10.0.0.2"],
            ),
            (
                "192.168.1.{1,2}",
                &["192.168.1.1", "192.168.1.2"],
                &["192.168.1.3"],
            ),
            (
                "192.168.*.*",
                &["192.168.0.0", "192.168.255.9"],
                &["192.169.0.1"],
            ),
            (
                "192.168.1.10-20",
                &["192.168.1.10", "192.168.1.20"],
                &["192.168.1.21"],
            ),
            (
                "10.1-2.*.*",
                &["10.1.0.0", "10.2.9.9"],
                &["10.3.0.0", "::1"],
            ),
        ];
        for (text, yes, no) in cases {
            let pattern = pattern(text);
            for addr in *yes {
                assert!(pattern.matches(ip(addr)), "{text} should match {addr}");
            }
            for addr in *no {
                assert!(!pattern.matches(ip(addr)), "{text} should not match {addr}");
            }
        }
    }

    #[test]
    fn blank_matches_nothing_and_bad_forms_are_named() {
        assert_eq!(AddressPattern::parse("  "), Ok(None));
        for bad in [
            "192.168.1",
            "192.168.1.300",
            "1.2.3.5-4",
            "host.example",
            "fe80::*",
        ] {
            let error = AddressPattern::parse(bad).expect_err(bad);
            assert!(error.contains(bad), "{error}");
        }
    }

    #[test]
    fn shown_as_given() {
        assert_eq!(pattern("192.168.*.1-9").to_string(), "192.168.*.1-9");
        assert_eq!(pattern("10.0.0.{1,2}").to_string(), "10.0.0.1,10.0.0.2");
    }
}
