//! `lookout-loadgen`: writes the synthetic datasets of lookout's benchmarks
//! to a file or stdout. See `--help` for the modes.

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use lookout_loadgen::remote_write::write_bodies;
use lookout_loadgen::text::{write_openmetrics, write_prometheus_text, Order};
use lookout_loadgen::{Entropy, Spec};
use std::io::{BufWriter, Write};
use std::time::Instant;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Preset {
    /// Storage bar: 50 metrics × 200 series, 6 h @ 15 s = 14.4 M samples.
    Bar,
    /// Small storage bar: 10 metrics × 200 series, 6 h @ 15 s = 2.88 M samples.
    Bar2k,
    /// Remote-write throughput: 10,000 series × 720 points (3 h) = 7.2 M samples, idx label.
    Rw10k,
    /// 100,000 series × 20 points, idx label.
    Ingest100k,
    /// 1,000,000 series × 16 points, idx label.
    Ingest1m,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    /// OpenMetrics 1.0 text: `# TYPE` per family, series-major, seconds
    /// timestamps (`<s>.<ms>5`, exact after float64 truncation), `# EOF`.
    /// For `promtool tsdb create-blocks-from openmetrics` and
    /// `lookout tsdb import --openmetrics`.
    Openmetrics,
    /// Prometheus text 0.0.4 sample lines with millisecond timestamps
    /// (`name{labels} value ts_ms`). For VictoriaMetrics'
    /// `/api/v1/import/prometheus`.
    Prometheus,
    /// Remote-write 1.0 bodies (protobuf WriteRequest + raw snappy),
    /// time-major, `--samples-per-request` samples each, every body prefixed
    /// with its length as a big-endian u32.
    RemoteWrite,
    /// Prints the dataset's size (series, samples, time range) as JSON; writes no data.
    Stats,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum EntropyArg {
    /// Exact 15 s spacing, integer or two-decimal values.
    ScrapeLike,
    /// ±2 ms timestamp jitter, full-precision floats.
    HighEntropy,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum OrderArg {
    /// Each series' samples together (always used for OpenMetrics).
    Series,
    /// All series at one timestamp, then the next.
    Time,
}

/// Deterministic synthetic metrics for lookout's benchmarks and interop tests.
///
/// Series are `<prefix>_<m>[_total]{instance="host-NNNNN:9100", job="loadgen"[, idx="N"]}`;
/// metric m follows value kind m % 5: integer counter with Poisson steps,
/// two-decimal cpu-seconds counter, constant, byte gauge in 4 KiB steps,
/// two-decimal random walk. The same arguments always produce the same bytes.
///
/// Examples:
///   lookout-loadgen --preset bar --format openmetrics --out bar.om
///   lookout-loadgen --preset bar --format prometheus --out bar.prom
///   lookout-loadgen --preset rw10k --format remote-write --samples-per-request 5000 --out rw.bin
#[derive(Parser, Debug)]
#[command(name = "lookout-loadgen", version, verbatim_doc_comment)]
struct Args {
    /// Start from a named size (explicit flags below override it).
    #[arg(long, value_enum, default_value = "bar")]
    preset: Preset,
    /// Output encoding.
    #[arg(long, value_enum, default_value = "openmetrics")]
    format: Format,
    /// Output file; `-` for stdout.
    #[arg(long, default_value = "-")]
    out: String,
    /// Number of metric names.
    #[arg(long)]
    metrics: Option<u32>,
    /// Series per metric name.
    #[arg(long)]
    series_per_metric: Option<u32>,
    /// Samples per series.
    #[arg(long)]
    points: Option<u32>,
    /// Duration in hours (sets --points from the interval).
    #[arg(long, conflicts_with = "points")]
    hours: Option<f64>,
    /// Sample interval in milliseconds.
    #[arg(long, default_value_t = 15_000)]
    interval_ms: i64,
    /// First timestamp in ms since the epoch. Default: the data ends at the
    /// last 2 h boundary before now (recent enough for every peer's retention).
    #[arg(long, allow_hyphen_values = true)]
    start_ms: Option<i64>,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Noise level.
    #[arg(long, value_enum, default_value = "scrape-like")]
    entropy: EntropyArg,
    /// Add a unique `idx` label to every series (default on for ingest presets).
    #[arg(long)]
    idx_label: Option<bool>,
    /// Metric name prefix.
    #[arg(long, default_value = "bf_metric")]
    metric_prefix: String,
    /// Sample order for `--format prometheus`.
    #[arg(long, value_enum, default_value = "series")]
    order: OrderArg,
    /// Samples per remote-write request.
    #[arg(long, default_value_t = 5000)]
    samples_per_request: usize,
}

fn build_spec(a: &Args) -> anyhow::Result<Spec> {
    let (metrics, spm, points, idx) = match a.preset {
        Preset::Bar => (50, 200, 1440, false),
        Preset::Bar2k => (10, 200, 1440, false),
        Preset::Rw10k => (50, 200, 720, true),
        Preset::Ingest100k => (100, 1000, 20, true),
        Preset::Ingest1m => (100, 10_000, 16, true),
    };
    if a.interval_ms <= 0 {
        bail!("--interval-ms must be positive");
    }
    let points = match (a.points, a.hours) {
        (Some(p), _) => p,
        (None, Some(h)) => (h * 3_600_000.0 / a.interval_ms as f64).round() as u32,
        (None, None) => points,
    };
    let start_ms = match a.start_ms {
        Some(s) => s,
        None => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .context("system clock before 1970")?
                .as_millis() as i64;
            let two_h = 2 * 3_600_000;
            now - now.rem_euclid(two_h) - a.interval_ms * points as i64
        }
    };
    Ok(Spec {
        metrics: a.metrics.unwrap_or(metrics),
        series_per_metric: a.series_per_metric.unwrap_or(spm),
        start_ms,
        interval_ms: a.interval_ms,
        points,
        seed: a.seed,
        entropy: match a.entropy {
            EntropyArg::ScrapeLike => Entropy::ScrapeLike,
            EntropyArg::HighEntropy => Entropy::HighEntropy,
        },
        idx_label: a.idx_label.unwrap_or(idx),
        metric_prefix: a.metric_prefix.clone(),
        job: "loadgen".into(),
    })
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let spec = build_spec(&args)?;
    let started = Instant::now();
    let out: Box<dyn Write> = if args.out == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(
            std::fs::File::create(&args.out).with_context(|| format!("creating {}", args.out))?,
        )
    };
    let w = BufWriter::with_capacity(1 << 20, out);
    let (samples, bytes, extra) = match args.format {
        Format::Openmetrics => {
            let r = write_openmetrics(&spec, w)?;
            (r.samples, r.bytes, String::new())
        }
        Format::Prometheus => {
            let order = match args.order {
                OrderArg::Series => Order::SeriesMajor,
                OrderArg::Time => Order::TimeMajor,
            };
            let r = write_prometheus_text(&spec, order, w)?;
            (r.samples, r.bytes, String::new())
        }
        Format::RemoteWrite => {
            let r = write_bodies(&spec, args.samples_per_request, w)?;
            (r.samples, r.bytes, format!(", {} requests", r.requests))
        }
        Format::Stats => {
            println!(
                "{{\"series\":{},\"samples\":{},\"start_ms\":{},\"end_ms\":{},\"interval_ms\":{}}}",
                spec.series(),
                spec.samples(),
                spec.start_ms,
                spec.end_ms(),
                spec.interval_ms
            );
            return Ok(());
        }
    };
    eprintln!(
        "lookout-loadgen: {} series, {samples} samples, {bytes} bytes{extra}, {:.2}s",
        spec.series(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
