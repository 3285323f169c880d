//! The `data` payloads of Prometheus' `GET /api/v1/rules` and
//! `GET /api/v1/alerts`, built from the manager's groups: field names,
//! number and time formats as Prometheus (and Grafana's typed decoder)
//! expect them. The HTTP layer wraps them in the usual envelope.

use std::collections::BTreeMap;

use lookout_model::matcher::Matcher;
use serde_json::{json, Map, Value as Json};

use crate::group::Group;
use crate::rule::{Alert, AlertState, Rule};

/// A request error: `bad_data` with Prometheus' message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

/// Query parameters of `/api/v1/rules` (already split into values; `[]`
/// and plain spellings merged by the caller).
#[derive(Clone, Debug, Default)]
pub struct RulesQuery {
    /// `type`: `alert` or `record`.
    pub rule_type: Option<String>,
    /// `rule_name[]`.
    pub rule_names: Vec<String>,
    /// `rule_group[]`.
    pub rule_groups: Vec<String>,
    /// `file[]`.
    pub files: Vec<String>,
    /// `match[]` label selectors against rule labels.
    pub matchers: Vec<String>,
    /// `exclude_alerts`.
    pub exclude_alerts: bool,
    /// `group_limit` (0 = none).
    pub group_limit: usize,
    /// `group_next_token`.
    pub group_next_token: Option<String>,
}

/// Go's RFC 3339 with nanoseconds (trailing zeros trimmed), UTC; `None` is
/// Go's zero time.
pub fn rfc3339(ms: Option<i64>) -> String {
    match ms {
        None => "0001-01-01T00:00:00Z".into(),
        Some(ms) => lookout_template::gotime::Time::from_unix_millis(ms)
            .format("2006-01-02T15:04:05.999999999Z07:00"),
    }
}

/// A float as Go's JSON encoder writes it: whole numbers without a
/// fraction (`60`, not `60.0`).
pub fn go_json_float(v: f64) -> Json {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

/// `strconv.FormatFloat(v, 'e', -1, 64)`, the alert value format.
pub fn alert_value(v: f64) -> String {
    lookout_template::fmt::format_float(v, 'e', -1)
}

fn string_map<'a>(it: impl Iterator<Item = (&'a str, &'a str)>) -> Json {
    let m: Map<String, Json> = it
        .map(|(k, v)| (k.to_string(), Json::String(v.to_string())))
        .collect();
    Json::Object(m)
}

/// One alert as `/api/v1/alerts` and `/api/v1/rules` show it.
pub fn alert_json(a: &Alert) -> Json {
    let mut o = Map::new();
    o.insert(
        "labels".into(),
        string_map(a.labels.iter().map(|l| (l.name.as_str(), l.value.as_str()))),
    );
    o.insert(
        "annotations".into(),
        string_map(a.annotations.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    );
    o.insert("state".into(), json!(a.state.as_str()));
    o.insert("activeAt".into(), json!(rfc3339(Some(a.active_at))));
    if a.keep_firing_since != 0 {
        o.insert(
            "keepFiringSince".into(),
            json!(rfc3339(Some(a.keep_firing_since))),
        );
    }
    o.insert("value".into(), json!(alert_value(a.value)));
    Json::Object(o)
}

fn active(alerts: Vec<Alert>) -> Vec<Alert> {
    alerts
        .into_iter()
        .filter(|a| a.state != AlertState::Inactive)
        .collect()
}

/// `data` of `/api/v1/alerts`: every pending and firing alert.
pub fn alerts_data(groups: &[std::sync::Arc<Group>]) -> Json {
    let mut alerts = Vec::new();
    for g in groups {
        for r in &g.rules {
            if let Rule::Alerting(ar) = &**r {
                alerts.extend(active(ar.alerts()).iter().map(alert_json));
            }
        }
    }
    json!({ "alerts": alerts })
}

fn group_token(g: &Group) -> String {
    // Prometheus: hex SHA-256 of "<file>;<group>". A well-kept hash crate
    // is not in the dependency set yet; tokens only need to be stable and
    // opaque, so a 64-bit xxh3 of the same string in hex serves.
    format!(
        "{:016x}",
        xxhash_rust::xxh3::xxh3_64(format!("{};{}", g.file, g.name).as_bytes())
    )
}

fn parse_matchers(sel: &[String]) -> Result<Vec<Vec<Matcher>>, BadRequest> {
    let mut out = Vec::new();
    for s in sel {
        let expr = lookout_promql::parser::parse(s)
            .map_err(|e| BadRequest(format!("invalid parameter \"match[]\": {e}")))?;
        match expr {
            lookout_promql::parser::Expr::VectorSelector(vs) => {
                let mut ms = vs.matchers.clone();
                if let Some(n) = &vs.name {
                    if let Ok(m) = Matcher::new(lookout_model::MatchOp::Equal, "__name__", n) {
                        ms.push(m);
                    }
                }
                out.push(ms);
            }
            _ => {
                return Err(BadRequest(
                    "invalid parameter \"match[]\": expected a selector".into(),
                ))
            }
        }
    }
    Ok(out)
}

fn rule_labels_match(labels: &BTreeMap<String, String>, sets: &[Vec<Matcher>]) -> bool {
    if sets.is_empty() {
        return true;
    }
    let l = lookout_model::Labels::from_pairs(labels.iter());
    sets.iter()
        .any(|ms| ms.iter().all(|m| m.matches(l.get_or_empty(&m.name))))
}

/// `data` of `/api/v1/rules`.
pub fn rules_data(groups: &[std::sync::Arc<Group>], q: &RulesQuery) -> Result<Json, BadRequest> {
    let (want_alert, want_record) = match q.rule_type.as_deref() {
        None | Some("") => (true, true),
        Some("alert") => (true, false),
        Some("record") => (false, true),
        Some(_) => {
            return Err(BadRequest(
                "invalid query parameter type: unsupported type".into(),
            ))
        }
    };
    if q.group_next_token.is_some() && q.group_limit == 0 {
        return Err(BadRequest(
            "group_limit needs to be present in order to paginate over the groups".into(),
        ));
    }
    let sets = parse_matchers(&q.matchers)?;
    let mut started = q.group_next_token.is_none();
    let mut out = Vec::new();
    let mut next_token = None;
    for g in groups {
        if !q.files.is_empty() && !q.files.contains(&g.file) {
            continue;
        }
        if !q.rule_groups.is_empty() && !q.rule_groups.contains(&g.name) {
            continue;
        }
        if !started {
            if Some(group_token(g)) == q.group_next_token {
                started = true;
            } else {
                continue;
            }
        }
        let mut rules = Vec::new();
        for r in &g.rules {
            if !q.rule_names.is_empty() && !q.rule_names.iter().any(|n| n == r.name()) {
                continue;
            }
            if !rule_labels_match(r.labels(), &sets) {
                continue;
            }
            let st = r.status();
            let mut o = Map::new();
            match &**r {
                Rule::Alerting(ar) => {
                    if !want_alert {
                        continue;
                    }
                    let alerts = active(ar.alerts());
                    o.insert("state".into(), json!(ar.state().as_str()));
                    o.insert("name".into(), json!(ar.name));
                    o.insert("query".into(), json!(ar.expr.to_string()));
                    o.insert("duration".into(), go_json_float(ar.hold_ms as f64 / 1000.0));
                    o.insert(
                        "keepFiringFor".into(),
                        go_json_float(ar.keep_firing_for_ms as f64 / 1000.0),
                    );
                    o.insert(
                        "labels".into(),
                        string_map(ar.labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
                    );
                    o.insert(
                        "annotations".into(),
                        string_map(ar.annotations.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
                    );
                    o.insert(
                        "alerts".into(),
                        if q.exclude_alerts {
                            Json::Null
                        } else {
                            Json::Array(alerts.iter().map(alert_json).collect())
                        },
                    );
                }
                Rule::Recording(rr) => {
                    if !want_record {
                        continue;
                    }
                    o.insert("name".into(), json!(rr.name));
                    o.insert("query".into(), json!(rr.expr.to_string()));
                    // Prometheus omits empty labels of recording rules.
                    if !rr.labels.is_empty() {
                        o.insert(
                            "labels".into(),
                            string_map(rr.labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
                        );
                    }
                }
            }
            o.insert("health".into(), json!(st.health.as_str()));
            if !st.last_error.is_empty() {
                o.insert("lastError".into(), json!(st.last_error));
            }
            o.insert(
                "evaluationTime".into(),
                json!(st.evaluation_time.as_secs_f64()),
            );
            o.insert("lastEvaluation".into(), json!(rfc3339(st.last_evaluation)));
            o.insert(
                "type".into(),
                json!(match &**r {
                    Rule::Alerting(_) => "alerting",
                    Rule::Recording(_) => "recording",
                }),
            );
            rules.push(Json::Object(o));
        }
        let filtered = !q.rule_names.is_empty() || !sets.is_empty() || q.rule_type.is_some();
        if rules.is_empty() && filtered {
            continue;
        }
        if q.group_limit > 0 && out.len() == q.group_limit {
            next_token = Some(group_token(g));
            break;
        }
        let gs = g.status();
        out.push(json!({
            "name": g.name,
            "file": g.file,
            "rules": rules,
            "interval": go_json_float(g.interval_ms as f64 / 1000.0),
            "limit": g.limit,
            "evaluationTime": gs.evaluation_time.as_secs_f64(),
            "lastEvaluation": rfc3339(gs.last_evaluation),
        }));
    }
    if !started {
        return Err(BadRequest(
            "invalid group_next_token value: were rule groups changed?".into(),
        ));
    }
    let mut data = json!({ "groups": out });
    if let Some(t) = next_token {
        data["groupNextToken"] = json!(t);
    }
    Ok(data)
}
