//! Pushover, sent exactly as Alertmanager sends it (every parameter in the
//! query string of an empty `POST`, keys sorted, Go query escaping,
//! rune-based truncation), plus lookout's emergency-receipt handling: the
//! receipt of a priority-2 message is kept, and the emergency retries are
//! cancelled (`POST /1/receipts/<receipt>/cancel.json`) once none of the
//! alerts it announced is firing any more.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::alert::Alert;
use crate::config::receivers::PUSHOVER_API_URL;
use crate::config::PushoverConfig;
use crate::labels::alert_hash;
use crate::templates::TemplateEngine;

use super::data::build_data;
use super::{body_snippet, read_secret_file, truncate_runes, NotifyContext, NotifyError};

/// Go's `url.QueryEscape`: unreserved are ASCII letters, digits, `-_.~`;
/// space becomes `+`; everything else is `%XX`.
pub fn go_query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Go's `url.Values.Encode` for single-valued keys: sorted by key.
pub fn encode_query(params: &BTreeMap<&str, String>) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", go_query_escape(k), go_query_escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A receipt of an emergency-priority message still being retried by
/// Pushover.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Receipt {
    /// Aggregation group key.
    pub group_key: String,
    /// `<receiver>/pushover/<idx>`.
    pub integration: String,
    /// Pushover's receipt id.
    pub receipt: String,
    /// Hashes of the firing alerts the message announced.
    pub alerts: Vec<u64>,
    /// When the message was sent.
    pub sent_at: DateTime<Utc>,
    /// When Pushover stops retrying by itself.
    pub expires_at: DateTime<Utc>,
}

/// Outstanding receipts, persisted as JSON (write-through) so a restart
/// still cancels them.
#[derive(Default)]
pub struct ReceiptStore {
    entries: Mutex<Vec<Receipt>>,
    path: Option<PathBuf>,
}

impl ReceiptStore {
    /// Opens the store, loading `path` if it exists.
    pub fn open(path: Option<PathBuf>) -> Self {
        let entries = path
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice::<Vec<Receipt>>(&b).ok())
            .unwrap_or_default();
        ReceiptStore {
            entries: Mutex::new(entries),
            path,
        }
    }

    fn persist(&self, entries: &[Receipt]) {
        let Some(p) = &self.path else { return };
        let tmp = p.with_extension(format!("{:016x}", rand::random::<u64>()));
        let res = serde_json::to_vec(entries)
            .map_err(std::io::Error::other)
            .and_then(|b| {
                use std::io::Write;
                let mut f = std::fs::File::create(&tmp)?;
                f.write_all(&b)?;
                f.sync_all()?;
                std::fs::rename(&tmp, p)
            });
        if let Err(e) = res {
            let _ = std::fs::remove_file(&tmp);
            tracing::warn!(error = %e, "could not persist Pushover receipts");
        }
    }

    /// Adds a receipt.
    pub fn add(&self, r: Receipt) {
        let mut e = self.entries.lock();
        e.push(r);
        self.persist(&e);
    }

    /// Receipts of one group and integration.
    pub fn for_group(&self, group_key: &str, integration: &str) -> Vec<Receipt> {
        self.entries
            .lock()
            .iter()
            .filter(|r| r.group_key == group_key && r.integration == integration)
            .cloned()
            .collect()
    }

    /// Every receipt.
    pub fn all(&self) -> Vec<Receipt> {
        self.entries.lock().clone()
    }

    /// Removes one receipt.
    pub fn remove(&self, receipt: &str) {
        let mut e = self.entries.lock();
        e.retain(|r| r.receipt != receipt);
        self.persist(&e);
    }

    /// Drops receipts Pushover has stopped retrying anyway.
    pub fn expire(&self, now: DateTime<Utc>) {
        let mut e = self.entries.lock();
        let before = e.len();
        e.retain(|r| r.expires_at > now);
        if e.len() != before {
            self.persist(&e);
        }
    }
}

/// A configured Pushover integration.
pub struct Pushover {
    conf: PushoverConfig,
    client: reqwest::Client,
    templates: Arc<dyn TemplateEngine>,
    receipts: Arc<ReceiptStore>,
    integration_key: String,
}

impl Pushover {
    /// Builds the HTTP client. `integration_key` is `<receiver>/pushover/<idx>`.
    pub fn new(
        conf: PushoverConfig,
        templates: Arc<dyn TemplateEngine>,
        receipts: Arc<ReceiptStore>,
        integration_key: String,
    ) -> Result<Self, String> {
        let client = conf
            .http_config
            .clone()
            .unwrap_or_default()
            .build_client(None)?;
        Ok(Pushover {
            conf,
            client,
            templates,
            receipts,
            integration_key,
        })
    }

    /// Whether resolved alerts are sent.
    pub fn send_resolved(&self) -> bool {
        self.conf.send_resolved.unwrap_or(true)
    }

    fn api_url(&self) -> &str {
        self.conf.api_url.as_deref().unwrap_or(PUSHOVER_API_URL)
    }

    fn token(&self) -> Result<String, NotifyError> {
        if self.conf.token_file.is_empty() {
            Ok(self.conf.token.expose().to_string())
        } else {
            read_secret_file(&self.conf.token_file)
        }
    }

    fn user_key(&self) -> Result<String, NotifyError> {
        if self.conf.user_key_file.is_empty() {
            Ok(self.conf.user_key.expose().to_string())
        } else {
            read_secret_file(&self.conf.user_key_file)
        }
    }

    /// Renders the request parameters (the query string's content).
    pub fn params(
        &self,
        ctx: &NotifyContext,
        alerts: &[Alert],
    ) -> Result<BTreeMap<&'static str, String>, NotifyError> {
        let data = build_data(
            &ctx.receiver,
            &ctx.group_labels,
            alerts,
            &ctx.external_url,
            ctx.now,
        );
        let text = |s: &str| {
            self.templates
                .execute_text(s, &data)
                .map_err(|e| NotifyError::permanent(format!("template: {e}")))
        };
        let c = &self.conf;
        let mut p = BTreeMap::new();
        // Alertmanager passes the secrets through the template engine too.
        p.insert("token", text(&self.token()?)?);
        p.insert("user", text(&self.user_key()?)?);
        let (title, cut) = truncate_runes(&text(c.title.as_deref().unwrap_or(""))?, 250);
        if cut {
            tracing::warn!(group = %ctx.group_key, "Pushover title truncated to 250 runes");
        }
        p.insert("title", title);
        let message = if c.html {
            p.insert("html", "1".into());
            self.templates
                .execute_html(c.message.as_deref().unwrap_or(""), &data)
                .map_err(|e| NotifyError::permanent(format!("template: {e}")))?
        } else {
            text(c.message.as_deref().unwrap_or(""))?
        };
        if c.monospace {
            p.insert("monospace", "1".into());
        }
        let (message, cut) = truncate_runes(&message, 1024);
        if cut {
            tracing::warn!(group = %ctx.group_key, "Pushover message truncated to 1024 runes");
        }
        let message = message.trim().to_string();
        p.insert(
            "message",
            if message.is_empty() {
                "(no details)".into()
            } else {
                message
            },
        );
        let (url, _) = truncate_runes(&text(c.url.as_deref().unwrap_or(""))?, 512);
        p.insert("url", url);
        p.insert("url_title", text(c.url_title.as_deref().unwrap_or(""))?);
        p.insert("priority", text(c.priority.as_deref().unwrap_or(""))?);
        p.insert(
            "retry",
            c.retry.unwrap_or_default().whole_seconds().to_string(),
        );
        p.insert(
            "expire",
            c.expire.unwrap_or_default().whole_seconds().to_string(),
        );
        if let Some(ttl) = c.ttl {
            if ttl.whole_seconds() > 0 {
                p.insert("ttl", ttl.whole_seconds().to_string());
            }
        }
        p.insert("device", text(c.device.as_deref().unwrap_or(""))?);
        p.insert("sound", text(c.sound.as_deref().unwrap_or(""))?);
        Ok(p)
    }

    /// One attempt.
    pub async fn notify(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let params = self.params(ctx, alerts)?;
        let url = format!("{}?{}", self.api_url(), encode_query(&params));
        let http = self.conf.http_config.clone().unwrap_or_default();
        let req = self
            .client
            .post(url)
            .header("Content-Type", "text/plain")
            .body(Vec::new());
        let req = http.authorize(req).map_err(NotifyError::permanent)?;
        let resp = req.send().await.map_err(|e| NotifyError::transport(e))?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(NotifyError::from_status(status, &body_snippet(resp).await));
        }
        if params.get("priority").map(|p| p.trim()) == Some("2") {
            let body = body_snippet(resp).await;
            if let Some(receipt) = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| {
                    v.get("receipt")
                        .and_then(|r| r.as_str())
                        .map(str::to_string)
                })
            {
                let firing: Vec<u64> = alerts
                    .iter()
                    .filter(|a| !a.resolved_at(ctx.now))
                    .map(|a| alert_hash(&a.labels))
                    .collect();
                let expire = self.conf.expire.unwrap_or_default().whole_seconds();
                self.receipts.add(Receipt {
                    group_key: ctx.group_key.clone(),
                    integration: self.integration_key.clone(),
                    receipt,
                    alerts: firing,
                    sent_at: ctx.now,
                    expires_at: ctx.now + Duration::seconds(expire.max(1)),
                });
            }
        }
        Ok(())
    }

    fn cancel_url(&self, receipt: &str) -> String {
        let api = self.api_url();
        match api.strip_suffix("messages.json") {
            Some(prefix) => format!("{prefix}receipts/{receipt}/cancel.json"),
            None => format!(
                "{}/1/receipts/{receipt}/cancel.json",
                api.trim_end_matches('/')
            ),
        }
    }

    /// Cancels the emergency retries of receipts whose alerts are no longer
    /// in `firing` (resolved, silenced or inhibited). Called on every flush
    /// of the group. Failed cancellations are retried at the next flush.
    pub async fn cancel_stale_receipts(
        &self,
        group_key: &str,
        firing: &HashSet<u64>,
        now: DateTime<Utc>,
    ) {
        self.receipts.expire(now);
        for r in self.receipts.for_group(group_key, &self.integration_key) {
            if r.alerts.iter().any(|h| firing.contains(h)) {
                continue;
            }
            let token = match self.token() {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot cancel Pushover receipt");
                    continue;
                }
            };
            let body = format!("token={}", go_query_escape(&token));
            let req = self
                .client
                .post(self.cancel_url(&r.receipt))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body);
            match req.send().await {
                Ok(resp) if resp.status().is_success() || resp.status().is_client_error() => {
                    // 4xx: unknown or already expired receipt; nothing to retry.
                    tracing::info!(receipt = %r.receipt, status = resp.status().as_u16(), group = %group_key, "cancelled Pushover emergency retries");
                    self.receipts.remove(&r.receipt);
                }
                Ok(resp) => {
                    tracing::warn!(
                        status = resp.status().as_u16(),
                        "Pushover receipt cancel failed; will retry"
                    );
                }
                Err(e) => {
                    tracing::warn!(error = %e.without_url(), "Pushover receipt cancel failed; will retry");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_encoding_matches_go() {
        let mut p = BTreeMap::new();
        p.insert("title", "a b*~".to_string());
        p.insert("message", "Pod apps/web-1 is crash looping.".to_string());
        p.insert("device", String::new());
        assert_eq!(
            encode_query(&p),
            "device=&message=Pod+apps%2Fweb-1+is+crash+looping.&title=a+b%2A~"
        );
    }
}
