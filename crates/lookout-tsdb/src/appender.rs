//! `Appendable`/`Appender` for [`Db`]: a batch of samples checked as they
//! are queued and committed atomically.

use hashbrown::HashMap;
use lookout_model::storage::{AppendError, StorageError};
use lookout_model::storage::{Appendable, Appender};
use lookout_model::{FloatHistogram, Labels};

use crate::db::{BatchItem, Db, Inner};
use crate::head::{histogram_bits, Verdict};
use crate::registry::SeriesId;

/// A batch for [`Db`]. Samples are checked against the store and against
/// earlier samples of the same batch when queued; [`Appender::commit`]
/// re-checks (another batch may have committed in between) and writes the
/// accepted ones in one WAL record.
pub struct DbAppender<'a> {
    inner: &'a Inner,
    /// Queued samples in append order: (series, t, value bits or
    /// histogram hash, index into `hists` for histograms).
    queued: Vec<(SeriesId, i64, u64, Option<usize>)>,
    hists: Vec<FloatHistogram>,
    /// Newest (t, bits, is_hist) queued per series in this batch.
    pending: HashMap<SeriesId, (i64, u64, bool)>,
}

impl DbAppender<'_> {
    fn check(
        &mut self,
        sid: SeriesId,
        t: i64,
        bits: u64,
        is_hist: bool,
    ) -> Result<bool, AppendError> {
        let window = self.inner.opts.out_of_order_time_window;
        if let Some(&(pt, pb, ph)) = self.pending.get(&sid) {
            if t > pt {
                return Ok(true);
            }
            if t == pt {
                return if pb == bits && ph == is_hist {
                    Ok(false)
                } else {
                    Err(AppendError::Duplicate)
                };
            }
            if window == 0 {
                return Err(AppendError::OutOfOrder);
            }
        }
        let verdict = {
            let h = self.inner.head.lock();
            h.state.check(sid, t, bits, is_hist, window)
        };
        match verdict? {
            Verdict::Append | Verdict::OutOfOrder | Verdict::NeedsLookup => Ok(true),
            Verdict::Duplicate => Ok(false),
        }
    }

    fn note(&mut self, sid: SeriesId, t: i64, bits: u64, is_hist: bool) {
        let e = self.pending.entry(sid).or_insert((i64::MIN, 0, false));
        if t > e.0 {
            *e = (t, bits, is_hist);
        }
    }
}

impl Appender for DbAppender<'_> {
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
        let sid = self.inner.series_id(labels)?;
        let bits = v.to_bits();
        if self.check(sid, t, bits, false)? {
            self.queued.push((sid, t, bits, None));
            self.note(sid, t, bits, false);
        }
        Ok(())
    }

    fn append_histogram(
        &mut self,
        labels: &Labels,
        t: i64,
        h: &FloatHistogram,
    ) -> Result<(), AppendError> {
        let sid = self.inner.series_id(labels)?;
        let bits = histogram_bits(h);
        if self.check(sid, t, bits, true)? {
            self.queued.push((sid, t, bits, Some(self.hists.len())));
            self.hists.push(h.clone());
            self.note(sid, t, bits, true);
        }
        Ok(())
    }

    fn commit(self: Box<Self>) -> Result<(), StorageError> {
        if self.queued.is_empty() {
            return Ok(());
        }
        // Append order, so a series switching between floats and histograms
        // is checked in its own time order.
        let items: Vec<BatchItem<'_>> = self
            .queued
            .iter()
            .enumerate()
            .map(|(index, &(sid, t, bits, h))| BatchItem {
                sid,
                t,
                bits,
                hist: h.and_then(|i| self.hists.get(i)),
                index,
            })
            .collect();
        let report = self.inner.commit(&items)?;
        if !report.rejected.is_empty() {
            tracing::debug!(
                rejected = report.rejected.len(),
                "samples refused at commit after a concurrent batch"
            );
        }
        Ok(())
    }

    fn rollback(self: Box<Self>) {}
}

impl Appendable for Db {
    fn appender(&self) -> Box<dyn Appender + '_> {
        Box::new(DbAppender {
            inner: &self.inner,
            queued: Vec::new(),
            hists: Vec::new(),
            pending: HashMap::new(),
        })
    }
}
