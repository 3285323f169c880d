//! The evaluator: walks the AST over a grid of steps.

mod aggregate;
mod binop;
mod extended;
mod functions;
mod hist_acc;
mod hist_fns;
mod label_fns;
mod par;
mod range_fns;
pub(crate) mod types;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use lookout_model::storage::{Querier, SelectHints};
use lookout_model::{is_stale_nan, Labels, LabelsBuilder, METRIC_NAME};

use super::annotations::Annotations;
use super::error::{QueryError, Result};
use super::EngineOptions;
use crate::parser::ast::*;
pub(crate) use types::*;

/// A flag the caller sets to abandon a running query.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A fresh, untripped token.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trips the token; the query fails with `canceled` at its next check.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether the token was tripped.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Labels dropped together with the metric name.
pub(crate) const RESERVED_METADATA: [&str; 3] = [METRIC_NAME, "__type__", "__unit__"];

pub(crate) fn drop_metric_name(l: &Labels) -> Labels {
    if !l
        .iter()
        .any(|x| RESERVED_METADATA.contains(&x.name.as_str()))
    {
        return l.clone();
    }
    l.without(&RESERVED_METADATA)
}

/// Query-wide state of one evaluation.
pub(crate) struct Evaluator<'a> {
    pub q: &'a dyn Querier,
    pub opts: &'a EngineOptions,
    pub annos: Annotations,
    pub cancel: Option<&'a CancelToken>,
    pub deadline: Option<Instant>,
    pub samples: usize,
    pub peak_samples: usize,
    /// The query's own start, end and step (for `@ start()`, `step()`...).
    pub qstart: i64,
    pub qend: i64,
    pub qstep: i64,
    /// Set while evaluating below `histogram_count/sum/avg` (upstream's
    /// histogram-stats decoding): histograms lose their buckets and get
    /// counter-reset hints from on-the-fly detection.
    pub stats_decoding: bool,
    checks: u32,
}

impl<'a> Evaluator<'a> {
    pub fn new(
        q: &'a dyn Querier,
        opts: &'a EngineOptions,
        cancel: Option<&'a CancelToken>,
        grid: Grid,
    ) -> Self {
        let deadline = opts.timeout.map(|d| Instant::now() + d);
        Evaluator {
            q,
            opts,
            annos: Annotations::default(),
            cancel,
            deadline,
            samples: 0,
            peak_samples: 0,
            qstart: grid.start,
            qend: grid.end,
            qstep: if grid.start == grid.end { 0 } else { grid.step },
            stats_decoding: false,
            checks: 0,
        }
    }

    /// Checks cancellation and the deadline.
    pub fn check(&mut self) -> Result<()> {
        self.checks = self.checks.wrapping_add(1);
        if let Some(c) = self.cancel {
            if c.is_cancelled() {
                return Err(QueryError::Canceled("query execution".into()));
            }
        }
        if self.checks % 64 == 1 {
            if let Some(d) = self.deadline {
                if Instant::now() > d {
                    return Err(QueryError::Timeout("query execution".into()));
                }
            }
        }
        Ok(())
    }

    /// Accounts `n` samples held in memory, failing past the limit.
    pub fn add_samples(&mut self, n: usize) -> Result<()> {
        self.samples += n;
        if self.samples > self.opts.max_samples {
            return Err(QueryError::TooManySamples("query execution".into()));
        }
        self.peak_samples = self.peak_samples.max(self.samples);
        Ok(())
    }

    /// Releases `n` accounted samples.
    pub fn release_samples(&mut self, n: usize) {
        self.samples = self.samples.saturating_sub(n);
    }

    pub fn duration_ms(&self, d: &DurationArg) -> Result<i64> {
        match d {
            DurationArg::Fixed(d) => Ok(d.millis()),
            DurationArg::Expr(e) => {
                let secs = self.duration_expr(e)?;
                if !secs.is_finite() {
                    return Err(QueryError::BadData(format!(
                        "duration expression evaluated to an invalid value: {secs}"
                    )));
                }
                Ok((secs * 1000.0).round() as i64)
            }
        }
    }

    fn duration_expr(&self, e: &DurationExpr) -> Result<f64> {
        Ok(match e {
            DurationExpr::Number(n) => n.value,
            DurationExpr::Negate { expr, .. } => -self.duration_expr(expr)?,
            DurationExpr::Paren { expr, .. } => self.duration_expr(expr)?,
            DurationExpr::Step { .. } => self.qstep as f64 / 1000.0,
            DurationExpr::Range { .. } => (self.qend - self.qstart) as f64 / 1000.0,
            DurationExpr::MinOf { lhs, rhs, .. } => {
                self.duration_expr(lhs)?.min(self.duration_expr(rhs)?)
            }
            DurationExpr::MaxOf { lhs, rhs, .. } => {
                self.duration_expr(lhs)?.max(self.duration_expr(rhs)?)
            }
            DurationExpr::Binary { op, lhs, rhs, .. } => {
                let a = self.duration_expr(lhs)?;
                let b = self.duration_expr(rhs)?;
                match op {
                    DurationOp::Add => a + b,
                    DurationOp::Sub => a - b,
                    DurationOp::Mul => a * b,
                    DurationOp::Div => {
                        if b == 0.0 {
                            return Err(QueryError::BadData("division by zero".into()));
                        }
                        a / b
                    }
                    DurationOp::Mod => {
                        if b == 0.0 {
                            return Err(QueryError::BadData("modulo by zero".into()));
                        }
                        a % b
                    }
                    DurationOp::Pow => a.powf(b),
                }
            }
        })
    }

    pub fn resolve_at(&self, at: &Option<AtModifier>) -> Option<i64> {
        at.map(|a| match a {
            AtModifier::Timestamp(t) => t,
            AtModifier::Start => self.qstart,
            AtModifier::End => self.qend,
        })
    }

    fn offset_ms(&self, o: &Option<DurationArg>) -> Result<i64> {
        match o {
            Some(d) => self.duration_ms(d),
            None => Ok(0),
        }
    }

    /// Evaluates `e` over `grid`. The stack grows on demand so deeply
    /// nested queries cannot overflow it.
    pub fn eval(&mut self, e: &Expr, grid: Grid) -> Result<Val> {
        stacker::maybe_grow(128 * 1024, 2 * 1024 * 1024, || self.eval_node(e, grid))
    }

    fn eval_node(&mut self, e: &Expr, grid: Grid) -> Result<Val> {
        self.check()?;
        match e {
            Expr::NumberLiteral(n) => Ok(Val::Scalar(vec![n.value; grid.len()])),
            Expr::StringLiteral(s) => Ok(Val::Str(s.value.clone())),
            Expr::Paren(p) => self.eval(&p.expr, grid),
            Expr::StepInvariant(s) => self.eval(&s.expr, grid),
            Expr::Unary(u) => {
                let v = self.eval(&u.expr, grid)?;
                if u.op == UnaryOp::Plus {
                    return Ok(v);
                }
                match v {
                    Val::Scalar(mut s) => {
                        s.iter_mut().for_each(|x| *x = -*x);
                        Ok(Val::Scalar(s))
                    }
                    Val::Vector(mut vs) => {
                        for s in vs.iter_mut() {
                            s.drop_name = true;
                            for p in s.pts.iter_mut() {
                                p.v = match &p.v {
                                    V::F(f) => V::F(-f),
                                    V::H(h) => {
                                        let mut h2 = (**h).clone();
                                        super::histogram::scale(&mut h2, -1.0);
                                        h2.counter_reset_hint =
                                            lookout_model::CounterResetHint::Gauge;
                                        V::H(Arc::new(h2))
                                    }
                                };
                            }
                        }
                        if !self.opts.delayed_name_removal {
                            self.materialize_names(&mut vs)?;
                        }
                        Ok(Val::Vector(vs))
                    }
                    other => Err(QueryError::exec(format!(
                        "unary minus on {}",
                        other.type_name()
                    ))),
                }
            }
            Expr::VectorSelector(vs) => {
                Ok(Val::Vector(self.eval_vector_selector(vs, grid, false)?))
            }
            Expr::MatrixSelector(ms) => Ok(Val::Matrix(self.eval_matrix_selector(ms, grid)?)),
            Expr::Subquery(sq) => Ok(Val::Matrix(self.eval_subquery(sq, grid)?)),
            Expr::Binary(b) => self.eval_binary(b, grid),
            Expr::Call(c) => self.eval_call(c, grid),
            Expr::Aggregate(a) => self.eval_aggregate(a, grid),
        }
    }

    /// Evaluates an expression that must be an instant vector.
    pub fn eval_vector(&mut self, e: &Expr, grid: Grid) -> Result<Vec<SeriesV>> {
        match self.eval(e, grid)? {
            Val::Vector(v) => Ok(v),
            other => Err(QueryError::exec(format!(
                "expected instant vector, got {}",
                other.type_name()
            ))),
        }
    }

    /// Evaluates an expression that must be a scalar.
    pub fn eval_scalar(&mut self, e: &Expr, grid: Grid) -> Result<Vec<f64>> {
        match self.eval(e, grid)? {
            Val::Scalar(v) => Ok(v),
            other => Err(QueryError::exec(format!(
                "expected scalar, got {}",
                other.type_name()
            ))),
        }
    }

    /// Evaluates an expression that must be a range vector.
    pub fn eval_range(&mut self, e: &Expr, grid: Grid) -> Result<RangeVal> {
        match self.eval(e, grid)? {
            Val::Matrix(m) => Ok(m),
            other => Err(QueryError::exec(format!(
                "expected range vector, got {}",
                other.type_name()
            ))),
        }
    }

    /// Selects series for an instant vector selector; with `sample_ts` the
    /// point values are the samples' own timestamps in seconds.
    pub fn eval_vector_selector(
        &mut self,
        vs: &VectorSelector,
        grid: Grid,
        sample_ts: bool,
    ) -> Result<Vec<SeriesV>> {
        let offset = self.offset_ms(&vs.offset)?;
        let at = self.resolve_at(&vs.at);
        let lookback = self.opts.lookback_delta;
        let (first, last) = match at {
            Some(a) => (a.saturating_sub(offset), a.saturating_sub(offset)),
            None => (
                grid.start.saturating_sub(offset),
                grid.end.saturating_sub(offset),
            ),
        };
        let hints = SelectHints {
            mint: first.saturating_sub(lookback).saturating_add(1),
            maxt: last.saturating_add(if vs.smoothed { lookback } else { 0 }),
            ..Default::default()
        };
        let set = self.q.select(&vs.matchers, &hints)?;
        let series: Vec<lookout_model::storage::SeriesData> =
            set.collect::<std::result::Result<_, _>>()?;
        let n = grid.len();
        let mut out = Vec::new();
        let mut total = 0usize;
        if at.is_none()
            && !vs.smoothed
            && series.iter().all(|s| s.histograms.is_empty())
            && par::threads_for(series.len() * n, series.len(), self.opts.max_threads) > 1
        {
            // Float-only series over a grid, many of them: split over the
            // cores (pure per series; same result and order).
            self.check()?;
            let threads = par::threads_for(series.len() * n, series.len(), self.opts.max_threads);
            let all_pts = par::map(&series, threads, |s| {
                float_points(&s.floats, grid, offset, lookback, sample_ts)
            });
            self.check()?;
            for (s, pts) in series.into_iter().zip(all_pts) {
                push_points(&mut out, &mut total, s.labels, pts);
            }
            self.add_samples(total)?;
            return Ok(out);
        }
        for s in series {
            self.check()?;
            if vs.smoothed {
                let metric = s
                    .labels
                    .get(lookout_model::METRIC_NAME)
                    .unwrap_or("")
                    .to_string();
                let floats: Vec<_> = s
                    .floats
                    .iter()
                    .copied()
                    .filter(|f| !is_stale_nan(f.v))
                    .collect();
                let hs: Vec<(i64, Hist)> = s
                    .histograms
                    .into_iter()
                    .map(|h| (h.t, Arc::new(h.h)))
                    .collect();
                let all = extended::merge_samples(&floats, &hs);
                let mut pts = Vec::new();
                for i in 0..n {
                    let t = grid.t(i);
                    let r = at.unwrap_or(t) - offset;
                    if let Some(v) = self.smoothed_value(&all, r, &metric, vs.pos) {
                        pts.push(Pt { t, v });
                    }
                }
                push_points(&mut out, &mut total, s.labels, pts);
                continue;
            }
            let shists: Vec<(i64, Hist)> = self.decode_histograms(s.histograms, &s.floats);
            let mut pts: Vec<Pt> = Vec::with_capacity(if at.is_some() {
                n
            } else {
                n.min(s.floats.len() + shists.len() + 1)
            });
            if at.is_none() && shists.is_empty() {
                // Float-only series over a grid (the common case): the
                // general loop below without its histogram and `@` cases.
                pts = float_points(&s.floats, grid, offset, lookback, sample_ts);
                push_points(&mut out, &mut total, s.labels, pts);
                continue;
            }
            let (mut fi, mut hi) = (0usize, 0usize);
            let mut cached: Option<Option<V>> = None;
            for i in 0..n {
                let t = grid.t(i);
                let r = at.unwrap_or(t) - offset;
                let v = if at.is_some() && cached.is_some() {
                    cached.clone().flatten()
                } else {
                    while fi < s.floats.len() && s.floats[fi].t <= r {
                        fi += 1;
                    }
                    while hi < shists.len() && shists[hi].0 <= r {
                        hi += 1;
                    }
                    let f = if fi > 0 { s.floats.get(fi - 1) } else { None };
                    let h = if hi > 0 { shists.get(hi - 1) } else { None };
                    let pick: Option<(i64, V)> = match (f, h) {
                        (Some(f), Some(h)) if h.0 > f.t => Some((h.0, V::H(h.1.clone()))),
                        (Some(f), _) => {
                            if is_stale_nan(f.v) {
                                None
                            } else {
                                Some((f.t, V::F(f.v)))
                            }
                        }
                        (None, Some(h)) => Some((h.0, V::H(h.1.clone()))),
                        (None, None) => None,
                    };
                    // A stale float newer than the histogram hides it too.
                    let pick = match (pick, f) {
                        (Some((ts, V::H(_))), Some(f)) if is_stale_nan(f.v) && f.t > ts => None,
                        (p, _) => p,
                    };
                    let v = match pick {
                        Some((ts, v)) if ts > r - lookback => {
                            if sample_ts {
                                Some(V::F(ts as f64 / 1000.0))
                            } else {
                                Some(v)
                            }
                        }
                        _ => None,
                    };
                    if at.is_some() {
                        cached = Some(v.clone());
                    }
                    v
                };
                if let Some(v) = v {
                    pts.push(Pt { t, v });
                }
            }
            push_points(&mut out, &mut total, s.labels, pts);
        }
        self.add_samples(total)?;
        Ok(out)
    }

    fn eval_matrix_selector(&mut self, ms: &MatrixSelector, grid: Grid) -> Result<RangeVal> {
        let vs = &ms.selector;
        let range = self.duration_ms(&ms.range)?;
        let offset = self.offset_ms(&vs.offset)?;
        let at = self.resolve_at(&vs.at);
        let (first, last) = match at {
            Some(a) => (a.saturating_sub(offset), a.saturating_sub(offset)),
            None => (
                grid.start.saturating_sub(offset),
                grid.end.saturating_sub(offset),
            ),
        };
        let extended = vs.anchored || vs.smoothed;
        let lookback = self.opts.lookback_delta;
        let hints = SelectHints {
            mint: first
                .saturating_sub(range)
                .saturating_add(1)
                .saturating_sub(if extended { lookback } else { 0 }),
            maxt: last.saturating_add(if vs.smoothed { lookback } else { 0 }),
            ..Default::default()
        };
        let set = self.q.select(&vs.matchers, &hints)?;
        let mut series = Vec::new();
        let mut total = 0usize;
        for s in set {
            self.check()?;
            let s = s?;
            let hists: Vec<(i64, Hist)> = self.decode_histograms(s.histograms, &s.floats);
            let floats: Vec<_> = s
                .floats
                .into_iter()
                .filter(|f| !is_stale_nan(f.v))
                .collect();
            if floats.is_empty() && hists.is_empty() {
                continue;
            }
            total += floats.len() + hists.len();
            series.push(RangeSeries {
                labels: s.labels,
                drop_name: false,
                floats,
                hists,
            });
        }
        // Only the per-step window is held at once upstream; approximate it
        // by the share of the loaded span one window covers.
        let span = (last - first + range).max(1);
        let held = ((total as i128 * range as i128) / span as i128) as usize;
        self.add_samples(held.max(usize::from(total > 0)))?;
        self.release_samples(held.max(usize::from(total > 0)));
        Ok(RangeVal {
            series,
            range,
            offset,
            at,
            anchored: vs.anchored,
            smoothed: vs.smoothed,
        })
    }

    fn eval_subquery(&mut self, sq: &SubqueryExpr, grid: Grid) -> Result<RangeVal> {
        let range = self.duration_ms(&sq.range)?;
        let offset = self.offset_ms(&sq.offset)?;
        let at = self.resolve_at(&sq.at);
        let step = match &sq.step {
            Some(s) => self.duration_ms(s)?,
            None => self.opts.default_subquery_step,
        };
        if step <= 0 {
            return Err(QueryError::BadData(format!(
                "subquery step must be positive, got {step}ms"
            )));
        }
        let (first, last) = match at {
            Some(a) => (a.saturating_sub(offset), a.saturating_sub(offset)),
            None => (
                grid.start.saturating_sub(offset),
                grid.end.saturating_sub(offset),
            ),
        };
        let s = first.saturating_sub(range);
        // Go's truncating division, as upstream aligns the inner start.
        let mut inner_start = step * (s / step);
        if inner_start <= s {
            inner_start += step;
        }
        let mut series = Vec::new();
        if inner_start <= last {
            let inner = Grid {
                start: inner_start,
                end: last,
                step,
            };
            let saved = std::mem::replace(&mut self.stats_decoding, false);
            let v = self.eval_vector(&sq.expr, inner);
            self.stats_decoding = saved;
            let v = v?;
            for s in v {
                let mut rs = RangeSeries {
                    labels: s.labels,
                    drop_name: s.drop_name,
                    ..Default::default()
                };
                for p in s.pts {
                    match p.v {
                        V::F(f) => rs.floats.push(lookout_model::FloatSample { t: p.t, v: f }),
                        V::H(h) => {
                            // Subqueries skip samples, so stored hints (which
                            // describe the step from the previous stored
                            // sample) are dropped: resets are detected anew.
                            use lookout_model::CounterResetHint::*;
                            let h =
                                if matches!(h.counter_reset_hint, CounterReset | NotCounterReset) {
                                    let mut c = (*h).clone();
                                    c.counter_reset_hint = Unknown;
                                    Arc::new(c)
                                } else {
                                    h
                                };
                            rs.hists.push((p.t, h))
                        }
                    }
                }
                series.push(rs);
            }
        }
        Ok(RangeVal {
            series,
            range,
            offset,
            at,
            anchored: false,
            smoothed: false,
        })
    }

    /// Turns stored histogram samples into shared values; in stats-decoding
    /// mode, derives hints by reset detection and drops the buckets.
    fn decode_histograms(
        &self,
        hs: Vec<lookout_model::HistogramSample>,
        floats: &[lookout_model::FloatSample],
    ) -> Vec<(i64, Hist)> {
        if !self.stats_decoding {
            return hs.into_iter().map(|h| (h.t, Arc::new(h.h))).collect();
        }
        use lookout_model::CounterResetHint::*;
        let mut out: Vec<(i64, Hist)> = Vec::with_capacity(hs.len());
        let mut prev: Option<(i64, lookout_model::FloatHistogram)> = None;
        let mut fi = 0usize;
        for s in hs {
            // A float sample in between breaks the histogram sequence.
            while fi < floats.len() && floats[fi].t < s.t {
                if floats[fi].t > prev.as_ref().map_or(i64::MIN, |p| p.0) {
                    prev = None;
                }
                fi += 1;
            }
            let mut h = s.h;
            if h.counter_reset_hint != Gauge {
                if let Some((_, p)) = &prev {
                    let mut probe = h.clone();
                    probe.counter_reset_hint = Unknown;
                    h.counter_reset_hint = if super::histogram::detect_reset(&probe, p) {
                        CounterReset
                    } else {
                        NotCounterReset
                    };
                }
            }
            let mut stripped = h.clone();
            stripped.positive_spans.clear();
            stripped.positive_buckets.clear();
            stripped.negative_spans.clear();
            stripped.negative_buckets.clear();
            stripped.custom_values.clear();
            stripped.zero_count = 0.0;
            out.push((s.t, Arc::new(stripped)));
            prev = Some((s.t, h));
        }
        out
    }

    /// Applies delayed name removal to a vector and rejects duplicate label
    /// sets at the same step.
    pub fn materialize_names(&mut self, vs: &mut Vec<SeriesV>) -> Result<()> {
        let mut changed = false;
        for s in vs.iter_mut() {
            if s.drop_name {
                s.labels = drop_metric_name(&s.labels);
                s.drop_name = false;
                changed = true;
            }
        }
        if changed {
            merge_same_labels(vs)?;
        }
        Ok(())
    }
}

/// Merges series with identical labels; overlapping steps are an error.
pub(crate) fn merge_same_labels(vs: &mut Vec<SeriesV>) -> Result<()> {
    // Fast path: label-set hashes, no cloning; only a repeated hash takes
    // the merging path below.
    let mut seen: hashbrown::HashSet<u64> = hashbrown::HashSet::with_capacity(vs.len());
    let mut dup = false;
    for s in vs.iter() {
        if !seen.insert(s.labels.stable_hash()) {
            dup = true;
            break;
        }
    }
    if !dup {
        return Ok(());
    }
    let mut out: Vec<SeriesV> = Vec::with_capacity(vs.len());
    let mut pos: hashbrown::HashMap<Labels, usize> = hashbrown::HashMap::new();
    for s in vs.drain(..) {
        match pos.get(&s.labels) {
            Some(&i) => {
                let tgt = &mut out[i];
                let mut merged = Vec::with_capacity(tgt.pts.len() + s.pts.len());
                let (mut a, mut b) = (tgt.pts.drain(..).peekable(), s.pts.into_iter().peekable());
                loop {
                    match (a.peek(), b.peek()) {
                        (Some(x), Some(y)) => {
                            if x.t == y.t {
                                return Err(QueryError::exec(
                                    "vector cannot contain metrics with the same labelset",
                                ));
                            }
                            if x.t < y.t {
                                merged.extend(a.next());
                            } else {
                                merged.extend(b.next());
                            }
                        }
                        (Some(_), None) => merged.extend(a.next()),
                        (None, Some(_)) => merged.extend(b.next()),
                        (None, None) => break,
                    }
                }
                drop(a);
                tgt.pts = merged;
            }
            None => {
                pos.insert(s.labels.clone(), out.len());
                out.push(s);
            }
        }
    }
    *vs = out;
    Ok(())
}

/// Labels builder helper: `labels` with `name` set (empty value deletes).
pub(crate) fn with_label(l: &Labels, name: &str, value: &str) -> Labels {
    let mut b: LabelsBuilder = l.builder();
    b.set(name, value);
    b.into_labels()
}

/// Adds a selected series to `out` unless it has no points; counts them.
fn push_points(out: &mut Vec<SeriesV>, total: &mut usize, labels: Labels, pts: Vec<Pt>) {
    if !pts.is_empty() {
        *total += pts.len();
        out.push(SeriesV {
            labels,
            drop_name: false,
            pts,
        });
    }
}

/// The instant-vector points of a float-only series over `grid`: at each
/// step the newest sample within the lookback, unless it is a staleness
/// marker (its timestamp instead of its value with `sample_ts`).
fn float_points(
    fl: &[lookout_model::FloatSample],
    grid: Grid,
    offset: i64,
    lookback: i64,
    sample_ts: bool,
) -> Vec<Pt> {
    let n = grid.len();
    let mut pts = Vec::with_capacity(n.min(fl.len() + 1));
    let mut fi = 0usize;
    for i in 0..n {
        let t = grid.t(i);
        let r = t - offset;
        while fi < fl.len() && fl[fi].t <= r {
            fi += 1;
        }
        let Some(f) = fi.checked_sub(1).and_then(|k| fl.get(k)) else {
            continue;
        };
        if f.t > r - lookback && !is_stale_nan(f.v) {
            let v = if sample_ts { f.t as f64 / 1000.0 } else { f.v };
            pts.push(Pt { t, v: V::F(v) });
        }
    }
    pts
}
