//! Scalar config types: the two duration grammars Alertmanager uses and
//! secrets that print as `<secret>`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Prometheus-style duration (`30s`, `1d12h`), kept in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct ModelDuration(pub i64);

impl ModelDuration {
    /// As a std duration (negative values clamp to zero; the grammar has none).
    pub fn std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0.max(0) as u64)
    }

    /// Builds from whole seconds.
    pub const fn secs(s: i64) -> Self {
        ModelDuration(s * 1000)
    }
}

impl fmt::Display for ModelDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&lookout_model::format_duration(self.0))
    }
}

impl Serialize for ModelDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ModelDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        lookout_model::parse_duration(&s)
            .map(ModelDuration)
            .map_err(|_| serde::de::Error::custom(format!("not a valid duration string: {s:?}")))
    }
}

/// A Go `time.Duration` as written for `time.ParseDuration` (`90s`, `1m30s`,
/// `1.5h`), kept in nanoseconds. Pushover's `retry`/`expire`/`ttl` use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct GoDuration(pub i64);

impl GoDuration {
    /// Whole seconds, truncated like Go's `int64(d.Seconds())`.
    pub fn whole_seconds(self) -> i64 {
        self.0 / 1_000_000_000
    }
}

/// Parses Go's duration grammar: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+` with units
/// ns, us, µs, ms, s, m, h; a bare `0` is allowed.
pub fn parse_go_duration(input: &str) -> Result<i64, String> {
    let err = || format!("time: invalid duration {}", go_quote_simple(input));
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
                    go_quote_simple(input)
                ))
            }
            u => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    go_quote_simple(u),
                    go_quote_simple(input)
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

fn go_quote_simple(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Formats like Go's `time.Duration.String()`: `1h0m0s`, `1m30s`, `1.5s`,
/// `500ms`, `0s`.
pub fn format_go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let neg = ns < 0;
    let u = ns.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        // Sub-second: pick ns, µs or ms with a fractional part.
        let (unit, div) = if u < 1_000 {
            ("ns", 1u64)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&frac(u, div));
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
        out.push_str(&frac(sec_ns, 1_000_000_000));
        out.push('s');
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

fn frac(v: u64, div: u64) -> String {
    let whole = v / div;
    let rem = v % div;
    if rem == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{rem:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_go_duration(self.0))
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_go_duration(&s)
            .map(GoDuration)
            .map_err(serde::de::Error::custom)
    }
}

/// A secret string: read from config, printed as `<secret>` whenever the
/// config is serialised (API `config.original`, `config show`).
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    /// The plain value.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether unset.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<secret>")
    }
}

/// Skips `false` when serialising.
pub fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
