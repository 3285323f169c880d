//! Block writer → block reader round trips (no external tools).

use lookout_model::labels::Labels;
use lookout_model::sample::{FloatSample, STALE_NAN};
use lookout_tsdb::promblock::tombstones::Tombstones;
use lookout_tsdb::promblock::{list_blocks, BlockReader, BlockWriter};

fn l(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

#[test]
fn write_then_read_every_sample_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let mut series: Vec<(Labels, Vec<FloatSample>)> = Vec::new();
    for i in 0..300 {
        let labels = l(&[("__name__", "m"), ("i", &format!("{i:04}")), ("job", "x")]);
        let samples: Vec<FloatSample> = (0..(i % 7) * 100 + 1)
            .map(|k| FloatSample {
                t: 1_000_000 + k as i64 * 15_000 + (k as i64 % 3),
                v: match k % 11 {
                    0 => f64::NAN,
                    1 => STALE_NAN,
                    2 => f64::INFINITY,
                    3 => -1e300,
                    _ => k as f64 * 0.1 + i as f64,
                },
            })
            .collect();
        series.push((labels, samples));
    }
    series.sort_by(|a, b| a.0.cmp(&b.0));
    let mut w = BlockWriter::create(dir.path(), 0, 100_000_000)
        .unwrap()
        .with_segment_size(4096);
    for (labels, s) in &series {
        w.add_series(labels.clone(), s).unwrap();
    }
    let (path, meta) = w.finish().unwrap().unwrap();
    assert_eq!(meta.stats.num_series, 300);
    assert!(std::fs::read_dir(path.join("chunks")).unwrap().count() > 1);
    let blocks = list_blocks(dir.path()).unwrap();
    assert_eq!(blocks.len(), 1);
    let r = BlockReader::open(&path).unwrap();
    let got: Vec<_> = r.series().unwrap().map(|s| s.unwrap()).collect();
    assert_eq!(got.len(), series.len());
    let mut total = 0;
    for (g, (labels, want)) in got.iter().zip(&series) {
        assert_eq!(&g.labels, labels);
        assert_eq!(g.samples.len(), want.len());
        for (a, b) in g.samples.iter().zip(want) {
            assert_eq!((a.t, a.v.to_bits()), (b.t, b.v.to_bits()));
        }
        total += want.len();
    }
    assert_eq!(meta.stats.num_samples, total as u64);
    assert_eq!(r.index().label_values("i").len(), 300);
    assert_eq!(r.index().label_names(), vec!["__name__", "i", "job"]);
    assert_eq!(r.index().postings("job", "x").unwrap().len(), 300);
    assert!(r.index().postings("job", "nope").unwrap().is_empty());
}

#[test]
fn tombstones_are_applied_on_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = BlockWriter::create(dir.path(), 0, 7_200_000).unwrap();
    let s: Vec<FloatSample> = (0..100)
        .map(|k| FloatSample {
            t: k * 1000,
            v: k as f64,
        })
        .collect();
    w.add_series(l(&[("a", "1")]), &s).unwrap();
    w.add_series(l(&[("a", "2")]), &s).unwrap();
    let (path, _) = w.finish().unwrap().unwrap();
    let ids = BlockReader::open(&path)
        .unwrap()
        .index()
        .all_series()
        .unwrap();
    let mut t = Tombstones::default();
    t.by_series
        .insert(ids[0], vec![(10_000, 19_000), (50_000, 50_000)]);
    std::fs::write(path.join("tombstones"), t.encode()).unwrap();
    let r = BlockReader::open(&path).unwrap();
    let got: Vec<_> = r.series().unwrap().map(|s| s.unwrap()).collect();
    assert_eq!(got[0].samples.len(), 89);
    assert!(got[0]
        .samples
        .iter()
        .all(|s| !(10_000..=19_000).contains(&s.t) && s.t != 50_000));
    assert_eq!(got[1].samples.len(), 100);
}

#[test]
fn writer_rejects_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = BlockWriter::create(dir.path(), 0, 1000).unwrap();
    let s = [FloatSample { t: 5, v: 1.0 }];
    w.add_series(l(&[("a", "2")]), &s).unwrap();
    assert!(w.add_series(l(&[("a", "1")]), &s).is_err());
    assert!(w
        .add_series(l(&[("a", "3")]), &[FloatSample { t: 1000, v: 1.0 }])
        .is_err());
    assert!(w
        .add_series(
            l(&[("a", "4")]),
            &[FloatSample { t: 5, v: 1.0 }, FloatSample { t: 5, v: 2.0 }]
        )
        .is_err());
    assert!(BlockWriter::create(dir.path(), 10, 10).is_err());
    let empty = BlockWriter::create(dir.path(), 0, 10).unwrap();
    assert!(empty.finish().unwrap().is_none());
}

#[test]
fn corrupted_files_give_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = BlockWriter::create(dir.path(), 0, 7_200_000).unwrap();
    for i in 0..20 {
        let s: Vec<FloatSample> = (0..200)
            .map(|k| FloatSample {
                t: k * 1000,
                v: (k * i) as f64,
            })
            .collect();
        w.add_series(l(&[("a", &format!("{i:02}"))]), &s).unwrap();
    }
    let (path, _) = w.finish().unwrap().unwrap();
    let index = std::fs::read(path.join("index")).unwrap();
    let chunk = std::fs::read(path.join("chunks/000001")).unwrap();
    // Flip each byte of the index in turn: every read either fails cleanly or
    // (for padding bytes) still returns the right data.
    for i in (0..index.len()).step_by(7) {
        let mut b = index.clone();
        b[i] ^= 0x5a;
        std::fs::write(path.join("index"), &b).unwrap();
        if let Ok(r) = BlockReader::open(&path) {
            if let Ok(it) = r.series() {
                for s in it {
                    let _ = s;
                }
            }
        }
    }
    std::fs::write(path.join("index"), &index).unwrap();
    for i in (8..chunk.len()).step_by(13) {
        let mut b = chunk.clone();
        b[i] ^= 0x01;
        std::fs::write(path.join("chunks/000001"), &b).unwrap();
        let r = BlockReader::open(&path).unwrap();
        let res: Result<Vec<_>, _> = r.series().unwrap().collect();
        assert!(res.is_err(), "flipping chunk byte {i} went unnoticed");
    }
    // Truncations.
    for cut in [0, 4, 30, index.len() - 1] {
        std::fs::write(path.join("index"), &index[..cut]).unwrap();
        assert!(BlockReader::open(&path).is_err());
    }
}
