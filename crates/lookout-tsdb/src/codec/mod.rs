//! Column codecs for parts and the WAL: integers (timestamps, decimal
//! mantissas), floats and native histograms. Every codec round-trips
//! bit-exactly; the property tests in each module check it.

pub mod bytes;
pub mod floats;
pub mod hist;
pub mod ints;
pub mod zstd_ctx;

pub use ints::Effort;

/// A column could not be decoded.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// The input ended early.
    #[error("truncated input")]
    Truncated,
    /// The input is not a valid encoding.
    #[error("corrupt encoding: {0}")]
    Corrupt(&'static str),
}
