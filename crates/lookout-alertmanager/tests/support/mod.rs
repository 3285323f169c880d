//! Test helpers: an in-process lookout Alertmanager on a loopback port, a
//! recording HTTP receiver (webhook collector / Pushover mock), and a guard
//! for Debian's real `prometheus-alertmanager`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::Router;
use lookout_alertmanager::config::load_str_in;
use lookout_alertmanager::matchers::ParseMode;
use lookout_alertmanager::{Alertmanager, Options};
use parking_lot::Mutex;

/// One request the recorder saw.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// Query parameters (decoded).
    pub fn params(&self) -> std::collections::BTreeMap<String, String> {
        form_urlencoded::parse(self.query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }
}

/// What the recorder answers.
#[derive(Clone, Debug)]
pub enum Reply {
    Status(u16, String),
    /// Sleep, then answer.
    Delay(Duration, u16, String),
}

/// A recording HTTP server answering every request from a script
/// (the last reply repeats).
pub struct Recorder {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    pub replies: Arc<Mutex<Vec<Reply>>>,
    pub started: Instant,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Recorder {
    pub async fn start() -> Recorder {
        Self::start_with(vec![Reply::Status(
            200,
            r#"{"status":1,"request":"r1"}"#.into(),
        )])
        .await
    }

    pub async fn start_with(replies: Vec<Reply>) -> Recorder {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let replies = Arc::new(Mutex::new(replies));
        let (req2, rep2) = (requests.clone(), replies.clone());
        let handler =
            move |method: axum::http::Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let req2 = req2.clone();
                let rep2 = rep2.clone();
                async move {
                    req2.lock().push(Recorded {
                        at: Instant::now(),
                        method: method.to_string(),
                        path: uri.path().to_string(),
                        query: uri.query().unwrap_or("").to_string(),
                        headers,
                        body: body.to_vec(),
                    });
                    let reply = {
                        let mut r = rep2.lock();
                        if r.len() > 1 {
                            r.remove(0)
                        } else {
                            r[0].clone()
                        }
                    };
                    let (code, body) = match reply {
                        Reply::Status(c, b) => (c, b),
                        Reply::Delay(d, c, b) => {
                            tokio::time::sleep(d).await;
                            (c, b)
                        }
                    };
                    (StatusCode::from_u16(code).unwrap(), body).into_response()
                }
            };
        let app = Router::new().fallback(handler);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        Recorder {
            addr,
            requests,
            replies,
            started: Instant::now(),
            _shutdown: tx,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn taken(&self) -> Vec<Recorded> {
        self.requests.lock().clone()
    }

    pub fn count(&self) -> usize {
        self.requests.lock().len()
    }

    /// Waits until `n` requests arrived or `timeout` passed.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.count() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.taken()
    }
}

/// An in-process lookout Alertmanager serving API v2 on a loopback port.
pub struct LookoutServer {
    pub am: Arc<Alertmanager>,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl LookoutServer {
    pub async fn start(config: &str) -> LookoutServer {
        Self::start_opts(config, ParseMode::Fallback, None).await
    }

    pub async fn start_opts(
        config: &str,
        mode: ParseMode,
        storage: Option<PathBuf>,
    ) -> LookoutServer {
        Self::start_full(config, mode, storage, None).await
    }

    /// With a Pushover API override (the mock's URL).
    pub async fn start_pushover(config: &str, pushover: &str) -> LookoutServer {
        Self::start_full(
            config,
            ParseMode::Fallback,
            None,
            Some(format!("{pushover}/1/messages.json")),
        )
        .await
    }

    pub async fn start_full(
        config: &str,
        mode: ParseMode,
        storage: Option<PathBuf>,
        pushover_api_url: Option<String>,
    ) -> LookoutServer {
        let dir = tempfile::tempdir().unwrap();
        let cfg_path = dir.path().join("alertmanager.yml");
        std::fs::write(&cfg_path, config).unwrap();
        let cfg = load_str_in(config, dir.path(), mode).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let opts = Options {
            storage_path: Some(storage.unwrap_or_else(|| dir.path().join("data"))),
            external_url: format!("http://{addr}"),
            mode,
            pushover_api_url,
            ..Options::default()
        };
        let am = Alertmanager::new(opts, cfg).unwrap();
        am.set_config_path(cfg_path);
        let app = lookout_alertmanager::api::standalone_router(am.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        LookoutServer {
            am,
            addr,
            dir,
            shutdown: Some(tx),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for LookoutServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(rt) = self.am.runtime() {
            rt.dispatcher.stop();
        }
    }
}

/// Debian's `prometheus-alertmanager`, killed on drop.
pub struct RealAlertmanager {
    pub child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl RealAlertmanager {
    /// Starts it with `config`; `None` when the binary is absent (outside CI).
    pub fn start(config: &str) -> Option<RealAlertmanager> {
        let bin = lookout_testkit::require_tool("prometheus-alertmanager")?;
        let dir = tempfile::tempdir().unwrap();
        Some(Self::start_in(&bin, config, dir))
    }

    pub fn start_in(bin: &Path, config: &str, dir: tempfile::TempDir) -> RealAlertmanager {
        let cfg = dir.path().join("alertmanager.yml");
        std::fs::write(&cfg, config).unwrap();
        let port = lookout_testkit::free_port();
        let log = std::fs::File::create(dir.path().join("am.log")).unwrap();
        let child = Command::new(bin)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .arg("--log.level=debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting prometheus-alertmanager");
        let am = RealAlertmanager { child, port, dir };
        am.wait_ready();
        am
    }

    fn wait_ready(&self) {
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "alertmanager did not start: {}",
            std::fs::read_to_string(self.dir.path().join("am.log")).unwrap_or_default()
        );
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("am.log")).unwrap_or_default()
    }
}

impl Drop for RealAlertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs amtool with arguments; returns (success, stdout, stderr).
pub fn amtool(args: &[&str]) -> Option<(bool, String, String)> {
    let bin = lookout_testkit::require_tool("amtool")?;
    let out = Command::new(bin)
        .args(args)
        .env("USER", "tester")
        .output()
        .unwrap();
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// POSTs JSON.
pub async fn post_json(url: &str, body: &serde_json::Value) -> (u16, String) {
    let resp = reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

/// GETs JSON.
pub async fn get_json(url: &str) -> (u16, serde_json::Value) {
    let resp = reqwest::get(url).await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}
