//! Aggregation operators (`sum`, `avg`, `topk`, `quantile`, ...), computed
//! per group over all steps at once.

use std::sync::Arc;

use hashbrown::HashMap;
use lookout_model::{Labels, LabelsBuilder, METRIC_NAME};

use super::hist_acc::HistAcc;
use super::*;
use crate::engine::annotations::go_float_g;

/// Neumaier-compensated summation step (as upstream's `kahanSumInc`).
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

#[derive(Clone, Default)]
struct Acc {
    n: u64,
    fsum: f64,
    fc: f64,
    mean: f64,
    incremental: bool,
    fval: f64,
    h: Option<Box<HistAcc>>,
    poisoned: bool,
    has_float: bool,
    has_hist: bool,
    drop: bool,
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`.
fn format_float_f(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    format!("{v}")
}

fn valid_label_name(s: &str) -> bool {
    !s.is_empty() && !s.contains('\u{FFFD}')
}

impl Evaluator<'_> {
    pub(crate) fn eval_aggregate(&mut self, a: &AggregateExpr, grid: Grid) -> Result<Val> {
        let n = grid.len();
        // Parameter first (upstream evaluates it before the vector).
        let mut param_scalar: Option<Vec<f64>> = None;
        let mut param_str: Option<String> = None;
        if let Some(p) = &a.param {
            match self.eval(p, grid)? {
                Val::Scalar(s) => param_scalar = Some(s),
                Val::Str(s) => param_str = Some(s),
                other => {
                    return Err(QueryError::exec(format!(
                        "invalid parameter type {}",
                        other.type_name()
                    )))
                }
            }
        }
        if a.op == AggregateOp::CountValues {
            let name = param_str.clone().unwrap_or_default();
            let bytes_invalid = match a.param.as_deref() {
                Some(Expr::StringLiteral(s)) => s.invalid_utf8.is_some(),
                _ => false,
            };
            if bytes_invalid || !valid_label_name(&name) {
                let shown = match a.param.as_deref() {
                    Some(Expr::StringLiteral(s)) => match &s.invalid_utf8 {
                        Some(b) => go_quote_bytes(b),
                        None => crate::engine::annotations::go_quote(&name),
                    },
                    _ => crate::engine::annotations::go_quote(&name),
                };
                return Err(QueryError::exec(format!("invalid label name {shown}")));
            }
        }
        let input = self.eval_vector(&a.expr, grid)?;

        // Validate scalar parameters per step.
        if let Some(ps) = &param_scalar {
            match a.op {
                AggregateOp::Topk | AggregateOp::Bottomk | AggregateOp::Limitk => {
                    if ps.iter().any(|v| v.is_nan()) {
                        return Err(QueryError::exec("Parameter value is NaN"));
                    }
                    if let Some(v) = ps
                        .iter()
                        .find(|v| **v > i64::MAX as f64 || **v < i64::MIN as f64)
                    {
                        return Err(QueryError::exec(format!(
                            "Scalar value {} overflows int64",
                            go_float_g(*v)
                        )));
                    }
                }
                AggregateOp::LimitRatio => {
                    if ps.iter().any(|v| v.is_nan()) {
                        return Err(QueryError::exec("Ratio value is NaN"));
                    }
                    for v in ps {
                        if *v < -1.0 || *v > 1.0 {
                            let cap = v.clamp(-1.0, 1.0);
                            self.annos.warn(
                                format!(
                                    "ratio value should be between -1 and 1, got {}, capping to {}",
                                    go_float_g(*v),
                                    go_float_g(cap)
                                ),
                                p_pos(a),
                            );
                        }
                    }
                }
                AggregateOp::Quantile => {
                    for v in ps {
                        if v.is_nan() || *v < 0.0 || *v > 1.0 {
                            self.annos.warn(
                                format!(
                                    "quantile value should be between 0 and 1, got {}",
                                    go_float_g(*v)
                                ),
                                p_pos(a),
                            );
                        }
                    }
                }
                _ => {}
            }
        }

        // Group series.
        let mut group_of: HashMap<Labels, usize> = HashMap::new();
        let mut groups: Vec<(Labels, Vec<usize>)> = Vec::new();
        for (i, s) in input.iter().enumerate() {
            let key = group_labels(&s.labels, &a.grouping, a.without);
            match group_of.get(&key) {
                Some(&g) => groups[g].1.push(i),
                None => {
                    group_of.insert(key.clone(), groups.len());
                    groups.push((key, vec![i]));
                }
            }
        }

        let out = match a.op {
            AggregateOp::Topk
            | AggregateOp::Bottomk
            | AggregateOp::Limitk
            | AggregateOp::LimitRatio => self.aggregate_k(
                a,
                &input,
                &groups,
                param_scalar.as_deref().unwrap_or(&[]),
                grid,
            )?,
            AggregateOp::Quantile => {
                let qs = param_scalar.unwrap_or_else(|| vec![f64::NAN; n]);
                self.aggregate_quantile(a, &input, &groups, &qs, grid)
            }
            AggregateOp::CountValues => {
                self.aggregate_count_values(&input, &groups, &param_str.unwrap_or_default(), grid)
            }
            _ => self.aggregate_simple(a, &input, &groups, grid)?,
        };
        let mut out = out;
        if !self.opts.delayed_name_removal {
            self.materialize_names(&mut out)?;
        }
        Ok(Val::Vector(out))
    }

    fn aggregate_simple(
        &mut self,
        a: &AggregateExpr,
        input: &[SeriesV],
        groups: &[(Labels, Vec<usize>)],
        grid: Grid,
    ) -> Result<Vec<SeriesV>> {
        let n = grid.len();
        let mut out = Vec::with_capacity(groups.len());
        let op = a.op;
        for (labels, members) in groups {
            self.check()?;
            let mut accs: Vec<Acc> = vec![Acc::default(); n];
            let mut metric_name = String::new();
            for &mi in members {
                let s = &input[mi];
                if metric_name.is_empty() {
                    metric_name = s.labels.get(METRIC_NAME).unwrap_or("").to_string();
                }
                for p in &s.pts {
                    let Some(acc) = accs.get_mut(grid.index(p.t)) else {
                        continue;
                    };
                    acc.drop |= s.drop_name;
                    let first = acc.n == 0;
                    match &p.v {
                        V::F(f) => {
                            let f = *f;
                            acc.has_float = true;
                            match op {
                                AggregateOp::Sum => {
                                    let (s2, c2) = kahan_inc(f, acc.fsum, acc.fc);
                                    acc.fsum = s2;
                                    acc.fc = c2;
                                }
                                AggregateOp::Avg => avg_add(acc, f),
                                AggregateOp::Min if first || acc.fval > f || acc.fval.is_nan() => {
                                    acc.fval = f;
                                }
                                AggregateOp::Max if first || acc.fval < f || acc.fval.is_nan() => {
                                    acc.fval = f;
                                }
                                AggregateOp::Stddev | AggregateOp::Stdvar => {
                                    let cnt = (acc.n + 1) as f64;
                                    let delta = f - acc.mean;
                                    acc.mean += delta / cnt;
                                    acc.fval += delta * (f - acc.mean);
                                }
                                _ => {}
                            }
                            acc.n += 1;
                        }
                        V::H(h) => {
                            acc.has_hist = true;
                            match op {
                                AggregateOp::Sum | AggregateOp::Avg => {
                                    acc.n += 1;
                                    if acc.poisoned {
                                        continue;
                                    }
                                    match acc.h.as_mut() {
                                        None => {
                                            acc.h = Some(Box::new(HistAcc::new(
                                                h,
                                                op == AggregateOp::Avg,
                                            )));
                                        }
                                        Some(cur) => {
                                            if cur.add(h).is_err() {
                                                self.annos.warn(
                                                    crate::engine::annotations::with_metric_name(
                                                        "vector contains a mix of histograms with exponential and custom buckets schemas",
                                                        &metric_name,
                                                    ),
                                                    a.pos,
                                                );
                                                acc.poisoned = true;
                                                acc.h = None;
                                            }
                                        }
                                    }
                                }
                                AggregateOp::Count | AggregateOp::Group => acc.n += 1,
                                _ => {
                                    self.annos.info(
                                        format!("ignored histogram in {} aggregation", op.as_str()),
                                        a.pos,
                                    );
                                }
                            }
                        }
                    }
                }
            }
            let mut pts = Vec::new();
            let mut drop = false;
            for (i, acc) in accs.into_iter().enumerate() {
                if acc.n == 0 && !acc.has_hist {
                    continue;
                }
                let t = grid.t(i);
                let v = match op {
                    AggregateOp::Count => V::F(acc.n as f64),
                    AggregateOp::Group => V::F(1.0),
                    AggregateOp::Sum | AggregateOp::Avg => {
                        if acc.has_hist && acc.has_float {
                            self.annos.warn(
                                "encountered a mix of histograms and floats for aggregation",
                                a.pos,
                            );
                            continue;
                        }
                        if acc.has_hist {
                            match acc.h {
                                Some(h) => {
                                    if h.flags.counter_reset_collision {
                                        self.annos.warn("conflicting counter resets during histogram aggregation", a.pos);
                                    }
                                    if h.flags.nhcb_reconciled {
                                        self.annos.info("mismatched custom buckets were reconciled during aggregation", a.pos);
                                    }
                                    V::H(Arc::new(h.result()))
                                }
                                None => continue,
                            }
                        } else if op == AggregateOp::Sum {
                            V::F(acc.fsum + acc.fc)
                        } else if acc.incremental {
                            V::F(acc.mean + acc.fc)
                        } else {
                            V::F((acc.fsum + acc.fc) / acc.n as f64)
                        }
                    }
                    AggregateOp::Min | AggregateOp::Max => {
                        if !acc.has_float {
                            continue;
                        }
                        V::F(acc.fval)
                    }
                    AggregateOp::Stddev | AggregateOp::Stdvar => {
                        if !acc.has_float {
                            continue;
                        }
                        let var = acc.fval / acc.n as f64;
                        V::F(if op == AggregateOp::Stddev {
                            var.sqrt()
                        } else {
                            var
                        })
                    }
                    _ => continue,
                };
                drop |= acc.drop;
                pts.push(Pt { t, v });
            }
            if !pts.is_empty() {
                out.push(SeriesV {
                    labels: labels.clone(),
                    drop_name: drop && labels.has(METRIC_NAME),
                    pts,
                });
            }
        }
        Ok(out)
    }

    fn aggregate_k(
        &mut self,
        a: &AggregateExpr,
        input: &[SeriesV],
        groups: &[(Labels, Vec<usize>)],
        param: &[f64],
        grid: Grid,
    ) -> Result<Vec<SeriesV>> {
        let n = grid.len();
        // Output points per input series.
        let mut keep: Vec<Vec<Pt>> = vec![Vec::new(); input.len()];
        let mut order: Vec<(usize, f64)> = Vec::new(); // for single-step ordering
        let mut ignored_hist = false;
        for (_, members) in groups {
            self.check()?;
            // Per step: members' values.
            let mut per_step: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
            for &mi in members {
                for (pi, p) in input[mi].pts.iter().enumerate() {
                    if let Some(v) = per_step.get_mut(grid.index(p.t)) {
                        v.push((mi, pi));
                    }
                }
            }
            for (step, items) in per_step.into_iter().enumerate() {
                if items.is_empty() {
                    continue;
                }
                let pv = param.get(step).copied().unwrap_or(0.0);
                match a.op {
                    AggregateOp::Topk | AggregateOp::Bottomk => {
                        let k = pv as i64;
                        if k < 1 {
                            continue;
                        }
                        let mut vals: Vec<(usize, usize, f64)> = Vec::with_capacity(items.len());
                        for (mi, pi) in items {
                            match &input[mi].pts[pi].v {
                                V::F(f) => vals.push((mi, pi, *f)),
                                V::H(_) => ignored_hist = true,
                            }
                        }
                        let top = a.op == AggregateOp::Topk;
                        vals.sort_by(|x, y| cmp_k(x.2, y.2, top));
                        vals.truncate(k.min(vals.len() as i64) as usize);
                        for (mi, pi, f) in vals {
                            keep[mi].push(input[mi].pts[pi].clone());
                            if n == 1 {
                                order.push((mi, f));
                            }
                        }
                    }
                    AggregateOp::Limitk => {
                        let k = pv as i64;
                        if k < 1 {
                            continue;
                        }
                        for (mi, pi) in items.into_iter().take(k as usize) {
                            keep[mi].push(input[mi].pts[pi].clone());
                            if n == 1 {
                                order.push((mi, 0.0));
                            }
                        }
                    }
                    AggregateOp::LimitRatio => {
                        let r = pv.clamp(-1.0, 1.0);
                        for (mi, pi) in items {
                            let off = ratio_offset(&input[mi].labels);
                            if (r >= 0.0 && off < r) || (r < 0.0 && off >= 1.0 + r) {
                                keep[mi].push(input[mi].pts[pi].clone());
                                if n == 1 {
                                    order.push((mi, 0.0));
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        if ignored_hist {
            self.annos.info(
                format!("ignored histogram in {} aggregation", a.op.as_str()),
                a.pos,
            );
        }
        let mut out = Vec::new();
        if n == 1 {
            for (mi, _) in order {
                let pts = std::mem::take(&mut keep[mi]);
                if !pts.is_empty() {
                    out.push(SeriesV {
                        labels: input[mi].labels.clone(),
                        drop_name: input[mi].drop_name,
                        pts,
                    });
                }
            }
        } else {
            for (mi, pts) in keep.into_iter().enumerate() {
                if !pts.is_empty() {
                    out.push(SeriesV {
                        labels: input[mi].labels.clone(),
                        drop_name: input[mi].drop_name,
                        pts,
                    });
                }
            }
        }
        Ok(out)
    }

    fn aggregate_quantile(
        &mut self,
        a: &AggregateExpr,
        input: &[SeriesV],
        groups: &[(Labels, Vec<usize>)],
        qs: &[f64],
        grid: Grid,
    ) -> Vec<SeriesV> {
        let n = grid.len();
        let mut out = Vec::new();
        let mut ignored = false;
        for (labels, members) in groups {
            let mut per_step: Vec<Vec<f64>> = vec![Vec::new(); n];
            let mut present = vec![false; n];
            let mut drop = false;
            for &mi in members {
                drop |= input[mi].drop_name;
                for p in &input[mi].pts {
                    let i = grid.index(p.t);
                    match &p.v {
                        V::F(f) => {
                            if let Some(v) = per_step.get_mut(i) {
                                v.push(*f);
                            }
                            if let Some(x) = present.get_mut(i) {
                                *x = true;
                            }
                        }
                        V::H(_) => ignored = true,
                    }
                }
            }
            let mut pts = Vec::new();
            for (i, mut vals) in per_step.into_iter().enumerate() {
                if !present[i] {
                    continue;
                }
                let q = qs.get(i).copied().unwrap_or(f64::NAN);
                pts.push(Pt {
                    t: grid.t(i),
                    v: V::F(super::range_fns::quantile(q, &mut vals)),
                });
            }
            if !pts.is_empty() {
                out.push(SeriesV {
                    labels: labels.clone(),
                    drop_name: drop && labels.has(METRIC_NAME),
                    pts,
                });
            }
        }
        if ignored {
            self.annos
                .info("ignored histogram in quantile aggregation", a.pos);
        }
        out
    }

    fn aggregate_count_values(
        &mut self,
        input: &[SeriesV],
        groups: &[(Labels, Vec<usize>)],
        label: &str,
        grid: Grid,
    ) -> Vec<SeriesV> {
        let mut out_idx: HashMap<Labels, usize> = HashMap::new();
        let mut out: Vec<SeriesV> = Vec::new();
        let mut counts: Vec<HashMap<i64, f64>> = Vec::new();
        for (labels, members) in groups {
            for &mi in members {
                for p in &input[mi].pts {
                    let value = match &p.v {
                        V::F(f) => format_float_f(*f),
                        V::H(h) => super::hist_fns::histogram_string(h),
                    };
                    let mut b: LabelsBuilder = labels.builder();
                    b.set(label, value);
                    let l = b.into_labels();
                    let oi = *out_idx.entry(l.clone()).or_insert_with(|| {
                        out.push(SeriesV {
                            labels: l,
                            drop_name: false,
                            pts: Vec::new(),
                        });
                        counts.push(HashMap::new());
                        out.len() - 1
                    });
                    *counts[oi].entry(p.t).or_default() += 1.0;
                }
            }
        }
        for (oi, c) in counts.into_iter().enumerate() {
            let mut pts: Vec<Pt> = c.into_iter().map(|(t, v)| Pt { t, v: V::F(v) }).collect();
            pts.sort_by_key(|p| p.t);
            out[oi].pts = pts;
        }
        let _ = grid;
        out
    }
}

fn avg_add(acc: &mut Acc, f: f64) {
    let q = (acc.n + 1) as f64;
    if !acc.incremental {
        let (ns, nc) = kahan_inc(f, acc.fsum, acc.fc);
        if !ns.is_infinite() {
            acc.fsum = ns;
            acc.fc = nc;
            return;
        }
        acc.incremental = true;
        if acc.n == 0 {
            acc.mean = 0.0;
            acc.fc = 0.0;
        } else {
            acc.mean = acc.fsum / (q - 1.0);
            acc.fc /= q - 1.0;
        }
    }
    if acc.mean.is_infinite() {
        if f.is_infinite() && (acc.mean > 0.0) == (f > 0.0) {
            return;
        }
        if !f.is_infinite() && !f.is_nan() {
            return;
        }
    }
    let cur = acc.mean + acc.fc;
    let (m, c) = kahan_inc(f / q - cur / q, acc.mean, acc.fc);
    acc.mean = m;
    acc.fc = c;
}

/// Position of a series in `[0, 1)` for `limit_ratio`: its label hash
/// (xxhash64 as upstream's `Labels.Hash`) over the full range of u64.
fn ratio_offset(l: &Labels) -> f64 {
    let mut buf = Vec::with_capacity(64);
    for lb in l.iter() {
        buf.extend_from_slice(lb.name.as_bytes());
        buf.push(0xff);
        buf.extend_from_slice(lb.value.as_bytes());
        buf.push(0xff);
    }
    xxhash_rust::xxh64::xxh64(&buf, 0) as f64 / u64::MAX as f64
}

fn cmp_k(a: f64, b: f64, top: bool) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Equal,
        (true, false) => Greater,
        (false, true) => Less,
        _ => {
            if top {
                b.partial_cmp(&a).unwrap_or(Equal)
            } else {
                a.partial_cmp(&b).unwrap_or(Equal)
            }
        }
    }
}

fn p_pos(a: &AggregateExpr) -> PosRange {
    a.param.as_ref().map(|p| p.pos()).unwrap_or(a.pos)
}

/// Grouping key of a series.
pub(crate) fn group_labels(l: &Labels, grouping: &[String], without: bool) -> Labels {
    if without {
        let mut b: LabelsBuilder = l.builder();
        b.retain(|x| x.name != METRIC_NAME && !grouping.iter().any(|g| g == &x.name));
        b.into_labels()
    } else {
        let mut b: LabelsBuilder = l.builder();
        b.retain(|x| grouping.iter().any(|g| g == &x.name));
        b.into_labels()
    }
}

/// Go's `%q` of raw bytes: invalid UTF-8 bytes become `\xNN`.
fn go_quote_bytes(b: &[u8]) -> String {
    let mut out = String::from("\"");
    let mut rest = b;
    while !rest.is_empty() {
        let (valid, bad) = match std::str::from_utf8(rest) {
            Ok(s) => (s, None),
            Err(e) => {
                let v = e.valid_up_to();
                (
                    std::str::from_utf8(&rest[..v]).unwrap_or(""),
                    rest.get(v).copied(),
                )
            }
        };
        let q = crate::engine::annotations::go_quote(valid);
        out.push_str(&q[1..q.len() - 1]);
        match bad {
            Some(x) => {
                out.push_str(&format!("\\x{x:02x}"));
                rest = &rest[valid.len() + 1..];
            }
            None => break,
        }
    }
    out.push('"');
    out
}
