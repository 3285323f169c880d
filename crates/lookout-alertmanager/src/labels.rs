//! Alert label sets and the string/hash forms Alertmanager derives from them.
//!
//! Alertmanager keys everything (alert identity, group keys, route keys, the
//! notification log) on exact byte strings. Keeping these byte-identical lets
//! lookout read an Alertmanager data directory and lets webhook receivers see
//! the same `groupKey` values.

use std::collections::BTreeMap;
use std::fmt;

/// A label set: names map to values, iterated in name order.
pub type LabelSet = BTreeMap<String, String>;

/// An alert's identity: FNV-1a 64 over its sorted label pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Fingerprint(pub u64);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl Fingerprint {
    /// Parses the 16-hex-digit form.
    pub fn parse(s: &str) -> Option<Self> {
        u64::from_str_radix(s, 16).ok().map(Fingerprint)
    }
}

const FNV_OFFSET: u64 = 14695981039346656037;
const FNV_PRIME: u64 = 1099511628211;
const SEPARATOR: u8 = 0xff;

/// Alertmanager's label-set fingerprint: every name and value, in name order,
/// each followed by the byte `0xff`, hashed with FNV-1a 64.
pub fn fingerprint(labels: &LabelSet) -> Fingerprint {
    let mut h = FNV_OFFSET;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(FNV_PRIME);
        }
    };
    for (name, value) in labels {
        feed(name.as_bytes());
        feed(&[SEPARATOR]);
        feed(value.as_bytes());
        feed(&[SEPARATOR]);
    }
    Fingerprint(h)
}

/// The notification log's per-alert hash: xxHash64 (seed 0) over the same
/// `name 0xff value 0xff` byte stream as [`fingerprint`].
pub fn alert_hash(labels: &LabelSet) -> u64 {
    let mut buf = Vec::with_capacity(64);
    for (name, value) in labels {
        buf.extend_from_slice(name.as_bytes());
        buf.push(SEPARATOR);
        buf.extend_from_slice(value.as_bytes());
        buf.push(SEPARATOR);
    }
    xxhash_rust::xxh64::xxh64(&buf, 0)
}

/// Go's `strconv.Quote`: double quotes around `s` with `"`, `\` and
/// non-printable characters escaped; printable Unicode is kept as is.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if !is_go_printable(c) => {
                let v = c as u32;
                if v < 0x10000 {
                    out.push_str(&format!("\\u{v:04x}"));
                } else {
                    out.push_str(&format!("\\U{v:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Approximates Go's `unicode.IsPrint` for the characters that matter in
/// label values: control and format characters, line/paragraph separators
/// and non-characters are not printable; everything else is.
fn is_go_printable(c: char) -> bool {
    let v = c as u32;
    if c.is_control() {
        return false;
    }
    !matches!(v,
        0x00ad | 0x0600..=0x0605 | 0x061c | 0x06dd | 0x070f | 0x180e
        | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x2064 | 0x2066..=0x206f
        | 0xfeff | 0xfff9..=0xfffb | 0xfffe | 0xffff | 0xd800..=0xdfff
        | 0xe000..=0xf8ff | 0xf0000..=0x10ffff)
}

/// Prometheus' `LabelSet.String()`: `{a="1", b="2"}`. Upstream sorts the
/// formatted `name="value"` strings (not the names), which differs from name
/// order when one name is a prefix of another; this copies that.
pub fn labelset_string(labels: &LabelSet) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(n, v)| format!("{n}={}", go_quote(v)))
        .collect();
    parts.sort();
    format!("{{{}}}", parts.join(", "))
}

/// Whether `name` is a classic label name `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_classic_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Label-name validity in Alertmanager's UTF-8 mode: any non-empty string
/// (Rust strings are always valid UTF-8).
pub fn is_utf8_label_name(name: &str) -> bool {
    !name.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(pairs: &[(&str, &str)]) -> LabelSet {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn fingerprints_match_alertmanager() {
        assert_eq!(
            fingerprint(&LabelSet::new()).to_string(),
            "cbf29ce484222325"
        );
        assert_eq!(
            fingerprint(&ls(&[("alertname", "E")])).to_string(),
            "d2b8efc389d2cbcb"
        );
        assert_eq!(
            fingerprint(&ls(&[
                ("alertname", "A"),
                ("namespace", "n"),
                ("severity", "warning")
            ]))
            .to_string(),
            "a00c1043b474042d"
        );
    }

    #[test]
    fn labelset_strings() {
        assert_eq!(
            labelset_string(&ls(&[("namespace", "n"), ("alertname", "A")])),
            r#"{alertname="A", namespace="n"}"#
        );
        // Sorting of formatted pairs: `a0=` sorts before `a=`.
        assert_eq!(
            labelset_string(&ls(&[("a", "x"), ("a0", "y")])),
            r#"{a0="y", a="x"}"#
        );
        assert_eq!(go_quote("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        assert_eq!(go_quote("Σ🙂"), "\"Σ🙂\"");
        assert_eq!(go_quote("\u{1}"), r#""\x01""#);
    }

    #[test]
    fn label_names() {
        assert!(is_classic_label_name("severity"));
        assert!(is_classic_label_name("_x9"));
        assert!(!is_classic_label_name("9x"));
        assert!(!is_classic_label_name("bad-name"));
        assert!(!is_classic_label_name(""));
        assert!(is_utf8_label_name("foo🙂"));
    }
}
