//! lookout-api: the HTTP layer.
//!
//! Owns the Prometheus HTTP API (`/api/v1/*` with upstream JSON shapes,
//! number formats, parameter parsing and error types), the remote-write 1.0
//! receiver, `/federate`, `/-/healthy`, `/-/ready`, `/-/reload`, `/metrics`,
//! and the cross-cutting HTTP behaviour (gzip, CORS, readiness gate, body
//! limits, per-handler request metrics, cancellation when a client leaves).
//!
//! It reaches the rest of lookout only through traits: the PromQL engine
//! through [`engine::QueryEngine`], storage through `lookout-model`'s
//! `Querier` and [`remote_write::SampleSink`], scrape state through
//! [`sources::TargetsView`]. It must not depend on a storage engine, the
//! query engine's internals or the scrape manager; the server binary adapts
//! those to these traits.

pub mod engine;
pub mod envelope;
pub mod federate;
pub mod json;
pub mod lifecycle;
pub mod meta;
pub mod params;
pub mod query;
pub mod remote_write;
pub mod rules;
pub mod sources;
pub mod status;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use lookout_metrics::{Counter, Family, Histogram, Registry};
use lookout_model::storage::Querier;
use parking_lot::RwLock;

pub use engine::QueryEngine;
pub use lifecycle::Reloader;
pub use remote_write::{SampleSink, WriteLimits};
pub use sources::{BuildInfo, StatusInfo, StorageStats, TargetsView};

/// Settings fixed at start-up (flags).
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// `--query.timeout`.
    pub query_timeout: Duration,
    /// `--query.lookback-delta` in milliseconds (used by `/federate`).
    pub lookback_delta_ms: i64,
    /// Largest compressed remote-write body, bytes.
    pub max_write_body_bytes: usize,
    /// Decompression limits for remote write.
    pub write_limits: WriteLimits,
    /// `--web.enable-lifecycle`.
    pub enable_lifecycle: bool,
    /// What `/api/v1/status/buildinfo` reports.
    pub build: BuildInfo,
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            query_timeout: Duration::from_secs(120),
            lookback_delta_ms: 5 * 60 * 1000,
            max_write_body_bytes: 32 << 20,
            write_limits: WriteLimits::default(),
            enable_lifecycle: true,
            build: default_build_info(),
        }
    }
}

/// The Prometheus API version lookout implements (Grafana reads it as
/// semver to choose features).
pub const PROMETHEUS_API_VERSION: &str = "3.14.0";

/// Build info with lookout's version in `branch`/`goVersion`.
pub fn default_build_info() -> BuildInfo {
    BuildInfo {
        version: PROMETHEUS_API_VERSION.to_string(),
        revision: option_env!("LOOKOUT_GIT_REVISION")
            .unwrap_or("unknown")
            .to_string(),
        branch: format!("lookout-{}", env!("CARGO_PKG_VERSION")),
        build_user: "lookout".to_string(),
        build_date: String::new(),
        go_version: format!("lookout {} (Rust)", env!("CARGO_PKG_VERSION")),
    }
}

/// The components the API serves from.
pub struct Components {
    /// PromQL.
    pub engine: Arc<dyn QueryEngine>,
    /// Read access to stored series.
    pub querier: Arc<dyn Querier>,
    /// Where remote-write samples go.
    pub sink: Arc<dyn SampleSink>,
    /// Scrape state.
    pub targets: Arc<dyn TargetsView>,
    /// Storage statistics.
    pub storage_stats: Arc<dyn StorageStats>,
    /// Configuration reload, if the server has a config source.
    pub reloader: Option<Arc<dyn Reloader>>,
}

/// Metrics the API keeps about itself.
pub struct ApiMetrics {
    requests: Arc<Family<Counter>>,
    durations: Arc<Family<Histogram>>,
    pub(crate) queries: Arc<Counter>,
    pub(crate) remote_write_requests: Arc<Family<Counter>>,
    pub(crate) remote_write_samples: Arc<Counter>,
    pub(crate) remote_write_histograms: Arc<Counter>,
    pub(crate) remote_write_rejected: Arc<Counter>,
    pub(crate) remote_write_invalid_series: Arc<Counter>,
}

impl ApiMetrics {
    fn new(r: &Registry) -> Self {
        ApiMetrics {
            requests: r.counter_family(
                "lookout_http_requests_total",
                "HTTP requests by handler and status code.",
                &["handler", "code"],
            ),
            durations: r.histogram_family(
                "lookout_http_request_duration_seconds",
                "HTTP request latencies by handler.",
                &["handler"],
                lookout_metrics::DURATION_BUCKETS,
            ),
            queries: r.counter(
                "lookout_api_queries_total",
                "PromQL queries received on /api/v1/query and /api/v1/query_range.",
            ),
            remote_write_requests: r.counter_family(
                "lookout_remote_write_requests_total",
                "Remote-write requests by status code.",
                &["code"],
            ),
            remote_write_samples: r.counter(
                "lookout_remote_write_samples_total",
                "Float samples stored from remote write.",
            ),
            remote_write_histograms: r.counter(
                "lookout_remote_write_histograms_total",
                "Histogram samples stored from remote write.",
            ),
            remote_write_rejected: r.counter(
                "lookout_remote_write_samples_rejected_total",
                "Remote-write samples refused by the store (out of order, duplicate, too old).",
            ),
            remote_write_invalid_series: r.counter(
                "lookout_remote_write_invalid_series_total",
                "Remote-write series skipped for invalid labels.",
            ),
        }
    }
}

/// Shared state of every handler.
pub struct Api {
    /// PromQL.
    pub engine: Arc<dyn QueryEngine>,
    /// Read access to stored series.
    pub querier: Arc<dyn Querier>,
    /// Remote-write destination.
    pub sink: Arc<dyn SampleSink>,
    /// Scrape state.
    pub targets: Arc<dyn TargetsView>,
    /// Storage statistics.
    pub storage_stats: Arc<dyn StorageStats>,
    /// Configuration reload.
    pub reloader: Option<Arc<dyn Reloader>>,
    /// Start-up settings.
    pub settings: ApiSettings,
    /// Configuration facts, replaced on reload.
    pub status: RwLock<StatusInfo>,
    /// Whether the server accepts API traffic.
    pub ready: AtomicBool,
    /// Whether the server is shutting down.
    pub stopping: AtomicBool,
    /// Registry rendered on `/metrics`.
    pub registry: Arc<Registry>,
    pub(crate) metrics: ApiMetrics,
    pub(crate) start_time_ms: i64,
    /// The rule engine, attached by the server once it runs.
    rules: std::sync::OnceLock<Arc<dyn rules::RulesView>>,
}

impl Api {
    /// Builds the API state; it starts not ready (call [`Api::set_ready`]).
    pub fn new(
        components: Components,
        settings: ApiSettings,
        status: StatusInfo,
        registry: Arc<Registry>,
    ) -> Arc<Self> {
        Arc::new(Api {
            engine: components.engine,
            querier: components.querier,
            sink: components.sink,
            targets: components.targets,
            storage_stats: components.storage_stats,
            reloader: components.reloader,
            settings,
            status: RwLock::new(status),
            ready: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            metrics: ApiMetrics::new(&registry),
            registry,
            start_time_ms: params::now_ms(),
            rules: std::sync::OnceLock::new(),
        })
    }

    /// Connects the rule engine to `/api/v1/rules`, `/api/v1/alerts` and
    /// `/api/v1/alertmanagers` (first call wins).
    pub fn attach_rules(&self, view: Arc<dyn rules::RulesView>) {
        let _ = self.rules.set(view);
    }

    /// The attached rule engine, if any.
    pub fn rules_view(&self) -> Option<&Arc<dyn rules::RulesView>> {
        self.rules.get()
    }

    /// Marks the server ready (or not).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// Replaces the status facts (after a reload).
    pub fn set_status(&self, status: StatusInfo) {
        *self.status.write() = status;
    }

    /// Updates the status facts in place.
    pub fn update_status(&self, f: impl FnOnce(&mut StatusInfo)) {
        f(&mut self.status.write());
    }
}

async fn readiness_gate(State(api): State<Arc<Api>>, req: Request, next: Next) -> Response {
    if !api.ready.load(Ordering::Relaxed) {
        return lifecycle::not_ready(api.stopping.load(Ordering::Relaxed));
    }
    next.run(req).await
}

async fn track_requests(State(api): State<Arc<Api>>, req: Request, next: Next) -> Response {
    let handler = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "other".to_string());
    let started = Instant::now();
    let resp = next.run(req).await;
    api.metrics
        .requests
        .with(&[&handler, resp.status().as_str()])
        .inc();
    api.metrics
        .durations
        .with(&[&handler])
        .observe(started.elapsed().as_secs_f64());
    resp
}

fn add_cors(resp: &mut Response, origin: bool) {
    let h = resp.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    if origin {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Accept, Authorization, Content-Type, Origin"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Date"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
}

/// CORS for `/api/v1/*` like Prometheus' default (`--web.cors.origin=.*`),
/// and `OPTIONS` answered 204 there.
async fn cors(req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/api/v1/") {
        return next.run(req).await;
    }
    let origin = req.headers().contains_key(header::ORIGIN);
    if req.method() == Method::OPTIONS {
        let mut resp = StatusCode::NO_CONTENT.into_response();
        add_cors(&mut resp, origin);
        return resp;
    }
    let mut resp = next.run(req).await;
    add_cors(&mut resp, origin);
    resp
}

/// The lookout HTTP routes with state applied. Merge other components'
/// routers into it, then wrap it with [`finish`].
pub fn routes(api: Arc<Api>) -> Router {
    use query::*;
    let gated = Router::new()
        .route("/api/v1/query", get(instant).post(instant))
        .route("/api/v1/query_range", get(range).post(range))
        .route("/api/v1/query_exemplars", get(exemplars).post(exemplars))
        .route("/api/v1/format_query", get(format_query).post(format_query))
        .route("/api/v1/parse_query", get(parse_query).post(parse_query))
        .route(
            "/api/v1/labels",
            get(meta::label_names).post(meta::label_names),
        )
        .route(
            "/api/v1/label/{name}/values",
            get(meta::label_values).post(meta::label_values),
        )
        .route("/api/v1/series", get(meta::series).post(meta::series))
        .route("/api/v1/metadata", get(meta::metadata))
        .route("/api/v1/targets", get(status::targets))
        .route("/api/v1/targets/metadata", get(status::targets_metadata))
        .route("/api/v1/scrape_pools", get(status::scrape_pools))
        .route("/api/v1/rules", get(rules::rules))
        .route("/api/v1/alerts", get(rules::alerts))
        .route("/api/v1/alertmanagers", get(rules::alertmanagers))
        .route("/api/v1/notifications", get(status::notifications))
        .route("/api/v1/status/config", get(status::config))
        .route("/api/v1/status/flags", get(status::flags))
        .route("/api/v1/status/runtimeinfo", get(status::runtimeinfo))
        .route("/api/v1/status/buildinfo", get(status::buildinfo))
        .route("/api/v1/status/tsdb", get(status::tsdb))
        .route("/api/v1/status/walreplay", get(status::walreplay))
        .route(
            "/api/v1/write",
            axum::routing::post(lifecycle::remote_write),
        )
        .route("/federate", get(federate::federate))
        .route_layer(middleware::from_fn_with_state(api.clone(), readiness_gate));
    let open = Router::new()
        .route(
            "/-/healthy",
            get(lifecycle::healthy).head(lifecycle::healthy),
        )
        .route("/-/ready", get(lifecycle::ready).head(lifecycle::ready))
        .route("/-/reload", any(lifecycle::reload))
        .route("/metrics", get(lifecycle::metrics))
        .route("/version", get(status::version));
    gated
        .merge(open)
        .route_layer(middleware::from_fn_with_state(api.clone(), track_requests))
        .with_state(api)
}

/// Wraps the complete router with the cross-cutting layers: CORS on
/// `/api/v1/*` and gzip when the client accepts it.
pub fn finish(router: Router) -> Router {
    router
        .layer(middleware::from_fn(cors))
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
}
