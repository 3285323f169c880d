//! Internal, step-vectorised value representation.
//!
//! Every expression is evaluated over a whole grid of steps at once. An
//! instant vector is a list of series, each with at most one point per step;
//! label sets are computed once per series, never per step.

use std::sync::Arc;

use lookout_model::{FloatHistogram, FloatSample, Labels};

/// A shared histogram.
pub(crate) type Hist = Arc<FloatHistogram>;

/// A point value.
#[derive(Clone, Debug)]
pub(crate) enum V {
    F(f64),
    H(Hist),
}

/// A point at an evaluation step.
#[derive(Clone, Debug)]
pub(crate) struct Pt {
    pub t: i64,
    pub v: V,
}

/// A series of an instant-vector result over the grid.
#[derive(Clone, Debug)]
pub(crate) struct SeriesV {
    pub labels: Labels,
    /// Delayed `__name__` removal: drop the name when the result is final.
    pub drop_name: bool,
    pub pts: Vec<Pt>,
}

/// The evaluation grid: `start, start+step, ..., end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Grid {
    pub start: i64,
    pub end: i64,
    pub step: i64,
}

impl Grid {
    pub fn instant(t: i64) -> Grid {
        Grid {
            start: t,
            end: t,
            step: 1,
        }
    }

    pub fn len(&self) -> usize {
        if self.end < self.start || self.step <= 0 {
            return 0;
        }
        ((self.end - self.start) / self.step) as usize + 1
    }

    pub fn t(&self, i: usize) -> i64 {
        self.start + i as i64 * self.step
    }

    pub fn index(&self, t: i64) -> usize {
        ((t - self.start) / self.step.max(1)) as usize
    }

    pub fn times(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.len()).map(move |i| self.t(i))
    }
}

/// One series of a range vector: raw samples (no staleness markers).
#[derive(Clone, Debug, Default)]
pub(crate) struct RangeSeries {
    pub labels: Labels,
    pub drop_name: bool,
    pub floats: Vec<FloatSample>,
    pub hists: Vec<(i64, Hist)>,
}

/// A range vector argument: series plus how to window them per step.
#[derive(Clone, Debug)]
pub(crate) struct RangeVal {
    pub series: Vec<RangeSeries>,
    /// Window length, ms.
    pub range: i64,
    /// Offset, ms.
    pub offset: i64,
    /// `@` time, ms.
    pub at: Option<i64>,
    pub anchored: bool,
    pub smoothed: bool,
}

impl RangeVal {
    /// Window end for the step at `t`.
    pub fn window_end(&self, t: i64) -> i64 {
        self.at.unwrap_or(t) - self.offset
    }
}

/// An evaluated expression.
#[derive(Clone, Debug)]
pub(crate) enum Val {
    Scalar(Vec<f64>),
    Str(String),
    Vector(Vec<SeriesV>),
    Matrix(RangeVal),
}

impl Val {
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Scalar(_) => "scalar",
            Val::Str(_) => "string",
            Val::Vector(_) => "instant vector",
            Val::Matrix(_) => "range vector",
        }
    }
}

/// Index range `[lo, hi)` of samples with `start < t <= end` in a sorted
/// slice, advancing the cursors monotonically.
#[derive(Default, Clone, Copy)]
pub(crate) struct Cursor {
    pub lo: usize,
    pub hi: usize,
}

impl Cursor {
    pub fn advance<T>(&mut self, items: &[T], ts: impl Fn(&T) -> i64, start: i64, end: i64) {
        // Windows only move forward, except with `@` (all equal) — handle a
        // backwards move by restarting.
        if self.hi > 0 && self.hi <= items.len() && ts(&items[self.hi - 1]) > end {
            *self = Cursor::default();
        }
        if self.lo > 0 && self.lo <= items.len() && ts(&items[self.lo - 1]) > start {
            *self = Cursor::default();
        }
        while self.hi < items.len() && ts(&items[self.hi]) <= end {
            self.hi += 1;
        }
        while self.lo < self.hi && ts(&items[self.lo]) <= start {
            self.lo += 1;
        }
        if self.lo > self.hi {
            self.lo = self.hi;
        }
    }
}
