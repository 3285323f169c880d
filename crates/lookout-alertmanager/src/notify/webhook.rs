//! Webhook: POSTs Alertmanager's JSON payload (version "4").

use crate::alert::Alert;
use crate::config::WebhookConfig;

use super::data::{build_data, WebhookMessage};
use super::{body_snippet, NotifyContext, NotifyError};

/// A configured webhook.
pub struct Webhook {
    conf: WebhookConfig,
    client: reqwest::Client,
}

impl Webhook {
    /// Builds the HTTP client.
    pub fn new(conf: WebhookConfig) -> Result<Self, String> {
        let http = conf.http_config.clone().unwrap_or_default();
        let timeout = conf.timeout.filter(|t| t.0 > 0).map(|t| t.std());
        let client = http.build_client(timeout)?;
        Ok(Webhook { conf, client })
    }

    /// Whether resolved alerts are sent.
    pub fn send_resolved(&self) -> bool {
        self.conf.send_resolved.unwrap_or(true)
    }

    /// One attempt.
    pub async fn notify(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let mut data = build_data(
            &ctx.receiver,
            &ctx.group_labels,
            alerts,
            &ctx.external_url,
            ctx.now,
        );
        let max = self.conf.max_alerts as usize;
        let mut truncated = 0u64;
        if max > 0 && data.alerts.len() > max {
            truncated = (data.alerts.len() - max) as u64;
            data.alerts.truncate(max);
        }
        let msg = WebhookMessage {
            data: &data,
            group_key: &ctx.group_key,
            truncated_alerts: truncated,
        };
        let body = serde_json::to_vec(&msg).map_err(|e| NotifyError::permanent(e.to_string()))?;
        let url = match &self.conf.url {
            Some(u) => u.clone(),
            None => super::read_secret_file(&self.conf.url_file)?,
        };
        let http = self.conf.http_config.clone().unwrap_or_default();
        let req = self
            .client
            .post(&url)
            .header("Content-Type", "application/json")
            .body(body);
        let req = http.authorize(req).map_err(NotifyError::permanent)?;
        let resp = req.send().await.map_err(|e| NotifyError::transport(e))?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        Err(NotifyError::from_status(status, &body_snippet(resp).await))
    }
}
