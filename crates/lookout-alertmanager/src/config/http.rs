//! `http_config`: the HTTP client settings every integration accepts
//! (Prometheus' common HTTP client config), and building a client from them.

use std::collections::BTreeMap;
use std::path::Path;

use lookout_model::Secret;
use serde::{Deserialize, Serialize};

fn yes() -> bool {
    true
}

/// `basic_auth`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
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
    /// File holding the password.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password_file: String,
}

/// `authorization`: an `Authorization: <type> <credentials>` header.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// Scheme, default `Bearer`.
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub ty: String,
    /// Credentials.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub credentials: Secret,
    /// File holding the credentials.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credentials_file: String,
}

/// `tls_config`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Inline CA PEM.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ca: String,
    /// CA file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ca_file: String,
    /// Inline client certificate PEM.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert: String,
    /// Client certificate file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert_file: String,
    /// Inline client key PEM.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub key: Secret,
    /// Client key file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key_file: String,
    /// SNI server name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub server_name: String,
    /// Skip certificate verification.
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Minimum TLS version (`TLS12`, `TLS13`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub min_version: String,
    /// Maximum TLS version.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub max_version: String,
}

/// `oauth2` (accepted and validated; lookout does not fetch tokens yet).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2 {
    /// Client id.
    #[serde(default)]
    pub client_id: String,
    /// Client secret.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub client_secret: Secret,
    /// Client secret file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_secret_file: String,
    /// Scopes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Token URL.
    #[serde(default)]
    pub token_url: String,
    /// Extra endpoint parameters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub endpoint_params: BTreeMap<String, String>,
    /// TLS for the token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<TlsConfig>,
    /// Proxy for the token endpoint.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub proxy_url: String,
}

/// `http_config`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpClientConfig {
    /// Basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    /// Authorization header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    /// OAuth 2 client credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<OAuth2>,
    /// Deprecated bearer token.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub bearer_token: Secret,
    /// Deprecated bearer token file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bearer_token_file: String,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<TlsConfig>,
    /// Proxy URL.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub proxy_url: String,
    /// Hosts that bypass the proxy.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub no_proxy: String,
    /// Use `HTTP(S)_PROXY` from the environment.
    #[serde(default, skip_serializing_if = "super::types::is_false")]
    pub proxy_from_environment: bool,
    /// Headers sent to the proxy on CONNECT.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub proxy_connect_header: BTreeMap<String, Vec<Secret>>,
    /// Follow HTTP redirects.
    #[serde(default = "yes")]
    pub follow_redirects: bool,
    /// Allow HTTP/2.
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
            tls_config: None,
            proxy_url: String::new(),
            no_proxy: String::new(),
            proxy_from_environment: false,
            proxy_connect_header: BTreeMap::new(),
            follow_redirects: true,
            enable_http2: true,
        }
    }
}

impl HttpClientConfig {
    /// Checks the mutually exclusive settings like Prometheus' common package.
    pub fn validate(&self) -> Result<(), String> {
        let has_bearer = !self.bearer_token.is_empty() || !self.bearer_token_file.is_empty();
        let n = usize::from(self.basic_auth.is_some())
            + usize::from(self.oauth2.is_some())
            + usize::from(has_bearer);
        if n > 1 {
            return Err(
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"
                    .into(),
            );
        }
        if !self.bearer_token.is_empty() && !self.bearer_token_file.is_empty() {
            return Err(
                "at most one of bearer_token & bearer_token_file must be configured".into(),
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
        if let Some(a) = &self.authorization {
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
            if a.ty.eq_ignore_ascii_case("basic") {
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
        }
        if let Some(o) = &self.oauth2 {
            if o.client_id.is_empty() {
                return Err("oauth2 client_id must be configured".into());
            }
            if o.token_url.is_empty() {
                return Err("oauth2 token_url must be configured".into());
            }
        }
        if !self.proxy_url.is_empty() {
            reqwest::Url::parse(&self.proxy_url)
                .map_err(|e| format!("parse {:?}: {e}", self.proxy_url))?;
            if self.proxy_from_environment {
                return Err(
                    "if proxy_from_environment is configured, proxy_url must not be configured"
                        .into(),
                );
            }
        }
        Ok(())
    }

    /// Resolves relative file paths against the config file's directory, as
    /// Alertmanager does for every `http_config`.
    pub fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut String| {
            if !p.is_empty() && Path::new(p.as_str()).is_relative() {
                *p = base.join(&*p).to_string_lossy().into_owned();
            }
        };
        if let Some(b) = &mut self.basic_auth {
            fix(&mut b.password_file);
            fix(&mut b.username_file);
        }
        if let Some(a) = &mut self.authorization {
            fix(&mut a.credentials_file);
        }
        fix(&mut self.bearer_token_file);
        if let Some(t) = &mut self.tls_config {
            fix(&mut t.ca_file);
            fix(&mut t.cert_file);
            fix(&mut t.key_file);
        }
        if let Some(o) = &mut self.oauth2 {
            fix(&mut o.client_secret_file);
        }
    }

    /// Builds a reqwest client honouring TLS, proxy and redirect settings.
    /// Authentication headers are added per request by [`Self::authorize`].
    pub fn build_client(
        &self,
        timeout: Option<std::time::Duration>,
    ) -> Result<reqwest::Client, String> {
        let mut b = reqwest::Client::builder()
            .user_agent(concat!("lookout-alertmanager/", env!("CARGO_PKG_VERSION")))
            .redirect(if self.follow_redirects {
                reqwest::redirect::Policy::limited(10)
            } else {
                reqwest::redirect::Policy::none()
            });
        if !self.proxy_from_environment {
            b = b.no_proxy();
        }
        if !self.enable_http2 {
            b = b.http1_only();
        }
        if let Some(t) = timeout {
            b = b.timeout(t);
        }
        if !self.proxy_url.is_empty() {
            let p = reqwest::Proxy::all(&self.proxy_url).map_err(|e| e.to_string())?;
            b = b.proxy(p);
        }
        if let Some(tls) = &self.tls_config {
            if tls.insecure_skip_verify {
                b = b.danger_accept_invalid_certs(true);
            }
            let ca_pem = if !tls.ca_file.is_empty() {
                Some(
                    std::fs::read(&tls.ca_file)
                        .map_err(|e| format!("unable to read CA cert: {e}"))?,
                )
            } else if !tls.ca.is_empty() {
                Some(tls.ca.clone().into_bytes())
            } else {
                None
            };
            if let Some(pem) = ca_pem {
                for cert in
                    reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| e.to_string())?
                {
                    b = b.add_root_certificate(cert);
                }
            }
            let cert = if !tls.cert_file.is_empty() {
                Some(std::fs::read(&tls.cert_file).map_err(|e| e.to_string())?)
            } else if !tls.cert.is_empty() {
                Some(tls.cert.clone().into_bytes())
            } else {
                None
            };
            let key = if !tls.key_file.is_empty() {
                Some(std::fs::read(&tls.key_file).map_err(|e| e.to_string())?)
            } else if !tls.key.is_empty() {
                Some(tls.key.expose().as_bytes().to_vec())
            } else {
                None
            };
            if let (Some(mut c), Some(k)) = (cert, key) {
                c.push(b'\n');
                c.extend_from_slice(&k);
                let id = reqwest::Identity::from_pem(&c).map_err(|e| e.to_string())?;
                b = b.identity(id);
            }
        }
        b.build().map_err(|e| e.to_string())
    }

    /// Adds the configured authentication to a request. Files are read on
    /// every request so rotated credentials apply without a reload.
    pub fn authorize(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, String> {
        let read = |p: &str| -> Result<String, String> {
            std::fs::read_to_string(p)
                .map(|s| s.trim().to_string())
                .map_err(|e| format!("unable to read {p}: {e}"))
        };
        if let Some(b) = &self.basic_auth {
            let user = if b.username_file.is_empty() {
                b.username.clone()
            } else {
                read(&b.username_file)?
            };
            let pass = if b.password_file.is_empty() {
                b.password.expose().to_string()
            } else {
                read(&b.password_file)?
            };
            return Ok(req.basic_auth(user, Some(pass)));
        }
        if let Some(a) = &self.authorization {
            let ty = if a.ty.is_empty() {
                "Bearer"
            } else {
                a.ty.as_str()
            };
            let cred = if a.credentials_file.is_empty() {
                a.credentials.expose().to_string()
            } else {
                read(&a.credentials_file)?
            };
            return Ok(req.header("Authorization", format!("{ty} {cred}")));
        }
        if !self.bearer_token.is_empty() {
            return Ok(req.bearer_auth(self.bearer_token.expose()));
        }
        if !self.bearer_token_file.is_empty() {
            return Ok(req.bearer_auth(read(&self.bearer_token_file)?));
        }
        if self.oauth2.is_some() {
            return Err("oauth2 is not supported by lookout's notifiers yet".into());
        }
        Ok(req)
    }
}
