//! The `prometheus.yml` schema, top level and `global`/`storage` sections.
//! Scrape jobs keep their own schema (owned by the scrape component); this
//! module checks what spans jobs (unique names) and the sections it owns.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// A Prometheus duration (`15s`, `1h30m`) in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct PromDuration(pub i64);

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        lookout_model::parse_duration(&s)
            .map(PromDuration)
            .map_err(|_| serde::de::Error::custom(format!("not a valid duration string: {s:?}")))
    }
}

impl std::fmt::Display for PromDuration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&lookout_model::format_duration(self.0))
    }
}

/// A whole `prometheus.yml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusConfig {
    /// `global:`.
    #[serde(default)]
    pub global: GlobalConfig,
    /// `scrape_configs:`; each job's fields are checked by the scrape component.
    #[serde(default)]
    pub scrape_configs: Vec<ScrapeJob>,
    /// `scrape_config_files:` (globs).
    #[serde(default)]
    pub scrape_config_files: Vec<String>,
    /// `rule_files:` (globs).
    #[serde(default)]
    pub rule_files: Vec<String>,
    /// `remote_write:` (kept verbatim; lookout does not forward yet).
    #[serde(default)]
    pub remote_write: Vec<serde_yaml_ng::Value>,
    /// `remote_read:` (kept verbatim).
    #[serde(default)]
    pub remote_read: Vec<serde_yaml_ng::Value>,
    /// `alerting:` (kept verbatim for the rule component).
    #[serde(default)]
    pub alerting: Option<serde_yaml_ng::Value>,
    /// `storage:`.
    #[serde(default)]
    pub storage: StorageConfig,
    /// `tracing:` (accepted, unused).
    #[serde(default)]
    pub tracing: Option<serde_yaml_ng::Value>,
    /// `runtime:` (accepted, unused: Go runtime tuning).
    #[serde(default)]
    pub runtime: Option<serde_yaml_ng::Value>,
    /// `otlp:` (accepted, unused until OTLP ingest exists).
    #[serde(default)]
    pub otlp: Option<serde_yaml_ng::Value>,
}

/// `global:`. Fields lookout does not act on are still accepted, so any
/// valid Prometheus 3.x config loads.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// Default scrape interval (1m).
    #[serde(default = "default_interval")]
    pub scrape_interval: PromDuration,
    /// Default scrape timeout (10s, capped at the interval when unset).
    #[serde(default)]
    pub scrape_timeout: Option<PromDuration>,
    /// Rule evaluation interval (1m).
    #[serde(default = "default_interval")]
    pub evaluation_interval: PromDuration,
    /// Labels added to federated series, alerts and remote writes.
    #[serde(default)]
    pub external_labels: BTreeMap<String, String>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub scrape_protocols: Option<serde_yaml_ng::Value>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub rule_query_offset: Option<PromDuration>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub query_log_file: Option<String>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub scrape_failure_log_file: Option<String>,
    /// Accepted for compatibility (per-job limit defaults).
    #[serde(default)]
    pub body_size_limit: Option<serde_yaml_ng::Value>,
    /// Per-job limit default.
    #[serde(default)]
    pub sample_limit: Option<u64>,
    /// Per-job limit default.
    #[serde(default)]
    pub label_limit: Option<u64>,
    /// Per-job limit default.
    #[serde(default)]
    pub label_name_length_limit: Option<u64>,
    /// Per-job limit default.
    #[serde(default)]
    pub label_value_length_limit: Option<u64>,
    /// Per-job limit default.
    #[serde(default)]
    pub target_limit: Option<u64>,
    /// Per-job limit default.
    #[serde(default)]
    pub keep_dropped_targets: Option<u64>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub metric_name_validation_scheme: Option<String>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub metric_name_escaping_scheme: Option<String>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub always_scrape_classic_histograms: Option<bool>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub convert_classic_histograms_to_nhcb: Option<bool>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub scrape_native_histograms: Option<bool>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub extra_scrape_metrics: Option<bool>,
}

fn default_interval() -> PromDuration {
    PromDuration(60_000)
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            scrape_interval: default_interval(),
            scrape_timeout: None,
            evaluation_interval: default_interval(),
            external_labels: BTreeMap::new(),
            scrape_protocols: None,
            rule_query_offset: None,
            query_log_file: None,
            scrape_failure_log_file: None,
            body_size_limit: None,
            sample_limit: None,
            label_limit: None,
            label_name_length_limit: None,
            label_value_length_limit: None,
            target_limit: None,
            keep_dropped_targets: None,
            metric_name_validation_scheme: None,
            metric_name_escaping_scheme: None,
            always_scrape_classic_histograms: None,
            convert_classic_histograms_to_nhcb: None,
            scrape_native_histograms: None,
            extra_scrape_metrics: None,
        }
    }
}

impl GlobalConfig {
    /// The effective scrape timeout: as set, else 10s capped at the interval.
    pub fn effective_scrape_timeout(&self) -> PromDuration {
        self.scrape_timeout
            .unwrap_or(PromDuration(10_000.min(self.scrape_interval.0)))
    }
}

/// One `scrape_configs` entry: the job name (checked here for uniqueness)
/// and the rest of the job, which the scrape component parses.
#[derive(Debug, Clone, Deserialize)]
pub struct ScrapeJob {
    /// `job_name`.
    pub job_name: String,
    /// Every other field of the job.
    #[serde(flatten)]
    pub rest: BTreeMap<String, serde_yaml_ng::Value>,
}

/// `storage:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// `storage.tsdb`.
    #[serde(default)]
    pub tsdb: TsdbConfig,
    /// `storage.exemplars` (accepted; lookout stores no exemplars yet).
    #[serde(default)]
    pub exemplars: Option<serde_yaml_ng::Value>,
}

/// `storage.tsdb`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsdbConfig {
    /// How far back out-of-order samples are accepted (0 = disabled).
    #[serde(default)]
    pub out_of_order_time_window: PromDuration,
    /// Accepted for compatibility.
    #[serde(default)]
    pub stale_series_compaction_threshold: Option<f64>,
}

/// A semantic problem with a pointer to the text that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What is wrong.
    pub message: String,
    /// Text to look for to find the line (e.g. `job_name: node`), and which
    /// occurrence (0-based).
    pub anchor: Option<(String, usize)>,
}

fn valid_label_name(n: &str) -> bool {
    // Prometheus 3 accepts any non-empty UTF-8 name; Rust strings are UTF-8.
    !n.is_empty()
}

impl PrometheusConfig {
    /// Checks what the schema cannot express, collecting every problem.
    pub fn validate(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let g = &self.global;
        if g.scrape_interval.0 <= 0 {
            out.push(Problem {
                message: "global scrape_interval must be positive".into(),
                anchor: Some(("scrape_interval".into(), 0)),
            });
        }
        if g.effective_scrape_timeout() > g.scrape_interval {
            out.push(Problem {
                message: "global scrape timeout greater than scrape interval".into(),
                anchor: Some(("scrape_timeout".into(), 0)),
            });
        }
        for name in g.external_labels.keys() {
            if !valid_label_name(name) {
                out.push(Problem {
                    message: format!("{name:?} is not a valid label name"),
                    anchor: Some(("external_labels".into(), 0)),
                });
            }
            if name == lookout_model::METRIC_NAME {
                out.push(Problem {
                    message: format!("{name:?} is a reserved label name"),
                    anchor: Some(("external_labels".into(), 0)),
                });
            }
        }
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, job) in self.scrape_configs.iter().enumerate() {
            if job.job_name.is_empty() {
                out.push(Problem {
                    message: "job_name is empty".into(),
                    anchor: Some(("job_name".into(), i)),
                });
            }
            let n = seen.entry(job.job_name.as_str()).or_default();
            *n += 1;
            if *n == 2 {
                out.push(Problem {
                    message: format!(
                        "found multiple scrape configs with job name {:?}",
                        job.job_name
                    ),
                    anchor: Some(("job_name".into(), i)),
                });
            }
        }
        if self.storage.tsdb.out_of_order_time_window.0 < 0 {
            out.push(Problem {
                message: "'out_of_order_time_window' must not be negative".into(),
                anchor: Some(("out_of_order_time_window".into(), 0)),
            });
        }
        out
    }
}
