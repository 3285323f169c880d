//! `receivers`: named lists of integrations, with Pushover, webhook and ntfy
//! typed in full. Other Alertmanager integrations are accepted (so existing
//! configs load) and reported as unsupported when a notification is due.

use lookout_model::Secret;
use serde::{Deserialize, Deserializer, Serialize};

use super::http::HttpClientConfig;
use super::types::{is_false, GoDuration};

/// Default Pushover API endpoint.
pub const PUSHOVER_API_URL: &str = "https://api.pushover.net/1/messages.json";
/// Default ntfy server.
pub const NTFY_DEFAULT_URL: &str = "https://ntfy.sh";

/// Reads a YAML scalar of any kind (string, number, bool) as a string, the
/// way Go's YAML decoder fills a string field.
pub fn stringish<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<serde_yaml_ng::Value>::deserialize(d)?;
    match v {
        None | Some(serde_yaml_ng::Value::Null) => Ok(None),
        Some(serde_yaml_ng::Value::String(s)) => Ok(Some(s)),
        Some(serde_yaml_ng::Value::Number(n)) => Ok(Some(n.to_string())),
        Some(serde_yaml_ng::Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!(
            "cannot unmarshal {other:?} into a string"
        ))),
    }
}

/// One receiver.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Receiver {
    /// Unique name (`null` in YAML reads as missing).
    #[serde(default)]
    pub name: Option<String>,
    /// Pushover integrations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pushover_configs: Vec<PushoverConfig>,
    /// Webhook integrations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhook_configs: Vec<WebhookConfig>,
    /// ntfy integrations (lookout extension; not part of `config.original`).
    #[serde(default, skip_serializing)]
    pub ntfy_configs: Vec<NtfyConfig>,
    // Alertmanager integrations accepted verbatim but not implemented.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "masked"
    )]
    #[allow(missing_docs)]
    pub email_configs: Vec<serde_yaml_ng::Value>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "masked"
    )]
    #[allow(missing_docs)]
    pub pagerduty_configs: Vec<serde_yaml_ng::Value>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "masked"
    )]
    #[allow(missing_docs)]
    pub slack_configs: Vec<serde_yaml_ng::Value>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "masked"
    )]
    #[allow(missing_docs)]
    pub opsgenie_configs: Vec<serde_yaml_ng::Value>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "masked"
    )]
    #[allow(missing_docs)]
    pub wechat_configs: Vec<serde_yaml_ng::Value>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "masked"
    )]
    #[allow(missing_docs)]
    pub victorops_configs: Vec<serde_yaml_ng::Value>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "masked"
    )]
    #[allow(missing_docs)]
    pub sns_configs: Vec<serde_yaml_ng::Value>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "masked"
    )]
    #[allow(missing_docs)]
    pub telegram_configs: Vec<serde_yaml_ng::Value>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "masked"
    )]
    #[allow(missing_docs)]
    pub discord_configs: Vec<serde_yaml_ng::Value>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "masked"
    )]
    #[allow(missing_docs)]
    pub webex_configs: Vec<serde_yaml_ng::Value>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "masked"
    )]
    #[allow(missing_docs)]
    pub msteams_configs: Vec<serde_yaml_ng::Value>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "masked"
    )]
    #[allow(missing_docs)]
    pub msteamsv2_configs: Vec<serde_yaml_ng::Value>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "masked"
    )]
    #[allow(missing_docs)]
    pub jira_configs: Vec<serde_yaml_ng::Value>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "masked"
    )]
    #[allow(missing_docs)]
    pub rocketchat_configs: Vec<serde_yaml_ng::Value>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "masked"
    )]
    #[allow(missing_docs)]
    pub incidentio_configs: Vec<serde_yaml_ng::Value>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "masked"
    )]
    #[allow(missing_docs)]
    pub mattermost_configs: Vec<serde_yaml_ng::Value>,
}

impl Receiver {
    /// `(integration name, count)` for every non-empty list of an integration
    /// lookout does not implement.
    pub fn unsupported_integrations(&self) -> Vec<(&'static str, usize)> {
        let all = [
            ("email", self.email_configs.len()),
            ("pagerduty", self.pagerduty_configs.len()),
            ("slack", self.slack_configs.len()),
            ("opsgenie", self.opsgenie_configs.len()),
            ("wechat", self.wechat_configs.len()),
            ("victorops", self.victorops_configs.len()),
            ("sns", self.sns_configs.len()),
            ("telegram", self.telegram_configs.len()),
            ("discord", self.discord_configs.len()),
            ("webex", self.webex_configs.len()),
            ("msteams", self.msteams_configs.len()),
            ("msteamsv2", self.msteamsv2_configs.len()),
            ("jira", self.jira_configs.len()),
            ("rocketchat", self.rocketchat_configs.len()),
            ("incidentio", self.incidentio_configs.len()),
            ("mattermost", self.mattermost_configs.len()),
        ];
        all.into_iter().filter(|(_, n)| *n > 0).collect()
    }
}

/// Replaces values of keys that usually hold credentials with `<secret>`.
fn mask_value(v: &serde_yaml_ng::Value) -> serde_yaml_ng::Value {
    use serde_yaml_ng::Value;
    const SECRET_KEYS: &[&str] = &[
        "password",
        "auth_password",
        "auth_secret",
        "api_key",
        "api_secret",
        "token",
        "bot_token",
        "routing_key",
        "service_key",
        "api_url",
        "webhook_url",
        "credentials",
        "bearer_token",
        "client_secret",
        "secret",
        "key",
        "token_id",
        "app_token",
        "chat_id",
    ];
    match v {
        Value::Mapping(m) => {
            let mut out = serde_yaml_ng::Mapping::new();
            for (k, val) in m {
                let masked = match k.as_str() {
                    Some(name)
                        if SECRET_KEYS.contains(&name) && !matches!(val, Value::Mapping(_)) =>
                    {
                        Value::String("<secret>".into())
                    }
                    _ => mask_value(val),
                };
                out.insert(k.clone(), masked);
            }
            Value::Mapping(out)
        }
        Value::Sequence(s) => Value::Sequence(s.iter().map(mask_value).collect()),
        other => other.clone(),
    }
}

fn masked<S: serde::Serializer>(v: &[serde_yaml_ng::Value], s: S) -> Result<S::Ok, S::Error> {
    let m: Vec<serde_yaml_ng::Value> = v.iter().map(mask_value).collect();
    m.serialize(s)
}

/// `pushover_configs[]`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PushoverConfig {
    /// Whether to notify about resolved alerts (default true).
    #[serde(default)]
    pub send_resolved: Option<bool>,
    /// HTTP client settings (default: the global ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Recipient user/group key.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub user_key: Secret,
    /// File holding the user key (Alertmanager 0.26+).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user_key_file: String,
    /// Application token.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub token: Secret,
    /// File holding the token (Alertmanager 0.26+).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token_file: String,
    /// Title template.
    #[serde(
        default,
        deserialize_with = "stringish",
        skip_serializing_if = "Option::is_none"
    )]
    pub title: Option<String>,
    /// Message template.
    #[serde(
        default,
        deserialize_with = "stringish",
        skip_serializing_if = "Option::is_none"
    )]
    pub message: Option<String>,
    /// Supplementary URL template.
    #[serde(
        default,
        deserialize_with = "stringish",
        skip_serializing_if = "Option::is_none"
    )]
    pub url: Option<String>,
    /// URL title template.
    #[serde(
        default,
        deserialize_with = "stringish",
        skip_serializing_if = "Option::is_none"
    )]
    pub url_title: Option<String>,
    /// Device name template.
    #[serde(
        default,
        deserialize_with = "stringish",
        skip_serializing_if = "Option::is_none"
    )]
    pub device: Option<String>,
    /// Sound template.
    #[serde(
        default,
        deserialize_with = "stringish",
        skip_serializing_if = "Option::is_none"
    )]
    pub sound: Option<String>,
    /// Priority template (rendered text is sent as-is).
    #[serde(
        default,
        deserialize_with = "stringish",
        skip_serializing_if = "Option::is_none"
    )]
    pub priority: Option<String>,
    /// Emergency retry period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<GoDuration>,
    /// Emergency expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire: Option<GoDuration>,
    /// Message time-to-live (Alertmanager 0.27+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<GoDuration>,
    /// Render the message with HTML escaping and set `html=1`.
    #[serde(default)]
    pub html: bool,
    /// Set `monospace=1` (Alertmanager 0.29+).
    #[serde(default, skip_serializing_if = "is_false")]
    pub monospace: bool,
    /// lookout extension: the messages endpoint (default Pushover's). Lets
    /// tests and self-hosted relays receive the requests. Never serialised,
    /// so `config.original` stays valid for Alertmanager's own loader.
    #[serde(default, skip_serializing)]
    pub api_url: Option<String>,
}

impl PushoverConfig {
    /// Fills Alertmanager's defaults.
    pub fn apply_defaults(&mut self) {
        self.send_resolved.get_or_insert(true);
        self.title
            .get_or_insert_with(|| r#"{{ template "pushover.default.title" . }}"#.into());
        self.message
            .get_or_insert_with(|| r#"{{ template "pushover.default.message" . }}"#.into());
        self.url
            .get_or_insert_with(|| r#"{{ template "pushover.default.url" . }}"#.into());
        self.priority
            .get_or_insert_with(|| r#"{{ if eq .Status "firing" }}2{{ else }}0{{ end }}"#.into());
        self.retry.get_or_insert(GoDuration(60_000_000_000));
        self.expire.get_or_insert(GoDuration(3_600_000_000_000));
    }

    /// Required and exclusive fields.
    pub fn validate(&self) -> Result<(), String> {
        if self.user_key.is_empty() && self.user_key_file.is_empty() {
            return Err("missing user key in Pushover config".into());
        }
        if !self.user_key.is_empty() && !self.user_key_file.is_empty() {
            return Err("at most one of user_key & user_key_file must be configured".into());
        }
        if self.token.is_empty() && self.token_file.is_empty() {
            return Err("missing token in Pushover config".into());
        }
        if !self.token.is_empty() && !self.token_file.is_empty() {
            return Err("at most one of token & token_file must be configured".into());
        }
        if self.html && self.monospace {
            return Err("html and monospace options are mutually exclusive".into());
        }
        if let Some(u) = &self.api_url {
            check_http_url(u)?;
        }
        Ok(())
    }
}

/// Checks that `u` is an absolute http(s) URL, with Alertmanager's wording.
pub fn check_http_url(u: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(u).map_err(|e| format!("parse {u:?}: {e}"))?;
    match parsed.scheme() {
        "http" | "https" => {}
        s => return Err(format!("unsupported scheme {s:?} for URL")),
    }
    if parsed.host_str().unwrap_or("").is_empty() {
        return Err("host required for URL".into());
    }
    Ok(())
}

/// `webhook_configs[]`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Whether to notify about resolved alerts (default true).
    #[serde(default)]
    pub send_resolved: Option<bool>,
    /// HTTP client settings (default: the global ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Target URL (printed as `<secret>`, as current Alertmanager does).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "secret_opt"
    )]
    pub url: Option<String>,
    /// File holding the URL (Alertmanager 0.26+).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url_file: String,
    /// Maximum alerts per payload; 0 = all.
    #[serde(default)]
    pub max_alerts: u32,
    /// Per-request timeout (Alertmanager 0.28+); 0 = none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<super::types::ModelDuration>,
}

fn secret_opt<S: serde::Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str("<secret>"),
        None => s.serialize_none(),
    }
}

impl WebhookConfig {
    /// Fills defaults.
    pub fn apply_defaults(&mut self) {
        self.send_resolved.get_or_insert(true);
    }

    /// Required and exclusive fields.
    pub fn validate(&self) -> Result<(), String> {
        match (&self.url, self.url_file.is_empty()) {
            (None, true) => Err("missing URL in webhook config".into()),
            (Some(_), false) => Err("at most one of url & url_file must be configured".into()),
            (Some(u), true) => check_http_url(u),
            (None, false) => Ok(()),
        }
    }
}

/// `ntfy_configs[]` (lookout extension): publishes with ntfy's JSON API
/// (`POST <url>` with `{"topic", "title", "message", "priority", "tags",
/// "click"}`).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NtfyConfig {
    /// Whether to notify about resolved alerts (default true).
    #[serde(default)]
    pub send_resolved: Option<bool>,
    /// HTTP client settings; basic auth or an access token go here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Server base URL, default `https://ntfy.sh`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Topic (template).
    #[serde(default)]
    pub topic: String,
    /// Access token sent as `Authorization: Bearer`.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub token: Secret,
    /// File holding the access token.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token_file: String,
    /// Title template (default: Pushover's default title).
    #[serde(
        default,
        deserialize_with = "stringish",
        skip_serializing_if = "Option::is_none"
    )]
    pub title: Option<String>,
    /// Message template (default: Pushover's default message).
    #[serde(
        default,
        deserialize_with = "stringish",
        skip_serializing_if = "Option::is_none"
    )]
    pub message: Option<String>,
    /// Priority template: 1–5 or min/low/default/high/max (default: 4 when
    /// firing, 3 when resolved).
    #[serde(
        default,
        deserialize_with = "stringish",
        skip_serializing_if = "Option::is_none"
    )]
    pub priority: Option<String>,
    /// Tag templates (emoji short codes or free text).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Click URL template (default: the Alertmanager UI link).
    #[serde(
        default,
        deserialize_with = "stringish",
        skip_serializing_if = "Option::is_none"
    )]
    pub click: Option<String>,
}

impl NtfyConfig {
    /// Fills defaults.
    pub fn apply_defaults(&mut self) {
        self.send_resolved.get_or_insert(true);
        self.url.get_or_insert_with(|| NTFY_DEFAULT_URL.into());
        self.title
            .get_or_insert_with(|| r#"{{ template "pushover.default.title" . }}"#.into());
        self.message
            .get_or_insert_with(|| r#"{{ template "pushover.default.message" . }}"#.into());
        self.priority
            .get_or_insert_with(|| r#"{{ if eq .Status "firing" }}4{{ else }}3{{ end }}"#.into());
        self.click
            .get_or_insert_with(|| r#"{{ template "pushover.default.url" . }}"#.into());
    }

    /// Required fields.
    pub fn validate(&self) -> Result<(), String> {
        if self.topic.is_empty() {
            return Err("missing topic in ntfy config".into());
        }
        if !self.token.is_empty() && !self.token_file.is_empty() {
            return Err("at most one of token & token_file must be configured".into());
        }
        if let Some(u) = &self.url {
            check_http_url(u)?;
        }
        Ok(())
    }
}
