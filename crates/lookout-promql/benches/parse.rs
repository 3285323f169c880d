//! Parser throughput: all kube-prometheus rule and dashboard queries per
//! iteration (skipped when the shared corpus is absent), plus a long
//! synthetic query.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use lookout_promql::parser::{parse, parse_with_options, ParseOptions};

fn unescape_tsv(s: &str) -> String {
    s.replace("\\n", "\n")
        .replace("\\t", "\t")
        .replace("\\r", "\r")
        .replace("\\\\", "\\")
}

fn kube_queries() -> Vec<String> {
    let Some(path) = lookout_testkit::corpus_path("kube-prometheus/queries.tsv") else {
        return Vec::new();
    };
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| l.split('\t').nth(4).map(unescape_tsv))
        .collect()
}

fn bench(c: &mut Criterion) {
    let queries = kube_queries();
    if !queries.is_empty() {
        let bytes: usize = queries.iter().map(String::len).sum();
        let mut g = c.benchmark_group("parse");
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function("kube_prometheus_872_queries", |b| {
            b.iter(|| {
                for q in &queries {
                    black_box(parse(black_box(q)).ok());
                }
            })
        });
        g.bench_function("kube_prometheus_parse_and_print", |b| {
            b.iter(|| {
                for q in &queries {
                    if let Ok(e) = parse(q) {
                        black_box(e.to_string());
                    }
                }
            })
        });
        g.finish();
    }
    let long = format!(
        "sum by (job) (rate(http_requests_total{{code=~\"5..\"}}[5m])){}",
        " + on(job) sum by (job) (rate(x_total{a=\"b\"}[5m] offset 1h))".repeat(200)
    );
    let mut g = c.benchmark_group("parse_long");
    g.throughput(Throughput::Bytes(long.len() as u64));
    g.bench_function("binary_chain_200", |b| {
        b.iter(|| black_box(parse_with_options(black_box(&long), ParseOptions::all()).ok()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
