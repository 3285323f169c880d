//! A small in-memory [`Appendable`] for tests and for wiring before the
//! real store is attached. It enforces the ordering rules a real store
//! applies (older than the newest sample: out of order; same timestamp,
//! different value: duplicate), which staleness handling depends on.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use lookout_model::storage::{AppendError, Appendable, Appender, StorageError};
use lookout_model::{FloatHistogram, FloatSample, Labels};

/// Series → samples, in memory.
#[derive(Clone, Default)]
pub struct MemStore {
    inner: Arc<Mutex<BTreeMap<Labels, Vec<FloatSample>>>>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<Labels, Vec<FloatSample>>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Samples of one series.
    pub fn samples(&self, labels: &Labels) -> Vec<FloatSample> {
        self.lock().get(labels).cloned().unwrap_or_default()
    }

    /// Every series with its samples.
    pub fn all(&self) -> BTreeMap<Labels, Vec<FloatSample>> {
        self.lock().clone()
    }

    /// Series whose metric name is `name`.
    pub fn series_named(&self, name: &str) -> Vec<(Labels, Vec<FloatSample>)> {
        self.lock()
            .iter()
            .filter(|(l, _)| l.metric_name() == Some(name))
            .map(|(l, s)| (l.clone(), s.clone()))
            .collect()
    }
}

struct MemAppender<'a> {
    store: &'a MemStore,
    pending: Vec<(Labels, FloatSample)>,
}

impl Appender for MemAppender<'_> {
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
        if labels.is_empty() {
            return Err(AppendError::InvalidLabels("empty label set".into()));
        }
        let newest = self
            .pending
            .iter()
            .rev()
            .find(|(l, _)| l == labels)
            .map(|(_, s)| *s)
            .or_else(|| {
                self.store
                    .lock()
                    .get(labels)
                    .and_then(|s| s.last().copied())
            });
        if let Some(last) = newest {
            if t < last.t {
                return Err(AppendError::OutOfOrder);
            }
            if t == last.t {
                if last.v.to_bits() == v.to_bits() {
                    return Ok(());
                }
                return Err(AppendError::Duplicate);
            }
        }
        self.pending.push((labels.clone(), FloatSample { t, v }));
        Ok(())
    }

    fn append_histogram(
        &mut self,
        _: &Labels,
        _: i64,
        _: &FloatHistogram,
    ) -> Result<(), AppendError> {
        Err(AppendError::Storage(
            "histograms not supported by MemStore".into(),
        ))
    }

    fn commit(self: Box<Self>) -> Result<(), StorageError> {
        let mut m = self.store.lock();
        for (l, s) in self.pending {
            m.entry(l).or_default().push(s);
        }
        Ok(())
    }

    fn rollback(self: Box<Self>) {}
}

impl Appendable for MemStore {
    fn appender(&self) -> Box<dyn Appender + '_> {
        Box::new(MemAppender {
            store: self,
            pending: Vec::new(),
        })
    }
}
