//! Store statistics for `lookout tsdb stats` and benchmarks.

use std::sync::atomic::Ordering;

use crate::db::Db;

/// Sizes and counts of a store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Registered series ids (including series dropped from memory).
    pub series: u64,
    /// Series whose labels and postings are held in memory (recently
    /// written ones).
    pub series_in_memory: u64,
    /// Days with parts.
    pub days: u64,
    /// Parts.
    pub parts: u64,
    /// Final (compact) parts.
    pub final_parts: u64,
    /// Samples in parts.
    pub part_samples: u64,
    /// Samples in the head (not yet in parts).
    pub head_samples: u64,
    /// Blocks in parts.
    pub blocks: u64,
    /// Bytes of timestamp payloads.
    pub bytes_timestamps: u64,
    /// Bytes of value payloads.
    pub bytes_values: u64,
    /// Bytes of block indexes.
    pub bytes_block_index: u64,
    /// Part files in total.
    pub bytes_parts: u64,
    /// `series.log` plus `series.snap` (the label sets).
    pub bytes_series_log: u64,
    /// WAL segments.
    pub bytes_wal: u64,
    /// Samples appended since open.
    pub appended_since_open: u64,
    /// Out-of-order samples accepted since open.
    pub out_of_order_since_open: u64,
    /// Flushes since open.
    pub flushes_since_open: u64,
    /// Merges since open.
    pub merges_since_open: u64,
    /// Approximate heap bytes of the registry and head.
    pub heap_bytes: u64,
    /// Of those, the registry's (labels, symbols, postings, id tables).
    pub registry_heap_bytes: u64,
}

impl Stats {
    /// All bytes on disk.
    pub fn bytes_total(&self) -> u64 {
        self.bytes_parts + self.bytes_series_log + self.bytes_wal
    }

    /// All samples.
    pub fn samples(&self) -> u64 {
        self.part_samples + self.head_samples
    }
}

fn file_len(p: &std::path::Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

impl Db {
    /// Current statistics.
    pub fn stats(&self) -> Stats {
        let inner = &self.inner;
        let mut s = Stats::default();
        let (parts, head_rows, head_heap) = {
            let h = inner.head.lock();
            let frozen: usize = h.frozen.iter().map(|f| f.buf.len()).sum();
            (
                std::sync::Arc::clone(&h.parts),
                h.active.len() + frozen,
                h.active.heap_bytes() + h.state.heap_bytes(),
            )
        };
        {
            let reg = inner.registry.read();
            s.series = reg.len() as u64;
            s.series_in_memory = reg.live_len() as u64;
            s.heap_bytes = (reg.heap_bytes() + head_heap) as u64;
            s.registry_heap_bytes = reg.heap_bytes() as u64;
        }
        s.days = parts.days.len() as u64;
        for p in parts.iter() {
            s.parts += 1;
            s.final_parts += u64::from(p.meta.compact);
            s.part_samples += p.meta.float_samples + p.meta.hist_samples;
            s.blocks += p.meta.blocks;
            s.bytes_timestamps += p.meta.bytes_ts;
            s.bytes_values += p.meta.bytes_values;
            s.bytes_block_index += p.meta.bytes_index;
            s.bytes_parts += p.meta.bytes_total;
        }
        s.head_samples = head_rows as u64;
        s.bytes_series_log = file_len(&inner.dir.join("series.log"))
            + file_len(&inner.dir.join(crate::series_snapshot::FILE));
        s.bytes_wal = std::fs::read_dir(inner.dir.join("wal"))
            .map(|rd| {
                rd.filter_map(|e| e.ok()?.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        let c = &inner.counters;
        s.appended_since_open = c.appended.load(Ordering::Relaxed);
        s.out_of_order_since_open = c.out_of_order.load(Ordering::Relaxed);
        s.flushes_since_open = c.flushes.load(Ordering::Relaxed);
        s.merges_since_open = c.merges.load(Ordering::Relaxed);
        s
    }
}
