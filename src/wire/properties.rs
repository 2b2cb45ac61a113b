//! The properties string of a message (docs/protocol.md §3.3): `key 0x01 value 0x02` pairs, the
//! well-known keys (docs/protocol.md §3.4) and the Java string hash used for tag codes and index
//! keys (§0).
//!
//! Parsing borrows from the input and never allocates; building writes one `String`. The
//! same string travels in send headers and in stored records, so both directions follow
//! Java's rules exactly, including its quirks (skipped short segments, later duplicates win).

use super::WireError;
use crate::limits::PROPERTIES_SIZE_MAX;

/// Separates a key from its value.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Ends each pair (Java also writes it after the last one).
pub const PROPERTY_SEPARATOR: char = '\u{2}';

/// Well-known property keys, spelled as Java spells them.
pub mod keys {
    pub const TAGS: &str = "TAGS";
    pub const KEYS: &str = "KEYS";
    pub const UNIQ_KEY: &str = "UNIQ_KEY";
    pub const WAIT: &str = "WAIT";
    pub const DELAY: &str = "DELAY";
    pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
    pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
    pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
    pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
    pub const TIMER_DEQUEUE_MS: &str = "TIMER_DEQUEUE_MS";
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    pub const REAL_QID: &str = "REAL_QID";
    pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
    pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
    pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
    pub const TRAN_MSG: &str = "TRAN_MSG";
    pub const PGROUP: &str = "PGROUP";
    pub const TRANSACTION_ID: &str = "__transactionId__";
    pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
    pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
    pub const TRAN_PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
    pub const MIN_OFFSET: &str = "MIN_OFFSET";
    pub const MAX_OFFSET: &str = "MAX_OFFSET";
    pub const CONSUME_START_TIME: &str = "CONSUME_START_TIME";
    pub const MSG_REGION: &str = "MSG_REGION";
    pub const TRACE_ON: &str = "TRACE_ON";
    pub const CLUSTER: &str = "CLUSTER";
    pub const INSTANCE_ID: &str = "INSTANCE_ID";
    pub const CORRELATION_ID: &str = "CORRELATION_ID";
    pub const REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
    pub const TTL: &str = "TTL";
    pub const MSG_TYPE: &str = "MSG_TYPE";
    pub const SHARDING_KEY: &str = "__SHARDINGKEY";
    pub const POP_CK: &str = "POP_CK";
    pub const INNER_NUM: &str = "INNER_NUM";
    pub const INNER_BASE: &str = "INNER_BASE";
    pub const DLQ_ORIGIN_TOPIC: &str = "DLQ_ORIGIN_TOPIC";
    pub const DLQ_ORIGIN_MESSAGE_ID: &str = "DLQ_ORIGIN_MESSAGE_ID";
    pub const CRC32: &str = "__CRC32#";
    /// Prefix of broker-internal keys that must never reach the store.
    pub const TRANSIENT_PREFIX: &str = "__RMQ.TRANSIENT.";
}

/// Iterates the pairs of a properties string in order, as Java's parser accepts them.
/// Duplicates are all yielded; use [`get`] for Java's "later wins" lookup.
pub fn iter(properties: &str) -> Pairs<'_> {
    Pairs { rest: properties }
}

/// The value of `key`, the last one when the key repeats (Java fills a map in order).
pub fn get<'a>(properties: &'a str, key: &str) -> Option<&'a str> {
    let [value] = get_each(properties, [key]);
    value
}

/// The values of several keys in one pass, each as [`get`] gives it.
pub fn get_each<'a, const N: usize>(properties: &'a str, keys: [&str; N]) -> [Option<&'a str>; N] {
    let mut values = [None; N];
    for (key, value) in iter(properties) {
        for (wanted, slot) in keys.iter().zip(values.iter_mut()) {
            if key == *wanted {
                *slot = Some(value);
            }
        }
    }
    values
}

/// Iterator returned by [`iter`].
#[derive(Debug, Clone)]
pub struct Pairs<'a> {
    /// What follows the segments already read.
    rest: &'a str,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        while !self.rest.is_empty() {
            let (segment, rest) = split_at_byte(self.rest, PROPERTY_SEPARATOR as u8);
            self.rest = rest;
            // Java skips segments under 3 characters and those without a non-empty key and
            // value; counting UTF-16 units is not needed since a valid pair always has 3
            // units and 3 bytes at least.
            if segment.len() < 3 {
                continue;
            }
            let (key, value) = split_at_byte(segment, NAME_VALUE_SEPARATOR as u8);
            if !key.is_empty() && !value.is_empty() {
                return Some((key, value));
            }
        }
        None
    }
}

/// The text before the first `separator` (an ASCII byte, so both halves are whole `str`s) and
/// the text after it; all of `text` and "" without one.
fn split_at_byte(text: &str, separator: u8) -> (&str, &str) {
    match memchr::memchr(separator, text.as_bytes()) {
        Some(at) => (&text[..at], &text[at + 1..]),
        None => (text, ""),
    }
}

/// Builds a properties string the way Java writes one, rejecting what Java's parser could
/// not read back (separators inside a key or value, empty keys) and anything longer than
/// [`PROPERTIES_SIZE_MAX`].
#[derive(Debug, Default, Clone)]
pub struct Builder {
    out: String,
}

impl Builder {
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Appends one pair. An empty value is skipped, as Java skips null values, because the
    /// parser would drop it anyway.
    pub fn push(&mut self, key: &str, value: &str) -> Result<&mut Builder, WireError> {
        if key.is_empty() {
            return Err(WireError::Invalid("empty property key".into()));
        }
        if has_separator(key) || has_separator(value) {
            return Err(WireError::Invalid(format!(
                "property {key:?} contains a separator character"
            )));
        }
        if value.is_empty() {
            return Ok(self);
        }
        let grown = self.out.len() + key.len() + value.len() + 2;
        if grown > PROPERTIES_SIZE_MAX {
            return Err(WireError::Invalid(format!(
                "properties longer than {PROPERTIES_SIZE_MAX} bytes"
            )));
        }
        self.out.push_str(key);
        self.out.push(NAME_VALUE_SEPARATOR);
        self.out.push_str(value);
        self.out.push(PROPERTY_SEPARATOR);
        Ok(self)
    }

    /// Appends every pair of `properties` for which `keep(key)` holds, e.g. to strip POP_CK
    /// or transient keys from an incoming message.
    pub fn extend_from(
        &mut self,
        properties: &str,
        mut keep: impl FnMut(&str) -> bool,
    ) -> Result<&mut Builder, WireError> {
        for (key, value) in iter(properties) {
            if keep(key) {
                self.push(key, value)?;
            }
        }
        Ok(self)
    }

    /// Whether a pair with `key` was pushed already.
    pub fn contains(&self, key: &str) -> bool {
        iter(&self.out).any(|(k, _)| k == key)
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// The properties a batch entry is stored with: its own pairs, then each pair of the batch
/// wrapper (send header `i`) whose key the entry does not set. Java up to 5.3.3 appended the
/// wrapper's pairs unconditionally, so the wrapper's UNIQ_KEY overrode every entry's and
/// all messages of a batch shared one id (docs/protocol.md §2.4.2); an entry's keys always win
/// here.
pub fn merge_missing(own: &str, wrapper: &str) -> Result<String, WireError> {
    let mut merged = Builder::new();
    merged.extend_from(own, |_| true)?;
    merged.extend_from(wrapper, |key| get(own, key).is_none())?;
    Ok(merged.finish())
}

fn has_separator(text: &str) -> bool {
    text.contains([NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR])
}

/// Java `String.hashCode()`: `h = 31 * h + unit` over the UTF-16 code units, wrapping. It is
/// the consume-queue tag code of the TAGS property and the hash of index keys.
pub fn java_hash(text: &str) -> i32 {
    java_hash_on(0, text)
}

/// The [`java_hash`] of a string made of text that hashed to `hash`, then `more`: hashes a
/// concatenation without building it.
pub fn java_hash_on(hash: i32, more: &str) -> i32 {
    if !more.is_ascii() {
        return more.encode_utf16().fold(hash, |h, unit| {
            h.wrapping_mul(31).wrapping_add(i32::from(unit))
        });
    }
    // An ASCII byte is its UTF-16 unit. Four at a time, `h·31⁴ + a·31³ + b·31² + c·31 + d`
    // (the same in wrapping arithmetic): the four products do not wait on each other, where
    // one unit at a time is a chain of a multiply and an add per byte.
    let mut quads = more.as_bytes().chunks_exact(4);
    let mut h = hash;
    for q in &mut quads {
        let [a, b, c, d] = [q[0], q[1], q[2], q[3]].map(i32::from);
        h = h
            .wrapping_mul(923_521)
            .wrapping_add(a * 29_791 + b * 961 + c * 31 + d);
    }
    quads.remainder().iter().fold(h, |h, &byte| {
        h.wrapping_mul(31).wrapping_add(i32::from(byte))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_matches_java() {
        assert_eq!(java_hash(""), 0);
        assert_eq!(
            java_hash_on(java_hash("Topic#"), "key é"),
            java_hash("Topic#key é")
        );
        assert_eq!(java_hash("TagA"), 2_598_919);
        assert_eq!(java_hash("a"), 97);
        assert_eq!(java_hash("hello"), 99_162_322);
        // Wraps past i32::MAX like Java does.
        assert_eq!(java_hash("TopicTest"), -1_902_610_879);
        assert_eq!(java_hash("é"), 233);
        // U+1F600 is the surrogate pair D83D DE00: 31 * 0xD83D + 0xDE00.
        assert_eq!(java_hash("\u{1F600}"), 1_772_899);
        assert_eq!(java_hash("a\u{1F600}"), 1_866_116);
    }

    #[test]
    fn ascii_hashes_four_bytes_at_a_time_as_one_at_a_time() {
        let one_at_a_time = |hash: i32, text: &str| {
            text.bytes()
                .fold(hash, |h, b| h.wrapping_mul(31).wrapping_add(i32::from(b)))
        };
        let text: String = (0..64u32)
            .map(|i| char::from(b'!' + (i * 37 % 94) as u8))
            .collect();
        for len in 0..=text.len() {
            for start in [0, 1, -1_902_610_879, i32::MAX] {
                let part = &text[..len];
                assert_eq!(
                    java_hash_on(start, part),
                    one_at_a_time(start, part),
                    "{part}"
                );
            }
        }
        assert_eq!(
            java_hash("\u{7f}\u{7f}\u{7f}\u{7f}\u{7f}"),
            one_at_a_time(0, "\u{7f}".repeat(5).as_str())
        );
    }

    #[test]
    fn parse_follows_java_rules() {
        let text = "TAGS\u{1}TagA\u{2}KEYS\u{1}k1 k2\u{2}x\u{2}\u{1}v\u{2}E\u{1}\u{2}TAGS\u{1}B";
        let pairs: Vec<_> = iter(text).collect();
        assert_eq!(
            pairs,
            vec![("TAGS", "TagA"), ("KEYS", "k1 k2"), ("TAGS", "B")]
        );
        assert_eq!(get(text, keys::TAGS), Some("B"));
        assert_eq!(get(text, keys::UNIQ_KEY), None);
        assert_eq!(iter("").count(), 0);
        // The value keeps any later 0x01; only the first one splits.
        assert_eq!(get("K\u{1}a\u{1}b", "K"), Some("a\u{1}b"));
    }

    #[test]
    fn build_round_trips_and_rejects_separators() {
        let mut builder = Builder::new();
        builder.push(keys::TAGS, "TagA").unwrap();
        builder.push(keys::WAIT, "").unwrap();
        builder.push(keys::UNIQ_KEY, "ABC").unwrap();
        assert!(builder.contains(keys::TAGS));
        let text = builder.finish();
        assert_eq!(text, "TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}ABC\u{2}");
        assert!(Builder::new().push("K", "a\u{2}b").is_err());
        assert!(Builder::new().push("", "v").is_err());

        let mut filtered = Builder::new();
        filtered
            .extend_from(&text, |key| key != keys::TAGS)
            .unwrap();
        assert_eq!(filtered.finish(), "UNIQ_KEY\u{1}ABC\u{2}");
    }

    #[test]
    fn batch_entries_keep_their_own_keys() {
        let own = "UNIQ_KEY\u{1}entry\u{2}TAGS\u{1}A\u{2}";
        let wrapper = "UNIQ_KEY\u{1}wrapper\u{2}WAIT\u{1}false\u{2}";
        let merged = merge_missing(own, wrapper).unwrap();
        assert_eq!(
            merged,
            "UNIQ_KEY\u{1}entry\u{2}TAGS\u{1}A\u{2}WAIT\u{1}false\u{2}"
        );
        assert_eq!(merge_missing("", "").unwrap(), "");
    }

    proptest::proptest! {
        #[test]
        fn built_pairs_parse_back(pairs in proptest::collection::vec(
            ("[A-Z_]{1,12}", "[ -~é\u{1F600}]{1,20}"), 0..20)) {
            let mut builder = Builder::new();
            for (key, value) in &pairs {
                builder.push(key, value).unwrap();
            }
            let text = builder.finish();
            let parsed: Vec<(String, String)> =
                iter(&text).map(|(k, v)| (k.to_string(), v.to_string())).collect();
            proptest::prop_assert_eq!(parsed, pairs);
        }

        #[test]
        fn java_hash_never_panics(text in ".*") {
            let _ = java_hash(&text);
        }
    }

    #[test]
    fn build_enforces_the_length_limit() {
        let long = "v".repeat(PROPERTIES_SIZE_MAX);
        assert!(Builder::new().push("K", &long).is_err());
        let fits = "v".repeat(PROPERTIES_SIZE_MAX - 3);
        assert!(Builder::new().push("K", &fits).is_ok());
    }
}
