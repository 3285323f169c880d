//! The `anchored` and `smoothed` selector modifiers (upstream feature
//! `promql-extended-range-selectors`).
//!
//! `anchored` prepends the last sample at or before the window start
//! (within the lookback delta) and never extrapolates. `smoothed`
//! interpolates values at both window boundaries from the neighbouring
//! samples; counters are interpolated across a reset as restarting from
//! zero.

use std::sync::Arc;

use lookout_model::{CounterResetHint, FloatHistogram, FloatSample};

use super::range_fns::Window;
use super::*;
use crate::engine::annotations::{go_quote, with_metric_name};
use crate::engine::histogram as hist;

/// A sample of either kind.
#[derive(Clone, Debug)]
pub(crate) enum Pv {
    F(f64),
    H(Hist),
}

/// All samples of a series, floats and histograms merged by time.
pub(crate) fn merge_samples(fs: &[FloatSample], hs: &[(i64, Hist)]) -> Vec<(i64, Pv)> {
    let mut out = Vec::with_capacity(fs.len() + hs.len());
    let (mut i, mut j) = (0, 0);
    while i < fs.len() || j < hs.len() {
        if j >= hs.len() || (i < fs.len() && fs[i].t <= hs[j].0) {
            out.push((fs[i].t, Pv::F(fs[i].v)));
            i += 1;
        } else {
            out.push((hs[j].0, Pv::H(hs[j].1.clone())));
            j += 1;
        }
    }
    out
}

enum Interp {
    Value(Pv),
    MixedTypes,
    MixedSchemas,
}

/// Value at `t` between samples `p` (at or before) and `q` (after).
fn interpolate(p: &(i64, Pv), q: &(i64, Pv), t: i64, counter: bool) -> Interp {
    let frac = if q.0 == p.0 {
        0.0
    } else {
        (t - p.0) as f64 / (q.0 - p.0) as f64
    };
    match (&p.1, &q.1) {
        (Pv::F(a), Pv::F(b)) => {
            if counter && b < a {
                Interp::Value(Pv::F(b * frac))
            } else {
                Interp::Value(Pv::F(a + (b - a) * frac))
            }
        }
        (Pv::H(a), Pv::H(b)) => {
            let counter = counter && b.counter_reset_hint != CounterResetHint::Gauge;
            if a.uses_custom_buckets() != b.uses_custom_buckets() {
                return Interp::MixedSchemas;
            }
            if counter && hist::detect_reset(b, a) {
                let mut r = (**b).clone();
                hist::scale(&mut r, frac);
                return Interp::Value(Pv::H(Arc::new(r)));
            }
            match hist::sub(b, a) {
                Ok((mut d, _)) => {
                    hist::scale(&mut d, frac);
                    match hist::add(a, &d) {
                        Ok((mut r, _)) => {
                            r.counter_reset_hint = a.counter_reset_hint;
                            Interp::Value(Pv::H(Arc::new(r)))
                        }
                        Err(_) => Interp::MixedSchemas,
                    }
                }
                Err(_) => Interp::MixedSchemas,
            }
        }
        _ => Interp::MixedTypes,
    }
}

impl Evaluator<'_> {
    fn mixed_schema_warn(&mut self, metric: &str, pos: PosRange) {
        self.annos.warn(
            with_metric_name(
                "vector contains a mix of histograms with exponential and custom buckets schemas",
                metric,
            ),
            pos,
        );
    }

    fn mixed_types_warn(&mut self, metric: &str, pos: PosRange) {
        self.annos.warn(
            format!(
                "encountered a mix of histograms and floats for metric name {}",
                go_quote(metric)
            ),
            pos,
        );
    }

    /// Value of a `smoothed` instant selector at reference time `r`.
    pub(crate) fn smoothed_value(
        &mut self,
        all: &[(i64, Pv)],
        r: i64,
        metric: &str,
        pos: PosRange,
    ) -> Option<V> {
        let lookback = self.opts.lookback_delta;
        let idx = all.partition_point(|x| x.0 <= r);
        let prev = idx
            .checked_sub(1)
            .and_then(|i| all.get(i))
            .filter(|p| p.0 > r - lookback)?;
        let v = match all.get(idx) {
            None => prev.1.clone(),
            Some(next) => {
                if prev.0 == r {
                    prev.1.clone()
                } else {
                    match interpolate(prev, next, r, true) {
                        Interp::Value(Pv::F(_)) => match interpolate(prev, next, r, false) {
                            Interp::Value(v) => v,
                            _ => return None,
                        },
                        Interp::Value(v) => v,
                        Interp::MixedTypes => {
                            self.mixed_types_warn(metric, pos);
                            return None;
                        }
                        Interp::MixedSchemas => {
                            self.mixed_schema_warn(metric, pos);
                            return None;
                        }
                    }
                }
            }
        };
        Some(match v {
            Pv::F(f) => V::F(f),
            Pv::H(h) => V::H(h),
        })
    }

    /// Range functions over `anchored`/`smoothed` windows. `w` holds the
    /// whole series; the window is `(w.start, w.end]`.
    pub(crate) fn extended_kernel(
        &mut self,
        name: &str,
        w: &Window,
        rv: &RangeVal,
        metric: &str,
        c: &Call,
    ) -> Option<V> {
        let pos = c.args.first().map(|a| a.pos()).unwrap_or(c.pos);
        let lookback = self.opts.lookback_delta;
        let all = merge_samples(w.floats, w.hists);
        let lo = all.partition_point(|x| x.0 <= w.start);
        let hi = all.partition_point(|x| x.0 <= w.end);
        let inner = &all[lo..hi];
        let before = lo
            .checked_sub(1)
            .and_then(|i| all.get(i))
            .filter(|p| p.0 > w.start - lookback);
        let counter = matches!(name, "rate" | "increase");
        let mut pts: Vec<(i64, Pv)> = Vec::with_capacity(inner.len() + 2);
        if rv.anchored {
            if inner.is_empty() {
                return None;
            }
            if let Some(b) = before {
                pts.push(b.clone());
            }
            pts.extend(inner.iter().cloned());
        } else {
            let after = all.get(hi).filter(|p| p.0 <= w.end + lookback);
            if let Some(b) = before {
                if let Some(next) = inner.first().or(after) {
                    match interpolate(b, next, w.start, counter) {
                        Interp::Value(v) => pts.push((w.start, v)),
                        Interp::MixedTypes => {
                            self.mixed_types_warn(metric, pos);
                            return None;
                        }
                        Interp::MixedSchemas => {
                            self.mixed_schema_warn(metric, pos);
                            return None;
                        }
                    }
                }
            }
            pts.extend(inner.iter().cloned());
            if let Some(a) = after {
                if let Some(prev) = inner.last().or(before) {
                    match interpolate(prev, a, w.end, counter) {
                        Interp::Value(v) => pts.push((w.end, v)),
                        Interp::MixedTypes => {
                            self.mixed_types_warn(metric, pos);
                            return None;
                        }
                        Interp::MixedSchemas => {
                            self.mixed_schema_warn(metric, pos);
                            return None;
                        }
                    }
                }
            }
            if pts.is_empty() {
                return None;
            }
        }
        match name {
            "changes" | "resets" => {
                let mut n = 0;
                for p in pts.windows(2) {
                    let hit = match (&p[0].1, &p[1].1) {
                        (Pv::F(a), Pv::F(b)) => {
                            if name == "changes" {
                                !(a == b || (a.is_nan() && b.is_nan()))
                            } else {
                                b < a
                            }
                        }
                        (Pv::H(a), Pv::H(b)) => {
                            if name == "changes" {
                                !super::binop::hist_equal(a, b)
                            } else {
                                hist::detect_reset(b, a)
                            }
                        }
                        _ => true,
                    };
                    if hit {
                        n += 1;
                    }
                }
                Some(V::F(n as f64))
            }
            "rate" | "increase" | "delta" => self.extended_delta(name, &pts, w, metric, pos),
            _ => None,
        }
    }

    fn extended_delta(
        &mut self,
        name: &str,
        pts: &[(i64, Pv)],
        w: &Window,
        metric: &str,
        pos: PosRange,
    ) -> Option<V> {
        let is_rate = name == "rate";
        let counter = name != "delta";
        let range_secs = w.range as f64 / 1000.0;
        let n_f = pts.iter().filter(|p| matches!(p.1, Pv::F(_))).count();
        if n_f != 0 && n_f != pts.len() {
            self.mixed_types_warn(metric, pos);
            return None;
        }
        if n_f == pts.len() {
            let vals: Vec<f64> = pts
                .iter()
                .map(|p| match p.1 {
                    Pv::F(f) => f,
                    Pv::H(_) => 0.0,
                })
                .collect();
            let first = *vals.first()?;
            let last = *vals.last()?;
            let mut r = last - first;
            if counter {
                for w2 in vals.windows(2) {
                    if w2[1] < w2[0] {
                        r += w2[0];
                    }
                }
            }
            if is_rate {
                r /= range_secs;
            }
            return Some(V::F(r));
        }
        let hs: Vec<&Hist> = pts
            .iter()
            .filter_map(|p| match &p.1 {
                Pv::H(h) => Some(h),
                Pv::F(_) => None,
            })
            .collect();
        use CounterResetHint::Gauge;
        if counter {
            if hs.iter().any(|h| h.counter_reset_hint == Gauge) {
                self.annos.warn(
                    format!(
                        "this native histogram metric is not a counter: {}",
                        go_quote(metric)
                    ),
                    pos,
                );
            }
        } else if hs.first().map(|h| h.counter_reset_hint) != Some(Gauge)
            || hs.last().map(|h| h.counter_reset_hint) != Some(Gauge)
        {
            self.annos.warn(
                format!(
                    "this native histogram metric is not a gauge: {}",
                    go_quote(metric)
                ),
                pos,
            );
        }
        let first = hs.first()?;
        let last = hs.last()?;
        let mut acc: FloatHistogram = if !counter {
            match hist::sub(last, first) {
                Ok((r, _)) => r,
                Err(_) => {
                    self.mixed_schema_warn(metric, pos);
                    return None;
                }
            }
        } else {
            // Pairwise: a reset contributes the post-reset value.
            let mut acc: Option<FloatHistogram> = None;
            for p in hs.windows(2) {
                // Hints are ignored here: boundary points are interpolated,
                // so a stored hint would count a reset twice.
                let mut probe = (**p[1]).clone();
                probe.counter_reset_hint = CounterResetHint::Unknown;
                let piece = if hist::detect_reset(&probe, p[0]) {
                    (**p[1]).clone()
                } else {
                    match hist::sub(p[1], p[0]) {
                        Ok((d, _)) => d,
                        Err(_) => {
                            self.mixed_schema_warn(metric, pos);
                            return None;
                        }
                    }
                };
                acc = Some(match acc {
                    None => piece,
                    Some(a) => match hist::add(&a, &piece) {
                        Ok((r, _)) => r,
                        Err(_) => {
                            self.mixed_schema_warn(metric, pos);
                            return None;
                        }
                    },
                });
            }
            match acc {
                Some(a) => a,
                None => {
                    let mut z: FloatHistogram = (***first).clone();
                    hist::scale(&mut z, 0.0);
                    z
                }
            }
        };
        if is_rate {
            hist::divide(&mut acc, range_secs);
        }
        acc.counter_reset_hint = Gauge;
        hist::compact(&mut acc);
        Some(V::H(Arc::new(acc)))
    }
}
