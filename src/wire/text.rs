//! Checking that wire bytes are text.

/// `raw` as a `str` when it is UTF-8. Topics, properties and headers are ASCII but for the odd
/// value, and the ASCII test (whole words at a time) is quicker than a UTF-8 check of the
/// same bytes, so it goes first.
pub fn utf8(raw: &[u8]) -> Option<&str> {
    if raw.is_ascii() {
        #[allow(unsafe_code)]
        // SAFETY: ASCII bytes are valid UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(raw) })
    } else {
        std::str::from_utf8(raw).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::utf8;

    #[test]
    fn ascii_and_utf8_pass_and_anything_else_does_not() {
        assert_eq!(utf8(b"TopicTest"), Some("TopicTest"));
        assert_eq!(utf8(b""), Some(""));
        assert_eq!(utf8("KEYS\u{1}clé".as_bytes()), Some("KEYS\u{1}clé"));
        assert_eq!(utf8(b"ab\xffcd"), None);
        assert_eq!(utf8(b"\xc3"), None);
    }
}
