//! Background merges and retention.
//!
//! Within a day, young parts are merged size-tiered: starting from the
//! newest part, the window grows backwards while the next older part is no
//! larger than twice the window so far (at most 16 parts), so each sample is
//! rewritten about log2(final/flush size) times at most. A day that ended
//! more than `final_merge_delay` (+ the out-of-order window) ago is merged
//! into one *final* part with the compact codecs (`pco` on decimal
//! mantissas) and blocks of up to `max_block_samples` per series.
//!
//! A merge writes its output (covering the union of the sources' flush
//! sequence ranges) before it swaps the part set and deletes the sources;
//! after a crash, [`crate::layout::discover_parts`] removes sources whose
//! range a merged part covers. Retention drops whole days.

use std::fs;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use lookout_model::FloatHistogram;

use crate::codec::Effort;
use crate::db::{io_err, DbError, Inner, PartSet};
use crate::layout::{self, DAY_MS};
use crate::part::{BlockValues, Granule, Part, PartWriter, KIND_FLOAT};
use crate::registry::SeriesId;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

const MAX_MERGE_PARTS: usize = 16;

/// Longest time between two rounds of dropping idle series from memory.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Walks one part's blocks in (series, kind, time) order.
struct Cursor<'a> {
    part: &'a Part,
    gi: usize,
    granule: Option<Granule>,
    bi: usize,
}

impl<'a> Cursor<'a> {
    fn new(part: &'a Part) -> Result<Self, DbError> {
        let mut c = Cursor {
            part,
            gi: 0,
            granule: None,
            bi: 0,
        };
        c.load()?;
        Ok(c)
    }

    fn load(&mut self) -> Result<(), DbError> {
        self.granule = None;
        self.bi = 0;
        while self.gi < self.part.granules.len() {
            let g = self
                .part
                .read_granule(self.gi)
                .map_err(|e| DbError::Corrupt(e.to_string()))?;
            if !g.blocks.is_empty() {
                self.granule = Some(g);
                return Ok(());
            }
            self.gi += 1;
        }
        Ok(())
    }

    fn peek_sid(&self) -> Option<SeriesId> {
        self.granule.as_ref().map(|g| g.blocks[self.bi].sid)
    }

    /// Appends every sample of `sid` in this part to the accumulators.
    fn take(
        &mut self,
        sid: SeriesId,
        rank: usize,
        floats: &mut Vec<(i64, usize, u64)>,
        hists: &mut Vec<(i64, usize, FloatHistogram)>,
    ) -> Result<(), DbError> {
        let corrupt = |e: crate::codec::CodecError| {
            DbError::Corrupt(format!("{}: {e}", self.part.path().display()))
        };
        while let Some(g) = &self.granule {
            let b = g.blocks[self.bi];
            if b.sid != sid {
                return Ok(());
            }
            let mut ts = Vec::with_capacity(b.count as usize);
            g.timestamps(&b, &mut ts).map_err(corrupt)?;
            match g.values(&b).map_err(corrupt)? {
                BlockValues::Floats(vs) => {
                    floats.extend(ts.iter().zip(vs).map(|(&t, v)| (t, rank, v.to_bits())))
                }
                BlockValues::Histograms(hs) => {
                    hists.extend(ts.iter().zip(hs).map(|(&t, h)| (t, rank, h)))
                }
            }
            self.bi += 1;
            if self.bi >= g.blocks.len() {
                self.gi += 1;
                self.load()?;
            }
        }
        Ok(())
    }
}

/// Series ids with blocks in `p`, ascending.
fn part_series(p: &Part) -> Result<Vec<SeriesId>, DbError> {
    let mut out: Vec<SeriesId> = Vec::new();
    for gi in 0..p.granules.len() {
        let g = p
            .read_granule(gi)
            .map_err(|e| DbError::Corrupt(e.to_string()))?;
        for b in &g.blocks {
            if out.last() != Some(&b.sid) {
                out.push(b.sid);
            }
        }
    }
    Ok(out)
}

impl Inner {
    /// Writes the merge of `sources` (ordered oldest first) as one part of
    /// `day`; returns it opened.
    fn merge_parts(
        &self,
        day: i64,
        sources: &[Arc<Part>],
        compact: bool,
        drop_before: i64,
    ) -> Result<(Part, Vec<SeriesId>), DbError> {
        let lo = sources.iter().map(|p| p.meta.seq_lo).min().unwrap_or(0);
        let hi = sources.iter().map(|p| p.meta.seq_hi).max().unwrap_or(0);
        let level = sources
            .iter()
            .map(|p| p.meta.level)
            .max()
            .unwrap_or(0)
            .saturating_add(1);
        let effort = if compact {
            Effort::Compact(self.opts.final_compression_level)
        } else {
            Effort::Fast
        };
        let path = layout::part_file(&self.dir, day, lo, hi);
        let mut w = PartWriter::create(&path, level, effort, self.opts.max_block_samples)
            .map_err(io_err("creating merged part"))?;
        let mut written: Vec<SeriesId> = Vec::new();
        let res = (|| -> Result<(), DbError> {
            let mut cursors = sources
                .iter()
                .map(|p| Cursor::new(p))
                .collect::<Result<Vec<_>, _>>()?;
            let mut floats = Vec::new();
            let mut hists = Vec::new();
            let mut ts = Vec::new();
            let mut vs = Vec::new();
            while let Some(sid) = cursors.iter().filter_map(Cursor::peek_sid).min() {
                floats.clear();
                hists.clear();
                for (rank, c) in cursors.iter_mut().enumerate() {
                    c.take(sid, rank, &mut floats, &mut hists)?;
                }
                // Earliest-written source wins on equal timestamps.
                floats.sort_by_key(|&(t, r, _)| (t, r));
                floats.dedup_by_key(|s| s.0);
                ts.clear();
                vs.clear();
                for &(t, _, b) in floats.iter().filter(|s| s.0 >= drop_before) {
                    ts.push(t);
                    vs.push(f64::from_bits(b));
                }
                w.add_floats(sid, &ts, &vs)
                    .map_err(io_err("writing merged part"))?;
                let mut any = !ts.is_empty();
                if !hists.is_empty() {
                    hists.sort_by_key(|(t, r, _)| (*t, *r));
                    hists.dedup_by_key(|s| s.0);
                    let kept: Vec<&(i64, usize, FloatHistogram)> =
                        hists.iter().filter(|s| s.0 >= drop_before).collect();
                    let hts: Vec<i64> = kept.iter().map(|s| s.0).collect();
                    let hhs: Vec<&FloatHistogram> = kept.iter().map(|s| &s.2).collect();
                    w.add_histograms(sid, &hts, &hhs)
                        .map_err(io_err("writing merged part"))?;
                    any |= !hts.is_empty();
                }
                if any {
                    written.push(sid);
                }
            }
            Ok(())
        })();
        if let Err(e) = res {
            w.abort();
            return Err(e);
        }
        let _ = KIND_FLOAT;
        w.set_sync(self.durable());
        w.finish(&path, lo, hi)
            .map_err(io_err("finishing merged part"))?;
        if self.durable() {
            layout::sync_dir(&layout::day_dir(&self.dir, day))
                .map_err(io_err("syncing day dir"))?;
        }
        let part = Part::open(&path).map_err(|e| DbError::Corrupt(e.to_string()))?;
        Ok((part, written))
    }

    /// Replaces `sources` by `merged` in the live set, then deletes them.
    fn install_merge(&self, day: i64, sources: &[Arc<Part>], merged: Part) {
        let merged = Arc::new(merged);
        {
            let mut h = self.head.lock();
            let mut set = PartSet {
                days: h.parts.days.clone(),
            };
            let list = set.days.entry(day).or_default();
            list.retain(|p| !sources.iter().any(|s| Arc::ptr_eq(s, p)));
            list.push(Arc::clone(&merged));
            list.sort_by_key(|p| p.meta.seq_lo);
            h.parts = Arc::new(set);
        }
        for s in sources {
            // A single-part rewrite has the same name as its output.
            if s.path() != merged.path() {
                let _ = fs::remove_file(s.path());
                let _ = fs::remove_file(crate::day_index::path_for(s.path()));
                self.day_indexes.forget(s.path());
            }
        }
        self.counters
            .merges
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn retention_cutoff(&self) -> i64 {
        self.opts
            .retention
            .map_or(i64::MIN, |r| now_ms().saturating_sub(r.as_millis() as i64))
    }

    /// One round of merging. With `full`, every day with more than one
    /// part (or a non-final part) is merged into one final part; otherwise
    /// only due work is done. Returns the number of merges.
    pub(crate) fn compact_step(
        &self,
        full: bool,
        progress: &dyn Fn(usize),
    ) -> Result<usize, DbError> {
        let _g = self.compact_lock.lock();
        let parts = Arc::clone(&self.head.lock().parts);
        let now = now_ms();
        let ooo = self.opts.out_of_order_time_window.max(0);
        let delay = self.opts.final_merge_delay.as_millis() as i64;
        let cutoff = self.retention_cutoff();
        let mut merges = 0;
        let mut finalised = 0;
        for (done, (&day, list)) in parts.days.iter().enumerate() {
            let day_end = (day + 1).saturating_mul(DAY_MS);
            let is_final = full || now >= day_end.saturating_add(delay).saturating_add(ooo);
            if is_final {
                if list.len() > 1 || list.first().is_some_and(|p| !p.meta.compact) {
                    let (merged, sids) = self.merge_parts(day, list, true, cutoff)?;
                    self.write_part_index(&merged, &sids, list)?;
                    self.install_merge(day, list, merged);
                    merges += 1;
                    finalised += 1;
                } else if let Some(p) = list.first() {
                    if !crate::day_index::path_for(p.path()).exists() {
                        // Final before indexes existed (or the write failed).
                        let sids = part_series(p)?;
                        self.write_part_index(p, &sids, &[])?;
                        finalised += 1;
                    }
                }
                progress(done + 1);
                continue;
            }
            if list.len() < self.opts.merge_min_parts.max(2) {
                continue;
            }
            // Newest-first window of similar sizes.
            let mut window = 0usize;
            let mut total = 0u64;
            for p in list.iter().rev() {
                if window >= MAX_MERGE_PARTS || (window >= 2 && p.meta.bytes_total > 2 * total) {
                    break;
                }
                total += p.meta.bytes_total;
                window += 1;
            }
            if window >= 2 {
                let sources = &list[list.len() - window..];
                let (merged, _) = self.merge_parts(day, sources, false, cutoff)?;
                self.install_merge(day, sources, merged);
                merges += 1;
            }
        }
        drop(_g);
        // The scan over every series' state is cheap but not free: run it
        // when a day was finalised, on explicit compaction, or every
        // PRUNE_EVERY (series go idle as time passes).
        let prune_due = {
            let mut last = self.last_prune.lock();
            let due = full || finalised > 0 || last.is_none_or(|t| t.elapsed() >= PRUNE_EVERY);
            if due {
                *last = Some(std::time::Instant::now());
            }
            due
        };
        if prune_due {
            self.prune_cold_series()?;
        }
        self.snapshot_series(full)?;
        Ok(merges)
    }

    /// Writes the label index of a final part: labels from the registry, or
    /// for series no longer held there, from the indexes of `sources`.
    fn write_part_index(
        &self,
        part: &Part,
        sids: &[SeriesId],
        sources: &[Arc<Part>],
    ) -> Result<(), DbError> {
        let mut series: Vec<(SeriesId, lookout_model::Labels)> = Vec::with_capacity(sids.len());
        let mut missing: Vec<SeriesId> = Vec::new();
        {
            let reg = self.registry.read();
            for &sid in sids {
                if reg.is_live(sid) {
                    series.push((sid, reg.labels(sid)));
                } else {
                    missing.push(sid);
                }
            }
        }
        if !missing.is_empty() {
            let mut indexes = Vec::new();
            for s in sources {
                if let Some(i) = self
                    .day_indexes
                    .get(s.path())
                    .map_err(io_err("reading part index"))?
                {
                    indexes.push(i);
                }
            }
            for sid in missing {
                match indexes.iter().find_map(|i| i.labels(sid)) {
                    Some(l) => series.push((sid, l)),
                    None => tracing::error!(sid, "series without labels left out of a part index"),
                }
            }
            series.sort_by_key(|(sid, _)| *sid);
        }
        crate::day_index::write(
            &crate::day_index::path_for(part.path()),
            &series,
            self.durable(),
        )
        .map_err(io_err("writing part index"))
    }

    /// Drops days past the time retention and, while over the size limit,
    /// the oldest days (never the newest). Returns days dropped.
    pub(crate) fn apply_retention(&self) -> Result<usize, DbError> {
        let _g = self.compact_lock.lock();
        let parts = Arc::clone(&self.head.lock().parts);
        let cutoff = self.retention_cutoff();
        let mut drop_days: Vec<i64> = parts
            .days
            .keys()
            .copied()
            .filter(|&d| (d + 1).saturating_mul(DAY_MS) <= cutoff)
            .collect();
        if let Some(limit) = self.opts.retention_bytes {
            let wal_bytes: u64 = fs::read_dir(self.dir.join("wal"))
                .map(|rd| {
                    rd.filter_map(|e| e.ok()?.metadata().ok())
                        .map(|m| m.len())
                        .sum()
                })
                .unwrap_or(0);
            let mut total: u64 = wal_bytes
                + parts
                    .days
                    .iter()
                    .filter(|(d, _)| !drop_days.contains(d))
                    .flat_map(|(_, l)| l.iter())
                    .map(|p| p.meta.bytes_total)
                    .sum::<u64>();
            let live: Vec<i64> = parts
                .days
                .keys()
                .copied()
                .filter(|d| !drop_days.contains(d))
                .collect();
            for &d in live.iter().take(live.len().saturating_sub(1)) {
                if total <= limit {
                    break;
                }
                total -= parts.days[&d]
                    .iter()
                    .map(|p| p.meta.bytes_total)
                    .sum::<u64>();
                drop_days.push(d);
            }
        }
        if drop_days.is_empty() {
            return Ok(0);
        }
        {
            let mut h = self.head.lock();
            let mut set = PartSet {
                days: h.parts.days.clone(),
            };
            for d in &drop_days {
                set.days.remove(d);
            }
            h.parts = Arc::new(set);
        }
        for d in &drop_days {
            let dir = layout::day_dir(&self.dir, *d);
            let doomed = dir.with_file_name(format!("{d}.deleting"));
            if fs::rename(&dir, &doomed).is_ok() {
                let _ = fs::remove_dir_all(&doomed);
            }
            tracing::info!(day = d, "retention dropped a day");
        }
        Ok(drop_days.len())
    }
}
