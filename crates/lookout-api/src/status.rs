//! `/api/v1/status/*`, `/api/v1/targets*`, `/api/v1/scrape_pools`,
//! `/api/v1/rules`, `/api/v1/alerts`, `/api/v1/alertmanagers`,
//! `/api/v1/notifications` and `/version`.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::envelope::{json_response, ApiError, ApiResult, Success};
use crate::params::Params;
use crate::{json, Api};

/// `GET /api/v1/status/buildinfo`: no `features`, no `application` (Grafana
/// would take lookout for Mimir).
pub async fn buildinfo(State(api): State<Arc<Api>>) -> ApiResult {
    Success::serde(&api.settings.build)
}

/// `GET /version`: build info without the envelope.
pub async fn version(State(api): State<Arc<Api>>) -> Response {
    match serde_json::to_string(&api.settings.build) {
        Ok(s) => json_response(axum::http::StatusCode::OK, s),
        Err(e) => ApiError::internal(e.to_string()).into_response(),
    }
}

/// `GET /api/v1/status/config`.
pub async fn config(State(api): State<Arc<Api>>) -> ApiResult {
    let yaml = api.status.read().config_yaml.clone();
    Success::serde(&json!({ "yaml": yaml }))
}

/// `GET /api/v1/status/flags`.
pub async fn flags(State(api): State<Arc<Api>>) -> ApiResult {
    let flags = api.status.read().flags.clone();
    Success::serde(&flags)
}

fn rfc3339_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".into())
}

fn thread_count() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count() as u64)
        .unwrap_or(0)
}

/// `GET /api/v1/status/runtimeinfo`. The Go-runtime fields keep their names
/// (clients decode them); lookout fills them with its closest equivalents:
/// `goroutineCount` = OS threads, `GOMAXPROCS` = available parallelism.
pub async fn runtimeinfo(State(api): State<Arc<Api>>) -> ApiResult {
    let st = api.status.read().clone();
    let cwd = std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let procs = std::thread::available_parallelism().map_or(1, |n| n.get());
    Success::serde(&json!({
        "startTime": rfc3339_ms(api.start_time_ms),
        "CWD": cwd,
        "hostname": hostname,
        "serverTime": rfc3339_ms(crate::params::now_ms()),
        "reloadConfigSuccess": st.reload_success,
        "lastConfigTime": rfc3339_ms(st.last_config_time_ms),
        "corruptionCount": 0,
        "goroutineCount": thread_count(),
        "GOMAXPROCS": procs,
        "GOMEMLIMIT": i64::MAX,
        "GOGC": "",
        "GODEBUG": "",
        "storageRetention": st.storage_retention,
    }))
}

/// `GET /api/v1/status/tsdb`.
pub async fn tsdb(State(api): State<Arc<Api>>, p: Params) -> ApiResult {
    let limit = match p.get("limit") {
        "" => 10,
        s => match s.parse::<i64>() {
            Ok(n) if (1..=10_000).contains(&n) => n as usize,
            _ => {
                return Err(ApiError::bad_data(
                    "limit must be a positive number less than or equal to 10000",
                ))
            }
        },
    };
    let stats = api.storage_stats.clone();
    let st = tokio::task::spawn_blocking(move || stats.tsdb_status(limit))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Success::serde(&st)
}

/// `GET /api/v1/status/walreplay`.
pub async fn walreplay(State(api): State<Arc<Api>>) -> ApiResult {
    Success::serde(&api.storage_stats.wal_replay())
}

/// `GET /api/v1/targets`.
pub async fn targets(State(api): State<Arc<Api>>, p: Params) -> ApiResult {
    let state = p.get("state").to_ascii_lowercase();
    let (show_active, show_dropped) = match state.as_str() {
        "active" => (true, false),
        "dropped" => (false, true),
        _ => (true, true),
    };
    let pool = p.get("scrapePool");
    let pool = (!pool.is_empty()).then_some(pool);
    Success::serde(&api.targets.targets(show_active, show_dropped, pool))
}

/// `GET /api/v1/targets/metadata`.
pub async fn targets_metadata(State(api): State<Arc<Api>>, p: Params) -> ApiResult {
    let limit = match p.get("limit") {
        "" => None,
        s => match s.parse::<i64>() {
            Ok(n) if n < 0 => None,
            Ok(n) => Some(n as usize),
            Err(_) => return Err(ApiError::bad_data("limit must be a number")),
        },
    };
    let matchers = match p.get("match_target") {
        "" => Vec::new(),
        s => api
            .engine
            .parse_selector(s)
            .map_err(|e| ApiError::bad_data(e.message))?,
    };
    let metric = p.get("metric");
    let mut data = String::from("[");
    let mut n = 0usize;
    for m in api.targets.metadata() {
        if limit.is_some_and(|l| n >= l) {
            break;
        }
        if !metric.is_empty() && m.metric != metric {
            continue;
        }
        if !lookout_model::matcher::matches_all(&matchers, &m.target) {
            continue;
        }
        if n > 0 {
            data.push(',');
        }
        n += 1;
        data.push_str("{\"target\":");
        json::write_labels(&mut data, &m.target);
        if metric.is_empty() {
            data.push_str(",\"metric\":");
            json::write_str(&mut data, &m.metric);
        }
        data.push_str(",\"type\":");
        json::write_str(&mut data, &m.kind);
        data.push_str(",\"help\":");
        json::write_str(&mut data, &m.help);
        data.push_str(",\"unit\":");
        json::write_str(&mut data, &m.unit);
        data.push('}');
    }
    data.push(']');
    Ok(Success::new(data))
}

/// `GET /api/v1/scrape_pools`.
pub async fn scrape_pools(State(api): State<Arc<Api>>) -> ApiResult {
    Success::serde(&json!({ "scrapePools": api.targets.scrape_pools() }))
}

/// `GET /api/v1/rules`: parameters are validated like Prometheus does; the
/// list is empty until lookout evaluates rules.
pub async fn rules(State(_api): State<Arc<Api>>, p: Params) -> ApiResult {
    match p.get("type").to_ascii_lowercase().as_str() {
        "" | "alert" | "record" => {}
        other => {
            return Err(ApiError::invalid_param(
                "type",
                format!("not supported value {other:?}"),
            ))
        }
    }
    let group_limit = p.get("group_limit");
    if !group_limit.is_empty() {
        match group_limit.parse::<i64>() {
            Ok(n) if n > 0 => {}
            _ => {
                return Err(ApiError::invalid_param(
                    "group_limit",
                    "group_limit needs to be greater than 0",
                ))
            }
        }
    }
    let token = p.get("group_next_token");
    if !token.is_empty() {
        if group_limit.is_empty() {
            return Err(ApiError::invalid_param(
                "group_next_token",
                "group_limit needs to be present in order to paginate over the groups",
            ));
        }
        // No group has this token: there are no groups.
        return Err(ApiError::invalid_param(
            "group_next_token",
            "the provided group_next_token does not match any rule group; were rule groups changed?",
        ));
    }
    let exclude = p.get("exclude_alerts");
    if !exclude.is_empty() && exclude.parse::<bool>().is_err() {
        return Err(ApiError::invalid_param(
            "exclude_alerts",
            format!("strconv.ParseBool: parsing {exclude:?}: invalid syntax"),
        ));
    }
    Ok(Success::new("{\"groups\":[]}".into()))
}

/// `GET /api/v1/alerts`: empty until lookout evaluates alerting rules.
pub async fn alerts(State(_api): State<Arc<Api>>) -> ApiResult {
    Ok(Success::new("{\"alerts\":[]}".into()))
}

/// `GET /api/v1/alertmanagers`: no notifier is configured yet.
pub async fn alertmanagers(State(_api): State<Arc<Api>>) -> ApiResult {
    Ok(Success::new(
        "{\"activeAlertmanagers\":[],\"droppedAlertmanagers\":[]}".into(),
    ))
}

/// `GET /api/v1/notifications`: lookout raises no UI notifications yet.
pub async fn notifications(State(_api): State<Arc<Api>>) -> ApiResult {
    Ok(Success::new("[]".into()))
}
