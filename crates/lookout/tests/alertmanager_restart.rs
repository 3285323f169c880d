//! Must-show 5: silences and the notification log survive `kill -9` of
//! `lookout alertmanager serve`, and no duplicate notification is sent after
//! the restart for a group that was already notified.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A tiny loopback HTTP server recording request bodies.
struct Collector {
    port: u16,
    bodies: Arc<Mutex<Vec<String>>>,
}

fn collector() -> Collector {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let b2 = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut reader = BufReader::new(s.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let l = line.trim_end().to_ascii_lowercase();
                if l.is_empty() {
                    break;
                }
                if let Some(v) = l.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            b2.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&body).into_owned());
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    Collector { port, bodies }
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(cfg: &Path, storage: &Path, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_lookout"))
        .args(["alertmanager", "serve", "--config"])
        .arg(cfg)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--storage.path")
        .arg(storage)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The guard kills and waits for the child on every path.
    let server = Server { child, port };
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("lookout did not start");
}

async fn post(url: &str, body: serde_json::Value) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn wait_for(c: &Collector, n: usize, timeout: Duration) -> Vec<String> {
    let end = Instant::now() + timeout;
    while Instant::now() < end && c.bodies.lock().unwrap().len() < n {
        std::thread::sleep(Duration::from_millis(20));
    }
    c.bodies.lock().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_survives_kill_9_without_duplicate_notifications() {
    let hook = collector();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("alertmanager.yml");
    std::fs::write(
        &cfg,
        format!(
            "route:\n  receiver: wh\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 2s\n  repeat_interval: 1h\nreceivers:\n  - name: wh\n    webhook_configs:\n      - url: http://127.0.0.1:{}/hook\n",
            hook.port
        ),
    )
    .unwrap();
    let storage = dir.path().join("data");
    let port = lookout_testkit::free_port();
    let server = start(&cfg, &storage, port);
    let base = format!("http://127.0.0.1:{}", server.port);

    // A Prometheus-style alert: explicit start in the past and end ahead.
    let now = chrono::Utc::now();
    let alert = |name: &str| {
        serde_json::json!([{
            "labels": {"alertname": "Grouped", "instance": name},
            "startsAt": (now - chrono::Duration::seconds(5)).to_rfc3339(),
            "endsAt": (now + chrono::Duration::hours(1)).to_rfc3339(),
        }])
    };
    assert_eq!(
        post(&format!("{base}/api/v2/alerts"), alert("a")).await.0,
        200
    );
    let got = wait_for(&hook, 1, Duration::from_secs(5));
    assert_eq!(got.len(), 1, "first notification");

    // A silence, acknowledged by the API.
    let (s, body) = post(
        &format!("{base}/api/v2/silences"),
        serde_json::json!({
            "matchers": [{"name": "alertname", "value": "Silenced", "isRegex": false}],
            "startsAt": now.to_rfc3339(),
            "endsAt": (now + chrono::Duration::hours(2)).to_rfc3339(),
            "createdBy": "test", "comment": "survives kill -9"
        }),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["silenceID"]
        .as_str()
        .unwrap()
        .to_string();

    // kill -9, then start again on the same storage.
    drop(server);
    let server = start(&cfg, &storage, port);

    // The silence is back.
    let sil: serde_json::Value = reqwest::get(format!("{base}/api/v2/silence/{id}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sil["status"]["state"], "active");
    assert_eq!(sil["comment"], "survives kill -9");

    // Prometheus re-sends the firing alert: the group flushes at once, the
    // notification log says it was already notified, nothing is sent.
    assert_eq!(
        post(&format!("{base}/api/v2/alerts"), alert("a")).await.0,
        200
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        hook.bodies.lock().unwrap().len(),
        1,
        "duplicate notification after restart"
    );

    // A real change still notifies, with both alerts.
    assert_eq!(
        post(&format!("{base}/api/v2/alerts"), alert("b")).await.0,
        200
    );
    let got = wait_for(&hook, 2, Duration::from_secs(5));
    assert_eq!(got.len(), 2);
    let v: serde_json::Value = serde_json::from_str(&got[1]).unwrap();
    assert_eq!(v["alerts"].as_array().unwrap().len(), 2);
    drop(server);
}
