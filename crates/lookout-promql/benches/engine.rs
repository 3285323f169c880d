//! Engine benchmarks over an in-memory store: selection, `rate` over 10k
//! series, `sum by` aggregation, classic `histogram_quantile`, and a
//! subquery over a 1h range; plus the shapes of performance-anchors §4.6
//! (`count` over a name regex, `max_over_time`, `quantile`). Each runs as an instant query and as a 1h
//! range query with a 1m step.

use criterion::{criterion_group, criterion_main, Criterion};
use lookout_model::storage::Appendable;
use lookout_model::Labels;
use lookout_promql::engine::{Engine, EngineOptions};
use lookout_promql::promqltest::memstore::MemStore;

const SERIES: usize = 10_000;
const SCRAPE_MS: i64 = 15_000;
const SPAN_MS: i64 = 2 * 3_600_000;

fn build_store() -> MemStore {
    let s = MemStore::new();
    let mut app = s.appender();
    for k in 0..SERIES {
        let l = Labels::from_pairs([
            ("__name__", "http_requests_total".to_string()),
            ("job", format!("job{}", k % 10)),
            ("instance", format!("host{k}")),
        ]);
        let mut v = 0.0;
        let mut t = 0;
        while t <= SPAN_MS {
            v += (k % 7) as f64 + 1.0;
            app.append(&l, t, v).unwrap();
            t += SCRAPE_MS;
        }
    }
    // Classic histogram: 1000 series x 10 buckets.
    let bounds = ["0.1", "0.2", "0.5", "1", "2", "5", "10", "20", "50", "+Inf"];
    for k in 0..1000 {
        for (bi, le) in bounds.iter().enumerate() {
            let l = Labels::from_pairs([
                ("__name__", "latency_seconds_bucket".to_string()),
                ("instance", format!("host{k}")),
                ("le", le.to_string()),
            ]);
            let mut t = 0;
            let mut v = 0.0;
            while t <= SPAN_MS {
                v += (bi + 1) as f64;
                app.append(&l, t, v).unwrap();
                t += SCRAPE_MS;
            }
        }
    }
    app.commit().unwrap();
    s
}

fn benches(c: &mut Criterion) {
    let store = build_store();
    let engine = Engine::new(EngineOptions::default());
    let end = SPAN_MS;
    let start = end - 3_600_000;
    let cases = [
        ("selection", "http_requests_total"),
        ("rate_10k", "rate(http_requests_total[5m])"),
        ("sum_by", "sum by (job) (rate(http_requests_total[5m]))"),
        (
            "histogram_quantile",
            "histogram_quantile(0.9, sum by (le) (rate(latency_seconds_bucket[5m])))",
        ),
        (
            "subquery_1h",
            "max_over_time(sum by (job) (rate(http_requests_total[5m]))[1h:1m])",
        ),
        ("count_by_regex", r#"count({__name__=~"http_.*"})"#),
        (
            "max_over_time_30m",
            "max_over_time(http_requests_total[30m])",
        ),
        ("quantile", "quantile(0.9, http_requests_total)"),
    ];
    let mut g = c.benchmark_group("instant");
    g.sample_size(10);
    for (name, q) in cases {
        g.bench_function(name, |b| {
            b.iter(|| engine.instant_query(&store, q, end, None).unwrap())
        });
    }
    g.finish();
    let mut g = c.benchmark_group("range_1h_step_1m");
    g.sample_size(10);
    for (name, q) in cases.iter().filter(|(n, _)| *n != "subquery_1h") {
        g.bench_function(*name, |b| {
            b.iter(|| {
                engine
                    .range_query(&store, q, start, end, 60_000, None)
                    .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(engine_benches, benches);
criterion_main!(engine_benches);
