//! Compensated (Kahan–Neumaier) summation and averaging of native
//! histograms, component by component, for `sum`, `avg`,
//! `sum_over_time` and `avg_over_time`.

use std::collections::BTreeMap;

use lookout_model::{CounterResetHint, FloatHistogram};

use super::aggregate::kahan_inc;
use crate::engine::histogram::{self as hist, HistError, OpFlags};

/// One compensated float accumulator (sum or mean).
#[derive(Clone, Copy, Debug, Default)]
struct KAcc {
    n: u64,
    sum: f64,
    c: f64,
    mean: f64,
    incremental: bool,
}

impl KAcc {
    fn add(&mut self, f: f64, avg: bool) {
        if !avg {
            (self.sum, self.c) = kahan_inc(f, self.sum, self.c);
            self.n += 1;
            return;
        }
        let q = (self.n + 1) as f64;
        self.n += 1;
        if !self.incremental {
            let (ns, nc) = kahan_inc(f, self.sum, self.c);
            if !ns.is_infinite() {
                self.sum = ns;
                self.c = nc;
                return;
            }
            self.incremental = true;
            if q > 1.0 {
                self.mean = self.sum / (q - 1.0);
                self.c /= q - 1.0;
            } else {
                self.mean = 0.0;
                self.c = 0.0;
            }
        }
        if self.mean.is_infinite() {
            if f.is_infinite() && (self.mean > 0.0) == (f > 0.0) {
                return;
            }
            if !f.is_infinite() && !f.is_nan() {
                return;
            }
        }
        let cur = self.mean + self.c;
        (self.mean, self.c) = kahan_inc(f / q - cur / q, self.mean, self.c);
    }

    fn value(&self, avg: bool) -> f64 {
        if !avg {
            return self.sum + self.c;
        }
        if self.incremental {
            self.mean + self.c
        } else if self.n == 0 {
            0.0
        } else {
            (self.sum + self.c) / self.n as f64
        }
    }

    /// Merges another accumulator over the same inputs (bucket merging).
    fn merge(&mut self, o: &KAcc) {
        if self.incremental || o.incremental {
            let a = self.value(true);
            let b = o.value(true);
            self.incremental = true;
            self.mean = a + b;
            self.c = 0.0;
        } else {
            (self.sum, self.c) = kahan_inc(o.sum, self.sum, self.c);
            self.c += o.c;
        }
        self.n = self.n.max(o.n);
    }
}

/// A running sum or mean of histograms.
#[derive(Clone)]
pub(crate) struct HistAcc {
    avg: bool,
    n: u64,
    meta: FloatHistogram,
    count: KAcc,
    sum: KAcc,
    zero: KAcc,
    pos: BTreeMap<i32, KAcc>,
    neg: BTreeMap<i32, KAcc>,
    pub flags: OpFlags,
    seen_reset: bool,
    seen_not_reset: bool,
}

impl HistAcc {
    /// Starts with the first histogram.
    pub fn new(h: &FloatHistogram, avg: bool) -> Self {
        let mut meta = h.clone();
        meta.positive_buckets.clear();
        meta.negative_buckets.clear();
        meta.positive_spans.clear();
        meta.negative_spans.clear();
        let mut a = HistAcc {
            avg,
            n: 0,
            meta,
            count: KAcc::default(),
            sum: KAcc::default(),
            zero: KAcc::default(),
            pos: BTreeMap::new(),
            neg: BTreeMap::new(),
            flags: OpFlags::default(),
            seen_reset: h.counter_reset_hint == CounterResetHint::CounterReset,
            seen_not_reset: h.counter_reset_hint == CounterResetHint::NotCounterReset,
        };
        a.add_components(h);
        a
    }

    fn add_components(&mut self, h: &FloatHistogram) {
        let avg = self.avg;
        let prior = self.n;
        self.n += 1;
        self.count.add(h.count, avg);
        self.sum.add(h.sum, avg);
        self.zero.add(h.zero_count, avg);
        for (map, pairs) in [
            (
                &mut self.pos,
                hist::expand(&h.positive_spans, &h.positive_buckets),
            ),
            (
                &mut self.neg,
                hist::expand(&h.negative_spans, &h.negative_buckets),
            ),
        ] {
            let mut seen: Vec<i32> = Vec::with_capacity(pairs.len());
            for (i, c) in pairs {
                let e = map.entry(i).or_insert_with(|| KAcc {
                    n: 0,
                    ..Default::default()
                });
                if e.n < prior {
                    // Implicit zeros for the histograms added before.
                    for _ in e.n..prior {
                        e.add(0.0, avg);
                    }
                }
                e.add(c, avg);
                seen.push(i);
            }
            if avg {
                for (i, e) in map.iter_mut() {
                    if !seen.contains(i) && e.n < prior + 1 {
                        e.add(0.0, true);
                    }
                }
            }
        }
    }

    fn reduce_to(&mut self, schema: i32) {
        if schema >= self.meta.schema || self.meta.uses_custom_buckets() {
            return;
        }
        for map in [&mut self.pos, &mut self.neg] {
            let old = std::mem::take(map);
            for (i, a) in old {
                let t = hist::reduce_index(i, self.meta.schema, schema);
                match map.get_mut(&t) {
                    Some(e) => e.merge(&a),
                    None => {
                        map.insert(t, a);
                    }
                }
            }
        }
        self.meta.schema = schema;
    }

    fn widen_zero(&mut self, threshold: f64) {
        if threshold <= self.meta.zero_threshold {
            return;
        }
        let mut thr = threshold;
        loop {
            let mut changed = false;
            for map in [&mut self.pos, &mut self.neg] {
                let keys: Vec<i32> = map.keys().copied().collect();
                for i in keys {
                    let lower = hist::exp_bound(i - 1, self.meta.schema);
                    let upper = hist::exp_bound(i, self.meta.schema);
                    if lower < thr {
                        if let Some(a) = map.remove(&i) {
                            self.zero.merge(&a);
                        }
                        if upper > thr {
                            thr = upper;
                            changed = true;
                        }
                    }
                }
            }
            if !changed {
                break;
            }
        }
        self.meta.zero_threshold = thr;
    }

    fn remap_custom(&mut self, bounds: &[f64]) {
        let old = std::mem::take(&mut self.pos);
        for (i, a) in old {
            let upper = self
                .meta
                .custom_values
                .get(i.max(0) as usize)
                .copied()
                .unwrap_or(f64::INFINITY);
            let ni = bounds
                .iter()
                .position(|&b| b >= upper)
                .unwrap_or(bounds.len()) as i32;
            match self.pos.get_mut(&ni) {
                Some(e) => e.merge(&a),
                None => {
                    self.pos.insert(ni, a);
                }
            }
        }
        self.meta.custom_values = bounds.to_vec();
    }

    /// Adds a histogram.
    pub fn add(&mut self, h: &FloatHistogram) -> Result<(), HistError> {
        if h.uses_custom_buckets() != self.meta.uses_custom_buckets() {
            return Err(HistError::MixedSchemas);
        }
        // Counter-reset hints: any gauge makes a gauge, differing hints
        // make "unknown", and a reset next to a not-reset is a collision.
        {
            use CounterResetHint::*;
            let (ha, hb) = (self.meta.counter_reset_hint, h.counter_reset_hint);
            self.seen_reset |= hb == CounterReset;
            self.seen_not_reset |= hb == NotCounterReset;
            if self.seen_reset && self.seen_not_reset {
                self.flags.counter_reset_collision = true;
            }
            if ha != hb && ha != Gauge {
                self.meta.counter_reset_hint = if hb == Gauge { Gauge } else { Unknown };
            }
        }
        let mut h = h.clone();
        if h.uses_custom_buckets() {
            if h.custom_values != self.meta.custom_values {
                self.flags.nhcb_reconciled = true;
                let bounds: Vec<f64> = self
                    .meta
                    .custom_values
                    .iter()
                    .copied()
                    .filter(|b| h.custom_values.contains(b))
                    .collect();
                self.remap_custom(&bounds);
                let (_, (spans, counts)) =
                    ((), hist::build(&hist::remap_custom_pub(&h, &bounds), false));
                h.positive_spans = spans;
                h.positive_buckets = counts;
                h.custom_values = bounds;
            }
        } else {
            if h.zero_threshold > self.meta.zero_threshold {
                self.widen_zero(h.zero_threshold);
            }
            if self.meta.zero_threshold > h.zero_threshold {
                hist::widen_zero_bucket(&mut h, self.meta.zero_threshold);
                if h.zero_threshold > self.meta.zero_threshold {
                    self.widen_zero(h.zero_threshold);
                }
            }
            if h.schema < self.meta.schema {
                self.reduce_to(h.schema);
            } else if h.schema > self.meta.schema {
                h = hist::copy_to_schema(&h, self.meta.schema);
            }
        }
        self.add_components(&h);
        Ok(())
    }

    /// The sum or mean so far.
    pub fn result(&self) -> FloatHistogram {
        let mut out = self.meta.clone();
        out.count = self.count.value(self.avg);
        out.sum = self.sum.value(self.avg);
        out.zero_count = self.zero.value(self.avg);
        let pos: Vec<(i32, f64)> = self
            .pos
            .iter()
            .map(|(i, a)| (*i, a.value(self.avg)))
            .collect();
        let neg: Vec<(i32, f64)> = self
            .neg
            .iter()
            .map(|(i, a)| (*i, a.value(self.avg)))
            .collect();
        (out.positive_spans, out.positive_buckets) = hist::build(&pos, false);
        (out.negative_spans, out.negative_buckets) = hist::build(&neg, false);
        hist::compact(&mut out);
        out
    }
}
