//! Notifiers and the per-integration send/retry logic.

pub mod data;
pub mod ntfy;
pub mod pipeline;
pub mod pushover;
pub mod webhook;

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::alert::Alert;
use crate::labels::LabelSet;

/// Why a notification failed, as the `reason` label of
/// `alertmanager_notifications_failed_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureReason {
    /// Anything else.
    Other,
    /// HTTP 4xx.
    ClientError,
    /// HTTP 5xx.
    ServerError,
    /// HTTP 401/403.
    AuthError,
    /// HTTP 429.
    RateLimited,
    /// The flush deadline passed.
    ContextDeadlineExceeded,
}

impl FailureReason {
    /// Label value.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Other => "other",
            FailureReason::ClientError => "clientError",
            FailureReason::ServerError => "serverError",
            FailureReason::AuthError => "authError",
            FailureReason::RateLimited => "rateLimited",
            FailureReason::ContextDeadlineExceeded => "contextDeadlineExceeded",
        }
    }

    /// Every value, for pre-initialised metrics.
    pub const ALL: [FailureReason; 6] = [
        FailureReason::Other,
        FailureReason::ClientError,
        FailureReason::ServerError,
        FailureReason::AuthError,
        FailureReason::RateLimited,
        FailureReason::ContextDeadlineExceeded,
    ];
}

/// A failed attempt.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NotifyError {
    /// Worth another attempt within the same flush.
    pub retryable: bool,
    /// Metrics reason.
    pub reason: FailureReason,
    /// What happened (never contains secrets).
    pub message: String,
}

impl NotifyError {
    /// A non-retryable error.
    pub fn permanent(message: impl Into<String>) -> Self {
        NotifyError {
            retryable: false,
            reason: FailureReason::Other,
            message: message.into(),
        }
    }

    /// A retryable transport error; `url` text is redacted because Pushover
    /// URLs carry the token.
    pub fn transport(e: reqwest::Error) -> Self {
        let timeout = e.is_timeout();
        let e = e.without_url();
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        NotifyError {
            retryable: true,
            reason: if timeout {
                FailureReason::ContextDeadlineExceeded
            } else {
                FailureReason::Other
            },
            message: msg,
        }
    }

    /// Classifies an HTTP status like Alertmanager's retrier: 5xx retryable,
    /// everything else non-retryable.
    pub fn from_status(status: u16, body: &str) -> Self {
        let reason = match status {
            401 | 403 => FailureReason::AuthError,
            429 => FailureReason::RateLimited,
            400..=499 => FailureReason::ClientError,
            500..=599 => FailureReason::ServerError,
            _ => FailureReason::Other,
        };
        let body = body.trim();
        NotifyError {
            retryable: (500..=599).contains(&status),
            reason,
            message: if body.is_empty() {
                format!("unexpected status code {status}")
            } else {
                format!("unexpected status code {status}: {body}")
            },
        }
    }
}

/// What a notifier needs to know about the flush.
#[derive(Clone, Debug)]
pub struct NotifyContext {
    /// Aggregation group key.
    pub group_key: String,
    /// Group labels.
    pub group_labels: LabelSet,
    /// Receiver name.
    pub receiver: String,
    /// External URL for links.
    pub external_url: String,
    /// Time of the flush.
    pub now: DateTime<Utc>,
}

/// One configured integration.
pub enum Integration {
    /// Pushover.
    Pushover(pushover::Pushover),
    /// Webhook.
    Webhook(webhook::Webhook),
    /// ntfy.
    Ntfy(ntfy::Ntfy),
    /// An Alertmanager integration lookout does not implement.
    Unsupported(&'static str),
}

impl Integration {
    /// Integration name as used in the nflog and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Integration::Pushover(_) => "pushover",
            Integration::Webhook(_) => "webhook",
            Integration::Ntfy(_) => "ntfy",
            Integration::Unsupported(n) => n,
        }
    }

    /// Whether resolved alerts are sent.
    pub fn send_resolved(&self) -> bool {
        match self {
            Integration::Pushover(p) => p.send_resolved(),
            Integration::Webhook(w) => w.send_resolved(),
            Integration::Ntfy(n) => n.send_resolved(),
            Integration::Unsupported(_) => true,
        }
    }

    /// One attempt.
    pub async fn notify(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        match self {
            Integration::Pushover(p) => p.notify(ctx, alerts).await,
            Integration::Webhook(w) => w.notify(ctx, alerts).await,
            Integration::Ntfy(n) => n.notify(ctx, alerts).await,
            Integration::Unsupported(n) => Err(NotifyError::permanent(format!(
                "{n} notifications are not supported by lookout"
            ))),
        }
    }
}

/// Exponential back-off between attempts: 0.5 s growing ×1.5 with ±50 %
/// jitter, capped at 60 s (the schedule Alertmanager's retry stage uses).
pub struct Backoff {
    current: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { current: 0.5 }
    }
}

impl Backoff {
    /// The next wait.
    pub fn next_delay(&mut self) -> Duration {
        let jitter = 1.0 + (rand::random::<f64>() * 2.0 - 1.0) * 0.5;
        let d = self.current * jitter;
        self.current = (self.current * 1.5).min(60.0);
        Duration::from_secs_f64(d.min(60.0))
    }
}

/// Reads a secret file for an integration. Pushover keys and ntfy tokens
/// are trimmed of surrounding whitespace (a deliberate difference from
/// Alertmanager, which sends them verbatim and breaks on the trailing
/// newline a Kubernetes Secret usually has).
pub fn read_secret_file(path: &str) -> Result<String, NotifyError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| NotifyError::permanent(format!("read secret file {path}: {e}")))
}

/// Reads at most 1 KiB of a response body for error messages.
pub async fn body_snippet(resp: reqwest::Response) -> String {
    match resp.bytes().await {
        Ok(b) => String::from_utf8_lossy(&b[..b.len().min(1024)]).into_owned(),
        Err(_) => String::new(),
    }
}

/// Keeps at most `n` characters; the last kept one becomes `…` when cut.
pub fn truncate_runes(s: &str, n: usize) -> (String, bool) {
    let count = s.chars().count();
    if count <= n {
        return (s.to_string(), false);
    }
    if n == 0 {
        return (String::new(), true);
    }
    let mut out: String = s.chars().take(n - 1).collect();
    out.push('…');
    (out, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_runes() {
        assert_eq!(truncate_runes("abc", 3), ("abc".into(), false));
        assert_eq!(truncate_runes("abcd", 3), ("ab…".into(), true));
        assert_eq!(truncate_runes("ääää", 3), ("ää…".into(), true));
    }

    #[test]
    fn status_classification() {
        assert!(NotifyError::from_status(503, "").retryable);
        let e = NotifyError::from_status(429, "quota");
        assert!(!e.retryable);
        assert_eq!(e.reason, FailureReason::RateLimited);
        assert_eq!(e.message, "unexpected status code 429: quota");
        assert_eq!(
            NotifyError::from_status(401, "").reason,
            FailureReason::AuthError
        );
    }

    #[test]
    fn backoff_grows_and_caps() {
        let mut b = Backoff::default();
        let first = b.next_delay().as_secs_f64();
        assert!((0.25..=0.75).contains(&first));
        for _ in 0..30 {
            assert!(b.next_delay().as_secs_f64() <= 60.0);
        }
    }
}
