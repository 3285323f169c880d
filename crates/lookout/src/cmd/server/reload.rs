//! Configuration reload (`/-/reload`, SIGHUP): re-read the config, apply it
//! to the components, and on failure keep the old one running and say why
//! (log line, reload metrics, HTTP 500 body).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock, Weak};

use lookout_api::{Api, Reloader};
use lookout_metrics::{Counter, Gauge, Registry};
use parking_lot::Mutex;

use crate::config::{self, LoadedConfig};

/// Applies a loaded configuration to the running components.
pub type ApplyFn = dyn Fn(&LoadedConfig) -> Result<(), String> + Send + Sync;

/// Reloads from the file the server started with (or the embedded default).
pub struct ConfigReloader {
    path: Option<PathBuf>,
    self_target: String,
    apply: Arc<ApplyFn>,
    api: OnceLock<Weak<Api>>,
    /// Serialises reloads (SIGHUP and HTTP may race).
    lock: Mutex<()>,
    success: Arc<Gauge>,
    success_time: Arc<Gauge>,
    failures: Arc<Counter>,
}

impl ConfigReloader {
    /// A reloader; call [`ConfigReloader::attach`] once the API exists.
    pub fn new(
        path: Option<PathBuf>,
        self_target: String,
        apply: Arc<ApplyFn>,
        registry: &Registry,
    ) -> Self {
        let success = registry.gauge(
            "lookout_config_last_reload_successful",
            "Whether the last configuration reload attempt was successful.",
        );
        let success_time = registry.gauge(
            "lookout_config_last_reload_success_timestamp_seconds",
            "Timestamp of the last successful configuration reload.",
        );
        let failures = registry.counter(
            "lookout_config_reload_failures_total",
            "Configuration reloads that failed (the previous configuration stays in force).",
        );
        ConfigReloader {
            path,
            self_target,
            apply,
            api: OnceLock::new(),
            lock: Mutex::new(()),
            success,
            success_time,
            failures,
        }
    }

    /// Connects the reloader to the API whose status it updates.
    pub fn attach(&self, api: &Arc<Api>) {
        let _ = self.api.set(Arc::downgrade(api));
    }

    /// Records the initial, successful load.
    pub fn mark_loaded(&self) {
        self.success.set(1.0);
        self.success_time.set(now_secs());
    }

    fn load(&self) -> Result<LoadedConfig, String> {
        match &self.path {
            Some(p) => config::load_file(p).map_err(|e| e.to_string()),
            None => config::load_str(
                &config::embedded_default(&self.self_target),
                std::path::Path::new("<embedded>"),
            )
            .map_err(|e| e.to_string()),
        }
    }
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Reloader for ConfigReloader {
    fn reload(&self) -> Result<(), String> {
        let _guard = self.lock.lock();
        let result = self.load().and_then(|cfg| {
            (self.apply)(&cfg)?;
            Ok(cfg)
        });
        let api = self.api.get().and_then(Weak::upgrade);
        match result {
            Ok(cfg) => {
                self.success.set(1.0);
                self.success_time.set(now_secs());
                if let Some(api) = api {
                    api.update_status(|s| {
                        s.config_yaml = cfg.prometheus_yaml.clone();
                        s.reload_success = true;
                        s.last_config_time_ms = lookout_api::params::now_ms();
                        s.external_labels = super::external_labels(&cfg);
                    });
                }
                tracing::info!("configuration reloaded");
                Ok(())
            }
            Err(e) => {
                self.success.set(0.0);
                self.failures.inc();
                if let Some(api) = api {
                    api.update_status(|s| s.reload_success = false);
                }
                tracing::error!(error = %e, "configuration reload failed; keeping the previous configuration");
                Err(e)
            }
        }
    }
}
