//! Target groups and `static_configs`.

use std::collections::BTreeMap;

use lookout_model::relabel::is_valid_label_name;
use lookout_model::Labels;
use serde::{Deserialize, Serialize};

use crate::ADDRESS_LABEL;

/// A set of targets sharing labels, as produced by one discovery source.
///
/// An update with no targets for a known `source` means "that source has no
/// targets any more".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetGroup {
    /// One label set per target; each has at least `__address__` (SD
    /// mechanisms may add `__meta_*` labels).
    pub targets: Vec<Labels>,
    /// Labels shared by every target of the group (target labels win).
    pub labels: Labels,
    /// Identifies the group within its provider (`0`, `file.yml:2`, ...).
    pub source: String,
}

/// The `{targets: [...], labels: {...}}` shape used by `static_configs` and
/// file SD files.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// `host:port` strings.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Labels for every target of the group.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// A target group definition that failed Prometheus' checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GroupError(pub String);

impl StaticConfig {
    /// Checks label names like Prometheus' target group decoder.
    pub fn validate(&self) -> Result<(), GroupError> {
        for name in self.labels.keys() {
            if !is_valid_label_name(name) {
                return Err(GroupError(format!("{name:?} is not a valid label name")));
            }
        }
        Ok(())
    }

    /// The target group with the given source key.
    pub fn to_group(&self, source: impl Into<String>) -> TargetGroup {
        TargetGroup {
            targets: self
                .targets
                .iter()
                .map(|t| Labels::from_pairs([(ADDRESS_LABEL, t.as_str())]))
                .collect(),
            labels: Labels::from_pairs(self.labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            source: source.into(),
        }
    }
}

/// Prometheus' check that a target address is not a URL: addresses may not
/// contain `/`.
pub fn check_target_address(address: &str) -> Result<(), GroupError> {
    if address.contains('/') {
        return Err(GroupError(format!("{address:?} is not a valid hostname")));
    }
    Ok(())
}

/// Target groups for a job's `static_configs`, sourced `0`, `1`, ... like
/// Prometheus' static provider.
pub fn static_groups(configs: &[StaticConfig]) -> Vec<TargetGroup> {
    configs
        .iter()
        .enumerate()
        .map(|(i, c)| c.to_group(i.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_config_to_group() {
        let c: StaticConfig =
            serde_yaml_ng::from_str("targets: ['a:1', 'b:2']\nlabels: {env: prod}\n").unwrap();
        c.validate().unwrap();
        let g = c.to_group("0");
        assert_eq!(g.targets.len(), 2);
        assert_eq!(g.targets[1].get("__address__"), Some("b:2"));
        assert_eq!(g.labels.get("env"), Some("prod"));
    }

    #[test]
    fn invalid_label_name_and_unknown_field() {
        let c: StaticConfig = serde_yaml_ng::from_str("targets: []\nlabels: {'a-b': x}\n").unwrap();
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "\"a-b\" is not a valid label name"
        );
        assert!(serde_yaml_ng::from_str::<StaticConfig>("target: [x]\n").is_err());
    }

    #[test]
    fn url_targets_rejected() {
        assert!(check_target_address("http://x:1").is_err());
        assert!(check_target_address("x:1").is_ok());
    }
}
