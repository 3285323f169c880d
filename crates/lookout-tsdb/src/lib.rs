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
//! Memory follows active series: a day's final part carries a label index
//! ([`day_index`]), and series that wrote nothing for
//! [`Options::drop_idle_series_after`] and whose data all sits in indexed
//! days are dropped from the registry ([`prune`]); queries reach them
//! through the part indexes of the days they cover. Current limits: ids are
//! never reused, so each dropped id still costs ~21 B of dense tables (4 B
//! registry, 17 B head state); a dropped label set written again gets a new
//! id (reads merge the two). Native histograms use a simple per-sample
//! serialisation (zstd'ed
//! per block); the block value-kind byte leaves room for a columnar codec.

pub mod appender;
pub mod cache;
pub mod codec;
mod commit;
pub mod compact;
#[doc(hidden)]
pub mod crash_model;
pub mod day_index;
pub mod db;
pub mod head;
pub mod layout;
pub mod options;
pub mod part;
pub mod promblock;
pub mod prune;
pub mod query;
pub mod registry;
pub mod scratch;
pub mod series_snapshot;
pub mod stats;
pub mod wal;

pub use db::{CommitReport, Db, DbError, SeriesRef};
pub use options::{FsyncPolicy, Options};
pub use scratch::ScratchDb;
pub use stats::Stats;
