//! The read cache returns the same data as uncached reads and is used by
//! repeated queries.

use lookout_model::storage::{Querier, SelectHints, SeriesData};
use lookout_model::{Labels, Matcher};
use lookout_tsdb::{Db, Options};

fn select(db: &Db, ms: &[Matcher], h: &SelectHints) -> Vec<SeriesData> {
    db.select(ms, h).unwrap().map(Result::unwrap).collect()
}

#[test]
fn repeated_queries_hit_the_cache_with_identical_results() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path(), Options::for_tests()).unwrap();
        let refs: Vec<_> = (0..3000)
            .map(|i| {
                db.series_ref(&Labels::from_pairs([
                    ("__name__", format!("m{}", i % 10)),
                    ("i", i.to_string()),
                ]))
                .unwrap()
            })
            .collect();
        for step in 0..200i64 {
            let b: Vec<_> = refs
                .iter()
                .enumerate()
                .map(|(i, r)| (*r, step * 15_000, (i as f64) * 0.5 + step as f64))
                .collect();
            db.append_batch(&b, &[]).unwrap();
            if step == 100 {
                db.flush().unwrap();
            }
        }
        db.flush().unwrap();
        db.close().unwrap();
    }
    let hints = SelectHints {
        mint: 500_000,
        maxt: 2_000_000,
        ..Default::default()
    };
    let ms = [Matcher::equal("__name__", "m3")];
    let uncached = {
        let db = Db::open(
            dir.path(),
            Options {
                read_cache_bytes: 0,
                ..Options::for_tests()
            },
        )
        .unwrap();
        let r = select(&db, &ms, &hints);
        assert_eq!(db.read_cache_stats().hits, 0);
        r
    };
    assert_eq!(uncached.len(), 300);
    assert!(uncached.iter().all(|s| s.floats.len() == 100));
    let db = Db::open(dir.path(), Options::for_tests()).unwrap();
    let first = select(&db, &ms, &hints);
    let after_first = db.read_cache_stats();
    assert!(after_first.misses > 0 && after_first.bytes > 0);
    let second = select(&db, &ms, &hints);
    let after_second = db.read_cache_stats();
    assert_eq!(
        after_second.misses, after_first.misses,
        "second query read nothing"
    );
    assert!(after_second.hits > after_first.hits);
    for got in [&first, &second] {
        assert_eq!(got.len(), uncached.len());
        for (a, b) in got.iter().zip(&uncached) {
            assert_eq!(a.labels, b.labels);
            assert_eq!(a.floats, b.floats);
        }
    }
}
