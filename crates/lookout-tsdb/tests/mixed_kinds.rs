//! Series that switch between float and native-histogram samples.

use lookout_model::storage::{Appendable, Querier, SelectHints, SeriesData};
use lookout_model::{FloatHistogram, Labels, Matcher, Span};
use lookout_tsdb::{Db, Options};

fn all() -> SelectHints {
    SelectHints {
        mint: i64::MIN,
        maxt: i64::MAX,
        ..Default::default()
    }
}

fn select_one(db: &Db, name: &str) -> SeriesData {
    let mut got: Vec<SeriesData> = db
        .select(&[Matcher::equal("__name__", name)], &all())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got.len(), 1, "{name}");
    got.remove(0)
}

fn hist(count: f64) -> FloatHistogram {
    FloatHistogram {
        schema: 0,
        count,
        sum: count * 2.0,
        positive_spans: vec![Span {
            offset: 0,
            length: 1,
        }],
        positive_buckets: vec![count],
        ..Default::default()
    }
}

/// `f` = float, `h` = histogram, one per minute (the shape of the
/// `mixed_metric1` corpus series).
const PATTERN: &str = "fffhhffh";

fn expected() -> (Vec<i64>, Vec<i64>) {
    let mut f = Vec::new();
    let mut h = Vec::new();
    for (i, c) in PATTERN.chars().enumerate() {
        let t = i as i64 * 60_000;
        if c == 'f' {
            f.push(t);
        } else {
            h.push(t);
        }
    }
    (f, h)
}

fn check(db: &Db, name: &str, phase: &str) {
    let s = select_one(db, name);
    let (wf, wh) = expected();
    let gf: Vec<i64> = s.floats.iter().map(|x| x.t).collect();
    let gh: Vec<i64> = s.histograms.iter().map(|x| x.t).collect();
    assert_eq!(gf, wf, "{name} floats, {phase}");
    assert_eq!(gh, wh, "{name} histograms, {phase}");
    for x in &s.floats {
        assert_eq!(x.v, x.t as f64);
    }
    for x in &s.histograms {
        assert_eq!(x.h.count, x.t as f64);
    }
}

#[test]
fn histograms_followed_by_floats_survive_one_batch_and_batch_api() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::for_tests()).unwrap();
    let one = Labels::from_pairs([("__name__", "one_batch")]);
    let many = Labels::from_pairs([("__name__", "many_batches")]);
    let native = Labels::from_pairs([("__name__", "native_api")]);

    // Everything in one Appender batch, in time order.
    let mut app = db.appender();
    for (i, c) in PATTERN.chars().enumerate() {
        let t = i as i64 * 60_000;
        if c == 'f' {
            app.append(&one, t, t as f64).unwrap();
        } else {
            app.append_histogram(&one, t, &hist(t as f64)).unwrap();
        }
    }
    app.commit().unwrap();

    // One batch per sample.
    for (i, c) in PATTERN.chars().enumerate() {
        let t = i as i64 * 60_000;
        let mut app = db.appender();
        if c == 'f' {
            app.append(&many, t, t as f64).unwrap();
        } else {
            app.append_histogram(&many, t, &hist(t as f64)).unwrap();
        }
        app.commit().unwrap();
    }

    // Native batch API: floats and histograms in separate slices.
    let r = db.series_ref(&native).unwrap();
    let mut floats = Vec::new();
    let mut hists = Vec::new();
    for (i, c) in PATTERN.chars().enumerate() {
        let t = i as i64 * 60_000;
        if c == 'f' {
            floats.push((r, t, t as f64));
        } else {
            hists.push((r, t, hist(t as f64)));
        }
    }
    let report = db.append_batch(&floats, &hists).unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(report.appended, PATTERN.len());

    for name in ["one_batch", "many_batches", "native_api"] {
        check(&db, name, "head");
    }
    db.flush().unwrap();
    for name in ["one_batch", "many_batches", "native_api"] {
        check(&db, name, "flushed");
    }
    db.compact_full(&|_| {}).unwrap();
    for name in ["one_batch", "many_batches", "native_api"] {
        check(&db, name, "compacted");
    }
    db.close().unwrap();
    let db = Db::open(dir.path(), Options::for_tests()).unwrap();
    for name in ["one_batch", "many_batches", "native_api"] {
        check(&db, name, "reopened");
    }
}

#[test]
fn batch_api_checks_mixed_kinds_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::for_tests()).unwrap();
    let r = db
        .series_ref(&Labels::from_pairs([("__name__", "x")]))
        .unwrap();
    let report = db
        .append_batch(
            &[(r, 1000, 1.0)],
            &[(r, 1000, hist(1.0)), (r, 500, hist(2.0))],
        )
        .unwrap();
    // Checked in time order: the histogram at 500 and the float at 1000
    // are stored, the histogram at 1000 collides with the float. Indexes
    // count floats first, then histograms.
    assert_eq!(report.appended, 2);
    assert_eq!(
        report.rejected,
        vec![(1, lookout_model::storage::AppendError::Duplicate)]
    );
    let s = select_one(&db, "x");
    assert_eq!(s.floats.len(), 1);
    assert_eq!(s.histograms.len(), 1);
    assert_eq!(s.histograms[0].t, 500);
}
