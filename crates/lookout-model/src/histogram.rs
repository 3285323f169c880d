//! The native (sparse, exponential) histogram data type.
//!
//! This module holds the data shape shared by storage, ingestion and the
//! query engine; arithmetic on histograms lives with the query engine.

/// What the producer says about counter resets, as in Prometheus'
/// `CounterResetHint`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CounterResetHint {
    /// Nothing known; the reader must detect resets.
    #[default]
    Unknown,
    /// A counter reset happened at this sample.
    CounterReset,
    /// Known not to be a counter reset.
    NotCounterReset,
    /// A gauge histogram: resets are not meaningful.
    Gauge,
}

/// A run of consecutive buckets: `offset` buckets are skipped (relative to the
/// end of the previous span, or to index 0 for the first), then `length`
/// buckets follow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// Gap before this span, in buckets.
    pub offset: i32,
    /// Number of buckets in the span.
    pub length: u32,
}

/// A native histogram with float counts (integer histograms are converted on
/// ingest, as PromQL evaluates everything as floats).
///
/// Bucket boundaries for schema `s` (−4..=8) are powers of `2^(2^-s)`; schema
/// −53 means custom bucket bounds in [`FloatHistogram::custom_values`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FloatHistogram {
    /// Counter-reset hint from the producer.
    pub counter_reset_hint: CounterResetHint,
    /// Resolution schema.
    pub schema: i32,
    /// Width of the zero bucket (observations with |v| <= threshold).
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: f64,
    /// Total observations.
    pub count: f64,
    /// Sum of observations.
    pub sum: f64,
    /// Spans of populated positive buckets.
    pub positive_spans: Vec<Span>,
    /// Spans of populated negative buckets.
    pub negative_spans: Vec<Span>,
    /// Absolute counts of the positive buckets, in span order.
    pub positive_buckets: Vec<f64>,
    /// Absolute counts of the negative buckets, in span order.
    pub negative_buckets: Vec<f64>,
    /// Upper bounds for custom-bucket histograms (schema −53); empty otherwise.
    pub custom_values: Vec<f64>,
}

impl FloatHistogram {
    /// Schema number for custom-bucket histograms.
    pub const CUSTOM_BUCKETS_SCHEMA: i32 = -53;

    /// Whether this histogram uses custom bucket bounds.
    pub fn uses_custom_buckets(&self) -> bool {
        self.schema == Self::CUSTOM_BUCKETS_SCHEMA
    }
}

/// Bucket index/count pairs of one side, in span order.
fn indexed_buckets<'a>(
    spans: &'a [Span],
    counts: &'a [f64],
) -> impl Iterator<Item = (i64, f64)> + 'a {
    let mut idx: i64 = 0;
    spans
        .iter()
        .enumerate()
        .flat_map(move |(si, s)| {
            idx = if si == 0 {
                i64::from(s.offset)
            } else {
                idx + i64::from(s.offset)
            };
            let start = idx;
            idx += i64::from(s.length);
            start..start + i64::from(s.length)
        })
        .zip(counts.iter().copied())
}

/// A count decrease (NaNs compare as no decrease, like Prometheus).
fn went_down(cur: f64, prev: f64) -> bool {
    cur < prev
}

/// Whether every bucket of `prev` is present in `cur` with at least its count.
fn buckets_grow(prev_spans: &[Span], prev: &[f64], cur_spans: &[Span], cur: &[f64]) -> bool {
    let mut cur_it = indexed_buckets(cur_spans, cur).peekable();
    for (pi, pc) in indexed_buckets(prev_spans, prev) {
        while cur_it.peek().is_some_and(|&(ci, _)| ci < pi) {
            cur_it.next();
        }
        match cur_it.peek() {
            Some(&(ci, cc)) if ci == pi && !went_down(cc, pc) => {}
            _ => return false,
        }
    }
    true
}

/// Whether `cur` continues the counter histogram `prev` the way Prometheus'
/// storage appends to an open chunk: same schema, zero threshold and custom
/// bounds, and no count, zero-bucket count or bucket that went down or
/// disappeared. Anything else starts a new chunk there (a layout change or a
/// counter reset).
pub fn continues_counter(prev: &FloatHistogram, cur: &FloatHistogram) -> bool {
    cur.schema == prev.schema
        && cur.zero_threshold.to_bits() == prev.zero_threshold.to_bits()
        && cur.custom_values == prev.custom_values
        && !went_down(cur.count, prev.count)
        && !went_down(cur.zero_count, prev.zero_count)
        && buckets_grow(
            &prev.positive_spans,
            &prev.positive_buckets,
            &cur.positive_spans,
            &cur.positive_buckets,
        )
        && buckets_grow(
            &prev.negative_spans,
            &prev.negative_buckets,
            &cur.negative_spans,
            &cur.negative_buckets,
        )
}

/// The counter-reset hint a read returns for a histogram appended after
/// `prev` (the series' previous sample when that was a histogram, else
/// `None`), as Prometheus' TSDB reports it: gauge histograms stay gauges; a
/// sample that starts a new chunk because of a hinted or detected counter
/// reset (or a layout change) reads back as `Unknown` (the reader must
/// detect the reset itself); a sample continuing the previous counter
/// histogram reads back as `NotCounterReset`; the first histogram after a
/// float, a gauge histogram or nothing keeps its own hint.
pub fn stored_counter_reset_hint(
    prev: Option<&FloatHistogram>,
    cur: &FloatHistogram,
) -> CounterResetHint {
    match (cur.counter_reset_hint, prev) {
        (CounterResetHint::Gauge, _) => CounterResetHint::Gauge,
        (CounterResetHint::CounterReset, _) => CounterResetHint::Unknown,
        (hint, None) => hint,
        (hint, Some(p)) if p.counter_reset_hint == CounterResetHint::Gauge => hint,
        (_, Some(p)) => {
            if continues_counter(p, cur) {
                CounterResetHint::NotCounterReset
            } else {
                CounterResetHint::Unknown
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(count: f64, spans: &[(i32, u32)], buckets: &[f64]) -> FloatHistogram {
        FloatHistogram {
            count,
            positive_spans: spans
                .iter()
                .map(|&(offset, length)| Span { offset, length })
                .collect(),
            positive_buckets: buckets.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn stored_hints_follow_chunk_rules() {
        use CounterResetHint::*;
        let a = h(3.0, &[(0, 2)], &[1.0, 2.0]);
        // Growth with a new bucket continues the chunk.
        let b = h(5.0, &[(0, 2), (1, 1)], &[1.0, 3.0, 1.0]);
        assert_eq!(stored_counter_reset_hint(Some(&a), &b), NotCounterReset);
        // A bucket that went down or vanished is a reset.
        let c = h(5.0, &[(0, 2)], &[0.5, 4.5]);
        assert_eq!(stored_counter_reset_hint(Some(&a), &c), Unknown);
        let d = h(5.0, &[(1, 1)], &[5.0]);
        assert_eq!(stored_counter_reset_hint(Some(&a), &d), Unknown);
        // Count decrease.
        let e = h(2.0, &[(0, 2)], &[1.0, 2.0]);
        assert_eq!(stored_counter_reset_hint(Some(&a), &e), Unknown);
        // Schema change starts a new chunk.
        let mut f = b.clone();
        f.schema = 1;
        assert_eq!(stored_counter_reset_hint(Some(&a), &f), Unknown);
        // Explicit hints.
        let mut g = b.clone();
        g.counter_reset_hint = CounterReset;
        assert_eq!(stored_counter_reset_hint(Some(&a), &g), Unknown);
        g.counter_reset_hint = Gauge;
        assert_eq!(stored_counter_reset_hint(Some(&a), &g), Gauge);
        assert_eq!(stored_counter_reset_hint(Some(&g), &b), Unknown);
        g.counter_reset_hint = NotCounterReset;
        assert_eq!(stored_counter_reset_hint(None, &g), NotCounterReset);
        assert_eq!(stored_counter_reset_hint(None, &b), Unknown);
    }
}
