//! lookout-alertmanager: Alertmanager-compatible alert handling.
//!
//! Owns the `alertmanager.yml` config (strict loading, validation,
//! normalised `config.original`), matchers in both Alertmanager grammars,
//! the routing tree, aggregation groups and their timers, inhibition,
//! silences, the notification log (both persisted in Alertmanager's on-disk
//! format), time intervals, the notifiers (Pushover, webhook, ntfy), the
//! notification metrics and the API v2 handlers as an `axum::Router`.
//!
//! Must not depend on metrics or log storage, PromQL or the rule engine:
//! alerts arrive through [`Alertmanager::put_alerts`] or the HTTP API.

pub mod alert;
pub mod app;
pub mod config;
pub mod dispatch;
pub mod inhibit;
pub mod labels;
pub mod matchers;
pub mod metrics;
pub mod nflog;
pub mod notify;
pub mod persist;
pub mod route;
pub mod silence;
pub mod templates;
pub mod timeinterval;

pub use app::{Alertmanager, Options};
pub mod api;
pub mod check;
