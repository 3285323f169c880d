//! Out-of-order samples that repeat the timestamp of a stored sample.

use lookout_model::storage::{AppendError, Appendable, Querier, SelectHints};
use lookout_model::{FloatHistogram, Labels, Matcher};
use lookout_tsdb::{Db, Options, SeriesRef};

fn all() -> SelectHints {
    SelectHints {
        mint: i64::MIN,
        maxt: i64::MAX,
        ..Default::default()
    }
}

fn floats(db: &Db, name: &str) -> Vec<(i64, f64)> {
    let got: Vec<_> = db
        .select(&[Matcher::equal("__name__", name)], &all())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got.len(), 1);
    got[0].floats.iter().map(|s| (s.t, s.v)).collect()
}

fn open(dir: &std::path::Path) -> Db {
    Db::open(
        dir,
        Options {
            out_of_order_time_window: 3_600_000,
            ..Options::for_tests()
        },
    )
    .unwrap()
}

fn one(db: &Db, r: SeriesRef, t: i64, v: f64) -> lookout_tsdb::CommitReport {
    db.append_batch(&[(r, t, v)], &[]).unwrap()
}

/// Stores samples at 1000, 2000, 3000 and the newest at 10_000, then
/// re-sends the older ones with the same and with other values.
fn check_resends(db: &Db, r: SeriesRef, free_t: i64, phase: &str) {
    for t in [1000, 2000, 3000] {
        let same = one(db, r, t, t as f64);
        assert_eq!(same.appended, 0, "{phase} t={t}");
        assert_eq!(same.duplicates, 1, "{phase} t={t}");
        assert!(same.rejected.is_empty(), "{phase} t={t}");
        let other = one(db, r, t, -1.0);
        assert_eq!(other.appended, 0, "{phase} t={t}");
        assert_eq!(
            other.rejected,
            vec![(0, AppendError::Duplicate)],
            "{phase} t={t}"
        );
    }
    // A free slot in the window is still accepted.
    let free = one(db, r, free_t, 15.0);
    assert_eq!((free.appended, free.out_of_order), (1, 1), "{phase}");
}

#[test]
fn same_timestamp_out_of_order_is_noop_or_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let l = Labels::from_pairs([("__name__", "a")]);
    let r = db.series_ref(&l).unwrap();
    // 1000 and 3000 in order; 2000 out of order (so the stored samples
    // come from both paths).
    one(&db, r, 1000, 1000.0);
    one(&db, r, 3000, 3000.0);
    assert_eq!(one(&db, r, 2000, 2000.0).out_of_order, 1);
    one(&db, r, 10_000, 10_000.0);

    check_resends(&db, r, 1500, "head");
    let want = vec![
        (1000, 1000.0),
        (1500, 15.0),
        (2000, 2000.0),
        (3000, 3000.0),
        (10_000, 10_000.0),
    ];
    assert_eq!(floats(&db, "a"), want);

    db.flush().unwrap();
    let l2 = Labels::from_pairs([("__name__", "b")]);
    let r2 = db.series_ref(&l2).unwrap();
    for t in [1000, 2000, 3000, 10_000] {
        one(&db, r2, t, t as f64);
    }
    db.flush().unwrap();
    // Both series now only in parts.
    check_resends(&db, r, 2500, "parts");
    check_resends(&db, r2, 1500, "parts, second series");
    db.close().unwrap();

    let db = open(dir.path());
    check_resends(&db, r2, 2500, "reopened");
    let want = vec![
        (1000, 1000.0),
        (1500, 15.0),
        (2000, 2000.0),
        (2500, 15.0),
        (3000, 3000.0),
        (10_000, 10_000.0),
    ];
    assert_eq!(floats(&db, "a"), want);
    assert_eq!(floats(&db, "b"), want);
}

#[test]
fn same_timestamp_within_one_batch_and_histograms() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let r = db
        .series_ref(&Labels::from_pairs([("__name__", "a")]))
        .unwrap();
    one(&db, r, 10_000, 1.0);
    // Two out-of-order samples at one timestamp in one batch: the first
    // wins, an equal repeat is a no-op, a different one is refused.
    let rep = db
        .append_batch(&[(r, 5000, 5.0), (r, 5000, 5.0), (r, 5000, 6.0)], &[])
        .unwrap();
    assert_eq!((rep.appended, rep.duplicates), (1, 1));
    assert_eq!(rep.rejected, vec![(2, AppendError::Duplicate)]);

    // A histogram at a float's timestamp is a different value.
    let h = FloatHistogram {
        count: 3.0,
        sum: 1.0,
        ..Default::default()
    };
    let rep = db.append_batch(&[], &[(r, 5000, h.clone())]).unwrap();
    assert_eq!(rep.rejected, vec![(0, AppendError::Duplicate)]);

    // Histograms: same histogram (any hint) is a no-op, another is refused.
    let hr = db
        .series_ref(&Labels::from_pairs([("__name__", "h")]))
        .unwrap();
    db.append_batch(&[], &[(hr, 1000, h.clone()), (hr, 9000, h.clone())])
        .unwrap();
    let mut same = h.clone();
    same.counter_reset_hint = lookout_model::CounterResetHint::NotCounterReset;
    let rep = db.append_batch(&[], &[(hr, 1000, same)]).unwrap();
    assert_eq!((rep.appended, rep.duplicates), (0, 1));
    let mut other = h.clone();
    other.count = 4.0;
    let rep = db.append_batch(&[], &[(hr, 1000, other)]).unwrap();
    assert_eq!(rep.rejected, vec![(0, AppendError::Duplicate)]);

    // Through the Appender: refused at commit, the stored value stays.
    let mut app = db.appender();
    app.append(&Labels::from_pairs([("__name__", "a")]), 5000, 7.0)
        .unwrap();
    app.commit().unwrap();
    assert_eq!(floats(&db, "a"), vec![(5000, 5.0), (10_000, 1.0)]);
}
