//! The rule engine inside the server: the default rules plus the config's
//! `rule_files`, evaluated against the store, alerts sent to the
//! Alertmanagers of `alerting.alertmanagers`, and reloads that keep the old
//! rules when the new ones are invalid.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lookout_metrics::Registry;
use lookout_model::storage::{Appendable, Querier};
use lookout_promql::engine::{Engine, EngineOptions};
use lookout_rules::alerting::{AlertingConfig, HttpTarget};
use lookout_rules::defaults::default_rule_sources;
use lookout_rules::group::GroupOptions;
use lookout_rules::load::{expand_globs, LoadOptions};
use lookout_rules::manager::{RuleConfig, RuleManager, RuleSource};
use lookout_rules::metrics::{NotifierMetrics, RuleMetrics};
use lookout_rules::notifier::{AlertmanagerTarget, Notifier, NotifierOptions};
use lookout_rules::rule::RuleEnv;

use crate::config::LoadedConfig;

/// Prometheus' rule and notifier flags (same names and defaults), plus
/// lookout's switch for its built-in rules.
#[derive(clap::Args, Debug, Clone)]
pub struct RuleFlags {
    /// Max time to tolerate a Prometheus outage for restoring `for` state.
    #[arg(long = "rules.alert.for-outage-tolerance", default_value = "1h")]
    pub for_outage_tolerance: String,
    /// Minimum duration between alert and restored `for` state (only for
    /// alerts with a `for` longer than this).
    #[arg(long = "rules.alert.for-grace-period", default_value = "10m")]
    pub for_grace_period: String,
    /// Minimum amount of time to wait before resending an alert.
    #[arg(long = "rules.alert.resend-delay", default_value = "1m")]
    pub resend_delay: String,
    /// The capacity of the queue for pending Alertmanager notifications.
    #[arg(
        long = "alertmanager.notification-queue-capacity",
        default_value_t = 10_000
    )]
    pub queue_capacity: usize,
    /// Evaluate lookout's built-in rules (docs/default-rules.md).
    #[arg(
        long = "rules.builtin",
        default_value_t = true,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub builtin: bool,
}

impl RuleFlags {
    /// Adds the flags to the `/api/v1/status/flags` map.
    pub fn put_into(&self, m: &mut std::collections::BTreeMap<String, String>) {
        m.insert(
            "rules.alert.for-outage-tolerance".into(),
            self.for_outage_tolerance.clone(),
        );
        m.insert(
            "rules.alert.for-grace-period".into(),
            self.for_grace_period.clone(),
        );
        m.insert("rules.alert.resend-delay".into(), self.resend_delay.clone());
        m.insert(
            "alertmanager.notification-queue-capacity".into(),
            self.queue_capacity.to_string(),
        );
        m.insert("rules.builtin".into(), self.builtin.to_string());
    }
}

/// Notifier options and the configured (external) Alertmanagers.
type NotifierPlan = (NotifierOptions, Vec<Arc<dyn AlertmanagerTarget>>);

/// Rule manager plus notifier.
pub struct RulesComponent {
    manager: RuleManager,
    notifier: Arc<Notifier>,
    /// The built-in Alertmanager, always a delivery target once attached.
    builtin: parking_lot::Mutex<Option<Arc<dyn AlertmanagerTarget>>>,
    /// The notifier settings of the last applied configuration.
    last_plan: parking_lot::Mutex<Option<NotifierPlan>>,
    querier: Arc<dyn Querier>,
    appendable: Arc<dyn Appendable>,
    engine: Engine,
    external_url: String,
    builtin_rules: bool,
    queue_capacity: usize,
}

/// What a configuration asks of the rule engine.
struct Plan {
    sources: Vec<RuleSource>,
    rule_cfg: RuleConfig,
    notifier: NotifierOptions,
    targets: Vec<Arc<dyn AlertmanagerTarget>>,
}

impl RulesComponent {
    /// Loads the rules of `cfg` and starts evaluating; an invalid rule file
    /// or alerting section is an error (the server refuses to start).
    pub fn start(
        cfg: &LoadedConfig,
        querier: Arc<dyn Querier>,
        appendable: Arc<dyn Appendable>,
        engine_opts: EngineOptions,
        external_url: String,
        flags: &RuleFlags,
        registry: &Registry,
    ) -> anyhow::Result<Arc<RulesComponent>> {
        use super::flags::duration_flag;
        let ms = |name: &str, v: &str| -> anyhow::Result<i64> {
            Ok(duration_flag(name, v)?.as_millis() as i64)
        };
        let notifier = Arc::new(Notifier::new(
            NotifierOptions {
                queue_capacity: flags.queue_capacity,
                ..NotifierOptions::default()
            },
            NotifierMetrics::new(registry),
        ));
        let mut gopts = GroupOptions::with_sender(notifier.clone());
        gopts.metrics = Arc::new(RuleMetrics::new(registry));
        gopts.resend_delay_ms = ms("rules.alert.resend-delay", &flags.resend_delay)?;
        gopts.outage_tolerance_ms = ms(
            "rules.alert.for-outage-tolerance",
            &flags.for_outage_tolerance,
        )?;
        gopts.for_grace_period_ms = ms("rules.alert.for-grace-period", &flags.for_grace_period)?;
        let c = RulesComponent {
            manager: RuleManager::new(gopts),
            notifier,
            builtin: parking_lot::Mutex::new(None),
            last_plan: parking_lot::Mutex::new(None),
            querier,
            appendable,
            engine: Engine::new(engine_opts),
            external_url,
            builtin_rules: flags.builtin,
            queue_capacity: flags.queue_capacity,
        };
        c.apply(cfg).map_err(anyhow::Error::msg)?;
        c.notifier.start();
        c.manager.run();
        Ok(Arc::new(c))
    }

    fn plan(&self, cfg: &LoadedConfig) -> Result<Plan, String> {
        let p = &cfg.prometheus;
        let base = cfg
            .path
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf);
        let patterns: Vec<String> = match p.other_sections.get("rule_files") {
            None => Vec::new(),
            Some(v) if v.is_null() => Vec::new(),
            Some(v) => {
                serde_yaml_ng::from_value(v.clone()).map_err(|e| format!("rule_files: {e}"))?
            }
        };
        let files: Vec<PathBuf> =
            expand_globs(base.as_deref(), &patterns).map_err(|e| e.to_string())?;
        let mut sources = if self.builtin_rules {
            default_rule_sources()
        } else {
            Vec::new()
        };
        sources.extend(files.into_iter().map(RuleSource::File));

        let alerting = match p.other_sections.get("alerting") {
            None => AlertingConfig::default(),
            Some(v) if v.is_null() => AlertingConfig::default(),
            Some(v) => AlertingConfig::from_yaml(v).map_err(|e| e.to_string())?,
        };
        for w in alerting.warnings() {
            tracing::warn!("{w}");
        }
        let mut targets: Vec<Arc<dyn AlertmanagerTarget>> = Vec::new();
        for t in alerting.targets() {
            targets.push(Arc::new(HttpTarget::new(t)?));
        }
        let external_labels = p.global.external_labels();
        Ok(Plan {
            sources,
            rule_cfg: RuleConfig {
                env: RuleEnv {
                    querier: self.querier.clone(),
                    appendable: self.appendable.clone(),
                    engine: self.engine.clone(),
                    external_labels: external_labels.clone(),
                    external_url: self.external_url.clone(),
                },
                load: LoadOptions {
                    default_interval_ms: p.global.evaluation_interval.as_millis(),
                    default_query_offset_ms: p.global.rule_query_offset.as_millis(),
                    restored: false,
                },
            },
            notifier: NotifierOptions {
                external_labels,
                relabel_configs: alerting.alert_relabel_configs.clone(),
                queue_capacity: self.queue_capacity,
                ..NotifierOptions::default()
            },
            targets,
        })
    }

    /// Applies a (re)loaded configuration; on error nothing changes.
    pub fn apply(&self, cfg: &LoadedConfig) -> Result<(), String> {
        let plan = self.plan(cfg)?;
        self.manager
            .update(&plan.sources, &plan.rule_cfg)
            .map_err(|errs| {
                let texts: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
                format!("error loading rules: {}", texts.join("; "))
            })?;
        *self.last_plan.lock() = Some((plan.notifier.clone(), plan.targets.clone()));
        self.apply_targets();
        Ok(())
    }

    fn apply_targets(&self) {
        let Some((opts, external)) = self.last_plan.lock().clone() else {
            return;
        };
        let mut targets: Vec<Arc<dyn AlertmanagerTarget>> = Vec::new();
        if let Some(b) = self.builtin.lock().clone() {
            targets.push(b);
        }
        targets.extend(external);
        self.notifier.apply(opts, targets);
    }

    /// Delivers alerts to the built-in Alertmanager too (in process, with
    /// Alertmanager's ingestion defaults), in addition to the configured ones.
    /// Must be called inside the server's tokio runtime: the Alertmanager's
    /// dispatcher runs there, and the notifier thread enters it to deliver.
    pub fn attach_alertmanager(&self, am: Arc<lookout_alertmanager::Alertmanager>, url: String) {
        let handle = tokio::runtime::Handle::current();
        let target = lookout_rules::notifier::FnTarget {
            name: url,
            f: move |alerts: &[lookout_rules::notifier::NotifyAlert]| {
                let _runtime = handle.enter();
                let now = chrono::Utc::now();
                let converted = alerts
                    .iter()
                    .map(|a| {
                        let mut x = to_am_alert(a);
                        am.default_alert(&mut x, now);
                        x
                    })
                    .collect();
                am.put_alerts(converted);
                Ok(())
            },
        };
        *self.builtin.lock() = Some(Arc::new(target));
        self.apply_targets();
    }

    /// Stops evaluation and delivery.
    pub fn stop(&self) {
        self.manager.stop();
        self.notifier.stop();
    }
}

fn to_time(ms: i64) -> chrono::DateTime<chrono::Utc> {
    if ms == 0 {
        return lookout_alertmanager::alert::zero_time();
    }
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_else(lookout_alertmanager::alert::zero_time)
}

/// A rule alert as the Alertmanager stores a posted one.
fn to_am_alert(a: &lookout_rules::notifier::NotifyAlert) -> lookout_alertmanager::alert::Alert {
    lookout_alertmanager::alert::Alert {
        labels: a
            .labels
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect(),
        annotations: a.annotations.clone(),
        starts_at: to_time(a.starts_at),
        ends_at: to_time(a.ends_at),
        generator_url: a.generator_url.clone(),
        updated_at: lookout_alertmanager::alert::zero_time(),
        timeout: false,
    }
}

impl lookout_api::rules::RulesView for RulesComponent {
    fn rules(&self, req: &lookout_api::rules::RulesRequest) -> Result<serde_json::Value, String> {
        let q = lookout_rules::api::RulesQuery {
            rule_type: (!req.rule_type.is_empty()).then(|| req.rule_type.clone()),
            rule_names: req.rule_names.clone(),
            rule_groups: req.rule_groups.clone(),
            files: req.files.clone(),
            matchers: req.matchers.clone(),
            exclude_alerts: req.exclude_alerts,
            group_limit: req.group_limit,
            group_next_token: req.group_next_token.clone(),
        };
        lookout_rules::api::rules_data(&self.manager.groups(), &q).map_err(|e| e.to_string())
    }

    fn alerts(&self) -> serde_json::Value {
        lookout_rules::api::alerts_data(&self.manager.groups())
    }

    fn alertmanagers(&self) -> Vec<String> {
        self.notifier.target_names()
    }
}
