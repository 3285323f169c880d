//! Alertmanager's self-metrics in the Prometheus text format (0.0.4).
//!
//! Hand-written rather than using a metrics crate: the set is small and
//! fixed, and the output must be plain text the server can concatenate with
//! other components' sections under one `/metrics` (the OpenMetrics encoders
//! of the common crates end with `# EOF`, which would cut that short).

use std::collections::BTreeMap;
use std::fmt::Write;

use parking_lot::Mutex;

use crate::notify::FailureReason;

/// Integration names metrics are pre-initialised for (Alertmanager's list
/// plus ntfy).
pub const INTEGRATIONS: &[&str] = &[
    "discord",
    "email",
    "msteams",
    "ntfy",
    "opsgenie",
    "pagerduty",
    "pushover",
    "slack",
    "sns",
    "telegram",
    "victorops",
    "webex",
    "webhook",
    "wechat",
];

/// Upper bounds of `alertmanager_notification_latency_seconds`.
pub const LATENCY_BUCKETS: [f64; 5] = [1.0, 5.0, 10.0, 15.0, 20.0];

#[derive(Default, Clone)]
struct Histogram {
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct State {
    notifications: BTreeMap<String, u64>,
    notifications_failed: BTreeMap<(String, String), u64>,
    requests: BTreeMap<String, u64>,
    requests_failed: BTreeMap<String, u64>,
    latency: BTreeMap<String, Histogram>,
    alerts_received: BTreeMap<String, u64>,
    alerts_invalid: u64,
    nflog_queries: u64,
    nflog_query_errors: u64,
    reload_success: bool,
    reload_success_ts: f64,
    config_hash: f64,
}

/// Counters and histograms updated by the pipeline and the API.
pub struct Metrics {
    state: Mutex<State>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut s = State::default();
        for i in INTEGRATIONS {
            s.notifications.insert(i.to_string(), 0);
            s.requests.insert(i.to_string(), 0);
            s.requests_failed.insert(i.to_string(), 0);
            s.latency.insert(i.to_string(), Histogram::default());
            for r in FailureReason::ALL {
                s.notifications_failed
                    .insert((i.to_string(), r.as_str().to_string()), 0);
            }
        }
        s.alerts_received.insert("firing".into(), 0);
        s.alerts_received.insert("resolved".into(), 0);
        Metrics {
            state: Mutex::new(s),
        }
    }
}

/// Gauges computed at scrape time by the caller.
#[derive(Default, Clone, Debug)]
pub struct Gauges {
    /// Alerts by state (`active`, `suppressed`, `unprocessed`).
    pub alerts: Vec<(&'static str, usize)>,
    /// Silences by state.
    pub silences: Vec<(&'static str, usize)>,
    /// Aggregation groups.
    pub aggregation_groups: usize,
    /// Notification log entries.
    pub nflog_entries: usize,
    /// Process start (Unix seconds).
    pub start_time: f64,
}

impl Metrics {
    /// One notification (possibly several attempts) started.
    pub fn notification(&self, integration: &str) {
        *self
            .state
            .lock()
            .notifications
            .entry(integration.into())
            .or_default() += 1;
    }

    /// One notification finally failed.
    pub fn notification_failed(&self, integration: &str, reason: FailureReason) {
        *self
            .state
            .lock()
            .notifications_failed
            .entry((integration.into(), reason.as_str().into()))
            .or_default() += 1;
    }

    /// One attempt finished after `secs`.
    pub fn request(&self, integration: &str, secs: f64, failed: bool) {
        let mut s = self.state.lock();
        *s.requests.entry(integration.into()).or_default() += 1;
        if failed {
            *s.requests_failed.entry(integration.into()).or_default() += 1;
        }
        let h = s.latency.entry(integration.into()).or_default();
        h.count += 1;
        h.sum += secs;
        for (i, b) in LATENCY_BUCKETS.iter().enumerate() {
            if secs <= *b {
                h.buckets[i] += 1;
            }
        }
    }

    /// Alerts accepted by the API.
    pub fn alert_received(&self, firing: bool) {
        let k = if firing { "firing" } else { "resolved" };
        *self
            .state
            .lock()
            .alerts_received
            .entry(k.into())
            .or_default() += 1;
    }

    /// Alerts rejected by the API.
    pub fn alert_invalid(&self) {
        self.state.lock().alerts_invalid += 1;
    }

    /// A dedup lookup.
    pub fn nflog_query(&self, error: bool) {
        let mut s = self.state.lock();
        s.nflog_queries += 1;
        if error {
            s.nflog_query_errors += 1;
        }
    }

    /// A config (re)load finished.
    pub fn config_loaded(&self, ok: bool, hash: f64) {
        let mut s = self.state.lock();
        s.reload_success = ok;
        if ok {
            s.reload_success_ts = chrono::Utc::now().timestamp() as f64;
            s.config_hash = hash;
        }
    }

    /// Reads one counter (tests and the CLI).
    pub fn notifications_failed(&self, integration: &str, reason: FailureReason) -> u64 {
        self.state
            .lock()
            .notifications_failed
            .get(&(integration.to_string(), reason.as_str().to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Renders everything in the text exposition format.
    pub fn render(&self, g: &Gauges) -> String {
        let s = self.state.lock();
        let mut o = String::new();
        let head = |o: &mut String, name: &str, ty: &str, help: &str| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {ty}");
        };
        head(
            &mut o,
            "alertmanager_alerts",
            "gauge",
            "How many alerts by state.",
        );
        for (st, n) in &g.alerts {
            let _ = writeln!(o, "alertmanager_alerts{{state=\"{st}\"}} {n}");
        }
        head(
            &mut o,
            "alertmanager_alerts_received_total",
            "counter",
            "The total number of received alerts.",
        );
        for (st, n) in &s.alerts_received {
            let _ = writeln!(
                o,
                "alertmanager_alerts_received_total{{status=\"{st}\",version=\"v2\"}} {n}"
            );
        }
        head(
            &mut o,
            "alertmanager_alerts_invalid_total",
            "counter",
            "The total number of received alerts that were invalid.",
        );
        let _ = writeln!(
            o,
            "alertmanager_alerts_invalid_total{{version=\"v2\"}} {}",
            s.alerts_invalid
        );
        head(
            &mut o,
            "alertmanager_notifications_total",
            "counter",
            "The total number of attempted notifications.",
        );
        for (i, n) in &s.notifications {
            let _ = writeln!(
                o,
                "alertmanager_notifications_total{{integration=\"{i}\"}} {n}"
            );
        }
        head(
            &mut o,
            "alertmanager_notifications_failed_total",
            "counter",
            "The total number of failed notifications.",
        );
        for ((i, r), n) in &s.notifications_failed {
            let _ = writeln!(
                o,
                "alertmanager_notifications_failed_total{{integration=\"{i}\",reason=\"{r}\"}} {n}"
            );
        }
        head(
            &mut o,
            "alertmanager_notification_requests_total",
            "counter",
            "The total number of attempted notification requests.",
        );
        for (i, n) in &s.requests {
            let _ = writeln!(
                o,
                "alertmanager_notification_requests_total{{integration=\"{i}\"}} {n}"
            );
        }
        head(
            &mut o,
            "alertmanager_notification_requests_failed_total",
            "counter",
            "The total number of failed notification requests.",
        );
        for (i, n) in &s.requests_failed {
            let _ = writeln!(
                o,
                "alertmanager_notification_requests_failed_total{{integration=\"{i}\"}} {n}"
            );
        }
        head(
            &mut o,
            "alertmanager_notification_latency_seconds",
            "histogram",
            "The latency of notifications in seconds.",
        );
        for (i, h) in &s.latency {
            for (b, n) in LATENCY_BUCKETS.iter().zip(h.buckets.iter()) {
                let _ = writeln!(o, "alertmanager_notification_latency_seconds_bucket{{integration=\"{i}\",le=\"{b}\"}} {n}");
            }
            let _ = writeln!(o, "alertmanager_notification_latency_seconds_bucket{{integration=\"{i}\",le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(
                o,
                "alertmanager_notification_latency_seconds_sum{{integration=\"{i}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                o,
                "alertmanager_notification_latency_seconds_count{{integration=\"{i}\"}} {}",
                h.count
            );
        }
        head(
            &mut o,
            "alertmanager_nflog_queries_total",
            "counter",
            "Number of notification log queries were received.",
        );
        let _ = writeln!(o, "alertmanager_nflog_queries_total {}", s.nflog_queries);
        head(
            &mut o,
            "alertmanager_nflog_query_errors_total",
            "counter",
            "Number notification log received queries that failed.",
        );
        let _ = writeln!(
            o,
            "alertmanager_nflog_query_errors_total {}",
            s.nflog_query_errors
        );
        head(
            &mut o,
            "alertmanager_nflog_entries",
            "gauge",
            "Number of notification log entries (lookout).",
        );
        let _ = writeln!(o, "alertmanager_nflog_entries {}", g.nflog_entries);
        head(
            &mut o,
            "alertmanager_silences",
            "gauge",
            "How many silences by state.",
        );
        for (st, n) in &g.silences {
            let _ = writeln!(o, "alertmanager_silences{{state=\"{st}\"}} {n}");
        }
        head(
            &mut o,
            "alertmanager_dispatcher_aggregation_groups",
            "gauge",
            "Number of active aggregation groups",
        );
        let _ = writeln!(
            o,
            "alertmanager_dispatcher_aggregation_groups {}",
            g.aggregation_groups
        );
        head(
            &mut o,
            "alertmanager_config_last_reload_successful",
            "gauge",
            "Whether the last configuration reload attempt was successful.",
        );
        let _ = writeln!(
            o,
            "alertmanager_config_last_reload_successful {}",
            u8::from(s.reload_success)
        );
        head(
            &mut o,
            "alertmanager_config_last_reload_success_timestamp_seconds",
            "gauge",
            "Timestamp of the last successful configuration reload.",
        );
        let _ = writeln!(
            o,
            "alertmanager_config_last_reload_success_timestamp_seconds {}",
            s.reload_success_ts
        );
        head(
            &mut o,
            "alertmanager_config_hash",
            "gauge",
            "Hash of the currently loaded alertmanager configuration.",
        );
        let _ = writeln!(o, "alertmanager_config_hash {}", s.config_hash);
        o
    }
}
