//! Rule groups: ordered evaluation at one timestamp, writing results and
//! staleness markers, sending alerts, evaluation-time alignment, and the
//! `for` state restore after a restart.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lookout_model::matcher::{MatchOp, Matcher};
use lookout_model::storage::SelectHints;
use lookout_model::{is_stale_nan, Labels, METRIC_NAME, STALE_NAN};
use parking_lot::Mutex;

use crate::metrics::RuleMetrics;
use crate::notifier::{AlertSender, NotifyAlert};
use crate::rule::{Alert, Health, OutValue, Rule, RuleEnv, RuleSample};

/// Options shared by every group of a manager.
#[derive(Clone)]
pub struct GroupOptions {
    /// `--rules.alert.resend-delay` (default 1m), ms.
    pub resend_delay_ms: i64,
    /// `--rules.alert.for-outage-tolerance` (default 1h), ms.
    pub outage_tolerance_ms: i64,
    /// `--rules.alert.for-grace-period` (default 10m), ms.
    pub for_grace_period_ms: i64,
    /// Where alerts go.
    pub sender: Arc<dyn AlertSender>,
    /// Self-monitoring counters.
    pub metrics: Arc<RuleMetrics>,
}

impl GroupOptions {
    /// Prometheus' defaults with the given sender.
    pub fn with_sender(sender: Arc<dyn AlertSender>) -> GroupOptions {
        GroupOptions {
            resend_delay_ms: 60_000,
            outage_tolerance_ms: 3_600_000,
            for_grace_period_ms: 600_000,
            sender,
            metrics: Arc::new(RuleMetrics::unregistered()),
        }
    }
}

#[derive(Default)]
struct GroupState {
    series_in_previous_eval: Vec<HashSet<Labels>>,
    stale_series: Vec<Labels>,
    last_evaluation: Option<i64>,
    evaluation_time: Duration,
    last_eval_timestamp: Option<i64>,
}

/// A rule group.
pub struct Group {
    /// Group name.
    pub name: String,
    /// File the group came from (or a pseudo-path for built-in rules).
    pub file: String,
    /// Evaluation interval, ms.
    pub interval_ms: i64,
    /// Query offset, ms.
    pub query_offset_ms: i64,
    /// `limit` (0 = none).
    pub limit: usize,
    /// The rules in evaluation order.
    pub rules: Vec<Arc<Rule>>,
    env: RuleEnv,
    opts: GroupOptions,
    state: Mutex<GroupState>,
}

/// A snapshot of a group's timings.
#[derive(Clone, Debug, Default)]
pub struct GroupStatus {
    /// Wall-clock start of the last evaluation, ms.
    pub last_evaluation: Option<i64>,
    /// Duration of the last evaluation.
    pub evaluation_time: Duration,
    /// Evaluation timestamp of the last evaluation, ms.
    pub last_eval_timestamp: Option<i64>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Group {
    /// A group.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: String,
        file: String,
        interval_ms: i64,
        query_offset_ms: i64,
        limit: usize,
        rules: Vec<Arc<Rule>>,
        env: RuleEnv,
        opts: GroupOptions,
    ) -> Group {
        let n = rules.len();
        Group {
            name,
            file,
            interval_ms,
            query_offset_ms,
            limit,
            rules,
            env,
            opts,
            state: Mutex::new(GroupState {
                series_in_previous_eval: vec![HashSet::new(); n],
                ..Default::default()
            }),
        }
    }

    /// Prometheus' group hash: xxhash64 of the label set
    /// `{file="<file>", name="<name>"}`, which spreads groups over their
    /// interval.
    pub fn hash(&self) -> u64 {
        let mut b = Vec::with_capacity(self.file.len() + self.name.len() + 12);
        b.extend_from_slice(b"file\xff");
        b.extend_from_slice(self.file.as_bytes());
        b.extend_from_slice(b"\xffname\xff");
        b.extend_from_slice(self.name.as_bytes());
        b.push(0xff);
        xxhash_rust::xxh64::xxh64(&b, 0)
    }

    /// The group's evaluation slot at or before `now_ns`: timestamps are
    /// `k * interval + offset` with `offset = hash % interval`. Returns ns.
    pub fn eval_timestamp_ns(&self, now_ns: i128) -> i128 {
        let interval = (self.interval_ms.max(1) as i128) * 1_000_000;
        let offset = (self.hash() as i128) % interval;
        let adj = now_ns - offset;
        let base = adj - adj.rem_euclid(interval);
        base + offset
    }

    /// The key identifying a group across reloads.
    pub fn key(&self) -> (String, String) {
        (self.file.clone(), self.name.clone())
    }

    /// Timings of the last evaluation.
    pub fn status(&self) -> GroupStatus {
        let s = self.state.lock();
        GroupStatus {
            last_evaluation: s.last_evaluation,
            evaluation_time: s.evaluation_time,
            last_eval_timestamp: s.last_eval_timestamp,
        }
    }

    /// Whether `other` has the same definition (a reload keeps this group
    /// running untouched when it does).
    pub fn same_definition(&self, other: &Group) -> bool {
        self.name == other.name
            && self.file == other.file
            && self.interval_ms == other.interval_ms
            && self.query_offset_ms == other.query_offset_ms
            && self.limit == other.limit
            && self.rules.len() == other.rules.len()
            && self
                .rules
                .iter()
                .zip(other.rules.iter())
                .all(|(a, b)| a.same_definition(b))
    }

    /// Evaluates every rule in order at `ts` (ms), as one iteration.
    pub fn eval(&self, ts: i64) {
        let wall = now_ms();
        let started = Instant::now();
        let q_ts = ts - self.query_offset_ms;
        let limit = self.limit;
        for (i, rule) in self.rules.iter().enumerate() {
            let t0 = Instant::now();
            self.opts.metrics.evaluations.with(&[&self.name]).inc();
            let res = match &**rule {
                Rule::Recording(r) => r.eval(&self.env, q_ts, limit),
                Rule::Alerting(a) => a.eval(&self.env, ts, self.query_offset_ms, limit),
            };
            let samples = match res {
                Err(e) => {
                    self.opts.metrics.failures.with(&[&self.name]).inc();
                    tracing::warn!(group = %self.name, rule = %rule.name(), error = %e, "rule evaluation failed");
                    let mut st = rule.status_cell().lock();
                    st.health = Health::Err;
                    st.last_error = e;
                    st.last_evaluation = Some(wall);
                    st.evaluation_time = t0.elapsed();
                    continue;
                }
                Ok(s) => s,
            };
            {
                let mut st = rule.status_cell().lock();
                st.health = Health::Ok;
                st.last_error.clear();
            }
            if let Rule::Alerting(a) = &**rule {
                let alerts = a.alerts_to_send(ts, self.opts.resend_delay_ms, self.interval_ms);
                if !alerts.is_empty() {
                    let expr = a.expr.to_string();
                    let out = to_notify(&alerts, &self.env.external_url, &expr);
                    self.opts.sender.send(out);
                }
            }
            let append_err = self.append_results(i, q_ts, samples);
            let mut st = rule.status_cell().lock();
            if let Some(e) = append_err {
                st.health = Health::Err;
                st.last_error = e;
            }
            st.last_evaluation = Some(wall);
            st.evaluation_time = t0.elapsed();
        }
        let stale: Vec<Labels> = std::mem::take(&mut self.state.lock().stale_series);
        if !stale.is_empty() {
            let mut app = self.env.appendable.appender();
            for l in &stale {
                let _ = app.append(l, q_ts, STALE_NAN);
            }
            if let Err(e) = app.commit() {
                tracing::warn!(group = %self.name, error = %e, "writing stale markers failed");
            }
        }
        let took = started.elapsed();
        let mut st = self.state.lock();
        st.last_evaluation = Some(wall);
        st.evaluation_time = took;
        st.last_eval_timestamp = Some(ts);
        drop(st);
        self.opts
            .metrics
            .observe_group(&self.name, took, ts, self.interval_ms, self.rules.len());
    }

    /// Appends one rule's results and staleness markers for series it no
    /// longer returns; returns the first append error's text.
    fn append_results(&self, i: usize, t: i64, samples: Vec<RuleSample>) -> Option<String> {
        let mut app = self.env.appendable.appender();
        let mut returned = HashSet::with_capacity(samples.len());
        let mut first_err = None;
        for s in samples {
            let r = match &s.value {
                OutValue::Float(v) => app.append(&s.labels, s.t, *v),
                OutValue::Histogram(h) => app.append_histogram(&s.labels, s.t, h),
            };
            match r {
                Ok(()) => {
                    returned.insert(s.labels);
                }
                Err(e) => {
                    tracing::warn!(group = %self.name, series = %s.labels, error = %e, "appending rule result failed");
                    if first_err.is_none() {
                        first_err = Some(e.to_string());
                    }
                }
            }
        }
        let mut st = self.state.lock();
        if let Some(prev) = st.series_in_previous_eval.get(i) {
            for l in prev.difference(&returned) {
                // Out-of-order/duplicate errors are expected here when the
                // series was written by something else meanwhile.
                let _ = app.append(l, t, STALE_NAN);
            }
        }
        if let Some(slot) = st.series_in_previous_eval.get_mut(i) {
            *slot = returned;
        }
        drop(st);
        if let Err(e) = app.commit() {
            tracing::warn!(group = %self.name, error = %e, "committing rule results failed");
            return Some(e.to_string());
        }
        first_err
    }

    /// Writes staleness markers at `t` for everything the group wrote last
    /// (the group was removed by a reload).
    pub fn mark_all_stale(&self, t: i64) {
        let st = self.state.lock();
        let mut app = self.env.appendable.appender();
        for set in &st.series_in_previous_eval {
            for l in set {
                let _ = app.append(l, t, STALE_NAN);
            }
        }
        drop(st);
        let _ = app.commit();
    }

    /// Takes over the state of `old` (same file and name) after a reload:
    /// active alerts and previously written series of rules with the same
    /// name and labels; series of rules that disappeared become stale at the
    /// next evaluation.
    pub fn copy_state_from(&self, old: &Group) {
        let old_state = old.state.lock();
        let mut st = self.state.lock();
        st.last_evaluation = old_state.last_evaluation;
        st.evaluation_time = old_state.evaluation_time;
        st.last_eval_timestamp = old_state.last_eval_timestamp;
        let mut by_identity: std::collections::HashMap<String, Vec<usize>> = Default::default();
        for (fi, r) in old.rules.iter().enumerate() {
            by_identity.entry(r.identity()).or_default().push(fi);
        }
        for (i, r) in self.rules.iter().enumerate() {
            let Some(list) = by_identity.get_mut(&r.identity()) else {
                continue;
            };
            if list.is_empty() {
                continue;
            }
            let fi = list.remove(0);
            if let (Some(dst), Some(src)) = (
                st.series_in_previous_eval.get_mut(i),
                old_state.series_in_previous_eval.get(fi),
            ) {
                *dst = src.clone();
            }
            if let (Rule::Alerting(new), Some(Rule::Alerting(from))) =
                (&**r, old.rules.get(fi).map(|r| &**r))
            {
                let active = from.state.lock().active.clone();
                new.state.lock().active.extend(active);
            }
            if let Some(status) = old.rules.get(fi).map(|r| r.status()) {
                *r.status_cell().lock() = status;
            }
        }
        st.stale_series = old_state.stale_series.clone();
        for (_, idxs) in by_identity {
            for fi in idxs {
                if let Some(set) = old_state.series_in_previous_eval.get(fi) {
                    st.stale_series.extend(set.iter().cloned());
                }
            }
        }
    }

    /// Restores the `for` state of alerting rules from `ALERTS_FOR_STATE`
    /// in storage, as Prometheus does once after the second evaluation of a
    /// group loaded at start-up. `now` is the wall clock in ms.
    pub fn restore_for_state(&self, now: i64) {
        let mint = now - self.opts.outage_tolerance_ms;
        let grace = self.opts.for_grace_period_ms;
        for rule in &self.rules {
            let Rule::Alerting(ar) = &**rule else {
                continue;
            };
            if ar.hold_ms < grace {
                ar.set_restored(true);
                continue;
            }
            let mut st = ar.state.lock();
            for a in st.active.values_mut() {
                let Some((t, v)) = self.last_for_state_sample(a, mint, now) else {
                    continue;
                };
                if is_stale_nan(v) {
                    continue;
                }
                let down_at = t.div_euclid(1000) * 1000;
                let mut restored_active_at = (v as i64) * 1000;
                let spent_pending = down_at - restored_active_at;
                let remaining = ar.hold_ms - spent_pending;
                if remaining <= 0 {
                    // It was firing when it went down: fires again at the next evaluation.
                } else if remaining < grace {
                    restored_active_at = now + grace - ar.hold_ms;
                } else {
                    restored_active_at += now - down_at;
                }
                tracing::debug!(alert = %ar.name, labels = %a.labels, active_at = restored_active_at, "restored for state");
                a.active_at = restored_active_at;
            }
            st.restored = true;
        }
    }

    fn last_for_state_sample(&self, a: &Alert, mint: i64, maxt: i64) -> Option<(i64, f64)> {
        let mut matchers = Vec::with_capacity(a.labels.len() + 1);
        matchers.push(Matcher::new(MatchOp::Equal, METRIC_NAME, "ALERTS_FOR_STATE").ok()?);
        for l in &a.labels {
            matchers.push(Matcher::new(MatchOp::Equal, &l.name, &l.value).ok()?);
        }
        let mut want = a.labels.builder();
        want.set(METRIC_NAME, "ALERTS_FOR_STATE");
        let want = want.into_labels();
        let hints = SelectHints {
            mint,
            maxt,
            ..Default::default()
        };
        let set = match self.env.querier.select(&matchers, &hints) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(group = %self.name, error = %e, "querying ALERTS_FOR_STATE failed");
                return None;
            }
        };
        for s in set.flatten() {
            if s.labels == want {
                return s.floats.last().map(|p| (p.t, p.v));
            }
        }
        None
    }
}

/// Converts alerts to what Alertmanager receives (Prometheus' `SendAlerts`):
/// `startsAt` = fired time, `endsAt` = resolved time or `ValidUntil`,
/// generator URL = external URL + table link of the expression.
pub fn to_notify(alerts: &[Alert], external_url: &str, expr: &str) -> Vec<NotifyAlert> {
    let url = format!(
        "{external_url}/graph?g0.expr={}&g0.tab=1",
        lookout_template::query_escape(expr)
    );
    alerts
        .iter()
        .map(|a| NotifyAlert {
            labels: a.labels.clone(),
            annotations: a.annotations.clone(),
            starts_at: a.fired_at,
            ends_at: if a.resolved_at != 0 {
                a.resolved_at
            } else {
                a.valid_until
            },
            generator_url: url.clone(),
        })
        .collect()
}
