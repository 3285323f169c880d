//! The Prometheus API envelope: `{"status":"success","data":…}` and
//! `{"status":"error","errorType":…,"error":…}`, with the error types and
//! HTTP status codes clients key on.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::json;

/// Most annotations of one kind returned in a response; the rest are
/// summarised in one extra line, as Prometheus does.
pub const MAX_ANNOTATIONS: usize = 10;

/// Prometheus' error types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// Malformed or missing parameters (400).
    BadData,
    /// Evaluation failed (422).
    Execution,
    /// The client went away or the query was cancelled (499).
    Canceled,
    /// The query exceeded its time budget (503).
    Timeout,
    /// Storage or encoding failure (500).
    Internal,
    /// Unknown resource (404).
    NotFound,
    /// Feature disabled or not ready (500, as upstream has no mapping).
    Unavailable,
}

impl ErrorType {
    /// The `errorType` string.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::BadData => "bad_data",
            ErrorType::Execution => "execution",
            ErrorType::Canceled => "canceled",
            ErrorType::Timeout => "timeout",
            ErrorType::Internal => "internal",
            ErrorType::NotFound => "not_found",
            ErrorType::Unavailable => "unavailable",
        }
    }

    /// The HTTP status Prometheus answers with for this type.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorType::BadData => StatusCode::BAD_REQUEST,
            ErrorType::Execution => StatusCode::UNPROCESSABLE_ENTITY,
            // nginx's "client closed request"; always a valid code.
            ErrorType::Canceled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
            ErrorType::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            ErrorType::Internal | ErrorType::Unavailable => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::NotFound => StatusCode::NOT_FOUND,
        }
    }
}

/// An API error, rendered as the error envelope.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {message}", kind.as_str())]
pub struct ApiError {
    /// The error type.
    pub kind: ErrorType,
    /// Human-readable message (Prometheus' texts where they exist).
    pub message: String,
}

impl ApiError {
    /// A `bad_data` error.
    pub fn bad_data(message: impl Into<String>) -> Self {
        ApiError {
            kind: ErrorType::BadData,
            message: message.into(),
        }
    }

    /// `invalid parameter "<name>": <err>`, Prometheus' parameter error.
    pub fn invalid_param(name: &str, err: impl std::fmt::Display) -> Self {
        Self::bad_data(format!("invalid parameter \"{name}\": {err}"))
    }

    /// An `execution` error.
    pub fn execution(message: impl Into<String>) -> Self {
        ApiError {
            kind: ErrorType::Execution,
            message: message.into(),
        }
    }

    /// An `internal` error.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError {
            kind: ErrorType::Internal,
            message: message.into(),
        }
    }
}

/// A JSON response with the right content type.
pub fn json_response(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = String::with_capacity(64 + self.message.len());
        body.push_str("{\"status\":\"error\",\"errorType\":");
        json::write_str(&mut body, self.kind.as_str());
        body.push_str(",\"error\":");
        json::write_str(&mut body, &self.message);
        body.push('}');
        json_response(self.kind.status(), body)
    }
}

/// A success envelope around pre-rendered `data` JSON.
#[derive(Debug, Default)]
pub struct Success {
    /// The `data` value, already JSON.
    pub data: String,
    /// Warning annotations.
    pub warnings: Vec<String>,
    /// Info annotations.
    pub infos: Vec<String>,
}

impl Success {
    /// Success with `data` and no annotations.
    pub fn new(data: String) -> Self {
        Success {
            data,
            ..Default::default()
        }
    }

    /// Success whose `data` is any serde-serialisable value.
    pub fn serde<T: serde::Serialize>(data: &T) -> Result<Self, ApiError> {
        serde_json::to_string(data)
            .map(Success::new)
            .map_err(|e| ApiError::internal(format!("error marshaling response: {e}")))
    }

    /// The full envelope text.
    pub fn render(self) -> String {
        let mut out = String::with_capacity(self.data.len() + 64);
        out.push_str("{\"status\":\"success\",\"data\":");
        out.push_str(&self.data);
        write_annotations(&mut out, "warnings", "warning", &self.warnings);
        write_annotations(&mut out, "infos", "info", &self.infos);
        out.push('}');
        out
    }
}

fn write_annotations(out: &mut String, key: &str, noun: &str, list: &[String]) {
    if list.is_empty() {
        return;
    }
    out.push_str(",\"");
    out.push_str(key);
    out.push_str("\":[");
    for (i, w) in list.iter().take(MAX_ANNOTATIONS).enumerate() {
        if i > 0 {
            out.push(',');
        }
        json::write_str(out, w);
    }
    if list.len() > MAX_ANNOTATIONS {
        out.push(',');
        let more = format!(
            "{} more {noun} annotations omitted",
            list.len() - MAX_ANNOTATIONS
        );
        json::write_str(out, &more);
    }
    out.push(']');
}

impl IntoResponse for Success {
    fn into_response(self) -> Response {
        json_response(StatusCode::OK, self.render())
    }
}

/// What API handlers return.
pub type ApiResult = Result<Success, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_envelope_with_capped_warnings() {
        let s = Success {
            data: "[]".into(),
            warnings: (0..12).map(|i| format!("w{i}")).collect(),
            infos: vec!["i".into()],
        };
        let text = s.render();
        assert!(text.starts_with(r#"{"status":"success","data":[],"warnings":["w0","#));
        assert!(text.ends_with(r#""w9","2 more warning annotations omitted"],"infos":["i"]}"#));
    }

    #[test]
    fn error_envelope_and_codes() {
        let e = ApiError::invalid_param("query", "unexpected end of input");
        assert_eq!(e.kind.status(), StatusCode::BAD_REQUEST);
        assert_eq!(ErrorType::Canceled.status().as_u16(), 499);
        assert_eq!(ErrorType::Timeout.status().as_u16(), 503);
        assert_eq!(ErrorType::Execution.status().as_u16(), 422);
        assert_eq!(ErrorType::Unavailable.status().as_u16(), 500);
    }
}
