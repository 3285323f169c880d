//! `/api/v1/rules`, `/api/v1/alerts` and `/api/v1/alertmanagers` backed by
//! the rule engine. The API reaches it only through [`RulesView`], which the
//! server attaches once the rule manager exists; until then (or without
//! rules) the handlers answer like a Prometheus without rules.

use std::sync::Arc;

use axum::extract::State;

use crate::envelope::{ApiError, ApiResult, Success};
use crate::params::Params;
use crate::{status, Api};

/// Parsed `/api/v1/rules` parameters (`x` and `x[]` spellings merged).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RulesRequest {
    /// `type`: `alert` or `record` (lower-cased), empty for both.
    pub rule_type: String,
    /// `rule_name[]`.
    pub rule_names: Vec<String>,
    /// `rule_group[]`.
    pub rule_groups: Vec<String>,
    /// `file[]`.
    pub files: Vec<String>,
    /// `match[]`.
    pub matchers: Vec<String>,
    /// `exclude_alerts`.
    pub exclude_alerts: bool,
    /// `group_limit` (0 = none).
    pub group_limit: usize,
    /// `group_next_token`.
    pub group_next_token: Option<String>,
}

/// What the rule engine offers the API. JSON values are the `data` members.
pub trait RulesView: Send + Sync {
    /// `data` of `/api/v1/rules`; `Err` is a `bad_data` message.
    fn rules(&self, req: &RulesRequest) -> Result<serde_json::Value, String>;
    /// `data` of `/api/v1/alerts`.
    fn alerts(&self) -> serde_json::Value;
    /// Active Alertmanager URLs (for `/api/v1/alertmanagers`).
    fn alertmanagers(&self) -> Vec<String>;
}

fn both(p: &Params, name: &str) -> Vec<String> {
    let mut v: Vec<String> = p
        .get_all(&format!("{name}[]"))
        .into_iter()
        .chain(p.get_all(name))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    v.dedup();
    v
}

/// `GET /api/v1/rules`.
pub async fn rules(State(api): State<Arc<Api>>, p: Params) -> ApiResult {
    let Some(view) = api.rules_view() else {
        return status::rules(State(api), p).await;
    };
    let rule_type = p.get("type").to_ascii_lowercase();
    if !matches!(rule_type.as_str(), "" | "alert" | "record") {
        return Err(ApiError::invalid_param(
            "type",
            format!("not supported value {rule_type:?}"),
        ));
    }
    let group_limit = match p.get("group_limit") {
        "" => 0,
        s => match s.parse::<i64>() {
            Ok(n) if n > 0 => n as usize,
            _ => {
                return Err(ApiError::invalid_param(
                    "group_limit",
                    "group_limit needs to be greater than 0",
                ))
            }
        },
    };
    let token = p.get("group_next_token");
    if !token.is_empty() && group_limit == 0 {
        return Err(ApiError::invalid_param(
            "group_next_token",
            "group_limit needs to be present in order to paginate over the groups",
        ));
    }
    let exclude = p.get("exclude_alerts");
    let exclude_alerts = match exclude {
        "" => false,
        s => s.parse::<bool>().map_err(|_| {
            ApiError::invalid_param(
                "exclude_alerts",
                format!("strconv.ParseBool: parsing {s:?}: invalid syntax"),
            )
        })?,
    };
    let req = RulesRequest {
        rule_type,
        rule_names: both(&p, "rule_name"),
        rule_groups: both(&p, "rule_group"),
        files: both(&p, "file"),
        matchers: p
            .get_all("match[]")
            .into_iter()
            .map(str::to_string)
            .collect(),
        exclude_alerts,
        group_limit,
        group_next_token: (!token.is_empty()).then(|| token.to_string()),
    };
    let view = view.clone();
    let data = tokio::task::spawn_blocking(move || view.rules(&req))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(ApiError::bad_data)?;
    Success::serde(&data)
}

/// `GET /api/v1/alerts`.
pub async fn alerts(State(api): State<Arc<Api>>) -> ApiResult {
    match api.rules_view() {
        None => status::alerts(State(api)).await,
        Some(v) => Success::serde(&v.alerts()),
    }
}

/// `GET /api/v1/alertmanagers`.
pub async fn alertmanagers(State(api): State<Arc<Api>>) -> ApiResult {
    match api.rules_view() {
        None => status::alertmanagers(State(api)).await,
        Some(v) => {
            let active: Vec<serde_json::Value> = v
                .alertmanagers()
                .into_iter()
                .map(|u| serde_json::json!({ "url": u }))
                .collect();
            Success::serde(&serde_json::json!({
                "activeAlertmanagers": active,
                "droppedAlertmanagers": [],
            }))
        }
    }
}
