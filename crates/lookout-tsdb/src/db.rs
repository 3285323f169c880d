//! The store handle: open/replay, commit, flush, close.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lookout_model::storage::{AppendError, StorageError};
use lookout_model::{FloatHistogram, Labels};
use parking_lot::{Condvar, Mutex, RwLock};

use crate::codec::Effort;
use crate::head::{histogram_bits, Frozen, RowBuffer, SeriesState};
use crate::layout::{self, Checkpoint, DAY_MS};
use crate::options::{FsyncPolicy, Options};
use crate::part::{Part, PartWriter};
use crate::registry::{Registry, SeriesId};
use crate::wal::{self, FramedFile};

/// Errors from opening or maintaining a store.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// I/O failure.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// On-disk data is damaged beyond automatic repair.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// Another process has the data directory open.
    #[error("data directory {0} is locked by another process")]
    Locked(PathBuf),
}

impl From<DbError> for StorageError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Io { source, .. } => StorageError::Io(source),
            other => StorageError::Corrupt(other.to_string()),
        }
    }
}

pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> DbError {
    let context = context.into();
    move |source| DbError::Io { context, source }
}

/// A stable handle to a series for the native batch API; valid for the
/// lifetime of the [`Db`] that issued it (and across restarts of the same
/// data directory).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesRef(pub(crate) SeriesId);

impl SeriesRef {
    /// The numeric series id.
    pub fn id(self) -> u32 {
        self.0
    }
}

/// Outcome of a committed batch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CommitReport {
    /// Samples stored.
    pub appended: usize,
    /// Of those, samples accepted through the out-of-order window.
    pub out_of_order: usize,
    /// Exact duplicates of a series' newest sample, accepted without storing.
    pub duplicates: usize,
    /// Refused samples: index (floats first, then histograms) and reason.
    pub rejected: Vec<(usize, AppendError)>,
}

/// One sample of a batch handed to the commit path.
#[derive(Clone, Copy)]
pub(crate) struct BatchItem<'a> {
    pub(crate) sid: SeriesId,
    pub(crate) t: i64,
    /// Float value bits, or [`histogram_bits`] of `hist`.
    pub(crate) bits: u64,
    pub(crate) hist: Option<&'a FloatHistogram>,
    /// Index reported for a refused sample.
    pub(crate) index: usize,
}

/// Parts per day, each day's parts ordered by first flush sequence number.
#[derive(Default)]
pub struct PartSet {
    /// Day number → parts.
    pub days: BTreeMap<i64, Vec<Arc<Part>>>,
}

impl PartSet {
    /// Every part, oldest day first.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Part>> {
        self.days.values().flatten()
    }
}

/// Series records are buffered (one `write()` per commit instead of one per
/// new series) and written before any WAL record that names them.
const SERIES_LOG_BUFFER: usize = 1 << 20;

/// Heap budget for loaded part label indexes (queries over days whose
/// series were dropped from memory).
const DAY_INDEX_CACHE_BYTES: usize = 64 << 20;

/// Frozen buffers allowed to wait for the flusher before committers help.
pub(crate) const MAX_FROZEN: usize = 2;

struct SeriesLog {
    file: FramedFile,
    pending: Vec<u8>,
}

impl SeriesLog {
    fn write_pending(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.file.write_frames(&self.pending)?;
        self.pending.clear();
        Ok(())
    }
}

pub(crate) struct Head {
    pub(crate) state: SeriesState,
    pub(crate) active: RowBuffer,
    pub(crate) active_since: Instant,
    pub(crate) frozen: Vec<Arc<Frozen>>,
    pub(crate) wal: FramedFile,
    pub(crate) wal_segment: u64,
    pub(crate) next_seq: u64,
    pub(crate) parts: Arc<PartSet>,
    pub(crate) scratch: Vec<u8>,
    pub(crate) frame: Vec<u8>,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) appended: AtomicU64,
    pub(crate) out_of_order: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) flushes: AtomicU64,
    pub(crate) merges: AtomicU64,
}

pub(crate) struct Signal {
    stop: Mutex<bool>,
    cv: Condvar,
}

impl Signal {
    /// Waits up to `d`; returns true when stopping.
    pub(crate) fn wait(&self, d: Duration) -> bool {
        let mut s = self.stop.lock();
        if !*s {
            self.cv.wait_for(&mut s, d);
        }
        *s
    }
    pub(crate) fn wake(&self) {
        self.cv.notify_all();
    }
}

pub(crate) struct Inner {
    pub(crate) dir: PathBuf,
    pub(crate) opts: Options,
    pub(crate) registry: RwLock<Registry>,
    series_log: Mutex<SeriesLog>,
    /// Whether `series_log.pending` holds records (checked without the lock).
    pub(crate) series_pending: AtomicBool,
    /// Size of `series.snap`.
    snap_bytes: AtomicU64,
    pub(crate) head: Mutex<Head>,
    flush_lock: Mutex<()>,
    pub(crate) compact_lock: Mutex<()>,
    pub(crate) signal: Signal,
    pub(crate) wal_dirty: AtomicBool,
    /// Number of registered series, readable without the registry lock
    /// (commit holds the head lock and must not wait for the registry).
    pub(crate) series_count: std::sync::atomic::AtomicU32,
    /// Days up to this one may hold series whose labels are only in part
    /// indexes (`i64::MIN`: none).
    pub(crate) cold_through: AtomicI64,
    /// Registered-series count at the previous pruning round.
    pub(crate) prune_watermark: std::sync::atomic::AtomicU32,
    /// Loaded part label indexes.
    pub(crate) day_indexes: crate::day_index::DayIndexCache,
    /// When idle series were last looked for.
    pub(crate) last_prune: Mutex<Option<Instant>>,
    /// Read granules and decoded blocks.
    pub(crate) read_cache: crate::cache::ReadCache,
    /// Dead series ids seen in batches → live id of the same label set.
    pub(crate) forwarded: Mutex<hashbrown::HashMap<SeriesId, SeriesId>>,
    pub(crate) counters: Counters,
    _lock_file: File,
}

/// lookout's metrics store. Open with [`Db::open`], write through
/// [`lookout_model::storage::Appendable`] or the native batch API
/// ([`Db::series_ref`], [`Db::append_batch`]), read through
/// [`lookout_model::storage::Querier`], and [`Db::close`] when done.
pub struct Db {
    pub(crate) inner: Arc<Inner>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    closed: AtomicBool,
}

fn lock_dir(dir: &Path) -> Result<File, DbError> {
    let f = File::create(dir.join("LOCK")).map_err(io_err("creating LOCK"))?;
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a file descriptor we own; no memory is involved.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        return Err(DbError::Locked(dir.to_path_buf()));
    }
    Ok(f)
}

impl Db {
    /// Opens (creating if needed) the store in `dir`: loads the series log,
    /// part metadata and the newest parts' block headers, and replays the
    /// WAL (only data not yet in parts).
    pub fn open(dir: impl AsRef<Path>, opts: Options) -> Result<Db, DbError> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(dir.join("wal"))
            .map_err(io_err(format!("creating {}", dir.display())))?;
        let lock_file = lock_dir(&dir)?;
        let ckpt = layout::read_checkpoint(&dir).map_err(io_err("reading checkpoint"))?;

        // Series.
        let slog_path = dir.join("series.log");
        let sbuf = wal::read_and_repair(&slog_path).map_err(io_err("reading series.log"))?;
        let (frames, valid) = wal::read_frames(&sbuf);
        let mut registry = Registry::new();
        crate::series_snapshot::load(&dir, &mut registry)
            .map_err(|e| DbError::Corrupt(e.to_string()))?;
        let snap_count = registry.len();
        let snap_bytes =
            fs::metadata(dir.join(crate::series_snapshot::FILE)).map_or(0, |m| m.len());
        for f in frames {
            let (sid, labels) =
                wal::decode_series(f).map_err(|e| DbError::Corrupt(format!("series.log: {e}")))?;
            if (sid as usize) < snap_count {
                // Already in the snapshot (crash before the log was emptied).
                continue;
            }
            if sid as usize != registry.len() {
                return Err(DbError::Corrupt(format!(
                    "series.log: expected id {}, found {sid}",
                    registry.len()
                )));
            }
            registry
                .insert(&labels)
                .map_err(|e| DbError::Corrupt(e.to_string()))?;
        }
        let series_log = FramedFile::open_append(&slog_path, valid as u64)
            .map_err(io_err("opening series.log"))?;

        // Parts.
        let found = layout::discover_parts(&dir, ckpt).map_err(io_err("listing parts"))?;
        let mut parts = PartSet::default();
        let mut max_seq = ckpt.flush_seq;
        for (day, list) in found {
            let mut v = Vec::with_capacity(list.len());
            for fp in list {
                max_seq = max_seq.max(fp.hi);
                match Part::open(&fp.path) {
                    Ok(p) => v.push(Arc::new(p)),
                    Err(e) => {
                        // Keep serving the rest instead of refusing to start;
                        // the file stays next to the data for inspection.
                        let aside = fp.path.with_extension("part.corrupt");
                        tracing::error!(error = %e, moved_to = %aside.display(), "quarantining unreadable part");
                        let _ = fs::rename(&fp.path, &aside);
                    }
                }
            }
            if !v.is_empty() {
                parts.days.insert(day, v);
            }
        }

        // Newest timestamps: headers of the two newest days (older samples
        // of series that were silent since then are refused as out of order,
        // like Prometheus refuses samples older than its head).
        let mut state = SeriesState::new();
        for parts_of_day in parts.days.values().rev().take(2) {
            for p in parts_of_day {
                for gi in 0..p.granules.len() {
                    let g = match p.read_granule(gi) {
                        Ok(g) => g,
                        Err(e) => {
                            tracing::error!(error = %e, "skipping unreadable granule while restoring series state");
                            continue;
                        }
                    };
                    for b in &g.blocks {
                        if registry.contains(b.sid) {
                            state.restore(b.sid, b.max_t);
                        }
                    }
                }
            }
        }
        if let Some(older) = parts.days.keys().rev().nth(1) {
            // Series not seen in the two newest days: floor at their start.
            let floor = older * DAY_MS - 1;
            for sid in 0..registry.len() as SeriesId {
                if registry.is_live(sid) {
                    state.restore(sid, floor);
                }
            }
        }

        for sid in 0..registry.len() as SeriesId {
            if !registry.is_live(sid) {
                state.ensure(sid);
                state.flags[sid as usize] = crate::head::FLAG_DEAD;
            }
        }

        // WAL replay.
        let wal_dir = dir.join("wal");
        let mut segments = wal::list_segments(&wal_dir).map_err(io_err("listing WAL"))?;
        segments.retain(|&s| {
            if s < ckpt.wal_start {
                let _ = fs::remove_file(wal::segment_path(&wal_dir, s));
                false
            } else {
                true
            }
        });
        let mut active = RowBuffer::new();
        let mut corrupt_from: Option<usize> = None;
        for (i, &seg) in segments.iter().enumerate() {
            let path = wal::segment_path(&wal_dir, seg);
            let buf = wal::read_and_repair(&path).map_err(io_err("reading WAL"))?;
            let (frames, valid) = wal::read_frames(&buf);
            for f in frames {
                let batch = match wal::decode_batch(f) {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::warn!(segment = seg, error = %e, "undecodable WAL record; dropping the rest of the WAL");
                        corrupt_from = Some(i + 1);
                        break;
                    }
                };
                for s in batch.floats {
                    if !registry.contains(s.sid) {
                        tracing::warn!(sid = s.sid, "WAL sample for unknown series skipped");
                        continue;
                    }
                    state.ensure(s.sid);
                    if s.t > state.last_t[s.sid as usize] {
                        state.advance(s.sid, s.t, s.bits, false);
                        state.last_hist.remove(&s.sid);
                    }
                    active.push_float(s.sid, s.t, s.bits);
                }
                for (sid, t, h) in batch.hists {
                    if !registry.contains(sid) {
                        continue;
                    }
                    state.ensure(sid);
                    if t > state.last_t[sid as usize] {
                        state.advance(sid, t, histogram_bits(&h), true);
                        state.last_hist.insert(sid, h.clone());
                    }
                    active.push_hist(sid, t, h);
                }
            }
            if corrupt_from.is_some() {
                break;
            }
            if valid < buf.len() && i + 1 < segments.len() {
                tracing::warn!(
                    segment = seg,
                    "WAL segment cut short; dropping later segments"
                );
                corrupt_from = Some(i + 1);
                break;
            }
        }
        if let Some(from) = corrupt_from {
            for &seg in &segments[from..] {
                let _ = fs::remove_file(wal::segment_path(&wal_dir, seg));
            }
            segments.truncate(from);
        }
        let wal_segment = segments.last().map_or(ckpt.wal_start.max(1), |s| s + 1);
        let wal = FramedFile::open_append(&wal::segment_path(&wal_dir, wal_segment), 0)
            .map_err(io_err("creating WAL segment"))?;
        if opts.fsync != FsyncPolicy::Never {
            layout::sync_dir(&wal_dir).map_err(io_err("syncing WAL dir"))?;
        }

        let head = Head {
            state,
            active,
            active_since: Instant::now(),
            frozen: Vec::new(),
            wal,
            wal_segment,
            next_seq: max_seq + 1,
            parts: Arc::new(parts),
            scratch: Vec::new(),
            frame: Vec::new(),
        };
        let series_count = std::sync::atomic::AtomicU32::new(registry.len() as u32);
        let has_dead = registry.live_len() < registry.len();
        let read_cache_bytes = opts.read_cache_bytes;
        let registered = registry.len() as u32;
        let inner = Arc::new(Inner {
            dir,
            series_count,
            opts,
            registry: RwLock::new(registry),
            series_log: Mutex::new(SeriesLog {
                file: series_log,
                pending: Vec::new(),
            }),
            series_pending: AtomicBool::new(false),
            snap_bytes: AtomicU64::new(snap_bytes),
            head: Mutex::new(head),
            flush_lock: Mutex::new(()),
            compact_lock: Mutex::new(()),
            signal: Signal {
                stop: Mutex::new(false),
                cv: Condvar::new(),
            },
            wal_dirty: AtomicBool::new(false),
            cold_through: AtomicI64::new(i64::MIN),
            prune_watermark: std::sync::atomic::AtomicU32::new(registered),
            day_indexes: crate::day_index::DayIndexCache::new(DAY_INDEX_CACHE_BYTES),
            last_prune: Mutex::new(None),
            read_cache: crate::cache::ReadCache::new(read_cache_bytes),
            forwarded: Mutex::new(hashbrown::HashMap::new()),
            counters: Counters::default(),
            _lock_file: lock_file,
        });
        if has_dead {
            if let Some(through) = inner.indexed_through() {
                inner.cold_through.store(through, Ordering::Release);
            } else {
                // Dead ids whose days are not all indexed: consult every
                // index there is.
                inner.cold_through.store(i64::MAX, Ordering::Release);
            }
        }
        let db = Db {
            inner,
            workers: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        };
        if db.inner.opts.background {
            db.start_workers();
        }
        Ok(db)
    }

    fn start_workers(&self) {
        let mut w = self.workers.lock();
        if let FsyncPolicy::Interval(every) = self.inner.opts.fsync {
            let inner = Arc::clone(&self.inner);
            w.push(std::thread::spawn(move || {
                while !inner.signal.wait(every) {
                    if let Err(e) = inner.sync_wal() {
                        tracing::error!(error = %e, "WAL fdatasync failed");
                    }
                }
            }));
        }
        let inner = Arc::clone(&self.inner);
        w.push(std::thread::spawn(move || loop {
            let stopping = inner.signal.wait(Duration::from_millis(500));
            if stopping {
                return;
            }
            if inner.flush_due() {
                if let Err(e) = inner.flush() {
                    tracing::error!(error = %e, "head flush failed; will retry");
                }
            }
        }));
        let inner = Arc::clone(&self.inner);
        w.push(std::thread::spawn(move || {
            let mut last_retention = Instant::now() - Duration::from_secs(3600);
            loop {
                if inner.signal.wait(Duration::from_secs(2)) {
                    return;
                }
                if last_retention.elapsed() >= Duration::from_secs(60) {
                    last_retention = Instant::now();
                    if let Err(e) = inner.apply_retention() {
                        tracing::error!(error = %e, "retention failed");
                    }
                }
                match inner.compact_step(false, &|_| {}) {
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "merge failed; will retry"),
                }
            }
        }));
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Hits, misses and size of the read cache.
    pub fn read_cache_stats(&self) -> crate::cache::CacheStats {
        self.inner.read_cache.stats()
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &Options {
        &self.inner.opts
    }

    /// Looks up or creates the series for `labels` (native batch API).
    pub fn series_ref(&self, labels: &Labels) -> Result<SeriesRef, AppendError> {
        self.inner.series_id(labels).map(SeriesRef)
    }

    /// Commits a batch atomically (native batch API): accepted samples are
    /// logged in one WAL record and made visible together; refused ones are
    /// listed in the report (indexes count floats first, then histograms).
    ///
    /// Samples are checked in the order given, except that when the batch
    /// holds both floats and histograms they are checked in timestamp order
    /// (stable: at equal timestamps floats come first), so a series that
    /// switches between floats and histograms within the batch keeps all of
    /// its samples.
    pub fn append_batch(
        &self,
        floats: &[(SeriesRef, i64, f64)],
        hists: &[(SeriesRef, i64, FloatHistogram)],
    ) -> Result<CommitReport, StorageError> {
        let mut items: Vec<BatchItem<'_>> = Vec::with_capacity(floats.len() + hists.len());
        items.extend(
            floats
                .iter()
                .enumerate()
                .map(|(index, &(r, t, v))| BatchItem {
                    sid: r.0,
                    t,
                    bits: v.to_bits(),
                    hist: None,
                    index,
                }),
        );
        items.extend(hists.iter().enumerate().map(|(i, (r, t, h))| BatchItem {
            sid: r.0,
            t: *t,
            bits: histogram_bits(h),
            hist: Some(h),
            index: floats.len() + i,
        }));
        if !floats.is_empty() && !hists.is_empty() {
            items.sort_by_key(|it| it.t);
        }
        self.inner.commit(&items)
    }

    /// Flushes the head into parts now (also done on close).
    pub fn flush(&self) -> Result<(), DbError> {
        self.inner.flush()
    }

    /// Merges every day into one final compact part (what
    /// `lookout tsdb compact` does). `progress` is called with the number of
    /// days finished.
    pub fn compact_full(&self, progress: &dyn Fn(usize)) -> Result<usize, DbError> {
        self.inner.flush()?;
        self.inner.compact_step(true, progress)
    }

    /// Applies time and size retention now.
    pub fn apply_retention(&self) -> Result<usize, DbError> {
        self.inner.apply_retention()
    }

    /// Stops background work, flushes the head and syncs. Also run on drop.
    pub fn close(self) -> Result<(), DbError> {
        self.close_inner()
    }

    fn close_inner(&self) -> Result<(), DbError> {
        if self.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        *self.inner.signal.stop.lock() = true;
        self.inner.signal.wake();
        for w in self.workers.lock().drain(..) {
            let _ = w.join();
        }
        self.inner.flush()?;
        self.inner.sync_wal().map_err(io_err("syncing WAL"))?;
        Ok(())
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Err(e) = self.close_inner() {
            tracing::error!(error = %e, "closing the store failed");
        }
    }
}

impl Inner {
    pub(crate) fn series_id(&self, labels: &Labels) -> Result<SeriesId, AppendError> {
        if labels.is_empty() {
            return Err(AppendError::InvalidLabels("empty label set".into()));
        }
        let hash = crate::registry::labels_hash(labels);
        if let Some(id) = self.registry.read().lookup_hashed(labels, hash) {
            return Ok(id);
        }
        // A new series: `Labels` guarantees sorted, unique names and UTF-8;
        // an empty name is the one malformation it can still carry.
        if labels.iter().any(|l| l.name.is_empty()) {
            return Err(AppendError::InvalidLabels("empty label name".into()));
        }
        let mut reg = self.registry.write();
        if let Some(id) = reg.lookup_hashed(labels, hash) {
            return Ok(id);
        }
        let id = reg.len() as SeriesId;
        // Log before the id becomes usable, so any WAL record naming it
        // follows its series record.
        let mut payload = Vec::with_capacity(64);
        wal::encode_series(&mut payload, id, labels);
        {
            let mut slog = self.series_log.lock();
            wal::put_frame(&mut slog.pending, &payload);
            if slog.pending.len() >= SERIES_LOG_BUFFER {
                slog.write_pending()
                    .map_err(|e| AppendError::Storage(format!("writing series log: {e}")))?;
            } else {
                self.series_pending.store(true, Ordering::Release);
            }
        }
        self.wal_dirty.store(true, Ordering::Relaxed);
        let got = reg
            .insert(labels)
            .map_err(|e| AppendError::Limit(e.to_string()))?;
        debug_assert_eq!(got, id);
        self.series_count.store(id + 1, Ordering::Release);
        Ok(id)
    }

    /// Rewrites the registry into `series.snap` and empties `series.log`
    /// when the log has grown enough (always with `force`, if not empty).
    pub(crate) fn snapshot_series(&self, force: bool) -> Result<bool, DbError> {
        let log_len = {
            let l = self.series_log.lock();
            l.file.len() + l.pending.len() as u64
        };
        let snap = self.snap_bytes.load(Ordering::Relaxed);
        let due = log_len > 0
            && (force || log_len > (1 << 20) || (log_len > (64 << 10) && log_len > snap / 4));
        if !due {
            return Ok(false);
        }
        self.write_series_snapshot()
            .map_err(io_err("writing series.snap"))?;
        Ok(true)
    }

    /// Rewrites `series.snap` from the registry and empties `series.log`.
    pub(crate) fn write_series_snapshot(&self) -> std::io::Result<()> {
        // Holding the registry write lock keeps new series out meanwhile.
        let reg = self.registry.write();
        let len = crate::series_snapshot::write(&self.dir, &reg, self.durable())?;
        let mut l = self.series_log.lock();
        l.pending.clear();
        l.file.truncate_all(self.durable())?;
        self.series_pending.store(false, Ordering::Release);
        self.snap_bytes.store(len, Ordering::Relaxed);
        Ok(())
    }

    /// Whether anything is fsynced: every policy but `Never`.
    pub(crate) fn durable(&self) -> bool {
        self.opts.fsync != FsyncPolicy::Never
    }

    pub(crate) fn write_series_pending(&self) -> std::io::Result<()> {
        let mut l = self.series_log.lock();
        l.write_pending()?;
        // Cleared under the lock: a series buffered after this sets it again.
        self.series_pending.store(false, Ordering::Release);
        Ok(())
    }

    pub(crate) fn sync_wal(&self) -> std::io::Result<()> {
        if !self.durable() || !self.wal_dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        // Series before samples: a synced sample must never name an unsynced series.
        let slog = {
            let mut l = self.series_log.lock();
            l.write_pending()?;
            l.file.try_clone_file()?
        };
        slog.sync_data()?;
        let walf = self.head.lock().wal.try_clone_file()?;
        walf.sync_data()
    }

    pub(crate) fn registry_contains(&self, sid: SeriesId) -> bool {
        // Ids are dense and never removed.
        sid < self.series_count.load(Ordering::Acquire)
    }

    pub(crate) fn flush_due(&self) -> bool {
        let h = self.head.lock();
        !h.frozen.is_empty()
            || h.active.len() >= self.opts.head_max_rows
            || (!h.active.is_empty() && h.active_since.elapsed() >= self.opts.head_flush_interval)
    }

    /// Moves the active buffer to the frozen list (still readable) and starts
    /// a new WAL segment, so the frozen rows are exactly the older segments.
    pub(crate) fn freeze_locked(&self, h: &mut Head) -> Result<(), DbError> {
        if h.active.is_empty() {
            return Ok(());
        }
        let seq = h.next_seq;
        let old_seg = h.wal_segment;
        let new_seg = old_seg + 1;
        let wal_dir = self.dir.join("wal");
        let f = FramedFile::open_append(&wal::segment_path(&wal_dir, new_seg), 0)
            .map_err(io_err("creating WAL segment"))?;
        h.next_seq += 1;
        h.wal = f;
        h.wal_segment = new_seg;
        let buf = std::mem::replace(&mut h.active, RowBuffer::new());
        h.frozen.push(Arc::new(Frozen {
            seq,
            buf,
            wal_segment: old_seg,
        }));
        Ok(())
    }

    /// Freezes the active buffer and writes every frozen buffer into parts.
    pub(crate) fn flush(&self) -> Result<(), DbError> {
        let _g = self.flush_lock.lock();
        {
            let mut h = self.head.lock();
            self.freeze_locked(&mut h)?;
        }
        loop {
            let Some(fz) = self.head.lock().frozen.first().cloned() else {
                break;
            };
            let new_parts = self.write_frozen(&fz)?;
            // Parts reference series ids: their labels must be durable first.
            {
                let mut l = self.series_log.lock();
                l.write_pending().map_err(io_err("writing series.log"))?;
                if self.durable() {
                    l.file.sync().map_err(io_err("syncing series.log"))?;
                }
            }
            for day in new_parts.iter().map(|(d, _)| *d).filter(|_| self.durable()) {
                layout::sync_dir(&layout::day_dir(&self.dir, day))
                    .map_err(io_err("syncing part dir"))?;
            }
            if self.durable() {
                layout::sync_dir(&layout::parts_dir(&self.dir))
                    .map_err(io_err("syncing parts dir"))?;
            }
            layout::write_checkpoint(
                &self.dir,
                Checkpoint {
                    flush_seq: fz.seq,
                    wal_start: fz.wal_segment + 1,
                },
                self.durable(),
            )
            .map_err(io_err("writing checkpoint"))?;
            {
                let mut h = self.head.lock();
                let mut set = PartSet {
                    days: h.parts.days.clone(),
                };
                for (day, p) in new_parts {
                    let list = set.days.entry(day).or_default();
                    list.push(Arc::new(p));
                    list.sort_by_key(|p| p.meta.seq_lo);
                }
                h.parts = Arc::new(set);
                h.frozen.retain(|f| !Arc::ptr_eq(f, &fz));
            }
            let wal_dir = self.dir.join("wal");
            for seg in wal::list_segments(&wal_dir).map_err(io_err("listing WAL"))? {
                if seg <= fz.wal_segment {
                    let _ = fs::remove_file(wal::segment_path(&wal_dir, seg));
                }
            }
            self.counters.flushes.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    fn write_frozen(&self, fz: &Frozen) -> Result<Vec<(i64, Part)>, DbError> {
        let rows = &fz.buf.rows;
        let mut order: Vec<u32> = (0..rows.len() as u32).collect();
        // Stable: equal (series, kind, time) keep commit order, first wins.
        order.sort_by_key(|&i| {
            let r = &rows[i as usize];
            (layout::day_of(r.t), r.sid, r.kind, r.t)
        });
        let mut out = Vec::new();
        let mut i = 0;
        while i < order.len() {
            let day = layout::day_of(rows[order[i] as usize].t);
            let mut j = i;
            while j < order.len() && layout::day_of(rows[order[j] as usize].t) == day {
                j += 1;
            }
            let path = layout::part_file(&self.dir, day, fz.seq, fz.seq);
            fs::create_dir_all(layout::day_dir(&self.dir, day))
                .map_err(io_err("creating day dir"))?;
            let mut w = PartWriter::create(&path, 0, Effort::Fast, self.opts.max_block_samples)
                .map_err(io_err("creating part"))?;
            let res = (|| -> std::io::Result<()> {
                let mut k = i;
                let mut ts = Vec::new();
                let mut vs = Vec::new();
                let mut hs: Vec<&FloatHistogram> = Vec::new();
                while k < j {
                    let first = &rows[order[k] as usize];
                    let (sid, kind) = (first.sid, first.kind);
                    ts.clear();
                    vs.clear();
                    hs.clear();
                    while k < j {
                        let r = &rows[order[k] as usize];
                        if r.sid != sid || r.kind != kind {
                            break;
                        }
                        if ts.last() != Some(&r.t) {
                            ts.push(r.t);
                            if kind == 0 {
                                vs.push(f64::from_bits(r.bits));
                            } else if let Some(hh) = fz.buf.hists.get(r.bits as usize) {
                                hs.push(hh);
                            }
                        }
                        k += 1;
                    }
                    if kind == 0 {
                        w.add_floats(sid, &ts, &vs)?;
                    } else {
                        w.add_histograms(sid, &ts, &hs)?;
                    }
                }
                Ok(())
            })();
            if let Err(e) = res {
                w.abort();
                return Err(io_err("writing part")(e));
            }
            w.set_sync(self.durable());
            w.finish(&path, fz.seq, fz.seq)
                .map_err(io_err("finishing part"))?;
            let p = Part::open(&path).map_err(|e| DbError::Corrupt(e.to_string()))?;
            out.push((day, p));
            i = j;
        }
        Ok(out)
    }
}
