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
