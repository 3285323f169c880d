//! The storage traits query engines, scrapers, rule evaluators and ingest
//! paths program against. `lookout-tsdb` implements them; tests may provide
//! in-memory implementations.

use crate::histogram::FloatHistogram;
use crate::labels::Labels;
use crate::matcher::Matcher;
use crate::sample::{FloatSample, HistogramSample};

/// Errors a store reports to its readers and writers.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// An I/O failure underneath the store.
    #[error("storage I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Stored data failed a checksum or could not be decoded.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// A configured limit (series, samples, bytes) was hit.
    #[error("{0}")]
    Limit(String),
    /// The caller asked for something the store does not support.
    #[error("{0}")]
    Unsupported(String),
    /// The operation was cancelled by the caller.
    #[error("operation cancelled")]
    Cancelled,
}

/// What a reader intends to do with a selection; lets the store skip work.
#[derive(Clone, Debug, Default)]
pub struct SelectHints {
    /// Inclusive lower time bound, milliseconds.
    pub mint: i64,
    /// Inclusive upper time bound, milliseconds.
    pub maxt: i64,
    /// Only label sets are needed (e.g. `/api/v1/series`): samples may be left
    /// empty, but a series must still have at least one sample in range.
    pub labels_only: bool,
    /// Stop after this many series (0 = unlimited).
    pub limit: usize,
}

/// One selected series with its samples inside the requested range, sorted by
/// timestamp. A series may hold float and histogram samples at different
/// timestamps (never both at one timestamp).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeriesData {
    /// The series' labels.
    pub labels: Labels,
    /// Float samples in time order.
    pub floats: Vec<FloatSample>,
    /// Histogram samples in time order.
    pub histograms: Vec<HistogramSample>,
}

/// A stream of selected series, sorted by label set.
pub type SeriesSet = Box<dyn Iterator<Item = Result<SeriesData, StorageError>> + Send>;

/// Read access to stored series.
pub trait Querier: Send + Sync {
    /// Series whose labels satisfy every matcher and that have at least one
    /// sample in `[hints.mint, hints.maxt]`, sorted by label set, with their
    /// samples in that range. An empty matcher list selects nothing.
    fn select(&self, matchers: &[Matcher], hints: &SelectHints) -> Result<SeriesSet, StorageError>;

    /// Sorted, unique label names of series with samples in `[mint, maxt]`
    /// that satisfy every matcher (all series when `matchers` is empty).
    fn label_names(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, StorageError>;

    /// Sorted, unique values of label `name` over series with samples in
    /// `[mint, maxt]` that satisfy every matcher.
    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, StorageError>;
}

/// Why one sample was refused. The texts follow Prometheus' storage errors,
/// which clients and the remote-write protocol surface verbatim.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum AppendError {
    /// Older than the series' newest sample and outside any out-of-order window.
    #[error("out of order sample")]
    OutOfOrder,
    /// Same timestamp as an existing sample with a different value.
    #[error("duplicate sample for timestamp")]
    Duplicate,
    /// Older than the store accepts at all (before the head / outside the window).
    #[error("out of bounds")]
    OutOfBounds,
    /// Older than the configured out-of-order window.
    #[error("too old sample")]
    TooOld,
    /// A label set the store refuses (empty, duplicate names, invalid UTF-8...).
    #[error("invalid labels: {0}")]
    InvalidLabels(String),
    /// A limit (series count, label count...) refused the sample.
    #[error("{0}")]
    Limit(String),
    /// The store failed underneath; nothing from this appender may be assumed
    /// durable.
    #[error("storage error: {0}")]
    Storage(String),
}

/// A batch of writes, made durable and visible together by [`Appender::commit`].
pub trait Appender: Send {
    /// Queues a float sample. Order and duplicate checks happen here or at
    /// commit; either way the error names the offending sample's problem.
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError>;

    /// Queues a native histogram sample.
    fn append_histogram(
        &mut self,
        labels: &Labels,
        t: i64,
        h: &FloatHistogram,
    ) -> Result<(), AppendError>;

    /// Makes every queued sample durable (per the store's documented fsync
    /// policy) and visible to readers. Once this returns `Ok` the batch is
    /// acknowledged.
    fn commit(self: Box<Self>) -> Result<(), StorageError>;

    /// Discards every queued sample.
    fn rollback(self: Box<Self>);
}

/// Something that hands out appenders.
pub trait Appendable: Send + Sync {
    /// A new, empty batch.
    fn appender(&self) -> Box<dyn Appender + '_>;
}
