//! Cost of turning a scrape body into appended samples (parse, series
//! cache, target labels, staleness bookkeeping), with a store that only
//! counts. Steady state (cache hits) is what a scraper pays every interval.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lookout_model::storage::{AppendError, Appender, StorageError};
use lookout_model::{FloatHistogram, Labels};
use lookout_scrape::append::{append_scrape, SampleOptions, ScrapeCache};
use lookout_scrape::config::Limits;

struct CountingAppender(usize);

impl Appender for CountingAppender {
    fn append(&mut self, _: &Labels, _: i64, _: f64) -> Result<(), AppendError> {
        self.0 += 1;
        Ok(())
    }
    fn append_histogram(
        &mut self,
        _: &Labels,
        _: i64,
        _: &FloatHistogram,
    ) -> Result<(), AppendError> {
        Ok(())
    }
    fn commit(self: Box<Self>) -> Result<(), StorageError> {
        Ok(())
    }
    fn rollback(self: Box<Self>) {}
}

/// A node-exporter-like body: `metrics` families × `per_metric` series
/// with two labels each.
fn body(metrics: usize, per_metric: usize) -> String {
    let mut s = String::new();
    for m in 0..metrics {
        s.push_str(&format!(
            "# HELP bench_metric_{m}_total Bench metric.\n# TYPE bench_metric_{m}_total counter\n"
        ));
        for i in 0..per_metric {
            s.push_str(&format!(
                "bench_metric_{m}_total{{device=\"dev{i}\",mode=\"m{}\"}} {}.5\n",
                i % 7,
                i * 1000 + m
            ));
        }
    }
    s
}

fn opts() -> SampleOptions {
    SampleOptions {
        target_labels: Labels::from_pairs([("job", "node"), ("instance", "10.0.0.1:9100")]),
        honor_labels: false,
        honor_timestamps: true,
        track_timestamps_staleness: false,
        metric_relabel: Arc::new(Vec::new()),
        limits: Limits::default(),
        fallback: None,
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("append_scrape");
    for (metrics, per) in [(50usize, 10usize), (20, 2500)] {
        let b = body(metrics, per);
        let n = (metrics * per) as u64;
        g.throughput(Throughput::Elements(n));
        let o = opts();
        // One warm cache for every sample criterion takes: steady state.
        let mut cache = ScrapeCache::new();
        let mut t = 0;
        g.bench_with_input(BenchmarkId::new("steady", n), &b, |bench, b| {
            bench.iter(|| {
                t += 15_000;
                let mut app = CountingAppender(0);
                append_scrape(&mut cache, &mut app, b.as_bytes(), "text/plain", t, &o).unwrap();
                app.0
            })
        });
        g.bench_with_input(BenchmarkId::new("parse_only", n), &b, |bench, b| {
            bench.iter(|| {
                let mut k = 0usize;
                for e in lookout_exposition::Parser::new(
                    b.as_bytes(),
                    lookout_exposition::Format::Text004,
                ) {
                    if let Ok(lookout_exposition::Entry::Sample(_)) = e {
                        k += 1;
                    }
                }
                k
            })
        });
        g.bench_with_input(BenchmarkId::new("cold", n), &b, |bench, b| {
            bench.iter(|| {
                let mut cache = ScrapeCache::new();
                let mut app = CountingAppender(0);
                append_scrape(&mut cache, &mut app, b.as_bytes(), "text/plain", 1, &o).unwrap();
                app.0
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
