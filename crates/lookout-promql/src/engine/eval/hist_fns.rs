//! Histogram functions: `histogram_quantile` (classic and native),
//! `histogram_fraction`, `histogram_count/sum/avg/stddev/stdvar`, the trim
//! operators' kernel, and histogram rendering for `count_values`.

use std::sync::Arc;

use hashbrown::HashMap;
use lookout_model::{FloatHistogram, Labels, METRIC_NAME};

use super::*;
use crate::engine::annotations::{go_float_g, with_metric_name};
use crate::engine::histogram::{self as hist, Bucket};

/// Result of a native-histogram quantile.
pub(crate) enum NaNInfo {
    None,
    ResultNaN,
    Skewed,
}

fn adjust_zero_bucket(h: &FloatHistogram, b: &mut Bucket) {
    if b.lower < 0.0 && b.upper > 0.0 {
        if h.negative_buckets.is_empty() && !h.positive_buckets.is_empty() {
            b.lower = 0.0;
        } else if h.positive_buckets.is_empty() && !h.negative_buckets.is_empty() {
            b.upper = 0.0;
        }
    }
}

/// `histogram_quantile` for a native histogram.
pub(crate) fn native_quantile(q: f64, h: &FloatHistogram) -> (f64, NaNInfo) {
    if q < 0.0 {
        return (f64::NEG_INFINITY, NaNInfo::None);
    }
    if q > 1.0 {
        return (f64::INFINITY, NaNInfo::None);
    }
    if h.count == 0.0 || q.is_nan() {
        return (f64::NAN, NaNInfo::None);
    }
    let has_nan = h.sum.is_nan();
    let buckets = hist::all_buckets(h);
    let forward = has_nan || q < 0.5;
    let mut rank = if forward {
        q * h.count
    } else {
        (1.0 - q) * h.count
    };
    let mut count = 0.0;
    let mut bucket: Option<Bucket> = None;
    let iter: Box<dyn Iterator<Item = &Bucket>> = if forward {
        Box::new(buckets.iter())
    } else {
        Box::new(buckets.iter().rev())
    };
    for b in iter {
        if b.count == 0.0 {
            continue;
        }
        count += b.count;
        bucket = Some(*b);
        if count >= rank {
            break;
        }
    }
    let Some(mut b) = bucket else {
        return (
            f64::NAN,
            if has_nan {
                NaNInfo::ResultNaN
            } else {
                NaNInfo::None
            },
        );
    };
    if !h.uses_custom_buckets() {
        adjust_zero_bucket(h, &mut b);
    } else if b.lower == f64::NEG_INFINITY {
        if b.upper <= 0.0 {
            return (b.upper, nan_info(has_nan));
        }
        b.lower = 0.0;
    } else if b.upper == f64::INFINITY {
        return (b.lower, nan_info(has_nan));
    }
    if count > h.count {
        count = h.count;
    }
    if count < rank {
        if has_nan {
            return (f64::NAN, NaNInfo::ResultNaN);
        }
        return (b.upper, NaNInfo::None);
    }
    if forward {
        rank -= count - b.count;
    } else {
        rank = count - rank;
    }
    let fraction = rank / b.count;
    let v = if h.uses_custom_buckets() || (b.lower <= 0.0 && b.upper >= 0.0) {
        b.lower + (b.upper - b.lower) * fraction
    } else {
        let ll = b.lower.abs().log2();
        let lu = b.upper.abs().log2();
        if b.lower > 0.0 {
            (ll + (lu - ll) * fraction).exp2()
        } else {
            -((lu + (ll - lu) * (1.0 - fraction)).exp2())
        }
    };
    (v, nan_info(has_nan))
}

fn nan_info(has_nan: bool) -> NaNInfo {
    if has_nan {
        NaNInfo::Skewed
    } else {
        NaNInfo::None
    }
}

/// `histogram_fraction` for a native histogram.
pub(crate) fn native_fraction(lower: f64, upper: f64, h: &FloatHistogram) -> f64 {
    if h.count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if h.uses_custom_buckets() {
        let mut cum = 0.0;
        let mut buckets: Vec<ClassicBucket> = Vec::with_capacity(h.custom_values.len() + 1);
        let counts = hist::expand(&h.positive_spans, &h.positive_buckets);
        for i in 0..=h.custom_values.len() {
            let c = counts
                .iter()
                .find(|(j, _)| *j == i as i32)
                .map(|x| x.1)
                .unwrap_or(0.0);
            cum += c;
            buckets.push(ClassicBucket {
                upper: h.custom_values.get(i).copied().unwrap_or(f64::INFINITY),
                count: cum,
            });
        }
        return cumulative_fraction(lower, upper, &buckets, h.count);
    }
    if lower >= upper {
        return 0.0;
    }
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    for mut b in hist::all_buckets(h) {
        let mut zero = false;
        if !h.uses_custom_buckets() && b.lower <= 0.0 && b.upper >= 0.0 {
            zero = true;
            adjust_zero_bucket(h, &mut b);
        }
        let linear = |v: f64, rank: f64| rank + b.count * (v - b.lower) / (b.upper - b.lower);
        let expo = |v: f64, rank: f64| {
            let ll = b.lower.abs().log2();
            let lu = b.upper.abs().log2();
            let lv = v.abs().log2();
            let frac = if v > 0.0 {
                (lv - ll) / (lu - ll)
            } else {
                1.0 - ((lv - lu) / (ll - lu))
            };
            rank + b.count * frac
        };
        let interp = |v: f64, rank: f64| {
            if h.uses_custom_buckets() || zero {
                linear(v, rank)
            } else {
                expo(v, rank)
            }
        };
        if !lower_set && b.lower >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && b.lower >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && b.lower < lower && b.upper > lower {
            lower_rank = interp(lower, rank);
            lower_set = true;
        }
        if !upper_set && b.lower < upper && b.upper > upper {
            upper_rank = interp(upper, rank);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank += b.count;
    }
    // Unset ranks lie beyond every bucket: NaN observations (counted in
    // `count` but in no bucket) are excluded.
    if !lower_set {
        lower_rank = rank;
    }
    if !upper_set {
        upper_rank = rank;
    }
    (upper_rank.min(h.count) - lower_rank.min(h.count)) / h.count
}

/// A classic-histogram bucket.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClassicBucket {
    pub upper: f64,
    pub count: f64,
}

/// `histogram_quantile` over classic buckets: (value, forced monotonic).
pub(crate) fn bucket_quantile(q: f64, buckets: &mut Vec<ClassicBucket>) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    match buckets.last() {
        Some(b) if b.upper == f64::INFINITY => {}
        _ => return (f64::NAN, false),
    }
    coalesce(buckets);
    let forced = ensure_monotonic(buckets, 1e-12);
    if buckets.len() < 2 {
        return (f64::NAN, false);
    }
    let obs = buckets[buckets.len() - 1].count;
    if obs == 0.0 {
        return (f64::NAN, false);
    }
    let mut rank = q * obs;
    let last = buckets.len() - 1;
    let b = buckets[..last]
        .iter()
        .position(|x| x.count >= rank)
        .unwrap_or(last);
    if b == last {
        return (buckets[last - 1].upper, forced);
    }
    if b == 0 && buckets[0].upper <= 0.0 {
        return (buckets[0].upper, forced);
    }
    let mut start = 0.0;
    let end = buckets[b].upper;
    let mut count = buckets[b].count;
    if b > 0 {
        start = buckets[b - 1].upper;
        count -= buckets[b - 1].count;
        rank -= buckets[b - 1].count;
    }
    (start + (end - start) * (rank / count), forced)
}

/// `histogram_fraction` over classic buckets. Buckets of infinite width
/// contribute nothing (no interpolation is possible in them).
pub(crate) fn bucket_fraction(lower: f64, upper: f64, buckets: &mut Vec<ClassicBucket>) -> f64 {
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    match buckets.last() {
        Some(b) if b.upper == f64::INFINITY => {}
        _ => return f64::NAN,
    }
    coalesce(buckets);
    ensure_monotonic(buckets, 1e-12);
    let total = buckets[buckets.len() - 1].count;
    cumulative_fraction(lower, upper, buckets, total)
}

/// Fraction of `total` between `lower` and `upper` over cumulative buckets.
pub(crate) fn cumulative_fraction(
    lower: f64,
    upper: f64,
    buckets: &[ClassicBucket],
    total: f64,
) -> f64 {
    if total == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let rank_at = |v: f64| -> f64 {
        if v == f64::NEG_INFINITY {
            return 0.0;
        }
        if v == f64::INFINITY {
            return total;
        }
        let mut prev_upper = f64::NEG_INFINITY;
        let mut prev_count = 0.0;
        for (i, b) in buckets.iter().enumerate() {
            if v <= b.upper {
                let lo = if i == 0 {
                    if b.upper > 0.0 {
                        0.0
                    } else {
                        f64::NEG_INFINITY
                    }
                } else {
                    prev_upper
                };
                if v <= lo {
                    return prev_count;
                }
                if lo == f64::NEG_INFINITY {
                    return b.count;
                }
                if b.upper == f64::INFINITY {
                    return prev_count;
                }
                return prev_count + (b.count - prev_count) * (v - lo) / (b.upper - lo);
            }
            prev_upper = b.upper;
            prev_count = b.count;
        }
        total
    };
    (rank_at(upper) - rank_at(lower)) / total
}

fn coalesce(buckets: &mut Vec<ClassicBucket>) {
    let mut out: Vec<ClassicBucket> = Vec::with_capacity(buckets.len());
    for b in buckets.iter() {
        match out.last_mut() {
            Some(l) if l.upper == b.upper => l.count += b.count,
            _ => out.push(*b),
        }
    }
    *buckets = out;
}

fn almost_equal(a: f64, b: f64, eps: f64) -> bool {
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < eps * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < eps
}

fn ensure_monotonic(buckets: &mut [ClassicBucket], tol: f64) -> bool {
    let mut forced = false;
    let Some(first) = buckets.first() else {
        return false;
    };
    let mut prev = first.count;
    for b in buckets.iter_mut().skip(1) {
        let cur = b.count;
        if cur == prev {
            continue;
        }
        if almost_equal(prev, cur, tol) {
            b.count = prev;
            continue;
        }
        if cur < prev {
            b.count = prev;
            forced = true;
            continue;
        }
        prev = cur;
    }
    forced
}

/// Histogram mean/variance via bucket midpoints (upstream's
/// `histogram_stddev`/`histogram_stdvar`).
pub(crate) fn histogram_variance(h: &FloatHistogram) -> f64 {
    let mean = h.sum / h.count;
    let (mut var, mut c) = (0.0, 0.0);
    for b in hist::all_buckets(h) {
        if b.count == 0.0 {
            continue;
        }
        let val = if h.uses_custom_buckets() {
            (b.upper + b.lower) / 2.0
        } else if b.lower <= 0.0 && b.upper >= 0.0 {
            0.0
        } else {
            let v = (b.upper * b.lower).sqrt();
            if b.upper < 0.0 {
                -v
            } else {
                v
            }
        };
        let d = val - mean;
        (var, c) = super::aggregate::kahan_inc(b.count * d * d, var, c);
    }
    (var + c) / h.count
}

fn representative(h: &FloatHistogram, lower: f64, upper: f64, zero: bool) -> f64 {
    if h.uses_custom_buckets() || zero {
        (lower + upper) / 2.0
    } else if upper <= 0.0 {
        -(lower * upper).sqrt()
    } else {
        (lower * upper).sqrt()
    }
}

/// Keeps the part of `h` below (`keep_below`) or above the cutoff.
pub(crate) fn trim(h: &FloatHistogram, cutoff: f64, keep_below: bool) -> FloatHistogram {
    let mut out = h.clone();
    let mut changed = false;
    let mut sum = 0.0;
    let mut count = 0.0;
    // Zero bucket.
    if !h.uses_custom_buckets() && (h.zero_count != 0.0 || h.zero_threshold > 0.0) {
        let mut b = Bucket {
            lower: -h.zero_threshold,
            upper: h.zero_threshold,
            count: h.zero_count,
        };
        adjust_zero_bucket(h, &mut b);
        let (kept, lo, hi) = keep_part(&b, cutoff, keep_below, true, h);
        if kept != b.count {
            changed = true;
        }
        out.zero_count = kept;
        count += kept;
        if kept != 0.0 {
            sum += kept * representative(h, lo, hi, true);
        }
    }
    if h.uses_custom_buckets() {
        let pairs = hist::expand(&h.positive_spans, &h.positive_buckets);
        let mut res = Vec::with_capacity(pairs.len());
        for (i, c) in pairs {
            let (lower, upper) = hist::positive_bounds(h, i);
            let (kept, rep) = keep_custom(lower, upper, c, cutoff, keep_below);
            if kept != c {
                changed = true;
            }
            count += kept;
            if kept != 0.0 {
                sum += kept * rep;
            }
            res.push(kept);
        }
        out.positive_buckets = res;
        if changed {
            out.count = count;
            out.sum = sum;
        }
        hist::compact(&mut out);
        return out;
    }
    let mut trim_side = |spans: &[lookout_model::Span],
                         counts: &[f64],
                         negative: bool,
                         changed: &mut bool|
     -> Vec<f64> {
        let pairs = hist::expand(spans, counts);
        let mut res = Vec::with_capacity(pairs.len());
        for (i, c) in pairs {
            let (lower, upper) = if negative {
                (
                    -hist::exp_bound(i, h.schema),
                    -hist::exp_bound(i.saturating_sub(1), h.schema),
                )
            } else {
                hist::positive_bounds(h, i)
            };
            let b = Bucket {
                lower,
                upper,
                count: c,
            };
            let (kept, lo, hi) = keep_part(&b, cutoff, keep_below, false, h);
            if kept != c {
                *changed = true;
            }
            count += kept;
            if kept != 0.0 {
                sum += kept * representative(h, lo, hi, false);
            }
            res.push(kept);
        }
        res
    };
    out.positive_buckets = trim_side(&h.positive_spans, &h.positive_buckets, false, &mut changed);
    out.negative_buckets = trim_side(&h.negative_spans, &h.negative_buckets, true, &mut changed);
    if changed {
        out.count = count;
        out.sum = sum;
    }
    hist::compact(&mut out);
    out
}

/// Kept count and representative value of a custom bucket. Infinite-width
/// buckets are never interpolated: their observations are taken to lie at
/// the infinite end (a first bucket with a positive upper bound is read as
/// starting at zero, as `histogram_quantile` does).
fn keep_custom(lower: f64, upper: f64, c: f64, cutoff: f64, keep_below: bool) -> (f64, f64) {
    let inf_lo = lower == f64::NEG_INFINITY;
    let inf_hi = upper == f64::INFINITY;
    if keep_below && cutoff == f64::INFINITY || !keep_below && cutoff == f64::NEG_INFINITY {
        return (c, (lower + upper) / 2.0);
    }
    if inf_lo && inf_hi
        || !keep_below && cutoff == f64::INFINITY
        || keep_below && cutoff == f64::NEG_INFINITY
    {
        return (0.0, 0.0);
    }
    if inf_lo {
        if upper > 0.0 {
            if cutoff < 0.0 {
                return (0.0, 0.0);
            }
            return keep_linear(0.0, upper, c, cutoff, keep_below);
        }
        return if keep_below {
            (c, cutoff.min(upper))
        } else {
            (0.0, 0.0)
        };
    }
    if inf_hi {
        return if keep_below {
            (0.0, 0.0)
        } else {
            (c, cutoff.max(lower))
        };
    }
    keep_linear(lower, upper, c, cutoff, keep_below)
}

fn keep_linear(lo: f64, hi: f64, c: f64, cutoff: f64, keep_below: bool) -> (f64, f64) {
    if keep_below {
        if hi <= cutoff {
            (c, (lo + hi) / 2.0)
        } else if lo >= cutoff {
            (0.0, 0.0)
        } else {
            (c * (cutoff - lo) / (hi - lo), (lo + cutoff) / 2.0)
        }
    } else if lo >= cutoff {
        (c, (lo + hi) / 2.0)
    } else if hi <= cutoff {
        (0.0, 0.0)
    } else {
        (c * (hi - cutoff) / (hi - lo), (cutoff + hi) / 2.0)
    }
}

/// The kept count of a bucket and the kept range.
fn keep_part(
    b: &Bucket,
    cutoff: f64,
    keep_below: bool,
    zero: bool,
    h: &FloatHistogram,
) -> (f64, f64, f64) {
    let (lo, hi) = (b.lower, b.upper);
    if keep_below {
        if hi <= cutoff {
            return (b.count, lo, hi);
        }
        if lo >= cutoff {
            return (0.0, lo, hi);
        }
        let f = fraction_below(lo, hi, cutoff, zero || h.uses_custom_buckets());
        (b.count * f, lo, cutoff)
    } else {
        if lo >= cutoff {
            return (b.count, lo, hi);
        }
        if hi <= cutoff {
            return (0.0, lo, hi);
        }
        let f = 1.0 - fraction_below(lo, hi, cutoff, zero || h.uses_custom_buckets());
        (b.count * f, cutoff, hi)
    }
}

fn fraction_below(lo: f64, hi: f64, c: f64, linear: bool) -> f64 {
    if linear || lo.is_infinite() || hi.is_infinite() {
        if lo.is_infinite() || hi.is_infinite() {
            return 0.5;
        }
        return (c - lo) / (hi - lo);
    }
    if lo >= 0.0 {
        (c.log2() - lo.log2()) / (hi.log2() - lo.log2())
    } else {
        // negative bucket [lo, hi): distance from lo in log(|x|) space
        (lo.abs().log2() - c.abs().log2()) / (lo.abs().log2() - hi.abs().log2())
    }
}

/// Rendering used as a label value by `count_values` on histograms.
pub(crate) fn histogram_string(h: &FloatHistogram) -> String {
    let mut s = format!("{{count:{}, sum:{}", go_float_g(h.count), go_float_g(h.sum));
    let zero_lower = -h.zero_threshold;
    for b in hist::all_buckets(h) {
        if b.count == 0.0 {
            continue;
        }
        let is_zero =
            !h.uses_custom_buckets() && b.lower == zero_lower && b.upper == h.zero_threshold;
        let (open, close) = if is_zero {
            ('[', ']')
        } else if b.upper <= 0.0 && !h.uses_custom_buckets() {
            ('[', ')')
        } else {
            ('(', ']')
        };
        s.push_str(&format!(
            ", {open}{},{}{close}:{}",
            go_float_g(b.lower),
            go_float_g(b.upper),
            go_float_g(b.count)
        ));
    }
    s.push('}');
    s
}

impl Evaluator<'_> {
    /// Per-sample histogram functions returning floats.
    pub(crate) fn hist_value_fn(&mut self, name: &str, c: &Call, grid: Grid) -> Result<Val> {
        let stats = matches!(name, "histogram_count" | "histogram_sum" | "histogram_avg");
        let saved = std::mem::replace(&mut self.stats_decoding, stats);
        let v = self.eval_vector(&c.args[0], grid);
        self.stats_decoding = saved;
        let v = v?;
        let mut out = Vec::with_capacity(v.len());
        for s in v {
            let pts: Vec<Pt> = s
                .pts
                .iter()
                .filter_map(|p| match &p.v {
                    V::H(h) => Some(Pt {
                        t: p.t,
                        v: V::F(match name {
                            "histogram_count" => h.count,
                            "histogram_sum" => h.sum,
                            "histogram_avg" => h.sum / h.count,
                            "histogram_stddev" => histogram_variance(h).sqrt(),
                            _ => histogram_variance(h),
                        }),
                    }),
                    V::F(_) => None,
                })
                .collect();
            if !pts.is_empty() {
                out.push(SeriesV {
                    labels: s.labels,
                    drop_name: true,
                    pts,
                });
            }
        }
        if !self.opts.delayed_name_removal {
            self.materialize_names(&mut out)?;
        }
        Ok(Val::Vector(out))
    }

    /// `histogram_quantile`, `histogram_quantiles` and `histogram_fraction`.
    pub(crate) fn hist_quantile_fn(&mut self, name: &str, c: &Call, grid: Grid) -> Result<Val> {
        let n = grid.len();
        enum Mode {
            Quantile(Vec<Vec<f64>>, Option<String>),
            Fraction(Vec<f64>, Vec<f64>),
        }
        let (mode, vec_arg) = match name {
            "histogram_quantile" => (
                Mode::Quantile(vec![self.eval_scalar(&c.args[0], grid)?], None),
                &c.args[1],
            ),
            "histogram_quantiles" => {
                let label = match self.eval(&c.args[1], grid)? {
                    Val::Str(s) => s,
                    _ => {
                        return Err(QueryError::exec(
                            "histogram_quantiles: label must be a string",
                        ))
                    }
                };
                let mut qs = Vec::new();
                for a in &c.args[2..] {
                    qs.push(self.eval_scalar(a, grid)?);
                }
                (Mode::Quantile(qs, Some(label)), &c.args[0])
            }
            _ => (
                Mode::Fraction(
                    self.eval_scalar(&c.args[0], grid)?,
                    self.eval_scalar(&c.args[1], grid)?,
                ),
                &c.args[2],
            ),
        };
        let pos = vec_arg.pos();
        if let Mode::Quantile(qss, _) = &mode {
            for qs in qss {
                for q in qs {
                    if q.is_nan() || *q < 0.0 || *q > 1.0 {
                        self.annos.warn(
                            format!(
                                "quantile value should be between 0 and 1, got {}",
                                go_float_g(*q)
                            ),
                            c.args[if name == "histogram_quantile" { 0 } else { 2 }].pos(),
                        );
                        break;
                    }
                }
            }
        }
        let saved = std::mem::replace(&mut self.stats_decoding, false);
        let input = self.eval_vector(vec_arg, grid);
        self.stats_decoding = saved;
        let input = input?;

        // Classic buckets: group float series by labels without `le`.
        let mut groups: HashMap<Labels, usize> = HashMap::new();
        // (labels without `le`, any member drops its name, (bound, series)).
        type ClassicGroup = (Labels, bool, Vec<(f64, usize)>);
        let mut classic: Vec<ClassicGroup> = Vec::new();
        let mut native: Vec<usize> = Vec::new();
        for (i, s) in input.iter().enumerate() {
            let has_float = s.pts.iter().any(|p| matches!(p.v, V::F(_)));
            let has_hist = s.pts.iter().any(|p| matches!(p.v, V::H(_)));
            if has_hist {
                native.push(i);
            }
            if !has_float {
                continue;
            }
            let le = s.labels.get("le").unwrap_or("");
            let upper = match parse_le(le) {
                Some(u) => u,
                None => {
                    self.annos.warn(
                        with_metric_name(
                            &format!(
                                "bucket label \"le\" is missing or has a malformed value of {}",
                                crate::engine::annotations::go_quote(le)
                            ),
                            s.labels.get(METRIC_NAME).unwrap_or(""),
                        ),
                        pos,
                    );
                    continue;
                }
            };
            let key = s.labels.without(&["le"]);
            let gi = *groups.entry(key.clone()).or_insert_with(|| {
                classic.push((key, false, Vec::new()));
                classic.len() - 1
            });
            classic[gi].1 |= s.drop_name;
            classic[gi].2.push((upper, i));
        }
        // Native histograms that collide with a classic group at a step.
        let mut out: Vec<SeriesV> = Vec::new();
        let quantile_label = |labels: &Labels, m: &Mode, qi: usize, q: f64| -> Labels {
            match m {
                Mode::Quantile(_, Some(l)) => {
                    let _ = qi;
                    with_label(labels, l, &quantile_label_value(q))
                }
                _ => labels.clone(),
            }
        };
        let n_q = match &mode {
            Mode::Quantile(qs, _) => qs.len(),
            Mode::Fraction(..) => 1,
        };
        let mut native_blocked: HashMap<(usize, i64), ()> = HashMap::new();
        for &ni in &native {
            let key = input[ni].labels.without(&["le"]);
            if let Some(&gi) = groups.get(&key) {
                let members = &classic[gi].2;
                for p in &input[ni].pts {
                    if !matches!(p.v, V::H(_)) {
                        continue;
                    }
                    let collide = members
                        .iter()
                        .any(|(_, mi)| input[*mi].pts.binary_search_by_key(&p.t, |x| x.t).is_ok());
                    if collide {
                        self.annos.warn(
                            with_metric_name(
                                "vector contains a mix of classic and native histograms",
                                input[ni].labels.get(METRIC_NAME).unwrap_or(""),
                            ),
                            pos,
                        );
                        native_blocked.insert((gi, p.t), ());
                    }
                }
            }
        }
        for qi in 0..n_q {
            // classic groups
            for (gi, (labels, drop, members)) in classic.iter().enumerate() {
                // per step buckets
                let mut per_step: Vec<Vec<ClassicBucket>> = vec![Vec::new(); n];
                for (upper, mi) in members {
                    for p in &input[*mi].pts {
                        if let V::F(f) = p.v {
                            if let Some(v) = per_step.get_mut(grid.index(p.t)) {
                                v.push(ClassicBucket {
                                    upper: *upper,
                                    count: f,
                                });
                            }
                        }
                    }
                }
                let mut series_by_q: HashMap<u64, SeriesV> = HashMap::new();
                for (step, mut buckets) in per_step.into_iter().enumerate() {
                    if buckets.is_empty() {
                        continue;
                    }
                    let t = grid.t(step);
                    if native_blocked.contains_key(&(gi, t)) {
                        continue;
                    }
                    let (v, q) = match &mode {
                        Mode::Quantile(qs, _) => {
                            let q = qs[qi][step];
                            let (v, forced) = bucket_quantile(q, &mut buckets);
                            if forced {
                                let mname = members
                                    .first()
                                    .and_then(|(_, mi)| input[*mi].labels.get(METRIC_NAME))
                                    .unwrap_or("");
                                self.annos.info(
                                    with_metric_name(
                                        "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)",
                                        mname,
                                    ),
                                    pos,
                                );
                            }
                            (v, q)
                        }
                        Mode::Fraction(lo, hi) => {
                            (bucket_fraction(lo[step], hi[step], &mut buckets), 0.0)
                        }
                    };
                    let l = quantile_label(labels, &mode, qi, q);
                    let e = series_by_q.entry(q.to_bits()).or_insert_with(|| SeriesV {
                        labels: l,
                        drop_name: true,
                        pts: Vec::new(),
                    });
                    let _ = drop;
                    e.pts.push(Pt { t, v: V::F(v) });
                }
                let mut ss: Vec<SeriesV> = series_by_q.into_values().collect();
                ss.sort_by(|a, b| a.labels.cmp(&b.labels));
                out.extend(ss);
            }
            // native
            for &ni in &native {
                let s = &input[ni];
                let key = s.labels.without(&["le"]);
                let gi = groups.get(&key).copied();
                let mname = s.labels.get(METRIC_NAME).unwrap_or("").to_string();
                let mut series_by_q: HashMap<u64, SeriesV> = HashMap::new();
                for p in &s.pts {
                    let V::H(h) = &p.v else { continue };
                    if let Some(gi) = gi {
                        if native_blocked.contains_key(&(gi, p.t)) {
                            continue;
                        }
                    }
                    let step = grid.index(p.t);
                    let (v, q) = match &mode {
                        Mode::Quantile(qs, _) => {
                            let q = qs[qi][step];
                            let (v, info) = native_quantile(q, h);
                            match info {
                                NaNInfo::None => {}
                                NaNInfo::ResultNaN => self.annos.info(
                                    with_metric_name("input to histogram_quantile has NaN observations, result is NaN", &mname),
                                    pos,
                                ),
                                NaNInfo::Skewed => self.annos.info(
                                    with_metric_name(
                                        "input to histogram_quantile has NaN observations, result is skewed higher",
                                        &mname,
                                    ),
                                    pos,
                                ),
                            }
                            (v, q)
                        }
                        Mode::Fraction(lo, hi) => {
                            if h.sum.is_nan() {
                                self.annos.info(
                                    with_metric_name(
                                        "input to histogram_fraction has NaN observations, which are excluded from all fractions",
                                        &mname,
                                    ),
                                    pos,
                                );
                            }
                            (native_fraction(lo[step], hi[step], h), 0.0)
                        }
                    };
                    let l = quantile_label(&s.labels, &mode, qi, q);
                    let e = series_by_q.entry(q.to_bits()).or_insert_with(|| SeriesV {
                        labels: l,
                        drop_name: true,
                        pts: Vec::new(),
                    });
                    e.pts.push(Pt { t: p.t, v: V::F(v) });
                }
                let mut ss: Vec<SeriesV> = series_by_q.into_values().collect();
                ss.sort_by(|a, b| a.labels.cmp(&b.labels));
                out.extend(ss);
            }
        }
        // Merge series that ended up with the same labels (quantile varying
        // per step) before name handling.
        let mut merged: Vec<SeriesV> = Vec::new();
        let mut idx: HashMap<(Labels, bool), usize> = HashMap::new();
        for s in out {
            match idx.get(&(s.labels.clone(), s.drop_name)) {
                Some(&i) => {
                    let tgt: &mut SeriesV = &mut merged[i];
                    for p in s.pts {
                        if tgt.pts.iter().any(|x| x.t == p.t) {
                            return Err(QueryError::exec(
                                "vector cannot contain metrics with the same labelset",
                            ));
                        }
                        tgt.pts.push(p);
                    }
                    tgt.pts.sort_by_key(|p| p.t);
                }
                None => {
                    idx.insert((s.labels.clone(), s.drop_name), merged.len());
                    merged.push(s);
                }
            }
        }
        if !self.opts.delayed_name_removal || name == "histogram_quantiles" {
            self.materialize_names(&mut merged)?;
        }
        let _ = Arc::new(0);
        Ok(Val::Vector(merged))
    }
}

/// Label value for `histogram_quantiles`: shortest form, with `.0` kept
/// on integral values (`0.0`, `0.25`, `1.0`).
fn quantile_label_value(q: f64) -> String {
    if q.is_finite() && q.fract() == 0.0 && q.abs() < 1e21 {
        format!("{q:.1}")
    } else {
        go_float_g(q)
    }
}

fn parse_le(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    match t.to_ascii_lowercase().as_str() {
        "+inf" | "inf" => return Some(f64::INFINITY),
        "-inf" => return Some(f64::NEG_INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    t.parse::<f64>().ok()
}
