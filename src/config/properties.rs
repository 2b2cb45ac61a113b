//! Java `.properties` text → (line, key, value) entries, as `java.util.Properties::load`
//! reads it: `#`/`!` comment lines, `=`, `:` or whitespace between key and value, a trailing
//! odd backslash continuing the line, and `\t \n \r \f \uXXXX` escapes (any other escaped
//! character stands for itself). Pure; no I/O.

use std::fmt;

/// One `key=value` of the file; `line` is where the entry starts (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub line: usize,
    pub key: String,
    pub value: String,
}

/// A malformed `\uXXXX` escape: the only thing Java's reader refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertiesError {
    pub line: usize,
    pub why: String,
}

impl fmt::Display for PropertiesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.why)
    }
}

impl std::error::Error for PropertiesError {}

/// Parses properties text into entries in file order (later duplicates win when applied).
pub fn parse(text: &str) -> Result<Vec<Entry>, PropertiesError> {
    let mut entries = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((index, first)) = lines.next() {
        let line = index + 1;
        let trimmed = first.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
            continue;
        }
        // Join continuation lines: a line ending in an odd number of backslashes goes on.
        let mut logical = String::from(trimmed);
        while ends_with_odd_backslashes(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start()),
                None => break,
            }
        }
        let (raw_key, raw_value) = split_key_value(&logical);
        entries.push(Entry {
            line,
            key: unescape(raw_key, line)?,
            value: unescape(raw_value, line)?,
        });
    }
    Ok(entries)
}

fn ends_with_odd_backslashes(text: &str) -> bool {
    text.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

/// Splits at the first unescaped `=`, `:` or whitespace; whitespace, then at most one `=` or
/// `:`, then whitespace separate key from value.
fn split_key_value(logical: &str) -> (&str, &str) {
    let bytes = logical.as_bytes();
    let mut end = bytes.len();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' | b':' | b' ' | b'\t' | b'\x0c' => {
                end = i;
                break;
            }
            _ => i += 1,
        }
    }
    let key = &logical[..end];
    let mut rest = logical[end..].trim_start_matches([' ', '\t', '\x0c']);
    if let Some(stripped) = rest.strip_prefix(['=', ':']) {
        rest = stripped.trim_start_matches([' ', '\t', '\x0c']);
    }
    (key, rest)
}

fn unescape(raw: &str, line: usize) -> Result<String, PropertiesError> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let decoded = (hex.len() == 4)
                    .then(|| u32::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .and_then(char::from_u32);
                match decoded {
                    Some(c) => out.push(c),
                    None => {
                        return Err(PropertiesError {
                            line,
                            why: format!("malformed \\uXXXX escape `\\u{hex}`"),
                        })
                    }
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(usize, String, String)> {
        parse(text)
            .expect("parses")
            .into_iter()
            .map(|e| (e.line, e.key, e.value))
            .collect()
    }

    #[test]
    fn separators_comments_and_blank_lines() {
        let text = "# comment\n! also\n\n a=1\nb : 2\nc 3\nd\te = f\nempty=\nlone\n";
        assert_eq!(
            pairs(text),
            vec![
                (4, "a".into(), "1".into()),
                (5, "b".into(), "2".into()),
                (6, "c".into(), "3".into()),
                (7, "d".into(), "e = f".into()),
                (8, "empty".into(), "".into()),
                (9, "lone".into(), "".into()),
            ]
        );
    }

    #[test]
    fn continuation_lines_join_without_leading_space() {
        let text = "namesrvAddr=127.0.0.1:9876;\\\n    10.0.0.2:9876\nnext=\\\\\n";
        assert_eq!(
            pairs(text),
            vec![
                (
                    1,
                    "namesrvAddr".into(),
                    "127.0.0.1:9876;10.0.0.2:9876".into()
                ),
                (3, "next".into(), "\\".into()),
            ]
        );
    }

    #[test]
    fn escapes_in_keys_and_values() {
        let text = "a\\=b=c\\u0041\\td\\x\n";
        assert_eq!(pairs(text), vec![(1, "a=b".into(), "cA\tdx".into())]);
    }

    #[test]
    fn malformed_unicode_escape_names_its_line() {
        let err = parse("ok=1\nbad=\\u12G4\n").expect_err("malformed");
        assert_eq!(err.line, 2);
    }
}
