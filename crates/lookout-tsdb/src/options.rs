//! Store options and their defaults.

use std::time::Duration;

/// When the WAL is `fdatasync`ed. Every policy `write()`s a commit's record
/// before the commit returns, so acknowledged data survives a killed
/// process; the policy decides what survives a power loss or kernel crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// `fdatasync` before every commit returns (slowest, nothing lost on
    /// power loss).
    Always,
    /// A background thread `fdatasync`s the WAL and series log at this
    /// interval when they changed (group commit; at most this much is lost
    /// on power loss).
    Interval(Duration),
    /// Never fsync anything (WAL, parts, checkpoint, directories). Still
    /// safe against a killed process (the page cache keeps every `write()`),
    /// not against power loss; for tests and throwaway stores, where it makes
    /// open + close take about a millisecond.
    Never,
}

/// Options for [`crate::Db::open`]. `Options::default()` suits a server;
/// [`Options::for_tests`] suits tiny throwaway stores.
#[derive(Clone, Debug)]
pub struct Options {
    /// Delete data older than this (wall clock), by whole UTC days. `None`
    /// keeps everything. Default 15 days, like Prometheus.
    pub retention: Option<Duration>,
    /// Delete the oldest days while the store is larger than this many
    /// bytes (the newest day is never deleted). `None` = no size limit.
    pub retention_bytes: Option<u64>,
    /// Accept samples older than a series' newest sample when they are no
    /// older than the newest sample of any series minus this many
    /// milliseconds (Prometheus' `out_of_order_time_window`). 0 disables
    /// out-of-order ingestion. An out-of-order sample at the timestamp of a
    /// stored one is a no-op when the value is the same and refused as a
    /// duplicate otherwise (at commit: through `Appender` it is dropped,
    /// through `Db::append_batch` it is listed in the report).
    pub out_of_order_time_window: i64,
    /// WAL sync policy. Default: group `fdatasync` every 200 ms.
    pub fsync: FsyncPolicy,
    /// Flush the head into a part when it holds this many rows (24 bytes
    /// each). Default 1 Mi rows.
    pub head_max_rows: usize,
    /// Flush the head at least this often when it is not empty; bounds WAL
    /// size and replay time. Default 60 s.
    pub head_flush_interval: Duration,
    /// Longest per-series block in merged parts. Default 8192.
    pub max_block_samples: usize,
    /// A day is merged into its final compact part once it ended this long
    /// ago (plus the out-of-order window). Default 1 h.
    pub final_merge_delay: Duration,
    /// `pco` level for final parts (0–12). Default 4.
    pub final_compression_level: u8,
    /// Merge a day's young parts once it has at least this many. Default 8.
    pub merge_min_parts: usize,
    /// Drop a series' labels and postings from memory once it has written
    /// nothing for this long (in sample time, behind the newest sample of
    /// the store) and all its data sits in final parts with label indexes;
    /// queries still find it through those indexes. Default 1 h.
    pub drop_idle_series_after: Duration,
    /// Bytes of read granules and decoded blocks kept for repeated queries
    /// (see [`crate::cache`]); 0 disables the cache. Default 64 MiB.
    pub read_cache_bytes: usize,
    /// Run background flushing, syncing, merging and retention threads.
    /// Without them data is flushed on [`crate::Db::close`] and by explicit
    /// calls only. Default true.
    pub background: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            retention: Some(Duration::from_secs(15 * 24 * 3600)),
            retention_bytes: None,
            out_of_order_time_window: 0,
            fsync: FsyncPolicy::Interval(Duration::from_millis(200)),
            head_max_rows: 1 << 20,
            head_flush_interval: Duration::from_secs(60),
            max_block_samples: 8192,
            final_merge_delay: Duration::from_secs(3600),
            final_compression_level: 4,
            merge_min_parts: 8,
            drop_idle_series_after: Duration::from_secs(3600),
            read_cache_bytes: 64 << 20,
            background: true,
        }
    }
}

impl Options {
    /// Options for tests and tools working on historical data: no
    /// retention, no background threads, no WAL fsync.
    pub fn for_tests() -> Self {
        Options {
            retention: None,
            fsync: FsyncPolicy::Never,
            background: false,
            ..Options::default()
        }
    }
}
