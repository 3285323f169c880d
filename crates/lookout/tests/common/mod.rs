//! Starting the real `lookout` binary (and peers) for integration tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed (and reaped) on drop.
pub struct Proc {
    pub child: Child,
    pub name: String,
    pub log: PathBuf,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// Sends a signal by pid (SIGHUP for reloads).
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Spawns `bin args`, output to a log file in `dir`.
pub fn spawn(bin: &Path, args: &[String], dir: &Path, name: &str) -> Proc {
    let log = dir.join(format!("{name}.log"));
    let out = std::fs::File::create(&log).unwrap();
    let err = out.try_clone().unwrap();
    let child = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {}: {e}", bin.display()));
    Proc {
        child,
        name: name.to_string(),
        log,
    }
}

/// A running lookout server.
pub struct Lookout {
    pub proc: Proc,
    pub addr: String,
    pub dir: tempfile::TempDir,
}

pub fn lookout_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lookout"))
}

impl Lookout {
    /// Starts lookout with `extra` flags in a fresh temp dir; waits for ready.
    pub fn start(extra: &[&str]) -> Lookout {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, extra)
    }

    pub fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> Lookout {
        let port = lookout_testkit::free_port();
        let addr = format!("127.0.0.1:{port}");
        let mut args = vec![
            format!("--web.listen-address={addr}"),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let proc = spawn(&lookout_bin(), &args, dir.path(), "lookout");
        let l = Lookout { proc, addr, dir };
        l.wait_ready();
        l
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(r) = http(&self.addr, "GET", "/-/ready", None, &[]) {
                if r.status == 200 {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("lookout did not become ready:\n{}", self.proc.log_text());
    }

    pub fn get(&self, path: &str) -> Resp {
        http(&self.addr, "GET", path, None, &[]).unwrap()
    }

    pub fn post_form(&self, path: &str, form: &str) -> Resp {
        http(
            &self.addr,
            "POST",
            path,
            Some(form.as_bytes()),
            &[("Content-Type", "application/x-www-form-urlencoded")],
        )
        .unwrap()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.1 client (one request per connection).
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    headers: &[(&str, &str)],
) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    if let Some(b) = body {
        // A server may answer (413) and close before the upload ends; the
        // answer is still readable.
        if let Err(e) = s.write_all(b) {
            if !matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ) {
                return Err(e);
            }
        }
    }
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let mut hdrs = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            hdrs.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let chunked = hdrs
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let mut raw = Vec::new();
    if method != "HEAD" {
        if chunked {
            loop {
                line.clear();
                r.read_line(&mut line)?;
                let n = usize::from_str_radix(line.trim(), 16).unwrap_or(0);
                let mut chunk = vec![0u8; n + 2];
                r.read_exact(&mut chunk)?;
                if n == 0 {
                    break;
                }
                raw.extend_from_slice(&chunk[..n]);
            }
        } else {
            r.read_to_end(&mut raw)?;
        }
    }
    Ok(Resp {
        status,
        headers: hdrs,
        body: String::from_utf8_lossy(&raw).into_owned(),
    })
}

/// Polls `f` until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// One series for [`rw_body`]: labels and `(ms, value)` samples.
pub type RwSeries<'a> = (&'a [(&'a str, &'a str)], &'a [(i64, f64)]);

/// A snappy-compressed remote-write body.
pub fn rw_body(series: &[RwSeries<'_>]) -> Vec<u8> {
    let mut raw = Vec::new();
    for (l, s) in series {
        lookout_api::remote_write::decode::encode::series(&mut raw, l, s);
    }
    snap::raw::Encoder::new().compress_vec(&raw).unwrap()
}

pub fn remote_write(addr: &str, body: &[u8]) -> Resp {
    http(
        addr,
        "POST",
        "/api/v1/write",
        Some(body),
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "snappy"),
            ("X-Prometheus-Remote-Write-Version", "0.1.0"),
        ],
    )
    .unwrap()
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
