//! Binary operators: scalar/scalar, vector/scalar and vector/vector with
//! label matching, set operators and fill modifiers.

use std::sync::Arc;

use hashbrown::HashMap;
use lookout_model::{Labels, LabelsBuilder, METRIC_NAME};

use super::*;
use crate::engine::annotations::go_quote;
use crate::engine::histogram as hist;

/// Outcome of applying an operator to two values.
pub(crate) enum ElemRes {
    /// A computed value (arithmetic) or the kept left value (comparison).
    Keep(V),
    /// A comparison that is false.
    Drop,
    /// Incompatible types or layouts; nothing is produced.
    Skip,
}

fn float_op(op: BinaryOp, l: f64, r: f64) -> (f64, bool) {
    match op {
        BinaryOp::Add => (l + r, true),
        BinaryOp::Sub => (l - r, true),
        BinaryOp::Mul => (l * r, true),
        BinaryOp::Div => (l / r, true),
        BinaryOp::Mod => (l % r, true),
        BinaryOp::Pow => (l.powf(r), true),
        BinaryOp::Atan2 => (l.atan2(r), true),
        BinaryOp::Eql => (l, l == r),
        BinaryOp::Neq => (l, l != r),
        BinaryOp::Gtr => (l, l > r),
        BinaryOp::Lss => (l, l < r),
        BinaryOp::Gte => (l, l >= r),
        BinaryOp::Lte => (l, l <= r),
        _ => (l, true),
    }
}

/// Scalar/scalar evaluation (comparisons are always `bool` here).
pub(crate) fn scalar_op(op: BinaryOp, l: f64, r: f64) -> f64 {
    let (v, keep) = float_op(op, l, r);
    if op.is_comparison() {
        if keep {
            1.0
        } else {
            0.0
        }
    } else {
        v
    }
}

pub(crate) fn hist_equal(a: &FloatHistogram, b: &FloatHistogram) -> bool {
    let mut a = a.clone();
    let mut b = b.clone();
    hist::compact(&mut a);
    hist::compact(&mut b);
    a.schema == b.schema
        && a.zero_threshold == b.zero_threshold
        && (a.zero_count == b.zero_count)
        && a.count == b.count
        && (a.sum == b.sum || (a.sum.is_nan() && b.sum.is_nan()))
        && a.positive_spans == b.positive_spans
        && a.negative_spans == b.negative_spans
        && a.positive_buckets == b.positive_buckets
        && a.negative_buckets == b.negative_buckets
        && a.custom_values == b.custom_values
}

use lookout_model::FloatHistogram;

fn type_name(v: &V) -> &'static str {
    match v {
        V::F(_) => "float",
        V::H(_) => "histogram",
    }
}

impl Evaluator<'_> {
    /// Applies `op` to one pair of values, recording annotations.
    pub(crate) fn elem_binop(&mut self, op: BinaryOp, l: &V, r: &V, pos: PosRange) -> ElemRes {
        let incompatible = |s: &mut Self| {
            s.annos.info(
                format!(
                    "incompatible sample types encountered for binary operator {}: {} {} {}",
                    go_quote(op.as_str()),
                    type_name(l),
                    op.as_str(),
                    type_name(r)
                ),
                pos,
            );
            ElemRes::Skip
        };
        match (l, r) {
            (V::F(a), V::F(b)) => {
                if matches!(op, BinaryOp::TrimUpper | BinaryOp::TrimLower) {
                    return incompatible(self);
                }
                let (v, keep) = float_op(op, *a, *b);
                if keep {
                    ElemRes::Keep(V::F(v))
                } else {
                    ElemRes::Drop
                }
            }
            (V::F(a), V::H(h)) => match op {
                BinaryOp::Mul => {
                    let mut h2 = (**h).clone();
                    hist::scale(&mut h2, *a);
                    hist::compact(&mut h2);
                    ElemRes::Keep(V::H(Arc::new(h2)))
                }
                _ => incompatible(self),
            },
            (V::H(h), V::F(b)) => match op {
                BinaryOp::Mul => {
                    let mut h2 = (**h).clone();
                    hist::scale(&mut h2, *b);
                    hist::compact(&mut h2);
                    ElemRes::Keep(V::H(Arc::new(h2)))
                }
                BinaryOp::Div => {
                    let mut h2 = (**h).clone();
                    hist::divide(&mut h2, *b);
                    hist::compact(&mut h2);
                    ElemRes::Keep(V::H(Arc::new(h2)))
                }
                BinaryOp::TrimUpper | BinaryOp::TrimLower => {
                    let h2 = super::hist_fns::trim(h, *b, op == BinaryOp::TrimUpper);
                    ElemRes::Keep(V::H(Arc::new(h2)))
                }
                _ => incompatible(self),
            },
            (V::H(a), V::H(b)) => match op {
                BinaryOp::Add | BinaryOp::Sub => {
                    let sign = if op == BinaryOp::Add { 1.0 } else { -1.0 };
                    let name = if sign > 0.0 {
                        "addition"
                    } else {
                        "subtraction"
                    };
                    let r = if sign > 0.0 {
                        hist::add(a, b)
                    } else {
                        hist::sub(a, b)
                    };
                    match r {
                        Ok((mut res, flags)) => {
                            if flags.counter_reset_collision {
                                self.annos.warn(
                                    format!("conflicting counter resets during histogram {name}"),
                                    pos,
                                );
                            }
                            if flags.nhcb_reconciled {
                                self.annos.info(
                                    format!(
                                        "mismatched custom buckets were reconciled during {name}"
                                    ),
                                    pos,
                                );
                            }
                            hist::compact(&mut res);
                            ElemRes::Keep(V::H(Arc::new(res)))
                        }
                        Err(_) => {
                            self.annos.warn(
                                "vector contains a mix of histograms with exponential and custom buckets schemas for metric name \"\"",
                                pos,
                            );
                            ElemRes::Skip
                        }
                    }
                }
                BinaryOp::Eql => {
                    if hist_equal(a, b) {
                        ElemRes::Keep(V::H(a.clone()))
                    } else {
                        ElemRes::Drop
                    }
                }
                BinaryOp::Neq => {
                    if !hist_equal(a, b) {
                        ElemRes::Keep(V::H(a.clone()))
                    } else {
                        ElemRes::Drop
                    }
                }
                _ => incompatible(self),
            },
        }
    }

    pub(crate) fn eval_binary(&mut self, b: &BinaryExpr, grid: Grid) -> Result<Val> {
        let saved = std::mem::replace(&mut self.stats_decoding, false);
        let lhs = self.eval(&b.lhs, grid);
        let rhs = self.eval(&b.rhs, grid);
        self.stats_decoding = saved;
        let (lhs, rhs) = (lhs?, rhs?);
        match (lhs, rhs) {
            (Val::Scalar(l), Val::Scalar(r)) => Ok(Val::Scalar(
                l.iter()
                    .zip(r.iter())
                    .map(|(a, c)| scalar_op(b.op, *a, *c))
                    .collect(),
            )),
            (Val::Vector(v), Val::Scalar(s)) => {
                let out = self.vector_scalar(b, v, &s, false, grid)?;
                Ok(Val::Vector(out))
            }
            (Val::Scalar(s), Val::Vector(v)) => {
                let out = self.vector_scalar(b, v, &s, true, grid)?;
                Ok(Val::Vector(out))
            }
            (Val::Vector(l), Val::Vector(r)) => {
                let m = b.matching.clone().unwrap_or(VectorMatching {
                    card: if b.op.is_set_operator() {
                        VectorMatchCardinality::ManyToMany
                    } else {
                        VectorMatchCardinality::OneToOne
                    },
                    matching_labels: Vec::new(),
                    on: false,
                    include: Vec::new(),
                    fill: FillValues::default(),
                });
                let mut out = match b.op {
                    BinaryOp::And => self.vector_and_unless(l, r, &m, grid, true),
                    BinaryOp::Unless => self.vector_and_unless(l, r, &m, grid, false),
                    BinaryOp::Or => self.vector_or(l, r, &m, grid),
                    _ => self.vector_vector(b, l, r, &m, grid)?,
                };
                if !self.opts.delayed_name_removal {
                    self.materialize_names(&mut out)?;
                }
                Ok(Val::Vector(out))
            }
            (l, r) => Err(QueryError::exec(format!(
                "invalid operand types for binary operator {}: {} and {}",
                b.op.as_str(),
                l.type_name(),
                r.type_name()
            ))),
        }
    }

    fn vector_scalar(
        &mut self,
        b: &BinaryExpr,
        v: Vec<SeriesV>,
        s: &[f64],
        scalar_left: bool,
        grid: Grid,
    ) -> Result<Vec<SeriesV>> {
        let drops = (!b.op.is_comparison()
            && !matches!(b.op, BinaryOp::TrimUpper | BinaryOp::TrimLower))
            || b.return_bool;
        let mut out = Vec::with_capacity(v.len());
        for mut series in v {
            self.check()?;
            let mut pts = Vec::with_capacity(series.pts.len());
            for p in series.pts.drain(..) {
                let sv = V::F(s.get(grid.index(p.t)).copied().unwrap_or(f64::NAN));
                let (l, r) = if scalar_left {
                    (&sv, &p.v)
                } else {
                    (&p.v, &sv)
                };
                let res = self.elem_binop(b.op, l, r, b.pos);
                let val = match res {
                    ElemRes::Keep(x) => {
                        if b.return_bool {
                            Some(V::F(1.0))
                        } else if b.op.is_comparison() {
                            Some(p.v.clone())
                        } else {
                            Some(x)
                        }
                    }
                    ElemRes::Drop => {
                        if b.return_bool {
                            Some(V::F(0.0))
                        } else {
                            None
                        }
                    }
                    ElemRes::Skip => None,
                };
                if let Some(val) = val {
                    pts.push(Pt { t: p.t, v: val });
                }
            }
            if !pts.is_empty() {
                series.pts = pts;
                series.drop_name |= drops;
                out.push(series);
            }
        }
        if drops && !self.opts.delayed_name_removal {
            self.materialize_names(&mut out)?;
        }
        Ok(out)
    }

    fn vector_and_unless(
        &mut self,
        l: Vec<SeriesV>,
        r: Vec<SeriesV>,
        m: &VectorMatching,
        grid: Grid,
        and: bool,
    ) -> Vec<SeriesV> {
        let n = grid.len();
        let mut present: HashMap<u64, Vec<bool>> = HashMap::new();
        for s in &r {
            let sig = signature(&s.labels, m.on, &m.matching_labels);
            let e = present.entry(sig).or_insert_with(|| vec![false; n]);
            for p in &s.pts {
                if let Some(x) = e.get_mut(grid.index(p.t)) {
                    *x = true;
                }
            }
        }
        let mut out = Vec::with_capacity(l.len());
        for mut s in l {
            let sig = signature(&s.labels, m.on, &m.matching_labels);
            let pres = present.get(&sig);
            s.pts.retain(|p| {
                let hit = pres
                    .map(|v| v.get(grid.index(p.t)).copied().unwrap_or(false))
                    .unwrap_or(false);
                hit == and
            });
            if !s.pts.is_empty() {
                out.push(s);
            }
        }
        out
    }

    fn vector_or(
        &mut self,
        l: Vec<SeriesV>,
        r: Vec<SeriesV>,
        m: &VectorMatching,
        grid: Grid,
    ) -> Vec<SeriesV> {
        let n = grid.len();
        let mut present: HashMap<u64, Vec<bool>> = HashMap::new();
        for s in &l {
            let sig = signature(&s.labels, m.on, &m.matching_labels);
            let e = present.entry(sig).or_insert_with(|| vec![false; n]);
            for p in &s.pts {
                if let Some(x) = e.get_mut(grid.index(p.t)) {
                    *x = true;
                }
            }
        }
        let mut out = l;
        for mut s in r {
            let sig = signature(&s.labels, m.on, &m.matching_labels);
            if let Some(pres) = present.get(&sig) {
                s.pts
                    .retain(|p| !pres.get(grid.index(p.t)).copied().unwrap_or(false));
            }
            if !s.pts.is_empty() {
                out.push(s);
            }
        }
        out
    }

    fn vector_vector(
        &mut self,
        b: &BinaryExpr,
        lhs: Vec<SeriesV>,
        rhs: Vec<SeriesV>,
        m: &VectorMatching,
        grid: Grid,
    ) -> Result<Vec<SeriesV>> {
        let n = grid.len();
        let swapped = m.card == VectorMatchCardinality::OneToMany;
        let (many, one) = if swapped { (&rhs, &lhs) } else { (&lhs, &rhs) };
        let one_side_name = if swapped { "left" } else { "right" };
        let drops = (!b.op.is_comparison()
            && !matches!(b.op, BinaryOp::TrimUpper | BinaryOp::TrimLower))
            || b.return_bool;

        // Group the "one" side by signature; detect duplicates per step.
        let mut one_groups: HashMap<u64, Vec<usize>> = HashMap::new();
        for (i, s) in one.iter().enumerate() {
            one_groups
                .entry(signature(&s.labels, m.on, &m.matching_labels))
                .or_default()
                .push(i);
        }
        // For groups with several series: a per-step index of (series, point).
        let mut dense: HashMap<u64, Vec<Option<(u32, u32)>>> = HashMap::new();
        for (sig, members) in &one_groups {
            if members.len() < 2 {
                continue;
            }
            let mut slots: Vec<Option<(u32, u32)>> = vec![None; n];
            for &si in members {
                for (pi, p) in one[si].pts.iter().enumerate() {
                    let Some(slot) = slots.get_mut(grid.index(p.t)) else {
                        continue;
                    };
                    if let Some((other, _)) = *slot {
                        let (a, c) = (&one[other as usize].labels, &one[si].labels);
                        return Err(QueryError::exec(format!(
                            "found duplicate series for the match group {} on the {} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                            match_group_labels(c, m),
                            one_side_name,
                            a,
                            c
                        )));
                    }
                    *slot = Some((si as u32, pi as u32));
                }
            }
            dense.insert(*sig, slots);
        }

        // Many-side groups, to detect one-to-one collisions.
        let mut many_count: HashMap<u64, usize> = HashMap::new();
        let many_sigs: Vec<u64> = many
            .iter()
            .map(|s| {
                let sig = signature(&s.labels, m.on, &m.matching_labels);
                *many_count.entry(sig).or_default() += 1;
                sig
            })
            .collect();
        let mut inserted: HashMap<u64, Vec<bool>> = HashMap::new();

        let mut out_idx: HashMap<Labels, usize> = HashMap::new();
        let mut out: Vec<SeriesV> = Vec::new();
        let mut label_cache: HashMap<(usize, usize), usize> = HashMap::new();
        // Upstream swaps the fill values together with the operands for
        // group_right, so fill_left then fills a missing right side.
        let fill_one = m.fill.rhs;
        let fill_many = m.fill.lhs;
        // Steps where the many side matched each one-side signature (for fill).
        let mut many_present: HashMap<u64, Vec<bool>> = HashMap::new();

        for (mi, ms) in many.iter().enumerate() {
            self.check()?;
            let sig = many_sigs[mi];
            let group = one_groups.get(&sig);
            if fill_many.is_some() {
                let e = many_present.entry(sig).or_insert_with(|| vec![false; n]);
                for p in &ms.pts {
                    if let Some(x) = e.get_mut(grid.index(p.t)) {
                        *x = true;
                    }
                }
            }
            for p in &ms.pts {
                let step = grid.index(p.t);
                let matched: Option<(usize, &V)> = match group {
                    None => None,
                    Some(members) if members.len() == 1 => {
                        let si = members[0];
                        let pts = &one[si].pts;
                        pts.binary_search_by_key(&p.t, |x| x.t)
                            .ok()
                            .map(|k| (si, &pts[k].v))
                    }
                    Some(_) => dense
                        .get(&sig)
                        .and_then(|d| d.get(step).copied().flatten())
                        .map(|(si, pi)| (si as usize, &one[si as usize].pts[pi as usize].v)),
                };
                let (one_idx, one_v, filled) = match matched {
                    Some((si, v)) => (Some(si), v.clone(), false),
                    None => match fill_one {
                        Some(f) => (None, V::F(f), true),
                        None => continue,
                    },
                };
                let _ = filled;
                if m.card == VectorMatchCardinality::OneToOne
                    && many_count.get(&sig).copied().unwrap_or(0) > 1
                {
                    let e = inserted.entry(sig).or_insert_with(|| vec![false; n]);
                    if let Some(x) = e.get_mut(step) {
                        if *x {
                            return Err(QueryError::exec(
                                "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                            ));
                        }
                        *x = true;
                    }
                }
                let (lv, rv) = if swapped {
                    (&one_v, &p.v)
                } else {
                    (&p.v, &one_v)
                };
                let res = self.elem_binop(b.op, lv, rv, b.pos);
                let val = match res {
                    ElemRes::Keep(x) => {
                        if b.return_bool {
                            V::F(1.0)
                        } else if b.op.is_comparison() {
                            lv.clone()
                        } else {
                            x
                        }
                    }
                    ElemRes::Drop => {
                        if b.return_bool {
                            V::F(0.0)
                        } else {
                            continue;
                        }
                    }
                    ElemRes::Skip => continue,
                };
                let key = (mi, one_idx.unwrap_or(usize::MAX));
                let oi = match label_cache.get(&key) {
                    Some(&oi) => oi,
                    None => {
                        let one_labels = one_idx.map(|i| &one[i].labels);
                        let labels = result_metric(&ms.labels, one_labels, m);
                        let oi = *out_idx.entry(labels.clone()).or_insert_with(|| {
                            out.push(SeriesV {
                                labels,
                                drop_name: false,
                                pts: Vec::new(),
                            });
                            out.len() - 1
                        });
                        label_cache.insert(key, oi);
                        oi
                    }
                };
                let dn = drops || ms.drop_name;
                let o = &mut out[oi];
                o.drop_name |= dn;
                o.pts.push(Pt { t: p.t, v: val });
            }
        }

        // fill for the many side: one-side points without any many-side match.
        if let Some(f) = fill_many {
            for (si, s) in one.iter().enumerate() {
                let sig = signature(&s.labels, m.on, &m.matching_labels);
                let pres = many_present.get(&sig);
                for p in &s.pts {
                    let step = grid.index(p.t);
                    if pres
                        .map(|v| v.get(step).copied().unwrap_or(false))
                        .unwrap_or(false)
                    {
                        continue;
                    }
                    let fv = V::F(f);
                    let (lv, rv) = if swapped { (&p.v, &fv) } else { (&fv, &p.v) };
                    let val = match self.elem_binop(b.op, lv, rv, b.pos) {
                        ElemRes::Keep(x) => {
                            if b.return_bool {
                                V::F(1.0)
                            } else if b.op.is_comparison() {
                                lv.clone()
                            } else {
                                x
                            }
                        }
                        ElemRes::Drop => {
                            if b.return_bool {
                                V::F(0.0)
                            } else {
                                continue;
                            }
                        }
                        ElemRes::Skip => continue,
                    };
                    let key = (usize::MAX, si);
                    let oi = match label_cache.get(&key) {
                        Some(&oi) => oi,
                        None => {
                            let labels = match_group_labels(&s.labels, m);
                            let oi = *out_idx.entry(labels.clone()).or_insert_with(|| {
                                out.push(SeriesV {
                                    labels,
                                    drop_name: false,
                                    pts: Vec::new(),
                                });
                                out.len() - 1
                            });
                            label_cache.insert(key, oi);
                            oi
                        }
                    };
                    let o = &mut out[oi];
                    o.drop_name |= drops;
                    o.pts.push(Pt { t: p.t, v: val });
                }
            }
        }

        for o in out.iter_mut() {
            o.pts.sort_by_key(|p| p.t);
            if o.pts.windows(2).any(|w| w[0].t == w[1].t) {
                return Err(QueryError::exec(
                    if m.card == VectorMatchCardinality::OneToOne {
                        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                    } else {
                        "multiple matches for labels: grouping labels must ensure unique matches"
                    },
                ));
            }
        }
        out.retain(|o| !o.pts.is_empty());
        Ok(out)
    }
}

/// Hash of the labels that take part in matching.
pub(crate) fn signature(l: &Labels, on: bool, names: &[String]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for lb in l.iter() {
        let listed = names.iter().any(|n| n == &lb.name);
        let take = if on {
            listed
        } else {
            !listed && lb.name != METRIC_NAME
        };
        if take {
            h.update(lb.name.as_bytes());
            h.update(&[0xff]);
            h.update(lb.value.as_bytes());
            h.update(&[0xff]);
        }
    }
    h.digest()
}

fn match_group_labels(l: &Labels, m: &VectorMatching) -> Labels {
    let names: Vec<&str> = m.matching_labels.iter().map(String::as_str).collect();
    if m.on {
        l.keep_only(&names)
    } else {
        let mut all = names.clone();
        all.push(METRIC_NAME);
        l.without(&all)
    }
}

/// Labels of a vector/vector result element (upstream's `resultMetric`).
fn result_metric(many: &Labels, one: Option<&Labels>, m: &VectorMatching) -> Labels {
    let mut b: LabelsBuilder = many.builder();
    if m.card == VectorMatchCardinality::OneToOne {
        if m.on {
            b.retain(|l| m.matching_labels.iter().any(|n| n == &l.name));
        } else {
            b.retain(|l| !m.matching_labels.iter().any(|n| n == &l.name));
        }
    }
    if let Some(one) = one {
        for ln in &m.include {
            match one.get(ln) {
                Some(v) => {
                    b.set(ln.clone(), v.to_string());
                }
                None => {
                    b.del(ln);
                }
            }
        }
    }
    b.into_labels()
}
