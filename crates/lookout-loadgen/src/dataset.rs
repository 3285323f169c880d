//! Dataset definitions and the deterministic per-series value processes.

use crate::rng::Rng;
use lookout_model::labels::{Label, Labels};

/// How noisy the data is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entropy {
    /// Timestamps exactly `interval` apart, values integers or ≤ 2 decimals
    /// (what a Prometheus scrape of a typical exporter looks like).
    ScrapeLike,
    /// ±2 ms timestamp jitter and full-precision float values.
    HighEntropy,
}

/// The value process a metric follows; metric `m` uses kind `m % 5`, so each
/// kind covers one fifth of the series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// Integer counter growing by Poisson-distributed steps (`*_total`).
    IntCounter,
    /// Two-decimal "cpu-seconds" counter (`*_total`).
    CpuSecondsCounter,
    /// A value that never changes.
    Constant,
    /// A byte gauge moving in 4 KiB steps.
    ByteGauge,
    /// A two-decimal random walk.
    RandomWalk,
}

impl ValueKind {
    /// Kind of metric number `m`.
    pub fn of_metric(m: u32) -> Self {
        match m % 5 {
            0 => ValueKind::IntCounter,
            1 => ValueKind::CpuSecondsCounter,
            2 => ValueKind::Constant,
            3 => ValueKind::ByteGauge,
            _ => ValueKind::RandomWalk,
        }
    }

    /// Whether the metric is a counter (name gets `_total`, TYPE counter).
    pub fn is_counter(self) -> bool {
        matches!(self, ValueKind::IntCounter | ValueKind::CpuSecondsCounter)
    }
}

/// A complete description of a dataset. Equal specs give bit-identical data.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    /// Number of metric names.
    pub metrics: u32,
    /// Series per metric name (distinct `instance` values).
    pub series_per_metric: u32,
    /// Timestamp of the first sample, milliseconds.
    pub start_ms: i64,
    /// Distance between samples, milliseconds.
    pub interval_ms: i64,
    /// Samples per series.
    pub points: u32,
    /// Seed of every random choice.
    pub seed: u64,
    /// Noise level.
    pub entropy: Entropy,
    /// Add a globally unique `idx` label (ingest/cardinality tests).
    pub idx_label: bool,
    /// Metric name prefix; metric `m` is `<prefix>_<m>` (plus `_total` for counters).
    pub metric_prefix: String,
    /// Value of the `job` label.
    pub job: String,
}

impl Spec {
    /// The storage bar of performance-anchors §4.4: 50 metrics × 200 series,
    /// 6 h at 15 s (14.4 M samples).
    pub fn storage_bar(start_ms: i64, seed: u64) -> Self {
        Spec {
            metrics: 50,
            series_per_metric: 200,
            start_ms,
            interval_ms: 15_000,
            points: 6 * 240,
            seed,
            entropy: Entropy::ScrapeLike,
            idx_label: false,
            metric_prefix: "bf_metric".into(),
            job: "loadgen".into(),
        }
    }

    /// Total number of series.
    pub fn series(&self) -> u64 {
        self.metrics as u64 * self.series_per_metric as u64
    }

    /// Total number of samples.
    pub fn samples(&self) -> u64 {
        self.series() * self.points as u64
    }

    /// Timestamp of the last sample without jitter, milliseconds.
    pub fn end_ms(&self) -> i64 {
        self.start_ms + self.interval_ms * (self.points as i64 - 1).max(0)
    }

    /// Metric name of family `m` without the counter suffix.
    pub fn family_name(&self, m: u32) -> String {
        format!("{}_{}", self.metric_prefix, m)
    }

    /// Full sample name of metric `m` (`_total` for counters).
    pub fn metric_name(&self, m: u32) -> String {
        if ValueKind::of_metric(m).is_counter() {
            format!("{}_{}_total", self.metric_prefix, m)
        } else {
            self.family_name(m)
        }
    }

    /// Labels of series number `idx` (0-based; metric-major).
    pub fn labels(&self, idx: u64) -> Labels {
        let m = (idx / self.series_per_metric as u64) as u32;
        let s = idx % self.series_per_metric as u64;
        let mut v = Vec::with_capacity(4);
        v.push(Label {
            name: "__name__".into(),
            value: self.metric_name(m),
        });
        if self.idx_label {
            v.push(Label {
                name: "idx".into(),
                value: idx.to_string(),
            });
        }
        v.push(Label {
            name: "instance".into(),
            value: format!("host-{s:05}:9100"),
        });
        v.push(Label {
            name: "job".into(),
            value: self.job.clone(),
        });
        Labels::from_sorted(v)
    }

    /// The value process of series `idx`, positioned before its first sample.
    pub fn series_gen(&self, idx: u64) -> SeriesGen {
        let m = (idx / self.series_per_metric.max(1) as u64) as u32;
        SeriesGen::new(self, ValueKind::of_metric(m), idx)
    }
}

/// Generates one series' samples in time order.
#[derive(Clone, Debug)]
pub struct SeriesGen {
    rng: Rng,
    kind: ValueKind,
    entropy: Entropy,
    /// Integer state: counter value, cents, or 4 KiB units.
    int_state: i64,
    /// Float state for high-entropy data.
    float_state: f64,
    /// Per-series rate parameter.
    rate: f64,
    next_t: i64,
    interval_ms: i64,
    remaining: u32,
    first: bool,
}

impl SeriesGen {
    fn new(spec: &Spec, kind: ValueKind, idx: u64) -> Self {
        let mut rng = Rng::new(spec.seed, idx);
        let (int_state, rate) = match kind {
            ValueKind::IntCounter => (rng.range_i64(0, 1_000_000), 0.2 + rng.unit() * 10.0),
            ValueKind::CpuSecondsCounter => (rng.range_i64(0, 10_000_000), rng.unit() * 2.0),
            ValueKind::Constant => {
                let choices = [0, 1, 1, 2, 4, 8, 16, 100];
                (choices[(rng.next_u64() % 8) as usize], 0.0)
            }
            ValueKind::ByteGauge => (rng.range_i64(10_000, 2_500_000), 0.0),
            ValueKind::RandomWalk => (rng.range_i64(-50_000, 100_000), 0.0),
        };
        let float_state = match kind {
            ValueKind::CpuSecondsCounter | ValueKind::RandomWalk => int_state as f64 / 100.0,
            ValueKind::ByteGauge => (int_state * 4096) as f64,
            ValueKind::Constant if spec.entropy == Entropy::HighEntropy => rng.unit() * 1e3,
            _ => int_state as f64,
        };
        SeriesGen {
            rng,
            kind,
            entropy: spec.entropy,
            int_state,
            float_state,
            rate,
            next_t: spec.start_ms,
            interval_ms: spec.interval_ms,
            remaining: spec.points,
            first: true,
        }
    }

    /// The value kind of this series.
    pub fn kind(&self) -> ValueKind {
        self.kind
    }

    fn step_scrape_like(&mut self) -> f64 {
        let s = &mut self.int_state;
        match self.kind {
            ValueKind::IntCounter => {
                *s += self.rng.poisson(self.rate) as i64;
                *s as f64
            }
            ValueKind::CpuSecondsCounter => {
                // cents of CPU time per 15 s at `rate` cores, ±50 %.
                let cents = self.rate * 1500.0 * (0.5 + self.rng.unit());
                *s += cents as i64;
                *s as f64 / 100.0
            }
            ValueKind::Constant => *s as f64,
            ValueKind::ByteGauge => {
                if !self.rng.next_u64().is_multiple_of(4) {
                    *s = (*s + self.rng.range_i64(-8, 8)).max(0);
                }
                (*s * 4096) as f64
            }
            ValueKind::RandomWalk => {
                *s += self.rng.range_i64(-100, 100);
                *s as f64 / 100.0
            }
        }
    }

    fn step_high_entropy(&mut self) -> f64 {
        let f = &mut self.float_state;
        match self.kind {
            ValueKind::IntCounter => *f += self.rate * 2.0 * self.rng.unit(),
            ValueKind::CpuSecondsCounter => *f += self.rate * 15.0 * (0.5 + self.rng.unit()),
            ValueKind::Constant => {}
            ValueKind::ByteGauge => *f = (*f + 4096.0 * 16.0 * (self.rng.unit() - 0.5)).max(0.0),
            ValueKind::RandomWalk => *f += self.rng.unit() - 0.5,
        }
        *f
    }
}

impl Iterator for SeriesGen {
    type Item = (i64, f64);

    fn next(&mut self) -> Option<(i64, f64)> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let base_t = self.next_t;
        self.next_t += self.interval_ms;
        let (t, v) = match self.entropy {
            Entropy::ScrapeLike => {
                let v = if self.first {
                    self.first_value()
                } else {
                    self.step_scrape_like()
                };
                (base_t, v)
            }
            Entropy::HighEntropy => {
                let jitter = self.rng.range_i64(-2, 2);
                let v = if self.first {
                    self.float_state
                } else {
                    self.step_high_entropy()
                };
                (base_t + jitter, v)
            }
        };
        self.first = false;
        Some((t, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining as usize, Some(self.remaining as usize))
    }
}

impl SeriesGen {
    fn first_value(&self) -> f64 {
        match self.kind {
            ValueKind::IntCounter | ValueKind::Constant => self.int_state as f64,
            ValueKind::CpuSecondsCounter | ValueKind::RandomWalk => self.int_state as f64 / 100.0,
            ValueKind::ByteGauge => (self.int_state * 4096) as f64,
        }
    }
}

/// One generated sample: series index, timestamp (ms), value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GenSample {
    /// Series index (0-based, metric-major); see [`Spec::labels`].
    pub series: u64,
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    /// Sample value.
    pub v: f64,
}

/// Every sample of a spec, time-major: all series at step 0, then step 1...
/// (the order a scraper or a remote-write sender produces). Holds one
/// generator per series (~100 bytes each).
pub struct TimeMajor {
    gens: Vec<SeriesGen>,
    cursor: usize,
}

impl TimeMajor {
    /// Starts at the first sample of series 0.
    pub fn new(spec: &Spec) -> Self {
        TimeMajor {
            gens: (0..spec.series()).map(|i| spec.series_gen(i)).collect(),
            cursor: 0,
        }
    }
}

impl Iterator for TimeMajor {
    type Item = GenSample;

    fn next(&mut self) -> Option<GenSample> {
        if self.gens.is_empty() {
            return None;
        }
        if self.cursor == self.gens.len() {
            self.cursor = 0;
        }
        let i = self.cursor;
        let (t, v) = self.gens.get_mut(i)?.next()?;
        self.cursor += 1;
        Some(GenSample {
            series: i as u64,
            t,
            v,
        })
    }
}

/// Every sample of a spec, series-major: all of series 0, then series 1...
pub fn series_major(spec: &Spec) -> impl Iterator<Item = GenSample> + '_ {
    (0..spec.series()).flat_map(move |i| {
        spec.series_gen(i)
            .map(move |(t, v)| GenSample { series: i, t, v })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(entropy: Entropy) -> Spec {
        Spec {
            metrics: 10,
            series_per_metric: 7,
            start_ms: 1_700_000_000_000,
            interval_ms: 15_000,
            points: 50,
            seed: 42,
            entropy,
            idx_label: true,
            metric_prefix: "m".into(),
            job: "j".into(),
        }
    }

    #[test]
    fn time_major_and_series_major_agree() {
        for e in [Entropy::ScrapeLike, Entropy::HighEntropy] {
            let spec = small(e);
            let mut a: Vec<GenSample> = TimeMajor::new(&spec).collect();
            let b: Vec<GenSample> = series_major(&spec).collect();
            assert_eq!(a.len() as u64, spec.samples());
            a.sort_by_key(|s| (s.series, s.t));
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(
                    (x.series, x.t, x.v.to_bits()),
                    (y.series, y.t, y.v.to_bits())
                );
            }
        }
    }

    #[test]
    fn scrape_like_is_regular_and_decimal() {
        let spec = small(Entropy::ScrapeLike);
        for i in 0..spec.series() {
            let kind = spec.series_gen(i).kind();
            let pts: Vec<(i64, f64)> = spec.series_gen(i).collect();
            for w in pts.windows(2) {
                assert_eq!(w[1].0 - w[0].0, 15_000);
                if kind.is_counter() {
                    assert!(w[1].1 >= w[0].1, "counter decreased");
                }
                if kind == ValueKind::Constant {
                    assert_eq!(w[1].1, w[0].1);
                }
            }
            for &(_, v) in &pts {
                let cents = (v * 100.0).round();
                assert_eq!(cents / 100.0, v, "{v} has more than two decimals");
                if kind == ValueKind::ByteGauge {
                    assert_eq!(v % 4096.0, 0.0);
                }
            }
        }
    }

    #[test]
    fn high_entropy_jitters_within_2ms() {
        let spec = small(Entropy::HighEntropy);
        let mut jittered = 0;
        for i in 0..spec.series() {
            for (k, (t, _)) in spec.series_gen(i).enumerate() {
                let d = t - (spec.start_ms + k as i64 * 15_000);
                assert!((-2..=2).contains(&d));
                jittered += (d != 0) as u32;
            }
        }
        assert!(jittered > 100);
    }

    #[test]
    fn labels_are_unique_and_sorted() {
        let spec = small(Entropy::ScrapeLike);
        let mut all: Vec<Labels> = (0..spec.series()).map(|i| spec.labels(i)).collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
        assert_eq!(spec.labels(0).get("__name__"), Some("m_0_total"));
        assert_eq!(spec.labels(14).get("__name__"), Some("m_2"));
        assert_eq!(spec.labels(14).get("idx"), Some("14"));
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let a: Vec<_> = series_major(&small(Entropy::ScrapeLike)).collect();
        let b: Vec<_> = series_major(&small(Entropy::ScrapeLike)).collect();
        let mut s = small(Entropy::ScrapeLike);
        s.seed = 43;
        let c: Vec<_> = series_major(&s).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
