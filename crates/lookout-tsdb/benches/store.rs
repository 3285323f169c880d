//! Append and select+decode throughput of the store.
//!
//! `cargo bench -p lookout-tsdb --bench store`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use lookout_model::storage::{Querier, SelectHints};
use lookout_model::{Labels, MatchOp, Matcher};
use lookout_tsdb::{Db, Options, SeriesRef};

fn labels(i: u64) -> Labels {
    Labels::from_pairs([
        ("__name__", format!("bench_metric_{}", i % 50)),
        ("instance", format!("host-{:05}:9100", i / 50)),
        ("job", "bench".to_string()),
    ])
}

fn value(i: u64, step: u64) -> f64 {
    ((i * 7919 + step * 31) % 100_000) as f64 / 100.0
}

fn append(c: &mut Criterion) {
    let series = 10_000u64;
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::for_tests()).unwrap();
    let refs: Vec<SeriesRef> = (0..series)
        .map(|i| db.series_ref(&labels(i)).unwrap())
        .collect();
    let mut step = 0u64;
    let mut g = c.benchmark_group("append");
    g.throughput(Throughput::Elements(series));
    g.bench_function("batch_10k_series_cached_refs", |b| {
        b.iter_batched(
            || {
                step += 1;
                refs.iter()
                    .enumerate()
                    .map(|(i, r)| (*r, step as i64 * 15_000, value(i as u64, step)))
                    .collect::<Vec<_>>()
            },
            |batch| db.append_batch(&batch, &[]).unwrap(),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn select(c: &mut Criterion) {
    let series = 2_000u64;
    let points = 1_440u64;
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::for_tests()).unwrap();
    let refs: Vec<SeriesRef> = (0..series)
        .map(|i| db.series_ref(&labels(i)).unwrap())
        .collect();
    for step in 0..points {
        let batch: Vec<_> = refs
            .iter()
            .enumerate()
            .map(|(i, r)| (*r, step as i64 * 15_000, value(i as u64, step)))
            .collect();
        db.append_batch(&batch, &[]).unwrap();
    }
    db.compact_full(&|_| {}).unwrap();
    let hints = SelectHints {
        mint: i64::MIN,
        maxt: i64::MAX,
        ..Default::default()
    };
    let mut g = c.benchmark_group("select_decode");
    let one_metric = [Matcher::equal("__name__", "bench_metric_7")];
    g.throughput(Throughput::Elements(series / 50 * points));
    g.bench_function("one_metric_40_series_1440_points", |b| {
        b.iter(|| db.select(&one_metric, &hints).unwrap().count())
    });
    let all = [Matcher::new(MatchOp::Regex, "__name__", "bench_metric_.*").unwrap()];
    g.throughput(Throughput::Elements(series * points));
    g.sample_size(10);
    g.bench_function("regex_all_2000_series_1440_points", |b| {
        b.iter(|| db.select(&all, &hints).unwrap().count())
    });
    g.finish();
}

/// Dashboard-style repeated queries over 10k series x 6 h (15 s scrapes,
/// 14.4M samples, final parts), with the read cache off (every query reads
/// and decodes) and on (default 64 MiB).
fn select_10k_6h(c: &mut Criterion) {
    let series = 10_000u64;
    let points = 6 * 240u64;
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path(), Options::for_tests()).unwrap();
        let refs: Vec<SeriesRef> = (0..series)
            .map(|i| db.series_ref(&labels(i)).unwrap())
            .collect();
        for step in 0..points {
            let batch: Vec<_> = refs
                .iter()
                .enumerate()
                .map(|(i, r)| (*r, step as i64 * 15_000, value(i as u64, step)))
                .collect();
            db.append_batch(&batch, &[]).unwrap();
        }
        db.compact_full(&|_| {}).unwrap();
        db.close().unwrap();
    }
    let end = (points as i64 - 1) * 15_000;
    let last_hour = SelectHints {
        mint: end - 3_600_000,
        maxt: end,
        ..Default::default()
    };
    let six_hours = SelectHints {
        mint: 0,
        maxt: end,
        ..Default::default()
    };
    let metric = [Matcher::equal("__name__", "bench_metric_7")];
    let one = [
        Matcher::equal("__name__", "bench_metric_7"),
        Matcher::equal("instance", "host-00042:9100"),
    ];
    let mut g = c.benchmark_group("select_10k_series_6h");
    g.sample_size(20);
    for (cache, bytes) in [("cache_off", 0usize), ("cache_on", 64 << 20)] {
        let db = Db::open(
            dir.path(),
            Options {
                read_cache_bytes: bytes,
                ..Options::for_tests()
            },
        )
        .unwrap();
        g.throughput(Throughput::Elements(series / 50 * 240));
        g.bench_function(format!("one_metric_200_series_last_1h/{cache}"), |b| {
            b.iter(|| db.select(&metric, &last_hour).unwrap().count())
        });
        g.throughput(Throughput::Elements(series / 50 * points));
        g.bench_function(format!("one_metric_200_series_6h/{cache}"), |b| {
            b.iter(|| db.select(&metric, &six_hours).unwrap().count())
        });
        g.throughput(Throughput::Elements(points));
        g.bench_function(format!("one_series_6h/{cache}"), |b| {
            b.iter(|| db.select(&one, &six_hours).unwrap().count())
        });
        db.close().unwrap();
    }
    g.finish();
}

criterion_group!(benches, append, select, select_10k_6h);
criterion_main!(benches);
