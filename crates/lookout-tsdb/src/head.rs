//! The head: per-series append state and the bounded row buffers that hold
//! committed samples until they are flushed into a part.
//!
//! Per series the head keeps only the newest timestamp, the newest value's
//! bits (for duplicate detection) and a flag byte — 17 bytes in three flat
//! vectors indexed by series id. Samples themselves sit in a row buffer
//! (24 bytes per row); a full or old buffer is frozen, flushed into a part
//! and dropped, so head memory is bounded by rows, not by series × chunk.

use std::sync::Arc;

use lookout_model::storage::AppendError;
use lookout_model::FloatHistogram;

use crate::registry::SeriesId;

/// One buffered sample. For histograms `bits` indexes the buffer's
/// histogram list.
#[derive(Clone, Copy, Debug)]
pub struct Row {
    /// Timestamp, ms.
    pub t: i64,
    /// Float value bits, or histogram index.
    pub bits: u64,
    /// Series.
    pub sid: SeriesId,
    /// 0 float, 1 histogram.
    pub kind: u32,
}

/// Committed samples not yet in a part.
#[derive(Default)]
pub struct RowBuffer {
    /// Rows in commit order.
    pub rows: Vec<Row>,
    /// Histograms referenced by rows of kind 1.
    pub hists: Vec<FloatHistogram>,
    /// Smallest timestamp.
    pub min_t: i64,
    /// Largest timestamp.
    pub max_t: i64,
}

impl RowBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        RowBuffer {
            rows: Vec::new(),
            hists: Vec::new(),
            min_t: i64::MAX,
            max_t: i64::MIN,
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Reserves room for `n` more rows, growing by doubling but never past
    /// `cap` rows unless `n` itself needs it (avoids a 2× overshoot).
    pub fn reserve_capped(&mut self, n: usize, cap: usize) {
        let need = self.rows.len() + n;
        if need <= self.rows.capacity() {
            return;
        }
        let target = (self.rows.capacity() * 2)
            .max(1024)
            .min(cap.max(need))
            .max(need);
        self.rows.reserve_exact(target - self.rows.len());
    }

    /// Adds a float row.
    pub fn push_float(&mut self, sid: SeriesId, t: i64, bits: u64) {
        self.rows.push(Row {
            t,
            bits,
            sid,
            kind: 0,
        });
        self.min_t = self.min_t.min(t);
        self.max_t = self.max_t.max(t);
    }

    /// Adds a histogram row.
    pub fn push_hist(&mut self, sid: SeriesId, t: i64, h: FloatHistogram) {
        self.rows.push(Row {
            t,
            bits: self.hists.len() as u64,
            sid,
            kind: 1,
        });
        self.hists.push(h);
        self.min_t = self.min_t.min(t);
        self.max_t = self.max_t.max(t);
    }

    /// Approximate heap bytes.
    pub fn heap_bytes(&self) -> usize {
        self.rows.capacity() * std::mem::size_of::<Row>()
            + self.hists.capacity() * std::mem::size_of::<FloatHistogram>()
    }
}

/// A buffer that is being flushed; still visible to readers.
pub struct Frozen {
    /// Flush sequence number its part(s) will carry.
    pub seq: u64,
    /// The rows.
    pub buf: RowBuffer,
    /// Last WAL segment holding these rows.
    pub wal_segment: u64,
}

/// Per-series flag: the newest sample is a histogram.
pub const FLAG_LAST_HIST: u8 = 1;
/// Per-series flag: the newest value's bits are not known (restored from
/// part headers after a restart); a same-timestamp append must consult the
/// stored sample.
pub const FLAG_BITS_UNKNOWN: u8 = 2;

/// Per-series flag: the series was dropped from memory (see
/// [`crate::prune`]); its id takes no more samples.
pub const FLAG_DEAD: u8 = 4;

/// What [`SeriesState::check`] decided for a sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Newer than anything: append and advance.
    Append,
    /// Exact duplicate of the newest sample: accept, store nothing.
    Duplicate,
    /// Older than the newest sample but inside the out-of-order window.
    OutOfOrder,
    /// Same timestamp as the newest sample whose value bits are unknown.
    NeedsLookup,
}

/// Newest timestamp / value per series.
#[derive(Default)]
pub struct SeriesState {
    /// Newest timestamp (i64::MIN when none).
    pub last_t: Vec<i64>,
    /// Bits of the newest float value, or a hash of the newest histogram.
    pub last_bits: Vec<u64>,
    /// Flags (`FLAG_*`).
    pub flags: Vec<u8>,
    /// The newest histogram (as stored, with its stored counter-reset hint)
    /// of series whose newest known sample is a histogram; the previous
    /// sample the next histogram's hint is derived from.
    pub last_hist: hashbrown::HashMap<SeriesId, FloatHistogram>,
    /// Newest timestamp over all series.
    pub max_t: i64,
}

/// Hash standing in for a histogram's "value bits" in duplicate checks.
/// The counter-reset hint is left out: like Prometheus, a re-sent histogram
/// is a duplicate whatever its hint (and the store rewrites hints).
pub fn histogram_bits(h: &FloatHistogram) -> u64 {
    let mut b = Vec::with_capacity(128);
    crate::codec::hist::put_histogram(&mut b, h);
    // put_histogram starts with the hint byte.
    xxhash_rust::xxh3::xxh3_64(b.get(1..).unwrap_or_default())
}

impl SeriesState {
    /// Empty state.
    pub fn new() -> Self {
        SeriesState {
            max_t: i64::MIN,
            ..Default::default()
        }
    }

    /// Makes room for series `sid`.
    #[inline]
    pub fn ensure(&mut self, sid: SeriesId) {
        let need = sid as usize + 1;
        if self.last_t.len() < need {
            let cap = need.next_power_of_two().max(1024);
            self.last_t.reserve(cap - self.last_t.len());
            self.last_t.resize(need, i64::MIN);
            self.last_bits.resize(need, 0);
            self.flags.resize(need, 0);
        }
    }

    /// Decides what to do with a sample per Prometheus' rules: exact
    /// duplicates of the newest sample are accepted silently, a different
    /// value at the newest timestamp is a duplicate error, older samples are
    /// out of order unless inside `ooo_window` of the newest timestamp of
    /// any series (then accepted; older than that is "too old").
    #[inline]
    pub fn check(
        &self,
        sid: SeriesId,
        t: i64,
        bits: u64,
        is_hist: bool,
        ooo_window: i64,
    ) -> Result<Verdict, AppendError> {
        let i = sid as usize;
        let last = self.last_t.get(i).copied().unwrap_or(i64::MIN);
        if t > last {
            return Ok(Verdict::Append);
        }
        if t == last {
            let flags = self.flags[i];
            if flags & FLAG_BITS_UNKNOWN != 0 {
                return Ok(Verdict::NeedsLookup);
            }
            let same_kind = (flags & FLAG_LAST_HIST != 0) == is_hist;
            return if same_kind && self.last_bits[i] == bits {
                Ok(Verdict::Duplicate)
            } else {
                Err(AppendError::Duplicate)
            };
        }
        if ooo_window > 0 {
            if t >= self.max_t.saturating_sub(ooo_window) {
                return Ok(Verdict::OutOfOrder);
            }
            return Err(AppendError::TooOld);
        }
        Err(AppendError::OutOfOrder)
    }

    /// Records an appended sample as the series' newest.
    #[inline]
    pub fn advance(&mut self, sid: SeriesId, t: i64, bits: u64, is_hist: bool) {
        let i = sid as usize;
        self.last_t[i] = t;
        self.last_bits[i] = bits;
        self.flags[i] = if is_hist { FLAG_LAST_HIST } else { 0 };
        if t > self.max_t {
            self.max_t = t;
        }
    }

    /// Restores the newest timestamp from stored data (bits unknown).
    pub fn restore(&mut self, sid: SeriesId, t: i64) {
        self.ensure(sid);
        let i = sid as usize;
        if t > self.last_t[i] {
            self.last_t[i] = t;
            self.flags[i] = FLAG_BITS_UNKNOWN;
        }
        if t > self.max_t {
            self.max_t = t;
        }
    }

    /// Heap bytes.
    pub fn heap_bytes(&self) -> usize {
        let hist_heap: usize = self
            .last_hist
            .values()
            .map(|h| {
                std::mem::size_of::<FloatHistogram>()
                    + 8 * (h.positive_buckets.capacity()
                        + h.negative_buckets.capacity()
                        + h.custom_values.capacity()
                        + h.positive_spans.capacity()
                        + h.negative_spans.capacity())
            })
            .sum();
        self.last_t.capacity() * 8
            + self.last_bits.capacity() * 8
            + self.flags.capacity()
            + self.last_hist.capacity() * 4
            + hist_heap
    }
}

/// Shared handle to a frozen buffer.
pub type FrozenRef = Arc<Frozen>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_order_and_duplicate_rules() {
        let mut s = SeriesState::new();
        s.ensure(0);
        assert_eq!(s.check(0, 10, 1, false, 0), Ok(Verdict::Append));
        s.advance(0, 10, 1, false);
        assert_eq!(s.check(0, 10, 1, false, 0), Ok(Verdict::Duplicate));
        assert_eq!(s.check(0, 10, 2, false, 0), Err(AppendError::Duplicate));
        assert_eq!(s.check(0, 10, 1, true, 0), Err(AppendError::Duplicate));
        assert_eq!(s.check(0, 9, 1, false, 0), Err(AppendError::OutOfOrder));
        assert_eq!(s.check(0, 9, 1, false, 5), Ok(Verdict::OutOfOrder));
        assert_eq!(s.check(0, 4, 1, false, 5), Err(AppendError::TooOld));
        s.restore(0, 20);
        assert_eq!(s.check(0, 20, 1, false, 0), Ok(Verdict::NeedsLookup));
    }
}
