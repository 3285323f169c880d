//! Result comparison with upstream's float tolerance and histogram rules.

use lookout_model::{is_stale_nan, FloatHistogram};

use crate::engine::histogram as hist;

/// Upstream's `almost.Equal(a, b, 1e-6)` plus NaN and stale-marker rules.
pub fn float_equal(a: f64, b: f64) -> bool {
    if is_stale_nan(a) || is_stale_nan(b) {
        return is_stale_nan(a) && is_stale_nan(b);
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let eps = 1e-6;
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < eps * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < eps
}

/// Histogram equality after compaction. The hint is compared only when
/// `check_hint` (the expected literal spelled it out).
pub fn histogram_equal(expected: &FloatHistogram, got: &FloatHistogram, check_hint: bool) -> bool {
    let mut e = expected.clone();
    let mut g = got.clone();
    hist::compact(&mut e);
    hist::compact(&mut g);
    if check_hint && e.counter_reset_hint != g.counter_reset_hint {
        return false;
    }
    if e.schema != g.schema || e.zero_threshold != g.zero_threshold {
        return false;
    }
    if !float_equal(e.count, g.count)
        || !float_equal(e.sum, g.sum)
        || !float_equal(e.zero_count, g.zero_count)
    {
        return false;
    }
    if e.positive_spans != g.positive_spans || e.negative_spans != g.negative_spans {
        return false;
    }
    if e.positive_buckets.len() != g.positive_buckets.len()
        || e.negative_buckets.len() != g.negative_buckets.len()
    {
        return false;
    }
    let buckets_ok = e
        .positive_buckets
        .iter()
        .zip(&g.positive_buckets)
        .chain(e.negative_buckets.iter().zip(&g.negative_buckets))
        .all(|(a, b)| float_equal(*a, *b));
    if !buckets_ok {
        return false;
    }
    if e.uses_custom_buckets() && e.custom_values != g.custom_values {
        return false;
    }
    true
}

/// Short rendering of a histogram for failure messages.
pub fn histogram_text(h: &FloatHistogram) -> String {
    let mut s = format!("{{{{schema:{} count:{} sum:{}", h.schema, h.count, h.sum);
    if h.zero_count != 0.0 || h.zero_threshold != 0.0 {
        s.push_str(&format!(
            " z_bucket:{} z_bucket_w:{}",
            h.zero_count, h.zero_threshold
        ));
    }
    let pos = hist::expand(&h.positive_spans, &h.positive_buckets);
    if !pos.is_empty() {
        s.push_str(&format!(" buckets:{pos:?}"));
    }
    let neg = hist::expand(&h.negative_spans, &h.negative_buckets);
    if !neg.is_empty() {
        s.push_str(&format!(" n_buckets:{neg:?}"));
    }
    if !h.custom_values.is_empty() {
        s.push_str(&format!(" custom_values:{:?}", h.custom_values));
    }
    s.push_str(&format!(" hint:{:?}}}}}", h.counter_reset_hint));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance() {
        assert!(float_equal(1.0, 1.0 + 1e-9));
        assert!(!float_equal(1.0, 1.001));
        assert!(float_equal(f64::NAN, f64::NAN));
        assert!(!float_equal(0.0, 1e-300));
        assert!(float_equal(0.0, -0.0));
        assert!(!float_equal(lookout_model::STALE_NAN, f64::NAN));
    }
}
