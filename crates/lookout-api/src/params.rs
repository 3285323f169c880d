//! Request parameters: URL query string merged with a form-encoded body
//! (body values first, like Go's `Request.FormValue`), and Prometheus'
//! parameter formats for times, durations and limits.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use crate::envelope::ApiError;

/// Smallest timestamp Prometheus represents (`MinTime`), in milliseconds.
pub const MIN_TIME_MS: i64 = -9_223_309_901_257_974_000;
/// Largest timestamp Prometheus represents (`MaxTime`), in milliseconds.
pub const MAX_TIME_MS: i64 = 9_223_309_901_257_974_999;
/// How Prometheus prints `MinTime` (accepted as a time parameter).
pub const MIN_TIME_FORMATTED: &str = "-292273086-05-16T16:47:06Z";
/// How Prometheus prints `MaxTime` (accepted as a time parameter).
pub const MAX_TIME_FORMATTED: &str = "292277025-08-18T07:12:54.999999999Z";

/// Largest form body read for parameters (Go's `ParseForm` stops at 10 MB).
pub const MAX_FORM_BYTES: usize = 10 << 20;

/// Parameters of one request, in the order Go's `r.Form` holds them.
#[derive(Debug, Default, Clone)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parameters from explicit pairs (tests, internal callers).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Params {
            pairs: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The first value of `name`, or `""` when absent (Go's `FormValue`).
    pub fn get(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Whether `name` was given at all (even empty).
    pub fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == name)
    }

    /// Every value of `name`, in order.
    pub fn get_all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Why reading parameters failed.
#[derive(Debug)]
pub enum ParamsRejection {
    /// The body exceeded the configured limit.
    TooLarge,
    /// The body could not be read.
    Read(String),
}

impl IntoResponse for ParamsRejection {
    fn into_response(self) -> Response {
        match self {
            ParamsRejection::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large\n".to_string(),
            )
                .into_response(),
            ParamsRejection::Read(e) => {
                ApiError::bad_data(format!("error reading request body: {e}")).into_response()
            }
        }
    }
}

/// Whether an error from reading a body is the length limit tripping.
pub fn is_length_limit(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = e.source();
    }
    false
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ParamsRejection;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let mut pairs = Vec::new();
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| {
                ct.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
            .unwrap_or(false);
        if is_form && matches!(parts.method, Method::POST | Method::PUT | Method::PATCH) {
            let bytes = read_body(body, MAX_FORM_BYTES).await?;
            pairs.extend(form_urlencoded::parse(&bytes).into_owned());
        }
        if let Some(q) = parts.uri.query() {
            pairs.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
        }
        Ok(Params { pairs })
    }
}

/// Reads a whole body of at most `max` bytes, mapping the length limit to
/// [`ParamsRejection::TooLarge`].
pub async fn read_body(body: Body, max: usize) -> Result<bytes::Bytes, ParamsRejection> {
    match http_body_util::Limited::new(body, max).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(inner) => {
            if is_length_limit(&*inner) {
                Err(ParamsRejection::TooLarge)
            } else {
                Err(ParamsRejection::Read(inner.to_string()))
            }
        }
    }
}

/// Parses a Prometheus time parameter into milliseconds: unix seconds as a
/// decimal (fraction rounded to milliseconds) or RFC 3339.
pub fn parse_time(s: &str) -> Result<i64, String> {
    let invalid = || format!("cannot parse {s:?} to a valid timestamp");
    if let Some(secs) = parse_go_float(s) {
        if !secs.is_finite() {
            return Err(invalid());
        }
        let whole = secs.trunc();
        let frac = ((secs - whole) * 1000.0).round();
        let ms = whole * 1000.0 + frac;
        if !(MIN_TIME_MS as f64..=MAX_TIME_MS as f64).contains(&ms) {
            return Err(invalid());
        }
        return Ok(ms as i64);
    }
    match s {
        MIN_TIME_FORMATTED => return Ok(MIN_TIME_MS),
        MAX_TIME_FORMATTED => return Ok(MAX_TIME_MS),
        _ => {}
    }
    // Go's RFC3339 layout requires an upper-case `T` separator.
    if s.len() > 10 && s.as_bytes().get(10) == Some(&b'T') {
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
            return Ok(t.timestamp_millis());
        }
    }
    Err(invalid())
}

/// Parses a Prometheus duration parameter into nanoseconds: a decimal number
/// of seconds or a duration string (`1h30m`).
pub fn parse_duration_ns(s: &str) -> Result<i64, String> {
    if let Some(secs) = parse_go_float(s) {
        let ns = secs * 1e9;
        if !ns.is_finite() || ns >= i64::MAX as f64 || ns <= i64::MIN as f64 {
            return Err(format!(
                "cannot parse {s:?} to a valid duration. It overflows int64"
            ));
        }
        return Ok(ns as i64);
    }
    match lookout_model::parse_duration(s) {
        Ok(ms) => ms
            .checked_mul(1_000_000)
            .ok_or_else(|| format!("cannot parse {s:?} to a valid duration")),
        Err(_) => Err(format!("cannot parse {s:?} to a valid duration")),
    }
}

/// Go's `strconv.ParseFloat` on the inputs clients send: decimal numbers with
/// optional sign, fraction and exponent, plus `Inf`/`NaN` spellings. Rust's
/// parser accepts the same set for decimal input.
fn parse_go_float(s: &str) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    s.parse::<f64>().ok()
}

/// A `limit` parameter: absent or `0` = unlimited (returned as `None`).
pub fn parse_limit(s: &str) -> Result<Option<usize>, ApiError> {
    if s.is_empty() {
        return Ok(None);
    }
    let n: i64 = s.parse().map_err(|_| {
        ApiError::invalid_param("limit", format!("cannot parse {s:?} to a valid limit"))
    })?;
    if n < 0 {
        return Err(ApiError::bad_data("limit must be non-negative"));
    }
    Ok(if n == 0 { None } else { Some(n as usize) })
}

/// An optional time parameter with a default.
pub fn time_or(params: &Params, name: &str, default: i64) -> Result<i64, ApiError> {
    let v = params.get(name);
    if v.is_empty() {
        return Ok(default);
    }
    parse_time(v).map_err(|e| ApiError::invalid_param(name, e))
}

/// The current time in milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("4"), Ok(4000));
        assert_eq!(parse_time("1718000000.5"), Ok(1_718_000_000_500));
        assert_eq!(parse_time("1.0006"), Ok(1001));
        assert_eq!(parse_time("1.0005"), Ok(1000)); // 0.0005 is 0.000499… in binary
        assert_eq!(parse_time("-1.5"), Ok(-1500));
        assert_eq!(parse_time("1e3"), Ok(1_000_000));
        assert_eq!(
            parse_time("2015-07-01T20:10:51.781Z"),
            Ok(1_435_781_451_781)
        );
        assert_eq!(
            parse_time("2015-07-01T22:10:51+02:00"),
            Ok(1_435_781_451_000)
        );
        assert_eq!(parse_time(MAX_TIME_FORMATTED), Ok(MAX_TIME_MS));
        assert_eq!(parse_time(MIN_TIME_FORMATTED), Ok(MIN_TIME_MS));
        // Milliseconds misread as seconds (Grafana's exemplar probe) still parse.
        assert_eq!(parse_time("1718000000000"), Ok(1_718_000_000_000_000));
        for bad in ["", "abc", "NaN", "Inf", "2015-07-01 20:10:51Z", "1e300"] {
            assert_eq!(
                parse_time(bad),
                Err(format!("cannot parse {bad:?} to a valid timestamp"))
            );
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ns("15"), Ok(15_000_000_000));
        assert_eq!(parse_duration_ns("0.1"), Ok(100_000_000));
        assert_eq!(parse_duration_ns("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_duration_ns("-1"), Ok(-1_000_000_000));
        assert!(parse_duration_ns("1e30")
            .unwrap_err()
            .contains("overflows int64"));
        assert_eq!(
            parse_duration_ns("x"),
            Err("cannot parse \"x\" to a valid duration".to_string())
        );
    }

    #[test]
    fn limits() {
        assert_eq!(parse_limit("").unwrap(), None);
        assert_eq!(parse_limit("0").unwrap(), None);
        assert_eq!(parse_limit("5").unwrap(), Some(5));
        assert!(parse_limit("-1").is_err());
        assert!(parse_limit("x").is_err());
    }

    #[test]
    fn form_values_come_before_url_values() {
        let p = Params::from_pairs([("query", "body"), ("query", "url"), ("a", "1")]);
        assert_eq!(p.get("query"), "body");
        assert_eq!(p.get_all("query"), vec!["body", "url"]);
        assert_eq!(p.get("missing"), "");
    }
}
