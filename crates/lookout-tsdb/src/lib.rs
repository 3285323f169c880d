//! lookout-tsdb: lookout's metrics storage engine.
//!
//! Owns the native store (write-ahead log, in-memory head, immutable on-disk
//! parts, compaction, retention) behind the `Querier` and `Appendable` traits
//! of `lookout-model`, and Prometheus TSDB block interop ([`promblock`]:
//! reading Prometheus data dirs, writing blocks promtool accepts).
//!
//! Must not depend on HTTP, async runtimes, PromQL or any scrape/ingest
//! protocol: callers hand it label sets and samples.

pub mod codec;
pub mod promblock;
