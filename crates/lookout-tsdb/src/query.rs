//! The read path: `Querier` for [`Db`].
//!
//! A query resolves matchers to series ids through the in-memory postings,
//! takes a consistent snapshot (part set, frozen buffers, matching rows of
//! the active buffer) under the head lock, then reads only the granules of
//! parts whose series and time ranges can hold the selected series. Samples
//! from all sources are merged per series by timestamp; where two sources
//! hold the same timestamp (out-of-order re-sends) the earliest written
//! wins, the same rule merges apply.

use std::collections::BTreeSet;
use std::sync::Arc;

use hashbrown::HashMap;
use lookout_model::storage::StorageError;
use lookout_model::storage::{Querier, SelectHints, SeriesData, SeriesSet};
use lookout_model::{FloatHistogram, FloatSample, HistogramSample, Labels, Matcher};

use crate::cache::ReadCache;
use crate::db::{Db, Head, Inner, PartSet};
use crate::head::{Frozen, Row};
use crate::layout::day_of;
use crate::part::{BlockValues, Part};
use crate::registry::{Registry, SeriesId};

/// A set of series ids: sorted list plus a bitmap for large sets.
pub(crate) struct SidSet {
    pub(crate) sorted: Vec<SeriesId>,
    bits: Option<Vec<u64>>,
}

impl SidSet {
    pub(crate) fn new(sorted: Vec<SeriesId>) -> Self {
        let bits = (sorted.len() > 64).then(|| {
            let max = sorted.last().copied().unwrap_or(0) as usize;
            let mut b = vec![0u64; max / 64 + 1];
            for &s in &sorted {
                b[s as usize / 64] |= 1 << (s % 64);
            }
            b
        });
        SidSet { sorted, bits }
    }

    #[inline]
    pub(crate) fn contains(&self, sid: SeriesId) -> bool {
        match &self.bits {
            Some(b) => b
                .get(sid as usize / 64)
                .is_some_and(|w| w & (1 << (sid % 64)) != 0),
            None => self.sorted.binary_search(&sid).is_ok(),
        }
    }
}

/// How much of each series a gather needs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// Timestamps and values.
    Samples,
    /// Whether a sample exists in range.
    Exists,
    /// Whether a block overlaps the range (no decoding).
    Overlaps,
}

/// Samples of one series from all sources, with source ranks.
///
/// Floats are kept as final `FloatSample`s in arrival order. Sources are
/// visited oldest first and, for in-order ingestion, each adds only newer
/// timestamps, so the common case needs no sort, no dedup and no copy at
/// the end; `runs` remembers which source (rank) every stretch came from
/// for the rare case where timestamps overlap (out-of-order writes,
/// re-sent samples).
#[derive(Default)]
pub(crate) struct Acc {
    floats: Vec<FloatSample>,
    /// (first index into `floats`, source rank), one entry per change of rank.
    runs: Vec<(usize, u64)>,
    /// Some timestamp did not exceed the one before it.
    overlapping: bool,
    hists: Vec<(i64, u64, FloatHistogram)>,
    present: bool,
}

impl Acc {
    fn start_run(&mut self, rank: u64, first_t: i64) {
        if self.runs.last().map(|r| r.1) != Some(rank) {
            self.runs.push((self.floats.len(), rank));
        }
        if self.floats.last().is_some_and(|l| l.t >= first_t) {
            self.overlapping = true;
        }
    }

    fn push_float(&mut self, rank: u64, t: i64, bits: u64) {
        self.start_run(rank, t);
        self.floats.push(FloatSample {
            t,
            v: f64::from_bits(bits),
        });
    }

    /// Appends one block's samples (timestamps strictly increasing).
    fn extend_floats(&mut self, rank: u64, ts: &[i64], vs: &[f64]) {
        let Some(&first) = ts.first() else {
            return;
        };
        self.start_run(rank, first);
        self.floats
            .extend(ts.iter().zip(vs).map(|(&t, &v)| FloatSample { t, v }));
    }

    fn finish(mut self) -> (Vec<FloatSample>, Vec<HistogramSample>) {
        let floats = if self.overlapping {
            // Earliest write (lowest rank) wins on equal timestamps; equal
            // (t, rank) keep arrival order (stable sort, first kept).
            let mut ranked: Vec<(i64, u64, u64)> = Vec::with_capacity(self.floats.len());
            for (k, &(start, rank)) in self.runs.iter().enumerate() {
                let end = self.runs.get(k + 1).map_or(self.floats.len(), |r| r.0);
                ranked.extend(
                    self.floats
                        .get(start..end)
                        .unwrap_or(&[])
                        .iter()
                        .map(|s| (s.t, rank, s.v.to_bits())),
                );
            }
            ranked.sort_by_key(|&(t, rank, _)| (t, rank));
            ranked.dedup_by_key(|s| s.0);
            ranked
                .into_iter()
                .map(|(t, _, b)| FloatSample {
                    t,
                    v: f64::from_bits(b),
                })
                .collect()
        } else {
            self.floats
        };
        self.hists.sort_by_key(|(t, rank, _)| (*t, *rank));
        self.hists.dedup_by_key(|s| s.0);
        (
            floats,
            self.hists
                .into_iter()
                .map(|(t, _, h)| HistogramSample { t, h })
                .collect(),
        )
    }
}

/// What a query sees: parts, frozen buffers, copied active rows.
pub(crate) struct Snapshot {
    parts: Arc<PartSet>,
    frozen: Vec<Arc<Frozen>>,
    active: Vec<Row>,
    active_hists: Vec<FloatHistogram>,
}

const RANK_ACTIVE: u64 = u64::MAX;

/// Fewest series per thread worth a thread of their own in a select.
const PARALLEL_SELECT_MIN_SERIES: usize = 1000;

/// Merges runs each sorted by labels into one sorted list (ties keep the
/// earlier run first).
fn merge_sorted_runs(runs: Vec<Vec<SeriesData>>) -> Vec<SeriesData> {
    // Reversed, so that each run's smallest element is at its end.
    let mut runs: Vec<Vec<SeriesData>> = runs
        .into_iter()
        .filter(|r| !r.is_empty())
        .map(|mut r| {
            r.reverse();
            r
        })
        .collect();
    if runs.len() == 1 {
        let mut only = runs.pop().unwrap_or_default();
        only.reverse();
        return only;
    }
    let mut out = Vec::with_capacity(runs.iter().map(Vec::len).sum());
    loop {
        let mut best: Option<(usize, &Labels)> = None;
        for (i, run) in runs.iter().enumerate() {
            if let Some(head) = run.last() {
                if best.is_none_or(|(_, cur)| head.labels < *cur) {
                    best = Some((i, &head.labels));
                }
            }
        }
        let Some((i, _)) = best else {
            return out;
        };
        if let Some(s) = runs[i].pop() {
            out.push(s);
        }
    }
}

impl Inner {
    pub(crate) fn snapshot(&self, sids: &SidSet, mint: i64, maxt: i64) -> Snapshot {
        let h = self.head.lock();
        let mut active = Vec::new();
        let mut active_hists = Vec::new();
        if h.active.max_t >= mint && h.active.min_t <= maxt {
            for r in &h.active.rows {
                if r.t >= mint && r.t <= maxt && sids.contains(r.sid) {
                    let mut r = *r;
                    if r.kind == 1 {
                        if let Some(hh) = h.active.hists.get(r.bits as usize) {
                            r.bits = active_hists.len() as u64;
                            active_hists.push(hh.clone());
                        }
                    }
                    active.push(r);
                }
            }
        }
        Snapshot {
            parts: Arc::clone(&h.parts),
            frozen: h.frozen.clone(),
            active,
            active_hists,
        }
    }

    /// Collects samples (or presence) of `sids` in `[mint, maxt]`.
    pub(crate) fn gather(
        &self,
        sids: &SidSet,
        mint: i64,
        maxt: i64,
        need: Need,
    ) -> Result<HashMap<SeriesId, Acc>, StorageError> {
        if mint > maxt {
            return Ok(HashMap::new());
        }
        let snap = self.snapshot(sids, mint, maxt);
        self.gather_in(&snap, sids, mint, maxt, need)
    }

    /// [`Inner::gather`] over a snapshot taken for a superset of `sids`,
    /// so that several threads can share one consistent view.
    fn gather_in(
        &self,
        snap: &Snapshot,
        sids: &SidSet,
        mint: i64,
        maxt: i64,
        need: Need,
    ) -> Result<HashMap<SeriesId, Acc>, StorageError> {
        let mut acc: HashMap<SeriesId, Acc> = HashMap::with_capacity(sids.sorted.len());
        if mint > maxt {
            return Ok(acc);
        }
        // Newest timestamp any source can return: with it, a series read
        // from several parts reserves its samples once instead of doubling.
        let days = day_of(mint)..=day_of(maxt);
        let newest = snap
            .parts
            .days
            .range(days.clone())
            .flat_map(|(_, parts)| parts.iter().map(|p| p.meta.max_t))
            .chain(snap.frozen.iter().map(|fz| fz.buf.max_t))
            .chain(snap.active.iter().map(|r| r.t))
            .max()
            .unwrap_or(maxt);
        let range = (mint, maxt, maxt.min(newest));
        for (_, parts) in snap.parts.days.range(days) {
            for p in parts {
                gather_part(&self.read_cache, p, sids, range, need, &mut acc)?;
            }
        }
        for fz in &snap.frozen {
            if fz.buf.max_t < mint || fz.buf.min_t > maxt {
                continue;
            }
            for r in &fz.buf.rows {
                if r.t >= mint && r.t <= maxt && sids.contains(r.sid) {
                    push_row(&mut acc, r, fz.seq, &fz.buf.hists, need);
                }
            }
        }
        for r in &snap.active {
            if sids.contains(r.sid) {
                push_row(&mut acc, r, RANK_ACTIVE, &snap.active_hists, need);
            }
        }
        Ok(acc)
    }

    /// Samples (or presence) and labels of the series `ids`, sorted by
    /// labels. Large selections are split by series over the available
    /// cores: decoding and label materialisation dominate big queries and
    /// the series are independent. All threads read one snapshot.
    fn select_series(
        &self,
        ids: Vec<SeriesId>,
        cold: &HashMap<SeriesId, Labels>,
        mint: i64,
        maxt: i64,
        need: Need,
    ) -> Result<Vec<SeriesData>, StorageError> {
        let set = SidSet::new(ids);
        if mint > maxt {
            return Ok(Vec::new());
        }
        let snap = self.snapshot(&set, mint, maxt);
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(set.sorted.len() / PARALLEL_SELECT_MIN_SERIES)
            .max(1);
        if threads == 1 {
            return self.select_chunk(&snap, &set, cold, mint, maxt, need);
        }
        let per = set.sorted.len().div_ceil(threads);
        let chunks: Vec<SidSet> = set
            .sorted
            .chunks(per)
            .map(|c| SidSet::new(c.to_vec()))
            .collect();
        let results: Vec<Result<Vec<SeriesData>, StorageError>> = std::thread::scope(|sc| {
            let handles: Vec<_> = chunks
                .iter()
                .map(|c| sc.spawn(|| self.select_chunk(&snap, c, cold, mint, maxt, need)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(StorageError::Unsupported("select worker panicked".into()))
                    })
                })
                .collect()
        });
        let mut sorted_runs = Vec::with_capacity(results.len());
        for r in results {
            sorted_runs.push(r?);
        }
        Ok(merge_sorted_runs(sorted_runs))
    }

    /// One thread's share of [`Inner::select_series`], sorted by labels.
    fn select_chunk(
        &self,
        snap: &Snapshot,
        set: &SidSet,
        cold: &HashMap<SeriesId, Labels>,
        mint: i64,
        maxt: i64,
        need: Need,
    ) -> Result<Vec<SeriesData>, StorageError> {
        let acc = self.gather_in(snap, set, mint, maxt, need)?;
        let mut out: Vec<SeriesData> = Vec::with_capacity(acc.len());
        {
            let reg = self.registry.read();
            for (sid, a) in acc {
                if !a.present {
                    continue;
                }
                let (floats, histograms) = if need == Need::Samples {
                    a.finish()
                } else {
                    (Vec::new(), Vec::new())
                };
                if need == Need::Samples && floats.is_empty() && histograms.is_empty() {
                    continue;
                }
                let labels = labels_of(&reg, cold, sid);
                if labels.is_empty() {
                    // Dropped from memory after the ids were resolved.
                    continue;
                }
                out.push(SeriesData {
                    labels,
                    floats,
                    histograms,
                });
            }
        }
        // Equal label sets (one set with two ids) stay adjacent either way;
        // merge_equal_labels sorts their samples.
        out.sort_unstable_by(|a, b| a.labels.cmp(&b.labels));
        Ok(out)
    }

    /// Series matching `matchers` (every series when `matchers` is empty
    /// and `all_if_empty`): live ids from the in-memory postings, plus ids
    /// dropped from memory found in the label indexes of the parts of days
    /// in `[mint, maxt]`, with the labels of the latter.
    fn resolve_ids(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        all_if_empty: bool,
    ) -> Result<(Vec<SeriesId>, HashMap<SeriesId, Labels>), StorageError> {
        let everything = matchers.is_empty() && all_if_empty;
        let mut ids = {
            let reg = self.registry.read();
            if everything {
                reg.live_ids()
            } else {
                reg.select(matchers)
            }
        };
        let mut cold: HashMap<SeriesId, Labels> = HashMap::new();
        let through = self.cold_through.load(std::sync::atomic::Ordering::Acquire);
        if (matchers.is_empty() && !all_if_empty) || through == i64::MIN || mint > maxt {
            return Ok((ids, cold));
        }
        let last_day = day_of(maxt).min(through);
        let first_day = day_of(mint);
        if first_day > last_day {
            return Ok((ids, cold));
        }
        let parts = Arc::clone(&self.head.lock().parts);
        for (_, list) in parts.days.range(first_day..=last_day) {
            for p in list {
                if p.meta.max_t < mint || p.meta.min_t > maxt {
                    continue;
                }
                let Some(idx) = self.day_indexes.get(p.path()).map_err(StorageError::Io)? else {
                    continue;
                };
                let found = idx.select(matchers);
                if found.is_empty() {
                    continue;
                }
                let reg = self.registry.read();
                for sid in found {
                    if reg.is_live(sid) || cold.contains_key(&sid) {
                        continue;
                    }
                    if let Some(l) = idx.labels(sid) {
                        cold.insert(sid, l);
                    }
                }
            }
        }
        if !cold.is_empty() {
            ids.extend(cold.keys().copied());
            ids.sort_unstable();
            ids.dedup();
        }
        Ok((ids, cold))
    }

    /// Series among `ids` with data in range (block granularity).
    fn present(
        &self,
        ids: Vec<SeriesId>,
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesId>, StorageError> {
        let set = SidSet::new(ids);
        let acc = self.gather(&set, mint, maxt, Need::Overlaps)?;
        let mut v: Vec<SeriesId> = acc
            .into_iter()
            .filter(|(_, a)| a.present)
            .map(|(s, _)| s)
            .collect();
        v.sort_unstable();
        Ok(v)
    }
}

fn push_row(
    acc: &mut HashMap<SeriesId, Acc>,
    r: &Row,
    rank: u64,
    hists: &[FloatHistogram],
    need: Need,
) {
    let a = acc.entry(r.sid).or_default();
    a.present = true;
    if need != Need::Samples {
        return;
    }
    if r.kind == 0 {
        a.push_float(rank, r.t, r.bits);
    } else if let Some(h) = hists.get(r.bits as usize) {
        a.hists.push((r.t, rank, h.clone()));
    }
}

fn corrupt(e: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(e.to_string())
}

/// Most samples reserved ahead for one series (128 KiB): a day at 15 s
/// fits; an odd series whose first block is a dense burst cannot make a
/// wide select reserve much more than it reads.
const MAX_RESERVED_SAMPLES: usize = 1 << 13;

/// How many samples a regularly sampled series has from `ts[0]` up to
/// `newest`, judged from the spacing of `ts` (at least `ts.len()`, capped).
fn expected_samples(ts: &[i64], newest: i64) -> usize {
    let n = ts.len();
    let (Some(&first), Some(&last)) = (ts.first(), ts.last()) else {
        return 0;
    };
    if n < 2 || last <= first || newest <= last {
        return n;
    }
    let spacing = (last - first) as f64 / (n - 1) as f64;
    let est = ((newest - first) as f64 / spacing) as usize + 1;
    est.clamp(n, MAX_RESERVED_SAMPLES.max(n))
}

/// Samples of `sids` in `[mint, maxt]` from one part into `acc`; `range`
/// is (mint, maxt, newest timestamp any source holds).
fn gather_part(
    cache: &ReadCache,
    p: &Part,
    sids: &SidSet,
    range: (i64, i64, i64),
    need: Need,
    acc: &mut HashMap<SeriesId, Acc>,
) -> Result<(), StorageError> {
    let (mint, maxt, newest) = range;
    if p.meta.max_t < mint || p.meta.min_t > maxt || p.granules.is_empty() {
        return Ok(());
    }
    // Granules that can hold any selected series, found per series.
    let mut wanted: Vec<usize> = Vec::new();
    let gs = &p.granules;
    for &sid in &sids.sorted {
        let mut i = gs.partition_point(|g| g.last_sid < sid);
        while i < gs.len() && gs[i].first_sid <= sid {
            if gs[i].max_t >= mint && gs[i].min_t <= maxt && wanted.last() != Some(&i) {
                wanted.push(i);
            }
            i += 1;
        }
    }
    wanted.sort_unstable();
    wanted.dedup();
    let rank = p.meta.seq_lo;
    for gi in wanted {
        let g = cache.granule(p, gi).map_err(corrupt)?;
        for (bi, b) in g.blocks.iter().enumerate() {
            if b.max_t < mint || b.min_t > maxt || !sids.contains(b.sid) {
                continue;
            }
            if need == Need::Overlaps {
                acc.entry(b.sid).or_default().present = true;
                continue;
            }
            let d = cache.block(p, gi, &g, bi).map_err(corrupt)?;
            let ts = &d.ts;
            let lo = ts.partition_point(|&t| t < mint);
            let hi = ts.partition_point(|&t| t <= maxt);
            if lo >= hi {
                continue;
            }
            let a = acc.entry(b.sid).or_default();
            a.present = true;
            if need == Need::Exists {
                continue;
            }
            match &d.values {
                BlockValues::Floats(vs) => {
                    if a.floats.capacity() == 0 {
                        a.floats.reserve(expected_samples(&ts[lo..hi], newest));
                    }
                    a.extend_floats(rank, &ts[lo..hi], vs.get(lo..).unwrap_or(&[]));
                }
                BlockValues::Histograms(hs) => {
                    for (t, h) in ts[lo..hi].iter().zip(&hs[lo..hi]) {
                        a.hists.push((*t, rank, h.clone()));
                    }
                }
            }
        }
    }
    Ok(())
}

/// (series, timestamp) → (value bits or histogram hash, is histogram).
pub(crate) type StoredAt = HashMap<(SeriesId, i64), (u64, bool)>;

/// Values stored in parts for the series of `sids` in `[mint, maxt]`, per
/// (series, timestamp): (value bits or histogram hash, is histogram). The
/// earliest write wins, as on reads.
pub(crate) fn stored_in_parts(
    cache: &ReadCache,
    head: &Head,
    sids: &SidSet,
    mint: i64,
    maxt: i64,
) -> Result<StoredAt, StorageError> {
    let mut acc = HashMap::new();
    for (_, parts) in head.parts.days.range(day_of(mint)..=day_of(maxt)) {
        for p in parts {
            gather_part(cache, p, sids, (mint, maxt, maxt), Need::Samples, &mut acc)?;
        }
    }
    let mut out = HashMap::new();
    for (sid, a) in acc {
        let (f, h) = a.finish();
        for s in f {
            out.insert((sid, s.t), (s.v.to_bits(), false));
        }
        for s in h {
            out.entry((sid, s.t))
                .or_insert_with(|| (crate::head::histogram_bits(&s.h), true));
        }
    }
    Ok(out)
}

/// A stored sample's value.
pub(crate) enum StoredValue {
    /// Float value bits.
    Float(u64),
    /// A histogram as stored.
    Histogram(FloatHistogram),
}

/// The value of series `sid` at exactly `t` in parts (earliest write wins),
/// used when the head only knows a restored timestamp.
pub(crate) fn stored_sample_at(
    cache: &ReadCache,
    head: &Head,
    sid: SeriesId,
    t: i64,
) -> Option<StoredValue> {
    let set = SidSet::new(vec![sid]);
    let mut acc = HashMap::new();
    let parts = head.parts.days.get(&day_of(t))?;
    for p in parts {
        if gather_part(cache, p, &set, (t, t, t), Need::Samples, &mut acc).is_err() {
            return None;
        }
    }
    let a = acc.remove(&sid)?;
    let (f, h) = a.finish();
    if let Some(s) = f.first() {
        return Some(StoredValue::Float(s.v.to_bits()));
    }
    h.into_iter().next().map(|s| StoredValue::Histogram(s.h))
}

/// Labels of `sid`: in-memory, or from the part indexes for dropped series.
fn labels_of(reg: &Registry, cold: &HashMap<SeriesId, Labels>, sid: SeriesId) -> Labels {
    match cold.get(&sid) {
        Some(l) => l.clone(),
        None => reg.labels(sid),
    }
}

/// Merges series with equal label sets (a label set dropped from memory
/// and written again has two ids); `out` is sorted by labels.
fn merge_equal_labels(out: Vec<SeriesData>) -> Vec<SeriesData> {
    let mut merged: Vec<SeriesData> = Vec::with_capacity(out.len());
    for s in out {
        match merged.last_mut() {
            Some(last) if last.labels == s.labels => {
                last.floats.extend(s.floats);
                last.floats.sort_by_key(|x| x.t);
                last.floats.dedup_by_key(|x| x.t);
                last.histograms.extend(s.histograms);
                last.histograms.sort_by_key(|x| x.t);
                last.histograms.dedup_by_key(|x| x.t);
            }
            _ => merged.push(s),
        }
    }
    merged
}

impl Querier for Db {
    fn select(&self, matchers: &[Matcher], hints: &SelectHints) -> Result<SeriesSet, StorageError> {
        let inner = &self.inner;
        if matchers.is_empty() {
            return Ok(Box::new(std::iter::empty()));
        }
        let (ids, cold) = inner.resolve_ids(matchers, hints.mint, hints.maxt, false)?;
        if ids.is_empty() {
            return Ok(Box::new(std::iter::empty()));
        }
        let need = if hints.labels_only {
            Need::Exists
        } else {
            Need::Samples
        };
        let out = inner.select_series(ids, &cold, hints.mint, hints.maxt, need)?;
        let mut out = merge_equal_labels(out);
        if hints.limit > 0 {
            out.truncate(hints.limit);
        }
        Ok(Box::new(out.into_iter().map(Ok)))
    }

    fn label_names(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, StorageError> {
        let inner = &self.inner;
        let (ids, cold) = inner.resolve_ids(matchers, mint, maxt, true)?;
        let ids = inner.present(ids, mint, maxt)?;
        let reg = inner.registry.read();
        let mut owned: BTreeSet<String> = BTreeSet::new();
        for sid in ids {
            if let Some(l) = cold.get(&sid) {
                for x in l.iter() {
                    if !owned.contains(&x.name) {
                        owned.insert(x.name.clone());
                    }
                }
                continue;
            }
            reg.for_each_label(sid, |n, _| {
                if !owned.contains(n) {
                    owned.insert(n.to_string());
                }
            });
        }
        Ok(owned.into_iter().collect())
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, StorageError> {
        let inner = &self.inner;
        let mut ms = matchers.to_vec();
        ms.push(
            Matcher::new(lookout_model::MatchOp::NotEqual, name, "")
                .map_err(|e| StorageError::Unsupported(e.to_string()))?,
        );
        let (ids, cold) = inner.resolve_ids(&ms, mint, maxt, false)?;
        let ids = inner.present(ids, mint, maxt)?;
        let reg = inner.registry.read();
        let mut values: BTreeSet<String> = BTreeSet::new();
        for sid in ids {
            let v = match cold.get(&sid) {
                Some(l) => l.get(name).unwrap_or(""),
                None => reg.label_value(sid, name),
            };
            if !v.is_empty() && !values.contains(v) {
                values.insert(v.to_string());
            }
        }
        Ok(values.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts_vs(a: (Vec<FloatSample>, Vec<HistogramSample>)) -> Vec<(i64, f64)> {
        a.0.into_iter().map(|s| (s.t, s.v)).collect()
    }

    #[test]
    fn in_order_sources_are_concatenated() {
        let mut a = Acc::default();
        a.extend_floats(1, &[10, 20], &[1.0, 2.0]);
        a.extend_floats(2, &[30], &[3.0]);
        a.push_float(RANK_ACTIVE, 40, 4.0f64.to_bits());
        assert!(!a.overlapping);
        assert_eq!(
            ts_vs(a.finish()),
            vec![(10, 1.0), (20, 2.0), (30, 3.0), (40, 4.0)]
        );
    }

    #[test]
    fn overlapping_sources_sort_and_earliest_write_wins() {
        let mut a = Acc::default();
        // A newer part (rank 5) is visited before an older one (rank 2) of
        // another day ordering; equal timestamps keep the lowest rank.
        a.extend_floats(5, &[10, 20, 30], &[5.0, 5.0, 5.0]);
        a.extend_floats(2, &[20, 25], &[2.0, 2.0]);
        a.push_float(RANK_ACTIVE, 30, 9.0f64.to_bits());
        a.push_float(RANK_ACTIVE, 5, 9.0f64.to_bits());
        assert!(a.overlapping);
        assert_eq!(
            ts_vs(a.finish()),
            vec![(5, 9.0), (10, 5.0), (20, 2.0), (25, 2.0), (30, 5.0)]
        );
    }
}
