//! Alerts as Alertmanager keeps them, the merge rule for re-posted alerts,
//! and the in-memory alert store.

use std::cmp::Ordering;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use crate::labels::{fingerprint, Fingerprint, LabelSet};

/// Go's zero `time.Time` (0001-01-01T00:00:00Z), which Alertmanager uses for
/// "unset" timestamps and shows to templates for firing alerts' `EndsAt`.
pub fn zero_time() -> DateTime<Utc> {
    go_zero()
}

fn go_zero() -> DateTime<Utc> {
    use chrono::TimeZone;
    Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Whether `t` is Go's zero time (or earlier, which no valid input produces).
pub fn is_zero(t: &DateTime<Utc>) -> bool {
    *t <= go_zero()
}

/// One alert.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// Identifying labels.
    pub labels: LabelSet,
    /// Annotations.
    pub annotations: LabelSet,
    /// When the alert started.
    pub starts_at: DateTime<Utc>,
    /// When it ends (or ended); zero when unset.
    pub ends_at: DateTime<Utc>,
    /// Link back to the source.
    pub generator_url: String,
    /// Last time it was posted.
    pub updated_at: DateTime<Utc>,
    /// `ends_at` was derived from `resolve_timeout`.
    pub timeout: bool,
}

impl Alert {
    /// The label fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        fingerprint(&self.labels)
    }

    /// Resolved at `t`: `ends_at` is set and not after `t`.
    pub fn resolved_at(&self, t: DateTime<Utc>) -> bool {
        !is_zero(&self.ends_at) && self.ends_at <= t
    }

    /// Resolved now.
    pub fn resolved(&self) -> bool {
        self.resolved_at(Utc::now())
    }

    /// `"firing"` or `"resolved"` at `t`.
    pub fn status_at(&self, t: DateTime<Utc>) -> &'static str {
        if self.resolved_at(t) {
            "resolved"
        } else {
            "firing"
        }
    }

    /// Merges a re-posted version of the same alert: the more recently
    /// updated one is the base, the earliest start wins, and the end time
    /// follows Alertmanager's rules for explicit vs timeout-derived ends.
    pub fn merge(&self, other: &Alert) -> Alert {
        if other.updated_at < self.updated_at {
            return other.merge(self);
        }
        // `other` is the younger one.
        let now = Utc::now();
        let mut res = other.clone();
        if self.starts_at < other.starts_at {
            res.starts_at = self.starts_at;
        }
        if other.resolved_at(now) {
            if self.resolved_at(now) && self.ends_at > other.ends_at {
                res.ends_at = self.ends_at;
            }
        } else if self.ends_at > other.ends_at && !self.timeout {
            res.ends_at = self.ends_at;
        }
        res
    }
}

/// Alertmanager's notification order: alerts with a `job` label first,
/// ordered by it, then likewise `instance`, then by label set (fewer labels
/// first, then by value over the sorted union of names).
pub fn notification_order(a: &Alert, b: &Alert) -> Ordering {
    for key in ["job", "instance"] {
        match (a.labels.get(key), b.labels.get(key)) {
            (None, None) => continue,
            (None, Some(_)) => return Ordering::Greater,
            (Some(_), None) => return Ordering::Less,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    if labelset_before(&a.labels, &b.labels) {
        Ordering::Less
    } else if labelset_before(&b.labels, &a.labels) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

fn labelset_before(a: &LabelSet, b: &LabelSet) -> bool {
    if a.len() != b.len() {
        return a.len() < b.len();
    }
    let mut names: Vec<&String> = a.keys().chain(b.keys()).collect();
    names.sort();
    for n in names {
        let Some(x) = a.get(n) else { return true };
        let Some(y) = b.get(n) else { return false };
        match x.cmp(y) {
            Ordering::Less => return true,
            Ordering::Greater => return false,
            Ordering::Equal => {}
        }
    }
    false
}

/// The alert store: one alert per fingerprint, merged on re-post.
#[derive(Default)]
pub struct AlertStore {
    alerts: Mutex<HashMap<Fingerprint, Alert>>,
}

impl AlertStore {
    /// Stores an alert, merging with an existing one whose activity window
    /// overlaps, and returns what was stored.
    pub fn put(&self, alert: Alert) -> Alert {
        let fp = alert.fingerprint();
        let mut map = self.alerts.lock();
        let stored = match map.get(&fp) {
            Some(old)
                if (alert.ends_at > old.starts_at && alert.ends_at < old.ends_at)
                    || (alert.starts_at > old.starts_at && alert.starts_at < old.ends_at) =>
            {
                old.merge(&alert)
            }
            _ => alert,
        };
        map.insert(fp, stored.clone());
        stored
    }

    /// One alert.
    pub fn get(&self, fp: Fingerprint) -> Option<Alert> {
        self.alerts.lock().get(&fp).cloned()
    }

    /// Every stored alert (including resolved ones not yet collected).
    pub fn list(&self) -> Vec<Alert> {
        self.alerts.lock().values().cloned().collect()
    }

    /// Number of stored alerts.
    pub fn len(&self) -> usize {
        self.alerts.lock().len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.alerts.lock().is_empty()
    }

    /// Drops alerts resolved at `now`; returns how many.
    pub fn gc(&self, now: DateTime<Utc>) -> usize {
        let mut map = self.alerts.lock();
        let before = map.len();
        map.retain(|_, a| !a.resolved_at(now));
        before - map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn alert(name: &str, start: i64, end: Option<i64>, updated: i64) -> Alert {
        let base = Utc::now();
        Alert {
            labels: [("alertname".to_string(), name.to_string())].into(),
            annotations: LabelSet::new(),
            starts_at: base + Duration::seconds(start),
            ends_at: end
                .map(|e| base + Duration::seconds(e))
                .unwrap_or_else(zero_time),
            generator_url: String::new(),
            updated_at: base + Duration::seconds(updated),
            timeout: false,
        }
    }

    #[test]
    fn zero_time_is_go_zero() {
        assert_eq!(zero_time().to_rfc3339(), "0001-01-01T00:00:00+00:00");
        assert!(is_zero(&zero_time()));
    }

    #[test]
    fn merge_keeps_earliest_start_and_newest_annotations() {
        let mut a = alert("A", -10, Some(100), 0);
        a.annotations.insert("v".into(), "1".into());
        let mut b = alert("A", -5, Some(100), 1);
        b.annotations.insert("v".into(), "2".into());
        let m = a.merge(&b);
        assert_eq!(m.starts_at, a.starts_at);
        assert_eq!(m.annotations["v"], "2");
    }

    #[test]
    fn store_replaces_non_overlapping() {
        let store = AlertStore::default();
        store.put(alert("A", -100, Some(-50), 0));
        let newer = alert("A", -10, Some(100), 1);
        let got = store.put(newer.clone());
        assert_eq!(got.starts_at, newer.starts_at);
    }

    #[test]
    fn ordering_prefers_job_then_labels() {
        let mut a = alert("A", 0, None, 0);
        a.labels.insert("job".into(), "b".into());
        let mut b = alert("B", 0, None, 0);
        b.labels.insert("job".into(), "a".into());
        let c = alert("C", 0, None, 0);
        let mut v = [a.clone(), c.clone(), b.clone()];
        v.sort_by(notification_order);
        assert_eq!(v[0].labels["job"], "a");
        assert_eq!(v[2].labels["alertname"], "C");
    }
}
