//! Turning decoded rule files into runnable groups.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::group::{Group, GroupOptions};
use crate::rule::{AlertingRule, AlertingRuleSpec, RecordingRule, Rule, RuleEnv};
use crate::rulefmt::{self, RuleGroups};

/// Defaults applied while loading.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// `global.evaluation_interval` for groups without `interval`, ms.
    pub default_interval_ms: i64,
    /// `global.rule_query_offset` for groups without `query_offset`, ms.
    pub default_query_offset_ms: i64,
    /// Whether alerting rules start restored (true for groups loaded after
    /// start-up: their `ALERTS` series are written from the first evaluation).
    pub restored: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            default_interval_ms: 60_000,
            default_query_offset_ms: 0,
            restored: false,
        }
    }
}

/// A load error: `<file>: <problem>` like Prometheus prints it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct LoadError {
    /// The file.
    pub file: String,
    /// The problem.
    pub message: String,
}

/// Expands `rule_files` globs (relative to `base`), sorted per pattern, like
/// Prometheus. A pattern matching nothing contributes nothing.
pub fn expand_globs(base: Option<&Path>, patterns: &[String]) -> Result<Vec<PathBuf>, LoadError> {
    let mut out = Vec::new();
    for p in patterns {
        let full = match base {
            Some(b) if !Path::new(p).is_absolute() => b.join(p),
            _ => PathBuf::from(p),
        };
        let pat = full.to_string_lossy().to_string();
        let paths = glob::glob(&pat).map_err(|e| LoadError {
            file: p.clone(),
            message: format!("error retrieving rule files for {p}: {e}"),
        })?;
        let mut found: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

/// Reads and validates one rule file.
pub fn read_rule_file(path: &Path) -> Result<RuleGroups, Vec<LoadError>> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![LoadError {
            file: file.clone(),
            message: e.to_string(),
        }]
    })?;
    parse_rule_text(&file, &text)
}

/// Validates rule-file text named `file`.
pub fn parse_rule_text(file: &str, text: &str) -> Result<RuleGroups, Vec<LoadError>> {
    rulefmt::parse(text).map_err(|errs| {
        errs.into_iter()
            .map(|e| LoadError {
                file: file.to_string(),
                message: e.to_string(),
            })
            .collect()
    })
}

/// Builds the groups of one validated file.
pub fn build_groups(
    file: &str,
    rgs: &RuleGroups,
    env: &RuleEnv,
    gopts: &GroupOptions,
    lopts: &LoadOptions,
) -> Result<Vec<Group>, Vec<LoadError>> {
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for g in &rgs.groups {
        let interval = if g.interval_ms > 0 {
            g.interval_ms
        } else {
            lopts.default_interval_ms
        };
        let mut rules = Vec::with_capacity(g.rules.len());
        for r in &g.rules {
            let expr = match env.engine.parse(&r.expr.value) {
                Ok(e) => e,
                Err(e) => {
                    errs.push(LoadError {
                        file: file.to_string(),
                        message: format!(
                            "group {:?}, rule {:?}: could not parse expression: {e}",
                            g.name,
                            r.name()
                        ),
                    });
                    continue;
                }
            };
            let mut labels: BTreeMap<String, String> = g.labels.clone();
            labels.extend(r.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
            let rule = if !r.alert.value.is_empty() {
                Rule::Alerting(AlertingRule::new(
                    AlertingRuleSpec {
                        name: &r.alert.value,
                        expr,
                        hold_ms: r.for_ms,
                        keep_firing_for_ms: r.keep_firing_for_ms,
                        labels,
                        annotations: r.annotations.clone(),
                        restored: lopts.restored,
                    },
                    env,
                ))
            } else {
                Rule::Recording(RecordingRule::new(&r.record.value, expr, labels))
            };
            rules.push(Arc::new(rule));
        }
        out.push(Group::new(
            g.name.clone(),
            file.to_string(),
            interval,
            g.query_offset_ms.unwrap_or(lopts.default_query_offset_ms),
            g.limit.max(0) as usize,
            rules,
            env.clone(),
            gopts.clone(),
        ));
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(errs)
    }
}
