//! Dropping silent series from memory.
//!
//! The registry (labels, symbols, postings) and the head state cover the
//! series that have been written recently. Once every day holding a
//! series' data has its final part and that part's label index
//! ([`crate::day_index`]), and the series has written nothing for
//! [`crate::Options::drop_idle_series_after`] (plus the out-of-order
//! window) behind the newest sample, its
//! labels and postings are dropped from memory: the registry is rebuilt
//! without them (their ids stay taken, as dead ids) and `series.snap` is
//! rewritten. Queries over those days find them through the part indexes;
//! a dropped label set that is written again gets a new id, and reads merge
//! the two by label set.
//!
//! Callers may hold a [`crate::SeriesRef`] across that (the server's
//! ingest caches them): a batch naming a dead id is forwarded to the live
//! id of the same label set (labels found in the part indexes, the new id
//! remembered), so refs stay valid for the life of the store.
//!
//! What a dead id still costs: 4 bytes in the registry's id table and the
//! 17 bytes of head state (ids are dense and never reused).

use std::borrow::Cow;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use lookout_model::storage::{AppendError, StorageError};
use lookout_model::Labels;

use crate::db::BatchItem;
use crate::db::{io_err, DbError, Inner};
use crate::head::FLAG_DEAD;
use crate::layout::DAY_MS;
use crate::registry::SeriesId;

impl Inner {
    /// Replaces dead series ids in `items` by the live id of the same label
    /// set (registering it again if needed). Runs before the commit takes
    /// the head lock (lock order: registry, then head).
    pub(crate) fn forward_dead_refs<'a, 'h>(
        &self,
        items: &'a [BatchItem<'h>],
    ) -> Result<Cow<'a, [BatchItem<'h>]>, StorageError> {
        if self.cold_through.load(Ordering::Acquire) == i64::MIN {
            return Ok(Cow::Borrowed(items));
        }
        let dead: Vec<usize> = {
            let reg = self.registry.read();
            items
                .iter()
                .enumerate()
                .filter(|(_, it)| (it.sid as usize) < reg.len() && !reg.is_live(it.sid))
                .map(|(i, _)| i)
                .collect()
        };
        if dead.is_empty() {
            return Ok(Cow::Borrowed(items));
        }
        let mut out = items.to_vec();
        for i in dead {
            let old = out[i].sid;
            let known = self.forwarded.lock().get(&old).copied();
            let new = match known {
                Some(n) => n,
                None => {
                    let Some(labels) = self.dead_series_labels(old)? else {
                        // Unknown everywhere: the commit refuses it.
                        continue;
                    };
                    let n = self.series_id(&labels).map_err(|e| match e {
                        AppendError::Storage(s) => StorageError::Corrupt(s),
                        other => StorageError::Corrupt(other.to_string()),
                    })?;
                    self.forwarded.lock().insert(old, n);
                    n
                }
            };
            out[i].sid = new;
        }
        Ok(Cow::Owned(out))
    }

    /// The labels of a dropped series, from the newest part index holding it.
    fn dead_series_labels(&self, sid: SeriesId) -> Result<Option<Labels>, StorageError> {
        let parts = Arc::clone(&self.head.lock().parts);
        for p in parts.days.values().rev().flatten() {
            if let Some(idx) = self.day_indexes.get(p.path()).map_err(StorageError::Io)? {
                if let Some(l) = idx.labels(sid) {
                    return Ok(Some(l));
                }
            }
        }
        Ok(None)
    }

    /// The last day up to which every day with data has an indexed final
    /// part (`None` when the oldest day has none).
    pub(crate) fn indexed_through(&self) -> Option<i64> {
        let parts = Arc::clone(&self.head.lock().parts);
        let mut through = None;
        for (&day, list) in &parts.days {
            let indexed = list.len() == 1
                && list[0].meta.compact
                && crate::day_index::path_for(list[0].path()).exists();
            if !indexed {
                break;
            }
            through = Some(day);
        }
        through
    }

    /// Drops from memory the series whose data all lies in indexed days and
    /// that wrote nothing since. Returns how many were dropped.
    pub(crate) fn prune_cold_series(&self) -> Result<usize, DbError> {
        let Some(through) = self.indexed_through() else {
            return Ok(0);
        };
        let indexed_end = through.saturating_add(1).saturating_mul(DAY_MS);
        // Series registered before the previous round that never got a
        // sample are dropped too; newer ones may be about to get one.
        let watermark = self.prune_watermark.load(Ordering::Relaxed);
        let candidates: Vec<(SeriesId, i64)> = {
            let h = self.head.lock();
            let buffered_min = h
                .frozen
                .iter()
                .map(|f| f.buf.min_t)
                .chain([h.active.min_t])
                .min()
                .unwrap_or(i64::MAX);
            if buffered_min < indexed_end {
                // Late samples for indexed days are not in parts yet.
                return Ok(0);
            }
            let st = &h.state;
            let idle = i64::try_from(self.opts.drop_idle_series_after.as_millis())
                .unwrap_or(i64::MAX)
                .saturating_add(self.opts.out_of_order_time_window.max(0));
            let cutoff = indexed_end.min(st.max_t.saturating_sub(idle));
            let mut v: Vec<(SeriesId, i64)> = (0..st.last_t.len())
                .filter(|&i| st.flags[i] & FLAG_DEAD == 0)
                .filter(|&i| {
                    let t = st.last_t[i];
                    if t == i64::MIN {
                        (i as SeriesId) < watermark
                    } else {
                        t < cutoff
                    }
                })
                .map(|i| (i as SeriesId, st.last_t[i]))
                .collect();
            // Registered but never appended to (no head state yet).
            v.extend((st.last_t.len() as SeriesId..watermark).map(|sid| (sid, i64::MIN)));
            v
        };
        let registered = self.series_count.load(Ordering::Acquire);
        if candidates.is_empty() {
            self.prune_watermark.store(registered, Ordering::Relaxed);
            return Ok(0);
        }
        let mut doomed = vec![false; registered as usize];
        for &(sid, _) in &candidates {
            if let Some(d) = doomed.get_mut(sid as usize) {
                *d = true;
            }
        }
        let rebuilt = self
            .registry
            .read()
            .rebuild(|id| !doomed.get(id as usize).copied().unwrap_or(false))
            .map_err(|e| DbError::Corrupt(e.to_string()))?;
        // Lock order: registry, then head (commits take the head only).
        let mut reg = self.registry.write();
        let mut rebuilt = rebuilt;
        // Series registered while rebuilding.
        for id in rebuilt.len()..reg.len() {
            let id = id as SeriesId;
            if reg.is_live(id) {
                rebuilt
                    .insert(&reg.labels(id))
                    .map_err(|e| DbError::Corrupt(e.to_string()))?;
            } else {
                rebuilt
                    .insert_dead()
                    .map_err(|e| DbError::Corrupt(e.to_string()))?;
            }
        }
        let mut h = self.head.lock();
        if candidates.iter().any(|&(sid, t)| {
            h.state
                .last_t
                .get(sid as usize)
                .copied()
                .unwrap_or(i64::MIN)
                != t
        }) {
            // Written meanwhile: try again next round.
            return Ok(0);
        }
        for &(sid, _) in &candidates {
            h.state.ensure(sid);
            let i = sid as usize;
            h.state.flags[i] = FLAG_DEAD;
            h.state.last_bits[i] = 0;
            h.state.last_hist.remove(&sid);
        }
        *reg = rebuilt;
        drop(h);
        drop(reg);
        self.cold_through.fetch_max(through, Ordering::AcqRel);
        self.prune_watermark.store(registered, Ordering::Relaxed);
        self.write_series_snapshot()
            .map_err(io_err("writing series.snap after pruning"))?;
        tracing::info!(
            dropped = candidates.len(),
            through_day = through,
            "dropped silent series from memory"
        );
        Ok(candidates.len())
    }
}
