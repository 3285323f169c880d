//! End-to-end interop of `lookout tsdb import/export` with Prometheus'
//! promtool 2.42: exported blocks pass `analyze --extended` and `dump`
//! returns exactly what was stored; promtool-made blocks import exactly;
//! lookout → export → import is lossless (stale markers included).

use lookout_loadgen::text::{push_om_timestamp, push_value};
use lookout_model::labels::Labels;
use lookout_model::matcher::{MatchOp, Matcher};
use lookout_model::sample::{FloatSample, STALE_NAN};
use lookout_model::storage::{Appendable, Querier, SelectHints};
use lookout_tsdb::promblock::{list_blocks, BlockReader};
use lookout_tsdb::{Db, Options};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

type Data = BTreeMap<Labels, Vec<FloatSample>>;

const LOOKOUT: &str = env!("CARGO_BIN_EXE_lookout");
/// A 2h-aligned start a few days before the tests run would be ideal, but
/// the data must be fixed: the store is opened without retention.
const BASE: i64 = 1_795_773_600_000;

fn lookout(args: &[&str]) -> String {
    let out = Command::new(LOOKOUT).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "lookout {args:?} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn run(tool: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(tool).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// 600 series over ~7 h (4 blocks): NaN, stale markers, ±Inf, extreme
/// magnitudes, irregular spacing; a few series without `__name__`.
fn edge_data(with_stale: bool) -> Data {
    let mut d: Data = BTreeMap::new();
    for i in 0..600u32 {
        let labels = if i % 100 == 99 {
            Labels::from_pairs([("job", "noname"), ("i", &i.to_string())])
        } else {
            Labels::from_pairs([
                ("__name__", format!("interop_metric_{}", i % 12)),
                ("instance", format!("h{i:04}:9100")),
                ("job", "interop".to_string()),
            ])
        };
        let mut t = BASE + 1_000 + (i as i64 % 7) * 1_001;
        let n = 200 + (i as i64 % 4) * 150;
        let mut s = Vec::new();
        for k in 0..n {
            let v = match (k + i as i64) % 23 {
                0 => f64::from_bits(0x7ff8_0000_0000_0001),
                1 if with_stale => STALE_NAN,
                2 => f64::INFINITY,
                3 => f64::NEG_INFINITY,
                4 => 1.7976931348623157e308,
                5 => 4.9e-324,
                6 => -123456789.123456,
                7 => 0.1 + 0.2,
                _ => (k as f64) * 0.25 + i as f64,
            };
            s.push(FloatSample { t, v });
            t += match k % 6 {
                0 => 15_000,
                1 => 15_003,
                2 => 45_000,
                3 => 15_000 + 70_000,
                4 => 14_999,
                _ => 15_000 + 600_000,
            };
        }
        d.insert(labels, s);
    }
    d
}

fn store(dir: &Path, data: &Data) {
    let db = Db::open(dir, Options::for_tests()).unwrap();
    // Time-major like a scraper, in several commits.
    let mut app = db.appender();
    let mut n = 0;
    let max_len = data.values().map(Vec::len).max().unwrap();
    for k in 0..max_len {
        for (l, s) in data {
            if let Some(x) = s.get(k) {
                app.append(l, x.t, x.v).unwrap();
                n += 1;
                if n % 20_000 == 0 {
                    app.commit().unwrap();
                    app = db.appender();
                }
            }
        }
    }
    app.commit().unwrap();
    db.close().unwrap();
}

fn query_all(dir: &Path) -> Data {
    let db = Db::open(dir, Options::for_tests()).unwrap();
    let m = vec![Matcher::new(MatchOp::Regex, "__name__", ".*").unwrap()];
    let hints = SelectHints {
        mint: i64::MIN,
        maxt: i64::MAX,
        ..SelectHints::default()
    };
    let mut out = Data::new();
    for s in db.select(&m, &hints).unwrap() {
        let s = s.unwrap();
        assert!(s.histograms.is_empty());
        out.insert(s.labels, s.floats);
    }
    out
}

fn assert_same(got: &Data, want: &Data, nan_kind_matters: bool) {
    assert_eq!(got.len(), want.len(), "series count");
    let mut n = 0;
    for ((gl, gs), (wl, ws)) in got.iter().zip(want) {
        assert_eq!(gl, wl);
        assert_eq!(gs.len(), ws.len(), "sample count of {gl}");
        for (a, b) in gs.iter().zip(ws) {
            assert_eq!(a.t, b.t, "timestamp in {gl}");
            let same = if nan_kind_matters || !(a.v.is_nan() && b.v.is_nan()) {
                a.v.to_bits() == b.v.to_bits()
            } else {
                true
            };
            assert!(
                same,
                "value in {gl} at {}: {:#x} vs {:#x}",
                a.t,
                a.v.to_bits(),
                b.v.to_bits()
            );
            n += 1;
        }
    }
    assert!(n > 0);
}

/// `promtool tsdb dump` lines: `{a="b", c="d"} value ts`.
fn parse_dump(text: &str) -> Data {
    let mut out = Data::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let close = line.rfind("} ").unwrap();
        let pairs: Vec<(String, String)> = line[1..close]
            .split(", ")
            .map(|p| {
                let (n, v) = p.split_once('=').unwrap();
                (n.to_string(), v.trim_matches('"').to_string())
            })
            .collect();
        let mut rest = line[close + 2..].split(' ');
        let v = match rest.next().unwrap() {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            s => s.parse().unwrap(),
        };
        let t = rest.next().unwrap().parse().unwrap();
        out.entry(Labels::from_pairs(pairs))
            .or_default()
            .push(FloatSample { t, v });
    }
    out
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn export_passes_promtool_and_dumps_exactly() {
    let Some(promtool) = lookout_testkit::require_tool("promtool") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (db, blocks) = (tmp.path().join("db"), tmp.path().join("blocks"));
    let data = edge_data(true);
    store(&db, &data);
    let out = lookout(&[
        "tsdb",
        "export",
        "--data-dir",
        db.to_str().unwrap(),
        "--out",
        blocks.to_str().unwrap(),
    ]);
    assert!(out.contains("exported "), "{out}");
    let metas = list_blocks(&blocks).unwrap();
    assert!(
        metas.len() >= 4,
        "expected several 2h blocks, got {}",
        metas.len()
    );
    for (_, m) in &metas {
        assert_eq!(m.min_time.rem_euclid(7_200_000), 0);
        assert_eq!(m.max_time - m.min_time, 7_200_000);
    }
    // Bit-exact through our own reader (stale markers survive).
    let mut got = Data::new();
    for (p, _) in &metas {
        for s in BlockReader::open(p).unwrap().series().unwrap() {
            let s = s.unwrap();
            got.entry(s.labels).or_default().extend(s.samples);
        }
    }
    assert_same(&got, &data, true);
    // promtool on a copy (it creates chunks_head/), with an empty wal/.
    let check = tmp.path().join("check");
    copy_dir(&blocks, &check);
    std::fs::create_dir_all(check.join("wal")).unwrap();
    let cp = check.to_str().unwrap();
    for (_, m) in &metas {
        let (ok, out, err) = run(&promtool, &["tsdb", "analyze", "--extended", cp, &m.ulid]);
        assert!(ok, "analyze --extended {}: {out}\n{err}", m.ulid);
    }
    let (ok, out, err) = run(&promtool, &["tsdb", "dump", cp]);
    assert!(ok, "dump: {err}");
    assert_same(&parse_dump(&out), &data, false);
}

#[test]
fn import_of_promtool_blocks_is_exact_through_the_querier() {
    let Some(promtool) = lookout_testkit::require_tool("promtool") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // promtool's OpenMetrics input cannot carry stale markers; NaN parses to Go's NaN.
    let data = edge_data(false);
    let mut by_family: BTreeMap<String, Vec<(&Labels, &Vec<FloatSample>)>> = BTreeMap::new();
    for (l, s) in &data {
        by_family
            .entry(l.metric_name().unwrap_or("").to_string())
            .or_default()
            .push((l, s));
    }
    let mut om = Vec::new();
    for (fam, series) in &by_family {
        if fam.is_empty() {
            continue; // OpenMetrics needs a metric name
        }
        om.extend_from_slice(format!("# TYPE {fam} gauge\n").as_bytes());
        for (l, s) in series {
            let prefix: Vec<String> = l
                .iter()
                .filter(|x| x.name != "__name__")
                .map(|x| format!("{}=\"{}\"", x.name, x.value))
                .collect();
            for x in s.iter() {
                om.extend_from_slice(format!("{fam}{{{}}} ", prefix.join(",")).as_bytes());
                push_value(&mut om, x.v);
                om.push(b' ');
                push_om_timestamp(&mut om, x.t);
                om.push(b'\n');
            }
        }
    }
    om.extend_from_slice(b"# EOF\n");
    let want: Data = data
        .into_iter()
        .filter(|(l, _)| l.metric_name().is_some())
        .collect();
    let om_path = tmp.path().join("in.om");
    std::fs::write(&om_path, &om).unwrap();
    let prom = tmp.path().join("prom");
    let (ok, out, err) = run(
        &promtool,
        &[
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            om_path.to_str().unwrap(),
            prom.to_str().unwrap(),
        ],
    );
    assert!(ok, "create-blocks-from: {out}\n{err}");
    assert!(list_blocks(&prom).unwrap().len() >= 4);
    let db = tmp.path().join("db");
    let out = lookout(&[
        "tsdb",
        "import",
        "--from",
        prom.to_str().unwrap(),
        "--data-dir",
        db.to_str().unwrap(),
    ]);
    assert!(out.contains(" 0 rejected"), "{out}");
    assert_same(&query_all(&db), &want, true);
    // The same file through lookout's own OpenMetrics backfill.
    let db2 = tmp.path().join("db2");
    let out = lookout(&[
        "tsdb",
        "import",
        "--openmetrics",
        om_path.to_str().unwrap(),
        "--data-dir",
        db2.to_str().unwrap(),
    ]);
    assert!(out.contains(" 0 rejected"), "{out}");
    assert_same(&query_all(&db2), &want, true);
}

#[test]
fn lookout_export_import_round_trip_is_lossless() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, blocks, b) = (
        tmp.path().join("a"),
        tmp.path().join("blocks"),
        tmp.path().join("b"),
    );
    let data = edge_data(true);
    store(&a, &data);
    lookout(&[
        "tsdb",
        "export",
        "--data-dir",
        a.to_str().unwrap(),
        "--out",
        blocks.to_str().unwrap(),
    ]);
    lookout(&[
        "tsdb",
        "import",
        "--from",
        blocks.to_str().unwrap(),
        "--data-dir",
        b.to_str().unwrap(),
    ]);
    assert_same(&query_all(&b), &data, true);
    // A time-limited export holds exactly the samples in range.
    let (lo, hi) = (BASE + 3 * 3_600_000, BASE + 5 * 3_600_000 - 1);
    let part = tmp.path().join("part");
    lookout(&[
        "tsdb",
        "export",
        "--data-dir",
        a.to_str().unwrap(),
        "--out",
        part.to_str().unwrap(),
        "--min-time",
        &lo.to_string(),
        "--max-time",
        &hi.to_string(),
    ]);
    let mut got = Data::new();
    for (p, _) in list_blocks(&part).unwrap() {
        for s in BlockReader::open(&p).unwrap().series().unwrap() {
            let s = s.unwrap();
            got.entry(s.labels).or_default().extend(s.samples);
        }
    }
    let want: Data = data
        .iter()
        .map(|(l, s)| {
            (
                l.clone(),
                s.iter()
                    .copied()
                    .filter(|x| x.t >= lo && x.t <= hi)
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, s)| !s.is_empty())
        .collect();
    assert_same(&got, &want, true);
}

#[test]
fn import_reports_bad_input_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let om = tmp.path().join("bad.om");
    std::fs::write(&om, "# TYPE a gauge\na 1 100\na{b=\"c\" 2 200\n# EOF\n").unwrap();
    let out = Command::new(LOOKOUT)
        .args([
            "tsdb",
            "import",
            "--openmetrics",
            om.to_str().unwrap(),
            "--data-dir",
            tmp.path().join("db").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3"), "{err}");
    let out = Command::new(LOOKOUT)
        .args([
            "tsdb",
            "import",
            "--from",
            tmp.path().to_str().unwrap(),
            "--data-dir",
            tmp.path().join("db2").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no Prometheus blocks"));
}
