//! Functions over range vectors: `rate` and friends, `*_over_time`,
//! `deriv`, `predict_linear`, `changes`, `resets`, smoothing.

use std::sync::Arc;

use lookout_model::{FloatHistogram, FloatSample, METRIC_NAME};

use super::aggregate::kahan_inc;
use super::*;
use crate::engine::annotations::{go_float_g, go_quote, with_metric_name};
use crate::engine::histogram as hist;

/// Names of functions that take a range vector.
pub(crate) const RANGE_FUNCTIONS: &[&str] = &[
    "rate",
    "increase",
    "delta",
    "irate",
    "idelta",
    "deriv",
    "predict_linear",
    "changes",
    "resets",
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "sum_over_time",
    "count_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "last_over_time",
    "first_over_time",
    "present_over_time",
    "absent_over_time",
    "quantile_over_time",
    "mad_over_time",
    "ts_of_first_over_time",
    "ts_of_last_over_time",
    "ts_of_min_over_time",
    "ts_of_max_over_time",
    "double_exponential_smoothing",
    "holt_winters",
];

/// Prometheus' extrapolation of a window's increase to the window edges:
/// the factor to multiply the sampled increase (`result_count`) by.
/// `samples` is (first t, last t, sample count - 1); `window` is (start,
/// end, range) in ms.
fn extrapolation_factor(
    samples: (i64, i64, usize),
    first_v: f64,
    result_count: f64,
    window: (i64, i64, i64),
    is_counter: bool,
    is_rate: bool,
) -> f64 {
    let (first_t, last_t, n_minus_one) = samples;
    let (range_start, range_end, range) = window;
    let mut to_start = (first_t - range_start) as f64 / 1000.0;
    let mut to_end = (range_end - last_t) as f64 / 1000.0;
    let sampled = (last_t - first_t) as f64 / 1000.0;
    let avg_between = sampled / n_minus_one as f64;
    let threshold = avg_between * 1.1;
    if to_start >= threshold {
        to_start = avg_between / 2.0;
    }
    if is_counter && result_count > 0.0 && first_v >= 0.0 {
        let to_zero = sampled * (first_v / result_count);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = avg_between / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if is_rate {
        factor /= range as f64 / 1000.0;
    }
    factor
}

/// `rate`, `increase` or `delta` of float samples in one window (`None`
/// with fewer than two samples). Float-only windows raise no annotation,
/// so this runs outside the evaluator, possibly on another thread.
fn float_extrapolated_rate(
    fs: &[FloatSample],
    window: (i64, i64, i64),
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    if fs.len() < 2 {
        return None;
    }
    let n_minus_one = fs.len() - 1;
    let mut result = fs[n_minus_one].v - fs[0].v;
    if is_counter {
        let mut prev = fs[0].v;
        for p in &fs[1..] {
            if p.v < prev {
                result += prev;
            }
            prev = p.v;
        }
    }
    let factor = extrapolation_factor(
        (fs[0].t, fs[n_minus_one].t, n_minus_one),
        fs[0].v,
        result,
        window,
        is_counter,
        is_rate,
    );
    Some(result * factor)
}

/// Quantile of `vals` with linear interpolation (sorts in place).
pub(crate) fn quantile(q: f64, vals: &mut [f64]) -> f64 {
    if vals.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    // NaN sorts as the smallest value, as upstream's value heap does.
    vals.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    });
    let n = vals.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let w = rank - rank.floor();
    vals[lower as usize] * (1.0 - w) + vals[upper as usize] * w
}

/// Slope and intercept of a least-squares fit, x relative to `intercept_t`.
pub(crate) fn linear_regression(s: &[FloatSample], intercept_t: i64) -> (f64, f64) {
    let (mut n, mut sx, mut cx, mut sy, mut cy, mut sxy, mut cxy, mut sx2, mut cx2) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let init = s[0].v;
    let mut const_y = true;
    for (i, p) in s.iter().enumerate() {
        if const_y && i > 0 && p.v != init {
            const_y = false;
        }
        n += 1.0;
        let x = (p.t - intercept_t) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(p.v, sy, cy);
        (sxy, cxy) = kahan_inc(x * p.v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    if const_y {
        if init.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init);
    }
    sx += cx;
    sy += cy;
    sxy += cxy;
    sx2 += cx2;
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

/// A window of one series at one step.
pub(crate) struct Window<'a> {
    pub floats: &'a [FloatSample],
    pub hists: &'a [(i64, Hist)],
    /// Exclusive start and inclusive end of the window, ms.
    pub start: i64,
    pub end: i64,
    /// The step's evaluation time.
    pub t: i64,
    pub range: i64,
}

impl Evaluator<'_> {
    pub(crate) fn eval_range_call(&mut self, c: &Call, grid: Grid) -> Result<Val> {
        let name = c.func.name;
        let margs: Vec<&Expr> = c.args.iter().collect();
        let (matrix_idx, scalar_idx): (usize, Vec<usize>) = match name {
            "quantile_over_time" => (1, vec![0]),
            "predict_linear" => (0, vec![1]),
            "double_exponential_smoothing" | "holt_winters" => (0, vec![1, 2]),
            _ => (0, vec![]),
        };
        let mut scalars: Vec<Vec<f64>> = Vec::new();
        for i in scalar_idx {
            let Some(e) = margs.get(i) else {
                return Err(QueryError::exec(format!("missing argument to {name}")));
            };
            scalars.push(self.eval_scalar(e, grid)?);
        }
        let Some(mexpr) = margs.get(matrix_idx) else {
            return Err(QueryError::exec(format!("missing argument to {name}")));
        };
        let rv = self.eval_range(mexpr, grid)?;
        if rv.smoothed && !matches!(name, "delta" | "increase" | "rate") {
            return Err(QueryError::exec(format!(
                "smoothed modifier can only be used with: delta, increase, rate - not with {name}"
            )));
        }
        if rv.anchored && !matches!(name, "changes" | "delta" | "increase" | "rate" | "resets") {
            return Err(QueryError::exec(format!(
                "anchored modifier can only be used with: changes, delta, increase, rate, resets - not with {name}"
            )));
        }
        if name == "quantile_over_time" {
            for q in &scalars[0] {
                if q.is_nan() || *q < 0.0 || *q > 1.0 {
                    self.annos.warn(
                        format!(
                            "quantile value should be between 0 and 1, got {}",
                            go_float_g(*q)
                        ),
                        c.args[0].pos(),
                    );
                }
            }
        }
        if matches!(name, "double_exponential_smoothing" | "holt_winters") {
            for sf in &scalars[0] {
                if *sf <= 0.0 || *sf >= 1.0 {
                    return Err(QueryError::exec(format!(
                        "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
                    )));
                }
            }
            for tf in &scalars[1] {
                if *tf <= 0.0 || *tf >= 1.0 {
                    return Err(QueryError::exec(format!(
                        "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
                    )));
                }
            }
        }
        if name == "absent_over_time" {
            return Ok(Val::Vector(self.absent_over_time(c, &rv, grid)));
        }
        let keep_name = matches!(name, "last_over_time" | "first_over_time");
        // Where annotations point; found once, not per window.
        let matrix_pos = c
            .args
            .iter()
            .find(|a| matches!(a.value_type(), ValueType::Matrix))
            .map(|a| a.pos())
            .unwrap_or(c.pos);
        let sliding = match name {
            "max_over_time" => Some(true),
            "min_over_time" => Some(false),
            _ => None,
        };
        let n = grid.len();
        let mut out = Vec::with_capacity(rv.series.len());
        if matches!(name, "rate" | "increase" | "delta")
            && !rv.anchored
            && !rv.smoothed
            && rv.series.iter().all(|s| s.hists.is_empty())
        {
            // The dashboard case: float counters over a grid. Pure per
            // series, so large ones are split over the cores.
            self.check()?;
            let is_counter = name != "delta";
            let is_rate = name == "rate";
            let threads =
                par::threads_for(rv.series.len() * n, rv.series.len(), self.opts.max_threads);
            let all_pts = par::map(&rv.series, threads, |s| {
                let mut fc = Cursor::default();
                let mut pts = Vec::new();
                for i in 0..n {
                    let t = grid.t(i);
                    let end = rv.window_end(t);
                    let start = end - rv.range;
                    fc.advance(&s.floats, |x| x.t, start, end);
                    let window = (start, end, rv.range);
                    let fs = &s.floats[fc.lo..fc.hi];
                    if let Some(v) = float_extrapolated_rate(fs, window, is_counter, is_rate) {
                        pts.push(Pt { t, v: V::F(v) });
                    }
                }
                pts
            });
            self.check()?;
            for (s, pts) in rv.series.iter().zip(all_pts) {
                if pts.is_empty() {
                    continue;
                }
                let metric = s.labels.get(METRIC_NAME).unwrap_or("");
                if is_counter {
                    self.not_a_counter_info(metric, c.args[matrix_idx].pos());
                }
                out.push(SeriesV {
                    labels: s.labels.clone(),
                    drop_name: true,
                    pts,
                });
            }
            if !self.opts.delayed_name_removal {
                self.materialize_names(&mut out)?;
            }
            return Ok(Val::Vector(out));
        }
        for s in &rv.series {
            self.check()?;
            let metric = s.labels.get(METRIC_NAME).unwrap_or("").to_string();
            let mut fc = Cursor::default();
            let mut hc = Cursor::default();
            let mut pts = Vec::new();
            let mut any_float_out = false;
            if let (Some(max), false, false, true) =
                (sliding, rv.anchored, rv.smoothed, s.hists.is_empty())
            {
                sliding_extreme(&s.floats, grid, &rv, max, &mut pts);
                if !pts.is_empty() {
                    out.push(SeriesV {
                        labels: s.labels.clone(),
                        drop_name: s.drop_name || !keep_name,
                        pts,
                    });
                }
                continue;
            }
            for i in 0..n {
                let t = grid.t(i);
                let end = rv.window_end(t);
                let start = end - rv.range;
                let (fs, hs) = if rv.anchored || rv.smoothed {
                    (&s.floats[..], &s.hists[..])
                } else {
                    fc.advance(&s.floats, |x| x.t, start, end);
                    hc.advance(&s.hists, |x| x.0, start, end);
                    (&s.floats[fc.lo..fc.hi], &s.hists[hc.lo..hc.hi])
                };
                let w = Window {
                    floats: fs,
                    hists: hs,
                    start,
                    end,
                    t,
                    range: rv.range,
                };
                let params: Vec<f64> = scalars
                    .iter()
                    .map(|v| v.get(i).copied().unwrap_or(f64::NAN))
                    .collect();
                let v = if rv.anchored || rv.smoothed {
                    self.extended_kernel(name, &w, &rv, &metric, c)
                } else {
                    self.range_kernel(name, &w, &params, &metric, &rv, matrix_pos)
                };
                if let Some(v) = v {
                    if matches!(v, V::F(_)) {
                        any_float_out = true;
                    }
                    pts.push(Pt { t, v });
                }
            }
            if matches!(name, "rate" | "increase") && any_float_out {
                self.not_a_counter_info(&metric, c.args[matrix_idx].pos());
            }
            if !pts.is_empty() {
                out.push(SeriesV {
                    labels: s.labels.clone(),
                    drop_name: s.drop_name || !keep_name,
                    pts,
                });
            }
        }
        if !self.opts.delayed_name_removal {
            self.materialize_names(&mut out)?;
        }
        Ok(Val::Vector(out))
    }

    /// Prometheus' info for `rate`/`increase` over a float series whose
    /// name does not look like a counter's.
    fn not_a_counter_info(&mut self, metric: &str, pos: PosRange) {
        if !metric.is_empty()
            && !["_total", "_sum", "_count", "_bucket"]
                .iter()
                .any(|suf| metric.ends_with(suf))
        {
            self.annos.info(
                format!(
                    "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {}",
                    go_quote(metric)
                ),
                pos,
            );
        }
    }

    fn absent_over_time(&mut self, c: &Call, rv: &RangeVal, grid: Grid) -> Vec<SeriesV> {
        let n = grid.len();
        let mut present = vec![false; n];
        for s in &rv.series {
            let mut fc = Cursor::default();
            let mut hc = Cursor::default();
            for (i, p) in present.iter_mut().enumerate() {
                let end = rv.window_end(grid.t(i));
                let start = end - rv.range;
                fc.advance(&s.floats, |x| x.t, start, end);
                hc.advance(&s.hists, |x| x.0, start, end);
                if fc.hi > fc.lo || hc.hi > hc.lo {
                    *p = true;
                }
            }
        }
        let labels = absent_labels(c.args.first());
        let pts: Vec<Pt> = (0..n)
            .filter(|i| !present[*i])
            .map(|i| Pt {
                t: grid.t(i),
                v: V::F(1.0),
            })
            .collect();
        if pts.is_empty() {
            return Vec::new();
        }
        vec![SeriesV {
            labels,
            drop_name: false,
            pts,
        }]
    }

    /// One range function over one window.
    fn range_kernel(
        &mut self,
        name: &str,
        w: &Window,
        params: &[f64],
        metric: &str,
        rv: &RangeVal,
        pos: PosRange,
    ) -> Option<V> {
        let fs = w.floats;
        let hs = w.hists;
        if fs.is_empty() && hs.is_empty() {
            return None;
        }
        match name {
            "rate" | "increase" | "delta" => {
                let is_counter = name != "delta";
                let is_rate = name == "rate";
                self.extrapolated_rate(w, is_counter, is_rate, metric, pos)
            }
            "irate" | "idelta" => self.instant_value(w, name == "irate", metric, pos),
            "count_over_time" => Some(V::F((fs.len() + hs.len()) as f64)),
            "present_over_time" => Some(V::F(1.0)),
            "last_over_time" => last_sample(fs, hs).map(|(_, v)| v),
            "first_over_time" => first_sample(fs, hs).map(|(_, v)| v),
            "ts_of_last_over_time" => last_sample(fs, hs).map(|(t, _)| V::F(t as f64 / 1000.0)),
            "ts_of_first_over_time" => first_sample(fs, hs).map(|(t, _)| V::F(t as f64 / 1000.0)),
            "sum_over_time" | "avg_over_time" => {
                if !fs.is_empty() && !hs.is_empty() {
                    self.annos.warn(
                        format!(
                            "encountered a mix of histograms and floats for metric name {}",
                            go_quote(metric)
                        ),
                        pos,
                    );
                    return None;
                }
                if !hs.is_empty() {
                    return self
                        .sum_avg_hists(hs, name == "avg_over_time", metric, pos)
                        .map(V::H);
                }
                if name == "sum_over_time" {
                    let (mut s, mut comp) = (0.0, 0.0);
                    for p in fs {
                        (s, comp) = kahan_inc(p.v, s, comp);
                    }
                    Some(V::F(s + comp))
                } else {
                    Some(V::F(avg_floats(fs)))
                }
            }
            "min_over_time"
            | "max_over_time"
            | "ts_of_min_over_time"
            | "ts_of_max_over_time"
            | "stddev_over_time"
            | "stdvar_over_time"
            | "quantile_over_time"
            | "mad_over_time"
            | "deriv"
            | "predict_linear"
            | "double_exponential_smoothing"
            | "holt_winters" => {
                if fs.is_empty() {
                    return None;
                }
                if !hs.is_empty() {
                    self.annos.info(
                        format!(
                            "ignored histograms in a range containing both floats and histograms for metric name {}",
                            go_quote(metric)
                        ),
                        pos,
                    );
                }
                float_kernel(name, fs, params, w)
            }
            "changes" => Some(V::F(changes(fs, hs) as f64)),
            "resets" => Some(V::F(resets(fs, hs) as f64)),
            _ => {
                let _ = rv;
                None
            }
        }
    }

    fn sum_avg_hists(
        &mut self,
        hs: &[(i64, Hist)],
        avg: bool,
        metric: &str,
        pos: PosRange,
    ) -> Option<Hist> {
        let mut acc = super::hist_acc::HistAcc::new(&hs[0].1, avg);
        for (_, h) in hs.iter().skip(1) {
            if acc.add(h).is_err() {
                self.annos.warn(
                    with_metric_name(
                        "vector contains a mix of histograms with exponential and custom buckets schemas",
                        metric,
                    ),
                    pos,
                );
                return None;
            }
        }
        if acc.flags.counter_reset_collision {
            self.annos.warn(
                "conflicting counter resets during histogram aggregation",
                pos,
            );
        }
        if acc.flags.nhcb_reconciled {
            self.annos.info(
                "mismatched custom buckets were reconciled during aggregation",
                pos,
            );
        }
        Some(Arc::new(acc.result()))
    }

    /// `rate`, `increase` and `delta` with Prometheus' extrapolation.
    fn extrapolated_rate(
        &mut self,
        w: &Window,
        is_counter: bool,
        is_rate: bool,
        metric: &str,
        pos: PosRange,
    ) -> Option<V> {
        let fs = w.floats;
        let hs = w.hists;
        if !fs.is_empty() && !hs.is_empty() {
            self.annos.warn(
                format!(
                    "encountered a mix of histograms and floats for metric name {}",
                    go_quote(metric)
                ),
                pos,
            );
            return None;
        }
        if hs.len() < 2 {
            return float_extrapolated_rate(fs, (w.start, w.end, w.range), is_counter, is_rate)
                .map(V::F);
        }
        let n_minus_one = hs.len() - 1;
        let increase = self.histogram_rate(hs, is_counter, metric, pos)?;
        let factor = extrapolation_factor(
            (hs[0].0, hs[n_minus_one].0, n_minus_one),
            hs[0].1.count,
            increase.count,
            (w.start, w.end, w.range),
            is_counter,
            is_rate,
        );
        let mut h = (*increase).clone();
        hist::scale(&mut h, factor);
        Some(V::H(Arc::new(h)))
    }

    /// Increase of a histogram series over a window, counter resets handled
    /// pairwise (a reset contributes the post-reset value).
    fn histogram_rate(
        &mut self,
        hs: &[(i64, Hist)],
        is_counter: bool,
        metric: &str,
        pos: PosRange,
    ) -> Option<Hist> {
        let first = &hs[0].1;
        let last = &hs[hs.len() - 1].1;
        use lookout_model::CounterResetHint::Gauge;
        if is_counter {
            if hs.iter().any(|(_, h)| h.counter_reset_hint == Gauge) {
                self.annos.warn(
                    format!(
                        "this native histogram metric is not a counter: {}",
                        go_quote(metric)
                    ),
                    pos,
                );
            }
        } else if first.counter_reset_hint != Gauge || last.counter_reset_hint != Gauge {
            self.annos.warn(
                format!(
                    "this native histogram metric is not a gauge: {}",
                    go_quote(metric)
                ),
                pos,
            );
        }
        let mix_warn = |s: &mut Self| {
            s.annos.warn(
                with_metric_name(
                    "vector contains a mix of histograms with exponential and custom buckets schemas",
                    metric,
                ),
                pos,
            );
        };
        let mut reconciled = false;
        let result: FloatHistogram = if !is_counter {
            match hist::sub(last, first) {
                Ok((r, f)) => {
                    reconciled |= f.nhcb_reconciled;
                    r
                }
                Err(_) => {
                    mix_warn(self);
                    return None;
                }
            }
        } else {
            // Segments between resets: sum of (segment last - segment first)
            // plus each post-reset value's full count.
            let mut acc: Option<FloatHistogram> = None;
            let mut seg_start = 0usize;
            let add =
                |acc: &mut Option<FloatHistogram>, h: FloatHistogram, rec: &mut bool| -> bool {
                    match acc.take() {
                        None => {
                            *acc = Some(h);
                            true
                        }
                        Some(a) => match hist::add(&a, &h) {
                            Ok((r, f)) => {
                                *rec |= f.nhcb_reconciled;
                                *acc = Some(r);
                                true
                            }
                            Err(_) => false,
                        },
                    }
                };
            for k in 1..=hs.len() {
                let boundary = k == hs.len() || hist::detect_reset(&hs[k].1, &hs[k - 1].1);
                if !boundary {
                    continue;
                }
                // segment [seg_start, k-1]
                let seg_last = &hs[k - 1].1;
                if seg_start == 0 && k == 1 {
                    // A single-sample first segment contributes nothing.
                    seg_start = k;
                    continue;
                }
                let piece = if seg_start == 0 {
                    match hist::sub(seg_last, &hs[0].1) {
                        Ok((r, f)) => {
                            reconciled |= f.nhcb_reconciled;
                            r
                        }
                        Err(_) => {
                            mix_warn(self);
                            return None;
                        }
                    }
                } else {
                    (**seg_last).clone()
                };
                if !add(&mut acc, piece, &mut reconciled) {
                    mix_warn(self);
                    return None;
                }
                seg_start = k;
            }
            acc?
        };
        if reconciled {
            self.annos.info(
                "mismatched custom buckets were reconciled during subtraction",
                pos,
            );
        }
        let mut h = result;
        h.counter_reset_hint = Gauge;
        hist::compact(&mut h);
        Some(Arc::new(h))
    }

    fn instant_value(
        &mut self,
        w: &Window,
        is_rate: bool,
        metric: &str,
        pos: PosRange,
    ) -> Option<V> {
        // last two samples, floats and histograms merged by time
        let mut last: Vec<(i64, V)> = Vec::with_capacity(2);
        let (mut fi, mut hi) = (w.floats.len(), w.hists.len());
        while last.len() < 2 && (fi > 0 || hi > 0) {
            let tf = if fi > 0 {
                Some(w.floats[fi - 1].t)
            } else {
                None
            };
            let th = if hi > 0 {
                Some(w.hists[hi - 1].0)
            } else {
                None
            };
            if th.is_some() && (tf.is_none() || th > tf) {
                hi -= 1;
                last.push((w.hists[hi].0, V::H(w.hists[hi].1.clone())));
            } else {
                fi -= 1;
                last.push((w.floats[fi].t, V::F(w.floats[fi].v)));
            }
        }
        if last.len() < 2 {
            return None;
        }
        let (t1, cur) = &last[0];
        let (t0, prev) = &last[1];
        let interval = (*t1 - *t0) as f64 / 1000.0;
        if interval == 0.0 {
            return None;
        }
        match (prev, cur) {
            (V::F(p), V::F(c)) => {
                let mut r = if is_rate && c < p { *c } else { c - p };
                if is_rate {
                    r /= interval;
                }
                Some(V::F(r))
            }
            (V::H(p), V::H(c)) => {
                use lookout_model::CounterResetHint::Gauge;
                let mut r: FloatHistogram = if is_rate && hist::detect_reset(c, p) {
                    (**c).clone()
                } else {
                    match hist::sub(c, p) {
                        Ok((r, f)) => {
                            if f.nhcb_reconciled {
                                self.annos.info(
                                    "mismatched custom buckets were reconciled during subtraction",
                                    pos,
                                );
                            }
                            r
                        }
                        Err(_) => {
                            self.annos.warn(
                                with_metric_name(
                                    "vector contains a mix of histograms with exponential and custom buckets schemas",
                                    metric,
                                ),
                                pos,
                            );
                            return None;
                        }
                    }
                };
                if is_rate {
                    if c.counter_reset_hint == Gauge || p.counter_reset_hint == Gauge {
                        self.annos.warn(
                            format!(
                                "this native histogram metric is not a counter: {}",
                                go_quote(metric)
                            ),
                            pos,
                        );
                    }
                    hist::divide(&mut r, interval);
                } else if c.counter_reset_hint != Gauge || p.counter_reset_hint != Gauge {
                    self.annos.warn(
                        format!(
                            "this native histogram metric is not a gauge: {}",
                            go_quote(metric)
                        ),
                        pos,
                    );
                }
                r.counter_reset_hint = Gauge;
                hist::compact(&mut r);
                Some(V::H(Arc::new(r)))
            }
            _ => {
                self.annos.warn(
                    format!(
                        "encountered a mix of histograms and floats for metric name {}",
                        go_quote(metric)
                    ),
                    pos,
                );
                None
            }
        }
    }
}

fn last_sample(fs: &[FloatSample], hs: &[(i64, Hist)]) -> Option<(i64, V)> {
    match (fs.last(), hs.last()) {
        (Some(f), Some(h)) if h.0 > f.t => Some((h.0, V::H(h.1.clone()))),
        (Some(f), _) => Some((f.t, V::F(f.v))),
        (None, Some(h)) => Some((h.0, V::H(h.1.clone()))),
        (None, None) => None,
    }
}

fn first_sample(fs: &[FloatSample], hs: &[(i64, Hist)]) -> Option<(i64, V)> {
    match (fs.first(), hs.first()) {
        (Some(f), Some(h)) if h.0 < f.t => Some((h.0, V::H(h.1.clone()))),
        (Some(f), _) => Some((f.t, V::F(f.v))),
        (None, Some(h)) => Some((h.0, V::H(h.1.clone()))),
        (None, None) => None,
    }
}

pub(crate) fn avg_floats(fs: &[FloatSample]) -> f64 {
    let (mut sum, mut c, mut mean, mut incremental) = (0.0f64, 0.0f64, 0.0f64, false);
    for (k, p) in fs.iter().enumerate() {
        let f = p.v;
        let q = (k + 1) as f64;
        if !incremental {
            let (ns, nc) = kahan_inc(f, sum, c);
            if !ns.is_infinite() {
                sum = ns;
                c = nc;
                continue;
            }
            incremental = true;
            if k == 0 {
                mean = 0.0;
                c = 0.0;
            } else {
                mean = sum / (q - 1.0);
                c /= q - 1.0;
            }
        }
        if mean.is_infinite() {
            if f.is_infinite() && (mean > 0.0) == (f > 0.0) {
                continue;
            }
            if !f.is_infinite() && !f.is_nan() {
                continue;
            }
        }
        let cur = mean + c;
        (mean, c) = kahan_inc(f / q - cur / q, mean, c);
    }
    if incremental {
        mean + c
    } else {
        (sum + c) / fs.len() as f64
    }
}

/// `max_over_time` (`max`) or `min_over_time` of a float-only series at
/// every step, in one pass: a monotonic deque of sample indices holds the
/// window's candidates, so each sample is pushed and popped once instead of
/// being rescanned by every overlapping window. Same answers as the
/// per-window scan: NaN loses to any number (an all-NaN window gives NaN)
/// and among equal extremes the earliest sample wins (only strictly better
/// values displace a candidate).
fn sliding_extreme(fs: &[FloatSample], grid: Grid, rv: &RangeVal, max: bool, pts: &mut Vec<Pt>) {
    let better = |a: f64, b: f64| if max { a > b } else { a < b };
    let mut deque: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
    let mut cur = Cursor::default();
    let mut pushed = 0usize;
    let mut prev_end = i64::MIN;
    for i in 0..grid.len() {
        let t = grid.t(i);
        let end = rv.window_end(t);
        let start = end - rv.range;
        cur.advance(fs, |x| x.t, start, end);
        if end < prev_end {
            // Windows never move back on a grid; restart if one ever does.
            deque.clear();
            pushed = cur.lo;
        }
        prev_end = end;
        // Admit samples up to the window's end.
        while pushed < cur.hi {
            let v = fs[pushed].v;
            if !v.is_nan() {
                while deque.back().is_some_and(|&b| better(v, fs[b].v)) {
                    deque.pop_back();
                }
                deque.push_back(pushed);
            }
            pushed += 1;
        }
        // Retire samples that left at the start.
        while deque.front().is_some_and(|&f| f < cur.lo) {
            deque.pop_front();
        }
        if cur.hi > cur.lo {
            let v = deque.front().map_or(f64::NAN, |&f| fs[f].v);
            pts.push(Pt { t, v: V::F(v) });
        }
    }
}

fn float_kernel(name: &str, fs: &[FloatSample], params: &[f64], w: &Window) -> Option<V> {
    match name {
        "min_over_time" | "ts_of_min_over_time" => {
            let mut best = fs[0];
            for p in &fs[1..] {
                if p.v < best.v
                    || best.v.is_nan()
                    || (name == "ts_of_min_over_time" && p.v == best.v)
                {
                    best = *p;
                }
            }
            Some(V::F(if name == "min_over_time" {
                best.v
            } else {
                best.t as f64 / 1000.0
            }))
        }
        "max_over_time" | "ts_of_max_over_time" => {
            let mut best = fs[0];
            for p in &fs[1..] {
                if p.v > best.v
                    || best.v.is_nan()
                    || (name == "ts_of_max_over_time" && p.v == best.v)
                {
                    best = *p;
                }
            }
            Some(V::F(if name == "max_over_time" {
                best.v
            } else {
                best.t as f64 / 1000.0
            }))
        }
        "stddev_over_time" | "stdvar_over_time" => {
            let (mut count, mut mean, mut cm, mut aux, mut ca) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for p in fs {
                count += 1.0;
                let delta = p.v - (mean + cm);
                (mean, cm) = kahan_inc(delta / count, mean, cm);
                (aux, ca) = kahan_inc(delta * (p.v - (mean + cm)), aux, ca);
            }
            let var = (aux + ca) / count;
            Some(V::F(if name == "stddev_over_time" {
                var.sqrt()
            } else {
                var
            }))
        }
        "quantile_over_time" => {
            let mut vals: Vec<f64> = fs.iter().map(|p| p.v).collect();
            Some(V::F(quantile(
                params.first().copied().unwrap_or(f64::NAN),
                &mut vals,
            )))
        }
        "mad_over_time" => {
            let mut vals: Vec<f64> = fs.iter().map(|p| p.v).collect();
            if vals.iter().any(|v| v.is_nan()) {
                return Some(V::F(f64::NAN));
            }
            let med = quantile(0.5, &mut vals);
            let mut dev: Vec<f64> = vals.iter().map(|v| (v - med).abs()).collect();
            Some(V::F(quantile(0.5, &mut dev)))
        }
        "deriv" => {
            if fs.len() < 2 {
                return None;
            }
            Some(V::F(linear_regression(fs, fs[0].t).0))
        }
        "predict_linear" => {
            if fs.len() < 2 {
                return None;
            }
            let (slope, intercept) = linear_regression(fs, w.t);
            Some(V::F(
                slope * params.first().copied().unwrap_or(f64::NAN) + intercept,
            ))
        }
        "double_exponential_smoothing" | "holt_winters" => {
            if fs.len() < 2 {
                return None;
            }
            let sf = params.first().copied().unwrap_or(f64::NAN);
            let tf = params.get(1).copied().unwrap_or(f64::NAN);
            let mut s0 = 0.0;
            let mut s1 = fs[0].v;
            let mut b = fs[1].v - fs[0].v;
            for (i, p) in fs.iter().enumerate().skip(1) {
                let x = sf * p.v;
                if i > 1 {
                    b = tf * (s1 - s0) + (1.0 - tf) * b;
                }
                let y = (1.0 - sf) * (s1 + b);
                s0 = s1;
                s1 = x + y;
            }
            Some(V::F(s1))
        }
        _ => None,
    }
}

fn merged<'a>(fs: &'a [FloatSample], hs: &'a [(i64, Hist)]) -> Vec<(i64, Result<f64, &'a Hist>)> {
    let mut out = Vec::with_capacity(fs.len() + hs.len());
    let (mut i, mut j) = (0, 0);
    while i < fs.len() || j < hs.len() {
        if j >= hs.len() || (i < fs.len() && fs[i].t <= hs[j].0) {
            out.push((fs[i].t, Ok(fs[i].v)));
            i += 1;
        } else {
            out.push((hs[j].0, Err(&hs[j].1)));
            j += 1;
        }
    }
    out
}

fn changes(fs: &[FloatSample], hs: &[(i64, Hist)]) -> usize {
    let m = merged(fs, hs);
    let mut n = 0;
    for w in m.windows(2) {
        let changed = match (&w[0].1, &w[1].1) {
            (Ok(a), Ok(b)) => !(a == b || (a.is_nan() && b.is_nan())),
            (Err(a), Err(b)) => !super::binop::hist_equal(a, b),
            _ => true,
        };
        if changed {
            n += 1;
        }
    }
    n
}

fn resets(fs: &[FloatSample], hs: &[(i64, Hist)]) -> usize {
    let m = merged(fs, hs);
    let mut n = 0;
    for w in m.windows(2) {
        let reset = match (&w[0].1, &w[1].1) {
            (Ok(a), Ok(b)) => b < a,
            (Err(a), Err(b)) => hist::detect_reset(b, a),
            _ => true,
        };
        if reset {
            n += 1;
        }
    }
    n
}

/// Labels for `absent`/`absent_over_time` from the argument's equality
/// matchers.
pub(crate) fn absent_labels(arg: Option<&Expr>) -> lookout_model::Labels {
    let mut e = arg;
    while let Some(Expr::Paren(p)) = e {
        e = Some(&p.expr);
    }
    let matchers = match e {
        Some(Expr::VectorSelector(vs)) => &vs.matchers,
        Some(Expr::MatrixSelector(ms)) => &ms.selector.matchers,
        _ => return lookout_model::Labels::empty(),
    };
    let mut b = lookout_model::LabelsBuilder::new();
    let mut has: Vec<&str> = Vec::new();
    for m in matchers {
        if m.name == METRIC_NAME {
            continue;
        }
        if m.op == lookout_model::MatchOp::Equal && !has.contains(&m.name.as_str()) {
            b.set(m.name.clone(), m.value.clone());
            has.push(&m.name);
        } else {
            b.del(&m.name);
        }
    }
    b.into_labels()
}

#[cfg(test)]
mod sliding_tests {
    use super::*;

    /// The per-window rule the sliding version must reproduce.
    fn scan(fs: &[FloatSample], max: bool) -> f64 {
        let mut best = fs[0].v;
        for p in &fs[1..] {
            let better = if max { p.v > best } else { p.v < best };
            if better || best.is_nan() {
                best = p.v;
            }
        }
        best
    }

    #[test]
    fn sliding_extreme_matches_per_window_scan() {
        let choices = [f64::NAN, -0.0, 0.0, 1.0, 2.0, -3.0, 2.0, f64::INFINITY];
        let mut x: u64 = 12345;
        let mut next = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            x >> 33
        };
        for case in 0..200 {
            let mut t = (next() % 50) as i64;
            let fs: Vec<FloatSample> = (0..(next() % 120))
                .map(|_| {
                    t += 1 + (next() % 40) as i64;
                    FloatSample {
                        t,
                        v: choices[(next() % choices.len() as u64) as usize],
                    }
                })
                .collect();
            let rv = RangeVal {
                series: Vec::new(),
                range: 1 + (next() % 300) as i64,
                offset: (next() % 20) as i64,
                at: (case % 7 == 0).then_some((next() % 2000) as i64),
                anchored: false,
                smoothed: false,
            };
            let grid = Grid {
                start: (next() % 100) as i64,
                end: 2500,
                step: 1 + (next() % 60) as i64,
            };
            for max in [true, false] {
                let mut got = Vec::new();
                sliding_extreme(&fs, grid, &rv, max, &mut got);
                let mut want = Vec::new();
                for i in 0..grid.len() {
                    let t = grid.t(i);
                    let end = rv.window_end(t);
                    let w: Vec<FloatSample> = fs
                        .iter()
                        .copied()
                        .filter(|s| s.t > end - rv.range && s.t <= end)
                        .collect();
                    if !w.is_empty() {
                        want.push((t, scan(&w, max).to_bits()));
                    }
                }
                let got: Vec<(i64, u64)> = got
                    .iter()
                    .map(|p| match p.v {
                        V::F(v) => (p.t, v.to_bits()),
                        V::H(_) => (p.t, 0),
                    })
                    .collect();
                assert_eq!(got, want, "case {case} max={max}");
            }
        }
    }
}
