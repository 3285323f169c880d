//! Adapters from lookout's components to the API's views, and the
//! components' self-metrics.

use std::sync::Arc;

use lookout_api::sources::{
    ActiveTarget, DroppedTarget, TargetMetricMetadata, TargetsSnapshot, TargetsView,
};
use lookout_metrics::{Collect, Encoder, Kind};
use lookout_model::Labels;
use lookout_scrape::api::{self as sapi, StateFilter};
use lookout_scrape::manager::ScrapeManager;
use lookout_tsdb::Db;

/// The scrape manager as the API's [`TargetsView`].
pub struct ScrapeTargets(pub Arc<ScrapeManager>);

impl TargetsView for ScrapeTargets {
    fn targets(&self, active: bool, dropped: bool, pool: Option<&str>) -> TargetsSnapshot {
        let state = match (active, dropped) {
            (true, false) => StateFilter::Active,
            (false, true) => StateFilter::Dropped,
            _ => StateFilter::Any,
        };
        let d = sapi::targets(&self.0, state, pool);
        TargetsSnapshot {
            active_targets: d
                .active_targets
                .into_iter()
                .map(|t| ActiveTarget {
                    discovered_labels: t.discovered_labels,
                    labels: t.labels,
                    scrape_pool: t.scrape_pool,
                    scrape_url: t.scrape_url,
                    global_url: t.global_url,
                    last_error: t.last_error,
                    last_scrape: t.last_scrape,
                    last_scrape_duration: t.last_scrape_duration,
                    health: t.health,
                    scrape_interval: t.scrape_interval,
                    scrape_timeout: t.scrape_timeout,
                })
                .collect(),
            dropped_targets: d
                .dropped_targets
                .into_iter()
                .map(|t| DroppedTarget {
                    discovered_labels: t.discovered_labels,
                    scrape_pool: t.scrape_pool,
                })
                .collect(),
            dropped_target_counts: d
                .dropped_target_counts
                .into_iter()
                .map(|(k, v)| (k, v as u64))
                .collect(),
        }
    }

    fn metadata(&self) -> Vec<TargetMetricMetadata> {
        sapi::targets_metadata(&self.0, &[], None, 0)
            .into_iter()
            .map(|m| TargetMetricMetadata {
                target: Labels::from_pairs(m.target),
                metric: m.metric.unwrap_or_default(),
                kind: m.metric_type,
                help: m.help,
                unit: m.unit,
            })
            .collect()
    }

    fn scrape_pools(&self) -> Vec<String> {
        self.0.with_pools(|p| p.keys().cloned().collect())
    }
}

/// Storage metrics, read from [`Db::stats`] once per `/metrics` render.
pub struct TsdbCollector(pub Arc<Db>);

impl Collect for TsdbCollector {
    fn collect(&self, enc: &mut Encoder) {
        let s = self.0.stats();
        let mut put = |name: &str, help: &str, kind: Kind, v: u64| {
            enc.family(name, help, kind);
            enc.sample(name, &[], v as f64);
        };
        put(
            "lookout_tsdb_series",
            "Series registered in the store.",
            Kind::Gauge,
            s.series,
        );
        put(
            "lookout_tsdb_head_samples",
            "Samples in the in-memory head, not yet in parts.",
            Kind::Gauge,
            s.head_samples,
        );
        put(
            "lookout_tsdb_part_samples",
            "Samples in on-disk parts.",
            Kind::Gauge,
            s.part_samples,
        );
        put("lookout_tsdb_parts", "On-disk parts.", Kind::Gauge, s.parts);
        put(
            "lookout_tsdb_storage_bytes",
            "Bytes on disk (parts, series log, WAL).",
            Kind::Gauge,
            s.bytes_total(),
        );
        put(
            "lookout_tsdb_wal_bytes",
            "Bytes of WAL segments.",
            Kind::Gauge,
            s.bytes_wal,
        );
        put(
            "lookout_tsdb_heap_bytes",
            "Approximate heap bytes of the series registry and head.",
            Kind::Gauge,
            s.heap_bytes,
        );
        put(
            "lookout_tsdb_samples_appended_total",
            "Samples appended since start.",
            Kind::Counter,
            s.appended_since_open,
        );
        put(
            "lookout_tsdb_out_of_order_samples_appended_total",
            "Out-of-order samples accepted since start.",
            Kind::Counter,
            s.out_of_order_since_open,
        );
        put(
            "lookout_tsdb_head_flushes_total",
            "Head flushes into parts since start.",
            Kind::Counter,
            s.flushes_since_open,
        );
        put(
            "lookout_tsdb_merges_total",
            "Part merges since start.",
            Kind::Counter,
            s.merges_since_open,
        );
    }
}
