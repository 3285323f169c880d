//! Alertmanager's API v2 as an `axum::Router` (mount it at `/api/v2`), plus
//! the operational endpoints (`/-/healthy`, `/-/ready`, `/-/reload`,
//! `/metrics`) for standalone use.
//!
//! Status codes and error bodies follow Alertmanager: 415 for a non-JSON
//! body, 400 `{"code":400,"message":…}` for undecodable JSON, 422
//! `{"code":6xx,"message":…}` for schema violations, and handler errors as a
//! bare JSON string.

mod alerts;
mod silences;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::app::Alertmanager;

/// Formats a time like go-openapi's `strfmt.DateTime` (milliseconds, `Z`).
pub fn api_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Parses an API timestamp (RFC 3339, optional fraction); Go's zero time
/// string maps to the zero time.
pub fn parse_api_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("parsing time {s:?}: {e}"))
}

pub(crate) fn json_response(status: StatusCode, v: &serde_json::Value) -> Response {
    let mut body = v.to_string();
    body.push('\n');
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// A handler error: a bare JSON string.
pub(crate) fn error_string(status: StatusCode, msg: &str) -> Response {
    json_response(status, &json!(msg))
}

/// A swagger-level error: `{"code":N,"message":…}`.
pub(crate) fn error_code(status: StatusCode, code: u16, msg: &str) -> Response {
    let body = json!({"code": code, "message": msg}).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Rejects bodies that are not JSON like go-openapi does.
pub(crate) fn require_json(headers: &HeaderMap) -> Result<(), Response> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media == "application/json" {
        return Ok(());
    }
    let shown = if media.is_empty() {
        "application/octet-stream".to_string()
    } else {
        media
    };
    Err(error_code(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        415,
        &format!("unsupported media type {shown:?}, only [application/json] are allowed"),
    ))
}

/// Parses the repeated query parameters of a request.
pub(crate) fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Go-openapi's boolean query parsing: default when absent; truthy words
/// are true, anything else false.
pub(crate) fn bool_param(pairs: &[(String, String)], name: &str, default: bool) -> bool {
    match pairs.iter().rev().find(|(k, _)| k == name) {
        None => default,
        Some((_, v)) => matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "1" | "yes" | "ok" | "y" | "on" | "selected" | "checked" | "t" | "enabled"
        ),
    }
}

async fn status(am: Arc<Alertmanager>) -> Response {
    let original = am.config().map(|c| c.original.clone()).unwrap_or_default();
    json_response(
        StatusCode::OK,
        &json!({
            "cluster": {"peers": [], "status": "disabled"},
            "config": {"original": original},
            "uptime": api_time(&am.started),
            "versionInfo": {
                "branch": "lookout",
                "buildDate": "",
                "buildUser": "lookout",
                "goVersion": "rust",
                "revision": env!("CARGO_PKG_VERSION"),
                "version": am.opts.version,
            }
        }),
    )
}

async fn receivers(am: Arc<Alertmanager>) -> Response {
    let list: Vec<serde_json::Value> = am
        .config()
        .map(|c| {
            c.config
                .receivers
                .iter()
                .map(|r| json!({"name": r.name.clone().unwrap_or_default()}))
                .collect()
        })
        .unwrap_or_default();
    json_response(StatusCode::OK, &serde_json::Value::Array(list))
}

/// The API v2 routes, to be nested at `/api/v2`.
pub fn router(am: Arc<Alertmanager>) -> Router {
    let a = am.clone();
    let b = am.clone();
    let c = am.clone();
    let d = am.clone();
    let e = am.clone();
    let f = am.clone();
    let g = am.clone();
    let h = am.clone();
    let i = am.clone();
    let alerts_get = move |uri: axum::http::Uri| {
        let am = a.clone();
        async move { alerts::get_alerts(am, uri.query()).await }
    };
    let alerts_post = move |headers: HeaderMap, body: axum::body::Bytes| {
        let am = b.clone();
        async move { alerts::post_alerts(am, headers, body).await }
    };
    let groups_get = move |uri: axum::http::Uri| {
        let am = c.clone();
        async move { alerts::get_groups(am, uri.query()).await }
    };
    let silences_get = move |uri: axum::http::Uri| {
        let am = d.clone();
        async move { silences::get_silences(am, uri.query()).await }
    };
    let silences_post = move |headers: HeaderMap, body: axum::body::Bytes| {
        let am = e.clone();
        async move { silences::post_silence(am, headers, body).await }
    };
    let silence_get = move |axum::extract::Path(id): axum::extract::Path<String>| {
        let am = f.clone();
        async move { silences::get_silence(am, id).await }
    };
    let silence_delete = move |axum::extract::Path(id): axum::extract::Path<String>| {
        let am = g.clone();
        async move { silences::delete_silence(am, id).await }
    };
    let status_get = move || {
        let am = h.clone();
        async move { status(am).await }
    };
    let receivers_get = move || {
        let am = i.clone();
        async move { receivers(am).await }
    };
    Router::new()
        .route("/status", get(status_get))
        .route("/receivers", get(receivers_get))
        .route("/alerts", get(alerts_get.clone()).post(alerts_post.clone()))
        // Flux posts to the slashed path; Alertmanager accepts both.
        .route("/alerts/", get(alerts_get).post(alerts_post))
        .route("/alerts/groups", get(groups_get))
        .route("/silences", get(silences_get).post(silences_post))
        .route("/silence/{id}", get(silence_get).delete(silence_delete))
}

/// `/-/healthy`, `/-/ready`, `/-/reload` and `/metrics` for the standalone
/// server.
pub fn ops_router(am: Arc<Alertmanager>) -> Router {
    let ok = || async {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "OK",
        )
    };
    let r = am.clone();
    let m = am.clone();
    Router::new()
        .route("/-/healthy", get(ok).head(|| async { StatusCode::OK }))
        .route("/-/ready", get(ok).head(|| async { StatusCode::OK }))
        .route(
            "/-/reload",
            post(move || {
                let am = r.clone();
                async move {
                    match am.reload().await {
                        Ok(()) => StatusCode::OK.into_response(),
                        Err(e) => (
                            StatusCode::INTERNAL_SERVER_ERROR,
                            format!("failed to reload config: {e}"),
                        )
                            .into_response(),
                    }
                }
            })
            .put(|| async { StatusCode::METHOD_NOT_ALLOWED }),
        )
        .route(
            "/metrics",
            get(move || {
                let am = m.clone();
                async move {
                    Response::builder()
                        .header(
                            header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )
                        .body(Body::from(am.metrics_text()))
                        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
                }
            }),
        )
}

/// API v2 nested at `/api/v2` plus the operational endpoints.
pub fn standalone_router(am: Arc<Alertmanager>) -> Router {
    Router::new()
        .nest("/api/v2", router(am.clone()))
        .merge(ops_router(am))
}
