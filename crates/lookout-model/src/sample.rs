//! Samples and Prometheus' staleness marker.

use crate::histogram::FloatHistogram;

/// Bit pattern of Prometheus' staleness marker, a signalling-style NaN that
/// differs from the NaN arithmetic produces (`0x7ff8000000000001`).
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker as an `f64`. Compare with [`is_stale_nan`], never `==`.
pub const STALE_NAN: f64 = f64::from_bits(STALE_NAN_BITS);

/// Whether `v` is the staleness marker (bit-exact comparison).
#[inline]
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// A float sample: millisecond timestamp and value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FloatSample {
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    /// Sample value (may be NaN, ±Inf or the staleness marker).
    pub v: f64,
}

/// A native histogram sample.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramSample {
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    /// The histogram (integer histograms are stored and served as floats).
    pub h: FloatHistogram,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_marker_is_distinct_from_plain_nan() {
        assert!(is_stale_nan(STALE_NAN));
        assert!(STALE_NAN.is_nan());
        assert!(!is_stale_nan(f64::NAN));
    }
}
