//! Aggregation groups and their timers.
//!
//! Every (route, group-label set) pair an alert reaches gets a group. A new
//! group waits `group_wait` (or flushes at once when its first alert started
//! more than `group_wait` ago), then flushes every `group_interval`; the
//! next tick is armed when a flush starts, and a flush may run until
//! `max(group_interval, 10s)`. A flush sends a copy of the group's alerts in
//! which firing alerts have no end time; resolved alerts that did not change
//! meanwhile are dropped from the group after a successful flush. Empty
//! groups are removed by periodic maintenance.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use parking_lot::Mutex;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use crate::alert::{notification_order, zero_time, Alert};
use crate::labels::{fingerprint, labelset_string, Fingerprint, LabelSet};
use crate::notify::pipeline::{FlushContext, Pipeline};
use crate::route::{Route, RouteOpts};

/// A timer wake-up later than this counts as a late tick.
const LATE_WAKEUP: Duration = Duration::from_millis(20);

/// Minimum flush deadline.
pub const MIN_FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

struct GroupState {
    alerts: HashMap<Fingerprint, Alert>,
    has_flushed: bool,
}

/// One aggregation group.
pub struct AggrGroup {
    /// Group key (`<route key>:<labels>`).
    pub key: String,
    /// Group labels.
    pub labels: LabelSet,
    /// Route id in the tree.
    pub route_id: usize,
    /// Route options.
    pub opts: RouteOpts,
    state: Mutex<GroupState>,
    flush_now: Notify,
    stop_tx: watch::Sender<bool>,
}

impl AggrGroup {
    fn insert(&self, alert: Alert) {
        let mut st = self.state.lock();
        let immediate = !st.has_flushed
            && alert.starts_at
                + chrono::Duration::from_std(self.opts.group_wait).unwrap_or_default()
                < Utc::now();
        st.alerts.insert(alert.fingerprint(), alert);
        drop(st);
        if immediate {
            self.flush_now.notify_one();
        }
    }

    fn is_empty(&self) -> bool {
        self.state.lock().alerts.is_empty()
    }

    /// The group's current alerts (stored versions).
    pub fn alerts(&self) -> Vec<Alert> {
        self.state.lock().alerts.values().cloned().collect()
    }

    async fn flush(&self, pipeline: &Pipeline, tick: chrono::DateTime<Utc>) {
        let now = Utc::now();
        let mut copies: Vec<Alert> = {
            let st = self.state.lock();
            if st.alerts.is_empty() {
                return;
            }
            st.alerts
                .values()
                .map(|a| {
                    let mut c = a.clone();
                    if !c.resolved_at(now) {
                        c.ends_at = zero_time();
                    }
                    c
                })
                .collect()
        };
        copies.sort_by(notification_order);
        let timeout = self.opts.group_interval.max(MIN_FLUSH_TIMEOUT);
        let ctx = FlushContext {
            group_key: self.key.clone(),
            group_labels: self.labels.clone(),
            receiver: self.opts.receiver.clone(),
            repeat_interval: self.opts.repeat_interval,
            mute_time_intervals: self.opts.mute_time_intervals.clone(),
            active_time_intervals: self.opts.active_time_intervals.clone(),
            tick,
            deadline: Instant::now() + timeout,
        };
        let ok = pipeline.exec(&ctx, copies.clone()).await;
        if ok {
            let check = Utc::now();
            let mut st = self.state.lock();
            for c in copies {
                if !c.resolved_at(check) {
                    continue;
                }
                let fp = c.fingerprint();
                if st
                    .alerts
                    .get(&fp)
                    .is_some_and(|cur| cur.updated_at == c.updated_at)
                {
                    st.alerts.remove(&fp);
                }
            }
        }
    }
}

async fn run_group(
    group: Arc<AggrGroup>,
    pipeline: Arc<Pipeline>,
    mut stop_all: watch::Receiver<bool>,
    initial: Duration,
) {
    let mut stop_one = group.stop_tx.subscribe();
    let mut deadline = Instant::now() + initial;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {}
            _ = group.flush_now.notified() => {
                if !group.state.lock().has_flushed {
                    deadline = Instant::now();
                }
                continue;
            }
            _ = stop_all.changed() => return,
            _ = stop_one.changed() => return,
        }
        let tick = Utc::now();
        // Re-arm at the start of the flush, like Alertmanager. Tokio's timer
        // wakes up to a few milliseconds late; counting from the scheduled
        // time keeps the cadence as tight as Go's timers (whose drift is
        // tiny), which matters when repeat_interval equals group_interval.
        // A tick that is really late (a flush overran) re-arms from now.
        let woke = Instant::now();
        let base = if woke.saturating_duration_since(deadline) < LATE_WAKEUP {
            deadline
        } else {
            woke
        };
        deadline = base + group.opts.group_interval;
        group.state.lock().has_flushed = true;
        tokio::select! {
            _ = group.flush(&pipeline, tick) => {}
            _ = stop_all.changed() => return,
            _ = stop_one.changed() => return,
        }
    }
}

/// Routes alerts into groups and runs their timers.
pub struct Dispatcher {
    route: Arc<Route>,
    pipeline: Arc<Pipeline>,
    groups: Mutex<HashMap<(usize, Fingerprint), Arc<AggrGroup>>>,
    stop_tx: watch::Sender<bool>,
}

impl Dispatcher {
    /// A dispatcher for a route tree and pipeline; nothing runs until alerts
    /// arrive.
    pub fn new(route: Arc<Route>, pipeline: Arc<Pipeline>) -> Arc<Self> {
        let (stop_tx, _) = watch::channel(false);
        let d = Arc::new(Dispatcher {
            route,
            pipeline,
            groups: Mutex::new(HashMap::new()),
            stop_tx,
        });
        let weak = Arc::downgrade(&d);
        let mut stop = d.stop_tx.subscribe();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(30));
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.changed() => return,
                }
                let Some(d) = weak.upgrade() else { return };
                d.maintenance();
            }
        });
        d
    }

    /// The route tree.
    pub fn route(&self) -> &Arc<Route> {
        &self.route
    }

    /// The pipeline.
    pub fn pipeline(&self) -> &Arc<Pipeline> {
        &self.pipeline
    }

    /// Puts an alert into every group it belongs to.
    pub fn process(&self, alert: &Alert) {
        for r in self.route.matches(&alert.labels) {
            let labels = r.group_labels(&alert.labels);
            let fp = fingerprint(&labels);
            let mut groups = self.groups.lock();
            if let Some(g) = groups.get(&(r.id, fp)) {
                g.insert(alert.clone());
                continue;
            }
            let group = Arc::new(AggrGroup {
                key: format!("{}:{}", r.key, labelset_string(&labels)),
                labels,
                route_id: r.id,
                opts: r.opts.clone(),
                state: Mutex::new(GroupState {
                    alerts: HashMap::new(),
                    has_flushed: false,
                }),
                flush_now: Notify::new(),
                stop_tx: watch::channel(false).0,
            });
            let wait = chrono::Duration::from_std(r.opts.group_wait).unwrap_or_default();
            let initial = if alert.starts_at + wait < Utc::now() {
                Duration::ZERO
            } else {
                r.opts.group_wait
            };
            group
                .state
                .lock()
                .alerts
                .insert(alert.fingerprint(), alert.clone());
            groups.insert((r.id, fp), group.clone());
            tokio::spawn(run_group(
                group,
                self.pipeline.clone(),
                self.stop_tx.subscribe(),
                initial,
            ));
        }
    }

    /// Removes empty groups.
    pub fn maintenance(&self) {
        self.groups.lock().retain(|_, g| {
            let keep = !g.is_empty();
            if !keep {
                let _ = g.stop_tx.send(true);
            }
            keep
        });
    }

    /// Current groups.
    pub fn groups(&self) -> Vec<Arc<AggrGroup>> {
        self.groups.lock().values().cloned().collect()
    }

    /// Stops every group timer.
    pub fn stop(&self) {
        let _ = self.stop_tx.send(true);
        self.groups.lock().clear();
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        let _ = self.stop_tx.send(true);
    }
}
