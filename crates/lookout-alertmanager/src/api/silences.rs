//! `/silences` and `/silence/{id}`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{json, Value};

use super::{
    api_time, error_code, error_string, json_response, parse_api_time, query_pairs, require_json,
};
use crate::app::Alertmanager;
use crate::matchers::{parse_matcher, MatchType, Matcher};
use crate::silence::{Silence, SilenceError, SilenceState};

/// The gettable-silence JSON.
pub fn silence_json(s: &Silence, now: chrono::DateTime<Utc>) -> Value {
    json!({
        "id": s.id,
        "status": {"state": s.state(now).as_str()},
        "updatedAt": api_time(&s.updated_at),
        "comment": s.comment,
        "createdBy": s.created_by,
        "endsAt": api_time(&s.ends_at),
        "matchers": s.matchers.iter().map(|m| json!({
            "isEqual": !m.ty.is_negative(),
            "isRegex": m.ty.is_regex(),
            "name": m.name,
            "value": m.value,
        })).collect::<Vec<_>>(),
        "startsAt": api_time(&s.starts_at),
    })
}

fn state_rank(s: SilenceState) -> u8 {
    match s {
        SilenceState::Active => 0,
        SilenceState::Pending => 1,
        SilenceState::Expired => 2,
    }
}

/// Whether a silence contains, for every filter matcher, a matcher with the
/// same name, operator and value.
fn silence_has_matchers(s: &Silence, filters: &[Matcher]) -> bool {
    filters.iter().all(|f| {
        s.matchers
            .iter()
            .any(|m| m.name == f.name && m.ty == f.ty && m.value == f.value)
    })
}

pub(super) async fn get_silences(am: Arc<Alertmanager>, q: Option<&str>) -> Response {
    let mode = am.config().map(|c| c.mode).unwrap_or_default();
    let mut filters = Vec::new();
    for (k, v) in query_pairs(q) {
        if k == "filter" {
            match parse_matcher(&v, mode) {
                Ok(m) => filters.push(m),
                Err(e) => return error_string(StatusCode::BAD_REQUEST, &e.0),
            }
        }
    }
    let now = Utc::now();
    let mut sils: Vec<Silence> = am
        .core
        .silences
        .list()
        .into_iter()
        .filter(|s| silence_has_matchers(s, &filters))
        .collect();
    sils.sort_by(|a, b| {
        let (sa, sb) = (a.state(now), b.state(now));
        if sa != sb {
            return state_rank(sa).cmp(&state_rank(sb));
        }
        match sa {
            SilenceState::Active => a.ends_at.cmp(&b.ends_at),
            SilenceState::Pending => a.starts_at.cmp(&b.starts_at),
            SilenceState::Expired => b.ends_at.cmp(&a.ends_at),
        }
    });
    json_response(
        StatusCode::OK,
        &Value::Array(sils.iter().map(|s| silence_json(s, now)).collect()),
    )
}

fn check_uuid(id: &str) -> Result<(), Response> {
    uuid::Uuid::parse_str(id).map(|_| ()).map_err(|_| {
        error_code(
            StatusCode::UNPROCESSABLE_ENTITY,
            601,
            &format!("silenceID in path must be of type uuid: {id:?}"),
        )
    })
}

pub(super) async fn get_silence(am: Arc<Alertmanager>, id: String) -> Response {
    if let Err(r) = check_uuid(&id) {
        return r;
    }
    match am.core.silences.get(&id) {
        Some(s) => json_response(StatusCode::OK, &silence_json(&s, Utc::now())),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub(super) async fn delete_silence(am: Arc<Alertmanager>, id: String) -> Response {
    if let Err(r) = check_uuid(&id) {
        return r;
    }
    match am.core.silences.expire(&id, Utc::now()) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(SilenceError::NotFound) => error_string(StatusCode::NOT_FOUND, "silence not found"),
        Err(e) => error_string(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn required<'a>(
    obj: &'a serde_json::Map<String, Value>,
    field: &str,
) -> Result<&'a Value, Response> {
    match obj.get(field) {
        None | Some(Value::Null) => Err(error_code(
            StatusCode::UNPROCESSABLE_ENTITY,
            602,
            &format!("{field} in body is required"),
        )),
        Some(v) => Ok(v),
    }
}

fn decode_err(m: impl std::fmt::Display) -> Response {
    error_code(
        StatusCode::BAD_REQUEST,
        400,
        &format!("parsing silence body from \"\" failed, because {m}"),
    )
}

pub(super) async fn post_silence(
    am: Arc<Alertmanager>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = require_json(&headers) {
        return r;
    }
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return decode_err(e),
    };
    let Value::Object(obj) = v else {
        return decode_err("json: cannot unmarshal into Go value of type models.PostableSilence");
    };
    let parse = || -> Result<Silence, Response> {
        let text = |field: &str| -> Result<String, Response> {
            match required(&obj, field)? {
                Value::String(s) => Ok(s.clone()),
                _ => Err(decode_err(format!(
                    "json: cannot unmarshal {field} into string"
                ))),
            }
        };
        let comment = text("comment")?;
        let created_by = text("createdBy")?;
        let starts_at = parse_api_time(&text("startsAt")?).map_err(decode_err)?;
        let ends_at = parse_api_time(&text("endsAt")?).map_err(decode_err)?;
        let Value::Array(ms) = required(&obj, "matchers")? else {
            return Err(decode_err("json: matchers must be an array"));
        };
        if ms.is_empty() {
            return Err(error_code(
                StatusCode::UNPROCESSABLE_ENTITY,
                612,
                "matchers in body should have at least 1 items",
            ));
        }
        let mode = am.config().map(|c| c.mode).unwrap_or_default();
        let mut matchers = Vec::new();
        for (i, m) in ms.iter().enumerate() {
            let Value::Object(mo) = m else {
                return Err(decode_err("json: matcher must be an object"));
            };
            let get_s = |f: &str| -> Result<String, Response> {
                match mo.get(f) {
                    Some(Value::String(s)) => Ok(s.clone()),
                    None | Some(Value::Null) => Err(error_code(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        602,
                        &format!("matchers.{i}.{f} in body is required"),
                    )),
                    Some(_) => Err(decode_err(format!(
                        "json: matchers.{i}.{f} must be a string"
                    ))),
                }
            };
            let name = get_s("name")?;
            let value = get_s("value")?;
            let is_regex = match mo.get("isRegex") {
                Some(Value::Bool(b)) => *b,
                None | Some(Value::Null) => {
                    return Err(error_code(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        602,
                        &format!("matchers.{i}.isRegex in body is required"),
                    ))
                }
                Some(_) => return Err(decode_err("json: isRegex must be a boolean")),
            };
            let is_equal = mo.get("isEqual").and_then(Value::as_bool).unwrap_or(true);
            if !mode.valid_label_name(&name) {
                return Err(error_string(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "silence invalid: invalid label matcher {i}: invalid label name {name:?}"
                    ),
                ));
            }
            let ty = MatchType::from_flags(is_regex, is_equal);
            let m = Matcher::new(ty, name, value.clone()).map_err(|e| {
                let detail = e.0.split_once(": `").map(|(a, _)| a).unwrap_or(&e.0).to_string();
                error_string(
                    StatusCode::BAD_REQUEST,
                    &format!("silence invalid: invalid label matcher {i}: invalid regular expression {value:?}: {detail}: `{value}`"),
                )
            })?;
            matchers.push(m);
        }
        let id = match obj.get("id") {
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        Ok(Silence {
            id,
            matchers,
            starts_at,
            ends_at,
            updated_at: Utc::now(),
            created_by,
            comment,
        })
    };
    let sil = match parse() {
        Ok(s) => s,
        Err(r) => return r,
    };
    let now = Utc::now();
    if sil.starts_at >= sil.ends_at {
        return error_string(
            StatusCode::BAD_REQUEST,
            "Failed to create silence: start time must be before end time",
        );
    }
    if sil.ends_at < now {
        return error_string(
            StatusCode::BAD_REQUEST,
            "Failed to create silence: end time can't be in the past",
        );
    }
    match am.core.silences.set(sil, now) {
        Ok(id) => json_response(StatusCode::OK, &json!({"silenceID": id})),
        Err(SilenceError::NotFound) => error_string(StatusCode::NOT_FOUND, "silence not found"),
        Err(SilenceError::Invalid(m)) => {
            error_string(StatusCode::BAD_REQUEST, &format!("silence invalid: {m}"))
        }
        Err(e) => error_string(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}
