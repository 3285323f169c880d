//! `lookout tsdb export`: a lookout store as Prometheus TSDB blocks.

use super::tsdb_import::{dir_bytes, Progress};
use anyhow::{bail, Context};
use lookout_model::matcher::{MatchOp, Matcher};
use lookout_model::sample::FloatSample;
use lookout_model::storage::{Querier, SelectHints};
use lookout_tsdb::promblock::{window_start, BlockWriter, BLOCK_RANGE_MS};
use lookout_tsdb::{Db, Options};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// 2 h windows exported per pass over the store: bounds open block writers
/// (files, buffers) while keeping the number of passes small.
const WINDOWS_PER_PASS: i64 = 12;

/// Arguments of `lookout tsdb export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The lookout store to read (must not be open by a server).
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Directory to write the blocks into (created if missing); each block
    /// is `<ULID>/`, covering one 2 h-aligned window.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Only samples at or after this time (ms since the epoch).
    #[arg(long, allow_hyphen_values = true)]
    pub min_time: Option<i64>,
    /// Only samples at or before this time (ms since the epoch).
    #[arg(long, allow_hyphen_values = true)]
    pub max_time: Option<i64>,
}

fn all_series() -> anyhow::Result<Vec<Matcher>> {
    Ok(vec![Matcher::new(MatchOp::Regex, "__name__", ".*")
        .map_err(|e| anyhow::anyhow!("{}", e.message))?])
}

/// Runs `lookout tsdb export`.
pub fn run(a: ExportArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    if !a.data_dir.is_dir() {
        bail!("{} is not a directory", a.data_dir.display());
    }
    let db = Db::open(&a.data_dir, Options::for_tests())
        .with_context(|| format!("opening store {}", a.data_dir.display()))?;
    let matchers = all_series()?;
    let req_min = a.min_time.unwrap_or(i64::MIN);
    let req_max = a.max_time.unwrap_or(i64::MAX);
    if req_max < req_min {
        bail!("--max-time is before --min-time");
    }
    // Pass 1: the time span actually holding data.
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    let hints = SelectHints {
        mint: req_min,
        maxt: req_max,
        ..SelectHints::default()
    };
    for s in db.select(&matchers, &hints).context("reading the store")? {
        let s = s.context("reading the store")?;
        if let (Some(f), Some(l)) = (s.floats.first(), s.floats.last()) {
            lo = lo.min(f.t);
            hi = hi.max(l.t);
        }
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    if lo > hi {
        println!("exported 0 blocks: no float samples in range");
        return Ok(ExitCode::SUCCESS);
    }
    let first_window = window_start(lo, BLOCK_RANGE_MS);
    let last_window = window_start(hi, BLOCK_RANGE_MS);
    let total_windows = (last_window - first_window) / BLOCK_RANGE_MS + 1;
    let progress = Progress::new(total_windows as u64, "windows");
    let (mut blocks, mut samples, mut hist_skipped) = (0u64, 0u64, 0u64);
    let mut series_seen = std::collections::HashSet::new();
    let mut pass_start = first_window;
    while pass_start <= last_window {
        let pass_end = pass_start.saturating_add(WINDOWS_PER_PASS * BLOCK_RANGE_MS); // exclusive
        let hints = SelectHints {
            mint: pass_start.max(req_min),
            maxt: (pass_end - 1).min(req_max),
            ..SelectHints::default()
        };
        let mut writers: BTreeMap<i64, BlockWriter> = BTreeMap::new();
        for s in db.select(&matchers, &hints).context("reading the store")? {
            let s = s.context("reading the store")?;
            hist_skipped += s.histograms.len() as u64;
            if s.floats.is_empty() {
                continue;
            }
            series_seen.insert(s.labels.stable_hash());
            let mut rest: &[FloatSample] = &s.floats;
            while let Some(first) = rest.first() {
                let w = window_start(first.t, BLOCK_RANGE_MS);
                let n = rest.iter().take_while(|x| x.t < w + BLOCK_RANGE_MS).count();
                let (part, tail) = rest.split_at(n);
                let bw = match writers.entry(w) {
                    std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::btree_map::Entry::Vacant(e) => {
                        e.insert(BlockWriter::create(&a.out, w, w + BLOCK_RANGE_MS)?)
                    }
                };
                bw.add_series(s.labels.clone(), part)
                    .with_context(|| format!("writing series {}", s.labels))?;
                samples += part.len() as u64;
                rest = tail;
            }
        }
        for (_, bw) in writers {
            if bw.finish()?.is_some() {
                blocks += 1;
            }
        }
        progress.set(
            ((pass_end.min(last_window + BLOCK_RANGE_MS) - first_window) / BLOCK_RANGE_MS) as u64,
        );
        pass_start = pass_end;
    }
    progress.finish();
    drop(db);
    if hist_skipped > 0 {
        eprintln!("warning: {hist_skipped} native-histogram samples were not exported (float chunks only)");
    }
    let secs = started.elapsed().as_secs_f64();
    let bytes = dir_bytes(&a.out);
    println!(
        "exported {blocks} blocks, {} series, {samples} samples to {}: {bytes} bytes ({:.3} bytes/sample), {secs:.2} s",
        series_seen.len(),
        a.out.display(),
        if samples > 0 { bytes as f64 / samples as f64 } else { 0.0 },
    );
    Ok(ExitCode::SUCCESS)
}
