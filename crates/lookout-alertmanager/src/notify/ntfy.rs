//! ntfy (lookout extension): publishes with ntfy's JSON API, `POST <server>`
//! with `{"topic","title","message","priority","tags","click"}`.

use std::sync::Arc;

use crate::alert::Alert;
use crate::config::NtfyConfig;
use crate::templates::TemplateEngine;

use super::data::build_data;
use super::{body_snippet, truncate_runes, NotifyContext, NotifyError};

/// A configured ntfy integration.
pub struct Ntfy {
    conf: NtfyConfig,
    client: reqwest::Client,
    templates: Arc<dyn TemplateEngine>,
}

/// Maps ntfy's priority names to numbers; numbers 1–5 pass through.
fn priority_number(s: &str) -> Option<u8> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "min" => Some(1),
        "2" | "low" => Some(2),
        "3" | "default" => Some(3),
        "4" | "high" => Some(4),
        "5" | "max" | "urgent" => Some(5),
        _ => None,
    }
}

impl Ntfy {
    /// Builds the HTTP client.
    pub fn new(conf: NtfyConfig, templates: Arc<dyn TemplateEngine>) -> Result<Self, String> {
        let client = conf
            .http_config
            .clone()
            .unwrap_or_default()
            .build_client(None)?;
        Ok(Ntfy {
            conf,
            client,
            templates,
        })
    }

    /// Whether resolved alerts are sent.
    pub fn send_resolved(&self) -> bool {
        self.conf.send_resolved.unwrap_or(true)
    }

    /// One attempt.
    pub async fn notify(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let data = build_data(
            &ctx.receiver,
            &ctx.group_labels,
            alerts,
            &ctx.external_url,
            ctx.now,
        );
        let t = |s: &str| {
            self.templates
                .execute_text(s, &data)
                .map_err(|e| NotifyError::permanent(format!("template: {e}")))
        };
        let topic = t(&self.conf.topic)?;
        let title = t(self.conf.title.as_deref().unwrap_or(""))?;
        let message = t(self.conf.message.as_deref().unwrap_or(""))?;
        // ntfy caps messages at 4096 bytes by default; stay well under.
        let (message, _) = truncate_runes(message.trim(), 4000);
        let message = if message.is_empty() {
            "(no details)".to_string()
        } else {
            message
        };
        let prio_text = t(self.conf.priority.as_deref().unwrap_or(""))?;
        let click = t(self.conf.click.as_deref().unwrap_or(""))?;
        let mut tags = Vec::new();
        for tag in &self.conf.tags {
            let v = t(tag)?;
            if !v.trim().is_empty() {
                tags.push(v.trim().to_string());
            }
        }
        let mut body = serde_json::json!({
            "topic": topic,
            "title": title,
            "message": message,
        });
        if let Some(p) = priority_number(&prio_text) {
            body["priority"] = p.into();
        }
        if !tags.is_empty() {
            body["tags"] = tags.into();
        }
        if !click.trim().is_empty() {
            body["click"] = click.trim().into();
        }
        let url = self
            .conf
            .url
            .clone()
            .unwrap_or_else(|| crate::config::receivers::NTFY_DEFAULT_URL.into());
        let http = self.conf.http_config.clone().unwrap_or_default();
        let mut req = self
            .client
            .post(url)
            .header("Content-Type", "application/json")
            .body(body.to_string());
        req = http.authorize(req).map_err(NotifyError::permanent)?;
        let token = if !self.conf.token_file.is_empty() {
            Some(super::read_secret_file(&self.conf.token_file)?)
        } else if !self.conf.token.is_empty() {
            Some(self.conf.token.expose().to_string())
        } else {
            None
        };
        if let Some(tok) = token {
            req = req.bearer_auth(tok);
        }
        let resp = req.send().await.map_err(|e| NotifyError::transport(e))?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        Err(NotifyError::from_status(status, &body_snippet(resp).await))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities() {
        assert_eq!(priority_number("high"), Some(4));
        assert_eq!(priority_number(" 5 "), Some(5));
        assert_eq!(priority_number("7"), None);
    }
}
