//! The remote-write 1.0 receiver at `POST /api/v1/write`.
//!
//! Status codes follow Prometheus: 204 on success; 415 for a content type or
//! encoding it does not speak (remote-write 2.0 included); 400 for bodies
//! that do not decode and for samples the store refuses for their time
//! (out of order, duplicate, out of bounds, too old), so senders drop them
//! instead of retrying; 500 for storage failures, which senders retry.
//!
//! One deliberate difference from Prometheus 2.42: when some samples of a
//! request are refused, the accepted ones are still committed (2.42 rolls the
//! whole request back). The answer is the same 400 with the first refusal's
//! text, so senders behave identically but fewer samples are lost.

pub mod decode;

use std::cell::RefCell;

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use lookout_model::storage::{AppendError, Appendable, StorageError};
use lookout_model::{Labels, LabelsBuilder};

pub use decode::{decode_write_request, DecodeError, LabelRef, SeriesView, WriteRequest};

/// What a sink did with a request.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct WriteOutcome {
    /// Float samples stored.
    pub samples_written: u64,
    /// Histogram samples stored.
    pub histograms_written: u64,
    /// Samples refused for their timestamp (out of order, duplicate...).
    pub samples_rejected: u64,
    /// Series skipped because their labels are invalid.
    pub series_invalid: u64,
    /// The first refusal, reported to the sender.
    pub first_error: Option<String>,
}

/// Something that stores decoded remote-write requests.
pub trait SampleSink: Send + Sync + 'static {
    /// Stores what it can of `req`; returns `Err` only when nothing from the
    /// request may be assumed stored (a storage failure, answered 500).
    fn write(&self, req: &WriteRequest<'_>) -> Result<WriteOutcome, StorageError>;
}

/// Why a label set from the wire is refused, in Prometheus' words.
pub fn validate_labels(labels: &[LabelRef<'_>]) -> Result<(), String> {
    let mut has_name = false;
    for l in labels {
        if l.name.is_empty() {
            return Err("invalid metric name or labels: empty label name".into());
        }
        if l.name == lookout_model::METRIC_NAME && !l.value.is_empty() {
            has_name = true;
        }
    }
    if !has_name {
        return Err("invalid metric name or labels: missing metric name".into());
    }
    for (i, a) in labels.iter().enumerate() {
        if labels[i + 1..].iter().any(|b| b.name == a.name) {
            return Err(format!("duplicate label with name: {}", a.name));
        }
    }
    Ok(())
}

/// Builds a [`Labels`] from wire labels (sorting them; empty values dropped).
pub fn to_labels(labels: &[LabelRef<'_>]) -> Labels {
    let mut b = LabelsBuilder::new();
    for l in labels {
        b.set(l.name, l.value);
    }
    b.into_labels()
}

/// A [`SampleSink`] over any [`Appendable`]: one appender per request.
pub struct AppendableSink<A: ?Sized> {
    store: std::sync::Arc<A>,
}

impl<A: Appendable + ?Sized> AppendableSink<A> {
    /// Wraps a store.
    pub fn new(store: std::sync::Arc<A>) -> Self {
        AppendableSink { store }
    }
}

fn is_sample_refusal(e: &AppendError) -> bool {
    matches!(
        e,
        AppendError::OutOfOrder
            | AppendError::Duplicate
            | AppendError::OutOfBounds
            | AppendError::TooOld
            | AppendError::InvalidLabels(_)
    )
}

impl<A: Appendable + ?Sized + 'static> SampleSink for AppendableSink<A> {
    fn write(&self, req: &WriteRequest<'_>) -> Result<WriteOutcome, StorageError> {
        let mut out = WriteOutcome::default();
        let mut app = self.store.appender();
        let fail = |out: &mut WriteOutcome, msg: String| {
            out.samples_rejected += 1;
            if out.first_error.is_none() {
                out.first_error = Some(msg);
            }
        };
        for s in req.iter() {
            if let Err(e) = validate_labels(s.labels) {
                out.series_invalid += 1;
                if out.first_error.is_none() {
                    out.first_error = Some(e);
                }
                continue;
            }
            let labels = to_labels(s.labels);
            for sample in s.samples {
                match app.append(&labels, sample.t, sample.v) {
                    Ok(()) => out.samples_written += 1,
                    Err(e) if is_sample_refusal(&e) => fail(&mut out, e.to_string()),
                    Err(e) => {
                        app.rollback();
                        return Err(StorageError::Limit(e.to_string()));
                    }
                }
            }
            for h in s.histograms {
                match app.append_histogram(&labels, h.t, &h.h) {
                    Ok(()) => out.histograms_written += 1,
                    Err(e) if is_sample_refusal(&e) => fail(&mut out, e.to_string()),
                    Err(e) => {
                        app.rollback();
                        return Err(StorageError::Limit(e.to_string()));
                    }
                }
            }
        }
        app.commit()?;
        Ok(out)
    }
}

/// Limits for the receiver.
#[derive(Debug, Clone, Copy)]
pub struct WriteLimits {
    /// Largest decompressed body accepted, bytes.
    pub max_decoded_bytes: usize,
}

impl Default for WriteLimits {
    fn default() -> Self {
        WriteLimits {
            max_decoded_bytes: 128 << 20,
        }
    }
}

/// A plain-text response, as Prometheus' `http.Error` writes them.
pub fn text_error(status: StatusCode, msg: &str) -> Response {
    let mut body = msg.to_string();
    body.push('\n');
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// A plain-text error answer (status and message), rendered by
/// [`text_error`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextError {
    /// HTTP status.
    pub status: StatusCode,
    /// Message (a newline is appended on the wire).
    pub message: String,
}

impl TextError {
    fn new(status: StatusCode, message: String) -> Self {
        TextError { status, message }
    }
}

impl IntoResponse for TextError {
    fn into_response(self) -> Response {
        text_error(self.status, &self.message)
    }
}

/// Checks `Content-Type` and `Content-Encoding` (415 when unsupported).
pub fn check_headers(headers: &HeaderMap) -> Result<(), TextError> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("");
        let mut parts = ct.split(';');
        let media = parts.next().unwrap_or("").trim();
        if !media.is_empty() && !media.eq_ignore_ascii_case("application/x-protobuf") {
            return Err(TextError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("expected application/x-protobuf as the first (media) part, got {ct} content-type"),
            ));
        }
        for p in parts {
            let Some((k, v)) = p.split_once('=') else {
                continue;
            };
            if k.trim().eq_ignore_ascii_case("proto") {
                let v = v.trim().trim_matches('"');
                if v != "prometheus.WriteRequest" {
                    return Err(TextError::new(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        format!("unknown remote write protobuf message {v}, this receiver supports prometheus.WriteRequest only"),
                    ));
                }
            }
        }
    }
    if let Some(enc) = headers.get(header::CONTENT_ENCODING) {
        let enc = enc.to_str().unwrap_or("?").trim();
        if !enc.is_empty() && !enc.eq_ignore_ascii_case("snappy") {
            return Err(TextError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("{enc} encoding (compression) is not accepted by this server; only snappy is acceptable"),
            ));
        }
    }
    Ok(())
}

thread_local! {
    /// Per-thread scratch buffer for decompressed bodies, reused so steady
    /// ingest does not allocate one per request.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Decompresses and decodes `body`, then hands it to `sink`. Runs on a
/// blocking thread. Returns the HTTP answer and the outcome (for metrics).
pub fn handle_body(
    body: &[u8],
    sink: &dyn SampleSink,
    limits: WriteLimits,
) -> (Response, Option<WriteOutcome>) {
    let decoded_len = match snap::raw::decompress_len(body) {
        Ok(n) => n,
        Err(e) => {
            return (
                text_error(StatusCode::BAD_REQUEST, &format!("snappy: {e}")),
                None,
            )
        }
    };
    if decoded_len > limits.max_decoded_bytes {
        return (
            text_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "decompressed body of {decoded_len} bytes exceeds the limit of {} bytes",
                    limits.max_decoded_bytes
                ),
            ),
            None,
        );
    }
    SCRATCH.with(|cell| {
        let mut buf = cell.borrow_mut();
        buf.resize(decoded_len, 0);
        if let Err(e) = snap::raw::Decoder::new().decompress(body, &mut buf) {
            return (
                text_error(StatusCode::BAD_REQUEST, &format!("snappy: {e}")),
                None,
            );
        }
        let mut req = WriteRequest::default();
        if let Err(e) = decode_write_request(&buf, &mut req) {
            return (text_error(StatusCode::BAD_REQUEST, &e.to_string()), None);
        }
        let result = sink.write(&req);
        // Large one-off bodies should not pin memory on this thread forever.
        if buf.capacity() > 16 << 20 {
            *buf = Vec::new();
        }
        match result {
            Ok(outcome) => {
                let resp = match &outcome.first_error {
                    None => StatusCode::NO_CONTENT.into_response(),
                    Some(msg) => text_error(StatusCode::BAD_REQUEST, msg),
                };
                (resp, Some(outcome))
            }
            Err(e) => (
                text_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
                None,
            ),
        }
    })
}

/// Reads a request body up to `max` bytes (413 beyond).
pub async fn read_limited(body: Body, max: usize) -> Result<bytes::Bytes, TextError> {
    let limited = http_body_util::Limited::new(body, max);
    match http_body_util::BodyExt::collect(limited).await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) => {
            if crate::params::is_length_limit(&*e) {
                Err(TextError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("request body exceeds the limit of {max} bytes"),
                ))
            } else {
                Err(TextError::new(
                    StatusCode::BAD_REQUEST,
                    format!("error reading body: {e}"),
                ))
            }
        }
    }
}
