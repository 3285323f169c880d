//! Float formatting the way Go's `strconv.FormatFloat(v, fmt, -1, 64)` writes
//! it, which is what Prometheus clients and servers put on the wire.
//!
//! Rust's `{}` and `{:e}` already produce the shortest digits that round-trip
//! (the same digits Go picks); only the layout differs: Go writes exponents
//! with a sign and at least two digits (`1e+06`, `1.5e-07`) and chooses
//! between plain and exponent layouts by its own thresholds.

/// Shortest digits of a finite, non-zero `v` as (sign, digits, exponent of
/// the first digit). `1234.5` gives `(false, "12345", 3)`.
fn shortest_digits(v: f64) -> (bool, String, i32) {
    let s = format!("{:e}", v.abs());
    // `{:e}` prints `d[.ddd]e<exp>` with a plain decimal exponent.
    let (mantissa, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    (v.is_sign_negative(), digits, exp)
}

/// Go's `%e` layout for shortest digits: `d.ddde±XX`.
fn write_exponent(neg: bool, digits: &str, exp: i32, out: &mut String) {
    if neg {
        out.push('-');
    }
    let mut chars = digits.chars();
    if let Some(first) = chars.next() {
        out.push(first);
    }
    let rest = chars.as_str();
    if !rest.is_empty() {
        out.push('.');
        out.push_str(rest);
    }
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    out.push_str(&e.to_string());
}

/// Appends `v` formatted like Go's `strconv.FormatFloat(v, 'f', -1, 64)`
/// (plain decimal, shortest round-trip digits) without the special-value
/// spelling: NaN and infinities are written as Go does (`NaN`, `+Inf`, `-Inf`).
pub fn write_go_f(v: f64, out: &mut String) {
    if write_special(v, out) {
        return;
    }
    // Rust's Display for f64 is exactly the shortest round-trip digits laid
    // out without an exponent, including `-0` for negative zero.
    use std::fmt::Write;
    let _ = write!(out, "{v}");
}

/// Appends `v` formatted like Go's `strconv.FormatFloat(v, 'e', -1, 64)`.
pub fn write_go_e(v: f64, out: &mut String) {
    if write_special(v, out) {
        return;
    }
    if v == 0.0 {
        out.push_str(if v.is_sign_negative() {
            "-0e+00"
        } else {
            "0e+00"
        });
        return;
    }
    let (neg, digits, exp) = shortest_digits(v);
    write_exponent(neg, &digits, exp, out);
}

/// Appends `v` formatted like Go's `strconv.FormatFloat(v, 'g', -1, 64)`,
/// the layout of Prometheus' text exposition format (`1.234567e+06`).
pub fn write_go_g(v: f64, out: &mut String) {
    if write_special(v, out) {
        return;
    }
    if v == 0.0 {
        out.push_str(if v.is_sign_negative() { "-0" } else { "0" });
        return;
    }
    let (neg, digits, exp) = shortest_digits(v);
    if go_g_uses_exponent(exp) {
        write_exponent(neg, &digits, exp, out);
    } else {
        write_go_f(v, out);
    }
}

/// Go's rule for shortest `'g'`: the exponent layout is used when the
/// decimal exponent of the first digit is below -4 or at least 6 (for
/// shortest formatting Go fixes the precision used in this decision at 6,
/// whatever the digit count).
fn go_g_uses_exponent(exp: i32) -> bool {
    !(-4..6).contains(&exp)
}

/// Prometheus' JSON sample-value layout (`util/jsonutil`): Go's `'e'` layout
/// when |v| < 1e-6 or |v| >= 1e21 (v ≠ 0), `'f'` otherwise.
pub fn write_prom_json_value(v: f64, out: &mut String) {
    if write_special(v, out) {
        return;
    }
    let a = v.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        write_go_e(v, out);
    } else {
        write_go_f(v, out);
    }
}

/// Writes NaN / ±Inf the way Go and Prometheus spell them; returns whether
/// `v` was special.
fn write_special(v: f64, out: &mut String) -> bool {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        return false;
    }
    true
}

/// Convenience: Go `'g'` formatting into a new string.
pub fn go_g(v: f64) -> String {
    let mut s = String::new();
    write_go_g(v, &mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: f64) -> String {
        let mut s = String::new();
        write_go_f(v, &mut s);
        s
    }
    fn e(v: f64) -> String {
        let mut s = String::new();
        write_go_e(v, &mut s);
        s
    }
    fn j(v: f64) -> String {
        let mut s = String::new();
        write_prom_json_value(v, &mut s);
        s
    }

    #[test]
    fn f_layout_matches_go() {
        assert_eq!(f(2.0), "2");
        assert_eq!(f(0.1), "0.1");
        assert_eq!(f(1234567.0), "1234567");
        assert_eq!(f(1e-7), "0.0000001");
        assert_eq!(f(-0.0), "-0");
        assert_eq!(f(1e21), "1000000000000000000000");
        assert_eq!(f(f64::NAN), "NaN");
        assert_eq!(f(f64::INFINITY), "+Inf");
        assert_eq!(f(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn e_layout_matches_go() {
        assert_eq!(e(1.0), "1e+00");
        assert_eq!(e(42.0), "4.2e+01");
        assert_eq!(e(1e-7), "1e-07");
        assert_eq!(e(1.5e300), "1.5e+300");
        assert_eq!(e(0.0), "0e+00");
        assert_eq!(e(-123.456), "-1.23456e+02");
    }

    #[test]
    fn g_layout_matches_go() {
        assert_eq!(go_g(1.0), "1");
        assert_eq!(go_g(100000.0), "100000");
        assert_eq!(go_g(1234567.0), "1.234567e+06");
        assert_eq!(go_g(1e6), "1e+06");
        assert_eq!(go_g(0.0001), "0.0001");
        assert_eq!(go_g(0.00001), "1e-05");
        assert_eq!(go_g(1.7e9), "1.7e+09");
        assert_eq!(go_g(-2.5), "-2.5");
    }

    #[test]
    fn prometheus_json_switches_at_1e21_and_1e_minus_6() {
        assert_eq!(j(1.0), "1");
        assert_eq!(j(1e-7), "1e-07");
        assert_eq!(j(1e-6), "0.000001");
        assert_eq!(j(1e21), "1e+21");
        assert_eq!(j(1e20), "100000000000000000000");
        assert_eq!(j(0.0), "0");
        assert_eq!(j(-0.0), "-0");
    }
}
