//! lookout-exposition: the Prometheus text exposition format 0.0.4 and
//! OpenMetrics 1.0 text — a zero-copy pull [`Parser`] (metadata, samples,
//! timestamps, exemplars, `# EOF`) with line-numbered, upstream-worded errors,
//! and a text-format [`writer`] (used by `/federate`).
//!
//! This is the scrape hot path, so the parser borrows from the input and
//! allocates only for escaped label values. It must stay free of any
//! storage, HTTP or scrape-loop logic: callers turn [`Sample`]s into label
//! sets and decide what to do with metadata.

mod number;
mod parser;
pub mod writer;

pub use number::{
    format_go_float, parse_go_float, parse_om_timestamp_ms, push_go_float, GO_NAN_BITS,
};
pub use parser::{Parser, MAX_EXEMPLAR_LABEL_RUNES};

use std::borrow::Cow;

/// Which text format a body is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4 (`text/plain; version=0.0.4`):
    /// millisecond integer timestamps, free blank runs, comments allowed.
    Text004,
    /// OpenMetrics 1.0 text (`application/openmetrics-text`): single-space
    /// separators, second timestamps, UNIT, exemplars, mandatory `# EOF`.
    OpenMetrics,
}

impl Format {
    /// Picks the format from an HTTP `Content-Type` header value.
    pub fn from_content_type(ct: &str) -> Format {
        if ct
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("application/openmetrics-text")
        {
            Format::OpenMetrics
        } else {
            Format::Text004
        }
    }
}

/// A metric family type from a `# TYPE` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// `counter`
    Counter,
    /// `gauge`
    Gauge,
    /// `histogram`
    Histogram,
    /// `gaugehistogram` (OpenMetrics)
    GaugeHistogram,
    /// `summary`
    Summary,
    /// `info` (OpenMetrics)
    Info,
    /// `stateset` (OpenMetrics)
    StateSet,
    /// `untyped` (0.0.4), `unknown` (OpenMetrics), or no TYPE line.
    Unknown,
}

impl MetricType {
    /// Parses a type word valid in `format`.
    pub fn parse(word: &[u8], format: Format) -> Option<MetricType> {
        Some(match (word, format) {
            (b"counter", _) => MetricType::Counter,
            (b"gauge", _) => MetricType::Gauge,
            (b"histogram", _) => MetricType::Histogram,
            (b"summary", _) => MetricType::Summary,
            (b"untyped", Format::Text004) => MetricType::Unknown,
            (b"unknown", Format::OpenMetrics) => MetricType::Unknown,
            (b"gaugehistogram", Format::OpenMetrics) => MetricType::GaugeHistogram,
            (b"info", Format::OpenMetrics) => MetricType::Info,
            (b"stateset", Format::OpenMetrics) => MetricType::StateSet,
            _ => return None,
        })
    }

    /// The word for a 0.0.4 `# TYPE` line (`untyped` for unknown; OpenMetrics-only
    /// types fall back to their closest 0.0.4 type).
    pub fn text004_word(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::Summary => "summary",
            MetricType::GaugeHistogram => "histogram",
            MetricType::Info | MetricType::StateSet => "gauge",
            MetricType::Unknown => "untyped",
        }
    }
}

/// One label of a sample or exemplar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label<'a> {
    /// Label name, borrowed from the input.
    pub name: &'a str,
    /// Label value, borrowed unless it contained escapes.
    pub value: Cow<'a, str>,
}

/// The labels of one sample (inline up to 8).
pub type Labels<'a> = smallvec::SmallVec<[Label<'a>; 8]>;

/// An OpenMetrics exemplar attached to a sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Exemplar<'a> {
    /// Exemplar labels (e.g. `trace_id`).
    pub labels: Vec<Label<'a>>,
    /// Exemplar value.
    pub value: f64,
    /// Exemplar timestamp in milliseconds, if given.
    pub timestamp_ms: Option<i64>,
}

/// One sample line.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample<'a> {
    /// Metric name as written (with `_total`, `_bucket`, ... suffixes).
    pub name: &'a str,
    /// Labels in input order (not sorted, no `__name__`).
    pub labels: Labels<'a>,
    /// Sample value (`NaN` parses to Go's NaN bits, [`GO_NAN_BITS`]).
    pub value: f64,
    /// Timestamp in milliseconds, if the line had one.
    pub timestamp_ms: Option<i64>,
    /// OpenMetrics exemplar, if any.
    pub exemplar: Option<Exemplar<'a>>,
    /// Type of the family this sample belongs to, per the last `# TYPE` line
    /// whose name (plus a suffix that type allows) matches; `Unknown` otherwise.
    pub kind: MetricType,
    /// 1-based line number.
    pub line: usize,
}

/// One parsed entry.
// Samples dominate and are returned by value on the hot path; boxing them
// would cost an allocation per sample to shrink the rare metadata variants.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Entry<'a> {
    /// `# HELP name text` (text unescaped).
    Help {
        /// Family name.
        name: &'a str,
        /// Help text.
        help: Cow<'a, str>,
    },
    /// `# TYPE name type`.
    Type {
        /// Family name.
        name: &'a str,
        /// Declared type.
        kind: MetricType,
    },
    /// `# UNIT name unit` (OpenMetrics).
    Unit {
        /// Family name.
        name: &'a str,
        /// Unit (a suffix of the name).
        unit: &'a str,
    },
    /// Any other `#` line (0.0.4 only), without the `#`.
    Comment(Cow<'a, str>),
    /// A sample line.
    Sample(Sample<'a>),
}

/// A syntax error, with the 1-based line it was found on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong, worded like Prometheus' parsers.
    pub message: String,
}

/// Parses a whole body, returning every sample (metadata dropped).
pub fn parse_samples(input: &[u8], format: Format) -> Result<Vec<Sample<'_>>, ParseError> {
    let mut out = Vec::new();
    for e in Parser::new(input, format) {
        if let Entry::Sample(s) = e? {
            out.push(s);
        }
    }
    Ok(out)
}
