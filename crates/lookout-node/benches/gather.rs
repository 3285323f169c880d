//! Cost of one host collection (node-exporter takes ~10 ms wall / ~7.7 ms
//! CPU per scrape on the reference machine, performance-anchors §4.1).

use criterion::{criterion_group, criterion_main, Criterion};
use lookout_node::NodeCollector;

fn bench(c: &mut Criterion) {
    let node = NodeCollector::default();
    c.bench_function("gather", |b| b.iter(|| node.gather().len()));
    c.bench_function("render_text", |b| b.iter(|| node.render_text().len()));
}

criterion_group!(benches, bench);
criterion_main!(benches);
