//! What happens when an aggregation group flushes: mute (inhibition, time
//! intervals, silences), then per integration: deduplicate against the
//! notification log, send with retries until the flush deadline, and log
//! the success.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use crate::alert::Alert;
use crate::app::Core;
use crate::config::InhibitRule;
use crate::inhibit::inhibited_by;
use crate::labels::{alert_hash, LabelSet};
use crate::nflog::{Entry, ReceiverKey};
use crate::timeinterval::TimeInterval;

use super::{Backoff, FailureReason, Integration, NotifyContext, NotifyError};

/// One integration with its notification-log identity.
pub struct IntegrationEntry {
    /// nflog key.
    pub key: ReceiverKey,
    /// The notifier.
    pub integration: Integration,
}

/// Everything the flush of one group needs.
#[derive(Clone, Debug)]
pub struct FlushContext {
    /// Group key.
    pub group_key: String,
    /// Group labels.
    pub group_labels: LabelSet,
    /// Receiver name.
    pub receiver: String,
    /// Repeat interval of the route.
    pub repeat_interval: Duration,
    /// Route's mute intervals.
    pub mute_time_intervals: Vec<String>,
    /// Route's active intervals.
    pub active_time_intervals: Vec<String>,
    /// When the group timer fired.
    pub tick: DateTime<Utc>,
    /// When the flush must give up.
    pub deadline: Instant,
}

/// The notification pipeline for one config.
pub struct Pipeline {
    /// Integrations per receiver name.
    pub receivers: HashMap<String, Vec<IntegrationEntry>>,
    /// Inhibition rules.
    pub inhibit_rules: Vec<InhibitRule>,
    /// Named time intervals.
    pub time_intervals: BTreeMap<String, TimeInterval>,
    /// External URL for templates.
    pub external_url: String,
    /// Shared state.
    pub core: Arc<Core>,
}

/// The dedup decision: whether a notification is due, given the last log
/// entry and the current firing and resolved alert hashes.
pub fn needs_update(
    entry: Option<&Entry>,
    firing: &HashSet<u64>,
    resolved: &HashSet<u64>,
    send_resolved: bool,
    repeat: Duration,
    now: DateTime<Utc>,
) -> bool {
    let Some(e) = entry else {
        return !firing.is_empty();
    };
    if !e.is_firing_subset(firing) {
        return true;
    }
    if firing.is_empty() {
        // Clear the log's firing set even without send_resolved.
        return !e.firing.is_empty();
    }
    if send_resolved && !e.is_resolved_subset(resolved) {
        return true;
    }
    let repeat = chrono::Duration::from_std(repeat).unwrap_or(chrono::Duration::MAX);
    e.timestamp < now - repeat
}

impl Pipeline {
    /// Whether the group's time intervals mute it at `t`.
    pub fn time_muted(&self, active: &[String], mute: &[String], t: DateTime<Utc>) -> Vec<String> {
        let mut by = Vec::new();
        if !active.is_empty()
            && !active
                .iter()
                .any(|n| self.time_intervals.get(n).is_some_and(|ti| ti.contains(t)))
        {
            by.extend(active.iter().cloned());
        }
        for n in mute {
            if self.time_intervals.get(n).is_some_and(|ti| ti.contains(t)) {
                by.push(n.clone());
            }
        }
        by
    }

    /// Runs the pipeline for one flush; true when nothing failed.
    pub async fn exec(&self, f: &FlushContext, alerts: Vec<Alert>) -> bool {
        let now = Utc::now();
        let store = self.core.store.list();
        let mut remaining: Vec<Alert> = alerts
            .into_iter()
            .filter(|a| inhibited_by(&self.inhibit_rules, &store, &a.labels, now).is_empty())
            .collect();
        if !remaining.is_empty()
            && !self
                .time_muted(&f.active_time_intervals, &f.mute_time_intervals, f.tick)
                .is_empty()
        {
            remaining.clear();
        }
        remaining.retain(|a| self.core.silences.mutes(&a.labels, now).is_empty());

        let integrations = self
            .receivers
            .get(&f.receiver)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let firing: HashSet<u64> = remaining
            .iter()
            .filter(|a| !a.resolved_at(now))
            .map(|a| alert_hash(&a.labels))
            .collect();
        for ie in integrations {
            if let Integration::Pushover(p) = &ie.integration {
                p.cancel_stale_receipts(&f.group_key, &firing, now).await;
            }
        }
        if remaining.is_empty() {
            return true;
        }
        let ctx = NotifyContext {
            group_key: f.group_key.clone(),
            group_labels: f.group_labels.clone(),
            receiver: f.receiver.clone(),
            external_url: self.external_url.clone(),
            now,
        };
        let futs = integrations
            .iter()
            .map(|ie| self.exec_integration(f, &ctx, ie, &remaining));
        let results = futures::future::join_all(futs).await;
        results.into_iter().all(|ok| ok)
    }

    async fn exec_integration(
        &self,
        f: &FlushContext,
        ctx: &NotifyContext,
        ie: &IntegrationEntry,
        alerts: &[Alert],
    ) -> bool {
        let now = Utc::now();
        let mut firing = Vec::new();
        let mut resolved = Vec::new();
        for a in alerts {
            if a.resolved_at(now) {
                resolved.push(alert_hash(&a.labels));
            } else {
                firing.push(alert_hash(&a.labels));
            }
        }
        let fset: HashSet<u64> = firing.iter().copied().collect();
        let rset: HashSet<u64> = resolved.iter().copied().collect();
        let entry = self.core.nflog.query(&f.group_key, &ie.key);
        self.core.metrics.nflog_query(false);
        let send_resolved = ie.integration.send_resolved();
        if !needs_update(
            entry.as_ref(),
            &fset,
            &rset,
            send_resolved,
            f.repeat_interval,
            now,
        ) {
            return true;
        }
        let name = ie.integration.name();
        if send_resolved || !firing.is_empty() {
            let to_send: Vec<Alert> = if send_resolved {
                alerts.to_vec()
            } else {
                alerts
                    .iter()
                    .filter(|a| !a.resolved_at(now))
                    .cloned()
                    .collect()
            };
            self.core.metrics.notification(name);
            if let Err(e) = self.send_with_retries(f, ctx, ie, &to_send).await {
                self.core.metrics.notification_failed(name, e.reason);
                tracing::error!(
                    receiver = %f.receiver, integration = %ie.key, group = %f.group_key,
                    error = %e, "notify for alerts failed"
                );
                return false;
            }
        }
        let expiry =
            chrono::Duration::from_std(f.repeat_interval * 2).unwrap_or(chrono::Duration::MAX);
        if let Err(e) =
            self.core
                .nflog
                .log(&f.group_key, &ie.key, firing, resolved, expiry, Utc::now())
        {
            tracing::error!(error = %e, "writing the notification log failed");
        }
        true
    }

    async fn send_with_retries(
        &self,
        f: &FlushContext,
        ctx: &NotifyContext,
        ie: &IntegrationEntry,
        alerts: &[Alert],
    ) -> Result<(), NotifyError> {
        let name = ie.integration.name();
        let mut backoff = Backoff::default();
        let mut last: Option<NotifyError> = None;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let start = Instant::now();
            let res = tokio::time::timeout_at(f.deadline, ie.integration.notify(ctx, alerts)).await;
            let secs = start.elapsed().as_secs_f64();
            match res {
                Ok(Ok(())) => {
                    self.core.metrics.request(name, secs, false);
                    tracing::debug!(integration = %ie.key, attempts, "notify success");
                    return Ok(());
                }
                Ok(Err(e)) => {
                    self.core.metrics.request(name, secs, true);
                    if !e.retryable {
                        return Err(NotifyError {
                            message: format!(
                                "{}: notify retry canceled due to unrecoverable error after {attempts} attempts: {}",
                                ie.key, e.message
                            ),
                            ..e
                        });
                    }
                    if last.as_ref().map(|l| &l.message) != Some(&e.message) {
                        tracing::warn!(integration = %ie.key, attempts, error = %e, "notify attempt failed, will retry later");
                    }
                    last = Some(e);
                }
                Err(_) => {
                    self.core.metrics.request(name, secs, true);
                    return Err(deadline_error(&ie.key, attempts, last));
                }
            }
            let next = start + backoff.next_delay();
            if next >= f.deadline {
                tokio::time::sleep_until(f.deadline).await;
                return Err(deadline_error(&ie.key, attempts, last));
            }
            tokio::time::sleep_until(next).await;
        }
    }
}

fn deadline_error(key: &ReceiverKey, attempts: u32, last: Option<NotifyError>) -> NotifyError {
    match last {
        Some(e) => NotifyError {
            message: format!(
                "{key}: notify retry canceled after {attempts} attempts: {}",
                e.message
            ),
            ..e
        },
        None => NotifyError {
            retryable: false,
            reason: FailureReason::ContextDeadlineExceeded,
            message: format!(
                "{key}: notify retry canceled after {attempts} attempts: context deadline exceeded"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(firing: &[u64], resolved: &[u64], age_s: i64) -> Entry {
        Entry {
            group_key: "g".into(),
            receiver: ReceiverKey {
                group_name: "r".into(),
                integration: "webhook".into(),
                idx: 0,
            },
            timestamp: Utc::now() - chrono::Duration::seconds(age_s),
            firing: firing.to_vec(),
            resolved: resolved.to_vec(),
            expires_at: Utc::now(),
        }
    }

    fn set(v: &[u64]) -> HashSet<u64> {
        v.iter().copied().collect()
    }

    #[test]
    fn decision_table() {
        let rep = Duration::from_secs(60);
        let now = Utc::now();
        // First notification only with firing alerts.
        assert!(needs_update(None, &set(&[1]), &set(&[]), true, rep, now));
        assert!(!needs_update(None, &set(&[]), &set(&[1]), true, rep, now));
        // New alert added.
        assert!(needs_update(
            Some(&entry(&[1], &[], 0)),
            &set(&[1, 2]),
            &set(&[]),
            true,
            rep,
            now
        ));
        // All resolved, even without send_resolved.
        assert!(needs_update(
            Some(&entry(&[1], &[], 0)),
            &set(&[]),
            &set(&[1]),
            false,
            rep,
            now
        ));
        assert!(!needs_update(
            Some(&entry(&[], &[1], 0)),
            &set(&[]),
            &set(&[1]),
            true,
            rep,
            now
        ));
        // Some resolved: only with send_resolved.
        let e = entry(&[1, 2], &[], 0);
        assert!(needs_update(
            Some(&e),
            &set(&[1]),
            &set(&[2]),
            true,
            rep,
            now
        ));
        assert!(!needs_update(
            Some(&e),
            &set(&[1]),
            &set(&[2]),
            false,
            rep,
            now
        ));
        // Alerts that disappear do not notify by themselves.
        assert!(!needs_update(
            Some(&e),
            &set(&[1]),
            &set(&[]),
            true,
            rep,
            now
        ));
        // Repeat interval.
        assert!(needs_update(
            Some(&entry(&[1], &[], 61)),
            &set(&[1]),
            &set(&[]),
            true,
            rep,
            now
        ));
        assert!(!needs_update(
            Some(&entry(&[1], &[], 30)),
            &set(&[1]),
            &set(&[]),
            true,
            rep,
            now
        ));
    }
}
