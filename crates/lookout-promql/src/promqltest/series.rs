//! The series-description notation of `.test` files: a metric (PromQL
//! series-literal syntax) followed by expanding value items (`1+2x3`, `_x2`,
//! `stale`, `{{...}}` histograms).

use lookout_model::{CounterResetHint, FloatHistogram, Labels, LabelsBuilder, METRIC_NAME};

use crate::engine::histogram as hist;

/// One position of a series description.
#[derive(Clone, Debug, PartialEq)]
pub enum SeqValue {
    /// `_`: nothing at this position.
    Gap,
    /// A float sample.
    Float(f64),
    /// The staleness marker.
    Stale,
    /// A histogram; the flag says whether the literal spelled out
    /// `counter_reset_hint:` (only then is the hint compared).
    Histogram(Box<FloatHistogram>, bool),
}

/// A parse error with a human-readable message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct SeriesError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, SeriesError> {
    Err(SeriesError(msg.into()))
}

/// Parses `<metric> <values...>`.
pub fn parse_series_line(line: &str) -> Result<(Labels, Vec<SeqValue>), SeriesError> {
    let (labels, rest) = parse_metric(line)?;
    let values = parse_values(rest)?;
    Ok((labels, values))
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// Parses the metric part; returns labels and the remaining text.
pub fn parse_metric(s: &str) -> Result<(Labels, &str), SeriesError> {
    let s = s.trim_start();
    let mut b = LabelsBuilder::new();
    let mut rest = s;
    if rest.starts_with(|c: char| is_name_start(c)) {
        let end = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
        b.set(METRIC_NAME, &rest[..end]);
        rest = &rest[end..];
    }
    if let Some(after) = rest.strip_prefix('{') {
        rest = after;
        loop {
            rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            // label name: identifier or quoted string
            let name: String;
            if rest.starts_with(['"', '\'', '`']) {
                let (v, r) = parse_quoted(rest)?;
                name = v;
                rest = r.trim_start();
                if !rest.starts_with('=') {
                    // a quoted metric name
                    b.set(METRIC_NAME, name);
                    rest = rest.trim_start();
                    if let Some(r) = rest.strip_prefix(',') {
                        rest = r;
                    }
                    continue;
                }
            } else if rest.starts_with(|c: char| is_name_start(c)) {
                let end = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
                name = rest[..end].to_string();
                rest = rest[end..].trim_start();
            } else {
                return err(format!("unexpected character in label set: {rest:?}"));
            }
            let Some(r) = rest.strip_prefix('=') else {
                return err(format!("expected '=' after label name {name:?}"));
            };
            let (v, r) = parse_quoted(r.trim_start())?;
            b.set(name, v);
            rest = r.trim_start();
            if let Some(r) = rest.strip_prefix(',') {
                rest = r;
            } else if !rest.starts_with('}') {
                return err(format!("expected ',' or '}}' in label set: {rest:?}"));
            }
        }
    } else if rest.len() == s.len() {
        return err(format!("expected a metric: {s:?}"));
    }
    Ok((b.into_labels(), rest))
}

/// Parses a Go-style quoted string (`"..."`, `'...'`, or raw backquotes)
/// and returns it with the remaining text.
pub fn parse_quoted(s: &str) -> Result<(String, &str), SeriesError> {
    let mut chars = s.char_indices();
    let Some((_, q)) = chars.next() else {
        return err("expected a quoted string");
    };
    if q == '`' {
        let Some(end) = s[1..].find('`') else {
            return err("unterminated raw string");
        };
        return Ok((s[1..1 + end].to_string(), &s[end + 2..]));
    }
    if q != '"' && q != '\'' {
        return err(format!("expected a quoted string: {s:?}"));
    }
    let mut out: Vec<u8> = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        let c = bytes[i];
        if c == q as u8 {
            let text = String::from_utf8(out)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            return Ok((text, &s[i + 1..]));
        }
        if c == b'\\' {
            i += 1;
            let Some(&e) = bytes.get(i) else {
                return err("unterminated escape");
            };
            match e {
                b'a' => out.push(7),
                b'b' => out.push(8),
                b'f' => out.push(12),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'v' => out.push(11),
                b'\\' => out.push(b'\\'),
                b'"' => out.push(b'"'),
                b'\'' => out.push(b'\''),
                b'x' => {
                    let h = s
                        .get(i + 1..i + 3)
                        .ok_or_else(|| SeriesError("bad \\x escape".into()))?;
                    let v = u8::from_str_radix(h, 16)
                        .map_err(|_| SeriesError("bad \\x escape".into()))?;
                    out.push(v);
                    i += 2;
                }
                b'u' | b'U' => {
                    let n = if e == b'u' { 4 } else { 8 };
                    let h = s
                        .get(i + 1..i + 1 + n)
                        .ok_or_else(|| SeriesError("bad unicode escape".into()))?;
                    let v = u32::from_str_radix(h, 16)
                        .map_err(|_| SeriesError("bad unicode escape".into()))?;
                    let ch = char::from_u32(v)
                        .ok_or_else(|| SeriesError("bad unicode escape".into()))?;
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    i += n;
                }
                b'0'..=b'7' => {
                    let h = s
                        .get(i..i + 3)
                        .ok_or_else(|| SeriesError("bad octal escape".into()))?;
                    let v = u8::from_str_radix(h, 8)
                        .map_err(|_| SeriesError("bad octal escape".into()))?;
                    out.push(v);
                    i += 2;
                }
                _ => return err(format!("unknown escape sequence \\{}", e as char)),
            }
            i += 1;
            continue;
        }
        out.push(c);
        i += 1;
    }
    err("unterminated quoted string")
}

/// Parses a float as the series notation allows (decimal, exponent,
/// Inf/NaN in any case; no hex).
pub fn parse_float(s: &str) -> Result<f64, SeriesError> {
    let t = s.trim();
    let (sign, body) = match t.strip_prefix('-') {
        Some(b) => (-1.0, b),
        None => (1.0, t.strip_prefix('+').unwrap_or(t)),
    };
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Ok(sign * f64::INFINITY);
    }
    if lower == "nan" {
        return Ok(f64::NAN);
    }
    if body.is_empty()
        || !body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-' | '_'))
        || lower.starts_with("0x")
    {
        return err(format!("invalid number {s:?}"));
    }
    body.replace('_', "")
        .parse::<f64>()
        .map(|v| sign * v)
        .map_err(|_| SeriesError(format!("invalid number {s:?}")))
}

/// Splits the value text into items, keeping `{{...}}` groups together.
fn tokenize(s: &str) -> Result<Vec<&str>, SeriesError> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        // scan until whitespace outside of {{ }}
        let mut depth = 0usize;
        while i < b.len() {
            if s[i..].starts_with("{{") {
                depth += 1;
                i += 2;
                continue;
            }
            if s[i..].starts_with("}}") && depth > 0 {
                depth -= 1;
                i += 2;
                continue;
            }
            if depth == 0 && b[i].is_ascii_whitespace() {
                break;
            }
            i += 1;
        }
        if depth != 0 {
            return err("unterminated histogram literal");
        }
        out.push(&s[start..i]);
    }
    Ok(out)
}

/// Parses the value items of a series description.
pub fn parse_values(s: &str) -> Result<Vec<SeqValue>, SeriesError> {
    let mut out = Vec::new();
    for tok in tokenize(s)? {
        expand_item(tok, &mut out)?;
    }
    Ok(out)
}

fn split_times(tok: &str) -> Result<(&str, Option<u64>), SeriesError> {
    // trailing xN (N digits), but not inside a histogram literal
    if let Some(pos) = tok.rfind('x') {
        let n = &tok[pos + 1..];
        if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) && !tok[pos..].contains('}') {
            let times = n
                .parse::<u64>()
                .map_err(|_| SeriesError(format!("invalid repetition in {tok:?}")))?;
            return Ok((&tok[..pos], Some(times)));
        }
    }
    Ok((tok, None))
}

fn expand_item(tok: &str, out: &mut Vec<SeqValue>) -> Result<(), SeriesError> {
    if tok.starts_with("{{") {
        return expand_histogram_item(tok, out);
    }
    let (body, times) = split_times(tok)?;
    if body == "_" {
        let n = times.unwrap_or(1);
        for _ in 0..n {
            out.push(SeqValue::Gap);
        }
        return Ok(());
    }
    if body.eq_ignore_ascii_case("stale") {
        if times.is_some() {
            return err("stale cannot be repeated");
        }
        out.push(SeqValue::Stale);
        return Ok(());
    }
    let Some(times) = times else {
        out.push(SeqValue::Float(parse_float(body)?));
        return Ok(());
    };
    // v, v+d or v-d; find the operator after the first character that is
    // not part of an exponent.
    let bytes = body.as_bytes();
    let mut split = None;
    for i in 1..bytes.len() {
        if (bytes[i] == b'+' || bytes[i] == b'-') && !matches!(bytes[i - 1], b'e' | b'E') {
            split = Some(i);
            break;
        }
    }
    let (start, delta) = match split {
        Some(i) => {
            let d = parse_float(&body[i + 1..])?;
            let d = if bytes[i] == b'-' { -d } else { d };
            (parse_float(&body[..i])?, d)
        }
        None => (parse_float(body)?, 0.0),
    };
    let mut cur = start;
    out.push(SeqValue::Float(cur));
    for _ in 0..times {
        cur += delta;
        out.push(SeqValue::Float(cur));
    }
    Ok(())
}

fn expand_histogram_item(tok: &str, out: &mut Vec<SeqValue>) -> Result<(), SeriesError> {
    let Some(end) = tok.find("}}") else {
        return err("unterminated histogram literal");
    };
    let (base, base_hint) = parse_histogram(&tok[2..end])?;
    let rest = &tok[end + 2..];
    if rest.is_empty() {
        out.push(SeqValue::Histogram(Box::new(base), base_hint));
        return Ok(());
    }
    let (body, times) = split_times(rest)?;
    let Some(times) = times else {
        return err(format!("unexpected text after histogram: {rest:?}"));
    };
    if body.is_empty() {
        for _ in 0..=times {
            out.push(SeqValue::Histogram(Box::new(base.clone()), base_hint));
        }
        return Ok(());
    }
    let sign = match body.as_bytes().first() {
        Some(b'+') => 1.0,
        Some(b'-') => -1.0,
        _ => return err(format!("unexpected text after histogram: {rest:?}")),
    };
    let inc_text = body[1..]
        .strip_prefix("{{")
        .and_then(|s| s.strip_suffix("}}"))
        .ok_or_else(|| SeriesError(format!("invalid histogram increment {body:?}")))?;
    let (inc, _) = parse_histogram(inc_text)?;
    let mut cur = base;
    out.push(SeqValue::Histogram(Box::new(cur.clone()), base_hint));
    for _ in 0..times {
        if cur.schema > inc.schema && !cur.uses_custom_buckets() {
            return err(format!(
                "error combining histograms: cannot merge from schema {} to {}",
                inc.schema, cur.schema
            ));
        }
        let (next, _) = hist::add_sub(&cur, &inc, sign)
            .map_err(|_| SeriesError("error combining histograms: mixed schemas".into()))?;
        cur = next;
        out.push(SeqValue::Histogram(Box::new(cur.clone()), base_hint));
    }
    Ok(())
}

fn parse_bucket_list(s: &str) -> Result<(Vec<f64>, &str), SeriesError> {
    let s = s.trim_start();
    let Some(r) = s.strip_prefix('[') else {
        return err("expected '[' for bucket list");
    };
    let Some(end) = r.find(']') else {
        return err("unterminated bucket list");
    };
    let vals = r[..end]
        .split_whitespace()
        .map(parse_float)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((vals, &r[end + 1..]))
}

/// Parses the inside of `{{ ... }}`; returns the histogram and whether the
/// counter-reset hint was given explicitly.
pub fn parse_histogram(s: &str) -> Result<(FloatHistogram, bool), SeriesError> {
    let mut h = FloatHistogram::default();
    let mut rest = s.trim();
    let mut seen: Vec<String> = Vec::new();
    let mut pos_buckets: Option<Vec<f64>> = None;
    let mut neg_buckets: Option<Vec<f64>> = None;
    let mut offset = 0i32;
    let mut n_offset = 0i32;
    let mut hint_given = false;
    while !rest.is_empty() {
        let Some(colon) = rest.find(':') else {
            return err(format!("invalid histogram field {rest:?}"));
        };
        let key = rest[..colon].trim().to_string();
        if seen.contains(&key) {
            return err(format!("duplicate key \"{key}\" in histogram"));
        }
        seen.push(key.clone());
        let after = rest[colon + 1..].trim_start();
        match key.as_str() {
            "buckets" | "n_buckets" | "custom_values" => {
                let (vals, r) = parse_bucket_list(after)?;
                match key.as_str() {
                    "buckets" => pos_buckets = Some(vals),
                    "n_buckets" => neg_buckets = Some(vals),
                    _ => h.custom_values = vals,
                }
                rest = r.trim_start();
                continue;
            }
            _ => {}
        }
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        let v = &after[..end];
        rest = after[end..].trim_start();
        match key.as_str() {
            "schema" => h.schema = parse_int(v)?,
            "sum" => h.sum = parse_float(v)?,
            "count" => h.count = parse_float(v)?,
            "z_bucket" => h.zero_count = parse_float(v)?,
            "z_bucket_w" => h.zero_threshold = parse_float(v)?,
            "offset" => offset = parse_int(v)?,
            "n_offset" => n_offset = parse_int(v)?,
            "counter_reset_hint" => {
                hint_given = true;
                h.counter_reset_hint = match v {
                    "unknown" => CounterResetHint::Unknown,
                    "reset" => CounterResetHint::CounterReset,
                    "not_reset" => CounterResetHint::NotCounterReset,
                    "gauge" => CounterResetHint::Gauge,
                    _ => return err(format!("invalid counter reset hint {v:?}")),
                }
            }
            _ => return err(format!("unknown histogram field {key:?}")),
        }
    }
    if let Some(b) = pos_buckets {
        let pairs: Vec<(i32, f64)> = b
            .iter()
            .enumerate()
            .map(|(i, c)| (offset + i as i32, *c))
            .collect();
        (h.positive_spans, h.positive_buckets) = hist::build(&pairs, false);
    }
    if let Some(b) = neg_buckets {
        let pairs: Vec<(i32, f64)> = b
            .iter()
            .enumerate()
            .map(|(i, c)| (n_offset + i as i32, *c))
            .collect();
        (h.negative_spans, h.negative_buckets) = hist::build(&pairs, false);
    }
    Ok((h, hint_given))
}

fn parse_int(s: &str) -> Result<i32, SeriesError> {
    s.parse::<i32>()
        .map_err(|_| SeriesError(format!("invalid integer {s:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn floats(v: &[SeqValue]) -> Vec<Option<f64>> {
        v.iter()
            .map(|x| match x {
                SeqValue::Float(f) => Some(*f),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn expansion_counts() {
        let (l, v) = parse_series_line("m{a=\"b\"} 1+1x3 _x2 stale").unwrap();
        assert_eq!(l.to_string(), r#"{__name__="m", a="b"}"#);
        assert_eq!(v.len(), 7);
        assert_eq!(
            floats(&v[..4]),
            vec![Some(1.0), Some(2.0), Some(3.0), Some(4.0)]
        );
        assert_eq!(v[4], SeqValue::Gap);
        assert_eq!(v[6], SeqValue::Stale);
    }

    #[test]
    fn negative_increment_and_exponent() {
        let (_, v) = parse_series_line("m 10-2x2 1e-3 -Inf").unwrap();
        assert_eq!(floats(&v)[..3], [Some(10.0), Some(8.0), Some(6.0)]);
        assert_eq!(floats(&v)[3], Some(1e-3));
        assert_eq!(floats(&v)[4], Some(f64::NEG_INFINITY));
    }

    #[test]
    fn quoted_metric_name_and_trailing_comma() {
        let (l, _) = parse_series_line(r#"{"a.b", x="y",} 1"#).unwrap();
        assert_eq!(l.metric_name(), Some("a.b"));
        assert_eq!(l.get("x"), Some("y"));
    }

    #[test]
    fn histogram_series() {
        let (_, v) = parse_series_line(
            "h {{schema:0 sum:4 count:4 buckets:[1 2 1]}}+{{sum:2 count:1 buckets:[1] offset:1}}x2",
        )
        .unwrap();
        assert_eq!(v.len(), 3);
        let SeqValue::Histogram(h, hint) = &v[2] else {
            panic!()
        };
        assert!(!hint);
        assert_eq!(h.count, 6.0);
        assert_eq!(
            hist::expand(&h.positive_spans, &h.positive_buckets),
            vec![(0, 1.0), (1, 4.0), (2, 1.0)]
        );
    }
}
