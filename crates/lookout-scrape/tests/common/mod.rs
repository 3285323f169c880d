//! A loopback exporter for scrape tests: serves a configurable body and
//! records what the scraper sent.

#![allow(dead_code)]

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// What the exporter answers.
#[derive(Clone, Debug)]
pub struct Reply {
    pub body: String,
    pub content_type: String,
    pub status: u16,
    pub delay: Duration,
    /// Gzip the body when the client accepts it.
    pub gzip: bool,
}

impl Default for Reply {
    fn default() -> Self {
        Reply {
            body: String::new(),
            content_type: "text/plain; version=0.0.4; charset=utf-8".into(),
            status: 200,
            delay: Duration::ZERO,
            gzip: true,
        }
    }
}

/// One recorded request.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone)]
pub struct Exporter {
    pub addr: SocketAddr,
    pub reply: Arc<Mutex<Reply>>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Exporter {
    pub async fn start(body: &str) -> Exporter {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let reply = Arc::new(Mutex::new(Reply {
            body: body.to_string(),
            ..Reply::default()
        }));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (r2, s2) = (reply.clone(), seen.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (r3, s3) = (r2.clone(), s2.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (r4, s4) = (r3.clone(), s3.clone());
                        async move { Ok::<_, Infallible>(handle(req, r4, s4).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Exporter {
            addr,
            reply,
            seen,
            task: Arc::new(task),
        }
    }

    pub fn target(&self) -> String {
        self.addr.to_string()
    }

    pub fn set_body(&self, body: &str) {
        self.reply.lock().unwrap().body = body.to_string();
    }

    pub fn update(&self, f: impl FnOnce(&mut Reply)) {
        f(&mut self.reply.lock().unwrap());
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn stop(&self) {
        self.task.abort();
    }
}

async fn handle(
    req: Request<Incoming>,
    reply: Arc<Mutex<Reply>>,
    seen: Arc<Mutex<Vec<Seen>>>,
) -> Response<Full<Bytes>> {
    let s = Seen {
        path_and_query: req
            .uri()
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
    };
    let accepts_gzip = s
        .header("accept-encoding")
        .is_some_and(|v| v.contains("gzip"));
    seen.lock().unwrap().push(s);
    let r = reply.lock().unwrap().clone();
    if !r.delay.is_zero() {
        tokio::time::sleep(r.delay).await;
    }
    let mut b = Response::builder()
        .status(r.status)
        .header("Content-Type", r.content_type.clone());
    let body = if r.gzip && accepts_gzip {
        b = b.header("Content-Encoding", "gzip");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(r.body.as_bytes()).unwrap();
        enc.finish().unwrap()
    } else {
        r.body.into_bytes()
    };
    b.body(Full::new(Bytes::from(body))).unwrap()
}

/// Polls `cond` every 20 ms until it holds or `secs` pass.
pub async fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !cond() {
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
