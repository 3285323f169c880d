//! Number syntax: Go-compatible float parsing and formatting, OpenMetrics
//! second timestamps to exact milliseconds.

/// NaN as Go's `math.NaN()` produces it (and Prometheus stores it). Parsing
/// `NaN` yields these bits so imported data matches Prometheus' bit for bit.
pub const GO_NAN_BITS: u64 = 0x7ff8_0000_0000_0001;

/// Parses a sample value like Go's `strconv.ParseFloat(s, 64)` as the
/// Prometheus parsers use it: decimal and exponent forms, `Inf`/`Infinity`
/// and `NaN` in any case with an optional sign; hexadecimal floats and `_`
/// separators are rejected. The error text is upstream's.
pub fn parse_go_float(tok: &[u8]) -> Result<f64, String> {
    let s = std::str::from_utf8(tok).map_err(|_| invalid_syntax(tok))?;
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    if unsigned.eq_ignore_ascii_case("nan") {
        return Ok(f64::from_bits(GO_NAN_BITS));
    }
    if unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity") {
        return Ok(if s.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if tok.contains(&b'_') || unsigned.starts_with("0x") || unsigned.starts_with("0X") {
        return Err("unsupported character in float".into());
    }
    if !tok
        .iter()
        .all(|&c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return Err(invalid_syntax(tok));
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_infinite() => Err(format!(
            "strconv.ParseFloat: parsing {:?}: value out of range",
            s
        )),
        Ok(v) => Ok(v),
        Err(_) => Err(invalid_syntax(tok)),
    }
}

fn invalid_syntax(tok: &[u8]) -> String {
    format!(
        "strconv.ParseFloat: parsing {:?}: invalid syntax",
        String::from_utf8_lossy(tok)
    )
}

/// Parses an OpenMetrics timestamp (seconds, decimal, optional exponent) to
/// milliseconds, truncating toward zero, computed exactly in decimal so
/// `1795773600.123` is 1795773600123 (float64 arithmetic can give …122).
/// `None` for malformed, non-finite or out-of-range input.
pub fn parse_om_timestamp_ms(tok: &[u8]) -> Option<i64> {
    let (neg, body) = match tok.first()? {
        b'-' => (true, tok.get(1..)?),
        b'+' => (false, tok.get(1..)?),
        _ => (false, tok),
    };
    let (mantissa, exp) = match body.iter().position(|&c| c == b'e' || c == b'E') {
        Some(i) => {
            let e = std::str::from_utf8(body.get(i + 1..)?).ok()?;
            if e.is_empty() {
                return None;
            }
            (body.get(..i)?, e.parse::<i32>().ok()?)
        }
        None => (body, 0),
    };
    let (int_part, frac_part) = match mantissa.iter().position(|&c| c == b'.') {
        Some(i) => (mantissa.get(..i)?, mantissa.get(i + 1..)?),
        None => (mantissa, &[][..]),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part.iter().chain(frac_part).all(u8::is_ascii_digit) {
        return None;
    }
    // Digits without leading zeros; `point` = digits before the decimal point.
    let all: Vec<u8> = int_part.iter().chain(frac_part).copied().collect();
    let lead = all.iter().take_while(|&&c| c == b'0').count();
    let digits = all.get(lead..)?;
    let point = int_part.len() as i64 - lead as i64 + exp as i64 + 3; // +3: seconds → ms
    if digits.is_empty() || point <= 0 {
        return Some(0);
    }
    if point > 19 {
        return None;
    }
    let mut v: i128 = 0;
    for i in 0..point as usize {
        v = v * 10 + digits.get(i).map_or(0, |d| (d - b'0') as i128);
    }
    let v = if neg { -v } else { v };
    i64::try_from(v).ok()
}

/// Formats a float like Go's `strconv.FormatFloat(v, 'g', -1, 64)`, which
/// Prometheus' text writers and `promtool tsdb dump` use: shortest
/// round-trip digits, exponent form (`1e+06`, `2.5e-07`) when the decimal
/// exponent is < -4 or ≥ 6, and `+Inf`, `-Inf`, `NaN` for the specials.
pub fn format_go_float(v: f64) -> String {
    let mut s = String::new();
    push_go_float(&mut s, v);
    s
}

/// Appends [`format_go_float`]'s output to `out`.
pub fn push_go_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
        return;
    }
    if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
        return;
    }
    if v == 0.0 {
        out.push_str(if v.is_sign_negative() { "-0" } else { "0" });
        return;
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.2345e-7".
    let sci = format!("{v:e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    if neg {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
        return;
    }
    let nd = digits.len() as i32;
    let dp = exp + 1; // digits before the decimal point
    if dp <= 0 {
        out.push_str("0.");
        for _ in 0..-dp {
            out.push('0');
        }
        out.push_str(&digits);
    } else if dp >= nd {
        out.push_str(&digits);
        for _ in 0..dp - nd {
            out.push('0');
        }
    } else {
        let (a, b) = digits.split_at(dp as usize);
        out.push_str(a);
        out.push('.');
        out.push_str(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_formatting() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (0.5, "0.5"),
            (123456.0, "123456"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (1.6670248e10, "1.6670248e+10"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5e-7, "-2.5e-07"),
            (1e100, "1e+100"),
            (12345.67, "12345.67"),
            (-0.0, "-0"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
        ];
        for (v, want) in cases {
            assert_eq!(format_go_float(*v), *want, "{v}");
        }
        assert_eq!(format_go_float(f64::NAN), "NaN");
        assert_eq!(format_go_float(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn go_float_parsing() {
        assert_eq!(parse_go_float(b"1.5").unwrap(), 1.5);
        assert_eq!(parse_go_float(b"-Inf").unwrap(), f64::NEG_INFINITY);
        assert_eq!(parse_go_float(b"+inf").unwrap(), f64::INFINITY);
        assert_eq!(parse_go_float(b"Infinity").unwrap(), f64::INFINITY);
        assert_eq!(parse_go_float(b"NaN").unwrap().to_bits(), GO_NAN_BITS);
        assert_eq!(parse_go_float(b"1e-3").unwrap(), 0.001);
        assert_eq!(parse_go_float(b".5").unwrap(), 0.5);
        assert_eq!(
            parse_go_float(b"1_2").unwrap_err(),
            "unsupported character in float"
        );
        assert_eq!(
            parse_go_float(b"0x1p-3").unwrap_err(),
            "unsupported character in float"
        );
        assert_eq!(
            parse_go_float(b"true").unwrap_err(),
            "strconv.ParseFloat: parsing \"true\": invalid syntax"
        );
        assert!(parse_go_float(b"1e999")
            .unwrap_err()
            .contains("out of range"));
        assert!(parse_go_float(b"").is_err());
        assert!(parse_go_float(b"--1").is_err());
    }

    #[test]
    fn om_timestamps_are_exact() {
        assert_eq!(
            parse_om_timestamp_ms(b"1795773600.123"),
            Some(1_795_773_600_123)
        );
        assert_eq!(
            parse_om_timestamp_ms(b"1795773600.1235"),
            Some(1_795_773_600_123)
        );
        assert_eq!(
            parse_om_timestamp_ms(b"1795773600"),
            Some(1_795_773_600_000)
        );
        assert_eq!(parse_om_timestamp_ms(b"-1.2345"), Some(-1234));
        assert_eq!(parse_om_timestamp_ms(b"1.5e3"), Some(1_500_000));
        assert_eq!(parse_om_timestamp_ms(b"1e-4"), Some(0));
        assert_eq!(parse_om_timestamp_ms(b"000123.4"), Some(123_400));
        assert_eq!(parse_om_timestamp_ms(b".5"), Some(500));
        assert_eq!(parse_om_timestamp_ms(b"1e20"), None);
        assert_eq!(parse_om_timestamp_ms(b"NaN"), None);
        assert_eq!(parse_om_timestamp_ms(b"1e"), None);
        assert_eq!(parse_om_timestamp_ms(b"."), None);
        assert_eq!(parse_om_timestamp_ms(b""), None);
        assert_eq!(parse_om_timestamp_ms(b"-"), None);
    }
}
