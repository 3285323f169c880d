//! The deterministic workload of the crash test (shared by the writer
//! binary and the verifying test): batch `n` holds, at timestamp `n·1000`,
//! one float sample for each of [`BASE_SERIES`] series (series 3 carries a
//! staleness marker every 13th batch), a histogram every 5th batch, and a
//! brand-new series every 7th batch.

use lookout_model::{FloatHistogram, Labels, Span, STALE_NAN};

/// Series present in every batch.
pub const BASE_SERIES: u64 = 20;

/// One sample of a batch.
pub enum Sample {
    /// Float sample.
    Float(Labels, i64, f64),
    /// Histogram sample.
    Hist(Labels, i64, FloatHistogram),
}

/// Labels of base series `s`.
pub fn base_labels(s: u64) -> Labels {
    Labels::from_pairs([
        ("__name__", "crash_metric".to_string()),
        ("series", s.to_string()),
    ])
}

/// Labels of the series first created by batch `n` (`n % 7 == 0`).
pub fn extra_labels(n: u64) -> Labels {
    Labels::from_pairs([
        ("__name__", "crash_extra".to_string()),
        ("born", n.to_string()),
    ])
}

/// Labels of the histogram series.
pub fn hist_labels() -> Labels {
    Labels::from_pairs([("__name__", "crash_hist")])
}

/// The value of base series `s` in batch `n`.
pub fn value(n: u64, s: u64) -> f64 {
    if s == 3 && n.is_multiple_of(13) {
        return STALE_NAN;
    }
    match s % 4 {
        0 => (n * (s + 1)) as f64,
        1 => (n as f64) * 0.01 + s as f64,
        2 => ((n * 7919 + s) % 1000) as f64 / 7.0,
        _ => -((n % 100) as f64) * 1.5,
    }
}

/// The histogram of batch `n` (`n % 5 == 0`).
pub fn histogram(n: u64) -> FloatHistogram {
    FloatHistogram {
        schema: 0,
        count: n as f64,
        sum: n as f64 * 0.5,
        zero_threshold: 1e-3,
        positive_spans: vec![Span {
            offset: 0,
            length: 2,
        }],
        positive_buckets: vec![n as f64 / 2.0, n as f64 / 2.0],
        ..FloatHistogram::default()
    }
}

/// Timestamp of batch `n`.
pub fn ts(n: u64) -> i64 {
    n as i64 * 1000
}

/// All samples of batch `n`.
pub fn batch(n: u64) -> Vec<Sample> {
    let t = ts(n);
    let mut v: Vec<Sample> = (0..BASE_SERIES)
        .map(|s| Sample::Float(base_labels(s), t, value(n, s)))
        .collect();
    if n.is_multiple_of(7) {
        v.push(Sample::Float(extra_labels(n), t, n as f64));
    }
    if n.is_multiple_of(5) {
        v.push(Sample::Hist(hist_labels(), t, histogram(n)));
    }
    v
}
