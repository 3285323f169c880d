//! lookout-metrics: lookout's own instrumentation, served on `/metrics`.
//!
//! Owns lock-free counters, gauges and histograms (optionally in labelled
//! families), a [`Registry`] that renders them in the Prometheus text
//! exposition format 0.0.4, Go-compatible float formatting ([`gofloat`]),
//! and the `process_*` metrics Prometheus' Go client exposes ([`process`]).
//!
//! Why not the `prometheus-client` crate: it renders OpenMetrics only
//! (counter families lose their `_total` suffix in `# TYPE` lines, `# EOF`
//! trailer), has no process collector, and every component would have to
//! thread its registry types through its public API. This crate is small,
//! writes the same text Prometheus' own `/metrics` writes, and lets storage,
//! scrape and query components register plain atomics or callbacks.
//!
//! Must not depend on any other lookout crate, HTTP stack or async runtime.

pub mod gofloat;
pub mod process;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

/// An `f64` stored in an atomic, updated with compare-and-swap.
#[derive(Debug, Default)]
struct AtomicF64(AtomicU64);

impl AtomicF64 {
    fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
    fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }
    fn add(&self, d: f64) {
        let mut cur = self.0.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(cur) + d).to_bits();
            match self
                .0
                .compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }
}

/// A monotonically increasing value.
#[derive(Debug, Default)]
pub struct Counter(AtomicF64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.add(1.0);
    }
    /// Adds `n` (negative values are ignored: counters never go down).
    pub fn inc_by(&self, n: f64) {
        if n > 0.0 {
            self.0.add(n);
        }
    }
    /// The current value.
    pub fn get(&self) -> f64 {
        self.0.get()
    }
}

/// A value that goes up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicF64);

impl Gauge {
    /// Sets the value.
    pub fn set(&self, v: f64) {
        self.0.set(v);
    }
    /// Adds `d` (may be negative).
    pub fn add(&self, d: f64) {
        self.0.add(d);
    }
    /// The current value.
    pub fn get(&self) -> f64 {
        self.0.get()
    }
}

/// Default buckets for request durations in seconds (Prometheus' own HTTP
/// duration histogram uses the same spread).
pub const DURATION_BUCKETS: &[f64] = &[0.1, 0.2, 0.4, 1.0, 3.0, 8.0, 20.0, 60.0, 120.0];

/// A histogram with fixed upper bounds (cumulative buckets when rendered).
#[derive(Debug)]
pub struct Histogram {
    bounds: Vec<f64>,
    counts: Vec<AtomicU64>,
    count: AtomicU64,
    sum: AtomicF64,
}

impl Histogram {
    /// A histogram with the given sorted upper bounds (`+Inf` is implicit).
    pub fn new(bounds: &[f64]) -> Self {
        let mut bounds: Vec<f64> = bounds.iter().copied().filter(|b| b.is_finite()).collect();
        bounds.sort_by(f64::total_cmp);
        bounds.dedup();
        let counts = bounds.iter().map(|_| AtomicU64::new(0)).collect();
        Histogram {
            bounds,
            counts,
            count: AtomicU64::new(0),
            sum: AtomicF64::default(),
        }
    }

    /// Records one observation.
    pub fn observe(&self, v: f64) {
        let idx = self.bounds.partition_point(|b| *b < v);
        if let Some(c) = self.counts.get(idx) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum.add(v);
    }

    /// Number of observations so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Sum of observations so far.
    pub fn sum(&self) -> f64 {
        self.sum.get()
    }
}

/// What kind of metric a family is (the `# TYPE` word).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `counter`
    Counter,
    /// `gauge`
    Gauge,
    /// `histogram`
    Histogram,
    /// `untyped`
    Untyped,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Untyped => "untyped",
        }
    }
}

/// Writes families in the text exposition format 0.0.4.
#[derive(Debug, Default)]
pub struct Encoder {
    out: String,
}

impl Encoder {
    /// Starts a family: its `# HELP` and `# TYPE` lines.
    pub fn family(&mut self, name: &str, help: &str, kind: Kind) {
        self.out.push_str("# HELP ");
        self.out.push_str(name);
        self.out.push(' ');
        for c in help.chars() {
            match c {
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                c => self.out.push(c),
            }
        }
        self.out.push_str("\n# TYPE ");
        self.out.push_str(name);
        self.out.push(' ');
        self.out.push_str(kind.as_str());
        self.out.push('\n');
    }

    /// Writes one sample line.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (n, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.out.push_str(n);
                self.out.push_str("=\"");
                for c in v.chars() {
                    match c {
                        '\\' => self.out.push_str("\\\\"),
                        '"' => self.out.push_str("\\\""),
                        '\n' => self.out.push_str("\\n"),
                        c => self.out.push(c),
                    }
                }
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
        gofloat::write_go_g(value, &mut self.out);
        self.out.push('\n');
    }

    fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &Histogram) {
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0u64;
        let les: Vec<String> = h.bounds.iter().map(|b| gofloat::go_g(*b)).collect();
        let mut lbls: Vec<(&str, &str)> = labels.to_vec();
        for (le, c) in les.iter().zip(&h.counts) {
            cumulative += c.load(Ordering::Relaxed);
            lbls.push(("le", le));
            self.sample(&bucket, &lbls, cumulative as f64);
            lbls.pop();
        }
        // Read count after the buckets so the +Inf bucket is never below the
        // sum of the finite ones under concurrent observations.
        let count = h.count().max(cumulative);
        lbls.push(("le", "+Inf"));
        self.sample(&bucket, &lbls, count as f64);
        lbls.pop();
        self.sample(&format!("{name}_sum"), labels, h.sum());
        self.sample(&format!("{name}_count"), labels, count as f64);
    }

    /// Appends complete families already rendered in the text format by
    /// another component (a newline is added if missing).
    pub fn raw(&mut self, text: &str) {
        self.out.push_str(text);
        if !text.is_empty() && !text.ends_with('\n') {
            self.out.push('\n');
        }
    }

    /// The text written so far.
    pub fn finish(self) -> String {
        self.out
    }
}

/// Something that writes one or more complete families at render time.
pub trait Collect: Send + Sync {
    /// Writes this collector's families.
    fn collect(&self, enc: &mut Encoder);
}

/// A family of metrics of one type, keyed by label values.
pub struct Family<M> {
    label_names: Vec<String>,
    members: RwLock<BTreeMap<Vec<String>, Arc<M>>>,
    make: Box<dyn Fn() -> M + Send + Sync>,
}

impl<M> std::fmt::Debug for Family<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Family")
            .field("label_names", &self.label_names)
            .finish_non_exhaustive()
    }
}

impl<M> Family<M> {
    fn new(label_names: &[&str], make: impl Fn() -> M + Send + Sync + 'static) -> Self {
        Family {
            label_names: label_names.iter().map(|s| s.to_string()).collect(),
            members: RwLock::new(BTreeMap::new()),
            make: Box::new(make),
        }
    }

    /// The member for these label values (created on first use). Values are
    /// matched to the family's label names by position; missing ones are
    /// empty, extra ones ignored.
    pub fn with(&self, values: &[&str]) -> Arc<M> {
        let key: Vec<String> = (0..self.label_names.len())
            .map(|i| values.get(i).copied().unwrap_or("").to_string())
            .collect();
        if let Some(m) = self.members.read().get(&key) {
            return m.clone();
        }
        self.members
            .write()
            .entry(key)
            .or_insert_with(|| Arc::new((self.make)()))
            .clone()
    }

    fn each(&self, mut f: impl FnMut(&[(&str, &str)], &M)) {
        let members = self.members.read();
        for (values, m) in members.iter() {
            let labels: Vec<(&str, &str)> = self
                .label_names
                .iter()
                .map(String::as_str)
                .zip(values.iter().map(String::as_str))
                .collect();
            f(&labels, m);
        }
    }
}

enum Entry {
    Counter(Arc<Counter>),
    Gauge(Arc<Gauge>),
    Histogram(Arc<Histogram>),
    CounterFamily(Arc<Family<Counter>>),
    GaugeFamily(Arc<Family<Gauge>>),
    HistogramFamily(Arc<Family<Histogram>>),
    GaugeFn(Box<dyn Fn() -> f64 + Send + Sync>),
    CounterFn(Box<dyn Fn() -> f64 + Send + Sync>),
}

struct Registered {
    name: String,
    help: String,
    entry: Entry,
}

/// A set of metrics rendered together on `/metrics`.
#[derive(Default)]
pub struct Registry {
    metrics: Mutex<Vec<Registered>>,
    collectors: Mutex<Vec<Arc<dyn Collect>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn add(&self, name: &str, help: &str, entry: Entry) {
        let mut metrics = self.metrics.lock();
        // Re-registering a name replaces the old metric, so a component that
        // is rebuilt on reload does not produce duplicate families.
        metrics.retain(|m| m.name != name);
        metrics.push(Registered {
            name: name.to_string(),
            help: help.to_string(),
            entry,
        });
    }

    /// Registers and returns a counter.
    pub fn counter(&self, name: &str, help: &str) -> Arc<Counter> {
        let c = Arc::new(Counter::default());
        self.add(name, help, Entry::Counter(c.clone()));
        c
    }

    /// Registers and returns a gauge.
    pub fn gauge(&self, name: &str, help: &str) -> Arc<Gauge> {
        let g = Arc::new(Gauge::default());
        self.add(name, help, Entry::Gauge(g.clone()));
        g
    }

    /// Registers and returns a histogram with the given bucket bounds.
    pub fn histogram(&self, name: &str, help: &str, bounds: &[f64]) -> Arc<Histogram> {
        let h = Arc::new(Histogram::new(bounds));
        self.add(name, help, Entry::Histogram(h.clone()));
        h
    }

    /// Registers and returns a labelled counter family.
    pub fn counter_family(&self, name: &str, help: &str, labels: &[&str]) -> Arc<Family<Counter>> {
        let f = Arc::new(Family::new(labels, Counter::default));
        self.add(name, help, Entry::CounterFamily(f.clone()));
        f
    }

    /// Registers and returns a labelled gauge family.
    pub fn gauge_family(&self, name: &str, help: &str, labels: &[&str]) -> Arc<Family<Gauge>> {
        let f = Arc::new(Family::new(labels, Gauge::default));
        self.add(name, help, Entry::GaugeFamily(f.clone()));
        f
    }

    /// Registers and returns a labelled histogram family.
    pub fn histogram_family(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        bounds: &[f64],
    ) -> Arc<Family<Histogram>> {
        let bounds = bounds.to_vec();
        let f = Arc::new(Family::new(labels, move || Histogram::new(&bounds)));
        self.add(name, help, Entry::HistogramFamily(f.clone()));
        f
    }

    /// Registers a gauge whose value is computed at render time (e.g. the
    /// number of series in the head, read from the store).
    pub fn gauge_fn(&self, name: &str, help: &str, f: impl Fn() -> f64 + Send + Sync + 'static) {
        self.add(name, help, Entry::GaugeFn(Box::new(f)));
    }

    /// Registers a counter whose value is computed at render time (for
    /// components that keep their own atomic counts).
    pub fn counter_fn(&self, name: &str, help: &str, f: impl Fn() -> f64 + Send + Sync + 'static) {
        self.add(name, help, Entry::CounterFn(Box::new(f)));
    }

    /// Registers a collector that writes whole families itself.
    pub fn collector(&self, c: Arc<dyn Collect>) {
        self.collectors.lock().push(c);
    }

    /// Renders every metric in the text exposition format 0.0.4, families
    /// sorted by name like Prometheus' Go client does.
    pub fn render(&self) -> String {
        let mut enc = Encoder::default();
        {
            let mut metrics = self.metrics.lock();
            metrics.sort_by(|a, b| a.name.cmp(&b.name));
            for m in metrics.iter() {
                render_entry(&mut enc, m);
            }
        }
        let collectors: Vec<Arc<dyn Collect>> = self.collectors.lock().clone();
        for c in collectors {
            c.collect(&mut enc);
        }
        enc.finish()
    }
}

fn render_entry(enc: &mut Encoder, m: &Registered) {
    let (name, help) = (m.name.as_str(), m.help.as_str());
    match &m.entry {
        Entry::Counter(c) => {
            enc.family(name, help, Kind::Counter);
            enc.sample(name, &[], c.get());
        }
        Entry::Gauge(g) => {
            enc.family(name, help, Kind::Gauge);
            enc.sample(name, &[], g.get());
        }
        Entry::Histogram(h) => {
            enc.family(name, help, Kind::Histogram);
            enc.histogram(name, &[], h);
        }
        Entry::CounterFamily(f) => {
            enc.family(name, help, Kind::Counter);
            f.each(|l, c| enc.sample(name, l, c.get()));
        }
        Entry::GaugeFamily(f) => {
            enc.family(name, help, Kind::Gauge);
            f.each(|l, g| enc.sample(name, l, g.get()));
        }
        Entry::HistogramFamily(f) => {
            enc.family(name, help, Kind::Histogram);
            f.each(|l, h| enc.histogram(name, l, h));
        }
        Entry::GaugeFn(f) => {
            enc.family(name, help, Kind::Gauge);
            enc.sample(name, &[], f());
        }
        Entry::CounterFn(f) => {
            enc.family(name, help, Kind::Counter);
            enc.sample(name, &[], f());
        }
    }
}

/// Formats a float for a `le`/`quantile` label or a sample value.
pub fn format_value(v: f64) -> String {
    gofloat::go_g(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_families_sorted() {
        let r = Registry::new();
        let c = r.counter("b_total", "A counter.");
        c.inc();
        c.inc_by(2.0);
        let g = r.gauge("a_gauge", "A gauge\nwith newline.");
        g.set(-1.5);
        let fam = r.counter_family("c_requests_total", "Requests.", &["handler", "code"]);
        fam.with(&["/x", "200"]).inc();
        fam.with(&["/a\"b", "500"]).inc_by(3.0);
        let text = r.render();
        assert_eq!(
            text,
            "# HELP a_gauge A gauge\\nwith newline.\n# TYPE a_gauge gauge\na_gauge -1.5\n\
             # HELP b_total A counter.\n# TYPE b_total counter\nb_total 3\n\
             # HELP c_requests_total Requests.\n# TYPE c_requests_total counter\n\
             c_requests_total{handler=\"/a\\\"b\",code=\"500\"} 3\n\
             c_requests_total{handler=\"/x\",code=\"200\"} 1\n"
        );
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let r = Registry::new();
        let h = r.histogram("d_seconds", "Durations.", &[0.1, 1.0]);
        h.observe(0.05);
        h.observe(0.1);
        h.observe(0.5);
        h.observe(5.0);
        let text = r.render();
        assert!(text.contains("d_seconds_bucket{le=\"0.1\"} 2\n"), "{text}");
        assert!(text.contains("d_seconds_bucket{le=\"1\"} 3\n"), "{text}");
        assert!(text.contains("d_seconds_bucket{le=\"+Inf\"} 4\n"), "{text}");
        assert!(text.contains("d_seconds_sum 5.65\n"), "{text}");
        assert!(text.contains("d_seconds_count 4\n"), "{text}");
    }

    #[test]
    fn reregistering_replaces() {
        let r = Registry::new();
        r.gauge("x", "old").set(1.0);
        r.gauge("x", "new").set(2.0);
        let text = r.render();
        assert_eq!(text.matches("# TYPE x gauge").count(), 1);
        assert!(text.contains("x 2\n"));
    }
}
