//! lookout-discovery: where scrape targets come from.
//!
//! Owns the target-group model ([`TargetGroup`]: targets as label sets plus
//! shared labels and a source key), the `static_configs` and
//! `file_sd_configs` config shapes with Prometheus' field names and checks,
//! the file discoverer (YAML/JSON files, globs, change notification plus
//! periodic refresh), and the [`DiscoveryManager`] that runs providers per
//! scrape job and publishes the merged target groups. Kubernetes discovery
//! will be another provider behind the same [`Provider`] shape.
//!
//! Must not know about scraping, HTTP clients or storage: it only produces
//! label sets. Relabeling happens in the consumer.

pub mod duration;
pub mod file;
pub mod group;
pub mod manager;

pub use duration::ConfigDuration;
pub use file::{FileDiscovery, FileSdConfig};
pub use group::{check_target_address, StaticConfig, TargetGroup};
pub use manager::{DiscoveryManager, JobDiscovery, Provider, TargetSets};

/// The label holding a target's address.
pub const ADDRESS_LABEL: &str = "__address__";
