//! Alertmanager label matchers and their two text grammars.
//!
//! Alertmanager (≥ 0.27) parses every matcher string — config `matchers`,
//! inhibition `source_matchers`/`target_matchers`, API `filter` parameters —
//! with a UTF-8 grammar and the older "classic" grammar, and by default falls
//! back to the classic result when the two disagree or only the classic one
//! accepts the input. Regexes are anchored `^(?:re)$` (RE2 flags, `.` does
//! not match a newline, unlike Prometheus 3 series matchers).

use std::cmp::Ordering;
use std::fmt;

use crate::labels::{go_quote, is_classic_label_name, LabelSet};

/// How a matcher compares a label value. The order is Alertmanager's and is
/// used when sorting route matchers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatchType {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regexp,
    /// `!~`
    NotRegexp,
}

impl MatchType {
    /// The operator text.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchType::Equal => "=",
            MatchType::NotEqual => "!=",
            MatchType::Regexp => "=~",
            MatchType::NotRegexp => "!~",
        }
    }

    /// Whether the value is a regular expression.
    pub fn is_regex(self) -> bool {
        matches!(self, MatchType::Regexp | MatchType::NotRegexp)
    }

    /// Whether the match is negated.
    pub fn is_negative(self) -> bool {
        matches!(self, MatchType::NotEqual | MatchType::NotRegexp)
    }

    /// Builds the type from the API's `isRegex`/`isEqual` pair.
    pub fn from_flags(is_regex: bool, is_equal: bool) -> Self {
        match (is_regex, is_equal) {
            (false, true) => MatchType::Equal,
            (false, false) => MatchType::NotEqual,
            (true, true) => MatchType::Regexp,
            (true, false) => MatchType::NotRegexp,
        }
    }
}

impl fmt::Display for MatchType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A matcher string or regex that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MatcherError(pub String);

/// One label matcher with its regex compiled.
#[derive(Clone)]
pub struct Matcher {
    /// Label name.
    pub name: String,
    /// Comparison.
    pub ty: MatchType,
    /// Literal value or regex source as written.
    pub value: String,
    regex: Option<regex::Regex>,
}

impl Matcher {
    /// Builds a matcher, compiling `value` as an anchored RE2-style regex for
    /// `=~` and `!~`.
    pub fn new(
        ty: MatchType,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, MatcherError> {
        let name = name.into();
        let value = value.into();
        let regex = if ty.is_regex() {
            Some(compile_anchored(&value)?)
        } else {
            None
        };
        Ok(Matcher {
            name,
            ty,
            value,
            regex,
        })
    }

    /// Whether the matcher accepts `value` (an absent label is `""`).
    pub fn matches(&self, value: &str) -> bool {
        match self.ty {
            MatchType::Equal => self.value == value,
            MatchType::NotEqual => self.value != value,
            MatchType::Regexp => self.regex.as_ref().is_some_and(|r| r.is_match(value)),
            MatchType::NotRegexp => !self.regex.as_ref().is_some_and(|r| r.is_match(value)),
        }
    }

    /// Whether the matcher accepts the label set.
    pub fn matches_labels(&self, labels: &LabelSet) -> bool {
        self.matches(labels.get(&self.name).map(String::as_str).unwrap_or(""))
    }
}

impl PartialEq for Matcher {
    fn eq(&self, o: &Self) -> bool {
        self.name == o.name && self.ty == o.ty && self.value == o.value
    }
}
impl Eq for Matcher {}

impl PartialOrd for Matcher {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Alertmanager's matcher order: name, then value, then type.
impl Ord for Matcher {
    fn cmp(&self, o: &Self) -> Ordering {
        self.name
            .cmp(&o.name)
            .then_with(|| self.value.cmp(&o.value))
            .then_with(|| self.ty.cmp(&o.ty))
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `name="value"`; the name is quoted too when it contains characters the
/// UTF-8 grammar reserves.
impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.chars().any(is_reserved) {
            write!(
                f,
                "{}{}{}",
                go_quote(&self.name),
                self.ty,
                go_quote(&self.value)
            )
        } else {
            write!(f, "{}{}{}", self.name, self.ty, go_quote(&self.value))
        }
    }
}

/// Whether every matcher accepts the label set.
pub fn matches_all(matchers: &[Matcher], labels: &LabelSet) -> bool {
    matchers.iter().all(|m| m.matches_labels(labels))
}

/// `{a="1",b=~"x"}`: the form used in route keys.
pub fn matchers_string(matchers: &[Matcher]) -> String {
    let parts: Vec<String> = matchers.iter().map(|m| m.to_string()).collect();
    format!("{{{}}}", parts.join(","))
}

fn compile_anchored(pattern: &str) -> Result<regex::Regex, MatcherError> {
    let translated = lookout_model::matcher::go_compatible_pattern(pattern);
    regex::RegexBuilder::new(&format!("^(?:{translated})$"))
        .size_limit(64 << 20)
        .build()
        .map_err(|e| {
            let detail = e
                .to_string()
                .lines()
                .rev()
                .find_map(|l| l.trim_start().strip_prefix("error:").map(str::trim))
                .map(str::to_string)
                .unwrap_or_else(|| e.to_string());
            // Use Go's wording for the common mistakes so messages match
            // `amtool check-config`.
            let go = match detail.as_str() {
                "unclosed group" => "missing closing )".to_string(),
                "unopened group" => "unexpected )".to_string(),
                "unclosed character class" => "missing closing ]".to_string(),
                "repetition operator missing expression" => {
                    "missing argument to repetition operator".to_string()
                }
                other => other.to_string(),
            };
            MatcherError(format!("error parsing regexp: {go}: `^(?:{pattern})$`"))
        })
}

/// Which grammar(s) parse matcher strings (Alertmanager's feature flags).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ParseMode {
    /// UTF-8 grammar first; classic result on failure or disagreement.
    #[default]
    Fallback,
    /// UTF-8 grammar only (`utf8-strict-mode`).
    Utf8Strict,
    /// Classic grammar only, classic label names (`classic-mode`).
    Classic,
}

impl ParseMode {
    /// Whether label names must be classic (`[a-zA-Z_][a-zA-Z0-9_]*`).
    pub fn classic_names(self) -> bool {
        self == ParseMode::Classic
    }

    /// Validates a label name under this mode.
    pub fn valid_label_name(self, name: &str) -> bool {
        if self.classic_names() {
            is_classic_label_name(name)
        } else {
            !name.is_empty()
        }
    }
}

/// Parses one matcher (config entries, API `filter` values).
pub fn parse_matcher(input: &str, mode: ParseMode) -> Result<Matcher, MatcherError> {
    match mode {
        ParseMode::Classic => parse_classic_matcher(input),
        ParseMode::Utf8Strict => parse_utf8_matcher(input),
        ParseMode::Fallback => {
            if input.starts_with('{') || input.ends_with('}') {
                return Err(MatcherError(format!(
                    "unexpected open or close brace: {input}"
                )));
            }
            let utf8 = parse_utf8_matcher(input);
            let classic = parse_classic_matcher(input);
            match (utf8, classic) {
                (Err(_), Err(c)) => Err(c),
                (Err(_), Ok(c)) => {
                    tracing::warn!(input, suggestion = %c, "matcher is not valid in the UTF-8 grammar; using the classic parse");
                    Ok(c)
                }
                (Ok(u), Ok(c)) if u != c => {
                    tracing::warn!(
                        input,
                        "UTF-8 and classic matcher grammars disagree; using the classic parse"
                    );
                    Ok(c)
                }
                (Ok(u), _) => Ok(u),
            }
        }
    }
}

/// Parses a matcher list such as `{a="1", b=~"x"}` (amtool arguments,
/// `routes test`).
pub fn parse_matchers(input: &str, mode: ParseMode) -> Result<Vec<Matcher>, MatcherError> {
    match mode {
        ParseMode::Classic => parse_classic_matchers(input),
        ParseMode::Utf8Strict => parse_utf8_matchers(input),
        ParseMode::Fallback => {
            let utf8 = parse_utf8_matchers(input);
            let classic = parse_classic_matchers(input);
            match (utf8, classic) {
                (Err(_), Err(c)) => Err(c),
                (Err(_), Ok(c)) => Ok(c),
                (Ok(u), Ok(c)) if u != c => Ok(c),
                (Ok(u), _) => Ok(u),
            }
        }
    }
}

// ---------------------------------------------------------------- classic

/// The classic grammar for a single matcher:
/// `name op value` with an optionally double-quoted value.
pub fn parse_classic_matcher(s: &str) -> Result<Matcher, MatcherError> {
    let bad = || MatcherError(format!("bad matcher format: {s}"));
    let trimmed = s.trim_start();
    // Label name: [a-zA-Z_:][a-zA-Z0-9_:]*
    let name_len = trimmed
        .char_indices()
        .take_while(|(i, c)| {
            c.is_ascii_alphabetic() || *c == '_' || *c == ':' || (*i > 0 && c.is_ascii_digit())
        })
        .count();
    if name_len == 0 {
        return Err(bad());
    }
    let name = &trimmed[..name_len];
    let rest = trimmed[name_len..].trim_start();
    let (ty, rest) = if let Some(r) = rest.strip_prefix("=~") {
        (MatchType::Regexp, r)
    } else if let Some(r) = rest.strip_prefix("!=") {
        (MatchType::NotEqual, r)
    } else if let Some(r) = rest.strip_prefix("!~") {
        (MatchType::NotRegexp, r)
    } else if let Some(r) = rest.strip_prefix('=') {
        (MatchType::Equal, r)
    } else {
        return Err(bad());
    };
    // Upstream's regex is `\s*(?s:.*?)\s*$`: trim whitespace on both sides.
    let raw_full = rest.trim_matches(is_go_regex_space);
    let (raw, mut expect_quote) = match raw_full.strip_prefix('"') {
        Some(r) => (r, true),
        None => (raw_full, false),
    };
    let mut value = String::with_capacity(raw.len());
    let mut escaped = false;
    let chars: Vec<(usize, char)> = raw.char_indices().collect();
    for (pos, &(i, c)) in chars.iter().enumerate() {
        let last = pos + 1 == chars.len();
        if escaped {
            escaped = false;
            match c {
                'n' => value.push('\n'),
                '"' | '\\' => value.push(c),
                _ => {
                    value.push('\\');
                    value.push(c);
                }
            }
            continue;
        }
        match c {
            '\\' => {
                if !last {
                    escaped = true;
                    continue;
                }
                value.push('\\');
            }
            '"' => {
                if !expect_quote || i + 1 < raw.len() {
                    return Err(MatcherError(format!(
                        "matcher value contains unescaped double quote: {raw_full}"
                    )));
                }
                expect_quote = false;
            }
            _ => value.push(c),
        }
    }
    if expect_quote {
        return Err(MatcherError(format!(
            "matcher value contains unescaped double quote: {raw_full}"
        )));
    }
    Matcher::new(ty, name, value)
}

fn is_go_regex_space(c: char) -> bool {
    // RE2's \s: [\t\n\f\r ]
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

/// The classic grammar for a list: one optional `{`/`}` pair stripped, then
/// split on commas outside double quotes.
pub fn parse_classic_matchers(s: &str) -> Result<Vec<Matcher>, MatcherError> {
    let s = s.strip_prefix('{').unwrap_or(s);
    let s = s.strip_suffix('}').unwrap_or(s);
    let mut tokens = Vec::new();
    let mut token = String::new();
    let mut in_quotes = false;
    let mut escaped = false;
    for c in s.chars() {
        match c {
            ',' if !in_quotes => {
                tokens.push(std::mem::take(&mut token));
                continue;
            }
            ',' => {}
            '"' => {
                if !escaped {
                    in_quotes = !in_quotes;
                } else {
                    escaped = false;
                }
            }
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
        token.push(c);
    }
    let last = token.trim();
    if !last.is_empty() {
        tokens.push(last.to_string());
    }
    tokens.iter().map(|t| parse_classic_matcher(t)).collect()
}

// ---------------------------------------------------------------- UTF-8

/// Characters that end an unquoted term in the UTF-8 grammar.
fn is_reserved(c: char) -> bool {
    c.is_whitespace() || "{}!=~,\\\"'`".contains(c)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Comma,
    Op(MatchType),
    Term(String),
}

fn lex(input: &str) -> Result<Vec<(usize, Token)>, MatcherError> {
    let mut out = Vec::new();
    let mut it = input.char_indices().peekable();
    while let Some(&(pos, c)) = it.peek() {
        if c.is_whitespace() {
            it.next();
            continue;
        }
        match c {
            '{' => {
                it.next();
                out.push((pos, Token::Open));
            }
            '}' => {
                it.next();
                out.push((pos, Token::Close));
            }
            ',' => {
                it.next();
                out.push((pos, Token::Comma));
            }
            '=' => {
                it.next();
                if it.peek().map(|p| p.1) == Some('~') {
                    it.next();
                    out.push((pos, Token::Op(MatchType::Regexp)));
                } else {
                    out.push((pos, Token::Op(MatchType::Equal)));
                }
            }
            '!' => {
                it.next();
                match it.peek().map(|p| p.1) {
                    Some('=') => {
                        it.next();
                        out.push((pos, Token::Op(MatchType::NotEqual)));
                    }
                    Some('~') => {
                        it.next();
                        out.push((pos, Token::Op(MatchType::NotRegexp)));
                    }
                    _ => {
                        return Err(MatcherError(format!(
                            "{pos}:{}: unexpected end of input, expected one of '=~'",
                            pos + 1
                        )))
                    }
                }
            }
            '"' => {
                it.next();
                let start = pos + 1;
                let mut end = None;
                let mut esc = false;
                for (i, ch) in it.by_ref() {
                    if esc {
                        esc = false;
                        continue;
                    }
                    match ch {
                        '\\' => esc = true,
                        '"' => {
                            end = Some(i);
                            break;
                        }
                        _ => {}
                    }
                }
                let end = end.ok_or_else(|| {
                    MatcherError(format!(
                        "{pos}:{}: {}: missing end \"",
                        input.len(),
                        &input[pos..]
                    ))
                })?;
                let body = &input[start..end];
                let unq = go_unquote(body)
                    .map_err(|e| MatcherError(format!("{pos}:{}: {e}", end + 1)))?;
                out.push((pos, Token::Term(unq)));
            }
            c if is_reserved(c) => {
                return Err(MatcherError(format!(
                    "{pos}:{}: {c}: invalid input",
                    pos + c.len_utf8()
                )))
            }
            _ => {
                let mut term = String::new();
                while let Some(&(_, ch)) = it.peek() {
                    if is_reserved(ch) {
                        break;
                    }
                    term.push(ch);
                    it.next();
                }
                out.push((pos, Token::Term(term)));
            }
        }
    }
    Ok(out)
}

/// Go's `strconv.Unquote` body for a double-quoted literal (without the
/// surrounding quotes). The result must be valid UTF-8.
fn go_unquote(body: &str) -> Result<String, String> {
    let mut bytes = Vec::with_capacity(body.len());
    let mut it = body.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\n' {
            return Err("invalid syntax".into());
        }
        if c != '\\' {
            let mut buf = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let e = it.next().ok_or("invalid syntax")?;
        let simple = match e {
            'a' => Some(0x07u8),
            'b' => Some(0x08),
            'f' => Some(0x0c),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(0x0b),
            '\\' => Some(b'\\'),
            '"' => Some(b'"'),
            _ => None,
        };
        if let Some(b) = simple {
            bytes.push(b);
            continue;
        }
        let mut take_hex = |n: usize| -> Result<u32, String> {
            let mut v = 0u32;
            for _ in 0..n {
                let d = it
                    .next()
                    .and_then(|c| c.to_digit(16))
                    .ok_or("invalid syntax")?;
                v = v * 16 + d;
            }
            Ok(v)
        };
        match e {
            'x' => bytes.push(take_hex(2)? as u8),
            'u' | 'U' => {
                let v = take_hex(if e == 'u' { 4 } else { 8 })?;
                let ch = char::from_u32(v).ok_or("invalid syntax")?;
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    let d = it
                        .next()
                        .and_then(|c| c.to_digit(8))
                        .ok_or("invalid syntax")?;
                    v = v * 8 + d;
                }
                if v > 255 {
                    return Err("invalid syntax".into());
                }
                bytes.push(v as u8);
            }
            _ => return Err("invalid syntax".into()),
        }
    }
    String::from_utf8(bytes).map_err(|_| "invalid UTF-8".to_string())
}

/// The UTF-8 grammar for a list: `[{] [m {, m} [,]] [}]`.
pub fn parse_utf8_matchers(input: &str) -> Result<Vec<Matcher>, MatcherError> {
    let tokens = lex(input)?;
    let mut pos = 0;
    let mut out = Vec::new();
    let has_open = matches!(tokens.first(), Some((_, Token::Open)));
    if has_open {
        pos = 1;
    }
    let err = |what: &str| MatcherError(format!("{what}: {input}"));
    loop {
        match tokens.get(pos) {
            None => {
                if has_open {
                    return Err(err("0:{}: missing closing '}'"));
                }
                return Ok(out);
            }
            Some((_, Token::Close)) => {
                if !has_open {
                    return Err(err("unexpected }"));
                }
                if pos + 1 != tokens.len() {
                    return Err(err("expected end of input"));
                }
                return Ok(out);
            }
            Some((_, Token::Term(name))) => {
                let op = match tokens.get(pos + 1) {
                    Some((_, Token::Op(op))) => *op,
                    _ => return Err(err("expected an operator such as '=', '!=', '=~' or '!~'")),
                };
                let value = match tokens.get(pos + 2) {
                    Some((_, Token::Term(v))) => v.clone(),
                    _ => return Err(err("expected label value")),
                };
                if name.is_empty() {
                    return Err(err("label name must not be empty"));
                }
                out.push(Matcher::new(op, name.clone(), value)?);
                pos += 3;
                match tokens.get(pos) {
                    Some((_, Token::Comma)) => pos += 1,
                    Some((_, Token::Close)) | None => {}
                    _ => return Err(err("expected a comma or closing '}'")),
                }
            }
            Some(_) => return Err(err("unexpected input")),
        }
    }
}

/// The UTF-8 grammar for exactly one matcher, no braces.
pub fn parse_utf8_matcher(input: &str) -> Result<Matcher, MatcherError> {
    if input.starts_with('{') || input.ends_with('}') {
        return Err(MatcherError(format!(
            "unexpected open or close brace: {input}"
        )));
    }
    let mut ms = parse_utf8_matchers(input)?;
    if ms.len() != 1 {
        return Err(MatcherError(format!(
            "expected 1 matcher, found {}: {input}",
            ms.len()
        )));
    }
    Ok(ms.remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(ty: MatchType, n: &str, v: &str) -> Matcher {
        Matcher::new(ty, n, v).unwrap()
    }

    #[test]
    fn users_lines_parse_identically() {
        for mode in [
            ParseMode::Fallback,
            ParseMode::Utf8Strict,
            ParseMode::Classic,
        ] {
            assert_eq!(
                parse_matcher("alertname = Watchdog", mode).unwrap(),
                m(MatchType::Equal, "alertname", "Watchdog")
            );
            assert_eq!(
                parse_matcher("severity = critical", mode).unwrap(),
                m(MatchType::Equal, "severity", "critical")
            );
        }
    }

    #[test]
    fn classic_grammar() {
        let ms = parse_classic_matchers(r#"{foo="bar", baz=~"a,b", x!="q\"uote"}"#).unwrap();
        assert_eq!(ms.len(), 3);
        assert_eq!(ms[1], m(MatchType::Regexp, "baz", "a,b"));
        assert_eq!(ms[2].value, "q\"uote");
        assert_eq!(
            parse_classic_matcher("foo=bar baz").unwrap().value,
            "bar baz"
        );
        assert_eq!(parse_classic_matcher("foo=").unwrap().value, "");
        assert!(parse_classic_matcher(r#"foo="a"b""#).is_err());
        assert!(parse_classic_matcher("9foo=a").is_err());
        assert_eq!(
            parse_classic_matcher(r#"a="x\n\y""#).unwrap().value,
            "x\n\\y"
        );
    }

    #[test]
    fn utf8_grammar() {
        let ms = parse_utf8_matchers(r#"{foo🙂=bar, "a b"=~"x.*",}"#).unwrap();
        assert_eq!(ms[0], m(MatchType::Equal, "foo🙂", "bar"));
        assert_eq!(ms[1], m(MatchType::Regexp, "a b", "x.*"));
        assert!(parse_utf8_matchers("{a=b").is_err());
        assert!(parse_utf8_matchers("a=b}").is_err());
        assert!(parse_utf8_matcher("foo=").is_err());
        assert!(parse_utf8_matcher("foo=bar baz").is_err());
        assert_eq!(
            parse_utf8_matcher(r#""\xf0\x9f\x99\x82"=dΘ"#).unwrap(),
            m(MatchType::Equal, "🙂", "dΘ")
        );
        assert_eq!(parse_utf8_matchers("").unwrap(), vec![]);
        assert_eq!(parse_utf8_matchers("{}").unwrap(), vec![]);
    }

    #[test]
    fn fallback_prefers_classic_when_utf8_rejects() {
        let got = parse_matcher("foo=bar baz", ParseMode::Fallback).unwrap();
        assert_eq!(got.value, "bar baz");
        assert!(parse_matcher("foo=bar baz", ParseMode::Utf8Strict).is_err());
        assert!(parse_matcher("{foo=bar}", ParseMode::Fallback).is_err());
        assert!(parse_matcher("foo🙂=bar", ParseMode::Classic).is_err());
        assert!(parse_matcher("foo🙂=bar", ParseMode::Fallback).is_ok());
    }

    #[test]
    fn regexes_are_anchored_without_dotall() {
        let r = m(MatchType::Regexp, "a", "fo+");
        assert!(r.matches("foo"));
        assert!(!r.matches("xfoo"));
        assert!(!m(MatchType::Regexp, "a", "a.b").matches("a\nb"));
        assert!(m(MatchType::NotRegexp, "a", "x").matches(""));
    }

    #[test]
    fn display_and_sort() {
        let mut ms = vec![
            m(MatchType::Equal, "severity", "warning"),
            m(MatchType::Regexp, "alertname", "a\"b"),
        ];
        ms.sort();
        assert_eq!(
            matchers_string(&ms),
            r#"{alertname=~"a\"b",severity="warning"}"#
        );
        assert_eq!(m(MatchType::Equal, "a b", "x").to_string(), r#""a b"="x""#);
    }
}
