//! The HTTP client part of a scrape config (Prometheus' common
//! `http_config`): auth, TLS, proxy, redirects, HTTP/2.

use std::path::Path;

use lookout_model::Secret;
use serde::{Deserialize, Serialize};

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `basic_auth`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// User name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// File holding the user name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username_file: String,
    /// Password.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub password: Secret,
    /// File holding the password (re-read on every scrape).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password_file: String,
}

/// `authorization`: an `Authorization: <type> <credentials>` header.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// Scheme, default `Bearer`.
    #[serde(default, rename = "type")]
    pub auth_type: String,
    /// Credentials.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub credentials: Secret,
    /// File holding the credentials (re-read on every scrape).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credentials_file: String,
}

/// `tls_config`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// CA certificate(s), PEM text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ca: String,
    /// CA certificate file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ca_file: String,
    /// Client certificate, PEM text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert: String,
    /// Client certificate file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert_file: String,
    /// Client key, PEM text.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub key: Secret,
    /// Client key file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key_file: String,
    /// Name the server certificate is verified against (default: the URL host).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub server_name: String,
    /// Skip server certificate verification.
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Minimum TLS version (`TLS12`, `TLS13`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub min_version: String,
    /// Maximum TLS version.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub max_version: String,
}

impl TlsConfig {
    /// Prometheus' tls_config checks.
    pub fn validate(&self) -> Result<(), String> {
        if !self.ca.is_empty() && !self.ca_file.is_empty() {
            return Err("at most one of ca and ca_file must be configured".into());
        }
        if !self.cert.is_empty() && !self.cert_file.is_empty() {
            return Err("at most one of cert and cert_file must be configured".into());
        }
        if !self.key.is_empty() && !self.key_file.is_empty() {
            return Err("at most one of key and key_file must be configured".into());
        }
        let has_cert = !self.cert.is_empty() || !self.cert_file.is_empty();
        let has_key = !self.key.is_empty() || !self.key_file.is_empty();
        if has_cert && !has_key {
            return Err(
                "exactly one of key or key_file must be configured when a client certificate is configured"
                    .into(),
            );
        }
        if has_key && !has_cert {
            return Err(
                "exactly one of cert or cert_file must be configured when a client key is configured"
                    .into(),
            );
        }
        for v in [&self.min_version, &self.max_version] {
            if !v.is_empty() && !matches!(v.as_str(), "TLS10" | "TLS11" | "TLS12" | "TLS13") {
                return Err(format!("unknown TLS version: {v}"));
            }
        }
        Ok(())
    }

    fn set_directory(&mut self, dir: &Path) {
        for f in [&mut self.ca_file, &mut self.cert_file, &mut self.key_file] {
            join_dir(f, dir);
        }
    }
}

/// The HTTP client settings shared by scrape configs (and later remote
/// write and alerting).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpClientConfig {
    /// `basic_auth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    /// `authorization` (legacy `bearer_token[_file]` are folded into it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    /// `oauth2`: accepted by the parser, rejected by validation (not supported yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<serde_yaml_ng::Value>,
    /// Legacy bearer token.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub bearer_token: Secret,
    /// Legacy bearer token file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bearer_token_file: String,
    /// `tls_config`.
    #[serde(default)]
    pub tls_config: TlsConfig,
    /// HTTP proxy URL.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub proxy_url: String,
    /// Comma-separated hosts/CIDRs that bypass the proxy.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub no_proxy: String,
    /// Use `HTTP(S)_PROXY` / `NO_PROXY` from the environment.
    #[serde(default, skip_serializing_if = "is_false")]
    pub proxy_from_environment: bool,
    /// Follow HTTP 3xx redirects (default true).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub follow_redirects: bool,
    /// Allow HTTP/2 (default true).
    #[serde(default = "yes")]
    pub enable_http2: bool,
}

impl Default for HttpClientConfig {
    fn default() -> Self {
        HttpClientConfig {
            basic_auth: None,
            authorization: None,
            oauth2: None,
            bearer_token: Secret::default(),
            bearer_token_file: String::new(),
            tls_config: TlsConfig::default(),
            proxy_url: String::new(),
            no_proxy: String::new(),
            proxy_from_environment: false,
            follow_redirects: true,
            enable_http2: true,
        }
    }
}

impl HttpClientConfig {
    /// Prometheus' checks, in its order and wording; also folds
    /// `bearer_token[_file]` into `authorization` like Prometheus does.
    pub fn validate(&mut self) -> Result<(), String> {
        let has_bearer = !self.bearer_token.is_empty() || !self.bearer_token_file.is_empty();
        if !self.bearer_token.is_empty() && !self.bearer_token_file.is_empty() {
            return Err(
                "at most one of bearer_token & bearer_token_file must be configured".into(),
            );
        }
        if (self.basic_auth.is_some() || self.oauth2.is_some()) && has_bearer {
            return Err(
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"
                    .into(),
            );
        }
        if let Some(b) = &self.basic_auth {
            if !b.username.is_empty() && !b.username_file.is_empty() {
                return Err(
                    "at most one of basic_auth username & username_file must be configured".into(),
                );
            }
            if !b.password.is_empty() && !b.password_file.is_empty() {
                return Err(
                    "at most one of basic_auth password & password_file must be configured".into(),
                );
            }
        }
        if let Some(a) = &mut self.authorization {
            if has_bearer {
                return Err(
                    "authorization is not compatible with bearer_token & bearer_token_file".into(),
                );
            }
            if !a.credentials.is_empty() && !a.credentials_file.is_empty() {
                return Err(
                    "at most one of authorization credentials & credentials_file must be configured"
                        .into(),
                );
            }
            a.auth_type = a.auth_type.trim().to_string();
            if a.auth_type.is_empty() {
                a.auth_type = "Bearer".into();
            }
            if a.auth_type.eq_ignore_ascii_case("basic") {
                return Err(
                    "authorization type cannot be set to \"basic\", use \"basic_auth\" instead"
                        .into(),
                );
            }
            if self.basic_auth.is_some() || self.oauth2.is_some() {
                return Err(
                    "at most one of basic_auth, oauth2 & authorization must be configured".into(),
                );
            }
        } else if !self.bearer_token.is_empty() {
            self.authorization = Some(Authorization {
                auth_type: "Bearer".into(),
                credentials: std::mem::take(&mut self.bearer_token),
                credentials_file: String::new(),
            });
        } else if !self.bearer_token_file.is_empty() {
            self.authorization = Some(Authorization {
                auth_type: "Bearer".into(),
                credentials: Secret::default(),
                credentials_file: std::mem::take(&mut self.bearer_token_file),
            });
        }
        if self.oauth2.is_some() {
            return Err("oauth2 is not supported by lookout yet".into());
        }
        if !self.proxy_url.is_empty() && self.proxy_from_environment {
            return Err(
                "if proxy_from_environment is configured, proxy_url must not be configured".into(),
            );
        }
        if !self.no_proxy.is_empty() && self.proxy_url.is_empty() {
            return Err("if no_proxy is configured, proxy_url must also be configured".into());
        }
        if !self.proxy_url.is_empty() {
            reqwest::Url::parse(&self.proxy_url)
                .map_err(|e| format!("parse {:?}: {e}", self.proxy_url))?;
        }
        self.tls_config.validate()
    }

    /// Makes relative file paths absolute against the config file's directory.
    pub fn set_directory(&mut self, dir: &Path) {
        if let Some(b) = &mut self.basic_auth {
            join_dir(&mut b.password_file, dir);
            join_dir(&mut b.username_file, dir);
        }
        if let Some(a) = &mut self.authorization {
            join_dir(&mut a.credentials_file, dir);
        }
        join_dir(&mut self.bearer_token_file, dir);
        self.tls_config.set_directory(dir);
    }
}

fn join_dir(f: &mut String, dir: &Path) {
    if !f.is_empty() && Path::new(f.as_str()).is_relative() {
        *f = dir.join(f.as_str()).display().to_string();
    }
}
