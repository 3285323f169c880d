//! What the HTTP layer needs from a PromQL implementation. The server adapts
//! `lookout-promql`'s engine to this trait; keeping the trait here lets the
//! API be tested on its own and keeps the engine free of HTTP concerns.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lookout_model::storage::SeriesData;
use lookout_model::{FloatHistogram, Labels, Matcher};

/// Per-query options taken from request parameters and server flags.
#[derive(Debug, Clone, Default)]
pub struct QueryOptions {
    /// Time budget for this query (the smaller of `timeout=` and the server's
    /// `--query.timeout`).
    pub timeout: Option<Duration>,
    /// `lookback_delta=` override, milliseconds.
    pub lookback_delta_ms: Option<i64>,
    /// Whether the caller asked for `stats`.
    pub stats: bool,
}

type Hook = Box<dyn Fn() + Send + Sync>;

/// A flag the HTTP layer raises when the client goes away or the time
/// budget runs out; the engine polls it (or its own token, bridged with
/// [`CancelFlag::on_cancel`]) and gives up with [`QueryErrorKind::Canceled`].
#[derive(Clone, Default)]
pub struct CancelFlag {
    raised: Arc<AtomicBool>,
    hooks: Arc<parking_lot::Mutex<Vec<Hook>>>,
}

impl std::fmt::Debug for CancelFlag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelFlag")
            .field("raised", &self.is_cancelled())
            .finish()
    }
}

impl CancelFlag {
    /// A fresh, lowered flag.
    pub fn new() -> Self {
        Self::default()
    }
    /// Raises the flag and runs the registered hooks (once).
    pub fn cancel(&self) {
        if !self.raised.swap(true, Ordering::SeqCst) {
            for h in self.hooks.lock().iter() {
                h();
            }
        }
    }
    /// Whether the flag is raised.
    pub fn is_cancelled(&self) -> bool {
        self.raised.load(Ordering::SeqCst)
    }
    /// Runs `hook` when the flag is raised (right away if it already is):
    /// how an engine with its own cancellation token is connected.
    pub fn on_cancel(&self, hook: impl Fn() + Send + Sync + 'static) {
        let mut hooks = self.hooks.lock();
        // Checked under the lock: `cancel` sets the flag before taking it,
        // so either it sees this hook or we see the raised flag.
        if self.is_cancelled() {
            drop(hooks);
            hook();
            return;
        }
        hooks.push(Box::new(hook));
    }
}

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorSample {
    /// Series labels.
    pub labels: Labels,
    /// Evaluation timestamp, milliseconds.
    pub t: i64,
    /// Float value, or a histogram.
    pub value: SampleValue,
}

/// A float or a native histogram.
#[derive(Debug, Clone, PartialEq)]
pub enum SampleValue {
    /// A float sample.
    Float(f64),
    /// A native histogram sample.
    Histogram(FloatHistogram),
}

/// A query result value.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryValue {
    /// `scalar`: a timestamp and a value.
    Scalar {
        /// Milliseconds.
        t: i64,
        /// Value.
        v: f64,
    },
    /// `string`: a timestamp and a string.
    String {
        /// Milliseconds.
        t: i64,
        /// Value.
        v: String,
    },
    /// `vector`.
    Vector(Vec<VectorSample>),
    /// `matrix`: series with their points.
    Matrix(Vec<SeriesData>),
}

impl QueryValue {
    /// The `resultType` word.
    pub fn result_type(&self) -> &'static str {
        match self {
            QueryValue::Scalar { .. } => "scalar",
            QueryValue::String { .. } => "string",
            QueryValue::Vector(_) => "vector",
            QueryValue::Matrix(_) => "matrix",
        }
    }
}

/// Sample counts an engine reports for `stats=`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuerySamplesStats {
    /// Samples read from storage over the whole query.
    pub total_queryable_samples: u64,
    /// Most samples held in memory at once.
    pub peak_samples: u64,
}

/// A successful evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// The value.
    pub value: QueryValue,
    /// Warning annotations.
    pub warnings: Vec<String>,
    /// Info annotations.
    pub infos: Vec<String>,
    /// Sample statistics, when the engine counts them.
    pub samples: Option<QuerySamplesStats>,
}

/// Which Prometheus error type a failed query maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryErrorKind {
    /// The expression did not parse or is invalid (`bad_data`, 400).
    BadData,
    /// Evaluation failed, e.g. too many samples (`execution`, 422).
    Execution,
    /// The time budget ran out (`timeout`, 503).
    Timeout,
    /// The cancel flag was raised (`canceled`, 499).
    Canceled,
    /// Storage failed (`internal`, 500).
    Internal,
}

/// A failed query.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    /// The error class.
    pub kind: QueryErrorKind,
    /// Prometheus' message text (e.g. `1:3: parse error: unexpected end of input`).
    pub message: String,
}

impl QueryError {
    /// Shorthand constructor.
    pub fn new(kind: QueryErrorKind, message: impl Into<String>) -> Self {
        QueryError {
            kind,
            message: message.into(),
        }
    }
}

/// The PromQL operations the API serves.
///
/// Methods are synchronous and may take long; the API runs them on the
/// blocking thread pool and raises the cancel flag when the client leaves.
pub trait QueryEngine: Send + Sync + 'static {
    /// Evaluates `expr` at `t` (milliseconds).
    fn instant_query(
        &self,
        expr: &str,
        t: i64,
        opts: &QueryOptions,
        cancel: &CancelFlag,
    ) -> Result<QueryResult, QueryError>;

    /// Evaluates `expr` at `start, start+step, …, ≤ end` (milliseconds); the
    /// value is always a matrix.
    fn range_query(
        &self,
        expr: &str,
        start: i64,
        end: i64,
        step: i64,
        opts: &QueryOptions,
        cancel: &CancelFlag,
    ) -> Result<QueryResult, QueryError>;

    /// Parses a series selector such as `up{job="x"}` into matchers
    /// (`match[]` parameters).
    fn parse_selector(&self, selector: &str) -> Result<Vec<Matcher>, QueryError>;

    /// The matchers of every vector selector in `expr` (for exemplars).
    fn selectors(&self, expr: &str) -> Result<Vec<Vec<Matcher>>, QueryError>;

    /// `expr` pretty-printed the way Prometheus' `format_query` does.
    fn format_query(&self, expr: &str) -> Result<String, QueryError>;

    /// The AST of `expr` as JSON, in Prometheus' `parse_query` shape.
    fn parse_query(&self, expr: &str) -> Result<serde_json::Value, QueryError>;
}
