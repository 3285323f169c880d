//! Number and duration literals: parsing with Go's rules and error texts,
//! and formatting the way Prometheus prints them.

use crate::parser::ast::Duration;
use crate::parser::quote::go_quote_str;

/// Whether `_` separators are placed as Go allows: only between digits, or
/// between a base prefix and a digit.
fn underscores_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    // Optional sign.
    if matches!(b.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    let mut hex = false;
    // 'saw' tracks the previous class: '^' start, '0' digit or prefix,
    // '_' underscore, '!' anything else.
    let mut saw = '^';
    if b.len() >= i + 2 && b[i] == b'0' && matches!(b[i + 1] | 0x20, b'x' | b'o' | b'b') {
        hex = (b[i + 1] | 0x20) == b'x';
        i += 2;
        saw = '0';
    }
    while i < b.len() {
        let c = b[i];
        let is_digit = c.is_ascii_digit() || (hex && c.is_ascii_hexdigit());
        if is_digit {
            saw = '0';
        } else if c == b'_' {
            if saw != '0' {
                return false;
            }
            saw = '_';
        } else {
            if saw == '_' {
                return false;
            }
            saw = '!';
        }
        i += 1;
    }
    saw != '_'
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
fn go_parse_int(s: &str) -> Option<i64> {
    if s.contains('_') && !underscores_ok(s) {
        return None;
    }
    let clean: String = s.chars().filter(|&c| c != '_').collect();
    let (neg, body) = match clean.as_bytes().first() {
        Some(b'-') => (true, &clean[1..]),
        Some(b'+') => (false, &clean[1..]),
        _ => (false, clean.as_str()),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let mag = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        if mag <= i64::MAX as u64 + 1 {
            Some((mag as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else {
        i64::try_from(mag).ok()
    }
}

/// Why a float did not parse, in Go's words.
enum FloatErr {
    Syntax,
    Range,
}

/// Go's `strconv.ParseFloat(s, 64)` for the inputs the lexer can produce
/// (decimal, `Inf`/`NaN`, hex forms which need a `p` exponent).
fn go_parse_float(s: &str) -> Result<f64, FloatErr> {
    let lower = s.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    if matches!(unsigned, "inf" | "infinity" | "nan") {
        return lower.parse::<f64>().map_err(|_| FloatErr::Syntax);
    }
    if s.contains('_') && !underscores_ok(s) {
        return Err(FloatErr::Syntax);
    }
    let clean: String = s.chars().filter(|&c| c != '_').collect();
    let body = clean.trim_start_matches(['+', '-']);
    if body.len() >= 2 && body.as_bytes()[0] == b'0' && (body.as_bytes()[1] | 0x20) == b'x' {
        return parse_hex_float(&clean).ok_or(FloatErr::Syntax);
    }
    // Rust accepts the same decimal syntax except for a few spellings Go
    // rejects; the lexer never produces those.
    if !body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return Err(FloatErr::Syntax);
    }
    let v: f64 = clean.parse().map_err(|_| FloatErr::Syntax)?;
    if v.is_infinite() {
        return Err(FloatErr::Range);
    }
    Ok(v)
}

/// Hex float `0x1.8p3` (Go requires the `p` exponent).
fn parse_hex_float(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let body = body.get(2..)?;
    let (mant, exp) = body.split_once(['p', 'P'])?;
    let exp: i32 = exp.parse().ok()?;
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int_part.chars() {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        v += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    let v = v * 2f64.powi(exp);
    Some(if neg { -v } else { v })
}

/// Parses a number token like upstream: integer syntax first (hex, octal,
/// underscores), then float syntax. The error text is upstream's.
pub fn parse_number(text: &str) -> Result<f64, String> {
    if let Some(i) = go_parse_int(text) {
        return Ok(i as f64);
    }
    match go_parse_float(text) {
        Ok(v) => Ok(v),
        Err(FloatErr::Syntax) => Err(format!(
            "error parsing number: strconv.ParseFloat: parsing {}: invalid syntax",
            go_quote_str(text)
        )),
        Err(FloatErr::Range) => Err(format!(
            "error parsing number: strconv.ParseFloat: parsing {}: value out of range",
            go_quote_str(text)
        )),
    }
}

const NANOS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3600 * 1_000_000_000),
    ("w", 7 * 24 * 3600 * 1_000_000_000),
    ("d", 24 * 3600 * 1_000_000_000),
    ("h", 3600 * 1_000_000_000),
    ("m", 60 * 1_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
];

/// Parses a duration literal (`1h30m`) like Prometheus' `ParseDuration`,
/// with its error texts.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if s == "0" {
        return Ok(Duration(0));
    }
    if s.is_empty() {
        return Err("empty duration string".into());
    }
    let invalid = || format!("not a valid duration string: {}", go_quote_str(s));
    let b = s.as_bytes();
    let mut i = 0;
    let mut last_unit = 0usize;
    let mut total: u64 = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(invalid());
        }
        let v: u64 = s[start..i].parse().map_err(|_| invalid())?;
        let ustart = i;
        while i < b.len() && !b[i].is_ascii_digit() {
            i += 1;
        }
        if i == ustart {
            return Err(invalid());
        }
        let unit = &s[ustart..i];
        let Some(idx) = NANOS.iter().position(|(u, _)| *u == unit) else {
            return Err(format!(
                "unknown unit {} in duration {}",
                go_quote_str(unit),
                go_quote_str(s)
            ));
        };
        let pos = idx + 1;
        if pos <= last_unit {
            return Err(invalid());
        }
        last_unit = pos;
        let mult = NANOS[idx].1;
        if v > (1u64 << 63) / mult {
            return Err("duration out of range".into());
        }
        total = total
            .checked_add(v * mult)
            .filter(|t| *t <= i64::MAX as u64)
            .ok_or_else(|| "duration out of range".to_string())?;
    }
    Ok(Duration(total as i64))
}

/// Converts seconds to a [`Duration`] the way upstream does
/// (`time.Duration(math.Round(s * 1e9))`), saturating at the ends.
pub fn seconds_to_duration(seconds: f64) -> Duration {
    let ns = (seconds * 1e9).round();
    if ns.is_nan() {
        Duration(0)
    } else if ns >= i64::MAX as f64 {
        Duration(i64::MAX)
    } else if ns <= i64::MIN as f64 {
        Duration(i64::MIN)
    } else {
        Duration(ns as i64)
    }
}

/// Whether a duration literal in seconds is outside Go's `time.Duration`
/// (or NaN).
pub fn duration_out_of_range(seconds: f64) -> bool {
    // 2^63 nanoseconds, in seconds, as upstream computes it. NaN counts as
    // out of range (upstream lets it through and ends up with a garbage
    // duration that does not print back).
    let limit = 9_223_372_036_854_775_808.0 / 1e9;
    !(-limit..=limit).contains(&seconds)
}

/// Formats a non-negative duration the way Prometheus' `model.Duration`
/// does (`1h30m`, `90d`, `0s`). Durations that are not whole milliseconds
/// are printed as seconds so that printing and parsing round-trip exactly
/// (upstream would drop the sub-millisecond part).
pub fn format_duration(d: Duration) -> String {
    let ns = d.0;
    if ns % Duration::NANOS_PER_MILLI != 0 {
        return format_float(d.seconds());
    }
    let mut ms = ns / Duration::NANOS_PER_MILLI;
    if ms == 0 {
        return "0s".into();
    }
    let neg = ms < 0;
    if neg {
        ms = -ms;
    }
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    let units: [(&str, i64, bool); 7] = [
        ("y", 1000 * 60 * 60 * 24 * 365, true),
        ("w", 1000 * 60 * 60 * 24 * 7, true),
        ("d", 1000 * 60 * 60 * 24, false),
        ("h", 1000 * 60 * 60, false),
        ("m", 1000 * 60, false),
        ("s", 1000, false),
        ("ms", 1, false),
    ];
    for (unit, mult, exact) in units {
        if exact && ms % mult != 0 {
            continue;
        }
        let v = ms / mult;
        if v > 0 {
            out.push_str(&v.to_string());
            out.push_str(unit);
            ms -= v * mult;
        }
    }
    out
}

/// Formats a float like Go's `%v` (`strconv.FormatFloat(f, 'g', -1, 64)`
/// with fmt's `+Inf`): shortest round-tripping digits, exponent form when
/// the decimal exponent is below -4 or at least 6.
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-tripping digits.
    let sci = format!("{f:e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

/// Formats a float like Go's `strconv.FormatFloat(f, 'f', -1, 64)`:
/// shortest round-tripping digits, never an exponent, `+Inf`/`-Inf`/`NaN`.
pub fn format_float_fixed(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    // Rust's Display is shortest round-trip without an exponent.
    format!("{f}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("0755").unwrap(), 493.0);
        assert_eq!(parse_number("0xc").unwrap(), 12.0);
        assert_eq!(parse_number("1_000").unwrap(), 1000.0);
        assert_eq!(parse_number("08").unwrap(), 8.0);
        assert_eq!(parse_number("5.").unwrap(), 5.0);
        assert_eq!(parse_number(".5").unwrap(), 0.5);
        assert!(parse_number("Inf").unwrap().is_infinite());
        assert!(parse_number("nan").unwrap().is_nan());
        assert_eq!(
            parse_number("1__0").unwrap_err(),
            "error parsing number: strconv.ParseFloat: parsing \"1__0\": invalid syntax"
        );
        assert!(parse_number(&"9".repeat(400))
            .unwrap_err()
            .ends_with("value out of range"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m").unwrap().millis(), 5_400_000);
        assert_eq!(parse_duration("1m30ms").unwrap().millis(), 60_030);
        assert_eq!(
            parse_duration("5m1h").unwrap_err(),
            "not a valid duration string: \"5m1h\""
        );
        assert_eq!(
            parse_duration("5y1hs").unwrap_err(),
            "unknown unit \"hs\" in duration \"5y1hs\""
        );
        assert_eq!(
            parse_duration("999999999y").unwrap_err(),
            "duration out of range"
        );
        assert_eq!(format_duration(Duration::from_millis(5_400_000)), "1h30m");
        assert_eq!(format_duration(Duration::from_millis(0)), "0s");
        assert_eq!(format_duration(Duration::from_millis(4018)), "4s18ms");
        assert_eq!(format_duration(Duration(1_500_000)), "0.0015");
    }

    #[test]
    fn floats_like_go() {
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(-0.5), "-0.5");
        assert_eq!(format_float(1e6), "1e+06");
        assert_eq!(format_float(123456.0), "123456");
        assert_eq!(format_float(1234567.0), "1.234567e+06");
        assert_eq!(format_float(0.0001), "0.0001");
        assert_eq!(format_float(0.00001), "1e-05");
        assert_eq!(format_float(f64::INFINITY), "+Inf");
        assert_eq!(format_float_fixed(1e6), "1000000");
        assert_eq!(format_float_fixed(1e-7), "0.0000001");
        assert_eq!(format_float_fixed(-0.0), "-0");
        assert_eq!(format_float_fixed(0.1 + 0.2), "0.30000000000000004");
    }
}
