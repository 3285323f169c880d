//! lookout-scrape: pulling metrics from targets.
//!
//! Owns the scraping parts of `prometheus.yml` ([`config`]), target building
//! from discovered groups (relabeling, `__address__`/`instance` defaults),
//! the scrape manager and per-target scrape loops (HTTP fetch with content
//! negotiation, gzip, timeouts and limits), sample processing
//! (`honor_labels`, `metric_relabel_configs`), staleness markers, the
//! synthetic `up`/`scrape_*` series, and the target state and metadata the
//! HTTP API reports.
//!
//! Must not know about any storage engine: samples go out through
//! `lookout_model::storage::Appendable`. Exposition parsing belongs to
//! `lookout-exposition`; discovery to `lookout-discovery`.

pub mod api;
pub mod append;
pub mod client;
pub mod config;
pub mod manager;
pub mod memstore;
pub mod pool;
pub mod scrape_loop;
pub mod state;
pub mod target;
