//! `GET /federate`: the latest sample of every series matching `match[]`, in
//! the text exposition format, with external labels attached (and an empty
//! `instance` label when none is configured, so federating servers with
//! `honor_labels` keep the series' own `instance`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use lookout_metrics::gofloat;
use lookout_model::storage::SelectHints;
use lookout_model::{is_stale_nan, Labels};

use crate::params::{now_ms, Params};
use crate::remote_write::text_error;
use crate::Api;

fn escape_value(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Writes one sample line: `name{a="b",…} value timestamp`.
fn write_line(out: &mut String, name: &str, labels: &[(&str, &str)], v: f64, t: i64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (n, val)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(n);
            out.push_str("=\"");
            escape_value(val, out);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    gofloat::write_go_g(v, out);
    out.push(' ');
    out.push_str(&t.to_string());
    out.push('\n');
}

/// `GET /federate`.
pub async fn federate(State(api): State<Arc<Api>>, p: Params) -> Response {
    let mut sets = Vec::new();
    for s in p.get_all("match[]") {
        match api.engine.parse_selector(s) {
            Ok(ms) => sets.push(ms),
            Err(e) => return text_error(StatusCode::BAD_REQUEST, &e.message),
        }
    }
    let now = now_ms();
    let lookback = api.settings.lookback_delta_ms;
    let q = api.querier.clone();
    let external = api.status.read().external_labels.clone();
    let res = tokio::task::spawn_blocking(move || {
        let hints = SelectHints {
            mint: now - lookback,
            maxt: now,
            labels_only: false,
            limit: 0,
        };
        // Latest float sample per series; series ordered by name then labels.
        let mut latest: BTreeMap<(String, Labels), (i64, f64)> = BTreeMap::new();
        for ms in &sets {
            for s in q.select(ms, &hints)? {
                let s = s?;
                let Some(last) = s.floats.last() else {
                    continue;
                };
                if is_stale_nan(last.v) {
                    continue;
                }
                // A newer histogram sample would hide the float one in PromQL.
                if s.histograms.last().is_some_and(|h| h.t > last.t) {
                    continue;
                }
                let name = s.labels.metric_name().unwrap_or("").to_string();
                latest.insert((name, s.labels), (last.t, last.v));
            }
        }
        Ok::<_, lookout_model::storage::StorageError>(latest)
    })
    .await;
    let latest = match res {
        Ok(Ok(l)) => l,
        Ok(Err(e)) => return text_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        Err(e) => return text_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let mut ext: Vec<(String, String)> = external
        .iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect();
    if !ext.iter().any(|(n, _)| n == "instance") {
        ext.push(("instance".into(), String::new()));
    }
    let mut out = String::new();
    let mut current: Option<&str> = None;
    for ((name, labels), (t, v)) in &latest {
        if name.is_empty() {
            continue;
        }
        if current != Some(name.as_str()) {
            out.push_str("# TYPE ");
            out.push_str(name);
            out.push_str(" untyped\n");
            current = Some(name.as_str());
        }
        let mut pairs: Vec<(&str, &str)> = labels
            .iter()
            .filter(|l| l.name != lookout_model::METRIC_NAME)
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        for (n, val) in &ext {
            if !labels.has(n) {
                pairs.push((n.as_str(), val.as_str()));
            }
        }
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        write_line(&mut out, name, &pairs, *v, *t);
    }
    let mut resp = (StatusCode::OK, out).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}
