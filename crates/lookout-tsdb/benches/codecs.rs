//! Float column codec speed on a scrape-like block (two-decimal random
//! walk, 1,440 samples), young (`Fast`) and final (`Compact`) effort.
//!
//! `cargo bench -p lookout-tsdb --bench codecs`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lookout_tsdb::codec::bytes::Reader;
use lookout_tsdb::codec::{floats, Effort};

fn block() -> Vec<f64> {
    let mut x = 5_000i64;
    let mut s = 12345u64;
    (0..1440)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            x += (s % 201) as i64 - 100;
            x as f64 / 100.0
        })
        .collect()
}

fn codecs(c: &mut Criterion) {
    let vs = block();
    let mut g = c.benchmark_group("floats_1440");
    g.throughput(Throughput::Elements(vs.len() as u64));
    for (name, effort) in [("fast", Effort::Fast), ("compact4", Effort::Compact(4))] {
        let mut enc = Vec::new();
        floats::encode(&vs, effort, &mut enc);
        eprintln!(
            "{name}: {:.3} bytes/sample",
            enc.len() as f64 / vs.len() as f64
        );
        g.bench_function(format!("encode_{name}"), |b| {
            b.iter(|| {
                let mut out = Vec::with_capacity(4096);
                floats::encode(&vs, effort, &mut out);
                out.len()
            })
        });
        g.bench_function(format!("decode_{name}"), |b| {
            b.iter(|| {
                let mut out = Vec::with_capacity(vs.len());
                floats::decode(&mut Reader::new(&enc), vs.len(), &mut out).unwrap();
                out.len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, codecs);
criterion_main!(benches);
