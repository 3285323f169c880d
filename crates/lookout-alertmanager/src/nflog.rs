//! The notification log: for each (group, receiver integration), which
//! alerts were firing and resolved at the last successful notification.
//! Deduplication decides from it whether a flush must notify.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use parking_lot::Mutex;

use crate::persist::{self, PbEntry, PbMeshEntry, PbReceiver, Timestamp};

/// Identifies one integration of one receiver.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReceiverKey {
    /// Receiver name.
    pub group_name: String,
    /// Integration name (`pushover`, `webhook`, ...).
    pub integration: String,
    /// Index among the receiver's integrations of that kind.
    pub idx: u32,
}

impl std::fmt::Display for ReceiverKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.group_name, self.integration, self.idx)
    }
}

/// One log entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Aggregation group key.
    pub group_key: String,
    /// Integration.
    pub receiver: ReceiverKey,
    /// When the notification completed.
    pub timestamp: DateTime<Utc>,
    /// Hashes of the firing alerts notified.
    pub firing: Vec<u64>,
    /// Hashes of the resolved alerts notified.
    pub resolved: Vec<u64>,
    /// When the entry may be dropped.
    pub expires_at: DateTime<Utc>,
}

impl Entry {
    /// Whether every hash in `subset` was firing at the last notification.
    pub fn is_firing_subset(&self, subset: &HashSet<u64>) -> bool {
        let set: HashSet<u64> = self.firing.iter().copied().collect();
        subset.iter().all(|h| set.contains(h))
    }

    /// Whether every hash in `subset` was resolved at the last notification.
    pub fn is_resolved_subset(&self, subset: &HashSet<u64>) -> bool {
        let set: HashSet<u64> = self.resolved.iter().copied().collect();
        subset.iter().all(|h| set.contains(h))
    }
}

fn state_key(group_key: &str, r: &ReceiverKey) -> String {
    format!("{group_key}:{r}")
}

/// The log.
pub struct NotificationLog {
    entries: Mutex<HashMap<String, Entry>>,
    retention: Duration,
    snapshot: Option<PathBuf>,
    write_lock: Mutex<()>,
}

impl NotificationLog {
    /// Opens the log, loading `snapshot` when given.
    pub fn open(
        snapshot: Option<PathBuf>,
        retention: Duration,
    ) -> Result<Self, persist::PersistError> {
        let mut entries = HashMap::new();
        if let Some(p) = &snapshot {
            for m in persist::read_snapshot::<PbMeshEntry>(p)? {
                let Some(e) = m.entry else { continue };
                let r = e.receiver.unwrap_or_default();
                let entry = Entry {
                    group_key: String::from_utf8_lossy(&e.group_key).into_owned(),
                    receiver: ReceiverKey {
                        group_name: r.group_name,
                        integration: r.integration,
                        idx: r.idx,
                    },
                    timestamp: persist::ts(&e.timestamp),
                    firing: e.firing_alerts,
                    resolved: e.resolved_alerts,
                    expires_at: persist::ts(&m.expires_at),
                };
                let k = state_key(&entry.group_key, &entry.receiver);
                // Newer entries win, as when Alertmanager merges state.
                match entries.get(&k) {
                    Some(old) if old_is_newer(old, &entry) => {}
                    _ => {
                        entries.insert(k, entry);
                    }
                }
            }
        }
        Ok(NotificationLog {
            entries: Mutex::new(entries),
            retention,
            snapshot,
            write_lock: Mutex::new(()),
        })
    }

    /// The last entry for the group and integration.
    pub fn query(&self, group_key: &str, r: &ReceiverKey) -> Option<Entry> {
        self.entries.lock().get(&state_key(group_key, r)).cloned()
    }

    /// Records a successful notification and persists the log.
    /// `expiry` is how long the entry stays relevant (2 × repeat interval,
    /// capped by the retention).
    pub fn log(
        &self,
        group_key: &str,
        r: &ReceiverKey,
        firing: Vec<u64>,
        resolved: Vec<u64>,
        expiry: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), persist::PersistError> {
        let ttl = if expiry > Duration::zero() && expiry < self.retention {
            expiry
        } else {
            self.retention
        };
        let e = Entry {
            group_key: group_key.to_string(),
            receiver: r.clone(),
            timestamp: now,
            firing,
            resolved,
            expires_at: now + ttl,
        };
        self.entries.lock().insert(state_key(group_key, r), e);
        self.persist()
    }

    fn persist(&self) -> Result<(), persist::PersistError> {
        let Some(p) = &self.snapshot else {
            return Ok(());
        };
        let _w = self.write_lock.lock();
        let msgs: Vec<PbMeshEntry> = self
            .entries
            .lock()
            .values()
            .map(|e| PbMeshEntry {
                entry: Some(PbEntry {
                    group_key: e.group_key.as_bytes().to_vec(),
                    receiver: Some(PbReceiver {
                        group_name: e.receiver.group_name.clone(),
                        integration: e.receiver.integration.clone(),
                        idx: e.receiver.idx,
                    }),
                    group_hash: Vec::new(),
                    resolved: false,
                    timestamp: Some(Timestamp::from_time(&e.timestamp)),
                    firing_alerts: e.firing.clone(),
                    resolved_alerts: e.resolved.clone(),
                }),
                expires_at: Some(Timestamp::from_time(&e.expires_at)),
            })
            .collect();
        persist::write_snapshot(p, &msgs)
    }

    /// Drops expired entries and rewrites the snapshot.
    pub fn maintenance(&self, now: DateTime<Utc>) -> Result<usize, persist::PersistError> {
        let n = {
            let mut map = self.entries.lock();
            let before = map.len();
            map.retain(|_, e| e.expires_at > now);
            before - map.len()
        };
        self.persist()?;
        Ok(n)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.entries.lock().is_empty()
    }
}

fn old_is_newer(old: &Entry, new: &Entry) -> bool {
    old.timestamp > new.timestamp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_query_persist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nflog");
        let r = ReceiverKey {
            group_name: "wh".into(),
            integration: "webhook".into(),
            idx: 0,
        };
        let now = Utc::now();
        {
            let log = NotificationLog::open(Some(path.clone()), Duration::hours(120)).unwrap();
            log.log(
                "{}:{alertname=\"P\"}",
                &r,
                vec![1, 2],
                vec![],
                Duration::hours(24),
                now,
            )
            .unwrap();
        }
        let log = NotificationLog::open(Some(path), Duration::hours(120)).unwrap();
        let e = log.query("{}:{alertname=\"P\"}", &r).unwrap();
        assert_eq!(e.firing, vec![1, 2]);
        assert!(e.is_firing_subset(&[1].into_iter().collect()));
        assert!(!e.is_firing_subset(&[3].into_iter().collect()));
        assert_eq!(log.maintenance(now + Duration::hours(25)).unwrap(), 1);
    }
}
