//! Writes the "live-like" data set of performance-anchors §4.1 as
//! pre-encoded remote-write bodies (the `lookout-loadgen --format
//! remote-write` file layout: big-endian u32 length + snappy body), for
//! `bench/ingest.sh`'s instant queries.
//!
//! §4.1 scraped one node_exporter as 100 instances plus a synthetic exporter
//! with 20 metrics × 2,500 label sets. Scraping for minutes per peer would
//! dominate the benchmark's run time, so this generates the same shape
//! directly, ending at a given timestamp:
//!
//! * 100 `job="node"` instances × 500 series: `node_cpu_seconds_total`
//!   (2 CPUs × 8 modes, two-decimal counters) and 44 filler gauge families
//!   `node_gen_<k>{sub="0".."10"}`;
//! * `job="synth"`: `synth_metric_<0..19>{id="0".."2499"}`, changing every
//!   scrape (even metrics are counters, odd ones two-decimal gauges).
//!
//! That is exactly 100,000 series, a multiple of 2 × the request size, so
//! `rw_replay`'s round-robin over two connections keeps each series on one
//! connection (no out-of-order samples). Samples are time-major, 15 s apart.
//!
//! Usage: `rw_live <out-file> <end-ms> [points]` (default 20 points = 5 min).
//! Prints `{"series":…,"samples":…,"start_ms":…,"end_ms":…}`.

use std::io::{BufWriter, Write};

use lookout_loadgen::remote_write::{encode_labels, push_series};
use lookout_loadgen::rng::Rng;
use lookout_model::Labels;

const INTERVAL_MS: i64 = 15_000;
const SAMPLES_PER_REQUEST: usize = 5000;
const MODES: [&str; 8] = [
    "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
];

/// One generated series: its encoded labels and value process state.
struct Series {
    labels: Vec<u8>,
    /// Value in hundredths.
    cents: i64,
    /// Per-step increment (counters) or walk width (gauges), hundredths.
    step: i64,
    counter: bool,
}

fn series_set(rng: &mut Rng) -> Vec<Series> {
    let mut out = Vec::with_capacity(100_000);
    let mut add = |labels: Labels, counter: bool, rng: &mut Rng| {
        out.push(Series {
            labels: encode_labels(&labels),
            cents: rng.range_i64(0, 10_000_000),
            step: rng.range_i64(1, 1500),
            counter,
        });
    };
    for i in 0..100 {
        let instance = format!("node-{i:03}:9100");
        for cpu in 0..2 {
            for mode in MODES {
                let l = Labels::from_pairs([
                    ("__name__", "node_cpu_seconds_total".to_string()),
                    ("cpu", cpu.to_string()),
                    ("instance", instance.clone()),
                    ("job", "node".into()),
                    ("mode", mode.into()),
                ]);
                add(l, true, rng);
            }
        }
        for k in 0..44 {
            for sub in 0..11 {
                let l = Labels::from_pairs([
                    ("__name__", format!("node_gen_{k}")),
                    ("instance", instance.clone()),
                    ("job", "node".into()),
                    ("sub", sub.to_string()),
                ]);
                add(l, false, rng);
            }
        }
    }
    for m in 0..20 {
        for id in 0..2500 {
            let l = Labels::from_pairs([
                ("__name__", format!("synth_metric_{m}")),
                ("id", id.to_string()),
                ("instance", "127.0.0.1:19101".into()),
                ("job", "synth".into()),
            ]);
            add(l, m % 2 == 0, rng);
        }
    }
    out
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(end_ms)) = (args.get(1), args.get(2).and_then(|s| s.parse::<i64>().ok()))
    else {
        eprintln!("usage: rw_live <out-file> <end-ms> [points]");
        std::process::exit(2);
    };
    let points: i64 = args
        .get(3)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
        .max(1);
    let start_ms = end_ms - (points - 1) * INTERVAL_MS;
    let mut rng = Rng::new(7, 0);
    let mut series = series_set(&mut rng);
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut encoder = snap::raw::Encoder::new();
    let mut req = Vec::with_capacity(SAMPLES_PER_REQUEST * 100);
    let mut compressed = Vec::new();
    let mut in_req = 0;
    let mut samples = 0u64;
    let mut flush = |req: &mut Vec<u8>, w: &mut BufWriter<std::fs::File>| -> std::io::Result<()> {
        compressed.resize(snap::raw::max_compress_len(req.len()), 0);
        let n = encoder
            .compress(req, &mut compressed)
            .map_err(std::io::Error::other)?;
        let len = u32::try_from(n).map_err(std::io::Error::other)?;
        w.write_all(&len.to_be_bytes())?;
        w.write_all(&compressed[..n])?;
        req.clear();
        Ok(())
    };
    for p in 0..points {
        let t = start_ms + p * INTERVAL_MS;
        for s in series.iter_mut() {
            if p > 0 {
                if s.counter {
                    s.cents += s.step / 2 + rng.range_i64(0, s.step);
                } else {
                    s.cents += rng.range_i64(-s.step, s.step);
                }
            }
            push_series(&mut req, &s.labels, t, s.cents as f64 / 100.0);
            samples += 1;
            in_req += 1;
            if in_req == SAMPLES_PER_REQUEST {
                flush(&mut req, &mut w)?;
                in_req = 0;
            }
        }
    }
    if in_req > 0 {
        flush(&mut req, &mut w)?;
    }
    w.flush()?;
    println!(
        "{{\"series\":{},\"samples\":{samples},\"start_ms\":{start_ms},\"end_ms\":{end_ms}}}",
        series.len()
    );
    Ok(())
}
