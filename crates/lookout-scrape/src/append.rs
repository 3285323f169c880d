//! Turning one scrape body into appended samples: parsing, the series
//! cache, `honor_labels`, `metric_relabel_configs`, limits, staleness
//! markers and the synthetic report series. Synchronous and storage-agnostic
//! so it can be tested without HTTP.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use lookout_exposition::{Entry, Format, MetricType, Parser};
use lookout_model::relabel::{process, RelabelConfig};
use lookout_model::storage::{AppendError, Appender};
use lookout_model::{Labels, LabelsBuilder, STALE_NAN};

use crate::config::{Limits, ScrapeProtocol};
use crate::state::MetricMetadata;

/// How samples of one target are processed.
#[derive(Clone, Debug)]
pub struct SampleOptions {
    /// Public target labels attached to every sample.
    pub target_labels: Labels,
    /// Scraped labels win over target labels.
    pub honor_labels: bool,
    /// Keep exposed timestamps.
    pub honor_timestamps: bool,
    /// Track staleness even for series with explicit timestamps.
    pub track_timestamps_staleness: bool,
    /// Sample relabeling.
    pub metric_relabel: Arc<Vec<RelabelConfig>>,
    /// Limits.
    pub limits: Limits,
    /// Parser for a missing/unknown Content-Type.
    pub fallback: Option<ScrapeProtocol>,
}

/// Counts reported through the synthetic series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AppendStats {
    /// Samples in the body (`scrape_samples_scraped`).
    pub total: u64,
    /// Samples left after metric relabeling (`scrape_samples_post_metric_relabeling`).
    pub added: u64,
    /// Series not in the previous scrape (`scrape_series_added`).
    pub series_added: u64,
    /// Samples the store refused as out of order / duplicate / out of bounds.
    pub rejected: u64,
}

struct CacheEntry {
    /// `None` when metric relabeling dropped the series.
    labels: Option<Arc<Labels>>,
    hash: u64,
    last_iter: u64,
}

/// Per-target state that survives between scrapes (and across reloads).
#[derive(Default)]
pub struct ScrapeCache {
    series: HashMap<String, CacheEntry>,
    iter: u64,
    successful_count: usize,
    /// Series appended (without explicit timestamps) by the previous and
    /// the current scrape, for staleness.
    prev: HashMap<u64, Arc<Labels>>,
    cur: HashMap<u64, Arc<Labels>>,
    metadata: BTreeMap<String, (MetricMetadata, u64)>,
    key: String,
}

impl ScrapeCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Current metadata per family.
    pub fn metadata(&self) -> BTreeMap<String, MetricMetadata> {
        self.metadata
            .iter()
            .map(|(k, (m, _))| (k.clone(), m.clone()))
            .collect()
    }

    /// Whether any scrape went through this cache (also one handed over
    /// from a loop replaced on reload).
    pub fn has_history(&self) -> bool {
        self.iter > 0
    }

    /// Label sets of the series the last successful scrape appended (those
    /// that would go stale if the target vanished).
    pub fn live_series(&self) -> Vec<Arc<Labels>> {
        self.prev.values().cloned().collect()
    }

    /// Ends an iteration like Prometheus' `iterDone`: on a non-empty
    /// successful scrape forget entries not seen in it, then rotate the
    /// staleness sets.
    fn iter_done(&mut self, flush: bool) {
        let count = self.series.len() + self.metadata.len();
        let flush = if flush {
            self.successful_count = count;
            true
        } else {
            count > self.successful_count * 2 + 1000
        };
        if flush {
            let it = self.iter;
            self.series.retain(|_, e| e.last_iter == it);
            self.metadata.retain(|_, (_, i)| *i == it);
        }
        std::mem::swap(&mut self.prev, &mut self.cur);
        self.cur.clear();
        self.iter += 1;
    }
}

fn type_name(t: MetricType) -> &'static str {
    match t {
        MetricType::Counter => "counter",
        MetricType::Gauge => "gauge",
        MetricType::Histogram => "histogram",
        MetricType::GaugeHistogram => "gaugehistogram",
        MetricType::Summary => "summary",
        MetricType::Info => "info",
        MetricType::StateSet => "stateset",
        MetricType::Unknown => "unknown",
    }
}

/// Picks the parser for a response Content-Type.
pub fn format_for(content_type: &str, fallback: Option<ScrapeProtocol>) -> Format {
    let ct = content_type.trim().to_ascii_lowercase();
    if ct.starts_with("application/openmetrics-text") {
        Format::OpenMetrics
    } else if ct.starts_with("text/plain") {
        Format::Text004
    } else {
        match fallback {
            Some(ScrapeProtocol::OpenMetricsText0_0_1 | ScrapeProtocol::OpenMetricsText1_0_0) => {
                Format::OpenMetrics
            }
            // Prometheus 2.x parsed anything unknown as text; so do we.
            _ => Format::Text004,
        }
    }
}

/// Prometheus' `mutateSampleLabels`: merge target labels (renaming
/// conflicting scraped labels to `exported_<name>` unless `honor_labels`),
/// then apply metric relabeling. `None` when relabeling drops the sample.
pub fn mutate_sample_labels(
    scraped: &Labels,
    target: &Labels,
    honor: bool,
    rules: &[RelabelConfig],
) -> Option<Labels> {
    let mut b = scraped.builder();
    if honor {
        for l in target.iter() {
            if !scraped.has(&l.name) {
                b.set(l.name.clone(), l.value.clone());
            }
        }
    } else {
        let mut conflicts: Vec<(String, String)> = Vec::new();
        for l in target.iter() {
            if let Some(v) = scraped.get(&l.name) {
                conflicts.push((l.name.clone(), v.to_string()));
            }
            b.set(l.name.clone(), l.value.clone());
        }
        // Shorter names first, so `exported_x` resolves before `exported_exported_x`.
        conflicts.sort_by_key(|(n, _)| n.len());
        for (name, value) in conflicts {
            let mut new_name = name;
            loop {
                new_name = format!("exported_{new_name}");
                if b.get(&new_name).is_none() {
                    b.set(new_name, value);
                    break;
                }
            }
        }
    }
    let res = b.into_labels();
    if rules.is_empty() {
        return Some(res);
    }
    process(&res, rules)
}

/// The label set of a report series (`up`, ...): target labels win.
pub fn report_labels(name: &str, target: &Labels) -> Labels {
    let mut b = target.builder();
    b.set(lookout_model::METRIC_NAME, name);
    b.into_labels()
}

fn verify_label_limits(l: &Labels, limits: &Limits) -> Result<(), String> {
    let met = trunc(l.get_or_empty(lookout_model::METRIC_NAME), 50);
    if limits.label_limit > 0 && l.len() as u64 > limits.label_limit {
        return Err(format!(
            "label_limit exceeded (metric: {met}, number of labels: {}, limit: {})",
            l.len(),
            limits.label_limit
        ));
    }
    for x in l.iter() {
        if limits.label_name_length_limit > 0
            && x.name.len() as u64 > limits.label_name_length_limit
        {
            return Err(format!(
                "label_name_length_limit exceeded (metric: {met}, label name: {}, length: {}, limit: {})",
                trunc(&x.name, 50),
                x.name.len(),
                limits.label_name_length_limit
            ));
        }
        let chars = x.value.chars().count() as u64;
        if limits.label_value_length_limit > 0 && chars > limits.label_value_length_limit {
            return Err(format!(
                "label_value_length_limit exceeded (metric: {met}, label name: {}, value: {:?}, length: {chars}, limit: {})",
                trunc(&x.name, 50),
                trunc(&x.value, 50),
                limits.label_value_length_limit
            ));
        }
    }
    Ok(())
}

/// Go's `%.50s`: at most 50 characters.
fn trunc(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Appends one scrape body at default timestamp `t` (ms). An empty body
/// is an empty scrape: everything from the previous scrape goes stale.
///
/// On `Err` the caller must roll the appender back and append an empty
/// scrape into a fresh one (Prometheus' failed-scrape path); the stats are
/// still reported.
pub fn append_scrape(
    cache: &mut ScrapeCache,
    app: &mut dyn Appender,
    body: &[u8],
    content_type: &str,
    t: i64,
    opts: &SampleOptions,
) -> Result<AppendStats, (AppendStats, String)> {
    let mut stats = AppendStats::default();
    let iter = cache.iter;
    let mut sample_limit_hit = false;
    let mut err: Option<String> = None;
    if !body.is_empty() {
        let format = format_for(content_type, opts.fallback);
        let mut parser = Parser::new(body, format);
        let mut key = std::mem::take(&mut cache.key);
        loop {
            let entry = match parser.next_entry() {
                Ok(Some(e)) => e,
                Ok(None) => break,
                Err(e) => {
                    err = Some(e.to_string());
                    break;
                }
            };
            let s = match entry {
                Entry::Sample(s) => s,
                Entry::Help { name, help } => {
                    let m = cache.metadata.entry(name.to_string()).or_insert_with(|| {
                        (
                            MetricMetadata {
                                metric_type: "unknown",
                                ..Default::default()
                            },
                            iter,
                        )
                    });
                    if m.0.help != help {
                        m.0.help = help.into_owned();
                    }
                    m.1 = iter;
                    continue;
                }
                Entry::Type { name, kind } => {
                    let m = cache
                        .metadata
                        .entry(name.to_string())
                        .or_insert_with(|| (MetricMetadata::default(), iter));
                    m.0.metric_type = type_name(kind);
                    m.1 = iter;
                    continue;
                }
                Entry::Unit { name, unit } => {
                    let m = cache.metadata.entry(name.to_string()).or_insert_with(|| {
                        (
                            MetricMetadata {
                                metric_type: "unknown",
                                ..Default::default()
                            },
                            iter,
                        )
                    });
                    if m.0.unit != unit {
                        m.0.unit = unit.to_string();
                    }
                    m.1 = iter;
                    continue;
                }
                Entry::Comment(_) => continue,
            };
            stats.total += 1;
            key.clear();
            key.push_str(s.name);
            for l in &s.labels {
                key.push('\u{ff}');
                key.push_str(l.name);
                key.push('=');
                key.push_str(&l.value);
            }
            let mut miss = false;
            let (labels, hash) = match cache.series.get_mut(key.as_str()) {
                Some(e) => {
                    e.last_iter = iter;
                    match &e.labels {
                        Some(l) => (l.clone(), e.hash),
                        None => continue,
                    }
                }
                None => {
                    let mut b = LabelsBuilder::new();
                    b.set(lookout_model::METRIC_NAME, s.name);
                    for l in &s.labels {
                        b.set(l.name, l.value.as_ref());
                    }
                    let scraped = b.into_labels();
                    let mutated = mutate_sample_labels(
                        &scraped,
                        &opts.target_labels,
                        opts.honor_labels,
                        &opts.metric_relabel,
                    );
                    let Some(lset) = mutated.filter(|l| !l.is_empty()) else {
                        cache.series.insert(
                            key.clone(),
                            CacheEntry {
                                labels: None,
                                hash: 0,
                                last_iter: iter,
                            },
                        );
                        continue;
                    };
                    if !lset.has(lookout_model::METRIC_NAME) {
                        err = Some("missing metric name (__name__ label)".into());
                        break;
                    }
                    if let Err(e) = verify_label_limits(&lset, &opts.limits) {
                        err = Some(e);
                        break;
                    }
                    let hash = lset.stable_hash();
                    let lset = Arc::new(lset);
                    cache.series.insert(
                        key.clone(),
                        CacheEntry {
                            labels: Some(lset.clone()),
                            hash,
                            last_iter: iter,
                        },
                    );
                    miss = true;
                    (lset, hash)
                }
            };
            let explicit_ts = opts.honor_timestamps && s.timestamp_ms.is_some();
            let ts = if opts.honor_timestamps {
                s.timestamp_ms.unwrap_or(t)
            } else {
                t
            };
            stats.added += 1;
            let limit = opts.limits.sample_limit;
            if limit > 0 && stats.added > limit {
                // Keep counting like Prometheus; fail once the body is read.
                sample_limit_hit = true;
                continue;
            }
            match app.append(&labels, ts, s.value) {
                Ok(()) => {
                    if !explicit_ts || opts.track_timestamps_staleness {
                        cache.cur.insert(hash, labels);
                    }
                    if miss {
                        stats.series_added += 1;
                    }
                }
                Err(
                    AppendError::OutOfOrder
                    | AppendError::Duplicate
                    | AppendError::OutOfBounds
                    | AppendError::TooOld,
                ) => stats.rejected += 1,
                Err(e) => {
                    err = Some(e.to_string());
                    break;
                }
            }
        }
        cache.key = key;
    }
    if err.is_none() && sample_limit_hit {
        err = Some("sample limit exceeded".into());
    }
    if let Some(e) = err {
        // Nothing of this attempt counts; the caller's empty scrape will
        // mark every previous series stale.
        cache.cur.clear();
        return Err((stats, e));
    }
    let stale: Vec<Arc<Labels>> = cache
        .prev
        .iter()
        .filter(|(h, _)| !cache.cur.contains_key(h))
        .map(|(_, l)| l.clone())
        .collect();
    for l in stale {
        match app.append(&l, t, STALE_NAN) {
            Ok(())
            | Err(
                AppendError::OutOfOrder
                | AppendError::Duplicate
                | AppendError::OutOfBounds
                | AppendError::TooOld,
            ) => {}
            Err(e) => return Err((stats, e.to_string())),
        }
    }
    cache.iter_done(!body.is_empty());
    Ok(stats)
}

/// Names of the synthetic per-scrape series.
pub const REPORT_SERIES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// Appends the synthetic series for one scrape.
pub fn append_report(
    app: &mut dyn Appender,
    target: &Labels,
    t: i64,
    duration_secs: f64,
    stats: &AppendStats,
    ok: bool,
) -> Result<(), AppendError> {
    let values = [
        if ok { 1.0 } else { 0.0 },
        duration_secs,
        stats.total as f64,
        stats.added as f64,
        stats.series_added as f64,
    ];
    for (name, v) in REPORT_SERIES.iter().zip(values) {
        tolerate(app.append(&report_labels(name, target), t, v))?;
    }
    Ok(())
}

/// Appends staleness markers for the synthetic series.
pub fn append_report_stale(
    app: &mut dyn Appender,
    target: &Labels,
    t: i64,
) -> Result<(), AppendError> {
    for name in REPORT_SERIES {
        tolerate(app.append(&report_labels(name, target), t, STALE_NAN))?;
    }
    Ok(())
}

fn tolerate(r: Result<(), AppendError>) -> Result<(), AppendError> {
    match r {
        Err(
            AppendError::OutOfOrder
            | AppendError::Duplicate
            | AppendError::OutOfBounds
            | AppendError::TooOld,
        ) => Ok(()),
        other => other,
    }
}

#[cfg(test)]
#[path = "append_tests.rs"]
mod tests;
