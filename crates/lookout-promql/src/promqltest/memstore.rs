//! A simple in-memory store implementing the storage traits, used by unit
//! tests and as a fallback store for the `.test` runner.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use lookout_model::matcher::matches_all;
use lookout_model::storage::{
    AppendError, Appendable, Appender, Querier, SelectHints, SeriesData, SeriesSet, StorageError,
};
use lookout_model::{FloatHistogram, FloatSample, HistogramSample, Labels, Matcher};

/// In-memory series store (not for production: no indexes, no persistence).
#[derive(Clone, Default)]
pub struct MemStore {
    series: Arc<RwLock<BTreeMap<Labels, SeriesData>>>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Querier for MemStore {
    fn select(&self, matchers: &[Matcher], hints: &SelectHints) -> Result<SeriesSet, StorageError> {
        if matchers.is_empty() {
            return Ok(Box::new(std::iter::empty()));
        }
        let guard = self
            .series
            .read()
            .map_err(|_| StorageError::Corrupt("poisoned lock".into()))?;
        let mut out = Vec::new();
        for (l, s) in guard.iter() {
            if !matches_all(matchers, l) {
                continue;
            }
            let f_lo = s.floats.partition_point(|x| x.t < hints.mint);
            let f_hi = s.floats.partition_point(|x| x.t <= hints.maxt);
            let floats: Vec<FloatSample> = s.floats[f_lo..f_hi.max(f_lo)].to_vec();
            let h_lo = s.histograms.partition_point(|x| x.t < hints.mint);
            let h_hi = s.histograms.partition_point(|x| x.t <= hints.maxt);
            let histograms: Vec<HistogramSample> = s.histograms[h_lo..h_hi.max(h_lo)].to_vec();
            if floats.is_empty() && histograms.is_empty() {
                continue;
            }
            out.push(Ok(SeriesData {
                labels: l.clone(),
                floats,
                histograms,
            }));
        }
        Ok(Box::new(out.into_iter()))
    }

    fn label_names(
        &self,
        matchers: &[Matcher],
        _mint: i64,
        _maxt: i64,
    ) -> Result<Vec<String>, StorageError> {
        let guard = self
            .series
            .read()
            .map_err(|_| StorageError::Corrupt("poisoned lock".into()))?;
        let mut names: Vec<String> = guard
            .keys()
            .filter(|l| matchers.is_empty() || matches_all(matchers, l))
            .flat_map(|l| l.iter().map(|x| x.name.clone()).collect::<Vec<_>>())
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        _mint: i64,
        _maxt: i64,
    ) -> Result<Vec<String>, StorageError> {
        let guard = self
            .series
            .read()
            .map_err(|_| StorageError::Corrupt("poisoned lock".into()))?;
        let mut vals: Vec<String> = guard
            .keys()
            .filter(|l| matchers.is_empty() || matches_all(matchers, l))
            .filter_map(|l| l.get(name).map(str::to_string))
            .collect();
        vals.sort();
        vals.dedup();
        Ok(vals)
    }
}

struct MemAppender {
    store: MemStore,
    floats: Vec<(Labels, i64, f64)>,
    hists: Vec<(Labels, i64, FloatHistogram)>,
    /// Newest sample queued per series in this batch: `None` for a float,
    /// else the histogram as it will be stored.
    newest: std::collections::HashMap<Labels, (i64, Option<FloatHistogram>)>,
}

impl MemAppender {
    /// The series' newest sample (queued or stored), when it is a histogram.
    fn previous_histogram(&self, labels: &Labels) -> Option<FloatHistogram> {
        if let Some((_, h)) = self.newest.get(labels) {
            return h.clone();
        }
        let guard = self.store.series.read().ok()?;
        let s = guard.get(labels)?;
        let lf = s.floats.last().map(|x| x.t);
        let lh = s.histograms.last()?;
        if lf.is_some_and(|t| t > lh.t) {
            return None;
        }
        Some(lh.h.clone())
    }
}

impl Appender for MemAppender {
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
        self.floats.push((labels.clone(), t, v));
        self.newest.insert(labels.clone(), (t, None));
        Ok(())
    }

    fn append_histogram(
        &mut self,
        labels: &Labels,
        t: i64,
        h: &FloatHistogram,
    ) -> Result<(), AppendError> {
        // Stored with the hint a Prometheus read reports, like lookout-tsdb.
        let prev = self.previous_histogram(labels);
        let mut stored = h.clone();
        stored.counter_reset_hint =
            lookout_model::histogram::stored_counter_reset_hint(prev.as_ref(), h);
        self.hists.push((labels.clone(), t, stored.clone()));
        self.newest.insert(labels.clone(), (t, Some(stored)));
        Ok(())
    }

    fn commit(self: Box<Self>) -> Result<(), StorageError> {
        let mut guard = self
            .store
            .series
            .write()
            .map_err(|_| StorageError::Corrupt("poisoned lock".into()))?;
        for (l, t, v) in self.floats {
            let s = guard.entry(l.clone()).or_insert_with(|| SeriesData {
                labels: l,
                ..Default::default()
            });
            s.floats.push(FloatSample { t, v });
        }
        for (l, t, h) in self.hists {
            let s = guard.entry(l.clone()).or_insert_with(|| SeriesData {
                labels: l,
                ..Default::default()
            });
            s.histograms.push(HistogramSample { t, h });
        }
        for s in guard.values_mut() {
            s.floats.sort_by_key(|x| x.t);
            s.floats.dedup_by_key(|x| x.t);
            s.histograms.sort_by_key(|x| x.t);
            s.histograms.dedup_by_key(|x| x.t);
        }
        Ok(())
    }

    fn rollback(self: Box<Self>) {}
}

impl Appendable for MemStore {
    fn appender(&self) -> Box<dyn Appender + '_> {
        Box::new(MemAppender {
            store: self.clone(),
            floats: Vec::new(),
            hists: Vec::new(),
            newest: std::collections::HashMap::new(),
        })
    }
}
