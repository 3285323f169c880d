//! `/api/v1/labels`, `/label/<name>/values`, `/series` and `/metadata`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::extract::{Path, State};
use lookout_model::storage::{SelectHints, StorageError};
use lookout_model::{Labels, Matcher};

use crate::envelope::{ApiError, ApiResult, Success};
use crate::params::{self, parse_limit, Params};
use crate::query::map_query_error;
use crate::{json, Api};

/// Parses every `match[]` value into a matcher set; each set must contain a
/// matcher that does not match the empty string.
pub(crate) fn parse_match_params(api: &Api, p: &Params) -> Result<Vec<Vec<Matcher>>, ApiError> {
    let mut sets = Vec::new();
    for s in p.get_all("match[]") {
        let ms = api.engine.parse_selector(s).map_err(|e| {
            let mut e = map_query_error(e);
            e.kind = crate::envelope::ErrorType::BadData;
            e
        })?;
        if ms.iter().all(|m| m.matches("")) {
            return Err(ApiError::bad_data(
                "match[] must contain at least one non-empty matcher",
            ));
        }
        sets.push(ms);
    }
    Ok(sets)
}

fn storage_error(e: StorageError) -> ApiError {
    match e {
        StorageError::Cancelled => ApiError {
            kind: crate::envelope::ErrorType::Canceled,
            message: e.to_string(),
        },
        e => ApiError::internal(e.to_string()),
    }
}

/// Runs storage work on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(storage_error),
        Err(e) => Err(ApiError::internal(format!("storage task failed: {e}"))),
    }
}

fn time_range(p: &Params) -> Result<(i64, i64), ApiError> {
    let start = params::time_or(p, "start", params::MIN_TIME_MS)?;
    let end = params::time_or(p, "end", params::MAX_TIME_MS)?;
    Ok((start, end))
}

fn string_list(values: impl IntoIterator<Item = String>, limit: Option<usize>) -> Success {
    let mut data = String::from("[");
    let mut warnings = Vec::new();
    for (i, v) in values.into_iter().enumerate() {
        if limit.is_some_and(|l| i >= l) {
            warnings.push("results truncated due to limit".to_string());
            break;
        }
        if i > 0 {
            data.push(',');
        }
        json::write_str(&mut data, &v);
    }
    data.push(']');
    Success {
        data,
        warnings,
        infos: Vec::new(),
    }
}

/// `GET|POST /api/v1/labels`.
pub async fn label_names(State(api): State<Arc<Api>>, p: Params) -> ApiResult {
    let (start, end) = time_range(&p)?;
    let sets = parse_match_params(&api, &p)?;
    let limit = parse_limit(p.get("limit"))?;
    let q = api.querier.clone();
    let names = blocking(move || {
        if sets.is_empty() {
            return q.label_names(&[], start, end);
        }
        let mut all = BTreeSet::new();
        for ms in &sets {
            all.extend(q.label_names(ms, start, end)?);
        }
        Ok(all.into_iter().collect())
    })
    .await?;
    Ok(string_list(names, limit))
}

/// Decodes Prometheus' `U__` escaping of label names in URL paths:
/// `_` + `_` → `_`, `_<hex>_` → that code point, other characters as is.
/// Returns the input unchanged when it is not a valid escape.
pub fn unescape_label_name(s: &str) -> String {
    let Some(rest) = s.strip_prefix("U__") else {
        return s.to_string();
    };
    let mut out = String::with_capacity(rest.len());
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '_' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'_') {
            chars.next();
            out.push('_');
            continue;
        }
        let mut hex = String::new();
        loop {
            match chars.next() {
                Some('_') => break,
                Some(h) if h.is_ascii_hexdigit() && hex.len() < 8 => hex.push(h),
                _ => return s.to_string(),
            }
        }
        match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
            Some(ch) => out.push(ch),
            None => return s.to_string(),
        }
    }
    out
}

/// `GET|POST /api/v1/label/<name>/values`.
pub async fn label_values(
    State(api): State<Arc<Api>>,
    Path(name): Path<String>,
    p: Params,
) -> ApiResult {
    let name = unescape_label_name(&name);
    if name.is_empty() {
        return Err(ApiError::bad_data(format!("invalid label name: {name:?}")));
    }
    let (start, end) = time_range(&p)?;
    let sets = parse_match_params(&api, &p)?;
    let limit = parse_limit(p.get("limit"))?;
    let q = api.querier.clone();
    let values = blocking(move || {
        if sets.is_empty() {
            return q.label_values(&name, &[], start, end);
        }
        let mut all = BTreeSet::new();
        for ms in &sets {
            all.extend(q.label_values(&name, ms, start, end)?);
        }
        Ok(all.into_iter().collect())
    })
    .await?;
    Ok(string_list(values, limit))
}

/// `GET|POST /api/v1/series`.
pub async fn series(State(api): State<Arc<Api>>, p: Params) -> ApiResult {
    if !p.has("match[]") {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let limit = parse_limit(p.get("limit"))?;
    let (start, end) = time_range(&p)?;
    let sets = parse_match_params(&api, &p)?;
    let q = api.querier.clone();
    let select_limit = limit.map_or(0, |l| l + 1);
    let found: BTreeSet<Labels> = blocking(move || {
        let hints = SelectHints {
            mint: start,
            maxt: end,
            labels_only: true,
            limit: if sets.len() == 1 { select_limit } else { 0 },
        };
        let mut all = BTreeSet::new();
        for ms in &sets {
            for s in q.select(ms, &hints)? {
                all.insert(s?.labels);
            }
        }
        Ok(all)
    })
    .await?;
    let mut data = String::from("[");
    let mut warnings = Vec::new();
    for (i, l) in found.iter().enumerate() {
        if limit.is_some_and(|lim| i >= lim) {
            warnings.push("results truncated due to limit".to_string());
            break;
        }
        if i > 0 {
            data.push(',');
        }
        json::write_labels(&mut data, l);
    }
    data.push(']');
    Ok(Success {
        data,
        warnings,
        infos: Vec::new(),
    })
}

fn parse_metadata_limit(s: &str) -> Result<Option<usize>, ApiError> {
    if s.is_empty() {
        return Ok(None);
    }
    let n: i64 = s
        .parse()
        .map_err(|_| ApiError::bad_data("limit must be a number"))?;
    Ok(if n < 0 { None } else { Some(n as usize) })
}

/// `GET /api/v1/metadata`: metadata of the metrics active targets expose.
pub async fn metadata(State(api): State<Arc<Api>>, p: Params) -> ApiResult {
    let limit = parse_metadata_limit(p.get("limit"))?;
    let per_metric = {
        let s = p.get("limit_per_metric");
        if s.is_empty() {
            None
        } else {
            let n: i64 = s
                .parse()
                .map_err(|_| ApiError::bad_data("limit_per_metric must be a number"))?;
            if n < 0 {
                None
            } else {
                Some(n as usize)
            }
        }
    };
    let metric = p.get("metric");
    #[derive(serde::Serialize, PartialEq, Eq, PartialOrd, Ord, Clone)]
    struct Meta {
        #[serde(rename = "type")]
        kind: String,
        help: String,
        unit: String,
    }
    let mut by_metric: BTreeMap<String, Vec<Meta>> = BTreeMap::new();
    if limit != Some(0) {
        for m in api.targets.metadata() {
            if !metric.is_empty() && m.metric != metric {
                continue;
            }
            let entry = Meta {
                kind: m.kind,
                help: m.help,
                unit: m.unit,
            };
            let list = by_metric.entry(m.metric).or_default();
            if !list.contains(&entry) {
                list.push(entry);
            }
        }
    }
    let mut out: BTreeMap<String, Vec<Meta>> = BTreeMap::new();
    for (name, mut list) in by_metric {
        if limit.is_some_and(|l| out.len() >= l) {
            break;
        }
        if let Some(n) = per_metric {
            list.truncate(n);
        }
        out.insert(name, list);
    }
    Success::serde(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_utf8_label_names() {
        assert_eq!(unescape_label_name("job"), "job");
        assert_eq!(unescape_label_name("U__my_2e_label"), "my.label");
        assert_eq!(unescape_label_name("U__a__b"), "a_b");
        assert_eq!(unescape_label_name("U__smile_1f600_"), "smile😀");
        assert_eq!(unescape_label_name("U__bad_zz_"), "U__bad_zz_");
    }
}
