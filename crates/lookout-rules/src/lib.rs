//! lookout-rules: Prometheus recording and alerting rules.
//!
//! Owns rule files (decoding, `promtool check rules` validation and lint),
//! rule groups and their evaluation (recording rules written back through
//! `Appendable`, alert state machine, `ALERTS`/`ALERTS_FOR_STATE`, `for`
//! state restore), the rule manager (scheduling, reload that keeps old rules
//! on error, API snapshots), the notifier that hands alerts to Alertmanagers
//! (in-process trait and HTTP `/api/v2/alerts`), and promtool's rule
//! unit-test format.
//!
//! Must not depend on a storage engine or an HTTP server: the store is
//! reached through `lookout_model::storage`, PromQL through
//! `lookout_promql::engine::Engine`, templates through `lookout-template`,
//! the built-in Alertmanager through [`notifier::AlertmanagerTarget`].
//! Evaluation runs on plain threads; only the HTTP Alertmanager client
//! ([`alerting::HttpTarget`]) drives a private single-threaded tokio
//! runtime for reqwest.

pub mod alerting;
pub mod api;
pub mod check;
pub mod defaults;
pub mod group;
pub mod load;
pub mod manager;
pub mod metrics;
pub mod notifier;
pub mod rule;
pub mod rulefmt;
pub mod unittest;
pub mod yaml;
