//! A small JSON writer producing byte-for-byte what Prometheus' encoder
//! produces for query results: values as Go-formatted strings, timestamps as
//! seconds with exactly three decimals, Go's HTML-safe string escaping.
//!
//! Hand-written instead of serde for the result bodies because the number
//! layouts are not serde's and results can hold millions of points: writing
//! straight into one buffer avoids an intermediate value tree.

use lookout_metrics::gofloat;
use lookout_model::{FloatHistogram, Labels};

/// Appends `s` as a JSON string with Go's `encoding/json` escaping (`<`, `>`,
/// `&`, U+2028 and U+2029 escaped; control characters as `\u00XX` except the
/// short forms).
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '<' => Some("\\u003c"),
            '>' => Some("\\u003e"),
            '&' => Some("\\u0026"),
            '\u{2028}' => Some("\\u2028"),
            '\u{2029}' => Some("\\u2029"),
            c if (c as u32) < 0x20 => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                use std::fmt::Write;
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Appends a sample value as a JSON string (`"1.5"`, `"NaN"`, `"+Inf"`).
pub fn write_value(out: &mut String, v: f64) {
    out.push('"');
    write_number(out, v);
    out.push('"');
}

/// Significant digits of a plain decimal (`-0.00120` → 3).
fn significant_digits(s: &str) -> usize {
    let digits = s.bytes().filter(u8::is_ascii_digit);
    digits.skip_while(|&b| b == b'0').count()
}

/// `gofloat::write_prom_json_value`'s text, faster for the common values:
/// results can hold millions of points and `core::fmt`'s float path
/// dominated range-query serialisation. Integers below 1e15 are printed as
/// integers (exact in both f64 and i64); other plain-layout magnitudes use
/// `ryu`'s shortest round-trip digits when they are at most 15 significant
/// digits laid out without an exponent: a float's round-trip interval is
/// narrower than the spacing of 15-digit decimals, so that shortest string
/// is unique and every correct formatter (Go's, `core::fmt`'s) prints it.
/// With 16–17 digits several shortest strings can exist and formatters
/// break the tie differently, so those, like NaN, ±Inf, -0 and exponent
/// layouts, go through the reference formatter.
fn write_number(out: &mut String, v: f64) {
    let a = v.abs();
    if a < 1e15 && v.fract() == 0.0 && !(v == 0.0 && v.is_sign_negative()) {
        out.push_str(itoa::Buffer::new().format(v as i64));
        return;
    }
    if (1e-4..1e15).contains(&a) {
        let mut buf = ryu::Buffer::new();
        let s = buf.format_finite(v);
        if !s.contains('e') && significant_digits(s) <= 15 {
            out.push_str(s);
            return;
        }
    }
    gofloat::write_prom_json_value(v, out);
}

/// Appends a scalar result value (always the plain `'f'` layout).
pub fn write_scalar_value(out: &mut String, v: f64) {
    out.push('"');
    gofloat::write_go_f(v, out);
    out.push('"');
}

/// Appends a millisecond timestamp as JSON seconds: the integer part and, if
/// the milliseconds are not zero, a dot and exactly three digits.
pub fn write_timestamp(out: &mut String, t_ms: i64) {
    let neg = t_ms < 0;
    let abs = t_ms.unsigned_abs();
    if neg {
        out.push('-');
    }
    out.push_str(itoa::Buffer::new().format(abs / 1000));
    let frac = abs % 1000;
    if frac != 0 {
        let digits = [
            b'.',
            b'0' + (frac / 100) as u8,
            b'0' + (frac / 10 % 10) as u8,
            b'0' + (frac % 10) as u8,
        ];
        out.push_str(std::str::from_utf8(&digits).unwrap_or(".000"));
    }
}

/// Appends a timestamp the way Go's standard encoder writes
/// `float64(ms)/1000` (scalar and string results): shortest digits.
pub fn write_float_seconds(out: &mut String, t_ms: i64) {
    let secs = t_ms as f64 / 1000.0;
    let a = secs.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        gofloat::write_go_e(secs, out);
    } else {
        gofloat::write_go_f(secs, out);
    }
}

/// Appends a label set as a JSON object (`{}` when empty).
pub fn write_labels(out: &mut String, labels: &Labels) {
    out.push('{');
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, &l.name);
        out.push(':');
        write_str(out, &l.value);
    }
    out.push('}');
}

/// Appends `[<ts>,"<value>"]`.
pub fn write_point(out: &mut String, t_ms: i64, v: f64) {
    out.push('[');
    write_timestamp(out, t_ms);
    out.push(',');
    write_value(out, v);
    out.push(']');
}

/// Appends `[<ts>,{histogram}]`.
pub fn write_histogram_point(out: &mut String, t_ms: i64, h: &FloatHistogram) {
    out.push('[');
    write_timestamp(out, t_ms);
    out.push(',');
    write_histogram(out, h);
    out.push(']');
}

/// One histogram bucket for JSON output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketOut {
    /// Prometheus' boundary rule: 0 = (lo, hi], 1 = [lo, hi), 2 = (lo, hi),
    /// 3 = [lo, hi].
    pub rule: u8,
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
    /// Count in the bucket.
    pub count: f64,
}

/// Upper bound of exponential bucket `idx` in `schema`: `2^(idx·2^-schema)`.
/// For schema ≤ 0 the bound is an exact power of two.
fn exp_bound(idx: i64, schema: i32) -> f64 {
    if schema <= 0 {
        let shift = (-schema) as u32;
        let e = idx.checked_shl(shift).unwrap_or(i64::MAX);
        return 2f64.powi(e.clamp(-2000, 2000) as i32);
    }
    // Split into whole octaves and a fraction so the fractional part is
    // computed on a small exponent (better rounding than one big powf).
    let per_octave = 1i64 << schema;
    let octave = idx.div_euclid(per_octave);
    let frac = idx.rem_euclid(per_octave);
    let f = (frac as f64 / per_octave as f64).exp2();
    f * 2f64.powi(octave.clamp(-2000, 2000) as i32)
}

/// Expands a span/bucket layout into (bucket index, count) pairs.
fn expand(spans: &[lookout_model::Span], counts: &[f64]) -> Vec<(i64, f64)> {
    let mut out = Vec::with_capacity(counts.len());
    let mut idx: i64 = 0;
    let mut it = counts.iter();
    // The first span's offset is the absolute index of its first bucket;
    // later offsets are gaps after the previous span.
    for span in spans {
        idx += span.offset as i64;
        for _ in 0..span.length {
            if let Some(c) = it.next() {
                out.push((idx, *c));
            }
            idx += 1;
        }
    }
    out
}

/// The non-empty buckets of `h` in ascending order of bounds: negative
/// buckets (most negative first), the zero bucket, positive buckets.
pub fn histogram_buckets(h: &FloatHistogram) -> Vec<BucketOut> {
    let mut out = Vec::new();
    if h.uses_custom_buckets() {
        for (idx, c) in expand(&h.positive_spans, &h.positive_buckets) {
            if c == 0.0 || idx < 0 {
                continue;
            }
            let i = idx as usize;
            let lower = if i == 0 {
                f64::NEG_INFINITY
            } else {
                h.custom_values.get(i - 1).copied().unwrap_or(f64::INFINITY)
            };
            let upper = h.custom_values.get(i).copied().unwrap_or(f64::INFINITY);
            out.push(BucketOut {
                rule: 0,
                lower,
                upper,
                count: c,
            });
        }
        return out;
    }
    let mut neg = expand(&h.negative_spans, &h.negative_buckets);
    neg.reverse();
    for (idx, c) in neg {
        if c == 0.0 {
            continue;
        }
        out.push(BucketOut {
            rule: 1,
            lower: -exp_bound(idx, h.schema),
            upper: -exp_bound(idx - 1, h.schema),
            count: c,
        });
    }
    if h.zero_count != 0.0 {
        out.push(BucketOut {
            rule: 3,
            lower: -h.zero_threshold,
            upper: h.zero_threshold,
            count: h.zero_count,
        });
    }
    for (idx, c) in expand(&h.positive_spans, &h.positive_buckets) {
        if c == 0.0 {
            continue;
        }
        out.push(BucketOut {
            rule: 0,
            lower: exp_bound(idx - 1, h.schema),
            upper: exp_bound(idx, h.schema),
            count: c,
        });
    }
    out
}

/// Appends a native histogram object: `count`, `sum` and (if any bucket is
/// populated) `buckets`.
pub fn write_histogram(out: &mut String, h: &FloatHistogram) {
    out.push_str("{\"count\":");
    write_value(out, h.count);
    out.push_str(",\"sum\":");
    write_value(out, h.sum);
    let buckets = histogram_buckets(h);
    if !buckets.is_empty() {
        out.push_str(",\"buckets\":[");
        for (i, b) in buckets.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('[');
            out.push(char::from(b'0' + b.rule));
            out.push(',');
            write_value(out, b.lower);
            out.push(',');
            write_value(out, b.upper);
            out.push(',');
            write_value(out, b.count);
            out.push(']');
        }
        out.push(']');
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    fn reference(v: f64) -> String {
        let mut s = String::new();
        gofloat::write_prom_json_value(v, &mut s);
        s
    }

    fn fast(v: f64) -> String {
        let mut s = String::new();
        write_number(&mut s, v);
        s
    }

    #[test]
    fn fast_value_formatting_matches_the_reference() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut vals = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            0.2,
            0.3,
            1e-4,
            9.999e-5,
            1e15,
            999999999999999.0,
            1e15 - 0.5,
            1e21,
            1e-7,
            123.456,
            -2.5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            f64::MAX,
            5e-324,
            4096.0 * 1234.0,
            1.7976931348623157e308,
        ];
        for _ in 0..200_000 {
            let r = next();
            vals.push(f64::from_bits(r));
            vals.push((r % 10_000_000) as f64 / 100.0);
            vals.push((r % 1_000_000_007) as f64 / 1000.0 - 5e5);
            vals.push((r >> 11) as f64 * 1e-3);
            vals.push((r >> 20) as f64);
        }
        for v in vals {
            assert_eq!(fast(v), reference(v), "{v:e} (bits {:#x})", v.to_bits());
        }
    }

    use super::*;
    use lookout_model::Span;

    #[test]
    fn escapes_like_go() {
        let mut s = String::new();
        write_str(&mut s, "a\"b\\c\n<&>\u{1}\u{2028}é");
        assert_eq!(s, r#""a\"b\\c\n\u003c\u0026\u003e\u0001\u2028é""#);
    }

    #[test]
    fn timestamps_have_three_decimals() {
        let cases = [
            (1435781451780, "1435781451.780"),
            (1435781451005, "1435781451.005"),
            (4000, "4"),
            (-1500, "-1.500"),
            (0, "0"),
        ];
        for (t, want) in cases {
            let mut s = String::new();
            write_timestamp(&mut s, t);
            assert_eq!(s, want);
        }
        let mut s = String::new();
        write_float_seconds(&mut s, 1500);
        assert_eq!(s, "1.5");
    }

    #[test]
    fn histogram_buckets_in_order() {
        let h = FloatHistogram {
            schema: 0,
            zero_threshold: 0.001,
            zero_count: 2.0,
            count: 10.0,
            sum: 12.5,
            positive_spans: vec![Span {
                offset: 0,
                length: 2,
            }],
            positive_buckets: vec![3.0, 0.0],
            negative_spans: vec![Span {
                offset: 1,
                length: 1,
            }],
            negative_buckets: vec![5.0],
            ..Default::default()
        };
        let mut s = String::new();
        write_histogram(&mut s, &h);
        assert_eq!(
            s,
            r#"{"count":"10","sum":"12.5","buckets":[[1,"-2","-1","5"],[3,"-0.001","0.001","2"],[0,"0.5","1","3"]]}"#
        );
    }

    #[test]
    fn positive_schema_bounds() {
        // schema 1: base sqrt(2); bucket 1 is (1, 1.414...].
        assert_eq!(exp_bound(0, 1), 1.0);
        assert!((exp_bound(1, 1) - std::f64::consts::SQRT_2).abs() < 1e-15);
        assert_eq!(exp_bound(2, 1), 2.0);
        assert_eq!(exp_bound(-2, 1), 0.5);
    }
}
