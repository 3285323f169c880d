//! Builds the running components from flags and config: the store, the
//! PromQL engine, remote-write ingest, scraping, and how a reloaded config
//! is applied to them.

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use lookout_api::sources::QuerierStats;
use lookout_api::{QueryEngine, SampleSink, StorageStats, TargetsView};
use lookout_metrics::Registry;
use lookout_model::storage::{Appendable, Querier};
use lookout_promql::engine::EngineOptions;
use lookout_scrape::manager::ScrapeService;
use lookout_tsdb::{Db, Options};

use super::components::{ScrapeTargets, TsdbCollector};
use super::engine::PromqlEngine;
use super::flags::{duration_flag, parse_bytes, ServerArgs};
use super::ingest::TsdbSink;
use super::reload::ApplyFn;
use crate::config::LoadedConfig;

/// Window `/api/v1/status/tsdb` reports on, like Prometheus' head (~2 h).
const STATUS_WINDOW_MS: i64 = 2 * 3600 * 1000;

/// The running components.
pub struct Wired {
    /// PromQL.
    pub engine: Arc<dyn QueryEngine>,
    /// Reads.
    pub querier: Arc<dyn Querier>,
    /// Remote-write ingest.
    pub sink: Arc<dyn SampleSink>,
    /// Scrape state.
    pub targets: Arc<dyn TargetsView>,
    /// Storage statistics.
    pub storage_stats: Arc<dyn StorageStats>,
    /// Routes of other components to serve on the same port.
    pub extra_routes: Router,
    /// Applies a reloaded configuration.
    pub apply: Arc<ApplyFn>,
    /// Rule evaluation and alert delivery.
    pub rules: Arc<super::rules::RulesComponent>,
    /// Stops scraping and flushes storage.
    pub shutdown: Box<dyn FnOnce() -> anyhow::Result<()> + Send>,
}

/// The Alertmanager's metrics on lookout's `/metrics`.
struct AlertmanagerMetrics(Arc<lookout_alertmanager::Alertmanager>);

impl lookout_metrics::Collect for AlertmanagerMetrics {
    fn collect(&self, enc: &mut lookout_metrics::Encoder) {
        enc.raw(&self.0.metrics_text());
    }
}

/// The built-in host collector (node-exporter metrics) at
/// [`crate::config::NODE_METRICS_PATH`], scraped by the default `node` job.
fn node_routes() -> Router {
    use axum::http::{header, HeaderValue};
    use axum::response::IntoResponse;
    let collector = Arc::new(lookout_node::NodeCollector::default());
    Router::new().route(
        crate::config::NODE_METRICS_PATH,
        axum::routing::get(move || {
            let c = collector.clone();
            async move {
                let body = tokio::task::spawn_blocking(move || c.render_text())
                    .await
                    .unwrap_or_default();
                let mut r = body.into_response();
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                );
                r
            }
        }),
    )
}

/// Opens storage and starts the components. Must run inside the runtime.
pub fn wire(
    args: &ServerArgs,
    cfg: &LoadedConfig,
    registry: &Arc<Registry>,
    self_target: &str,
) -> anyhow::Result<Wired> {
    let retention = duration_flag("storage.tsdb.retention.time", &args.retention_time)?;
    let retention_bytes =
        parse_bytes(&args.retention_size).context("--storage.tsdb.retention.size")?;
    let ooo_window = cfg.storage.tsdb.out_of_order_time_window.as_millis();
    let opts = Options {
        retention: (!retention.is_zero()).then_some(retention),
        retention_bytes: (retention_bytes > 0).then_some(retention_bytes),
        out_of_order_time_window: ooo_window,
        ..Options::default()
    };
    std::fs::create_dir_all(&args.tsdb_path)
        .with_context(|| format!("creating {}", args.tsdb_path.display()))?;
    let db = Arc::new(
        Db::open(&args.tsdb_path, opts)
            .with_context(|| format!("opening storage at {}", args.tsdb_path.display()))?,
    );
    registry.collector(Arc::new(TsdbCollector(db.clone())));

    let mut engine_opts = EngineOptions {
        lookback_delta: duration_flag("query.lookback-delta", &args.query_lookback_delta)?
            .as_millis() as i64,
        max_samples: args.query_max_samples,
        timeout: Some(duration_flag("query.timeout", &args.query_timeout)?),
        ..EngineOptions::default()
    };
    super::flags::apply_features(&args.enable_feature, &mut engine_opts)?;
    let querier: Arc<dyn Querier> = db.clone();
    let rules = super::rules::RulesComponent::start(
        cfg,
        querier.clone(),
        db.clone(),
        engine_opts.clone(),
        args.external_url.clone().unwrap_or_default(),
        &args.rules,
        registry,
    )?;
    let engine = Arc::new(PromqlEngine::new(engine_opts, querier.clone()));
    let sink = Arc::new(TsdbSink::new(db.clone()));

    let appendable: Arc<dyn Appendable> = db.clone();
    let (service, errors) = ScrapeService::start(appendable, &cfg.prometheus);
    if !errors.is_empty() {
        service.shutdown();
        anyhow::bail!("scrape configuration: {}", errors.join("; "));
    }
    let service = Arc::new(service);
    let targets = Arc::new(ScrapeTargets(service.manager.clone()));

    let reload_service = service.clone();
    let reload_rules = rules.clone();
    let apply: Arc<ApplyFn> = Arc::new(move |c: &LoadedConfig| {
        // Rules first: an invalid rule file refuses the whole reload.
        reload_rules.apply(c)?;
        let new_window = c.storage.tsdb.out_of_order_time_window.as_millis();
        if new_window != ooo_window {
            tracing::warn!(
                "storage.tsdb.out_of_order_time_window changed; the new window applies after a restart"
            );
        }
        let errors = reload_service.reload(&c.prometheus);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    });
    // The Alertmanager, served at /api/v2 on the same port.
    let am_cfg =
        crate::config::load_alertmanager(&cfg.alertmanager, std::path::Path::new("<config>"), 0)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    let external_url = args
        .external_url
        .clone()
        .unwrap_or_else(|| format!("http://{self_target}"));
    let am = lookout_alertmanager::Alertmanager::new(
        lookout_alertmanager::Options {
            storage_path: Some(args.tsdb_path.join("alertmanager")),
            external_url: external_url.trim_end_matches('/').to_string(),
            ..lookout_alertmanager::Options::default()
        },
        am_cfg,
    )
    .map_err(|e| anyhow::anyhow!("starting the alertmanager: {e}"))?;
    registry.collector(Arc::new(AlertmanagerMetrics(am.clone())));
    rules.attach_alertmanager(
        am.clone(),
        format!("{}/api/v2/alerts", external_url.trim_end_matches('/')),
    );
    let reload_am = am.clone();
    let apply_scrape = apply;
    let apply: Arc<ApplyFn> = Arc::new(move |c: &LoadedConfig| {
        // Validate both parts before changing either.
        let am_cfg =
            crate::config::load_alertmanager(&c.alertmanager, std::path::Path::new("<config>"), 0)
                .map_err(|e| e.to_string())?;
        apply_scrape(c)?;
        reload_am.apply_config(am_cfg)
    });
    let shutdown_am = am.clone();
    let shutdown_db = db.clone();
    let shutdown_rules = rules.clone();
    let shutdown: Box<dyn FnOnce() -> anyhow::Result<()> + Send> = Box::new(move || {
        shutdown_rules.stop();
        service.shutdown();
        shutdown_am.shutdown();
        shutdown_db.flush().context("flushing storage")?;
        Ok(())
    });
    Ok(Wired {
        engine,
        querier: querier.clone(),
        sink,
        targets,
        storage_stats: Arc::new(QuerierStats::new(querier, STATUS_WINDOW_MS)),
        extra_routes: node_routes().nest("/api/v2", lookout_alertmanager::api::router(am)),
        apply,
        rules,
        shutdown,
    })
}
