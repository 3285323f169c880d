//! Prometheus TSDB block format (index v2, chunk segments, XOR chunks,
//! meta.json, tombstones): reading Prometheus data dirs and writing blocks
//! that `promtool tsdb analyze --extended` accepts. See
//! `reference/tsdb-format.md`; everything here is written from that
//! description, bit-exact where Prometheus' readers care.
//!
//! Layout: [`xor`] (chunk encoding) over [`bstream`]; [`chunks`] (segment
//! files); [`index_writer`]/[`index_reader`]; [`meta`]; [`tombstones`];
//! [`block`] ties them into [`BlockWriter`] / [`BlockReader`] and lists
//! data dirs.

pub mod block;
pub mod bstream;
pub mod chunks;
pub mod index_reader;
pub mod index_writer;
pub mod meta;
pub mod tombstones;
pub mod varint;
pub mod xor;

pub use block::{
    is_ulid, list_blocks, window_start, BlockReader, BlockSeries, BlockWriter, BLOCK_RANGE_MS,
    TARGET_SAMPLES_PER_CHUNK,
};
pub use index_writer::ChunkMeta;
pub use meta::BlockMeta;

/// Errors reading or writing Prometheus blocks.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// An I/O failure.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The data on disk is damaged or not in the expected format.
    #[error("corrupt block data: {0}")]
    Corrupt(String),
    /// A valid but unsupported variant (e.g. index v1).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The caller passed data the format cannot hold (unsorted series, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
}
