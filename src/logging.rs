//! Log lines an operator can trust: one line per event whatever a client sent, and no flood
//! from one misbehaving peer.
//!
//! Topic names, group names, remarks and other text that clients supply end up in log
//! fields. A newline in one would forge a second log line; a NUL, an escape sequence or a C1
//! control would confuse the tools that read the log or the terminal that shows it. The
//! process's log writer ([`init`]) therefore escapes every control character of an event
//! (`\n`, `\r`, `\0`, `\xNN`, `\u{NN}`) except the newline that ends it, once, for every
//! field of every event: no call site can forget to. An event longer than
//! [`EVENT_BYTES_MAX`] (a 30 KB made-up topic name in a remark) is cut there, saying how much
//! was left out.
//!
//! Warnings a peer causes (an untrusted frame, a refused request, a refused connection) go
//! through [`peer_warning`]: a few per peer address and window are logged, the rest are
//! counted, and the next one logged carries the count (`suppressed=N`), so a client that
//! reconnects in a loop with garbage costs a few lines, not one per attempt.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

/// Sets up the process's log output on stderr: `RUST_LOG` or `default_filter` chooses the
/// levels, and every event is one line with its control characters escaped.
pub fn init(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours are escape sequences; the writer would escape them too.
        .with_ansi(false)
        .with_writer(|| EscapingWriter(io::stderr()))
        .init();
}

/// Escapes each event the formatter hands over (one `write` per event) before it reaches
/// `W`.
struct EscapingWriter<W>(W);

impl<W: Write> Write for EscapingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(&escape_event(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// The longest event written whole, in bytes before escaping.
pub const EVENT_BYTES_MAX: usize = 4096;

/// `event` with every control character escaped, but a final newline kept, and cut at
/// [`EVENT_BYTES_MAX`].
pub fn escape_event(event: &[u8]) -> Cow<'_, [u8]> {
    let (mut body, end) = match event.split_last() {
        Some((b'\n', body)) => (body, &b"\n"[..]),
        _ => (event, &b""[..]),
    };
    let cut = body.len().saturating_sub(EVENT_BYTES_MAX);
    if cut > 0 {
        // Back to a character boundary, so the line stays UTF-8.
        let mut keep = EVENT_BYTES_MAX;
        while keep > 0 && (body[keep] & 0xc0) == 0x80 {
            keep -= 1;
        }
        body = &body[..keep];
    }
    let needs = |i: usize, b: u8| is_c0(b) || is_c1_at(body, i);
    if cut == 0 && !body.iter().enumerate().any(|(i, &b)| needs(i, b)) {
        return Cow::Borrowed(event);
    }
    let mut out = Vec::with_capacity(body.len() + 64);
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if is_c1_at(body, i) {
            // U+0080..U+009F, two bytes in UTF-8.
            let _ = write!(out, "\\u{{{:x}}}", body[i + 1]);
            i += 2;
            continue;
        }
        match b {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0 => out.extend_from_slice(b"\\0"),
            _ if is_c0(b) => {
                let _ = write!(out, "\\x{b:02x}");
            }
            _ => out.push(b),
        }
        i += 1;
    }
    if cut > 0 {
        let _ = write!(
            out,
            " … [{} bytes cut]",
            event.len() - end.len() - body.len()
        );
    }
    out.extend_from_slice(end);
    Cow::Owned(out)
}

/// An ASCII control character other than tab, or DEL.
fn is_c0(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

/// Whether a C1 control (U+0080..U+009F: `C2 80`..`C2 9F` in UTF-8) starts at `i`.
fn is_c1_at(bytes: &[u8], i: usize) -> bool {
    bytes[i] == 0xc2 && matches!(bytes.get(i + 1), Some(0x80..=0x9f))
}

/// The warnings of one peer logged per window.
const WARNINGS_PER_WINDOW: u32 = 3;

/// How long a peer's window lasts.
const WARNING_WINDOW: Duration = Duration::from_secs(10);

/// Peers tracked per thread; past that, new peers share one window, so a flood from many
/// addresses still costs a bounded map and a bounded number of lines.
const PEERS_TRACKED: usize = 1024;

thread_local! {
    static PEER_WARNINGS: RefCell<PeerWarnings> = RefCell::new(PeerWarnings::default());
}

/// Whether a warning that `peer` caused may be logged now: `Some(n)`, with the number of that
/// peer's warnings left out since the last one logged, or `None` to leave it out (it is
/// counted). Each shard's thread counts its own peers.
pub fn peer_warning(peer: IpAddr) -> Option<u64> {
    PEER_WARNINGS.with(|warnings| warnings.borrow_mut().admit(peer, Instant::now()))
}

#[derive(Debug, Default)]
struct PeerWarnings {
    peers: HashMap<IpAddr, Window>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    logged: u32,
    suppressed: u64,
}

impl PeerWarnings {
    fn admit(&mut self, peer: IpAddr, now: Instant) -> Option<u64> {
        let expired = |window: &Window| now.duration_since(window.started) >= WARNING_WINDOW;
        let key = if self.peers.len() < PEERS_TRACKED || self.peers.contains_key(&peer) {
            peer
        } else {
            self.peers.retain(|_, window| !expired(window));
            if self.peers.len() < PEERS_TRACKED {
                peer
            } else {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            }
        };
        let window = self.peers.entry(key).or_insert(Window {
            started: now,
            logged: 0,
            suppressed: 0,
        });
        if expired(window) {
            let suppressed = window.suppressed;
            *window = Window {
                started: now,
                logged: 1,
                suppressed: 0,
            };
            return Some(suppressed);
        }
        if window.logged < WARNINGS_PER_WINDOW {
            window.logged += 1;
            let suppressed = window.suppressed;
            window.suppressed = 0;
            return Some(suppressed);
        }
        window.suppressed += 1;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        String::from_utf8(escape_event(text.as_bytes()).into_owned()).expect("utf8")
    }

    #[test]
    fn an_event_stays_one_line_whatever_its_fields_hold() {
        assert_eq!(
            escaped("WARN topic=a\nINFO forged line\n"),
            "WARN topic=a\\nINFO forged line\n"
        );
        assert_eq!(escaped("x\0y\r\x1b[31m\x7f\n"), "x\\0y\\r\\x1b[31m\\x7f\n");
        assert_eq!(escaped("c1 \u{85} \u{9b}\n"), "c1 \\u{85} \\u{9b}\n");
    }

    #[test]
    fn a_long_event_is_cut_at_a_character_boundary() {
        let long = format!("WARN topic={}\n", "é".repeat(3000));
        let line = escaped(&long);
        assert!(
            line.ends_with(" bytes cut]\n"),
            "{}",
            &line[line.len() - 40..]
        );
        let kept = line.split(" … [").next().expect("kept part");
        assert!(kept.len() <= EVENT_BYTES_MAX);
        let cut: usize = line
            .rsplit(" … [")
            .next()
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .expect("a count");
        assert_eq!(kept.len() + cut + 1, long.len());
    }

    #[test]
    fn clean_events_and_tabs_and_text_pass_unchanged() {
        let line = "INFO\tbroker=b topic=Ünïcødé 主题 ok\n";
        assert!(matches!(escape_event(line.as_bytes()), Cow::Borrowed(_)));
        assert_eq!(escaped("no newline"), "no newline");
    }

    #[test]
    fn a_peer_gets_a_few_warnings_per_window_and_then_a_count() {
        let mut warnings = PeerWarnings::default();
        let peer: IpAddr = "10.0.0.1".parse().expect("ip");
        let other: IpAddr = "10.0.0.2".parse().expect("ip");
        let t0 = Instant::now();
        for _ in 0..WARNINGS_PER_WINDOW {
            assert_eq!(warnings.admit(peer, t0), Some(0));
        }
        for _ in 0..7 {
            assert_eq!(warnings.admit(peer, t0 + Duration::from_secs(1)), None);
        }
        // Another peer is not held back by the first.
        assert_eq!(warnings.admit(other, t0), Some(0));
        // The next window's first line says how many were left out.
        assert_eq!(warnings.admit(peer, t0 + WARNING_WINDOW), Some(7));
        assert_eq!(warnings.admit(peer, t0 + WARNING_WINDOW), Some(0));
    }

    #[test]
    fn many_peers_share_one_window_past_the_tracked_count() {
        let mut warnings = PeerWarnings::default();
        let t0 = Instant::now();
        let nth = |n: u32| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n));
        for n in 0..PEERS_TRACKED as u32 {
            assert_eq!(warnings.admit(nth(n), t0), Some(0));
        }
        let extra = PEERS_TRACKED as u32;
        let logged = (extra..extra + 100)
            .filter(|&n| warnings.admit(nth(n), t0).is_some())
            .count();
        assert_eq!(logged, WARNINGS_PER_WINDOW as usize);
        assert_eq!(warnings.peers.len(), PEERS_TRACKED + 1);
        // Once the old windows have expired, new peers get their own again.
        assert_eq!(warnings.admit(nth(5000), t0 + WARNING_WINDOW), Some(0));
        assert!(warnings.peers.contains_key(&nth(5000)));
    }
}
