//! The `storage:` section of `prometheus.yml` (the scrape component owns
//! `global` and `scrape_configs`; other components own their sections).

use lookout_discovery::ConfigDuration;
use serde::Deserialize;

/// `storage:`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// `storage.tsdb`.
    #[serde(default)]
    pub tsdb: TsdbConfig,
    /// `storage.exemplars` (accepted; lookout stores no exemplars yet).
    #[serde(default, rename = "exemplars")]
    pub _exemplars: Option<serde::de::IgnoredAny>,
}

/// `storage.tsdb`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsdbConfig {
    /// How far back out-of-order samples are accepted (0 = disabled).
    #[serde(default)]
    pub out_of_order_time_window: ConfigDuration,
    /// Accepted for compatibility (a Prometheus 3 tuning knob).
    #[serde(default, rename = "stale_series_compaction_threshold")]
    pub _stale_series_compaction_threshold: Option<serde::de::IgnoredAny>,
}

impl StorageConfig {
    /// Parses the raw section; the error is Prometheus-worded.
    pub fn from_value(v: Option<&serde_yaml_ng::Value>) -> Result<Self, String> {
        let Some(v) = v else {
            return Ok(Self::default());
        };
        if v.is_null() {
            return Ok(Self::default());
        }
        let s: StorageConfig =
            serde_yaml_ng::from_value(v.clone()).map_err(|e| format!("storage: {e}"))?;
        if s.tsdb.out_of_order_time_window.as_millis() < 0 {
            return Err("'out_of_order_time_window' must not be negative".into());
        }
        Ok(s)
    }
}
