//! External validation of the Prometheus block code with Debian's promtool
//! 2.42 (tsdb-format.md §12): our blocks pass `analyze --extended` and
//! `dump` returns exactly what we wrote; promtool's blocks read back exactly.

use lookout_model::labels::Labels;
use lookout_model::sample::{FloatSample, STALE_NAN};
use lookout_tsdb::promblock::{
    list_blocks, window_start, BlockReader, BlockWriter, BLOCK_RANGE_MS,
};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

type Data = BTreeMap<Labels, Vec<FloatSample>>;

fn promtool() -> Option<std::path::PathBuf> {
    lookout_testkit::require_tool("promtool")
}

fn run(tool: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(tool).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Parses `promtool tsdb dump` lines: `{a="b", c="d"} value ts`.
fn parse_dump(text: &str) -> Data {
    let mut out: Data = BTreeMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let close = line.rfind("} ").unwrap();
        let inner = &line[1..close];
        let mut pairs = Vec::new();
        for part in inner.split(", ") {
            let (n, v) = part.split_once('=').unwrap();
            pairs.push((n.to_string(), v.trim_matches('"').to_string()));
        }
        let mut rest = line[close + 2..].split(' ');
        let v: f64 = match rest.next().unwrap() {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            s => s.parse().unwrap(),
        };
        let t: i64 = rest.next().unwrap().parse().unwrap();
        out.entry(Labels::from_pairs(pairs))
            .or_default()
            .push(FloatSample { t, v });
    }
    out
}

fn same_value(a: f64, b: f64) -> bool {
    // Go's %g prints every NaN (plain or stale marker) as "NaN".
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

fn assert_same(got: &Data, want: &Data, exact_nan: bool) {
    assert_eq!(got.len(), want.len(), "series count");
    let mut n = 0;
    for ((gl, gs), (wl, ws)) in got.iter().zip(want) {
        assert_eq!(gl, wl);
        assert_eq!(gs.len(), ws.len(), "samples of {gl}");
        for (a, b) in gs.iter().zip(ws) {
            assert_eq!(a.t, b.t, "timestamp in {gl}");
            if exact_nan {
                assert_eq!(
                    a.v.to_bits(),
                    b.v.to_bits(),
                    "value bits in {gl} at {}",
                    a.t
                );
            } else {
                assert!(
                    same_value(a.v, b.v),
                    "value in {gl} at {}: {} vs {}",
                    a.t,
                    a.v,
                    b.v
                );
            }
            n += 1;
        }
    }
    assert!(n > 0);
}

/// Edge-case data over several 2 h windows: NaN, stale markers, ±Inf,
/// huge/tiny values, every dod bucket, 1,500 series.
fn edge_case_data() -> Data {
    let base = 1_795_773_600_000i64; // 2h-aligned
    let mut data: Data = BTreeMap::new();
    for i in 0..1500u32 {
        let name = format!("edge_metric_{}", i % 15);
        let labels = Labels::from_pairs([
            ("__name__", name.as_str()),
            ("instance", &format!("host-{i:05}")),
            ("job", if i % 2 == 0 { "even" } else { "odd" }),
        ]);
        let mut t = base + (i as i64 % 13) * 1000;
        let mut s = Vec::new();
        let n = if i < 10 {
            1500
        } else {
            60 + (i as i64 % 5) * 100
        };
        for k in 0..n {
            let v = match (k + i as i64) % 17 {
                0 => f64::NAN,
                1 => STALE_NAN,
                2 => f64::INFINITY,
                3 => f64::NEG_INFINITY,
                4 => 1.7976931348623157e308,
                5 => 5e-324,
                6 => -0.0,
                _ => (k as f64) * 1.25 + i as f64 / 3.0,
            };
            s.push(FloatSample { t, v });
            // Cycle through every dod bucket.
            t += match k % 9 {
                0 => 15_000,
                1 => 15_001,
                2 => 15_000 + 8_000,
                3 => 15_000 + 60_000,
                4 => 15_000 + 500_000,
                5 => 15_000 + 3_000_000,
                6 => 1,
                _ => 15_000,
            };
        }
        data.insert(labels, s);
    }
    data
}

/// Splits data at 2 h boundaries and writes one block per window.
fn write_blocks(dir: &Path, data: &Data) -> Vec<String> {
    let mut windows: BTreeMap<i64, Vec<(&Labels, Vec<FloatSample>)>> = BTreeMap::new();
    for (l, s) in data {
        let mut by_w: BTreeMap<i64, Vec<FloatSample>> = BTreeMap::new();
        for x in s {
            by_w.entry(window_start(x.t, BLOCK_RANGE_MS))
                .or_default()
                .push(*x);
        }
        for (w, v) in by_w {
            windows.entry(w).or_default().push((l, v));
        }
    }
    let mut ulids = Vec::new();
    for (w, series) in windows {
        let mut bw = BlockWriter::create(dir, w, w + BLOCK_RANGE_MS).unwrap();
        for (l, s) in series {
            bw.add_series(l.clone(), &s).unwrap();
        }
        let (_, meta) = bw.finish().unwrap().unwrap();
        ulids.push(meta.ulid);
    }
    ulids
}

#[test]
fn our_blocks_pass_promtool_analyze_and_dump_exactly() {
    let Some(promtool) = promtool() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = edge_case_data();
    let ulids = write_blocks(dir.path(), &data);
    assert!(
        ulids.len() >= 3,
        "expected several blocks, got {}",
        ulids.len()
    );
    // promtool creates chunks_head/ in what it opens: work on a copy with an empty wal/.
    let check = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let e = e.unwrap();
        let dst = check.path().join(e.file_name());
        std::fs::create_dir_all(dst.join("chunks")).unwrap();
        for f in ["index", "meta.json", "tombstones"] {
            std::fs::copy(e.path().join(f), dst.join(f)).unwrap();
        }
        for c in std::fs::read_dir(e.path().join("chunks")).unwrap() {
            let c = c.unwrap();
            std::fs::copy(c.path(), dst.join("chunks").join(c.file_name())).unwrap();
        }
    }
    std::fs::create_dir_all(check.path().join("wal")).unwrap();
    let cp = check.path().to_str().unwrap();
    let (ok, out, err) = run(&promtool, &["tsdb", "list", cp]);
    assert!(ok, "promtool tsdb list failed: {err}");
    for u in &ulids {
        assert!(out.contains(u.as_str()), "list misses {u}: {out}");
        let (ok, out, err) = run(&promtool, &["tsdb", "analyze", "--extended", cp, u]);
        assert!(ok, "analyze --extended {u} failed: {out}\n{err}");
        assert!(out.contains("Block ID: "), "{out}");
    }
    let (ok, out, err) = run(&promtool, &["tsdb", "dump", cp]);
    assert!(ok, "dump failed: {err}");
    let got = parse_dump(&out);
    assert_same(&got, &data, false);
}

#[test]
fn promtool_blocks_read_back_exactly() {
    let Some(promtool) = promtool() else { return };
    use lookout_loadgen::text::write_openmetrics;
    use lookout_loadgen::{series_major, Entropy, Spec};
    let spec = Spec {
        metrics: 10,
        series_per_metric: 30,
        start_ms: 1_795_773_600_000 - 3_600_000,
        interval_ms: 15_000,
        points: 4 * 240,
        seed: 11,
        entropy: Entropy::HighEntropy,
        idx_label: false,
        metric_prefix: "pt".into(),
        job: "j".into(),
    };
    let dir = tempfile::tempdir().unwrap();
    let om = dir.path().join("data.om");
    write_openmetrics(&spec, std::fs::File::create(&om).unwrap()).unwrap();
    let blocks = dir.path().join("blocks");
    let (ok, out, err) = run(
        &promtool,
        &[
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            om.to_str().unwrap(),
            blocks.to_str().unwrap(),
        ],
    );
    assert!(ok, "create-blocks-from failed: {out}\n{err}");
    let mut want: Data = BTreeMap::new();
    for s in series_major(&spec) {
        want.entry(spec.labels(s.series))
            .or_default()
            .push(FloatSample { t: s.t, v: s.v });
    }
    let metas = list_blocks(&blocks).unwrap();
    assert!(
        metas.len() >= 3,
        "expected several 2h blocks, got {}",
        metas.len()
    );
    let mut got: Data = BTreeMap::new();
    for (path, meta) in &metas {
        let r = BlockReader::open(path).unwrap();
        let mut n = 0;
        for s in r.series().unwrap() {
            let s = s.unwrap();
            assert_eq!(s.skipped_chunks, 0);
            n += s.samples.len() as u64;
            got.entry(s.labels).or_default().extend(s.samples);
        }
        assert_eq!(n, meta.stats.num_samples);
    }
    assert_same(&got, &want, true);
}
