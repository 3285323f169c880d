//! Series that switch between float and native-histogram samples.

use lookout_model::storage::{Appendable, Querier, SelectHints, SeriesData};
use lookout_model::{CounterResetHint, FloatHistogram, Labels, Matcher, Span};
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

fn hints(db: &Db, name: &str) -> Vec<(i64, CounterResetHint)> {
    select_one(db, name)
        .histograms
        .iter()
        .map(|s| (s.t, s.h.counter_reset_hint))
        .collect()
}

#[test]
fn histograms_read_back_with_prometheus_storage_hints() {
    use CounterResetHint::*;
    let dir = tempfile::tempdir().unwrap();
    let opts = || Options {
        out_of_order_time_window: 600_000,
        ..Options::for_tests()
    };
    let db = Db::open(dir.path(), opts()).unwrap();
    let l = Labels::from_pairs([("__name__", "h")]);
    let mut reset = hist(1.0);
    reset.counter_reset_hint = CounterReset;
    let mut gauge = hist(0.5);
    gauge.counter_reset_hint = Gauge;
    let mut not_reset = hist(7.0);
    not_reset.counter_reset_hint = NotCounterReset;
    let mut app = db.appender();
    app.append_histogram(&l, 0, &hist(2.0)).unwrap(); // first: keeps Unknown
    app.append_histogram(&l, 60_000, &hist(3.0)).unwrap(); // grows
    app.append_histogram(&l, 120_000, &hist(1.0)).unwrap(); // count went down
    app.append_histogram(&l, 180_000, &hist(4.0)).unwrap(); // grows
    app.append_histogram(&l, 240_000, &reset).unwrap(); // hinted reset
    app.append_histogram(&l, 300_000, &gauge).unwrap(); // gauge stays gauge
    app.append_histogram(&l, 360_000, &hist(5.0)).unwrap(); // after a gauge
    app.append(&l, 420_000, 1.0).unwrap();
    app.append_histogram(&l, 480_000, &not_reset).unwrap(); // after a float
    app.commit().unwrap();
    // A re-sent histogram is a duplicate whatever its hint.
    let mut resend = not_reset.clone();
    resend.counter_reset_hint = Unknown;
    let mut app = db.appender();
    app.append_histogram(&l, 480_000, &resend).unwrap();
    app.commit().unwrap();
    let want = vec![
        (0, Unknown),
        (60_000, NotCounterReset),
        (120_000, Unknown),
        (180_000, NotCounterReset),
        (240_000, Unknown),
        (300_000, Gauge),
        (360_000, Unknown),
        (480_000, NotCounterReset),
    ];
    assert_eq!(hints(&db, "h"), want, "head");
    db.flush().unwrap();
    db.compact_full(&|_| {}).unwrap();
    assert_eq!(hints(&db, "h"), want, "compacted");
    db.close().unwrap();

    // After a restart the previous histogram comes from the parts.
    let db = Db::open(dir.path(), opts()).unwrap();
    let mut app = db.appender();
    app.append_histogram(&l, 540_000, &hist(8.0)).unwrap();
    app.commit().unwrap();
    // Out of order: neighbours unknown.
    let mut app = db.appender();
    app.append_histogram(&l, 510_000, &hist(7.5)).unwrap();
    app.commit().unwrap();
    let got = hints(&db, "h");
    assert_eq!(
        &got[got.len() - 3..],
        &[
            (480_000, NotCounterReset),
            (510_000, Unknown),
            (540_000, NotCounterReset)
        ]
    );
    db.close().unwrap();

    // And after a restart from the WAL alone (nothing flushed).
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    let mut app = db.appender();
    app.append_histogram(&l, 0, &hist(2.0)).unwrap();
    app.commit().unwrap();
    let wal_copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), wal_copy.path());
    drop(db);
    let db = Db::open(wal_copy.path(), opts()).unwrap();
    let mut app = db.appender();
    app.append_histogram(&l, 60_000, &hist(3.0)).unwrap();
    app.append_histogram(&l, 120_000, &hist(1.0)).unwrap();
    app.commit().unwrap();
    assert_eq!(
        hints(&db, "h"),
        vec![(0, Unknown), (60_000, NotCounterReset), (120_000, Unknown)]
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
            copy_dir(&e.path(), &dst);
        } else if e.file_name() != "LOCK" {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}
