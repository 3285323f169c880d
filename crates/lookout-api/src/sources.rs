//! Views of other components the API reports on (scrape targets and their
//! metadata, storage statistics), as traits the server implements with
//! adapters, plus the status data the server keeps current on reload.

use std::collections::BTreeMap;

use lookout_model::storage::{Querier, SelectHints, StorageError};
use lookout_model::{Labels, MatchOp, Matcher};
use serde::Serialize;

/// One active scrape target, in `/api/v1/targets`' shape.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ActiveTarget {
    /// Labels before relabeling.
    pub discovered_labels: BTreeMap<String, String>,
    /// Labels after relabeling.
    pub labels: BTreeMap<String, String>,
    /// Job / scrape pool name.
    pub scrape_pool: String,
    /// URL scraped.
    pub scrape_url: String,
    /// URL as seen from outside (external URL applied).
    pub global_url: String,
    /// Last scrape error, empty when fine.
    pub last_error: String,
    /// RFC 3339 time of the last scrape (`0001-01-01T00:00:00Z` if never).
    pub last_scrape: String,
    /// Duration of the last scrape in seconds.
    pub last_scrape_duration: f64,
    /// `up`, `down` or `unknown`.
    pub health: String,
    /// Scrape interval as a duration string.
    pub scrape_interval: String,
    /// Scrape timeout as a duration string.
    pub scrape_timeout: String,
}

/// A target dropped by relabeling.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DroppedTarget {
    /// Labels before relabeling.
    pub discovered_labels: BTreeMap<String, String>,
    /// Job / scrape pool name.
    pub scrape_pool: String,
}

/// Metadata of one metric as exposed by one target.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetMetricMetadata {
    /// The target's labels.
    pub target: Labels,
    /// Metric family name.
    pub metric: String,
    /// `counter`, `gauge`, `histogram`, `summary`, `unknown`...
    pub kind: String,
    /// Help text.
    pub help: String,
    /// Unit.
    pub unit: String,
}

/// `/api/v1/targets`' `data`.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct TargetsSnapshot {
    /// Targets being scraped.
    pub active_targets: Vec<ActiveTarget>,
    /// Targets dropped by relabeling (as many as the pools keep).
    pub dropped_targets: Vec<DroppedTarget>,
    /// Dropped targets per pool, including those not listed.
    pub dropped_target_counts: BTreeMap<String, u64>,
}

/// The scrape manager as the API sees it.
pub trait TargetsView: Send + Sync + 'static {
    /// Targets of `pool` (all pools when `None`); the lists not asked for
    /// are left empty.
    fn targets(&self, active: bool, dropped: bool, pool: Option<&str>) -> TargetsSnapshot;
    /// Metric metadata of every active target.
    fn metadata(&self) -> Vec<TargetMetricMetadata>;
    /// Configured scrape pool names.
    fn scrape_pools(&self) -> Vec<String>;
}

/// One `{name, value}` entry of `/api/v1/status/tsdb`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NameCount {
    /// Metric name, label name or `name=value` pair.
    pub name: String,
    /// Count (series, values or bytes).
    pub value: u64,
}

/// Head statistics of `/api/v1/status/tsdb`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct HeadStats {
    /// Active series.
    pub num_series: u64,
    /// Distinct label pairs.
    pub num_label_pairs: u64,
    /// In-memory chunks (or the store's equivalent).
    pub chunk_count: u64,
    /// Oldest sample, ms.
    pub min_time: i64,
    /// Newest sample, ms.
    pub max_time: i64,
}

/// `/api/v1/status/tsdb`'s `data`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct TsdbStatus {
    /// Head statistics.
    pub head_stats: HeadStats,
    /// Top metric names by series count.
    pub series_count_by_metric_name: Vec<NameCount>,
    /// Top label names by distinct value count.
    pub label_value_count_by_label_name: Vec<NameCount>,
    /// Top label names by bytes of their values.
    pub memory_in_bytes_by_label_name: Vec<NameCount>,
    /// Top `name=value` pairs by series count.
    pub series_count_by_label_value_pair: Vec<NameCount>,
}

/// `/api/v1/status/walreplay`'s `data`.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default)]
pub struct WalReplay {
    /// First segment.
    pub min: i64,
    /// Last segment.
    pub max: i64,
    /// Segment being replayed (equal to `max` when done).
    pub current: i64,
}

/// Storage statistics for the status endpoints.
pub trait StorageStats: Send + Sync + 'static {
    /// Head/cardinality statistics with `limit` entries per list.
    fn tsdb_status(&self, limit: usize) -> Result<TsdbStatus, StorageError>;
    /// WAL replay progress.
    fn wal_replay(&self) -> WalReplay;
}

/// [`StorageStats`] computed from any [`Querier`] by walking every series of
/// the given time window: correct for any store, linear in series count.
/// Stores with their own index statistics should implement the trait
/// natively instead.
pub struct QuerierStats<Q: ?Sized> {
    querier: std::sync::Arc<Q>,
    window_ms: i64,
}

impl<Q: Querier + ?Sized> QuerierStats<Q> {
    /// Statistics over series with samples in the last `window_ms`.
    pub fn new(querier: std::sync::Arc<Q>, window_ms: i64) -> Self {
        QuerierStats { querier, window_ms }
    }
}

fn top(map: BTreeMap<String, u64>, limit: usize) -> Vec<NameCount> {
    let mut v: Vec<NameCount> = map
        .into_iter()
        .map(|(name, value)| NameCount { name, value })
        .collect();
    v.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.name.cmp(&b.name)));
    v.truncate(limit);
    v
}

impl<Q: Querier + ?Sized + 'static> StorageStats for QuerierStats<Q> {
    fn tsdb_status(&self, limit: usize) -> Result<TsdbStatus, StorageError> {
        let now = crate::params::now_ms();
        let any = Matcher::new(MatchOp::Regex, lookout_model::METRIC_NAME, ".+")
            .map_err(|e| StorageError::Unsupported(e.to_string()))?;
        let hints = SelectHints {
            mint: now - self.window_ms,
            maxt: now,
            labels_only: false,
            limit: 0,
        };
        let mut by_metric: BTreeMap<String, u64> = BTreeMap::new();
        let mut values_by_name: BTreeMap<String, std::collections::BTreeSet<String>> =
            BTreeMap::new();
        let mut pairs: BTreeMap<String, u64> = BTreeMap::new();
        let mut head = HeadStats {
            min_time: i64::MAX,
            max_time: i64::MIN,
            ..Default::default()
        };
        for series in self.querier.select(&[any], &hints)? {
            let series = series?;
            head.num_series += 1;
            let first = series
                .floats
                .first()
                .map(|s| s.t)
                .into_iter()
                .chain(series.histograms.first().map(|h| h.t));
            let last = series
                .floats
                .last()
                .map(|s| s.t)
                .into_iter()
                .chain(series.histograms.last().map(|h| h.t));
            for t in first {
                head.min_time = head.min_time.min(t);
            }
            for t in last {
                head.max_time = head.max_time.max(t);
            }
            if let Some(name) = series.labels.metric_name() {
                *by_metric.entry(name.to_string()).or_default() += 1;
            }
            for l in series.labels.iter() {
                values_by_name
                    .entry(l.name.clone())
                    .or_default()
                    .insert(l.value.clone());
                *pairs.entry(format!("{}={}", l.name, l.value)).or_default() += 1;
            }
        }
        if head.num_series == 0 {
            head.min_time = 0;
            head.max_time = 0;
        }
        head.num_label_pairs = pairs.len() as u64;
        let value_counts = values_by_name
            .iter()
            .map(|(k, v)| (k.clone(), v.len() as u64))
            .collect();
        let memory = values_by_name
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().map(|s| s.len() as u64).sum()))
            .collect();
        Ok(TsdbStatus {
            head_stats: head,
            series_count_by_metric_name: top(by_metric, limit),
            label_value_count_by_label_name: top(value_counts, limit),
            memory_in_bytes_by_label_name: top(memory, limit),
            series_count_by_label_value_pair: top(pairs, limit),
        })
    }

    fn wal_replay(&self) -> WalReplay {
        WalReplay::default()
    }
}

/// Build facts for `/api/v1/status/buildinfo`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    /// The Prometheus API level lookout implements, as semver (Grafana
    /// parses it to pick features; it must be plain `X.Y.Z`).
    pub version: String,
    /// Source revision.
    pub revision: String,
    /// Branch (lookout's own version, since Grafana ignores the field).
    pub branch: String,
    /// Who built it.
    pub build_user: String,
    /// When it was built.
    pub build_date: String,
    /// Toolchain (the field is named after Go in Prometheus' API).
    pub go_version: String,
}

/// The configuration facts `/api/v1/status/*` reports; the server replaces
/// them on every (re)load.
#[derive(Debug, Clone, Default)]
pub struct StatusInfo {
    /// The loaded configuration as YAML (`/status/config`).
    pub config_yaml: String,
    /// Command-line flags and their values (`/status/flags`).
    pub flags: BTreeMap<String, String>,
    /// Whether the last reload succeeded.
    pub reload_success: bool,
    /// When the config was last loaded successfully, ms.
    pub last_config_time_ms: i64,
    /// Retention as shown in runtime info (e.g. `15d`).
    pub storage_retention: String,
    /// External labels from `global.external_labels`.
    pub external_labels: Labels,
}
