//! lookout-loadgen: deterministic synthetic metrics workloads for benchmarks
//! and interop tests.
//!
//! Owns the datasets of performance-anchors §4.4 ("scrape-like" and
//! "high-entropy", five value kinds) and their encodings: OpenMetrics text,
//! Prometheus text with millisecond timestamps, pre-encoded remote-write 1.0
//! bodies, and an in-process iterator ([`TimeMajor`], [`series_major`]).
//! Equal [`Spec`]s produce bit-identical data on every machine.
//!
//! A dev tool: must not depend on lookout's storage, query or server crates
//! (only on `lookout-model` for label sets), so benchmarks of those crates can
//! use it without cycles.

pub mod dataset;
pub mod remote_write;
pub mod rng;
pub mod text;

pub use dataset::{series_major, Entropy, GenSample, SeriesGen, Spec, TimeMajor, ValueKind};
