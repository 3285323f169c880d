//! Silences: creation and update rules, states by time, muting, retention
//! and write-through persistence.

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use parking_lot::Mutex;

use crate::labels::LabelSet;
use crate::matchers::{MatchType, Matcher};
use crate::persist::{self, PbMatcher, PbMeshSilence, PbSilence, Timestamp};

/// Silence state at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SilenceState {
    /// Not started yet.
    Pending,
    /// Muting now.
    Active,
    /// Over.
    Expired,
}

impl SilenceState {
    /// API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Pending => "pending",
            SilenceState::Active => "active",
            SilenceState::Expired => "expired",
        }
    }
}

/// One silence.
#[derive(Clone, Debug, PartialEq)]
pub struct Silence {
    /// UUID; empty when creating.
    pub id: String,
    /// All must match for the silence to apply.
    pub matchers: Vec<Matcher>,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Author.
    pub created_by: String,
    /// Comment.
    pub comment: String,
}

impl Silence {
    /// State at `now`.
    pub fn state(&self, now: DateTime<Utc>) -> SilenceState {
        if now < self.starts_at {
            SilenceState::Pending
        } else if now > self.ends_at {
            SilenceState::Expired
        } else {
            SilenceState::Active
        }
    }

    /// Whether the silence's matchers all accept the labels.
    pub fn matches(&self, labels: &LabelSet) -> bool {
        self.matchers.iter().all(|m| m.matches_labels(labels))
    }

    fn to_pb(&self) -> PbSilence {
        PbSilence {
            id: self.id.clone(),
            matchers: self
                .matchers
                .iter()
                .map(|m| PbMatcher {
                    r#type: match m.ty {
                        MatchType::Equal => 0,
                        MatchType::Regexp => 1,
                        MatchType::NotEqual => 2,
                        MatchType::NotRegexp => 3,
                    },
                    name: m.name.clone(),
                    pattern: m.value.clone(),
                })
                .collect(),
            starts_at: Some(Timestamp::from_time(&self.starts_at)),
            ends_at: Some(Timestamp::from_time(&self.ends_at)),
            updated_at: Some(Timestamp::from_time(&self.updated_at)),
            comments: Vec::new(),
            created_by: self.created_by.clone(),
            comment: self.comment.clone(),
        }
    }

    fn from_pb(pb: &PbSilence) -> Result<Self, String> {
        let matchers = pb
            .matchers
            .iter()
            .map(|m| {
                let ty = match m.r#type {
                    0 => MatchType::Equal,
                    1 => MatchType::Regexp,
                    2 => MatchType::NotEqual,
                    3 => MatchType::NotRegexp,
                    t => return Err(format!("unknown matcher type {t}")),
                };
                Matcher::new(ty, m.name.clone(), m.pattern.clone()).map_err(|e| e.0)
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Silences written before `created_by`/`comment` existed keep them
        // in the legacy comments list.
        let (created_by, comment) = match (pb.created_by.is_empty(), pb.comments.first()) {
            (true, Some(c)) => (c.author.clone(), c.comment.clone()),
            _ => (pb.created_by.clone(), pb.comment.clone()),
        };
        Ok(Silence {
            id: pb.id.clone(),
            matchers,
            starts_at: persist::ts(&pb.starts_at),
            ends_at: persist::ts(&pb.ends_at),
            updated_at: persist::ts(&pb.updated_at),
            created_by,
            comment,
        })
    }
}

/// Why a silence operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SilenceError {
    /// Unknown id.
    #[error("silence not found")]
    NotFound,
    /// Invalid content.
    #[error("{0}")]
    Invalid(String),
    /// Snapshot could not be written.
    #[error("persisting silences: {0}")]
    Persist(String),
}

struct Entry {
    silence: Silence,
    expires_at: DateTime<Utc>,
}

/// The silence store.
pub struct Silences {
    entries: Mutex<HashMap<String, Entry>>,
    retention: Duration,
    snapshot: Option<PathBuf>,
    /// Serialises snapshot writes so a slower, older snapshot never lands
    /// after a newer one.
    write_lock: Mutex<()>,
}

/// Validates a silence like Alertmanager before storing it.
pub fn validate(s: &Silence) -> Result<(), String> {
    if s.matchers.is_empty() {
        return Err("at least one matcher required".into());
    }
    let mut all_empty = true;
    for (i, m) in s.matchers.iter().enumerate() {
        if m.name.is_empty() {
            return Err(format!(
                "invalid label matcher {i}: invalid label name \"\""
            ));
        }
        all_empty &= m.matches("");
    }
    if all_empty {
        return Err("at least one matcher must not match the empty string".into());
    }
    if crate::alert::is_zero(&s.starts_at) {
        return Err("invalid zero start timestamp".into());
    }
    if crate::alert::is_zero(&s.ends_at) {
        return Err("invalid zero end timestamp".into());
    }
    if s.ends_at < s.starts_at {
        return Err("end time must not be before start time".into());
    }
    Ok(())
}

impl Silences {
    /// An empty store; with `snapshot`, state is loaded from and written to
    /// that file.
    pub fn open(
        snapshot: Option<PathBuf>,
        retention: Duration,
    ) -> Result<Self, persist::PersistError> {
        let mut entries = HashMap::new();
        if let Some(p) = &snapshot {
            for m in persist::read_snapshot::<PbMeshSilence>(p)? {
                let Some(pb) = m.silence.as_ref() else {
                    continue;
                };
                match Silence::from_pb(pb) {
                    Ok(s) => {
                        entries.insert(
                            s.id.clone(),
                            Entry {
                                expires_at: persist::ts(&m.expires_at),
                                silence: s,
                            },
                        );
                    }
                    Err(e) => {
                        tracing::warn!(id = %pb.id, error = %e, "skipping unreadable silence")
                    }
                }
            }
        }
        Ok(Silences {
            entries: Mutex::new(entries),
            retention,
            snapshot,
            write_lock: Mutex::new(()),
        })
    }

    fn persist(&self) -> Result<(), SilenceError> {
        let Some(p) = &self.snapshot else {
            return Ok(());
        };
        let _w = self.write_lock.lock();
        let msgs: Vec<PbMeshSilence> = self
            .entries
            .lock()
            .values()
            .map(|e| PbMeshSilence {
                silence: Some(e.silence.to_pb()),
                expires_at: Some(Timestamp::from_time(&e.expires_at)),
            })
            .collect();
        persist::write_snapshot(p, &msgs).map_err(|e| SilenceError::Persist(e.to_string()))
    }

    fn store(&self, map: &mut HashMap<String, Entry>, s: Silence) {
        let expires_at = s.ends_at + self.retention;
        map.insert(
            s.id.clone(),
            Entry {
                silence: s,
                expires_at,
            },
        );
    }

    /// Creates or updates a silence and returns its id (possibly new).
    pub fn set(&self, mut s: Silence, now: DateTime<Utc>) -> Result<String, SilenceError> {
        if crate::alert::is_zero(&s.starts_at) {
            s.starts_at = now;
        }
        s.updated_at = now;
        validate(&s).map_err(SilenceError::Invalid)?;
        let id = {
            let mut map = self.entries.lock();
            let prev = if s.id.is_empty() {
                None
            } else {
                Some(
                    map.get(&s.id)
                        .map(|e| e.silence.clone())
                        .ok_or(SilenceError::NotFound)?,
                )
            };
            if let Some(prev) = prev {
                if can_update(&prev, &s, now) {
                    let id = s.id.clone();
                    self.store(&mut map, s);
                    id
                } else {
                    if prev.state(now) != SilenceState::Expired {
                        let mut old = prev.clone();
                        expire_in_place(&mut old, now);
                        self.store(&mut map, old);
                    }
                    self.insert_new(&mut map, s, now)
                }
            } else {
                self.insert_new(&mut map, s, now)
            }
        };
        self.persist()?;
        Ok(id)
    }

    fn insert_new(
        &self,
        map: &mut HashMap<String, Entry>,
        mut s: Silence,
        now: DateTime<Utc>,
    ) -> String {
        s.id = uuid::Uuid::new_v4().to_string();
        if s.starts_at < now {
            s.starts_at = now;
        }
        let id = s.id.clone();
        self.store(map, s);
        id
    }

    /// Expires a silence now. Already-expired silences are left alone.
    pub fn expire(&self, id: &str, now: DateTime<Utc>) -> Result<(), SilenceError> {
        {
            let mut map = self.entries.lock();
            let s = map
                .get(id)
                .map(|e| e.silence.clone())
                .ok_or(SilenceError::NotFound)?;
            if s.state(now) == SilenceState::Expired {
                return Ok(());
            }
            let mut s = s;
            expire_in_place(&mut s, now);
            self.store(&mut map, s);
        }
        self.persist()
    }

    /// One silence.
    pub fn get(&self, id: &str) -> Option<Silence> {
        self.entries.lock().get(id).map(|e| e.silence.clone())
    }

    /// Every silence.
    pub fn list(&self) -> Vec<Silence> {
        self.entries
            .lock()
            .values()
            .map(|e| e.silence.clone())
            .collect()
    }

    /// Ids of active silences muting the labels.
    pub fn mutes(&self, labels: &LabelSet, now: DateTime<Utc>) -> Vec<String> {
        let mut ids: Vec<String> = self
            .entries
            .lock()
            .values()
            .filter(|e| e.silence.state(now) == SilenceState::Active && e.silence.matches(labels))
            .map(|e| e.silence.id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Drops silences past their retention and rewrites the snapshot.
    pub fn maintenance(&self, now: DateTime<Utc>) -> Result<usize, SilenceError> {
        let n = {
            let mut map = self.entries.lock();
            let before = map.len();
            map.retain(|_, e| e.expires_at > now);
            before - map.len()
        };
        self.persist()?;
        Ok(n)
    }

    /// Counts by state.
    pub fn count_by_state(&self, now: DateTime<Utc>) -> [(SilenceState, usize); 3] {
        let mut c = [
            (SilenceState::Active, 0),
            (SilenceState::Pending, 0),
            (SilenceState::Expired, 0),
        ];
        for e in self.entries.lock().values() {
            let st = e.silence.state(now);
            if let Some(slot) = c.iter_mut().find(|(s, _)| *s == st) {
                slot.1 += 1;
            }
        }
        c
    }
}

fn expire_in_place(s: &mut Silence, now: DateTime<Utc>) {
    match s.state(now) {
        SilenceState::Active => s.ends_at = now,
        SilenceState::Pending => {
            s.starts_at = now;
            s.ends_at = now;
        }
        SilenceState::Expired => {}
    }
    s.updated_at = now;
}

fn can_update(prev: &Silence, new: &Silence, now: DateTime<Utc>) -> bool {
    if prev.matchers != new.matchers {
        return false;
    }
    match prev.state(now) {
        SilenceState::Active => {
            prev.starts_at.timestamp() == new.starts_at.timestamp() && new.ends_at >= now
        }
        SilenceState::Pending => new.starts_at >= now,
        SilenceState::Expired => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sil(start: i64, end: i64) -> Silence {
        let now = Utc::now();
        Silence {
            id: String::new(),
            matchers: vec![Matcher::new(MatchType::Equal, "alertname", "A").unwrap()],
            starts_at: now + Duration::seconds(start),
            ends_at: now + Duration::seconds(end),
            updated_at: now,
            created_by: "me".into(),
            comment: "c".into(),
        }
    }

    #[test]
    fn lifecycle() {
        let s = Silences::open(None, Duration::hours(120)).unwrap();
        let now = Utc::now();
        let id = s.set(sil(-1, 100), now).unwrap();
        let labels: LabelSet = [("alertname".to_string(), "A".to_string())].into();
        assert_eq!(s.mutes(&labels, now), vec![id.clone()]);
        // Extending an active silence keeps its id.
        let mut upd = s.get(&id).unwrap();
        upd.ends_at = now + Duration::seconds(200);
        assert_eq!(s.set(upd, now).unwrap(), id);
        // Changing matchers creates a new id and expires the old one.
        let mut changed = s.get(&id).unwrap();
        changed.matchers = vec![Matcher::new(MatchType::Equal, "alertname", "B").unwrap()];
        let later = now + Duration::seconds(1);
        let new_id = s.set(changed, later).unwrap();
        assert_ne!(new_id, id);
        assert_eq!(
            s.get(&id).unwrap().state(later + Duration::seconds(1)),
            SilenceState::Expired
        );
        s.expire(&new_id, later).unwrap();
        assert!(s.mutes(&labels, later + Duration::seconds(1)).is_empty());
        assert_eq!(s.expire("nope", now), Err(SilenceError::NotFound));
    }

    #[test]
    fn rejects_matchers_that_match_everything() {
        let s = Silences::open(None, Duration::hours(1)).unwrap();
        let mut bad = sil(0, 10);
        bad.matchers = vec![Matcher::new(MatchType::Regexp, "a", ".*").unwrap()];
        assert!(matches!(
            s.set(bad, Utc::now()),
            Err(SilenceError::Invalid(_))
        ));
    }

    #[test]
    fn persists_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("silences");
        let id = {
            let s = Silences::open(Some(path.clone()), Duration::hours(1)).unwrap();
            s.set(sil(0, 100), Utc::now()).unwrap()
        };
        let s = Silences::open(Some(path), Duration::hours(1)).unwrap();
        let got = s.get(&id).unwrap();
        assert_eq!(got.created_by, "me");
        assert_eq!(got.matchers[0].value, "A");
    }
}
