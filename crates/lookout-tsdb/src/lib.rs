//! lookout-tsdb: lookout's metrics storage engine.
//!
//! Owns the native store (write-ahead log, in-memory head, immutable on-disk
//! parts, compaction, retention) behind the `Querier` and `Appendable` traits
//! of `lookout-model`, and Prometheus TSDB block interop ([`promblock`]:
//! reading Prometheus data dirs, writing blocks promtool accepts).
//!
//! Must not depend on HTTP, async runtimes, PromQL or any scrape/ingest
//! protocol: callers hand it label sets and samples.
//!
//! Write path: label set → series id (in-memory registry, new series logged
//! to `series.log`) → order/duplicate check against the series' newest
//! sample → one CRC32C-framed WAL record per commit (`write()` before the
//! commit returns) → bounded row buffer → flushed into an immutable part per
//! UTC day → size-tiered merges → one final compact part per closed day.
//! See [`db`], [`wal`], [`part`], [`compact`] and [`codec`] for the details
//! and [`Options`] for the knobs.
//!
//! Read path: matchers → series ids through in-memory postings (direct
//! lookups for `=` and literal alternations, value scans for other regexes)
//! → per part, only the granules whose series-id and time ranges can hold
//! those ids are read (`pread`, CRC-checked) → samples merged per series
//! (earliest write wins on equal timestamps) → sorted by label set.
//!
//! Current limits: the registry and its postings cover every series in the
//! store (≈150–250 B per series), not only recently active ones; parts carry
//! per-granule series ranges but no on-disk postings of their own, and
//! series absent from every retained day are not pruned from the registry
//! (or `series.snap`) yet, so churned series keep costing memory. Native histograms use a simple per-sample serialisation (zstd'ed
//! per block); the block value-kind byte leaves room for a columnar codec.

pub mod appender;
pub mod codec;
mod commit;
pub mod compact;
#[doc(hidden)]
pub mod crash_model;
pub mod db;
pub mod head;
pub mod layout;
pub mod options;
pub mod part;
pub mod promblock;
pub mod query;
pub mod registry;
pub mod series_snapshot;
pub mod stats;
pub mod wal;

pub use db::{CommitReport, Db, DbError, SeriesRef};
pub use options::{FsyncPolicy, Options};
pub use stats::Stats;
