//! `lookout tsdb ...`: operator tools for the native metrics store.
//!
//! Every command ends with one machine-readable line of `key=value` pairs
//! (first word names the command) so scripts such as `bench/storage.sh` can
//! parse results without scraping prose.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use lookout_loadgen::{Entropy, SeriesGen, Spec};
use lookout_model::Labels;
use lookout_tsdb::{Db, FsyncPolicy, Options, SeriesRef, Stats};

/// `lookout tsdb` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum TsdbCommand {
    /// Import samples into a lookout store: from a Prometheus data dir
    /// (migration, `--from`) or an OpenMetrics text file (backfill, `--openmetrics`).
    Import(super::tsdb_import::ImportArgs),
    /// Export a lookout store as Prometheus TSDB blocks (2 h aligned) that
    /// Prometheus, promtool and Thanos/Mimir tooling read.
    Export(super::tsdb_export::ExportArgs),
    /// Print series, samples and bytes on disk (per component) of a store.
    Stats {
        /// The store's data directory.
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Flush and merge every day into one final compact part.
    Compact {
        /// The store's data directory.
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        bench: BenchCommand,
    },
}

/// `lookout tsdb bench` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// In-process append benchmark (like `promtool tsdb bench write`):
    /// appends time-major batches through the native batch API and reports
    /// samples per CPU-second and resident memory.
    Write {
        /// Number of series.
        #[arg(long, default_value_t = 10_000)]
        series: u64,
        /// Samples per series.
        #[arg(long, default_value_t = 100)]
        samples_per_series: u32,
        /// Data directory (created; must not hold a store already).
        #[arg(long)]
        data_dir: PathBuf,
        /// Values: `scrape` and `entropy` are the loadgen datasets of
        /// performance-anchors §4.4 (one generator per series is kept in
        /// memory, ~100 B/series, counted in RSS); `simple` uses a
        /// stateless two-decimal function (for memory measurements).
        #[arg(long, default_value = "scrape")]
        dataset: String,
        /// Milliseconds between a series' samples.
        #[arg(long, default_value_t = 15_000)]
        interval_ms: i64,
        /// Samples per commit.
        #[arg(long, default_value_t = 10_000)]
        batch: usize,
        /// First timestamp (ms); default: so that the last sample is now.
        #[arg(long)]
        start_ms: Option<i64>,
        /// Close the store (final flush) inside the measured time.
        #[arg(long, default_value_t = false)]
        include_close: bool,
        /// WAL fsync policy: `always`, `never`, or a group-commit interval
        /// in milliseconds (default: the store default, 200).
        #[arg(long, default_value = "200")]
        fsync: String,
    },
    /// Series churn: every simulated day a new set of series replaces the
    /// previous one (days finalised and idle series dropped after each);
    /// prints per day the series held in memory and resident memory.
    Churn(ChurnArgs),
}

/// Options of `lookout tsdb bench churn`.
#[derive(clap::Args, Debug)]
pub struct ChurnArgs {
    /// Series per day (each day's set replaces the previous day's).
    #[arg(long, default_value_t = 100_000)]
    series: u64,
    /// Days to simulate.
    #[arg(long, default_value_t = 5)]
    days: u32,
    /// Samples per series (15 s apart, at the start of its day).
    #[arg(long, default_value_t = 16)]
    samples_per_series: u32,
    /// Data directory (created; must not hold a store already).
    #[arg(long)]
    data_dir: PathBuf,
    /// Never drop idle series from memory (for comparison).
    #[arg(long, default_value_t = false)]
    keep_idle: bool,
}

/// Runs a `tsdb` subcommand.
pub fn run(cmd: TsdbCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TsdbCommand::Import(a) => super::tsdb_import::run(a),
        TsdbCommand::Export(a) => super::tsdb_export::run(a),
        TsdbCommand::Stats { data_dir } => stats(data_dir),
        TsdbCommand::Compact { data_dir } => compact(data_dir),
        TsdbCommand::Bench {
            bench:
                BenchCommand::Write {
                    series,
                    samples_per_series,
                    data_dir,
                    dataset,
                    interval_ms,
                    batch,
                    start_ms,
                    include_close,
                    fsync,
                },
        } => bench_write(BenchArgs {
            fsync: parse_fsync(&fsync)?,
            series,
            samples_per_series,
            data_dir,
            dataset,
            interval_ms,
            batch,
            start_ms,
            include_close,
        }),
        TsdbCommand::Bench {
            bench: BenchCommand::Churn(a),
        } => bench_churn(a),
    }
}

fn bench_churn(a: ChurnArgs) -> anyhow::Result<ExitCode> {
    const DAY: i64 = 86_400_000;
    if a.data_dir.join("series.log").exists() {
        bail!(
            "{} already holds a store; bench churn needs a fresh directory",
            a.data_dir.display()
        );
    }
    if a.series == 0 || a.days == 0 || a.samples_per_series == 0 {
        bail!("--series, --days and --samples-per-series must be positive");
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let base = (now / DAY - i64::from(a.days) - 1) * DAY;
    let opts = Options {
        retention: None,
        fsync: FsyncPolicy::Never,
        background: false,
        final_merge_delay: std::time::Duration::ZERO,
        drop_idle_series_after: if a.keep_idle {
            Duration::from_secs(100 * 365 * 86_400)
        } else {
            Options::default().drop_idle_series_after
        },
        ..Options::default()
    };
    let rss_start = current_rss();
    let db =
        Db::open(&a.data_dir, opts).with_context(|| format!("opening {}", a.data_dir.display()))?;
    for day in 0..a.days {
        let day_start = base + i64::from(day) * DAY;
        let mut refs: Vec<SeriesRef> = Vec::with_capacity(a.series as usize);
        for i in 0..a.series {
            let l = Labels::from_pairs([
                ("__name__", format!("bench_churn_{}", i % 50)),
                ("instance", format!("host-{:05}:9100", i / 50)),
                ("job", "bench".to_string()),
                ("pod", format!("d{day}-{i:07}")),
            ]);
            refs.push(
                db.series_ref(&l)
                    .map_err(|e| anyhow::anyhow!("series {i}: {e}"))?,
            );
        }
        let mut batch: Vec<(SeriesRef, i64, f64)> = Vec::with_capacity(10_000);
        for step in 0..a.samples_per_series {
            let t = day_start + i64::from(step) * 15_000;
            for (i, r) in refs.iter().enumerate() {
                let v = ((i as u64 * 7919 + u64::from(step) * 31) % 100_000) as f64 / 100.0;
                batch.push((*r, t, v));
                if batch.len() >= 10_000 {
                    db.append_batch(&batch, &[])?;
                    batch.clear();
                }
            }
        }
        if !batch.is_empty() {
            db.append_batch(&batch, &[])?;
        }
        drop(refs);
        db.compact_full(&|_| {})?;
        let st = db.stats();
        let rss = current_rss();
        println!(
            "bench_churn day={day} series_ids={} series_in_memory={} heap_bytes={} rss_bytes={rss} \
             rss_above_start_per_series_in_memory={:.1}",
            st.series,
            st.series_in_memory,
            st.heap_bytes,
            rss.saturating_sub(rss_start) as f64 / st.series_in_memory.max(1) as f64,
        );
    }
    db.close()?;
    Ok(ExitCode::SUCCESS)
}

/// Options for operating on an existing store from the command line: no
/// retention (the operator decides), background work off.
fn tool_options() -> Options {
    Options {
        retention: None,
        ..Options::for_tests()
    }
}

fn open_existing(dir: &PathBuf) -> anyhow::Result<Db> {
    if !dir.join("series.log").exists() {
        bail!(
            "{} does not look like a lookout data directory (no series.log)",
            dir.display()
        );
    }
    Db::open(dir, tool_options()).with_context(|| format!("opening {}", dir.display()))
}

fn per_sample(bytes: u64, samples: u64) -> f64 {
    if samples == 0 {
        0.0
    } else {
        bytes as f64 / samples as f64
    }
}

fn print_stats(s: &Stats) {
    let n = s.samples();
    println!(
        "series                {} ({} in memory, the rest only in part indexes)",
        s.series, s.series_in_memory
    );
    println!(
        "samples               {} ({} in parts, {} in head)",
        n, s.part_samples, s.head_samples
    );
    println!(
        "days / parts          {} / {} ({} final)",
        s.days, s.parts, s.final_parts
    );
    println!("blocks                {}", s.blocks);
    println!("bytes on disk         {}", s.bytes_total());
    println!(
        "bytes per sample      {:.4}",
        per_sample(s.bytes_total(), n)
    );
    println!(
        "  values              {:.4}  ({} B)",
        per_sample(s.bytes_values, n),
        s.bytes_values
    );
    println!(
        "  timestamps          {:.4}  ({} B)",
        per_sample(s.bytes_timestamps, n),
        s.bytes_timestamps
    );
    println!(
        "  block index         {:.4}  ({} B)",
        per_sample(s.bytes_block_index, n),
        s.bytes_block_index
    );
    let other = s
        .bytes_parts
        .saturating_sub(s.bytes_values + s.bytes_timestamps + s.bytes_block_index);
    println!(
        "  part framing/meta   {:.4}  ({} B)",
        per_sample(other, n),
        other
    );
    println!(
        "  series.log          {:.4}  ({} B)",
        per_sample(s.bytes_series_log, n),
        s.bytes_series_log
    );
    println!(
        "  wal                 {:.4}  ({} B)",
        per_sample(s.bytes_wal, n),
        s.bytes_wal
    );
    println!(
        "stats series={} samples={} days={} parts={} bytes_total={} bytes_per_sample={:.4} \
         values_bps={:.4} timestamps_bps={:.4} index_bps={:.4} series_log_bps={:.4} wal_bps={:.4}",
        s.series,
        n,
        s.days,
        s.parts,
        s.bytes_total(),
        per_sample(s.bytes_total(), n),
        per_sample(s.bytes_values, n),
        per_sample(s.bytes_timestamps, n),
        per_sample(s.bytes_block_index, n),
        per_sample(s.bytes_series_log, n),
        per_sample(s.bytes_wal, n),
    );
}

fn stats(dir: PathBuf) -> anyhow::Result<ExitCode> {
    let db = open_existing(&dir)?;
    print_stats(&db.stats());
    db.close()?;
    Ok(ExitCode::SUCCESS)
}

fn compact(dir: PathBuf) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let db = open_existing(&dir)?;
    let before = db.stats();
    let days = before.days.max(1);
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new(days);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} compacting day {pos}/{len} [{elapsed}] {wide_bar}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.enable_steady_tick(Duration::from_millis(200));
        b
    });
    let merges = db.compact_full(&|done| {
        if let Some(b) = &bar {
            b.set_position(done as u64);
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let after = db.stats();
    db.close()?;
    eprintln!(
        "compacted {} parts into {} in {:.1}s: {} -> {} bytes",
        before.parts,
        after.parts,
        started.elapsed().as_secs_f64(),
        before.bytes_total(),
        after.bytes_total()
    );
    println!(
        "compact merges={merges} parts_before={} parts_after={} bytes_before={} bytes_after={} \
         bytes_per_sample={:.4} seconds={:.3}",
        before.parts,
        after.parts,
        before.bytes_total(),
        after.bytes_total(),
        per_sample(after.bytes_total(), after.samples()),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

fn parse_fsync(s: &str) -> anyhow::Result<FsyncPolicy> {
    Ok(match s {
        "always" => FsyncPolicy::Always,
        "never" => FsyncPolicy::Never,
        ms => FsyncPolicy::Interval(Duration::from_millis(
            ms.parse()
                .with_context(|| format!("--fsync {ms:?}: always, never or milliseconds"))?,
        )),
    })
}

struct BenchArgs {
    fsync: FsyncPolicy,
    series: u64,
    samples_per_series: u32,
    data_dir: PathBuf,
    dataset: String,
    interval_ms: i64,
    batch: usize,
    start_ms: Option<i64>,
    include_close: bool,
}

/// CPU seconds (user + system) of this process so far, and peak RSS bytes.
fn rusage() -> (f64, u64) {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a rusage struct, RUSAGE_SELF is always valid.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (
        tv(ru.ru_utime) + tv(ru.ru_stime),
        ru.ru_maxrss as u64 * 1024,
    )
}

/// Current resident set size in bytes (from /proc/self/statm).
fn current_rss() -> u64 {
    let page = 4096u64;
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |p| p * page)
}

enum Values {
    Loadgen(Vec<SeriesGen>),
    Simple,
}

fn bench_write(a: BenchArgs) -> anyhow::Result<ExitCode> {
    if a.data_dir.join("series.log").exists() {
        bail!(
            "{} already holds a store; bench write needs a fresh directory",
            a.data_dir.display()
        );
    }
    if a.series == 0 || a.samples_per_series == 0 {
        bail!("--series and --samples-per-series must be positive");
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let start_ms = a
        .start_ms
        .unwrap_or(now - a.interval_ms * i64::from(a.samples_per_series));
    let entropy = match a.dataset.as_str() {
        "scrape" | "simple" => Entropy::ScrapeLike,
        "entropy" => Entropy::HighEntropy,
        other => bail!("unknown --dataset {other:?} (scrape, entropy, simple)"),
    };
    // 50 metric names like the storage bar; series spread over instances.
    let metrics = 50u32.min(a.series as u32).max(1);
    let spec = Spec {
        metrics,
        series_per_metric: a.series.div_ceil(u64::from(metrics)) as u32,
        start_ms,
        interval_ms: a.interval_ms,
        points: a.samples_per_series,
        seed: 42,
        entropy,
        idx_label: false,
        metric_prefix: "bench_metric".into(),
        job: "bench".into(),
    };
    let opts = Options {
        retention: None,
        fsync: a.fsync,
        ..Options::default()
    };
    let rss_start = current_rss();
    let (cpu0, _) = rusage();
    let wall0 = Instant::now();
    let db =
        Db::open(&a.data_dir, opts).with_context(|| format!("opening {}", a.data_dir.display()))?;
    let mut values = if a.dataset == "simple" {
        Values::Simple
    } else {
        Values::Loadgen((0..a.series).map(|i| spec.series_gen(i)).collect())
    };
    let mut refs: Vec<SeriesRef> = Vec::with_capacity(a.series as usize);
    for i in 0..a.series {
        let l: Labels = spec.labels(i);
        refs.push(
            db.series_ref(&l)
                .map_err(|e| anyhow::anyhow!("series {i}: {e}"))?,
        );
    }
    let mut batch: Vec<(SeriesRef, i64, f64)> = Vec::with_capacity(a.batch.max(1));
    let mut appended = 0u64;
    let mut rejected = 0u64;
    for step in 0..a.samples_per_series {
        for i in 0..a.series as usize {
            let (t, v) = match &mut values {
                Values::Loadgen(gens) => gens[i].next().unwrap_or((start_ms, 0.0)),
                Values::Simple => {
                    let t = start_ms + i64::from(step) * a.interval_ms;
                    let v = ((i as u64 * 7919 + u64::from(step) * 31) % 100_000) as f64 / 100.0;
                    (t, v)
                }
            };
            batch.push((refs[i], t, v));
            if batch.len() >= a.batch.max(1) {
                let r = db.append_batch(&batch, &[])?;
                appended += r.appended as u64;
                rejected += r.rejected.len() as u64;
                batch.clear();
            }
        }
    }
    if !batch.is_empty() {
        let r = db.append_batch(&batch, &[])?;
        appended += r.appended as u64;
        rejected += r.rejected.len() as u64;
    }
    drop(values);
    let mut db = Some(db);
    if a.include_close {
        if let Some(db) = db.take() {
            db.close()?;
        }
    }
    let wall = wall0.elapsed().as_secs_f64();
    let (cpu1, peak) = rusage();
    let cpu = cpu1 - cpu0;
    let rss_final = current_rss();
    if let Some(db) = db {
        db.close()?;
    }
    let per_cpu = appended as f64 / cpu.max(1e-9);
    let rss_per_series = rss_final.saturating_sub(rss_start) as f64 / a.series as f64;
    eprintln!(
        "appended {appended} samples ({rejected} rejected) to {} series in {wall:.2}s wall, {cpu:.2}s CPU: \
         {:.0} samples/s, {per_cpu:.0} samples per CPU-second; RSS peak {} MiB, final {} MiB ({rss_per_series:.0} B/series above start)",
        a.series,
        appended as f64 / wall.max(1e-9),
        peak >> 20,
        rss_final >> 20,
    );
    println!(
        "bench_write dataset={} series={} samples={appended} rejected={rejected} wall_s={wall:.3} cpu_s={cpu:.3} \
         samples_per_s={:.0} samples_per_cpu_s={per_cpu:.0} peak_rss_bytes={peak} final_rss_bytes={rss_final} \
         start_rss_bytes={rss_start} rss_per_series_bytes={rss_per_series:.1}",
        a.dataset,
        a.series,
        appended as f64 / wall.max(1e-9),
    );
    Ok(ExitCode::SUCCESS)
}
