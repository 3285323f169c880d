//! The data behind `/api/v1/targets`, `/api/v1/targets/metadata` and
//! `/api/v1/metadata`, shaped like Prometheus' JSON. HTTP routing lives in
//! the API crate; this module only builds the payloads.

use std::collections::BTreeMap;

use lookout_model::{Labels, Matcher};
use serde::Serialize;

use crate::manager::ScrapeManager;
use crate::state::rfc3339_nano;
use crate::target::names;

/// Label set as a JSON object.
pub type LabelMap = BTreeMap<String, String>;

fn label_map(l: &Labels) -> LabelMap {
    l.iter()
        .map(|x| (x.name.clone(), x.value.clone()))
        .collect()
}

/// One element of `activeTargets`.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ActiveTarget {
    /// Labels before relabeling.
    pub discovered_labels: LabelMap,
    /// Public labels after relabeling.
    pub labels: LabelMap,
    /// Job name.
    pub scrape_pool: String,
    /// Scrape URL.
    pub scrape_url: String,
    /// URL with loopback hosts replaced by the host name.
    pub global_url: String,
    /// Last scrape error, empty when fine.
    pub last_error: String,
    /// RFC 3339 time of the last scrape.
    pub last_scrape: String,
    /// Seconds the last scrape took.
    pub last_scrape_duration: f64,
    /// `up`, `down` or `unknown`.
    pub health: String,
    /// Interval, e.g. `15s`.
    pub scrape_interval: String,
    /// Timeout, e.g. `10s`.
    pub scrape_timeout: String,
}

/// One element of `droppedTargets`.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DroppedTargetJson {
    /// Labels before relabeling.
    pub discovered_labels: LabelMap,
    /// Job name.
    pub scrape_pool: String,
}

/// The `data` of `/api/v1/targets`.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TargetsData {
    /// Targets being scraped.
    pub active_targets: Vec<ActiveTarget>,
    /// Targets relabeling dropped.
    pub dropped_targets: Vec<DroppedTargetJson>,
    /// Dropped targets per pool (including those not listed).
    pub dropped_target_counts: BTreeMap<String, usize>,
}

/// Which lists `/api/v1/targets?state=` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateFilter {
    /// Both (no or empty `state`, or `any`).
    Any,
    /// `active`.
    Active,
    /// `dropped`.
    Dropped,
}

impl StateFilter {
    /// Parses the `state` parameter (case-insensitive, unknown means any).
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_lowercase().as_str() {
            "active" => StateFilter::Active,
            "dropped" => StateFilter::Dropped,
            _ => StateFilter::Any,
        }
    }
}

/// Builds `/api/v1/targets` data.
pub fn targets(m: &ScrapeManager, state: StateFilter, scrape_pool: Option<&str>) -> TargetsData {
    m.with_pools(|pools| {
        let mut out = TargetsData {
            active_targets: Vec::new(),
            dropped_targets: Vec::new(),
            dropped_target_counts: BTreeMap::new(),
        };
        for (name, p) in pools {
            if scrape_pool.is_some_and(|sp| sp != name) {
                continue;
            }
            let (dropped, total) = p.dropped();
            out.dropped_target_counts.insert(name.clone(), total);
            if state != StateFilter::Dropped {
                for ts in p.active() {
                    let st = ts.status();
                    let t = &ts.target;
                    out.active_targets.push(ActiveTarget {
                        discovered_labels: label_map(&t.discovered),
                        labels: label_map(&t.public_labels()),
                        scrape_pool: name.clone(),
                        scrape_url: t.url(),
                        global_url: t.global_url(),
                        last_error: st.last_error,
                        last_scrape: rfc3339_nano(st.last_scrape),
                        last_scrape_duration: st.last_duration.as_secs_f64(),
                        health: st.health.as_str().to_string(),
                        scrape_interval: t.labels.get_or_empty(names::SCRAPE_INTERVAL).to_string(),
                        scrape_timeout: t.labels.get_or_empty(names::SCRAPE_TIMEOUT).to_string(),
                    });
                }
            }
            if state != StateFilter::Active {
                for d in dropped {
                    out.dropped_targets.push(DroppedTargetJson {
                        discovered_labels: label_map(&d.discovered),
                        scrape_pool: name.clone(),
                    });
                }
            }
        }
        out
    })
}

/// One element of `/api/v1/targets/metadata`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TargetMetadata {
    /// Public target labels.
    pub target: LabelMap,
    /// Metric family (omitted when the request named one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// Type.
    #[serde(rename = "type")]
    pub metric_type: String,
    /// Help.
    pub help: String,
    /// Unit.
    pub unit: String,
}

/// Builds `/api/v1/targets/metadata` data: targets matching every matcher
/// of `match_target`, families named `metric` (all when `None`), at most
/// `limit` entries (0 = all).
pub fn targets_metadata(
    m: &ScrapeManager,
    match_target: &[Matcher],
    metric: Option<&str>,
    limit: usize,
) -> Vec<TargetMetadata> {
    m.with_pools(|pools| {
        let mut out = Vec::new();
        for p in pools.values() {
            for ts in p.active() {
                let labels = ts.target.public_labels();
                if !lookout_model::matcher::matches_all(match_target, &labels) {
                    continue;
                }
                let md = ts.status().metadata;
                for (family, meta) in md.iter() {
                    if metric.is_some_and(|want| want != family) {
                        continue;
                    }
                    if limit > 0 && out.len() >= limit {
                        return out;
                    }
                    out.push(TargetMetadata {
                        target: label_map(&labels),
                        metric: metric.is_none().then(|| family.clone()),
                        metric_type: meta.metric_type.to_string(),
                        help: meta.help.clone(),
                        unit: meta.unit.clone(),
                    });
                }
            }
        }
        out
    })
}

/// One metadata variant of `/api/v1/metadata`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct MetadataEntry {
    /// Type.
    #[serde(rename = "type")]
    pub metric_type: String,
    /// Help.
    pub help: String,
    /// Unit.
    pub unit: String,
}

/// Builds `/api/v1/metadata` data: distinct metadata per family across all
/// targets; `limit` caps families, `limit_per_metric` variants (0 = all).
pub fn metadata(
    m: &ScrapeManager,
    metric: Option<&str>,
    limit: usize,
    limit_per_metric: usize,
) -> BTreeMap<String, Vec<MetadataEntry>> {
    let mut all: BTreeMap<String, Vec<MetadataEntry>> = BTreeMap::new();
    m.with_pools(|pools| {
        for p in pools.values() {
            for ts in p.active() {
                for (family, meta) in ts.status().metadata.iter() {
                    if metric.is_some_and(|want| want != family) {
                        continue;
                    }
                    let e = MetadataEntry {
                        metric_type: meta.metric_type.to_string(),
                        help: meta.help.clone(),
                        unit: meta.unit.clone(),
                    };
                    let v = all.entry(family.clone()).or_default();
                    if !v.contains(&e) {
                        v.push(e);
                    }
                }
            }
        }
    });
    if limit_per_metric > 0 {
        for v in all.values_mut() {
            v.truncate(limit_per_metric);
        }
    }
    if limit > 0 {
        all = all.into_iter().take(limit).collect();
    }
    all
}

/// One step of `/api/v1/targets/relabel_steps`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RelabelStep {
    /// The rule applied.
    pub rule: lookout_model::relabel::RelabelConfig,
    /// Labels after the rule.
    pub output: LabelMap,
    /// Whether the target survived the rule.
    pub keep: bool,
}

/// Builds `/api/v1/targets/relabel_steps` data: the pool's target
/// relabeling applied rule by rule to `labels`. `None` for an unknown pool.
pub fn relabel_steps(
    m: &ScrapeManager,
    scrape_pool: &str,
    labels: &Labels,
) -> Option<Vec<RelabelStep>> {
    let rules = m.with_pools(|pools| {
        pools
            .get(scrape_pool)
            .map(|p| p.config().relabel_configs.clone())
    })?;
    let mut b = labels.builder();
    let mut steps = Vec::with_capacity(rules.len());
    for r in rules {
        let keep = lookout_model::relabel::apply_rule(&mut b, &r);
        steps.push(RelabelStep {
            rule: r,
            output: if keep {
                label_map(&b.build())
            } else {
                LabelMap::new()
            },
            keep,
        });
        if !keep {
            break;
        }
    }
    Some(steps)
}
