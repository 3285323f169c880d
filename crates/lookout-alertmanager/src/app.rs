//! The Alertmanager component: shared state, config (re)loading, alert
//! ingestion and periodic maintenance. The HTTP API is in [`crate::api`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::RwLock;

use crate::alert::{is_zero, Alert, AlertStore};
use crate::config::{load_file, ConfigError, LoadedConfig};
use crate::dispatch::Dispatcher;
use crate::inhibit::inhibited_by;
use crate::matchers::ParseMode;
use crate::metrics::{Gauges, Metrics};
use crate::nflog::{NotificationLog, ReceiverKey};
use crate::notify::pipeline::{IntegrationEntry, Pipeline};
use crate::notify::pushover::{Pushover, ReceiptStore};
use crate::notify::webhook::Webhook;
use crate::notify::{ntfy::Ntfy, Integration};
use crate::persist::PersistError;
use crate::route::Route;
use crate::silence::{SilenceState, Silences};
use crate::templates::{self, TemplateEngine};

/// Start-up options (Alertmanager's command-line flags).
#[derive(Clone, Debug)]
pub struct Options {
    /// `--storage.path`; `None` keeps everything in memory.
    pub storage_path: Option<PathBuf>,
    /// `--web.external-url`.
    pub external_url: String,
    /// `--data.retention` (120h).
    pub retention: Duration,
    /// `--data.maintenance-interval` (15m): GC and snapshot period.
    pub maintenance_interval: Duration,
    /// `--alerts.gc-interval` (30m).
    pub alerts_gc_interval: Duration,
    /// Matcher grammar.
    pub mode: ParseMode,
    /// Version reported in `/api/v2/status` (amtool warns when its
    /// major.minor differs).
    pub version: String,
    /// Pushover messages endpoint for integrations that do not set
    /// `api_url` (lookout extension; default Pushover's own).
    pub pushover_api_url: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            storage_path: None,
            external_url: "http://localhost:9093".into(),
            retention: Duration::from_secs(120 * 3600),
            maintenance_interval: Duration::from_secs(15 * 60),
            alerts_gc_interval: Duration::from_secs(30 * 60),
            mode: ParseMode::Fallback,
            version: "0.25.0".into(),
            pushover_api_url: None,
        }
    }
}

/// State shared by the dispatcher, the pipeline and the API.
pub struct Core {
    /// Alerts.
    pub store: AlertStore,
    /// Silences.
    pub silences: Silences,
    /// Notification log.
    pub nflog: NotificationLog,
    /// Self-metrics.
    pub metrics: Metrics,
    /// Pushover emergency receipts.
    pub receipts: Arc<ReceiptStore>,
}

/// Everything derived from one config.
pub struct Runtime {
    /// The config.
    pub config: Arc<LoadedConfig>,
    /// Routing tree.
    pub route: Arc<Route>,
    /// Dispatcher.
    pub dispatcher: Arc<Dispatcher>,
}

/// Errors starting the component.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Snapshot unreadable.
    #[error(transparent)]
    Persist(#[from] PersistError),
    /// Config unusable.
    #[error("{0}")]
    Config(String),
    /// Storage directory unusable.
    #[error("storage path {path}: {source}")]
    Storage {
        /// Directory.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// An alert's computed status for the API.
#[derive(Clone, Debug, Default)]
pub struct AlertStatus {
    /// Silences muting it.
    pub silenced_by: Vec<String>,
    /// Alerts inhibiting it (fingerprints).
    pub inhibited_by: Vec<String>,
}

impl AlertStatus {
    /// `active` or `suppressed`.
    pub fn state(&self) -> &'static str {
        if self.silenced_by.is_empty() && self.inhibited_by.is_empty() {
            "active"
        } else {
            "suppressed"
        }
    }
}

/// The component.
pub struct Alertmanager {
    /// Shared state.
    pub core: Arc<Core>,
    /// Options.
    pub opts: Options,
    runtime: RwLock<Option<Arc<Runtime>>>,
    config_path: RwLock<Option<PathBuf>>,
    /// Start time (`uptime` in the status).
    pub started: DateTime<Utc>,
    reload_lock: tokio::sync::Mutex<()>,
}

fn config_hash(s: &str) -> f64 {
    let mut h: u64 = 14695981039346656037;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(1099511628211);
    }
    (h >> 11) as f64
}

impl Alertmanager {
    /// Opens storage and applies the first config. Must run inside a tokio
    /// runtime (group timers are tasks).
    pub fn new(opts: Options, config: LoadedConfig) -> Result<Arc<Self>, StartError> {
        let retention =
            chrono::Duration::from_std(opts.retention).unwrap_or(chrono::Duration::hours(120));
        let (sil_path, nflog_path, receipts_path) = match &opts.storage_path {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| StartError::Storage {
                    path: dir.display().to_string(),
                    source: e,
                })?;
                (
                    Some(dir.join("silences")),
                    Some(dir.join("nflog")),
                    Some(dir.join("pushover_receipts.json")),
                )
            }
            None => (None, None, None),
        };
        let core = Arc::new(Core {
            store: AlertStore::default(),
            silences: Silences::open(sil_path, retention)?,
            nflog: NotificationLog::open(nflog_path, retention)?,
            metrics: Metrics::default(),
            receipts: Arc::new(ReceiptStore::open(receipts_path)),
        });
        let am = Arc::new(Alertmanager {
            core,
            opts,
            runtime: RwLock::new(None),
            config_path: RwLock::new(None),
            started: Utc::now(),
            reload_lock: tokio::sync::Mutex::new(()),
        });
        am.apply_config(config).map_err(StartError::Config)?;
        am.spawn_maintenance();
        Ok(am)
    }

    /// Remembers the file `reload` reads.
    pub fn set_config_path(&self, p: PathBuf) {
        *self.config_path.write() = Some(p);
    }

    /// The active runtime.
    pub fn runtime(&self) -> Option<Arc<Runtime>> {
        self.runtime.read().clone()
    }

    /// The active config.
    pub fn config(&self) -> Option<Arc<LoadedConfig>> {
        self.runtime().map(|r| r.config.clone())
    }

    fn build_pipeline(
        &self,
        cfg: &LoadedConfig,
        tmpl: Arc<dyn TemplateEngine>,
    ) -> Result<Pipeline, String> {
        let mut receivers = HashMap::new();
        for r in &cfg.config.receivers {
            let name = r.name.clone().unwrap_or_default();
            let key = |integration: &str, idx: usize| ReceiverKey {
                group_name: name.clone(),
                integration: integration.to_string(),
                idx: idx as u32,
            };
            let mut list = Vec::new();
            for (i, p) in r.pushover_configs.iter().enumerate() {
                let k = key("pushover", i);
                let mut conf = p.clone();
                if conf.api_url.is_none() {
                    conf.api_url = self.opts.pushover_api_url.clone();
                }
                let n = Pushover::new(
                    conf,
                    tmpl.clone(),
                    self.core.receipts.clone(),
                    k.to_string(),
                )?;
                list.push(IntegrationEntry {
                    key: k,
                    integration: Integration::Pushover(n),
                });
            }
            for (i, w) in r.webhook_configs.iter().enumerate() {
                list.push(IntegrationEntry {
                    key: key("webhook", i),
                    integration: Integration::Webhook(Webhook::new(w.clone())?),
                });
            }
            for (i, n) in r.ntfy_configs.iter().enumerate() {
                list.push(IntegrationEntry {
                    key: key("ntfy", i),
                    integration: Integration::Ntfy(Ntfy::new(n.clone(), tmpl.clone())?),
                });
            }
            for (kind, count) in r.unsupported_integrations() {
                for i in 0..count {
                    list.push(IntegrationEntry {
                        key: key(kind, i),
                        integration: Integration::Unsupported(kind),
                    });
                }
            }
            receivers.insert(name, list);
        }
        Ok(Pipeline {
            receivers,
            inhibit_rules: cfg.inhibit_rules.clone(),
            time_intervals: cfg.time_intervals.clone(),
            external_url: self.opts.external_url.clone(),
            core: self.core.clone(),
        })
    }

    /// Switches to a new config: builds the route tree, notifiers and
    /// templates first (the old config stays on any error), then replaces the
    /// dispatcher and re-feeds every stored alert, so all group timers
    /// restart like on an Alertmanager reload.
    pub fn apply_config(&self, cfg: LoadedConfig) -> Result<(), String> {
        let result = (|| {
            let tmpl = templates::load(&cfg.template_globs)?;
            let route = Arc::new(Route::build(cfg.route(), cfg.mode)?);
            let pipeline = Arc::new(self.build_pipeline(&cfg, tmpl)?);
            Ok::<_, String>((route, pipeline))
        })();
        let (route, pipeline) = match result {
            Ok(v) => v,
            Err(e) => {
                self.core.metrics.config_loaded(false, 0.0);
                return Err(e);
            }
        };
        for w in &cfg.warnings {
            tracing::warn!("{w}");
        }
        let hash = config_hash(&cfg.original);
        let dispatcher = Dispatcher::new(route.clone(), pipeline);
        let old = self.runtime.write().replace(Arc::new(Runtime {
            config: Arc::new(cfg),
            route,
            dispatcher: dispatcher.clone(),
        }));
        if let Some(old) = old {
            old.dispatcher.stop();
        }
        for a in self.core.store.list() {
            dispatcher.process(&a);
        }
        self.core.metrics.config_loaded(true, hash);
        Ok(())
    }

    /// Reloads the config file (`POST /-/reload`, SIGHUP). On error the
    /// running config stays.
    pub async fn reload(&self) -> Result<(), ConfigError> {
        let _g = self.reload_lock.lock().await;
        let Some(path) = self.config_path.read().clone() else {
            return Err(ConfigError {
                file: None,
                location: None,
                message: "no config file to reload".into(),
            });
        };
        let cfg = match load_file(&path, self.opts.mode) {
            Ok(c) => c,
            Err(e) => {
                self.core.metrics.config_loaded(false, 0.0);
                return Err(e);
            }
        };
        self.apply_config(cfg).map_err(|m| ConfigError {
            file: Some(path),
            location: None,
            message: m,
        })
    }

    /// Ingests alerts that were already validated and defaulted.
    pub fn put_alerts(&self, alerts: Vec<Alert>) {
        let rt = self.runtime();
        for a in alerts {
            let stored = self.core.store.put(a);
            if let Some(rt) = &rt {
                rt.dispatcher.process(&stored);
            }
        }
    }

    /// Applies Alertmanager's ingestion defaults (`startsAt`, `endsAt` from
    /// `resolve_timeout`, `updatedAt`) to a posted alert.
    pub fn default_alert(&self, a: &mut Alert, now: DateTime<Utc>) {
        a.updated_at = now;
        if is_zero(&a.starts_at) {
            a.starts_at = if is_zero(&a.ends_at) { now } else { a.ends_at };
        }
        if is_zero(&a.ends_at) {
            let rt = self
                .config()
                .map(|c| c.global.resolve_timeout.std())
                .unwrap_or(Duration::from_secs(300));
            a.timeout = true;
            a.ends_at =
                now + chrono::Duration::from_std(rt).unwrap_or(chrono::Duration::minutes(5));
        }
    }

    /// Silences and inhibitions applying to labels now.
    pub fn alert_status(&self, alert: &Alert, now: DateTime<Utc>) -> AlertStatus {
        let silenced_by = self.core.silences.mutes(&alert.labels, now);
        let inhibited_by = match self.config() {
            Some(c) => inhibited_by(
                &c.inhibit_rules,
                &self.core.store.list(),
                &alert.labels,
                now,
            )
            .into_iter()
            .map(|f| f.to_string())
            .collect(),
            None => Vec::new(),
        };
        AlertStatus {
            silenced_by,
            inhibited_by,
        }
    }

    /// Self-metrics text.
    pub fn metrics_text(&self) -> String {
        let now = Utc::now();
        let mut active = 0;
        let mut suppressed = 0;
        for a in self.core.store.list() {
            if a.resolved_at(now) {
                continue;
            }
            if self.alert_status(&a, now).state() == "active" {
                active += 1;
            } else {
                suppressed += 1;
            }
        }
        let silences = self
            .core
            .silences
            .count_by_state(now)
            .iter()
            .map(|(s, n)| (s.as_str(), *n))
            .collect();
        let g = Gauges {
            alerts: vec![
                ("active", active),
                ("suppressed", suppressed),
                ("unprocessed", 0),
            ],
            silences,
            aggregation_groups: self
                .runtime()
                .map(|r| r.dispatcher.groups().len())
                .unwrap_or(0),
            nflog_entries: self.core.nflog.len(),
            start_time: self.started.timestamp() as f64,
        };
        self.core.metrics.render(&g)
    }

    /// Writes final snapshots (clean shutdown).
    pub fn shutdown(&self) {
        let now = Utc::now();
        if let Err(e) = self.core.silences.maintenance(now) {
            tracing::error!(error = %e, "final silence snapshot failed");
        }
        if let Err(e) = self.core.nflog.maintenance(now) {
            tracing::error!(error = %e, "final nflog snapshot failed");
        }
        if let Some(rt) = self.runtime.write().take() {
            rt.dispatcher.stop();
        }
    }

    fn spawn_maintenance(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let every = self.opts.maintenance_interval;
        let gc_every = self.opts.alerts_gc_interval;
        tokio::spawn(async move {
            let mut maint = tokio::time::interval(every);
            let mut gc = tokio::time::interval(gc_every);
            maint.tick().await;
            gc.tick().await;
            loop {
                tokio::select! {
                    _ = maint.tick() => {
                        let Some(am) = weak.upgrade() else { return };
                        let now = Utc::now();
                        if let Err(e) = am.core.silences.maintenance(now) {
                            tracing::error!(error = %e, "silence maintenance failed");
                        }
                        if let Err(e) = am.core.nflog.maintenance(now) {
                            tracing::error!(error = %e, "nflog maintenance failed");
                        }
                    }
                    _ = gc.tick() => {
                        let Some(am) = weak.upgrade() else { return };
                        am.core.store.gc(Utc::now());
                    }
                }
            }
        });
    }

    /// Silence counts by state (for the CLI and tests).
    pub fn silence_counts(&self) -> Vec<(SilenceState, usize)> {
        self.core.silences.count_by_state(Utc::now()).to_vec()
    }
}
