//! Prometheus' `alerting:` configuration section (`alert_relabel_configs`,
//! `alertmanagers` with static targets) and the HTTP target that POSTs
//! batches to `<scheme>://<address><path_prefix>/api/v2/alerts`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use lookout_model::relabel::{self, RelabelConfig};
use lookout_model::Labels;
use serde::Deserialize;

use crate::notifier::{AlertmanagerTarget, NotifyAlert};

fn default_scheme() -> String {
    "http".into()
}
fn default_timeout() -> String {
    "10s".into()
}
fn default_api() -> String {
    "v2".into()
}

/// `alerting:`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AlertingConfig {
    /// Relabelling applied to every alert before sending.
    #[serde(default)]
    pub alert_relabel_configs: Vec<RelabelConfig>,
    /// Alertmanager sets.
    #[serde(default)]
    pub alertmanagers: Vec<AlertmanagerConfig>,
}

/// One `alertmanagers:` entry.
#[derive(Clone, Debug, Deserialize)]
pub struct AlertmanagerConfig {
    /// `http` or `https`.
    #[serde(default = "default_scheme")]
    pub scheme: String,
    /// Prefix of the API path.
    #[serde(default)]
    pub path_prefix: String,
    /// Per-request timeout (default 10s).
    #[serde(default = "default_timeout")]
    pub timeout: String,
    /// Only `v2` exists in Prometheus 3.
    #[serde(default = "default_api")]
    pub api_version: String,
    /// Static targets.
    #[serde(default)]
    pub static_configs: Vec<StaticConfig>,
    /// Target relabelling (`__address__`, `__scheme__`, `__alerts_path__`).
    #[serde(default)]
    pub relabel_configs: Vec<RelabelConfig>,
    /// HTTP basic authentication.
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    /// `Authorization` header.
    #[serde(default)]
    pub authorization: Option<Authorization>,
    /// Legacy bearer token.
    #[serde(default)]
    pub bearer_token: Option<String>,
    /// Legacy bearer token file.
    #[serde(default)]
    pub bearer_token_file: Option<String>,
    /// TLS settings (CA file only).
    #[serde(default)]
    pub tls_config: Option<TlsConfig>,
    /// Everything else (other service discoveries, proxies...): reported as
    /// unsupported instead of silently ignored.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_yaml_ng::Value>,
}

/// `static_configs:` entry.
#[derive(Clone, Debug, Deserialize)]
pub struct StaticConfig {
    /// `host:port` targets.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Extra target labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// `basic_auth:`.
#[derive(Clone, Debug, Deserialize)]
pub struct BasicAuth {
    /// User.
    #[serde(default)]
    pub username: String,
    /// Password.
    #[serde(default)]
    pub password: Option<String>,
    /// File holding the password.
    #[serde(default)]
    pub password_file: Option<String>,
}

/// `authorization:`.
#[derive(Clone, Debug, Deserialize)]
pub struct Authorization {
    /// Scheme (default `Bearer`).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Credentials.
    #[serde(default)]
    pub credentials: Option<String>,
    /// File holding the credentials.
    #[serde(default)]
    pub credentials_file: Option<String>,
}

/// `tls_config:` (the subset lookout honours).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct TlsConfig {
    /// CA bundle to trust in addition to the system roots.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Other keys (cert_file, insecure_skip_verify...).
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_yaml_ng::Value>,
}

/// Errors in the alerting section.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("alerting: {0}")]
pub struct AlertingError(pub String);

impl AlertingConfig {
    /// Decodes the verbatim `alerting:` YAML value.
    pub fn from_yaml(v: &serde_yaml_ng::Value) -> Result<AlertingConfig, AlertingError> {
        let cfg: AlertingConfig =
            serde_yaml_ng::from_value(v.clone()).map_err(|e| AlertingError(e.to_string()))?;
        for r in cfg.alert_relabel_configs.iter().chain(
            cfg.alertmanagers
                .iter()
                .flat_map(|a| a.relabel_configs.iter()),
        ) {
            r.validate().map_err(|e| AlertingError(e.to_string()))?;
        }
        for am in &cfg.alertmanagers {
            if am.api_version != "v2" {
                return Err(AlertingError(format!(
                    "expected Alertmanager api version to be one of [v2] but got {}",
                    am.api_version
                )));
            }
            lookout_model::parse_duration(&am.timeout).map_err(|e| AlertingError(e.to_string()))?;
        }
        Ok(cfg)
    }

    /// Problems that do not stop lookout but mean an Alertmanager set is
    /// not (fully) used.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        for (i, am) in self.alertmanagers.iter().enumerate() {
            for k in am.other.keys() {
                w.push(format!(
                    "alerting.alertmanagers[{i}].{k} is not supported by lookout; only static_configs are used"
                ));
            }
            if let Some(t) = &am.tls_config {
                for k in t.other.keys() {
                    w.push(format!(
                        "alerting.alertmanagers[{i}].tls_config.{k} is not supported by lookout"
                    ));
                }
            }
        }
        w
    }

    /// The resolved Alertmanager URLs with their settings.
    pub fn targets(&self) -> Vec<ResolvedTarget> {
        let mut out = Vec::new();
        for am in &self.alertmanagers {
            let timeout = lookout_model::parse_duration(&am.timeout)
                .map(|ms| Duration::from_millis(ms.max(0) as u64))
                .unwrap_or(Duration::from_secs(10));
            let alerts_path = {
                let p = format!("/{}/api/v2/alerts", am.path_prefix.trim_matches('/'));
                p.replace("//", "/")
            };
            for sc in &am.static_configs {
                for t in &sc.targets {
                    let mut pairs: Vec<(String, String)> = sc
                        .labels
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    pairs.push(("__address__".into(), t.clone()));
                    pairs.push(("__scheme__".into(), am.scheme.clone()));
                    pairs.push(("__alerts_path__".into(), alerts_path.clone()));
                    let labels = Labels::from_pairs(pairs);
                    let Some(labels) = relabel::process(&labels, &am.relabel_configs) else {
                        continue;
                    };
                    let (Some(addr), Some(scheme), Some(path)) = (
                        labels.get("__address__"),
                        labels.get("__scheme__"),
                        labels.get("__alerts_path__"),
                    ) else {
                        continue;
                    };
                    out.push(ResolvedTarget {
                        url: format!("{scheme}://{addr}{path}"),
                        timeout,
                        auth: auth_of(am),
                        ca_file: am.tls_config.as_ref().and_then(|t| t.ca_file.clone()),
                    });
                }
            }
        }
        out
    }
}

/// How requests authenticate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// None.
    None,
    /// Basic (password or file).
    Basic(String, Option<String>, Option<String>),
    /// `Authorization: <type> <credentials>` (credentials or file).
    Header(String, Option<String>, Option<String>),
}

fn auth_of(am: &AlertmanagerConfig) -> Auth {
    if let Some(b) = &am.basic_auth {
        return Auth::Basic(
            b.username.clone(),
            b.password.clone(),
            b.password_file.clone(),
        );
    }
    if let Some(a) = &am.authorization {
        return Auth::Header(
            a.kind.clone().unwrap_or_else(|| "Bearer".into()),
            a.credentials.clone(),
            a.credentials_file.clone(),
        );
    }
    if am.bearer_token.is_some() || am.bearer_token_file.is_some() {
        return Auth::Header(
            "Bearer".into(),
            am.bearer_token.clone(),
            am.bearer_token_file.clone(),
        );
    }
    Auth::None
}

/// One Alertmanager after relabelling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedTarget {
    /// Full alerts URL.
    pub url: String,
    /// Request timeout.
    pub timeout: Duration,
    /// Authentication.
    pub auth: Auth,
    /// Extra CA bundle.
    pub ca_file: Option<String>,
}

fn read_secret(inline: &Option<String>, file: &Option<String>) -> Result<String, String> {
    if let Some(f) = file {
        return std::fs::read_to_string(f)
            .map(|s| s.trim().to_string())
            .map_err(|e| format!("unable to read {f}: {e}"));
    }
    Ok(inline.clone().unwrap_or_default())
}

/// POSTs alert batches as JSON to one Alertmanager.
pub struct HttpTarget {
    target: ResolvedTarget,
    client: reqwest::Client,
    rt: tokio::runtime::Runtime,
}

impl HttpTarget {
    /// A client for `target`.
    pub fn new(target: ResolvedTarget) -> Result<HttpTarget, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(c);
        }
        if let Some(f) = &target.ca_file {
            use rustls::pki_types::pem::PemObject;
            let pem = std::fs::read(f).map_err(|e| format!("unable to load CA {f}: {e}"))?;
            for c in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
                let c = c.map_err(|e| format!("invalid CA PEM {f}: {e}"))?;
                roots.add(c).map_err(|e| format!("invalid CA {f}: {e}"))?;
            }
        }
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        // reqwest's connector needs the runtime's reactor at build time.
        let _enter = rt.enter();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(target.timeout)
            .user_agent(concat!("lookout/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(HttpTarget { target, client, rt })
    }
}

impl AlertmanagerTarget for HttpTarget {
    fn name(&self) -> String {
        self.target.url.clone()
    }

    fn post(&self, alerts: &[NotifyAlert]) -> Result<(), String> {
        let body: Vec<serde_json::Value> = alerts.iter().map(NotifyAlert::to_json).collect();
        let body = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
        let mut req = self
            .client
            .post(&self.target.url)
            .header("Content-Type", "application/json")
            .body(body);
        match &self.target.auth {
            Auth::None => {}
            Auth::Basic(user, pw, pw_file) => {
                req = req.basic_auth(user, Some(read_secret(pw, pw_file)?));
            }
            Auth::Header(kind, cred, file) => {
                req = req.header(
                    "Authorization",
                    format!("{kind} {}", read_secret(cred, file)?),
                );
            }
        }
        let resp = self
            .rt
            .block_on(async move { req.send().await })
            .map_err(|e| format!("Post \"{}\": {e}", self.target.url))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(format!("bad response status {status}"));
        }
        Ok(())
    }
}
