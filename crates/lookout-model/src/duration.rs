//! Durations in the two grammars configs use.
//!
//! - Prometheus-style (`1y2w3d4h5m6s7ms`, units in that order, each at most
//!   once, integers only, `0` alone accepted), kept in milliseconds:
//!   [`parse_duration`], [`format_duration`].
//! - Go's `time.Duration` (`1m30s`, `1.5h`, `250ms`), kept in nanoseconds:
//!   [`parse_go_duration`], [`format_go_duration`]. Alertmanager's Pushover
//!   `retry`/`expire`/`ttl` and Go templates' `time.Duration` values use it.

/// A string that is not a valid duration.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum DurationError {
    /// The text does not follow the duration grammar.
    #[error("not a valid duration string: {0:?}")]
    Invalid(String),
    /// The value does not fit in an i64 of milliseconds.
    #[error("duration out of range")]
    OutOfRange,
}

const UNITS: [(&str, i64); 7] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

/// Parses a Prometheus duration into milliseconds.
pub fn parse_duration(s: &str) -> Result<i64, DurationError> {
    let invalid = || DurationError::Invalid(s.to_string());
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let bytes = s.as_bytes();
    let mut pos = 0;
    let mut next_unit = 0; // index into UNITS of the smallest unit still allowed
    let mut total: i64 = 0;
    while pos < bytes.len() {
        let start = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        if pos == start {
            return Err(invalid());
        }
        let n: i64 = s[start..pos]
            .parse()
            .map_err(|_| DurationError::OutOfRange)?;
        let ustart = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_alphabetic() {
            pos += 1;
        }
        let unit = &s[ustart..pos];
        let idx = UNITS
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(invalid)?;
        if idx < next_unit {
            return Err(invalid());
        }
        next_unit = idx + 1;
        let ms = n
            .checked_mul(UNITS[idx].1)
            .and_then(|v| total.checked_add(v))
            .ok_or(DurationError::OutOfRange)?;
        total = ms;
    }
    Ok(total)
}

/// Formats milliseconds the way Prometheus prints durations (`1h30m`, `90d`,
/// `0s`); years and weeks are used only when they divide exactly.
pub fn format_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let (sign, mut rest) = if ms < 0 {
        ("-", ms.unsigned_abs())
    } else {
        ("", ms as u64)
    };
    let mut out = String::from(sign);
    for (i, (unit, mult)) in UNITS.iter().enumerate() {
        let mult = *mult as u64;
        let exact_only = i < 2;
        if exact_only && rest % mult != 0 {
            continue;
        }
        let v = rest / mult;
        if v > 0 {
            out.push_str(&v.to_string());
            out.push_str(unit);
            rest -= v * mult;
        }
    }
    out
}

/// Parses Go's `time.ParseDuration` grammar,
/// `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+` with units ns, us, µs, ms, s, m, h (a bare
/// `0` is allowed), into nanoseconds. Errors use Go's wording.
pub fn parse_go_duration(input: &str) -> Result<i64, String> {
    let err = || format!("time: invalid duration {}", go_quote(input));
    let mut s = input;
    let mut neg = false;
    if let Some(r) = s.strip_prefix('-') {
        neg = true;
        s = r;
    } else if let Some(r) = s.strip_prefix('+') {
        s = r;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(err());
    }
    let mut total: f64 = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(err());
        }
        rest = &rest[num_len..];
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let mult: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => {
                return Err(format!(
                    "time: missing unit in duration {}",
                    go_quote(input)
                ))
            }
            u => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    go_quote(u),
                    go_quote(input)
                ))
            }
        };
        let v: f64 = num.parse().map_err(|_| err())?;
        total += v * mult;
    }
    if total > i64::MAX as f64 {
        return Err(err());
    }
    let ns = total.round() as i64;
    Ok(if neg { -ns } else { ns })
}

/// Go's `%q` for the plain strings duration errors quote.
fn go_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Formats nanoseconds like Go's `time.Duration.String()`: `1h0m0s`,
/// `1m30s`, `1.5s`, `500ms`, `-1µs`, `0s`.
pub fn format_go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let u = ns.unsigned_abs();
    let mut out = String::new();
    if ns < 0 {
        out.push('-');
    }
    if u < 1_000_000_000 {
        // Sub-second: ns, µs or ms with a fractional part.
        let (unit, div) = if u < 1_000 {
            ("ns", 1u64)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&decimal(u, div));
        out.push_str(unit);
    } else {
        let h = u / 3_600_000_000_000;
        let rem = u % 3_600_000_000_000;
        let m = rem / 60_000_000_000;
        let sec_ns = rem % 60_000_000_000;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&decimal(sec_ns, 1_000_000_000));
        out.push('s');
    }
    out
}

/// `v / div` in decimal without trailing zeros (`div` is a power of ten).
fn decimal(v: u64, div: u64) -> String {
    let whole = v / div;
    let rem = v % div;
    if rem == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{rem:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compound_durations() {
        assert_eq!(parse_duration("1h30m").unwrap(), 90 * 60 * 1000);
        assert_eq!(parse_duration("5m").unwrap(), 300_000);
        assert_eq!(parse_duration("1y").unwrap(), 365 * 86_400_000);
        assert_eq!(parse_duration("100ms").unwrap(), 100);
        assert_eq!(parse_duration("0").unwrap(), 0);
        assert_eq!(parse_duration("0s").unwrap(), 0);
    }

    #[test]
    fn rejects_bad_orders_and_units() {
        for bad in ["", "m", "5", "1m1h", "1.5h", "5x", "1h1h", "-1m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_duration("abc").unwrap_err().to_string(),
            "not a valid duration string: \"abc\""
        );
    }

    #[test]
    fn formats_like_prometheus() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(90 * 60 * 1000), "1h30m");
        assert_eq!(format_duration(90 * 86_400_000), "90d");
        assert_eq!(format_duration(14 * 86_400_000), "2w");
        assert_eq!(format_duration(1500), "1s500ms");
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("90s").unwrap(), 90_000_000_000);
        assert_eq!(parse_go_duration("1m30s").unwrap(), 90_000_000_000);
        assert_eq!(parse_go_duration("1.5h").unwrap(), 5_400_000_000_000);
        assert_eq!(parse_go_duration("0").unwrap(), 0);
        assert_eq!(
            parse_go_duration("1d").unwrap_err(),
            r#"time: unknown unit "d" in duration "1d""#
        );
        assert!(parse_go_duration("").is_err());
        assert!(parse_go_duration("5").is_err());
        assert_eq!(format_go_duration(60_000_000_000), "1m0s");
        assert_eq!(format_go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(format_go_duration(90_000_000_000), "1m30s");
        assert_eq!(format_go_duration(1_500_000_000), "1.5s");
        assert_eq!(format_go_duration(500_000_000), "500ms");
        assert_eq!(format_go_duration(0), "0s");
        assert_eq!(format_go_duration(7_200_000_000_000), "2h0m0s");
        assert_eq!(format_go_duration(3_723_500_000_000), "1h2m3.5s");
        assert_eq!(format_go_duration(1_500_000), "1.5ms");
        assert_eq!(format_go_duration(-1_000), "-1µs");
    }
}
