//! Alerts leaving the rule engine: the [`AlertSender`] trait groups call,
//! and [`Notifier`], Prometheus' notifier: a bounded queue, external labels
//! and `alert_relabel_configs`, batches of at most 256 alerts posted to
//! every Alertmanager (in-process targets and `POST /api/v2/alerts`).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lookout_model::relabel::{self, RelabelConfig};
use lookout_model::Labels;
use parking_lot::{Condvar, Mutex};

use crate::metrics::NotifierMetrics;

/// An alert as Alertmanager receives it. Times are Unix ms (0 = unset).
#[derive(Clone, Debug, PartialEq)]
pub struct NotifyAlert {
    /// Labels.
    pub labels: Labels,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// `startsAt`.
    pub starts_at: i64,
    /// `endsAt`.
    pub ends_at: i64,
    /// `generatorURL`.
    pub generator_url: String,
}

/// RFC 3339 with milliseconds in UTC, like Go's `strfmt.DateTime`; 0 is
/// Go's zero time.
pub fn rfc3339_millis(ms: i64) -> String {
    if ms == 0 {
        return "0001-01-01T00:00:00.000Z".into();
    }
    let t = lookout_template::gotime::Time::from_unix_millis(ms);
    t.format("2006-01-02T15:04:05.000Z07:00")
}

impl NotifyAlert {
    /// The Alertmanager API v2 postable-alert JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        let labels: serde_json::Map<String, serde_json::Value> = self
            .labels
            .iter()
            .map(|l| (l.name.clone(), serde_json::Value::String(l.value.clone())))
            .collect();
        serde_json::json!({
            "annotations": self.annotations,
            "endsAt": rfc3339_millis(self.ends_at),
            "startsAt": rfc3339_millis(self.starts_at),
            "generatorURL": self.generator_url,
            "labels": labels,
        })
    }
}

/// What rule groups hand their alerts to.
pub trait AlertSender: Send + Sync {
    /// Queues alerts for delivery; must not block on the network.
    fn send(&self, alerts: Vec<NotifyAlert>);
}

/// Discards alerts (tools and tests that need no delivery).
pub struct DiscardSender;
impl AlertSender for DiscardSender {
    fn send(&self, _alerts: Vec<NotifyAlert>) {}
}

/// Collects alerts in memory (tests, and the in-process hand-off when the
/// caller drains it itself).
#[derive(Default)]
pub struct CollectingSender(pub Mutex<Vec<NotifyAlert>>);
impl AlertSender for CollectingSender {
    fn send(&self, alerts: Vec<NotifyAlert>) {
        self.0.lock().extend(alerts);
    }
}

/// One Alertmanager the notifier delivers to.
pub trait AlertmanagerTarget: Send + Sync {
    /// A name for metrics and logs (the URL for HTTP targets).
    fn name(&self) -> String;
    /// Delivers one batch; the error text is logged and counted.
    fn post(&self, alerts: &[NotifyAlert]) -> Result<(), String>;
}

/// Notifier options.
#[derive(Clone, Debug)]
pub struct NotifierOptions {
    /// `--alertmanager.notification-queue-capacity` (default 10000).
    pub queue_capacity: usize,
    /// Largest batch per POST (Prometheus: 256).
    pub max_batch: usize,
    /// `global.external_labels`, added to alerts that lack them.
    pub external_labels: Labels,
    /// `alerting.alert_relabel_configs`.
    pub relabel_configs: Vec<RelabelConfig>,
}

impl Default for NotifierOptions {
    fn default() -> Self {
        NotifierOptions {
            queue_capacity: 10_000,
            max_batch: 256,
            external_labels: Labels::empty(),
            relabel_configs: Vec::new(),
        }
    }
}

struct Shared {
    queue: Mutex<VecDeque<NotifyAlert>>,
    wake: Condvar,
    stop: AtomicBool,
    opts: Mutex<NotifierOptions>,
    targets: Mutex<Vec<Arc<dyn AlertmanagerTarget>>>,
    metrics: NotifierMetrics,
}

/// Prometheus' notifier: queue, relabelling, batching, fan-out.
pub struct Notifier {
    shared: Arc<Shared>,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Notifier {
    /// A notifier; call [`Notifier::start`] to begin delivery.
    pub fn new(opts: NotifierOptions, metrics: NotifierMetrics) -> Notifier {
        metrics.queue_capacity.set(opts.queue_capacity as f64);
        Notifier {
            shared: Arc::new(Shared {
                queue: Mutex::new(VecDeque::new()),
                wake: Condvar::new(),
                stop: AtomicBool::new(false),
                opts: Mutex::new(opts),
                targets: Mutex::new(Vec::new()),
                metrics,
            }),
            worker: Mutex::new(None),
        }
    }

    /// Replaces options and targets (config reload).
    pub fn apply(&self, opts: NotifierOptions, targets: Vec<Arc<dyn AlertmanagerTarget>>) {
        self.shared
            .metrics
            .queue_capacity
            .set(opts.queue_capacity as f64);
        self.shared.metrics.alertmanagers.set(targets.len() as f64);
        *self.shared.opts.lock() = opts;
        *self.shared.targets.lock() = targets;
    }

    /// Names of the current targets (for `/api/v1/alertmanagers`).
    pub fn target_names(&self) -> Vec<String> {
        self.shared
            .targets
            .lock()
            .iter()
            .map(|t| t.name())
            .collect()
    }

    /// Starts the delivery thread.
    pub fn start(&self) {
        let mut w = self.worker.lock();
        if w.is_some() {
            return;
        }
        let shared = self.shared.clone();
        *w = std::thread::Builder::new()
            .name("rule-notifier".into())
            .spawn(move || deliver_loop(&shared))
            .ok();
    }

    /// Stops delivery after the current batch; queued alerts are dropped.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake.notify_all();
        if let Some(h) = self.worker.lock().take() {
            let _ = h.join();
        }
    }

    /// Number of queued alerts.
    pub fn queue_len(&self) -> usize {
        self.shared.queue.lock().len()
    }

    /// Delivers everything queued now, on the caller's thread (tests, shutdown).
    pub fn flush(&self) {
        while let Some(batch) = next_batch(&self.shared) {
            send_all(&self.shared, &batch);
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.stop();
    }
}

/// External labels (only where missing), then alert relabelling; `None`
/// when relabelling drops the alert.
pub fn prepare_alert(mut a: NotifyAlert, opts: &NotifierOptions) -> Option<NotifyAlert> {
    if !opts.external_labels.is_empty() {
        let mut b = a.labels.builder();
        for l in &opts.external_labels {
            if a.labels.get(&l.name).is_none() {
                b.set(l.name.as_str(), l.value.as_str());
            }
        }
        a.labels = b.into_labels();
    }
    if !opts.relabel_configs.is_empty() {
        a.labels = relabel::process(&a.labels, &opts.relabel_configs)?;
        if a.labels.is_empty() {
            return None;
        }
    }
    Some(a)
}

impl AlertSender for Notifier {
    fn send(&self, alerts: Vec<NotifyAlert>) {
        let opts = self.shared.opts.lock().clone();
        let mut prepared: Vec<NotifyAlert> = alerts
            .into_iter()
            .filter_map(|a| prepare_alert(a, &opts))
            .collect();
        let cap = opts.queue_capacity.max(1);
        let mut q = self.shared.queue.lock();
        // Like Prometheus: if the batch alone overflows, keep its newest part;
        // then drop the oldest queued alerts to make room.
        if prepared.len() > cap {
            let drop_n = prepared.len() - cap;
            self.shared.metrics.dropped.inc_by(drop_n as f64);
            prepared.drain(..drop_n);
        }
        let overflow = (q.len() + prepared.len()).saturating_sub(cap);
        if overflow > 0 {
            self.shared.metrics.dropped.inc_by(overflow as f64);
            let n = overflow.min(q.len());
            q.drain(..n);
        }
        q.extend(prepared);
        self.shared.metrics.queue_length.set(q.len() as f64);
        drop(q);
        self.shared.wake.notify_one();
    }
}

fn next_batch(shared: &Shared) -> Option<Vec<NotifyAlert>> {
    let max = shared.opts.lock().max_batch.max(1);
    let mut q = shared.queue.lock();
    if q.is_empty() {
        return None;
    }
    let n = q.len().min(max);
    let batch: Vec<NotifyAlert> = q.drain(..n).collect();
    shared.metrics.queue_length.set(q.len() as f64);
    Some(batch)
}

fn send_all(shared: &Shared, batch: &[NotifyAlert]) {
    let targets = shared.targets.lock().clone();
    if targets.is_empty() {
        return;
    }
    let mut any_ok = false;
    for t in &targets {
        let name = t.name();
        // A panicking target must not take the delivery thread down.
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| t.post(batch)))
            .unwrap_or_else(|_| Err("alertmanager target panicked".into()));
        match res {
            Ok(()) => {
                any_ok = true;
                shared
                    .metrics
                    .sent
                    .with(&[&name])
                    .inc_by(batch.len() as f64);
            }
            Err(e) => {
                tracing::error!(alertmanager = %name, count = batch.len(), error = %e, "error sending alerts");
                shared
                    .metrics
                    .errors
                    .with(&[&name])
                    .inc_by(batch.len() as f64);
            }
        }
    }
    if !any_ok {
        shared.metrics.dropped.inc_by(batch.len() as f64);
    }
}

fn deliver_loop(shared: &Shared) {
    loop {
        {
            let mut q = shared.queue.lock();
            while q.is_empty() && !shared.stop.load(Ordering::SeqCst) {
                shared.wake.wait_for(&mut q, Duration::from_secs(1));
            }
        }
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        while let Some(batch) = next_batch(shared) {
            send_all(shared, &batch);
            if shared.stop.load(Ordering::SeqCst) {
                return;
            }
        }
    }
}

/// An in-process target built from a closure (the server wires the
/// built-in Alertmanager through this).
pub struct FnTarget<F: Fn(&[NotifyAlert]) -> Result<(), String> + Send + Sync> {
    /// Name for metrics.
    pub name: String,
    /// Delivery function.
    pub f: F,
}

impl<F: Fn(&[NotifyAlert]) -> Result<(), String> + Send + Sync> AlertmanagerTarget for FnTarget<F> {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn post(&self, alerts: &[NotifyAlert]) -> Result<(), String> {
        (self.f)(alerts)
    }
}
