//! The HTTP side of a scrape: building a client from `http_config`, and
//! fetching one body with Prometheus' headers, timeout and size limit.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, USER_AGENT};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::config::{accept_header, HttpClientConfig, ScrapeConfig, TlsConfig};

/// The User-Agent lookout scrapes with.
pub const USER_AGENT_VALUE: &str = concat!("lookout/", env!("CARGO_PKG_VERSION"));

/// A client could not be built from the config.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ClientError(pub String);

/// A scrape failure, worded like Prometheus' `lastError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Non-2xx status.
    #[error("server returned HTTP status {0}")]
    Status(String),
    /// The uncompressed body reached `body_size_limit`.
    #[error("body size limit exceeded")]
    BodySizeLimit,
    /// The scrape took longer than `scrape_timeout`.
    #[error("Get \"{0}\": context deadline exceeded")]
    Timeout(String),
    /// Transport failure (connect, TLS, reset...).
    #[error("Get \"{url}\": {message}")]
    Transport {
        /// Target URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A credentials file could not be read.
    #[error("{0}")]
    Credentials(String),
}

/// A fetched body with its content type.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Decompressed body.
    pub body: Vec<u8>,
    /// `Content-Type` header, empty when absent.
    pub content_type: String,
}

/// Per-pool HTTP client plus the request settings derived from the config.
#[derive(Clone)]
pub struct ScrapeClient {
    client: reqwest::Client,
    http: HttpClientConfig,
    accept: HeaderValue,
    compression: bool,
    body_size_limit: u64,
}

impl ScrapeClient {
    /// Builds a client for a scrape config. Reads TLS files now (a reload
    /// re-reads them); credentials files are read on every scrape.
    pub fn new(cfg: &ScrapeConfig) -> Result<Self, ClientError> {
        let http = &cfg.http;
        let mut b = reqwest::Client::builder()
            .user_agent(USER_AGENT_VALUE)
            .redirect(if http.follow_redirects {
                reqwest::redirect::Policy::limited(10)
            } else {
                reqwest::redirect::Policy::none()
            })
            .pool_idle_timeout(Duration::from_secs(5 * 60))
            .tls_backend_preconfigured(tls_client_config(&http.tls_config, http.enable_http2)?);
        if !http.enable_http2 {
            b = b.http1_only();
        }
        if !cfg.enable_compression {
            b = b.no_gzip();
        }
        b = b.no_proxy();
        if !http.proxy_url.is_empty() {
            let mut p = reqwest::Proxy::all(&http.proxy_url)
                .map_err(|e| ClientError(format!("invalid proxy_url: {e}")))?;
            if !http.no_proxy.is_empty() {
                p = p.no_proxy(reqwest::NoProxy::from_string(&http.no_proxy));
            }
            b = b.proxy(p);
        } else if http.proxy_from_environment {
            for (var, scheme) in [("HTTP_PROXY", "http"), ("HTTPS_PROXY", "https")] {
                let v = std::env::var(var).or_else(|_| std::env::var(var.to_ascii_lowercase()));
                if let Ok(v) = v {
                    let p = if scheme == "http" {
                        reqwest::Proxy::http(&v)
                    } else {
                        reqwest::Proxy::https(&v)
                    }
                    .map_err(|e| ClientError(format!("invalid {var}: {e}")))?;
                    b = b.proxy(p.no_proxy(reqwest::NoProxy::from_env()));
                }
            }
        }
        let client = b
            .build()
            .map_err(|e| ClientError(format!("building HTTP client: {e}")))?;
        let accept = HeaderValue::from_str(&accept_header(&cfg.scrape_protocols))
            .map_err(|e| ClientError(e.to_string()))?;
        Ok(ScrapeClient {
            client,
            http: http.clone(),
            accept,
            compression: cfg.enable_compression,
            body_size_limit: cfg.limits.body_size_limit.0,
        })
    }

    fn auth_header(&self) -> Result<Option<HeaderValue>, FetchError> {
        let read = |f: &str| {
            std::fs::read_to_string(f)
                .map(|s| s.trim().to_string())
                .map_err(|e| FetchError::Credentials(format!("unable to read file {f}: {e}")))
        };
        if let Some(a) = &self.http.authorization {
            let cred = if a.credentials_file.is_empty() {
                a.credentials.expose().to_string()
            } else {
                read(&a.credentials_file)?
            };
            let v = format!("{} {}", a.auth_type, cred);
            return HeaderValue::from_str(&v)
                .map(Some)
                .map_err(|e| FetchError::Credentials(e.to_string()));
        }
        if let Some(b) = &self.http.basic_auth {
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
            let v = format!("Basic {}", base64(format!("{user}:{pass}").as_bytes()));
            return HeaderValue::from_str(&v)
                .map(Some)
                .map_err(|e| FetchError::Credentials(e.to_string()));
        }
        Ok(None)
    }

    /// Fetches `url` within `timeout`.
    pub async fn fetch(&self, url: &str, timeout: Duration) -> Result<Fetched, FetchError> {
        match tokio::time::timeout(timeout, self.fetch_inner(url, timeout)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout(url.to_string())),
        }
    }

    async fn fetch_inner(&self, url: &str, timeout: Duration) -> Result<Fetched, FetchError> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, self.accept.clone());
        if !self.compression {
            headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        }
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        if let Ok(v) = HeaderValue::from_str(&format_go_seconds(timeout)) {
            headers.insert("X-Prometheus-Scrape-Timeout-Seconds", v);
        }
        if let Some(a) = self.auth_header()? {
            headers.insert(AUTHORIZATION, a);
        }
        let transport = |e: reqwest::Error| FetchError::Transport {
            url: url.to_string(),
            message: error_chain(&e),
        };
        let mut resp = self
            .client
            .get(url)
            .headers(headers)
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status();
        if !status.is_success() {
            return Err(FetchError::Status(
                format!(
                    "{} {}",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or("")
                )
                .trim_end()
                .to_string(),
            ));
        }
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            body.extend_from_slice(&chunk);
            // Like Prometheus: reaching the limit (not only passing it) fails.
            if self.body_size_limit > 0 && body.len() as u64 >= self.body_size_limit {
                return Err(FetchError::BodySizeLimit);
            }
        }
        Ok(Fetched { body, content_type })
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !msg.contains(&t) {
            msg.push_str(": ");
            msg.push_str(&t);
        }
        src = s.source();
    }
    msg
}

/// Seconds formatted like Go's `strconv.FormatFloat(s, 'f', -1, 64)`.
pub fn format_go_seconds(d: Duration) -> String {
    let ms = d.as_millis();
    let (secs, frac) = (ms / 1000, ms % 1000);
    if frac == 0 {
        secs.to_string()
    } else {
        let s = format!("{secs}.{frac:03}");
        s.trim_end_matches('0').to_string()
    }
}

fn base64(input: &[u8]) -> String {
    // Standard alphabet with padding; four lines are cheaper than a crate.
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for c in input.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn tls_client_config(tls: &TlsConfig, http2: bool) -> Result<rustls::ClientConfig, ClientError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = {
        let min13 = tls.min_version == "TLS13";
        let max12 = matches!(tls.max_version.as_str(), "TLS10" | "TLS11" | "TLS12");
        let mut v = Vec::new();
        if !max12 {
            v.push(&rustls::version::TLS13);
        }
        if !min13 {
            v.push(&rustls::version::TLS12);
        }
        v
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| ClientError(format!("TLS versions: {e}")))?;

    let mut roots = rustls::RootCertStore::empty();
    let ca_pem = if !tls.ca.is_empty() {
        Some(tls.ca.as_bytes().to_vec())
    } else if !tls.ca_file.is_empty() {
        Some(std::fs::read(&tls.ca_file).map_err(|e| {
            ClientError(format!(
                "unable to load specified CA cert {}: {e}",
                tls.ca_file
            ))
        })?)
    } else {
        None
    };
    match ca_pem {
        Some(pem) => {
            let mut n = 0;
            for c in CertificateDer::pem_slice_iter(&pem) {
                let c = c.map_err(|e| ClientError(format!("invalid CA PEM: {e}")))?;
                roots
                    .add(c)
                    .map_err(|e| ClientError(format!("invalid CA certificate: {e}")))?;
                n += 1;
            }
            if n == 0 {
                return Err(ClientError(format!(
                    "unable to use specified CA cert {}",
                    if tls.ca_file.is_empty() {
                        "inline"
                    } else {
                        &tls.ca_file
                    }
                )));
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            for c in native.certs {
                let _ = roots.add(c);
            }
        }
    }
    let roots = Arc::new(roots);
    let webpki =
        rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| ClientError(format!("TLS verifier: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = Arc::new(ConfiguredVerifier {
        inner: webpki,
        server_name: if tls.server_name.is_empty() {
            None
        } else {
            Some(
                ServerName::try_from(tls.server_name.clone())
                    .map_err(|e| ClientError(format!("invalid server_name: {e}")))?,
            )
        },
        skip: tls.insecure_skip_verify,
        provider,
    });
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);

    let cert_pem = if !tls.cert.is_empty() {
        Some(tls.cert.as_bytes().to_vec())
    } else if !tls.cert_file.is_empty() {
        Some(std::fs::read(&tls.cert_file).map_err(|e| {
            ClientError(format!(
                "unable to read specified client cert {}: {e}",
                tls.cert_file
            ))
        })?)
    } else {
        None
    };
    let mut cfg = match cert_pem {
        Some(cert_pem) => {
            let key_pem = if !tls.key.is_empty() {
                tls.key.expose().as_bytes().to_vec()
            } else {
                std::fs::read(&tls.key_file).map_err(|e| {
                    ClientError(format!(
                        "unable to read specified client key {}: {e}",
                        tls.key_file
                    ))
                })?
            };
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
                .collect::<Result<_, _>>()
                .map_err(|e| ClientError(format!("invalid client certificate PEM: {e}")))?;
            let key = PrivateKeyDer::from_pem_slice(&key_pem)
                .map_err(|e| ClientError(format!("invalid client key PEM: {e}")))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| ClientError(format!("client certificate: {e}")))?
        }
        None => builder.with_no_client_auth(),
    };
    cfg.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(cfg)
}

/// Verifies against `server_name` instead of the URL host when configured,
/// or accepts anything under `insecure_skip_verify` (Go's semantics).
#[derive(Debug)]
struct ConfiguredVerifier {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    server_name: Option<ServerName<'static>>,
    skip: bool,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for ConfiguredVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.skip {
            return Ok(ServerCertVerified::assertion());
        }
        let name = self.server_name.as_ref().unwrap_or(server_name);
        self.inner
            .verify_server_cert(end_entity, intermediates, name, ocsp, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if self.skip {
            return Ok(HandshakeSignatureValid::assertion());
        }
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if self.skip {
            return Ok(HandshakeSignatureValid::assertion());
        }
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_seconds() {
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(format_go_seconds(Duration::from_secs(10)), "10");
        assert_eq!(format_go_seconds(Duration::from_millis(1500)), "1.5");
        assert_eq!(format_go_seconds(Duration::from_millis(250)), "0.25");
    }
}
