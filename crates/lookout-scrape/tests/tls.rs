//! Scraping over TLS: ca_file, server_name, insecure_skip_verify and
//! client certificates, against a loopback HTTPS exporter with a throwaway CA.

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use lookout_scrape::client::ScrapeClient;
use lookout_scrape::config::PrometheusConfig;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

struct Pki {
    ca_pem: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
}

fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let sk = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["scrape.test".to_string()])
        .unwrap()
        .signed_by(&sk, &ca)
        .unwrap();
    let ck = KeyPair::generate().unwrap();
    let client = CertificateParams::new(vec!["client.test".to_string()])
        .unwrap()
        .signed_by(&ck, &ca)
        .unwrap();
    Pki {
        ca_pem: ca.pem(),
        server_cert: server.pem(),
        server_key: sk.serialize_pem(),
        client_cert: client.pem(),
        client_key: ck.serialize_pem(),
    }
}

/// Starts an HTTPS exporter; with `client_ca` it requires client certificates.
async fn https_exporter(p: &Pki, require_client_cert: bool) -> std::net::SocketAddr {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = vec![CertificateDer::from_pem_slice(p.server_cert.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(p.server_key.as_bytes()).unwrap();
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let cfg = if require_client_cert {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(p.ca_pem.as_bytes()).unwrap())
            .unwrap();
        let v =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        builder
            .with_client_cert_verifier(v)
            .with_single_cert(certs, key)
            .unwrap()
    } else {
        builder
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap()
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc =
                    hyper::service::service_fn(|_req: Request<hyper::body::Incoming>| async {
                        Ok::<_, Infallible>(
                            Response::builder()
                                .header("Content-Type", "text/plain; version=0.0.4")
                                .body(Full::new(Bytes::from_static(b"tls_ok 1\n")))
                                .unwrap(),
                        )
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    addr
}

fn client(dir: &Path, tls_yaml: &str) -> ScrapeClient {
    let y = format!(
        "scrape_configs:\n  - job_name: t\n    scheme: https\n    tls_config: {tls_yaml}\n"
    );
    let cfg = PrometheusConfig::load_str(&y, &dir.join("prometheus.yml")).unwrap();
    ScrapeClient::new(&cfg.scrape_configs[0]).unwrap()
}

async fn fetch(c: &ScrapeClient, addr: std::net::SocketAddr) -> Result<String, String> {
    c.fetch(&format!("https://{addr}/metrics"), Duration::from_secs(5))
        .await
        .map(|f| String::from_utf8(f.body).unwrap())
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn tls_verification_modes() {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("ca.pem", &p.ca_pem),
        ("client.pem", &p.client_cert),
        ("client.key", &p.client_key),
    ] {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let addr = https_exporter(&p, false).await;

    // The certificate names scrape.test, not 127.0.0.1: server_name fixes that.
    let ok = client(dir.path(), "{ca_file: ca.pem, server_name: scrape.test}");
    assert_eq!(fetch(&ok, addr).await.unwrap(), "tls_ok 1\n");

    let wrong_name = client(dir.path(), "{ca_file: ca.pem}");
    let e = fetch(&wrong_name, addr).await.unwrap_err();
    assert!(e.contains("certificate"), "{e}");

    let unknown_ca = client(dir.path(), "{server_name: scrape.test}");
    let e = fetch(&unknown_ca, addr).await.unwrap_err();
    assert!(e.contains("certificate"), "{e}");

    let skip = client(dir.path(), "{insecure_skip_verify: true}");
    assert_eq!(fetch(&skip, addr).await.unwrap(), "tls_ok 1\n");

    // Inline CA works like ca_file.
    let inline = client(
        dir.path(),
        &format!("{{ca: {:?}, server_name: scrape.test}}", p.ca_pem),
    );
    assert_eq!(fetch(&inline, addr).await.unwrap(), "tls_ok 1\n");
}

#[tokio::test]
async fn client_certificates() {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &p.ca_pem).unwrap();
    std::fs::write(dir.path().join("client.pem"), &p.client_cert).unwrap();
    std::fs::write(dir.path().join("client.key"), &p.client_key).unwrap();
    let addr = https_exporter(&p, true).await;
    let with_cert = client(
        dir.path(),
        "{ca_file: ca.pem, server_name: scrape.test, cert_file: client.pem, key_file: client.key}",
    );
    assert_eq!(fetch(&with_cert, addr).await.unwrap(), "tls_ok 1\n");
    let without = client(dir.path(), "{ca_file: ca.pem, server_name: scrape.test}");
    assert!(fetch(&without, addr).await.is_err());
}

#[test]
fn unreadable_ca_file_is_a_client_error() {
    let dir = tempfile::tempdir().unwrap();
    let y = "scrape_configs:\n  - job_name: t\n    tls_config: {ca_file: missing.pem}\n";
    let cfg = PrometheusConfig::load_str(y, &dir.path().join("prometheus.yml")).unwrap();
    let e = ScrapeClient::new(&cfg.scrape_configs[0]).err().unwrap();
    assert!(
        e.to_string()
            .starts_with("unable to load specified CA cert"),
        "{e}"
    );
}
