//! Native-histogram arithmetic for the evaluator: bucket layout, addition
//! and subtraction across schemas and zero thresholds, custom-bucket
//! reconciliation, counter-reset detection, scaling, bucket iteration.
//!
//! Kept in the engine (not `lookout-model`) because only query evaluation
//! and the test harness do arithmetic on histograms; storage only moves them.

use lookout_model::{CounterResetHint, FloatHistogram, Span};

/// Why two histograms cannot be combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistError {
    /// One uses exponential buckets, the other custom buckets.
    MixedSchemas,
}

/// Side effects of adding or subtracting two histograms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpFlags {
    /// One operand was hinted as a counter reset and the other as not.
    pub counter_reset_collision: bool,
    /// Custom bucket bounds differed and were intersected.
    pub nhcb_reconciled: bool,
}

/// One bucket with its bounds, for iteration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
    /// Observations in the bucket.
    pub count: f64,
}

/// Expands spans + absolute counts into `(index, count)` pairs.
pub fn expand(spans: &[Span], counts: &[f64]) -> Vec<(i32, f64)> {
    let mut out = Vec::with_capacity(counts.len());
    let mut idx: i32 = 0;
    let mut ci = 0usize;
    for (si, s) in spans.iter().enumerate() {
        if si == 0 {
            idx = s.offset;
        } else {
            idx = idx.saturating_add(s.offset);
        }
        for _ in 0..s.length {
            let Some(&c) = counts.get(ci) else {
                return out;
            };
            out.push((idx, c));
            ci += 1;
            idx = idx.saturating_add(1);
        }
    }
    out
}

/// Builds spans + counts from sorted `(index, count)` pairs. Zero counts are
/// dropped when `compact` is set; consecutive indexes share a span.
pub fn build(pairs: &[(i32, f64)], compact: bool) -> (Vec<Span>, Vec<f64>) {
    let mut spans: Vec<Span> = Vec::new();
    let mut counts = Vec::with_capacity(pairs.len());
    let mut next: Option<i32> = None; // index right after the last span's end
    for &(i, c) in pairs {
        if compact && c == 0.0 {
            continue;
        }
        match (next, spans.last_mut()) {
            (Some(n), Some(last)) if n == i => {
                last.length += 1;
            }
            (Some(n), _) => spans.push(Span {
                offset: i - n,
                length: 1,
            }),
            (None, _) => spans.push(Span {
                offset: i,
                length: 1,
            }),
        }
        counts.push(c);
        next = Some(i + 1);
    }
    (spans, counts)
}

/// Upper bound of exponential bucket `idx` at `schema`.
pub fn exp_bound(idx: i32, schema: i32) -> f64 {
    if schema < 0 {
        let exp = (idx as i64) << (-schema) as u32;
        if exp == 1024 {
            return f64::MAX;
        }
        if exp > 1100 {
            return f64::INFINITY;
        }
        if exp < -1100 {
            return 0.0;
        }
        return 2f64.powi(exp as i32);
    }
    let per = 1i64 << schema;
    let i = idx as i64;
    let frac_idx = i.rem_euclid(per);
    let exp = i.div_euclid(per) + 1;
    // frac in [0.5, 1): 2^(frac_idx/2^schema) / 2
    let frac = (frac_idx as f64 / per as f64).exp2() / 2.0;
    if frac_idx == 0 && exp == 1025 {
        return f64::MAX;
    }
    if exp > 1100 {
        return f64::INFINITY;
    }
    if exp < -1100 {
        return 0.0;
    }
    ldexp(frac, exp as i32)
}

fn ldexp(frac: f64, exp: i32) -> f64 {
    // Split to avoid overflow of 2^exp for large exponents.
    if exp > 1000 {
        frac * 2f64.powi(1000) * 2f64.powi(exp - 1000)
    } else if exp < -1000 {
        frac * 2f64.powi(-1000) * 2f64.powi(exp + 1000)
    } else {
        frac * 2f64.powi(exp)
    }
}

/// Bounds (lower, upper) of a positive bucket.
pub fn positive_bounds(h: &FloatHistogram, idx: i32) -> (f64, f64) {
    if h.uses_custom_buckets() {
        let cv = &h.custom_values;
        let lower = if idx <= 0 {
            f64::NEG_INFINITY
        } else {
            cv.get((idx - 1) as usize).copied().unwrap_or(f64::INFINITY)
        };
        let upper = if idx < 0 {
            f64::NEG_INFINITY
        } else {
            cv.get(idx as usize).copied().unwrap_or(f64::INFINITY)
        };
        return (lower, upper);
    }
    (
        exp_bound(idx.saturating_sub(1), h.schema),
        exp_bound(idx, h.schema),
    )
}

/// Index of the bucket at `target` schema that contains bucket `idx` at
/// `origin` schema (origin >= target).
pub fn reduce_index(idx: i32, origin: i32, target: i32) -> i32 {
    let d = (origin - target).clamp(0, 31) as u32;
    (idx.saturating_sub(1) >> d).saturating_add(1)
}

fn reduce_pairs(pairs: &[(i32, f64)], origin: i32, target: i32) -> Vec<(i32, f64)> {
    if origin <= target {
        return pairs.to_vec();
    }
    let mut out: Vec<(i32, f64)> = Vec::with_capacity(pairs.len());
    for &(i, c) in pairs {
        let t = reduce_index(i, origin, target);
        match out.last_mut() {
            Some(last) if last.0 == t => last.1 += c,
            _ => out.push((t, c)),
        }
    }
    out
}

/// Same histogram at a lower (coarser) schema. Custom-bucket histograms and
/// target schemas >= the current one are returned unchanged.
pub fn copy_to_schema(h: &FloatHistogram, target: i32) -> FloatHistogram {
    let mut out = h.clone();
    if h.uses_custom_buckets() || target >= h.schema {
        return out;
    }
    let pos = reduce_pairs(
        &expand(&h.positive_spans, &h.positive_buckets),
        h.schema,
        target,
    );
    let neg = reduce_pairs(
        &expand(&h.negative_spans, &h.negative_buckets),
        h.schema,
        target,
    );
    (out.positive_spans, out.positive_buckets) = build(&pos, false);
    (out.negative_spans, out.negative_buckets) = build(&neg, false);
    out.schema = target;
    out
}

/// Removes empty buckets and merges adjacent spans.
pub fn compact(h: &mut FloatHistogram) {
    let pos = expand(&h.positive_spans, &h.positive_buckets);
    let neg = expand(&h.negative_spans, &h.negative_buckets);
    (h.positive_spans, h.positive_buckets) = build(&pos, true);
    (h.negative_spans, h.negative_buckets) = build(&neg, true);
}

/// Multiplies every count and the sum by `f` (a negative factor turns
/// the histogram into a gauge).
pub fn scale(h: &mut FloatHistogram, f: f64) {
    if f < 0.0 {
        h.counter_reset_hint = CounterResetHint::Gauge;
    }
    h.count *= f;
    h.sum *= f;
    h.zero_count *= f;
    for b in h
        .positive_buckets
        .iter_mut()
        .chain(h.negative_buckets.iter_mut())
    {
        *b *= f;
    }
}

/// Divides every count and the sum by `f`. Division by zero leaves only
/// the zero bucket (every bucket would be infinite or NaN).
pub fn divide(h: &mut FloatHistogram, f: f64) {
    if f < 0.0 {
        h.counter_reset_hint = CounterResetHint::Gauge;
    }
    if f == 0.0 {
        h.positive_spans.clear();
        h.positive_buckets.clear();
        h.negative_spans.clear();
        h.negative_buckets.clear();
    }
    h.count /= f;
    h.sum /= f;
    h.zero_count /= f;
    for b in h
        .positive_buckets
        .iter_mut()
        .chain(h.negative_buckets.iter_mut())
    {
        *b /= f;
    }
}

fn adjust_counter_reset(a: &mut FloatHistogram, b: &FloatHistogram) -> bool {
    use CounterResetHint::*;
    let ha = a.counter_reset_hint;
    let hb = b.counter_reset_hint;
    if ha == hb || ha == Gauge {
        return false;
    }
    if hb == Gauge {
        a.counter_reset_hint = Gauge;
        return false;
    }
    if ha == Unknown {
        return false;
    }
    a.counter_reset_hint = Unknown;
    hb != Unknown
}

/// Widens the zero bucket of `h` to at least `threshold`, moving buckets
/// whose range overlaps the new zero bucket into it. If the threshold falls
/// inside a populated bucket, it grows to that bucket's upper bound.
pub fn widen_zero_bucket(h: &mut FloatHistogram, threshold: f64) {
    if h.uses_custom_buckets() || threshold <= h.zero_threshold {
        return;
    }
    let mut thr = threshold;
    let mut pos = expand(&h.positive_spans, &h.positive_buckets);
    let mut neg = expand(&h.negative_spans, &h.negative_buckets);
    loop {
        let mut changed = false;
        for pairs in [&mut pos, &mut neg] {
            let mut keep = Vec::with_capacity(pairs.len());
            for &(i, c) in pairs.iter() {
                let lower = exp_bound(i.saturating_sub(1), h.schema);
                let upper = exp_bound(i, h.schema);
                if lower < thr {
                    h.zero_count += c;
                    if upper > thr {
                        thr = upper;
                        changed = true;
                    }
                } else {
                    keep.push((i, c));
                }
            }
            *pairs = keep;
        }
        if !changed {
            break;
        }
    }
    h.zero_threshold = thr;
    (h.positive_spans, h.positive_buckets) = build(&pos, false);
    (h.negative_spans, h.negative_buckets) = build(&neg, false);
}

fn merge_pairs(a: &[(i32, f64)], b: &[(i32, f64)], sign: f64) -> Vec<(i32, f64)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(&(ia, ca)), Some(&(ib, cb))) if ia == ib => {
                out.push((ia, ca + sign * cb));
                i += 1;
                j += 1;
            }
            (Some(&(ia, ca)), Some(&(ib, _))) if ia < ib => {
                out.push((ia, ca));
                i += 1;
            }
            (Some(_), Some(&(ib, cb))) => {
                out.push((ib, sign * cb));
                j += 1;
            }
            (Some(&(ia, ca)), None) => {
                out.push((ia, ca));
                i += 1;
            }
            (None, Some(&(ib, cb))) => {
                out.push((ib, sign * cb));
                j += 1;
            }
            (None, None) => break,
        }
    }
    out
}

/// Intersection of two sorted custom-bound lists (exact float equality).
fn intersect_bounds(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().copied().filter(|x| b.contains(x)).collect()
}

/// Re-buckets a custom-bucket histogram onto `bounds` (a subset of its own
/// bounds): each bucket goes to the first new bucket whose upper bound is at
/// least its own.
fn remap_custom(h: &FloatHistogram, bounds: &[f64]) -> Vec<(i32, f64)> {
    let pairs = expand(&h.positive_spans, &h.positive_buckets);
    let mut out: Vec<(i32, f64)> = Vec::new();
    for (i, c) in pairs {
        let upper = h
            .custom_values
            .get(i.max(0) as usize)
            .copied()
            .unwrap_or(f64::INFINITY);
        let ni = bounds
            .iter()
            .position(|&b| b >= upper)
            .unwrap_or(bounds.len()) as i32;
        match out.iter_mut().find(|(j, _)| *j == ni) {
            Some(e) => e.1 += c,
            None => out.push((ni, c)),
        }
    }
    out.sort_by_key(|p| p.0);
    out
}

/// Re-buckets a custom-bucket histogram onto a subset of its bounds.
pub fn remap_custom_pub(h: &FloatHistogram, bounds: &[f64]) -> Vec<(i32, f64)> {
    remap_custom(h, bounds)
}

/// `a + sign*b` (sign is 1 or -1). The result keeps `a`'s hint adjusted by
/// Prometheus' rules, the smaller schema and the larger zero threshold.
pub fn add_sub(
    a: &FloatHistogram,
    b: &FloatHistogram,
    sign: f64,
) -> Result<(FloatHistogram, OpFlags), HistError> {
    if a.uses_custom_buckets() != b.uses_custom_buckets() {
        return Err(HistError::MixedSchemas);
    }
    let mut flags = OpFlags::default();
    let mut res = a.clone();
    flags.counter_reset_collision = adjust_counter_reset(&mut res, b);
    res.count += sign * b.count;
    res.sum += sign * b.sum;
    if res.uses_custom_buckets() {
        if res.custom_values == b.custom_values {
            let pa = expand(&res.positive_spans, &res.positive_buckets);
            let pb = expand(&b.positive_spans, &b.positive_buckets);
            (res.positive_spans, res.positive_buckets) = build(&merge_pairs(&pa, &pb, sign), false);
        } else {
            flags.nhcb_reconciled = true;
            let bounds = intersect_bounds(&res.custom_values, &b.custom_values);
            let pa = remap_custom(&res, &bounds);
            let pb = remap_custom(b, &bounds);
            (res.positive_spans, res.positive_buckets) = build(&merge_pairs(&pa, &pb, sign), false);
            res.custom_values = bounds;
        }
        return Ok((res, flags));
    }
    let mut other = b.clone();
    // Zero buckets: the wider threshold wins.
    if other.zero_threshold > res.zero_threshold {
        widen_zero_bucket(&mut res, other.zero_threshold);
    }
    if res.zero_threshold > other.zero_threshold {
        widen_zero_bucket(&mut other, res.zero_threshold);
        if other.zero_threshold > res.zero_threshold {
            widen_zero_bucket(&mut res, other.zero_threshold);
        }
    }
    res.zero_count += sign * other.zero_count;
    let schema = res.schema.min(other.schema);
    let rp = reduce_pairs(
        &expand(&res.positive_spans, &res.positive_buckets),
        res.schema,
        schema,
    );
    let rn = reduce_pairs(
        &expand(&res.negative_spans, &res.negative_buckets),
        res.schema,
        schema,
    );
    let op = reduce_pairs(
        &expand(&other.positive_spans, &other.positive_buckets),
        other.schema,
        schema,
    );
    let on = reduce_pairs(
        &expand(&other.negative_spans, &other.negative_buckets),
        other.schema,
        schema,
    );
    (res.positive_spans, res.positive_buckets) = build(&merge_pairs(&rp, &op, sign), false);
    (res.negative_spans, res.negative_buckets) = build(&merge_pairs(&rn, &on, sign), false);
    res.schema = schema;
    Ok((res, flags))
}

/// `a + b`.
pub fn add(a: &FloatHistogram, b: &FloatHistogram) -> Result<(FloatHistogram, OpFlags), HistError> {
    add_sub(a, b, 1.0)
}

/// `a - b`; the result is a gauge.
pub fn sub(a: &FloatHistogram, b: &FloatHistogram) -> Result<(FloatHistogram, OpFlags), HistError> {
    add_sub(a, b, -1.0).map(|(mut h, f)| {
        h.counter_reset_hint = CounterResetHint::Gauge;
        (h, f)
    })
}

/// Whether `cur` is a counter reset relative to `prev` (Prometheus'
/// `DetectReset`, honouring explicit hints first).
pub fn detect_reset(cur: &FloatHistogram, prev: &FloatHistogram) -> bool {
    match cur.counter_reset_hint {
        CounterResetHint::CounterReset => return true,
        CounterResetHint::NotCounterReset => return false,
        _ => {}
    }
    if cur.count < prev.count {
        return true;
    }
    if cur.uses_custom_buckets() != prev.uses_custom_buckets() {
        return true;
    }
    if cur.uses_custom_buckets() && cur.custom_values != prev.custom_values {
        // Compare on the common bounds: a layout change alone is no reset.
        let bounds = intersect_bounds(&cur.custom_values, &prev.custom_values);
        let c = remap_custom(cur, &bounds);
        let p = remap_custom(prev, &bounds);
        for &(i, pc) in &p {
            if pc == 0.0 {
                continue;
            }
            match c.iter().find(|x| x.0 == i) {
                Some(&(_, cc)) if cc >= pc => {}
                _ => return true,
            }
        }
        return false;
    }
    if cur.schema > prev.schema {
        return true;
    }
    if cur.zero_threshold < prev.zero_threshold {
        return true;
    }
    let mut p = if cur.uses_custom_buckets() {
        prev.clone()
    } else {
        copy_to_schema(prev, cur.schema)
    };
    if !cur.uses_custom_buckets() && cur.zero_threshold > p.zero_threshold {
        widen_zero_bucket(&mut p, cur.zero_threshold);
        if p.zero_threshold != cur.zero_threshold {
            return true;
        }
    }
    if cur.zero_count < p.zero_count {
        return true;
    }
    let sides = [
        (
            expand(&cur.positive_spans, &cur.positive_buckets),
            expand(&p.positive_spans, &p.positive_buckets),
        ),
        (
            expand(&cur.negative_spans, &cur.negative_buckets),
            expand(&p.negative_spans, &p.negative_buckets),
        ),
    ];
    for (c, pv) in sides.iter() {
        for &(i, pc) in pv {
            if pc == 0.0 {
                continue;
            }
            match c.binary_search_by_key(&i, |x| x.0) {
                Ok(k) => {
                    if c[k].1 < pc {
                        return true;
                    }
                }
                Err(_) => return true,
            }
        }
    }
    false
}

/// All buckets in ascending order: negative (most negative first), zero,
/// positive. Empty buckets are included; the zero bucket only when it has
/// observations.
pub fn all_buckets(h: &FloatHistogram) -> Vec<Bucket> {
    let mut out = Vec::new();
    if !h.uses_custom_buckets() {
        let neg = expand(&h.negative_spans, &h.negative_buckets);
        for &(i, c) in neg.iter().rev() {
            out.push(Bucket {
                lower: -exp_bound(i, h.schema),
                upper: -exp_bound(i.saturating_sub(1), h.schema),
                count: c,
            });
        }
        if h.zero_count > 0.0 {
            out.push(Bucket {
                lower: -h.zero_threshold,
                upper: h.zero_threshold,
                count: h.zero_count,
            });
        }
    }
    for (i, c) in expand(&h.positive_spans, &h.positive_buckets) {
        let (lower, upper) = positive_bounds(h, i);
        out.push(Bucket {
            lower,
            upper,
            count: c,
        });
    }
    out
}

/// Number of populated buckets, for sample accounting.
pub fn bucket_count(h: &FloatHistogram) -> usize {
    h.positive_buckets.len() + h.negative_buckets.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(schema: i32, offset: i32, b: &[f64]) -> FloatHistogram {
        let pairs: Vec<(i32, f64)> = b
            .iter()
            .enumerate()
            .map(|(i, c)| (offset + i as i32, *c))
            .collect();
        let (spans, counts) = build(&pairs, false);
        FloatHistogram {
            schema,
            count: b.iter().sum(),
            positive_spans: spans,
            positive_buckets: counts,
            ..Default::default()
        }
    }

    #[test]
    fn bounds_schema0_and_1() {
        assert_eq!(exp_bound(0, 0), 1.0);
        assert_eq!(exp_bound(1, 0), 2.0);
        assert_eq!(exp_bound(-1, 0), 0.5);
        assert!((exp_bound(1, 1) - 2f64.sqrt()).abs() < 1e-15);
        assert_eq!(exp_bound(2, 1), 2.0);
        assert_eq!(exp_bound(1, -1), 4.0);
    }

    #[test]
    fn expand_build_roundtrip() {
        let spans = vec![
            Span {
                offset: -2,
                length: 2,
            },
            Span {
                offset: 3,
                length: 1,
            },
        ];
        let pairs = expand(&spans, &[1.0, 2.0, 3.0]);
        assert_eq!(pairs, vec![(-2, 1.0), (-1, 2.0), (3, 3.0)]);
        let (s, c) = build(&pairs, false);
        assert_eq!(s, spans);
        assert_eq!(c, vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn add_reduces_schema() {
        let a = h(1, 1, &[1.0, 1.0]); // buckets 1,2 at schema 1 -> bucket 1 at schema 0
        let b = h(0, 1, &[2.0]);
        let (r, _) = add(&a, &b).unwrap();
        assert_eq!(r.schema, 0);
        assert_eq!(
            expand(&r.positive_spans, &r.positive_buckets),
            vec![(1, 4.0)]
        );
    }

    #[test]
    fn reset_detection() {
        let a = h(0, 0, &[1.0, 2.0]);
        let b = h(0, 0, &[1.0, 1.0]);
        assert!(detect_reset(&b, &a));
        assert!(!detect_reset(&a, &b));
    }
}
