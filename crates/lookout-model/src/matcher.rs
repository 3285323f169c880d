//! Label matchers: `=`, `!=`, `=~`, `!~`.
//!
//! Regex matchers follow Prometheus 3: the pattern is anchored at both ends
//! and `.` matches newlines (`^(?s:PATTERN)$`). Go's RE2 and Rust's `regex`
//! agree on almost all syntax; where they differ in meaning (`\d`, `\w`, `\s`
//! and `\b` are ASCII-only in Go, Unicode-aware in Rust) the pattern is
//! rewritten to Go's meaning before compiling (see [`go_compatible_pattern`]).

use std::fmt;

use crate::labels::{escape_label_value, Labels};

/// How a matcher compares a label value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl fmt::Display for MatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        })
    }
}

/// A regex that failed to compile.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[error("{message}")]
pub struct MatcherError {
    /// Human-readable description, in the spirit of Go's
    /// `error parsing regexp: ...`.
    pub message: String,
}

/// One label matcher, with its regex compiled once.
#[derive(Clone)]
pub struct Matcher {
    /// Label name the matcher applies to.
    pub name: String,
    /// Comparison kind.
    pub op: MatchOp,
    /// The literal value or the (unanchored, as written) regex source.
    pub value: String,
    regex: Option<regex::Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Eq for Matcher {}

impl std::hash::Hash for Matcher {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.op.hash(state);
        self.value.hash(state);
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}\"{}\"",
            self.name,
            self.op,
            escape_label_value(&self.value)
        )
    }
}

impl Matcher {
    /// Builds a matcher, compiling the regex for `=~` and `!~`.
    pub fn new(
        op: MatchOp,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, MatcherError> {
        let name = name.into();
        let value = value.into();
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(compile_anchored(&value)?),
            _ => None,
        };
        Ok(Matcher {
            name,
            op,
            value,
            regex,
        })
    }

    /// Shorthand for an `=` matcher (cannot fail).
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Matcher {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
            regex: None,
        }
    }

    /// Whether the matcher accepts `value` (an absent label is `""`).
    pub fn matches(&self, value: &str) -> bool {
        match self.op {
            MatchOp::Equal => self.value == value,
            MatchOp::NotEqual => self.value != value,
            MatchOp::Regex => self.regex_matches(value),
            MatchOp::NotRegex => !self.regex_matches(value),
        }
    }

    fn regex_matches(&self, value: &str) -> bool {
        match &self.regex {
            Some(re) => re.is_match(value),
            None => false,
        }
    }

    /// Whether the matcher accepts the empty string, i.e. also matches series
    /// that lack the label entirely.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    /// Whether the matcher accepts this label set.
    pub fn matches_labels(&self, labels: &Labels) -> bool {
        self.matches(labels.get_or_empty(&self.name))
    }

    /// For `=~` patterns that are a plain alternation of literals
    /// (`a|b|c`), the literals; lets stores answer with postings lookups.
    pub fn set_matches(&self) -> Option<Vec<String>> {
        if self.op != MatchOp::Regex {
            return None;
        }
        literal_alternation(&self.value)
    }
}

/// Whether every matcher accepts the label set.
pub fn matches_all(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| m.matches_labels(labels))
}

fn compile_anchored(pattern: &str) -> Result<regex::Regex, MatcherError> {
    let translated = go_compatible_pattern(pattern);
    regex::RegexBuilder::new(&format!("^(?s:{translated})$"))
        .size_limit(64 << 20)
        .build()
        .map_err(|e| MatcherError {
            message: format!("error parsing regexp: {}", first_line(&e.to_string())),
        })
}

fn first_line(s: &str) -> String {
    // regex's errors are multi-line with a caret diagram; keep the last line,
    // which states the problem.
    s.lines()
        .rev()
        .find(|l| l.trim_start().starts_with("error:"))
        .map(|l| {
            l.trim_start()
                .trim_start_matches("error:")
                .trim()
                .to_string()
        })
        .unwrap_or_else(|| s.lines().next().unwrap_or("").to_string())
}

/// Rewrites the Perl classes whose meaning differs between Go and Rust into
/// explicit ASCII forms: `\d`→`[0-9]`, `\w`→`[0-9A-Za-z_]`, `\s`→`[\t\n\f\r ]`,
/// their negations, and `\b`/`\B` to ASCII word boundaries. Inside a bracket
/// class the positive forms are spliced in without brackets.
pub fn go_compatible_pattern(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 8);
    let mut chars = p.chars().peekable();
    let mut in_class = false;
    // True right after `[` or `[^`, where `]` is a literal.
    let mut class_start = false;
    while let Some(c) = chars.next() {
        if c == '\\' {
            let Some(n) = chars.next() else {
                out.push('\\');
                break;
            };
            let rep: Option<(&str, &str)> = match n {
                'd' => Some(("[0-9]", "0-9")),
                'w' => Some(("[0-9A-Za-z_]", "0-9A-Za-z_")),
                's' => Some(("[\\t\\n\\f\\r ]", "\\t\\n\\f\\r ")),
                'D' => Some(("[^0-9]", "")),
                'W' => Some(("[^0-9A-Za-z_]", "")),
                'S' => Some(("[^\\t\\n\\f\\r ]", "")),
                _ => None,
            };
            match (rep, in_class) {
                (Some((outside, _)), false) => out.push_str(outside),
                (Some((_, inside)), true) if !inside.is_empty() => out.push_str(inside),
                (Some((outside, _)), true) => {
                    // A negated class inside brackets: Rust supports nested
                    // classes, so splice the bracketed form as a union member.
                    out.push_str(outside);
                }
                (None, false) if n == 'b' => out.push_str("(?-u:\\b)"),
                (None, false) if n == 'B' => out.push_str("(?-u:\\B)"),
                _ => {
                    out.push('\\');
                    out.push(n);
                }
            }
            class_start = false;
            continue;
        }
        if in_class {
            if c == ']' && !class_start {
                in_class = false;
            } else if c == '[' && chars.peek() == Some(&':') {
                // POSIX class like [:alpha:], copy through to its closing ":]".
                out.push('[');
                for d in chars.by_ref() {
                    out.push(d);
                    if d == ']' {
                        break;
                    }
                }
                class_start = false;
                continue;
            }
            class_start = c == '^' && class_start && out.ends_with('[');
            out.push(c);
            continue;
        }
        if c == '[' {
            in_class = true;
            class_start = true;
            out.push(c);
            if chars.peek() == Some(&'^') {
                out.push('^');
                chars.next();
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Splits `a|b|c` into literals when no alternative contains regex syntax.
fn literal_alternation(p: &str) -> Option<Vec<String>> {
    const META: &[char] = &[
        '.', '+', '*', '?', '(', ')', '[', ']', '{', '}', '^', '$', '\\',
    ];
    if p.contains(META) {
        return None;
    }
    Some(p.split('|').map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchored_and_dotall() {
        let m = Matcher::new(MatchOp::Regex, "a", "fo+").unwrap();
        assert!(m.matches("foo"));
        assert!(!m.matches("xfoo"));
        assert!(!m.matches("foox"));
        let dot = Matcher::new(MatchOp::Regex, "a", "a.b").unwrap();
        assert!(dot.matches("a\nb"));
    }

    #[test]
    fn go_ascii_classes() {
        let d = Matcher::new(MatchOp::Regex, "a", r"\d+").unwrap();
        assert!(d.matches("123"));
        assert!(!d.matches("١٢٣")); // Arabic-Indic digits are not \d in Go
        let w = Matcher::new(MatchOp::Regex, "a", r"[\w-]+").unwrap();
        assert!(w.matches("a_b-9"));
        assert!(!w.matches("é"));
        let nw = Matcher::new(MatchOp::Regex, "a", r"\W").unwrap();
        assert!(nw.matches("é"));
        let neg_in_class = Matcher::new(MatchOp::Regex, "a", r"[x\D]").unwrap();
        assert!(neg_in_class.matches("y"));
        assert!(!neg_in_class.matches("5"));
        let bracket = Matcher::new(MatchOp::Regex, "a", r"[]a]+").unwrap();
        assert!(bracket.matches("]a"));
        let posix = Matcher::new(MatchOp::Regex, "a", r"[[:alpha:]]+").unwrap();
        assert!(posix.matches("abc"));
    }

    #[test]
    fn empty_matching() {
        assert!(Matcher::new(MatchOp::Regex, "a", ".*")
            .unwrap()
            .matches_empty());
        assert!(!Matcher::new(MatchOp::Regex, "a", ".+")
            .unwrap()
            .matches_empty());
        assert!(Matcher::equal("a", "").matches_empty());
        assert!(Matcher::new(MatchOp::NotEqual, "a", "x")
            .unwrap()
            .matches_empty());
    }

    #[test]
    fn bad_regex_is_an_error() {
        let e = Matcher::new(MatchOp::Regex, "a", "(").unwrap_err();
        assert!(
            e.message.starts_with("error parsing regexp"),
            "{}",
            e.message
        );
    }

    #[test]
    fn set_matches_only_for_plain_literals() {
        let m = Matcher::new(MatchOp::Regex, "a", "x|y|zz").unwrap();
        assert_eq!(m.set_matches().unwrap(), vec!["x", "y", "zz"]);
        let m = Matcher::new(MatchOp::Regex, "a", "x|y.*").unwrap();
        assert!(m.set_matches().is_none());
    }
}
