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

criterion_group!(benches, append, select);
criterion_main!(benches);
