//! `lookout tsdb import`: Prometheus data dir (migration) or OpenMetrics
//! text (backfill) into a lookout store.

use anyhow::{bail, Context};
use lookout_exposition::{Entry, Format, Parser};
use lookout_model::labels::Labels;
use lookout_tsdb::promblock::{list_blocks, BlockReader};
use lookout_tsdb::Db;
use lookout_tsdb::{Options, SeriesRef};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `lookout tsdb import`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["from", "openmetrics"])))]
pub struct ImportArgs {
    /// A Prometheus data directory: every block (`<ULID>/` with meta.json,
    /// index, chunks) is imported; `.tmp` dirs, `wal/` and `chunks_head/` are skipped.
    #[arg(long, value_name = "DIR")]
    pub from: Option<PathBuf>,
    /// An OpenMetrics text file with timestamps on every sample, ending in `# EOF`
    /// (the input `promtool tsdb create-blocks-from openmetrics` takes).
    #[arg(long, value_name = "FILE")]
    pub openmetrics: Option<PathBuf>,
    /// The lookout store to write into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Leave the imported data in young parts instead of merging every day
    /// into its final compact part at the end.
    #[arg(long)]
    pub no_compact: bool,
    /// Samples per committed batch.
    #[arg(long, default_value_t = 100_000, hide = true)]
    pub batch: usize,
}

/// Progress display: an indicatif bar when stderr is a terminal, silent otherwise.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    /// A bar with `total` units (0 = spinner) and a unit word.
    pub fn new(total: u64, unit: &str) -> Self {
        use std::io::IsTerminal;
        if !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = if total > 0 {
            indicatif::ProgressBar::new(total)
        } else {
            indicatif::ProgressBar::new_spinner()
        };
        let tmpl =
            format!("{{elapsed_precise}} [{{bar:40}}] {{human_pos}}/{{human_len}} {unit} {{msg}}");
        if let Ok(style) = indicatif::ProgressStyle::with_template(&tmpl) {
            bar.set_style(style);
        }
        Progress { bar: Some(bar) }
    }

    /// Sets the position.
    pub fn set(&self, pos: u64) {
        if let Some(b) = &self.bar {
            b.set_position(pos);
        }
    }

    /// Sets the message.
    pub fn msg(&self, m: String) {
        if let Some(b) = &self.bar {
            b.set_message(m);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// Total size of the files under `dir`.
pub fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    for e in rd.flatten() {
        match e.file_type() {
            Ok(t) if t.is_dir() => total += dir_bytes(&e.path()),
            Ok(_) => total += e.metadata().map_or(0, |m| m.len()),
            Err(_) => {}
        }
    }
    total
}

/// Batches samples into the store and counts what happened.
struct Sink {
    db: Db,
    batch: Vec<(SeriesRef, i64, f64)>,
    batch_size: usize,
    since_flush: usize,
    flush_every: usize,
    appended: u64,
    duplicates: u64,
    rejected: u64,
    first_rejections: Vec<String>,
}

impl Sink {
    fn new(db: Db, batch_size: usize) -> Self {
        let flush_every = db.options().head_max_rows;
        Sink {
            db,
            batch: Vec::with_capacity(batch_size),
            batch_size: batch_size.max(1),
            since_flush: 0,
            flush_every,
            appended: 0,
            duplicates: 0,
            rejected: 0,
            first_rejections: Vec::new(),
        }
    }

    fn push(&mut self, r: SeriesRef, t: i64, v: f64) -> anyhow::Result<()> {
        self.batch.push((r, t, v));
        if self.batch.len() >= self.batch_size {
            self.commit()?;
        }
        Ok(())
    }

    fn commit(&mut self) -> anyhow::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let rep = self
            .db
            .append_batch(&self.batch, &[])
            .context("writing to the store")?;
        self.appended += rep.appended as u64;
        self.duplicates += rep.duplicates as u64;
        self.rejected += rep.rejected.len() as u64;
        for (i, e) in rep
            .rejected
            .iter()
            .take(5usize.saturating_sub(self.first_rejections.len()))
        {
            if let Some((_, t, v)) = self.batch.get(*i) {
                self.first_rejections
                    .push(format!("sample at {t} (value {v}): {e}"));
            }
        }
        self.since_flush += self.batch.len();
        self.batch.clear();
        // Without background threads the head only flushes when told to;
        // bound its memory.
        if self.since_flush >= self.flush_every {
            self.db.flush().context("flushing the store")?;
            self.since_flush = 0;
        }
        Ok(())
    }
}

fn open_store(dir: &Path, ooo_window: i64) -> anyhow::Result<Db> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut opts = Options::for_tests();
    opts.out_of_order_time_window = ooo_window;
    Db::open(dir, opts).with_context(|| format!("opening store {}", dir.display()))
}

/// Runs `lookout tsdb import`.
pub fn run(a: ImportArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let (sink, skipped_hist) = match (&a.from, &a.openmetrics) {
        (Some(from), None) => import_prometheus(from, &a)?,
        (None, Some(file)) => import_openmetrics(file, &a)?,
        _ => bail!("give exactly one of --from and --openmetrics"),
    };
    let Sink {
        db,
        appended,
        duplicates,
        rejected,
        first_rejections,
        ..
    } = sink;
    db.flush().context("flushing the store")?;
    let series = db.stats().series;
    if !a.no_compact {
        let p = Progress::new(0, "days");
        p.msg("compacting".into());
        db.compact_full(&|d| p.set(d as u64))
            .context("compacting")?;
        p.finish();
    }
    db.close().context("closing the store")?;
    let secs = started.elapsed().as_secs_f64();
    let bytes = dir_bytes(&a.data_dir);
    for r in &first_rejections {
        eprintln!("rejected: {r}");
    }
    if skipped_hist > 0 {
        eprintln!(
            "warning: {skipped_hist} native-histogram chunks were skipped (not supported yet)"
        );
    }
    println!(
        "imported {appended} samples ({duplicates} duplicates, {rejected} rejected) into {} ({series} series in the store): {bytes} bytes on disk ({:.3} bytes/sample), {secs:.2} s ({:.0} samples/s)",
        a.data_dir.display(),
        if appended > 0 { bytes as f64 / appended as f64 } else { 0.0 },
        appended as f64 / secs.max(1e-9),
    );
    Ok(if rejected > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn import_prometheus(from: &Path, a: &ImportArgs) -> anyhow::Result<(Sink, u64)> {
    let blocks =
        list_blocks(from).with_context(|| format!("listing blocks in {}", from.display()))?;
    if blocks.is_empty() {
        bail!("{} holds no Prometheus blocks", from.display());
    }
    if from.join("wal").is_dir() && std::fs::read_dir(from.join("wal"))?.next().is_some() {
        eprintln!("note: {}/wal (the head) is not imported; let Prometheus cut its head into blocks first", from.display());
    }
    // Overlapping blocks (not yet vertically compacted) deliver a series'
    // samples out of order: accept them through a window that spans the data.
    let overlap = blocks.windows(2).any(|w| w[1].1.min_time < w[0].1.max_time);
    let window = if overlap {
        blocks.iter().map(|b| b.1.max_time).max().unwrap_or(0)
            - blocks.iter().map(|b| b.1.min_time).min().unwrap_or(0)
    } else {
        0
    };
    let mut sink = Sink::new(open_store(&a.data_dir, window)?, a.batch);
    let total: u64 = blocks.iter().map(|b| b.1.stats.num_samples).sum();
    let progress = Progress::new(total, "samples");
    let mut skipped = 0u64;
    let mut read = 0u64;
    for (path, meta) in &blocks {
        progress.msg(format!("block {}", meta.ulid));
        let block =
            BlockReader::open(path).with_context(|| format!("opening block {}", path.display()))?;
        for s in block
            .series()
            .with_context(|| format!("reading block {}", path.display()))?
        {
            let s = s.with_context(|| format!("reading block {}", path.display()))?;
            skipped += s.skipped_chunks as u64;
            if s.samples.is_empty() {
                continue;
            }
            // The store's registry is the series map; no second copy here.
            let r = sink
                .db
                .series_ref(&s.labels)
                .map_err(|e| anyhow::anyhow!("series {}: {e}", s.labels))?;
            for x in &s.samples {
                sink.push(r, x.t, x.v)?;
            }
            read += s.samples.len() as u64;
            progress.set(read);
        }
    }
    sink.commit()?;
    progress.finish();
    Ok((sink, skipped))
}

fn import_openmetrics(file: &Path, a: &ImportArgs) -> anyhow::Result<(Sink, u64)> {
    let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    // SAFETY: a read-only private mapping of a regular file given by the
    // user; nothing writes through it. If another process truncates the file
    // while we read, the access faults — acceptable for an offline tool, and
    // the same contract every mmap-based reader (Prometheus included) has.
    let map =
        unsafe { memmap2::Mmap::map(&f) }.with_context(|| format!("mapping {}", file.display()))?;
    let input: &[u8] = &map;
    let mut sink = Sink::new(open_store(&a.data_dir, 0)?, a.batch);
    let progress = Progress::new(input.len() as u64, "bytes");
    let mut key = String::with_capacity(128);
    let mut prev_key = String::new();
    let mut prev_ref: Option<SeriesRef> = None;
    let mut parser = Parser::new(input, Format::OpenMetrics);
    let mut n = 0u64;
    while let Some(entry) = parser
        .next_entry()
        .with_context(|| format!("parsing {}", file.display()))?
    {
        let Entry::Sample(s) = entry else { continue };
        let Some(t) = s.timestamp_ms else {
            bail!(
                "{}: line {}: sample without timestamp (backfill needs one on every sample)",
                file.display(),
                s.line
            );
        };
        key.clear();
        key.push_str(s.name);
        for l in &s.labels {
            key.push('\u{ff}');
            key.push_str(l.name);
            key.push('\u{fe}');
            key.push_str(&l.value);
        }
        // Consecutive samples of one series (the usual OpenMetrics layout)
        // reuse the reference; otherwise the store's registry resolves it.
        let r = match prev_ref {
            Some(r) if key == prev_key => r,
            _ => {
                let labels = Labels::from_pairs(
                    std::iter::once(("__name__", s.name))
                        .chain(s.labels.iter().map(|l| (l.name, l.value.as_ref()))),
                );
                let r = sink
                    .db
                    .series_ref(&labels)
                    .map_err(|e| anyhow::anyhow!("line {}: series {labels}: {e}", s.line))?;
                std::mem::swap(&mut prev_key, &mut key);
                prev_ref = Some(r);
                r
            }
        };
        sink.push(r, t, s.value)?;
        n += 1;
        if n.is_multiple_of(65_536) {
            progress.set(parser.position() as u64);
        }
    }
    sink.commit()?;
    progress.finish();
    Ok((sink, 0))
}
