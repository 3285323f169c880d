//! lookout-model: the vocabulary every other lookout crate shares.
//!
//! Owns labels and label sets, label matchers (with Prometheus' anchored,
//! dot-matches-newline regex semantics), float samples and the staleness
//! marker, the native histogram data type, durations (Prometheus' and Go's
//! grammars), config secrets that never print, and the
//! storage traits ([`storage::Querier`], [`storage::Appendable`]) through which
//! query engines, scrapers and rule evaluators reach a store.
//!
//! Must not depend on any storage engine, HTTP stack, async runtime or query
//! language: it is the leaf of the dependency graph.

pub mod duration;
pub mod histogram;
pub mod labels;
pub mod matcher;
pub mod relabel;
pub mod sample;
pub mod secret;
pub mod storage;

pub use duration::{
    format_duration, format_go_duration, parse_duration, parse_go_duration, DurationError,
};
pub use histogram::{CounterResetHint, FloatHistogram, Span};
pub use labels::{Label, Labels, LabelsBuilder, METRIC_NAME};
pub use matcher::{MatchOp, Matcher, MatcherError};
pub use sample::{is_stale_nan, FloatSample, HistogramSample, STALE_NAN, STALE_NAN_BITS};
pub use secret::Secret;
