//! `/-/healthy`, `/-/ready`, `/-/reload`, `/metrics` and the remote-write
//! route glue.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::remote_write::{self, text_error};
use crate::Api;

/// Reloads the configuration; the server implements it.
pub trait Reloader: Send + Sync + 'static {
    /// Re-reads and applies the configuration. On error the old
    /// configuration keeps running and the error says why.
    fn reload(&self) -> Result<(), String>;
}

fn text(status: StatusCode, body: &'static str) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// `GET|HEAD /-/healthy`.
pub async fn healthy() -> Response {
    text(StatusCode::OK, "Prometheus Server is Healthy.\n")
}

/// The 503 answer while not ready.
pub fn not_ready(stopping: bool) -> Response {
    let mut r = text(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
    r.headers_mut().insert(
        "X-Prometheus-Stopping",
        HeaderValue::from_static(if stopping { "true" } else { "false" }),
    );
    r
}

/// `GET|HEAD /-/ready`.
pub async fn ready(State(api): State<Arc<Api>>) -> Response {
    if api.ready.load(Ordering::Relaxed) {
        text(StatusCode::OK, "Prometheus Server is Ready.\n")
    } else {
        not_ready(api.stopping.load(Ordering::Relaxed))
    }
}

/// `/-/reload`: POST or PUT reloads (when the lifecycle API is enabled).
pub async fn reload(State(api): State<Arc<Api>>, method: Method) -> Response {
    if method != Method::POST && method != Method::PUT {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "Only POST or PUT requests allowed",
        );
    }
    if !api.settings.enable_lifecycle {
        return text(StatusCode::FORBIDDEN, "Lifecycle API is not enabled.");
    }
    let Some(reloader) = api.reloader.clone() else {
        return text_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "failed to reload config: no configuration source",
        );
    };
    match tokio::task::spawn_blocking(move || reloader.reload()).await {
        Ok(Ok(())) => StatusCode::OK.into_response(),
        Ok(Err(e)) => text_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("failed to reload config: {e}"),
        ),
        Err(e) => text_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("failed to reload config: {e}"),
        ),
    }
}

/// `GET /metrics`: lookout's own metrics in the text format 0.0.4.
pub async fn metrics(State(api): State<Arc<Api>>) -> Response {
    let registry = api.registry.clone();
    let body = tokio::task::spawn_blocking(move || registry.render())
        .await
        .unwrap_or_default();
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// `POST /api/v1/write`.
pub async fn remote_write(State(api): State<Arc<Api>>, req: Request) -> Response {
    let (parts, body): (_, Body) = req.into_parts();
    if let Err(e) = remote_write::check_headers(&parts.headers) {
        api.metrics.remote_write_requests.with(&["415"]).inc();
        return e.into_response();
    }
    let bytes = match remote_write::read_limited(body, api.settings.max_write_body_bytes).await {
        Ok(b) => b,
        Err(e) => {
            api.metrics
                .remote_write_requests
                .with(&[e.status.as_str()])
                .inc();
            return e.into_response();
        }
    };
    let sink = api.sink.clone();
    let limits = api.settings.write_limits;
    let res =
        tokio::task::spawn_blocking(move || remote_write::handle_body(&bytes, &*sink, limits))
            .await;
    let (resp, outcome) = match res {
        Ok(r) => r,
        Err(e) => (
            text_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            None,
        ),
    };
    let m = &api.metrics;
    m.remote_write_requests
        .with(&[resp.status().as_str()])
        .inc();
    if let Some(o) = outcome {
        m.remote_write_samples.inc_by(o.samples_written as f64);
        m.remote_write_histograms
            .inc_by(o.histograms_written as f64);
        m.remote_write_rejected.inc_by(o.samples_rejected as f64);
        m.remote_write_invalid_series
            .inc_by(o.series_invalid as f64);
    }
    resp
}
