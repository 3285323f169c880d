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
#[derive(Default)]
pub(crate) struct Acc {
    floats: Vec<(i64, u64, u64)>,
    hists: Vec<(i64, u64, FloatHistogram)>,
    present: bool,
}

impl Acc {
    fn finish(mut self) -> (Vec<FloatSample>, Vec<HistogramSample>) {
        // One source (the common case) is already in strict time order.
        if !self.floats.windows(2).all(|w| w[0].0 < w[1].0) {
            self.floats.sort_by_key(|&(t, rank, _)| (t, rank));
            self.floats.dedup_by_key(|s| s.0);
        }
        if !self.hists.windows(2).all(|w| w[0].0 < w[1].0) {
            self.hists.sort_by_key(|(t, rank, _)| (*t, *rank));
            self.hists.dedup_by_key(|s| s.0);
        }
        (
            self.floats
                .into_iter()
                .map(|(t, _, b)| FloatSample {
                    t,
                    v: f64::from_bits(b),
                })
                .collect(),
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
        let mut acc: HashMap<SeriesId, Acc> = HashMap::new();
        if mint > maxt {
            return Ok(acc);
        }
        let snap = self.snapshot(sids, mint, maxt);
        for (_, parts) in snap.parts.days.range(day_of(mint)..=day_of(maxt)) {
            for p in parts {
                gather_part(&self.read_cache, p, sids, mint, maxt, need, &mut acc)?;
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
            push_row(&mut acc, r, RANK_ACTIVE, &snap.active_hists, need);
        }
        Ok(acc)
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
        a.floats.push((r.t, rank, r.bits));
    } else if let Some(h) = hists.get(r.bits as usize) {
        a.hists.push((r.t, rank, h.clone()));
    }
}

fn corrupt(e: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(e.to_string())
}

fn gather_part(
    cache: &ReadCache,
    p: &Part,
    sids: &SidSet,
    mint: i64,
    maxt: i64,
    need: Need,
    acc: &mut HashMap<SeriesId, Acc>,
) -> Result<(), StorageError> {
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
                    a.floats.extend(
                        ts[lo..hi]
                            .iter()
                            .zip(&vs[lo..hi])
                            .map(|(&t, v)| (t, rank, v.to_bits())),
                    );
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
            gather_part(cache, p, sids, mint, maxt, Need::Samples, &mut acc)?;
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
        if gather_part(cache, p, &set, t, t, Need::Samples, &mut acc).is_err() {
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
        let set = SidSet::new(ids);
        let need = if hints.labels_only {
            Need::Exists
        } else {
            Need::Samples
        };
        let acc = inner.gather(&set, hints.mint, hints.maxt, need)?;
        let mut out: Vec<SeriesData> = Vec::with_capacity(acc.len());
        {
            let reg = inner.registry.read();
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
                let labels = labels_of(&reg, &cold, sid);
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
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
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
