//! Series churn: series replaced every day must not accumulate in memory,
//! and must stay queryable through the part label indexes.

use std::time::Duration;

use lookout_model::storage::{Appendable, Querier, SelectHints, SeriesData};
use lookout_model::{Labels, MatchOp, Matcher};
use lookout_tsdb::{Db, Options};

const DAY: i64 = 86_400_000;
const STEP: i64 = 15 * 60_000;
const CHURN: usize = 400;
const STABLE: usize = 10;
const DAYS: i64 = 6;

fn opts() -> Options {
    Options {
        final_merge_delay: Duration::ZERO,
        drop_idle_series_after: Duration::from_secs(3600),
        ..Options::for_tests()
    }
}

fn churn_labels(day: i64, i: usize) -> Labels {
    Labels::from_pairs([
        ("__name__", "up".to_string()),
        ("job", "churn".to_string()),
        ("pod", format!("d{day}-{i:04}")),
    ])
}

fn stable_labels(i: usize) -> Labels {
    Labels::from_pairs([
        ("__name__", "up".to_string()),
        ("job", "stable".to_string()),
        ("pod", format!("stable-{i}")),
    ])
}

/// One day of data: the day's own churn series plus the stable ones.
fn write_day(db: &Db, day: i64) {
    for k in 0..DAY / STEP {
        let t = day * DAY + k * STEP;
        let mut app = db.appender();
        for i in 0..CHURN {
            app.append(&churn_labels(day, i), t, (day * 1000 + k) as f64)
                .unwrap();
        }
        for i in 0..STABLE {
            app.append(&stable_labels(i), t, k as f64).unwrap();
        }
        app.commit().unwrap();
    }
}

fn range(from: i64, to: i64) -> SelectHints {
    SelectHints {
        mint: from,
        maxt: to,
        ..Default::default()
    }
}

fn select(db: &Db, ms: &[Matcher], h: &SelectHints) -> Vec<SeriesData> {
    db.select(ms, h).unwrap().map(Result::unwrap).collect()
}

fn m(op: MatchOp, n: &str, v: &str) -> Matcher {
    Matcher::new(op, n, v).unwrap()
}

/// Every day's series can be found by `=`, regex and label APIs.
fn check_queries(db: &Db, days: i64) {
    let all = range(0, days * DAY - 1);
    let samples_per_day = (DAY / STEP) as usize;
    for day in 0..days {
        let got = select(db, &[Matcher::equal("pod", format!("d{day}-0007"))], &all);
        assert_eq!(got.len(), 1, "day {day}");
        assert_eq!(got[0].labels, churn_labels(day, 7));
        assert_eq!(
            got[0].floats.len(),
            samples_per_day,
            "day {day}: {:?}",
            got[0].floats.iter().map(|s| (s.t, s.v)).collect::<Vec<_>>()
        );
        assert_eq!(got[0].floats[3].v, (day * 1000 + 3) as f64);
        let re = select(
            db,
            &[
                m(MatchOp::Equal, "job", "churn"),
                m(MatchOp::Regex, "pod", &format!("d{day}-00[0-4].")),
            ],
            &all,
        );
        assert_eq!(re.len(), 50, "day {day}");
        let vals = db
            .label_values(
                "pod",
                &[Matcher::equal("job", "churn")],
                day * DAY,
                (day + 1) * DAY - 1,
            )
            .unwrap();
        assert_eq!(vals.len(), CHURN, "day {day}");
    }
    let stable = select(db, &[Matcher::equal("job", "stable")], &all);
    assert_eq!(stable.len(), STABLE);
    assert!(stable
        .iter()
        .all(|s| s.floats.len() == samples_per_day * days as usize));
    let names = db.label_names(&[], 0, DAY - 1).unwrap();
    assert_eq!(names, vec!["__name__", "job", "pod"]);
    let not_stable = select(
        db,
        &[
            m(MatchOp::NotEqual, "job", "stable"),
            Matcher::equal("__name__", "up"),
        ],
        &range(0, DAY - 1),
    );
    assert_eq!(not_stable.len(), CHURN);
}

#[test]
fn churned_series_leave_memory_and_stay_queryable() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    let mut heap_after_day = Vec::new();
    // A ref taken before its series is dropped (the server's ingest caches
    // refs) must keep working.
    let stale_ref = db.series_ref(&churn_labels(0, 5)).unwrap();
    for day in 0..DAYS {
        write_day(&db, day);
        db.compact_full(&|_| {}).unwrap();
        let st = db.stats();
        eprintln!(
            "day {day}: {} series ids, {} in memory, heap {} B (registry {} B)",
            st.series, st.series_in_memory, st.heap_bytes, st.registry_heap_bytes
        );
        assert_eq!(st.series, ((day + 1) as usize * CHURN + STABLE) as u64);
        // Only the series written in the last hour are kept in memory.
        assert_eq!(st.series_in_memory, (CHURN + STABLE) as u64, "day {day}");
        heap_after_day.push((st.registry_heap_bytes, st.heap_bytes));
    }
    // Memory follows active series: labels, symbols and postings of
    // dropped series are gone; each dropped id keeps a few bytes of dense
    // tables (4 B registry, 17 B head state, rounded up by doubling).
    let ids = (DAYS as usize * CHURN + STABLE) as u64;
    let (reg0, heap0) = (heap_after_day[0].0, heap_after_day[0].1);
    let (reg_last, heap_last) = heap_after_day[DAYS as usize - 1];
    assert!(reg_last <= reg0 + ids * 8, "registry {heap_after_day:?}");
    assert!(heap_last <= heap0 + ids * 48, "heap {heap_after_day:?}");
    // Keeping every series would cost about day 0's per-series figure each.
    let keep_all = heap0 / (CHURN + STABLE) as u64 * ids;
    assert!(heap_last * 2 < keep_all, "{heap_last} vs {keep_all}");
    check_queries(&db, DAYS);

    // A dropped label set written again gets a new id; reads merge both.
    let again = churn_labels(0, 7);
    let mut app = db.appender();
    app.append(&again, DAYS * DAY, 42.0).unwrap();
    app.commit().unwrap();
    let got = select(
        &db,
        &[Matcher::equal("pod", "d0-0007")],
        &range(0, (DAYS + 1) * DAY),
    );
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].floats.len(), (DAY / STEP) as usize + 1);
    assert_eq!(got[0].floats.last().unwrap().v, 42.0);
    let rep = db
        .append_batch(&[(stale_ref, DAYS * DAY + STEP, 7.0)], &[])
        .unwrap();
    assert_eq!((rep.appended, rep.rejected.len()), (1, 0), "{rep:?}");
    let got = select(
        &db,
        &[Matcher::equal("pod", "d0-0005")],
        &range(0, (DAYS + 1) * DAY),
    );
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].floats.len(), (DAY / STEP) as usize + 1);
    assert_eq!(got[0].floats.last().unwrap().v, 7.0);
    db.close().unwrap();

    // Dropped series stay dropped across a restart.
    let db = Db::open(dir.path(), opts()).unwrap();
    let st = db.stats();
    assert!(st.series_in_memory <= (CHURN + STABLE + 2) as u64, "{st:?}");
    check_queries(&db, DAYS);
    let got = select(
        &db,
        &[Matcher::equal("pod", "d0-0007")],
        &range(0, (DAYS + 1) * DAY),
    );
    assert_eq!(got[0].floats.len(), (DAY / STEP) as usize + 1);
    // The stable series keep appending under their ids.
    let mut app = db.appender();
    app.append(&stable_labels(0), DAYS * DAY + STEP, 1.0)
        .unwrap();
    app.commit().unwrap();
    assert_eq!(db.stats().series, st.series);
}
