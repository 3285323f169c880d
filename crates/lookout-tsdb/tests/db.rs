//! End-to-end behaviour of the store through the public API.

use lookout_model::storage::{AppendError, Appendable, Querier, SelectHints, SeriesData};
use lookout_model::{FloatHistogram, Labels, MatchOp, Matcher, Span, STALE_NAN, STALE_NAN_BITS};
use lookout_tsdb::{Db, Options};

fn ls(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

fn all() -> SelectHints {
    SelectHints {
        mint: i64::MIN,
        maxt: i64::MAX,
        ..Default::default()
    }
}

fn select(db: &Db, ms: &[Matcher], hints: &SelectHints) -> Vec<SeriesData> {
    db.select(ms, hints).unwrap().map(Result::unwrap).collect()
}

fn m(op: MatchOp, n: &str, v: &str) -> Matcher {
    Matcher::new(op, n, v).unwrap()
}

fn load(db: &Db, series: usize, samples: i64) {
    for t in 0..samples {
        let mut app = db.appender();
        for s in 0..series {
            let l = ls(&[
                ("__name__", if s % 2 == 0 { "even" } else { "odd" }),
                ("idx", &s.to_string()),
                ("job", "j"),
            ]);
            app.append(&l, t * 15_000, (s as f64) + (t as f64) * 0.25)
                .unwrap();
        }
        app.commit().unwrap();
    }
}

fn check_loaded(db: &Db, series: usize, samples: i64) {
    let got = select(db, &[m(MatchOp::Equal, "job", "j")], &all());
    assert_eq!(got.len(), series);
    // Sorted by label set: "even" < "odd", then idx as strings.
    let mut want: Vec<Labels> = (0..series)
        .map(|s| {
            ls(&[
                ("__name__", if s % 2 == 0 { "even" } else { "odd" }),
                ("idx", &s.to_string()),
                ("job", "j"),
            ])
        })
        .collect();
    want.sort();
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(&g.labels, w);
        let s: usize = w.get("idx").unwrap().parse().unwrap();
        assert_eq!(g.floats.len() as i64, samples, "{}", g.labels);
        for (i, f) in g.floats.iter().enumerate() {
            assert_eq!(f.t, i as i64 * 15_000);
            assert_eq!(f.v, (s as f64) + (i as f64) * 0.25);
        }
    }
}

#[test]
fn append_query_flush_restart_compact() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::for_tests()).unwrap();
    load(&db, 50, 40);
    check_loaded(&db, 50, 40); // from the head
    db.flush().unwrap();
    check_loaded(&db, 50, 40); // from a part
    db.close().unwrap();

    let db = Db::open(dir.path(), Options::for_tests()).unwrap();
    check_loaded(&db, 50, 40);
    // Appending continues where it stopped; older samples are refused.
    let l = ls(&[("__name__", "even"), ("idx", "0"), ("job", "j")]);
    let mut app = db.appender();
    assert_eq!(app.append(&l, 0, 1.0), Err(AppendError::OutOfOrder));
    // Same timestamp and value as stored (known only from the part): accepted.
    assert_eq!(app.append(&l, 39 * 15_000, 39.0 * 0.25), Ok(()));
    app.commit().unwrap();
    let mut app = db.appender();
    assert_eq!(
        app.append(&l, 39 * 15_000, 7.0),
        Err(AppendError::Duplicate)
    );
    app.rollback();
    for round in 0..5 {
        load_more(&db, 50, 40 + round * 10, 10);
        db.flush().unwrap();
    }
    let n = db.compact_full(&|_| {}).unwrap();
    assert!(n >= 1);
    let st = db.stats();
    assert_eq!(st.parts, 1);
    assert_eq!(st.final_parts, 1);
    assert_eq!(st.part_samples, 50 * 90);
    check_loaded(&db, 50, 90);
    db.close().unwrap();
    let db = Db::open(dir.path(), Options::for_tests()).unwrap();
    check_loaded(&db, 50, 90);
}

fn load_more(db: &Db, series: usize, from: i64, n: i64) {
    for t in from..from + n {
        let mut app = db.appender();
        for s in 0..series {
            let l = ls(&[
                ("__name__", if s % 2 == 0 { "even" } else { "odd" }),
                ("idx", &s.to_string()),
                ("job", "j"),
            ]);
            app.append(&l, t * 15_000, (s as f64) + (t as f64) * 0.25)
                .unwrap();
        }
        app.commit().unwrap();
    }
}

/// Selections of thousands of series are split over threads; the result must
/// be the same sorted, complete list, from the head, from parts and from a
/// mix of both.
#[test]
fn large_selections_split_over_threads_stay_sorted_and_complete() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::for_tests()).unwrap();
    load(&db, 5000, 6);
    check_loaded(&db, 5000, 6); // head only
    db.flush().unwrap();
    check_loaded(&db, 5000, 6); // parts only
    load_more(&db, 5000, 6, 3);
    check_loaded(&db, 5000, 9); // parts and head
    let odd = select(&db, &[m(MatchOp::Regex, "__name__", "od.")], &all());
    assert_eq!(odd.len(), 2500);
    assert!(odd.windows(2).all(|w| w[0].labels < w[1].labels));
}

#[test]
fn malformed_label_sets_get_specific_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::for_tests()).unwrap();
    let mut app = db.appender();
    let empty_name = ls(&[("__name__", "m"), ("", "x")]);
    assert_eq!(
        app.append(&empty_name, 1, 1.0),
        Err(AppendError::InvalidLabels("empty label name".into()))
    );
    assert_eq!(
        app.append(&Labels::empty(), 1, 1.0),
        Err(AppendError::InvalidLabels("empty label set".into()))
    );
    app.append(&ls(&[("__name__", "m")]), 1, 1.0).unwrap();
    app.commit().unwrap();
    let got = select(&db, &[m(MatchOp::Equal, "__name__", "m")], &all());
    assert_eq!(got.len(), 1);
}

#[test]
fn unflushed_data_survives_reopen_via_wal() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path(), Options::for_tests()).unwrap();
        load(&db, 10, 5);
        // Simulate a crash: skip close (no flush) by leaking the handle.
        std::mem::forget(db);
    }
    // The leaked handle still holds the directory lock in this process;
    // release it by removing the lock file's flock via a fresh file.
    // (flock is per open file description, so a new open is independent.)
    let dir2 = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), dir2.path());
    let db = Db::open(dir2.path(), Options::for_tests()).unwrap();
    check_loaded(&db, 10, 5);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

#[test]
fn duplicates_out_of_order_and_window() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::for_tests()).unwrap();
    let a = ls(&[("__name__", "a")]);
    let mut app = db.appender();
    app.append(&a, 100, 1.0).unwrap();
    app.append(&a, 100, 1.0).unwrap(); // exact duplicate in batch
    assert_eq!(app.append(&a, 100, 2.0), Err(AppendError::Duplicate));
    assert_eq!(app.append(&a, 50, 2.0), Err(AppendError::OutOfOrder));
    app.commit().unwrap();
    let mut app = db.appender();
    app.append(&a, 100, 1.0).unwrap(); // exact duplicate of stored
    assert_eq!(app.append(&a, 100, 3.0), Err(AppendError::Duplicate));
    assert_eq!(app.append(&a, 99, 3.0), Err(AppendError::OutOfOrder));
    app.commit().unwrap();
    let got = select(&db, &[Matcher::equal("__name__", "a")], &all());
    assert_eq!(got[0].floats.len(), 1);
    db.close().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        out_of_order_time_window: 1000,
        ..Options::for_tests()
    };
    let db = Db::open(dir.path(), opts).unwrap();
    let mut app = db.appender();
    app.append(&a, 5000, 1.0).unwrap();
    app.commit().unwrap();
    let mut app = db.appender();
    app.append(&a, 4500, 2.0).unwrap();
    assert_eq!(app.append(&a, 3000, 2.0), Err(AppendError::TooOld));
    app.commit().unwrap();
    db.flush().unwrap();
    let mut app = db.appender();
    app.append(&a, 4200, 3.0).unwrap();
    app.commit().unwrap();
    let got = select(&db, &[Matcher::equal("__name__", "a")], &all());
    let ts: Vec<i64> = got[0].floats.iter().map(|s| s.t).collect();
    assert_eq!(ts, vec![4200, 4500, 5000]);
}

#[test]
fn stale_markers_nan_payloads_and_histograms_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::for_tests()).unwrap();
    let a = ls(&[("__name__", "a")]);
    let h = ls(&[("__name__", "h")]);
    let hist = FloatHistogram {
        schema: 1,
        count: 10.0,
        sum: 3.5,
        zero_threshold: 0.001,
        zero_count: 1.0,
        positive_spans: vec![Span {
            offset: 0,
            length: 2,
        }],
        positive_buckets: vec![4.0, 5.0],
        ..Default::default()
    };
    let vals = [
        1.5,
        STALE_NAN,
        -0.0,
        f64::INFINITY,
        f64::from_bits(0x7ff8_0000_0000_00ff),
        2.0,
    ];
    let mut app = db.appender();
    for (i, v) in vals.iter().enumerate() {
        app.append(&a, i as i64, *v).unwrap();
        app.append_histogram(&h, i as i64, &hist).unwrap();
    }
    app.commit().unwrap();
    for phase in 0..3 {
        let got = select(&db, &[m(MatchOp::Regex, "__name__", "a|h")], &all());
        assert_eq!(got.len(), 2, "phase {phase}");
        let bits: Vec<u64> = got[0].floats.iter().map(|s| s.v.to_bits()).collect();
        let want: Vec<u64> = vals.iter().map(|v| v.to_bits()).collect();
        assert_eq!(bits, want);
        assert_eq!(bits[1], STALE_NAN_BITS);
        assert_eq!(got[1].histograms.len(), vals.len());
        // Stored with the hint a Prometheus read reports: the first keeps
        // its own, the unchanged repeats continue the counter.
        assert_eq!(got[1].histograms[0].h, hist);
        let mut continued = hist.clone();
        continued.counter_reset_hint = lookout_model::CounterResetHint::NotCounterReset;
        assert_eq!(got[1].histograms[3].h, continued);
        match phase {
            0 => db.flush().unwrap(),
            1 => {
                db.compact_full(&|_| {}).unwrap();
            }
            _ => {}
        }
    }
}

#[test]
fn matchers_time_ranges_and_label_apis() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::for_tests()).unwrap();
    load(&db, 20, 10);
    db.flush().unwrap();
    let mut app = db.appender();
    app.append(&ls(&[("__name__", "late"), ("x", "y")]), 1_000_000, 1.0)
        .unwrap();
    app.commit().unwrap();

    let got = select(
        &db,
        &[
            m(MatchOp::Equal, "__name__", "even"),
            m(MatchOp::Regex, "idx", "1.*"),
        ],
        &all(),
    );
    let idx: Vec<&str> = got.iter().map(|s| s.labels.get("idx").unwrap()).collect();
    assert_eq!(idx, vec!["10", "12", "14", "16", "18"]);
    let got = select(
        &db,
        &[
            m(MatchOp::Equal, "job", "j"),
            m(MatchOp::NotRegex, "idx", "1.*|2.*|3|4|5|6|7|8|9"),
        ],
        &all(),
    );
    assert_eq!(got.len(), 1);
    let hints = SelectHints {
        mint: 30_000,
        maxt: 45_000,
        ..Default::default()
    };
    let got = select(&db, &[m(MatchOp::Equal, "idx", "3")], &hints);
    let ts: Vec<i64> = got[0].floats.iter().map(|s| s.t).collect();
    assert_eq!(ts, vec![30_000, 45_000]);
    // Nothing in range: series not returned.
    let hints = SelectHints {
        mint: 500_000,
        maxt: 600_000,
        ..Default::default()
    };
    assert!(select(&db, &[m(MatchOp::Equal, "idx", "3")], &hints).is_empty());

    let names = db.label_names(&[], i64::MIN, i64::MAX).unwrap();
    assert_eq!(names, vec!["__name__", "idx", "job", "x"]);
    let names = db.label_names(&[], 900_000, 2_000_000).unwrap();
    assert_eq!(names, vec!["__name__", "x"]);
    let vals = db
        .label_values("__name__", &[], i64::MIN, i64::MAX)
        .unwrap();
    assert_eq!(vals, vec!["even", "late", "odd"]);
    let vals = db
        .label_values(
            "idx",
            &[
                m(MatchOp::Equal, "__name__", "odd"),
                m(MatchOp::Regex, "idx", "1."),
            ],
            0,
            1_000,
        )
        .unwrap();
    assert_eq!(vals, vec!["11", "13", "15", "17", "19"]);
    let limited = select(
        &db,
        &[m(MatchOp::Equal, "job", "j")],
        &SelectHints {
            limit: 3,
            labels_only: true,
            ..all()
        },
    );
    assert_eq!(limited.len(), 3);
    assert!(limited[0].floats.is_empty());
}

#[test]
fn open_close_is_fast_for_tiny_stores() {
    let dir = tempfile::tempdir().unwrap();
    let start = std::time::Instant::now();
    for i in 0..20 {
        let db = Db::open(dir.path().join(i.to_string()), Options::for_tests()).unwrap();
        let mut app = db.appender();
        app.append(&ls(&[("__name__", "x")]), 1, 1.0).unwrap();
        app.commit().unwrap();
        db.close().unwrap();
    }
    // Not a performance assertion: just report it for humans.
    eprintln!("20 open/append/close cycles took {:?}", start.elapsed());
}

#[test]
fn second_open_of_same_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _db = Db::open(dir.path(), Options::for_tests()).unwrap();
    assert!(matches!(
        Db::open(dir.path(), Options::for_tests()),
        Err(lookout_tsdb::DbError::Locked(_))
    ));
}

fn newest_wal_segment(dir: &std::path::Path) -> std::path::PathBuf {
    let mut segs: Vec<_> = std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| std::fs::metadata(p).unwrap().len() > 0)
        .collect();
    segs.sort();
    segs.pop().expect("a non-empty WAL segment")
}

#[test]
fn torn_or_corrupt_wal_tail_is_cut_off_not_fatal() {
    let src = tempfile::tempdir().unwrap();
    {
        let db = Db::open(src.path(), Options::for_tests()).unwrap();
        load(&db, 10, 5);
        std::mem::forget(db); // crash: no flush, no close
    }
    // Torn tail: half a frame after the last commit.
    let torn = tempfile::tempdir().unwrap();
    copy_dir(src.path(), torn.path());
    let seg = newest_wal_segment(torn.path());
    let mut bytes = std::fs::read(&seg).unwrap();
    let good_len = bytes.len();
    bytes.extend_from_slice(&[200, 0, 0, 0, 1, 2, 3, 4, 5, 6]);
    std::fs::write(&seg, &bytes).unwrap();
    let db = Db::open(torn.path(), Options::for_tests()).unwrap();
    check_loaded(&db, 10, 5);
    // The garbage was cut off on open.
    assert_eq!(std::fs::metadata(&seg).unwrap().len() as usize, good_len);
    db.close().unwrap();
    let db = Db::open(torn.path(), Options::for_tests()).unwrap();
    check_loaded(&db, 10, 5);
    db.close().unwrap();
    // Corrupt last record: that commit (t = 4) is dropped as a whole.
    let bad = tempfile::tempdir().unwrap();
    copy_dir(src.path(), bad.path());
    let seg = newest_wal_segment(bad.path());
    let mut bytes = std::fs::read(&seg).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x55;
    std::fs::write(&seg, &bytes).unwrap();
    let db = Db::open(bad.path(), Options::for_tests()).unwrap();
    check_loaded(&db, 10, 4);
    // Appending continues normally after the repair.
    load_more(&db, 10, 4, 3);
    check_loaded(&db, 10, 7);
}

#[test]
fn retention_by_time_and_size_drops_whole_days() {
    let day = 86_400_000i64;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        retention: Some(std::time::Duration::from_secs(3 * 86_400)),
        ..Options::for_tests()
    };
    let db = Db::open(dir.path(), opts).unwrap();
    let l = ls(&[("__name__", "r")]);
    let mut app = db.appender();
    for t in [now - 10 * day, now - 5 * day, now - day, now] {
        app.append(&l, t, 1.0).unwrap();
    }
    app.commit().unwrap();
    db.flush().unwrap();
    assert_eq!(db.stats().days, 4);
    assert_eq!(db.apply_retention().unwrap(), 2);
    let got = select(&db, &[Matcher::equal("__name__", "r")], &all());
    let ts: Vec<i64> = got[0].floats.iter().map(|s| s.t).collect();
    assert_eq!(ts, vec![now - day, now]);
    db.close().unwrap();

    // Size: three days of data, a limit that fits about one and a half.
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::for_tests()).unwrap();
    for d in 0..3i64 {
        let mut app = db.appender();
        for s in 0..200 {
            let l = ls(&[("__name__", "sz"), ("s", &s.to_string())]);
            for i in 0..50i64 {
                app.append(
                    &l,
                    d * day + i * 1000,
                    ((s * 31 + i * 7) % 1000) as f64 / 3.0,
                )
                .unwrap();
            }
        }
        app.commit().unwrap();
    }
    db.flush().unwrap();
    let per_day = db.stats().bytes_parts / 3;
    db.close().unwrap();
    let opts = Options {
        retention_bytes: Some(per_day * 3 / 2),
        ..Options::for_tests()
    };
    let db = Db::open(dir.path(), opts).unwrap();
    assert_eq!(db.apply_retention().unwrap(), 2);
    let got = select(&db, &[Matcher::equal("s", "7")], &all());
    assert!(got[0].floats.iter().all(|s| s.t >= 2 * day));
    assert_eq!(got[0].floats.len(), 50);
}

#[test]
fn concurrent_writers_and_readers_with_background_work() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        retention: None,
        head_max_rows: 2_000,
        head_flush_interval: std::time::Duration::from_millis(20),
        merge_min_parts: 3,
        final_merge_delay: std::time::Duration::from_secs(0),
        fsync: lookout_tsdb::FsyncPolicy::Interval(std::time::Duration::from_millis(10)),
        ..Options::default()
    };
    let db = Db::open(dir.path(), opts).unwrap();
    let writers = 4;
    let steps = 300i64;
    std::thread::scope(|s| {
        for w in 0..writers {
            let db = &db;
            s.spawn(move || {
                for t in 0..steps {
                    let mut app = db.appender();
                    for i in 0..10 {
                        let l = ls(&[
                            ("__name__", "c"),
                            ("w", &w.to_string()),
                            ("i", &i.to_string()),
                        ]);
                        app.append(&l, t * 1000, (t * 10 + i) as f64).unwrap();
                    }
                    app.commit().unwrap();
                }
            });
        }
        let db = &db;
        s.spawn(move || {
            for _ in 0..50 {
                for series in select(db, &[Matcher::equal("__name__", "c")], &all()) {
                    // Every series is internally consistent at any moment:
                    // a gap-free prefix of its samples.
                    for (k, f) in series.floats.iter().enumerate() {
                        assert_eq!(f.t, k as i64 * 1000, "{}", series.labels);
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        });
    });
    let got = select(&db, &[Matcher::equal("__name__", "c")], &all());
    assert_eq!(got.len(), writers * 10);
    for series in &got {
        assert_eq!(series.floats.len() as i64, steps);
        let i: i64 = series.labels.get("i").unwrap().parse().unwrap();
        for (t, f) in series.floats.iter().enumerate() {
            assert_eq!(f.v, (t as i64 * 10 + i) as f64);
        }
    }
    assert!(db.stats().flushes_since_open > 0);
    db.close().unwrap();
}

#[test]
fn unreadable_part_is_quarantined_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::for_tests()).unwrap();
    let a = ls(&[("__name__", "a")]);
    let mut app = db.appender();
    app.append(&a, 1, 1.0).unwrap();
    app.append(&a, 86_400_000 * 3, 2.0).unwrap();
    app.commit().unwrap();
    db.close().unwrap();
    // Damage the part of day 0 (its trailer).
    let day0 = dir.path().join("parts").join("0");
    let part = std::fs::read_dir(&day0)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&part).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0xff;
    std::fs::write(&part, &bytes).unwrap();
    let db = Db::open(dir.path(), Options::for_tests()).unwrap();
    let got = select(&db, &[Matcher::equal("__name__", "a")], &all());
    let ts: Vec<i64> = got[0].floats.iter().map(|s| s.t).collect();
    assert_eq!(ts, vec![86_400_000 * 3]);
    assert!(part.with_extension("part.corrupt").exists());
}

#[test]
fn inverted_time_range_selects_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::for_tests()).unwrap();
    load(&db, 3, 3);
    db.flush().unwrap();
    let hints = SelectHints {
        mint: 10_000,
        maxt: 0,
        ..Default::default()
    };
    assert!(select(&db, &[Matcher::equal("job", "j")], &hints).is_empty());
    assert!(db.label_names(&[], 5, 1).unwrap().is_empty());
    assert!(db.label_values("job", &[], 5, 1).unwrap().is_empty());
}
