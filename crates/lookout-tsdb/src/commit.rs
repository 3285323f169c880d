//! The commit path: order and duplicate checks against each series' newest
//! sample, the counter-reset hints stored with histograms, one WAL record
//! per batch, then rows in the active head buffer.
//!
//! Histograms are stored with the hint a Prometheus read would report
//! ([`lookout_model::histogram::stored_counter_reset_hint`]): that needs the
//! series' previous histogram, which the head keeps for series whose newest
//! sample is a histogram (and looks up in parts once after a restart).

use std::sync::atomic::Ordering;

use hashbrown::HashSet;
use std::time::Instant;

use lookout_model::histogram::stored_counter_reset_hint;
use lookout_model::storage::{AppendError, StorageError};
use lookout_model::{CounterResetHint, FloatHistogram};

use crate::db::{BatchItem, CommitReport, Head, Inner, MAX_FROZEN};
use crate::head::{histogram_bits, Verdict, FLAG_BITS_UNKNOWN, FLAG_DEAD, FLAG_LAST_HIST};
use crate::options::FsyncPolicy;
use crate::query::StoredValue;
use crate::registry::SeriesId;
use crate::wal::{self, WalFloat};

/// Series state before a commit changed it, restored if the WAL write fails.
struct Undo {
    sid: SeriesId,
    last_t: i64,
    last_bits: u64,
    flags: u8,
    /// The previous histogram entry, when the commit replaced or removed it.
    last_hist: Option<Option<FloatHistogram>>,
}

impl Inner {
    /// Checks and commits one batch (see [`crate::Db::append_batch`]).
    /// Items are checked in slice order, which must be each series' queue
    /// order: a series mixing floats and histograms is only in order as a
    /// whole.
    pub(crate) fn commit(&self, items: &[BatchItem<'_>]) -> Result<CommitReport, StorageError> {
        let items = self.forward_dead_refs(items)?;
        let items = &*items;
        let window = self.opts.out_of_order_time_window;
        let mut report = CommitReport::default();
        let mut accepted: Vec<WalFloat> = Vec::with_capacity(items.len());
        let mut accepted_h: Vec<(SeriesId, i64, FloatHistogram)> = Vec::new();
        let mut h = self.head.lock();
        if self.series_pending.load(Ordering::Acquire) {
            // Series records must reach the file before WAL records naming
            // them; written under the head lock so no commit overtakes.
            self.write_series_pending().map_err(StorageError::Io)?;
        }
        let old_max = h.state.max_t;
        let mut undo: Vec<Undo> = Vec::new();
        let mut out_of_order: Vec<BatchItem<'_>> = Vec::new();
        for item in items {
            let &BatchItem {
                sid,
                t,
                bits,
                hist,
                index: i,
            } = item;
            if !self.registry_contains(sid) {
                report.rejected.push((
                    i,
                    AppendError::InvalidLabels(format!("unknown series ref {sid}")),
                ));
                continue;
            }
            h.state.ensure(sid);
            let idx = sid as usize;
            if h.state.flags[idx] & FLAG_DEAD != 0 {
                // Dropped from memory: a new write of the label set gets a
                // new id through `series_ref` / the appender.
                report.rejected.push((
                    i,
                    AppendError::InvalidLabels(format!("series ref {sid} was dropped")),
                ));
                continue;
            }
            let is_hist = hist.is_some();
            // After a restart only the newest timestamp is known; the value
            // is needed for a same-timestamp check and, for histograms, for
            // the stored counter-reset hint.
            let mut floor_only = false;
            if h.state.flags[idx] & FLAG_BITS_UNKNOWN != 0 && (is_hist || t == h.state.last_t[idx])
            {
                floor_only = !resolve_newest(&self.read_cache, &mut h, sid);
            }
            let verdict = if floor_only && t == h.state.last_t[idx] {
                // Nothing stored at t: the restored timestamp was a floor.
                Ok(Verdict::Append)
            } else {
                h.state.check(sid, t, bits, is_hist, window)
            };
            match verdict {
                Ok(Verdict::Append) => {
                    let mut u = Undo {
                        sid,
                        last_t: h.state.last_t[idx],
                        last_bits: h.state.last_bits[idx],
                        flags: h.state.flags[idx],
                        last_hist: None,
                    };
                    match hist {
                        None => {
                            if h.state.flags[idx] & FLAG_LAST_HIST != 0 {
                                u.last_hist = Some(h.state.last_hist.remove(&sid));
                            }
                            h.state.advance(sid, t, bits, false);
                            accepted.push(WalFloat { sid, t, bits });
                        }
                        Some(hh) => {
                            let prev = if h.state.flags[idx] & FLAG_LAST_HIST != 0 {
                                h.state.last_hist.get(&sid)
                            } else {
                                None
                            };
                            let mut stored = hh.clone();
                            stored.counter_reset_hint = stored_counter_reset_hint(prev, hh);
                            h.state.advance(sid, t, bits, true);
                            u.last_hist = Some(h.state.last_hist.insert(sid, stored.clone()));
                            accepted_h.push((sid, t, stored));
                        }
                    }
                    undo.push(u);
                }
                // Decided below, once for the whole batch: it may repeat a
                // stored sample.
                Ok(Verdict::OutOfOrder) => out_of_order.push(*item),
                Ok(Verdict::Duplicate) => report.duplicates += 1,
                Ok(Verdict::NeedsLookup) => report.rejected.push((i, AppendError::Duplicate)),
                Err(e) => report.rejected.push((i, e)),
            }
        }
        if !out_of_order.is_empty() {
            self.place_out_of_order(
                &h,
                &out_of_order,
                &mut accepted,
                &mut accepted_h,
                &mut report,
            )?;
        }
        report.appended = accepted.len() + accepted_h.len();
        self.counters
            .rejected
            .fetch_add(report.rejected.len() as u64, Ordering::Relaxed);
        if report.appended == 0 {
            return Ok(report);
        }
        let head = &mut *h;
        head.scratch.clear();
        {
            let refs: Vec<(SeriesId, i64, &FloatHistogram)> =
                accepted_h.iter().map(|(s, t, hh)| (*s, *t, hh)).collect();
            wal::encode_batch(&mut head.scratch, &accepted, &refs);
        }
        head.frame.clear();
        wal::put_frame(&mut head.frame, &head.scratch);
        let write = head.wal.write_frames(&head.frame).and_then(|()| {
            if self.opts.fsync == FsyncPolicy::Always {
                head.wal.sync()
            } else {
                Ok(())
            }
        });
        if let Err(e) = write {
            for u in undo.into_iter().rev() {
                let i = u.sid as usize;
                head.state.last_t[i] = u.last_t;
                head.state.last_bits[i] = u.last_bits;
                head.state.flags[i] = u.flags;
                match u.last_hist {
                    Some(Some(prev)) => {
                        head.state.last_hist.insert(u.sid, prev);
                    }
                    Some(None) => {
                        head.state.last_hist.remove(&u.sid);
                    }
                    None => {}
                }
            }
            head.state.max_t = old_max;
            return Err(StorageError::Io(e));
        }
        if self.opts.fsync != FsyncPolicy::Never {
            self.wal_dirty.store(true, Ordering::Relaxed);
        }
        let before = head.active.len();
        let max = self.opts.head_max_rows;
        if before == 0 {
            head.active_since = Instant::now();
        }
        head.active.reserve_capped(report.appended, max);
        for f in &accepted {
            head.active.push_float(f.sid, f.t, f.bits);
        }
        for (sid, t, hh) in accepted_h {
            head.active.push_hist(sid, t, hh);
        }
        let after = head.active.len();
        let mut backlog = head.frozen.len();
        if after >= max {
            // Freeze here so the active buffer never outgrows its cap.
            match self.freeze_locked(head) {
                Ok(()) => backlog += 1,
                Err(e) => tracing::error!(error = %e, "freezing the head failed"),
            }
        }
        drop(h);
        self.counters
            .appended
            .fetch_add(report.appended as u64, Ordering::Relaxed);
        self.counters
            .out_of_order
            .fetch_add(report.out_of_order as u64, Ordering::Relaxed);
        if before < max && after >= max {
            self.signal.wake();
        }
        if backlog > MAX_FROZEN || (after >= max && !self.opts.background) {
            // The flusher is behind (or absent): flush on the caller's time,
            // which throttles ingestion instead of growing memory.
            self.flush().map_err(StorageError::from)?;
        }
        Ok(report)
    }
}

impl Inner {
    /// Accepts out-of-order samples unless a sample is already stored (or
    /// accepted earlier in this batch) at their timestamp: the same value is
    /// a silent no-op, another value is refused as a duplicate (Prometheus'
    /// rules for its out-of-order head). Scans the head buffers once and
    /// reads the parts' granules of the affected series.
    fn place_out_of_order(
        &self,
        h: &Head,
        items: &[BatchItem<'_>],
        accepted: &mut Vec<WalFloat>,
        accepted_h: &mut Vec<(SeriesId, i64, FloatHistogram)>,
        report: &mut CommitReport,
    ) -> Result<(), StorageError> {
        let wanted: HashSet<(SeriesId, i64)> = items.iter().map(|i| (i.sid, i.t)).collect();
        // (series, t) → (value bits or histogram hash, is histogram); the
        // earliest write wins: parts, then frozen buffers, then the active
        // one, then this batch.
        let mut sids: Vec<SeriesId> = items.iter().map(|i| i.sid).collect();
        sids.sort_unstable();
        sids.dedup();
        let mint = items.iter().map(|i| i.t).min().unwrap_or(0);
        let maxt = items.iter().map(|i| i.t).max().unwrap_or(0);
        let mut present = crate::query::stored_in_parts(
            &self.read_cache,
            h,
            &crate::query::SidSet::new(sids),
            mint,
            maxt,
        )?;
        present.retain(|k, _| wanted.contains(k));
        let buffers = h.frozen.iter().map(|f| &f.buf).chain([&h.active]);
        for buf in buffers {
            if buf.max_t < mint || buf.min_t > maxt {
                continue;
            }
            for r in &buf.rows {
                if !wanted.contains(&(r.sid, r.t)) {
                    continue;
                }
                present.entry((r.sid, r.t)).or_insert_with(|| {
                    if r.kind == 0 {
                        (r.bits, false)
                    } else {
                        let hb = buf.hists.get(r.bits as usize).map_or(0, histogram_bits);
                        (hb, true)
                    }
                });
            }
        }
        for f in accepted.iter() {
            if wanted.contains(&(f.sid, f.t)) {
                present.entry((f.sid, f.t)).or_insert((f.bits, false));
            }
        }
        for (sid, t, hh) in accepted_h.iter() {
            if wanted.contains(&(*sid, *t)) {
                present
                    .entry((*sid, *t))
                    .or_insert_with(|| (histogram_bits(hh), true));
            }
        }
        for item in items {
            let is_hist = item.hist.is_some();
            match present.get(&(item.sid, item.t)) {
                Some(&(bits, was_hist)) if bits == item.bits && was_hist == is_hist => {
                    report.duplicates += 1;
                }
                Some(_) => report.rejected.push((item.index, AppendError::Duplicate)),
                None => {
                    present.insert((item.sid, item.t), (item.bits, is_hist));
                    report.out_of_order += 1;
                    match item.hist {
                        None => accepted.push(WalFloat {
                            sid: item.sid,
                            t: item.t,
                            bits: item.bits,
                        }),
                        Some(hh) => {
                            // Inserted between stored samples: its neighbours
                            // are not at hand, so readers must detect resets.
                            let mut stored = hh.clone();
                            if stored.counter_reset_hint != CounterResetHint::Gauge {
                                stored.counter_reset_hint = CounterResetHint::Unknown;
                            }
                            accepted_h.push((item.sid, item.t, stored));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Replaces a restored newest timestamp's unknown value with the stored
/// sample; false when nothing is stored there (the timestamp was a floor).
fn resolve_newest(cache: &crate::cache::ReadCache, h: &mut Head, sid: SeriesId) -> bool {
    let idx = sid as usize;
    let t = h.state.last_t[idx];
    h.state.flags[idx] &= !(FLAG_BITS_UNKNOWN | FLAG_LAST_HIST);
    match crate::query::stored_sample_at(cache, h, sid, t) {
        Some(StoredValue::Float(b)) => {
            h.state.last_bits[idx] = b;
            true
        }
        Some(StoredValue::Histogram(hh)) => {
            h.state.last_bits[idx] = histogram_bits(&hh);
            h.state.flags[idx] |= FLAG_LAST_HIST;
            h.state.last_hist.insert(sid, hh);
            true
        }
        None => false,
    }
}
