//! `/api/v1/query`, `/query_range`, `/query_exemplars`, `/format_query` and
//! `/parse_query`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::engine::{
    CancelFlag, QueryError, QueryErrorKind, QueryOptions, QueryResult, QueryValue, SampleValue,
};
use crate::envelope::{ApiError, ApiResult, ErrorType, Success};
use crate::params::{self, parse_duration_ns, parse_limit, Params};
use crate::{json, Api};

/// Most points per series a range query may ask for.
pub const MAX_POINTS_PER_SERIES: i64 = 11_000;

/// Raises a cancel flag when dropped, unless disarmed: the handler future is
/// dropped when the client disconnects, which then stops the engine.
pub(crate) struct CancelOnDrop {
    flag: CancelFlag,
    armed: bool,
}

impl CancelOnDrop {
    pub(crate) fn new(flag: CancelFlag) -> Self {
        CancelOnDrop { flag, armed: true }
    }
    pub(crate) fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.flag.cancel();
        }
    }
}

pub(crate) fn map_query_error(e: QueryError) -> ApiError {
    let kind = match e.kind {
        QueryErrorKind::BadData => ErrorType::BadData,
        QueryErrorKind::Execution => ErrorType::Execution,
        QueryErrorKind::Timeout => ErrorType::Timeout,
        QueryErrorKind::Canceled => ErrorType::Canceled,
        QueryErrorKind::Internal => ErrorType::Internal,
    };
    ApiError {
        kind,
        message: e.message,
    }
}

/// Parse errors of the expression are reported as a bad `query` parameter.
fn map_expr_error(e: QueryError) -> ApiError {
    if e.kind == QueryErrorKind::BadData {
        ApiError::invalid_param("query", e.message)
    } else {
        map_query_error(e)
    }
}

/// Runs a query on the blocking pool under the time budget; raises the
/// cancel flag on timeout or when this future is dropped.
async fn run_engine(
    budget: Duration,
    f: impl FnOnce(CancelFlag) -> Result<QueryResult, QueryError> + Send + 'static,
) -> Result<QueryResult, ApiError> {
    let flag = CancelFlag::new();
    let guard = CancelOnDrop::new(flag.clone());
    let task_flag = flag.clone();
    let task = tokio::task::spawn_blocking(move || f(task_flag));
    let res = tokio::time::timeout(budget, task).await;
    guard.disarm();
    match res {
        Ok(Ok(r)) => r.map_err(map_expr_error),
        Ok(Err(join)) => Err(ApiError::internal(format!("query panicked: {join}"))),
        Err(_) => {
            flag.cancel();
            Err(ApiError {
                kind: ErrorType::Timeout,
                message: "query timed out in expression evaluation".into(),
            })
        }
    }
}

/// Options shared by `query` and `query_range`.
fn query_options(api: &Api, p: &Params) -> Result<QueryOptions, ApiError> {
    let mut timeout = api.settings.query_timeout;
    let t = p.get("timeout");
    if !t.is_empty() {
        let ns = parse_duration_ns(t).map_err(|e| ApiError::invalid_param("timeout", e))?;
        if ns > 0 {
            timeout = timeout.min(Duration::from_nanos(ns as u64));
        }
    }
    let mut lookback_delta_ms = None;
    let lb = p.get("lookback_delta");
    if !lb.is_empty() {
        let ns = parse_duration_ns(lb).map_err(|e| ApiError::invalid_param("lookback_delta", e))?;
        lookback_delta_ms = Some(ns / 1_000_000);
    }
    Ok(QueryOptions {
        timeout: Some(timeout),
        lookback_delta_ms,
        stats: !p.get("stats").is_empty(),
    })
}

/// Renders `{"resultType":…,"result":…[,"stats":…]}`, truncating vectors and
/// matrices to `limit` series. Returns whether anything was truncated.
pub fn render_data(
    value: &QueryValue,
    limit: Option<usize>,
    stats: Option<(&QueryResult, Duration)>,
) -> (String, bool) {
    let mut out = String::with_capacity(256);
    let mut truncated = false;
    out.push_str("{\"resultType\":\"");
    out.push_str(value.result_type());
    out.push_str("\",\"result\":");
    match value {
        QueryValue::Scalar { t, v } => {
            out.push('[');
            json::write_float_seconds(&mut out, *t);
            out.push(',');
            json::write_scalar_value(&mut out, *v);
            out.push(']');
        }
        QueryValue::String { t, v } => {
            out.push('[');
            json::write_float_seconds(&mut out, *t);
            out.push(',');
            json::write_str(&mut out, v);
            out.push(']');
        }
        QueryValue::Vector(samples) => {
            let n = limit.map_or(samples.len(), |l| l.min(samples.len()));
            truncated = n < samples.len();
            out.push('[');
            for (i, s) in samples.iter().take(n).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                json::write_labels(&mut out, &s.labels);
                match &s.value {
                    SampleValue::Float(v) => {
                        out.push_str(",\"value\":");
                        json::write_point(&mut out, s.t, *v);
                    }
                    SampleValue::Histogram(h) => {
                        out.push_str(",\"histogram\":");
                        json::write_histogram_point(&mut out, s.t, h);
                    }
                }
                out.push('}');
            }
            out.push(']');
        }
        QueryValue::Matrix(series) => {
            let n = limit.map_or(series.len(), |l| l.min(series.len()));
            truncated = n < series.len();
            out.push('[');
            for (i, s) in series.iter().take(n).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                json::write_labels(&mut out, &s.labels);
                if !s.floats.is_empty() {
                    out.push_str(",\"values\":[");
                    for (j, p) in s.floats.iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        json::write_point(&mut out, p.t, p.v);
                    }
                    out.push(']');
                }
                if !s.histograms.is_empty() {
                    out.push_str(",\"histograms\":[");
                    for (j, p) in s.histograms.iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        json::write_histogram_point(&mut out, p.t, &p.h);
                    }
                    out.push(']');
                }
                out.push('}');
            }
            out.push(']');
        }
    }
    if let Some((r, elapsed)) = stats {
        let secs = elapsed.as_secs_f64();
        use std::fmt::Write;
        let _ = write!(
            out,
            ",\"stats\":{{\"timings\":{{\"evalTotalTime\":{secs},\"execTotalTime\":{secs}}}"
        );
        // Sample counts only when the engine measured them.
        if let Some(s) = r.samples {
            let _ = write!(
                out,
                ",\"samples\":{{\"totalQueryableSamples\":{},\"peakSamples\":{}}}",
                s.total_queryable_samples, s.peak_samples
            );
        }
        out.push('}');
    }
    out.push('}');
    (out, truncated)
}

fn success_from(
    result: QueryResult,
    limit: Option<usize>,
    stats: bool,
    elapsed: Duration,
) -> Success {
    let (data, truncated) = render_data(&result.value, limit, stats.then_some((&result, elapsed)));
    let mut warnings = result.warnings;
    if truncated {
        warnings.push("results truncated due to limit".into());
    }
    Success {
        data,
        warnings,
        infos: result.infos,
    }
}

/// `GET|POST /api/v1/query`.
pub async fn instant(State(api): State<Arc<Api>>, p: Params) -> ApiResult {
    let limit = parse_limit(p.get("limit"))?;
    let t = params::time_or(&p, "time", params::now_ms())?;
    let opts = query_options(&api, &p)?;
    let budget = opts.timeout.unwrap_or(api.settings.query_timeout);
    let expr = p.get("query").to_string();
    let engine = api.engine.clone();
    let started = Instant::now();
    let stats = opts.stats;
    api.metrics.queries.inc();
    let result = run_engine(budget, move |cancel| {
        engine.instant_query(&expr, t, &opts, &cancel)
    })
    .await?;
    Ok(success_from(result, limit, stats, started.elapsed()))
}

/// `GET|POST /api/v1/query_range`.
pub async fn range(State(api): State<Arc<Api>>, p: Params) -> ApiResult {
    let limit = parse_limit(p.get("limit"))?;
    let start =
        params::parse_time(p.get("start")).map_err(|e| ApiError::invalid_param("start", e))?;
    let end = params::parse_time(p.get("end")).map_err(|e| ApiError::invalid_param("end", e))?;
    if end < start {
        return Err(ApiError::invalid_param(
            "end",
            "end timestamp must not be before start time",
        ));
    }
    let step_ns =
        parse_duration_ns(p.get("step")).map_err(|e| ApiError::invalid_param("step", e))?;
    if step_ns <= 0 {
        return Err(ApiError::invalid_param(
            "step",
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    // Prometheus divides durations in nanoseconds; so do we (in i128 to be
    // safe for extreme ranges).
    let range_ns = i128::from(end - start) * 1_000_000;
    if range_ns / i128::from(step_ns) > i128::from(MAX_POINTS_PER_SERIES) {
        return Err(ApiError::bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    let opts = query_options(&api, &p)?;
    // The engine works in milliseconds; a sub-millisecond step can only pass
    // the checks above when start == end, where any positive step is the same.
    let step = (step_ns / 1_000_000).max(1);
    let budget = opts.timeout.unwrap_or(api.settings.query_timeout);
    let expr = p.get("query").to_string();
    let engine = api.engine.clone();
    let started = Instant::now();
    let stats = opts.stats;
    api.metrics.queries.inc();
    let result = run_engine(budget, move |cancel| {
        engine.range_query(&expr, start, end, step, &opts, &cancel)
    })
    .await?;
    Ok(success_from(result, limit, stats, started.elapsed()))
}

/// `GET|POST /api/v1/query_exemplars`. lookout stores no exemplars yet, so
/// every valid query answers an empty list.
pub async fn exemplars(State(api): State<Arc<Api>>, p: Params) -> Response {
    let res: Result<Option<Success>, ApiError> = (|| {
        let start = params::time_or(&p, "start", params::MIN_TIME_MS)?;
        let end = params::time_or(&p, "end", params::MAX_TIME_MS)?;
        if end < start {
            return Err(ApiError::invalid_param(
                "end",
                "end timestamp must not be before start time",
            ));
        }
        let selectors = api
            .engine
            .selectors(p.get("query"))
            .map_err(map_expr_error)?;
        if selectors.is_empty() {
            return Ok(None);
        }
        Ok(Some(Success::new("[]".into())))
    })();
    match res {
        Ok(Some(s)) => s.into_response(),
        Ok(None) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET|POST /api/v1/format_query`.
pub async fn format_query(State(api): State<Arc<Api>>, p: Params) -> ApiResult {
    let pretty = api
        .engine
        .format_query(p.get("query"))
        .map_err(map_expr_error)?;
    let mut data = String::new();
    json::write_str(&mut data, &pretty);
    Ok(Success::new(data))
}

/// `GET|POST /api/v1/parse_query`.
pub async fn parse_query(State(api): State<Arc<Api>>, p: Params) -> ApiResult {
    let tree = api
        .engine
        .parse_query(p.get("query"))
        .map_err(map_expr_error)?;
    Success::serde(&tree)
}
