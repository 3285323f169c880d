//! `/alerts` (GET, POST) and `/alerts/groups`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde_json::{json, Value};

use super::{
    api_time, bool_param, error_code, error_string, json_response, parse_api_time, query_pairs,
    require_json,
};
use crate::alert::{zero_time, Alert};
use crate::app::{AlertStatus, Alertmanager};
use crate::labels::LabelSet;
use crate::matchers::{parse_matcher, MatchType, Matcher};

/// The API's filter semantics: `name=""` also matches an absent label,
/// `name!=""` only a present one.
pub fn matches_filter(matchers: &[Matcher], labels: &LabelSet) -> bool {
    matchers.iter().all(|m| {
        let v = labels.get(&m.name);
        match m.ty {
            MatchType::NotEqual | MatchType::NotRegexp if m.value.is_empty() && v.is_some() => true,
            MatchType::Equal | MatchType::Regexp if m.value.is_empty() && v.is_none() => true,
            _ => m.matches(v.map(String::as_str).unwrap_or("")),
        }
    })
}

pub(super) struct Filters {
    pub matchers: Vec<Matcher>,
    pub receiver: Option<regex::Regex>,
    pub active: bool,
    pub silenced: bool,
    pub inhibited: bool,
    pub muted: bool,
}

pub(super) fn parse_filters(am: &Alertmanager, q: Option<&str>) -> Result<Filters, Response> {
    let pairs = query_pairs(q);
    let mode = am.config().map(|c| c.mode).unwrap_or_default();
    let mut matchers = Vec::new();
    for (k, v) in &pairs {
        if k == "filter" {
            matchers.push(
                parse_matcher(v, mode).map_err(|e| error_string(StatusCode::BAD_REQUEST, &e.0))?,
            );
        }
    }
    let receiver = match pairs.iter().rev().find(|(k, _)| k == "receiver") {
        Some((_, r)) if !r.is_empty() => {
            Some(regex::Regex::new(&format!("^(?:{r})$")).map_err(|e| {
                error_string(
                    StatusCode::BAD_REQUEST,
                    &format!("failed to parse receiver param: {e}"),
                )
            })?)
        }
        _ => None,
    };
    Ok(Filters {
        matchers,
        receiver,
        active: bool_param(&pairs, "active", true),
        silenced: bool_param(&pairs, "silenced", true),
        inhibited: bool_param(&pairs, "inhibited", true),
        muted: bool_param(&pairs, "muted", true),
    })
}

fn passes(f: &Filters, a: &Alert, st: &AlertStatus) -> bool {
    if !f.active && st.state() == "active" {
        return false;
    }
    if !f.silenced && !st.silenced_by.is_empty() {
        return false;
    }
    if !f.inhibited && !st.inhibited_by.is_empty() {
        return false;
    }
    matches_filter(&f.matchers, &a.labels)
}

/// The gettable-alert JSON.
pub fn alert_json(a: &Alert, st: &AlertStatus, receivers: &[String], muted_by: &[String]) -> Value {
    let mut v = json!({
        "annotations": a.annotations,
        "endsAt": api_time(&a.ends_at),
        "fingerprint": a.fingerprint().to_string(),
        "receivers": receivers.iter().map(|r| json!({"name": r})).collect::<Vec<_>>(),
        "startsAt": api_time(&a.starts_at),
        "status": {
            "inhibitedBy": st.inhibited_by,
            "silencedBy": st.silenced_by,
            "mutedBy": muted_by,
            "state": st.state(),
        },
        "updatedAt": api_time(&a.updated_at),
        "labels": a.labels,
    });
    if !a.generator_url.is_empty() {
        v["generatorURL"] = json!(a.generator_url);
    }
    v
}

pub(super) async fn get_alerts(am: Arc<Alertmanager>, q: Option<&str>) -> Response {
    let f = match parse_filters(&am, q) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some(rt) = am.runtime() else {
        return json_response(StatusCode::OK, &json!([]));
    };
    let now = Utc::now();
    let mut alerts = am.core.store.list();
    alerts.sort_by_key(|a| a.fingerprint().to_string());
    let mut out = Vec::new();
    for a in alerts {
        let receivers: Vec<String> = rt
            .route
            .matches(&a.labels)
            .iter()
            .map(|r| r.opts.receiver.clone())
            .collect();
        if let Some(re) = &f.receiver {
            if !receivers.iter().any(|r| re.is_match(r)) {
                continue;
            }
        }
        if !matches_filter(&f.matchers, &a.labels) || a.resolved_at(now) {
            continue;
        }
        let st = am.alert_status(&a, now);
        if !passes(&f, &a, &st) {
            continue;
        }
        out.push(alert_json(&a, &st, &receivers, &[]));
    }
    json_response(StatusCode::OK, &Value::Array(out))
}

pub(super) async fn get_groups(am: Arc<Alertmanager>, q: Option<&str>) -> Response {
    let f = match parse_filters(&am, q) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some(rt) = am.runtime() else {
        return json_response(StatusCode::OK, &json!([]));
    };
    let now = Utc::now();
    let pipeline = rt.dispatcher.pipeline().clone();
    struct G {
        labels: LabelSet,
        receiver: String,
        alerts: Vec<Alert>,
        muted_by: Vec<String>,
    }
    let mut groups = Vec::new();
    let mut receivers_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for g in rt.dispatcher.groups() {
        if let Some(re) = &f.receiver {
            if !re.is_match(&g.opts.receiver) {
                continue;
            }
        }
        let muted_by = pipeline.time_muted(
            &g.opts.active_time_intervals,
            &g.opts.mute_time_intervals,
            now,
        );
        if !f.muted && !muted_by.is_empty() {
            continue;
        }
        let mut alerts = Vec::new();
        for a in g.alerts() {
            if a.resolved_at(now) {
                continue;
            }
            let st = am.alert_status(&a, now);
            if !passes(&f, &a, &st) {
                continue;
            }
            receivers_of
                .entry(a.fingerprint().to_string())
                .or_default()
                .push(g.opts.receiver.clone());
            alerts.push(a);
        }
        if alerts.is_empty() {
            continue;
        }
        alerts.sort_by(crate::alert::notification_order);
        groups.push(G {
            labels: g.labels.clone(),
            receiver: g.opts.receiver.clone(),
            alerts,
            muted_by,
        });
    }
    for r in receivers_of.values_mut() {
        r.sort();
    }
    groups.sort_by(|a, b| {
        if a.labels == b.labels {
            a.receiver.cmp(&b.receiver)
        } else {
            labels_order(&a.labels, &b.labels)
        }
    });
    let out: Vec<Value> = groups
        .iter()
        .map(|g| {
            let alerts: Vec<Value> = g
                .alerts
                .iter()
                .map(|a| {
                    let st = am.alert_status(a, now);
                    let recv = receivers_of
                        .get(&a.fingerprint().to_string())
                        .cloned()
                        .unwrap_or_default();
                    alert_json(a, &st, &recv, &g.muted_by)
                })
                .collect();
            json!({"alerts": alerts, "labels": g.labels, "receiver": {"name": g.receiver}})
        })
        .collect();
    json_response(StatusCode::OK, &Value::Array(out))
}

/// Prometheus' `LabelSet.Before`: fewer labels first, then by value over
/// the sorted union of names.
fn labels_order(a: &LabelSet, b: &LabelSet) -> std::cmp::Ordering {
    if a.len() != b.len() {
        return a.len().cmp(&b.len());
    }
    let mut names: Vec<&String> = a.keys().chain(b.keys()).collect();
    names.sort();
    for n in names {
        match (a.get(n), b.get(n)) {
            (None, _) => return std::cmp::Ordering::Less,
            (_, None) => return std::cmp::Ordering::Greater,
            (Some(p), Some(q)) if p != q => return p.cmp(q),
            _ => {}
        }
    }
    std::cmp::Ordering::Equal
}

/// Validates a posted alert like Alertmanager (`types.Alert.Validate`).
pub fn validate_alert(a: &Alert, classic: bool) -> Result<(), String> {
    if crate::alert::is_zero(&a.starts_at) {
        return Err("start time missing".into());
    }
    if !crate::alert::is_zero(&a.ends_at) && a.ends_at < a.starts_at {
        return Err("start time must be before end time".into());
    }
    let name_ok = |n: &str| {
        if classic {
            crate::labels::is_classic_label_name(n)
        } else {
            !n.is_empty()
        }
    };
    for k in a.labels.keys() {
        if !name_ok(k) {
            return Err(format!(
                "invalid label set: invalid name {}",
                crate::labels::go_quote(k)
            ));
        }
    }
    if a.labels.is_empty() {
        return Err("at least one label pair required".into());
    }
    for k in a.annotations.keys() {
        if !name_ok(k) {
            return Err(format!(
                "invalid annotations: invalid name {}",
                crate::labels::go_quote(k)
            ));
        }
    }
    Ok(())
}

fn string_map(v: &Value, idx: usize, field: &str) -> Result<LabelSet, Response> {
    match v {
        Value::Null => Ok(LabelSet::new()),
        Value::Object(m) => {
            let mut out = LabelSet::new();
            for (k, v) in m {
                match v {
                    Value::String(s) => {
                        out.insert(k.clone(), s.clone());
                    }
                    other => {
                        return Err(error_code(
                            StatusCode::BAD_REQUEST,
                            400,
                            &format!(
                                "parsing alerts body from \"\" failed, because json: cannot unmarshal {} into Go struct field Alert.{field} of type string",
                                json_kind(other)
                            ),
                        ))
                    }
                }
            }
            let _ = idx;
            Ok(out)
        }
        other => Err(error_code(
            StatusCode::BAD_REQUEST,
            400,
            &format!(
                "parsing alerts body from \"\" failed, because json: cannot unmarshal {} into Go struct field Alert.{field} of type models.LabelSet",
                json_kind(other)
            ),
        )),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_uri(s: &str) -> bool {
    reqwest::Url::parse(s).is_ok() || s.starts_with('/')
}

/// Decodes a postable-alerts body into alerts (before defaults).
pub(super) fn decode_alerts(body: &[u8]) -> Result<Vec<Alert>, Response> {
    let decode_err = |m: String| {
        error_code(
            StatusCode::BAD_REQUEST,
            400,
            &format!("parsing alerts body from \"\" failed, because {m}"),
        )
    };
    let v: Value = serde_json::from_slice(body).map_err(|e| decode_err(e.to_string()))?;
    let Value::Array(items) = v else {
        return Err(decode_err(format!(
            "json: cannot unmarshal {} into Go value of type models.PostableAlerts",
            json_kind(&v)
        )));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::Object(obj) = item else {
            return Err(decode_err(format!(
                "json: cannot unmarshal {} into Go value of type models.PostableAlert",
                json_kind(item)
            )));
        };
        let labels = match obj.get("labels") {
            None | Some(Value::Null) => {
                return Err(error_code(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    602,
                    &format!("{i}.labels in body is required"),
                ))
            }
            Some(l) => string_map(l, i, "labels")?,
        };
        let annotations = string_map(
            obj.get("annotations").unwrap_or(&Value::Null),
            i,
            "annotations",
        )?;
        let time_field = |name: &str| -> Result<chrono::DateTime<Utc>, Response> {
            match obj.get(name) {
                None | Some(Value::Null) => Ok(zero_time()),
                Some(Value::String(s)) if s.is_empty() => Ok(zero_time()),
                Some(Value::String(s)) => parse_api_time(s).map_err(decode_err),
                Some(other) => Err(decode_err(format!(
                    "json: cannot unmarshal {} into a date-time",
                    json_kind(other)
                ))),
            }
        };
        let starts_at = time_field("startsAt")?;
        let ends_at = time_field("endsAt")?;
        let generator_url = match obj.get("generatorURL") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => {
                if !s.is_empty() && !is_uri(s) {
                    return Err(error_code(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        601,
                        &format!("{i}.generatorURL in body must be of type uri: {s:?}"),
                    ));
                }
                s.clone()
            }
            Some(other) => {
                return Err(decode_err(format!(
                    "json: cannot unmarshal {} into Go struct field PostableAlert.generatorURL of type strfmt.URI",
                    json_kind(other)
                )))
            }
        };
        out.push(Alert {
            labels,
            annotations,
            starts_at,
            ends_at,
            generator_url,
            updated_at: zero_time(),
            timeout: false,
        });
    }
    Ok(out)
}

pub(super) async fn post_alerts(
    am: Arc<Alertmanager>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = require_json(&headers) {
        return r;
    }
    let mut alerts = match decode_alerts(&body) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let now = Utc::now();
    let classic = am.config().map(|c| c.mode.classic_names()).unwrap_or(false);
    let mut valid = Vec::with_capacity(alerts.len());
    let mut errors = Vec::new();
    for a in &mut alerts {
        am.default_alert(a, now);
        am.core.metrics.alert_received(a.ends_at > Utc::now());
    }
    for mut a in alerts {
        a.labels.retain(|_, v| !v.is_empty());
        match validate_alert(&a, classic) {
            Ok(()) => valid.push(a),
            Err(e) => {
                am.core.metrics.alert_invalid();
                errors.push(e);
            }
        }
    }
    am.put_alerts(valid);
    if !errors.is_empty() {
        let msg = errors.join("; ");
        tracing::error!(error = %msg, "failed to validate alerts");
        return error_string(StatusCode::BAD_REQUEST, &msg);
    }
    Response::builder()
        .status(StatusCode::OK)
        .body(axum::body::Body::empty())
        .unwrap_or_else(|_| axum::response::IntoResponse::into_response(StatusCode::OK))
}
