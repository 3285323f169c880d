//! Replays pre-encoded remote-write bodies (the `lookout-loadgen
//! --format remote-write` file layout: big-endian u32 length + snappy body)
//! against a receiver over keep-alive HTTP/1.1 connections, and prints what
//! happened as one JSON line.
//!
//! Usage: `rw_replay <url> <bodies-file> [connections]`
//!
//! A raw socket client keeps the generator's own CPU cost small next to the
//! servers it measures. Body `i` goes to connection `i % connections`, and
//! each connection sends its bodies in file order, waiting for every answer.
//! With time-major bodies whose series count is a multiple of
//! `connections × samples per request` (every `bench/ingest.sh` data set),
//! each series therefore travels on one connection in time order, so a
//! receiver sees no out-of-order samples; otherwise a few may be refused
//! at request boundaries (counted as `status_400`). A request that fails at
//! the socket level twice is counted as `status_0`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

fn read_bodies(path: &str) -> std::io::Result<Vec<Vec<u8>>> {
    let mut f = BufReader::new(std::fs::File::open(path)?);
    let mut out = Vec::new();
    let mut len = [0u8; 4];
    loop {
        match f.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(out),
            Err(e) => return Err(e),
        }
        let mut b = vec![0u8; u32::from_be_bytes(len) as usize];
        f.read_exact(&mut b)?;
        out.push(b);
    }
}

fn connect(host: &str) -> Option<BufReader<TcpStream>> {
    let stream = TcpStream::connect(host).ok()?;
    stream.set_nodelay(true).ok();
    Some(BufReader::with_capacity(64 << 10, stream))
}

/// Sends one request and returns the status code.
fn post(
    conn: &mut BufReader<TcpStream>,
    host: &str,
    path: &str,
    body: &[u8],
) -> std::io::Result<u16> {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-protobuf\r\n\
         Content-Encoding: snappy\r\nX-Prometheus-Remote-Write-Version: 0.1.0\r\n\
         User-Agent: lookout-rw-replay\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let s = conn.get_mut();
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut line = String::new();
    conn.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let mut content_length = 0usize;
    let mut chunked = false;
    loop {
        line.clear();
        conn.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                content_length = v.trim().parse().unwrap_or(0);
            } else if k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked") {
                chunked = true;
            }
        }
    }
    if chunked {
        loop {
            line.clear();
            conn.read_line(&mut line)?;
            let n = usize::from_str_radix(line.trim(), 16).unwrap_or(0);
            let mut skip = vec![0u8; n + 2];
            conn.read_exact(&mut skip)?;
            if n == 0 {
                break;
            }
        }
    } else {
        let mut skip = vec![0u8; content_length];
        conn.read_exact(&mut skip)?;
    }
    Ok(status)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: rw_replay <url> <bodies-file> [connections]");
        std::process::exit(2);
    }
    let url = args[1].trim_start_matches("http://");
    let (host, path) = match url.find('/') {
        Some(i) => (&url[..i], &url[i..]),
        None => (url, "/api/v1/write"),
    };
    let bodies = match read_bodies(&args[2]) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("reading {}: {e}", args[2]);
            std::process::exit(1);
        }
    };
    let conns: usize = args.get(3).and_then(|c| c.parse().ok()).unwrap_or(2).max(1);
    let started = Instant::now();
    let results: Vec<std::collections::BTreeMap<u16, u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..conns)
            .map(|c| {
                let bodies = &bodies;
                s.spawn(move || {
                    let mut counts = std::collections::BTreeMap::new();
                    let mut conn: Option<BufReader<TcpStream>> = None;
                    for b in bodies.iter().skip(c).step_by(conns) {
                        // A receiver may close the connection (e.g. after an
                        // error answer): reconnect once per request, and
                        // count a request that still fails as status 0.
                        let mut code = 0;
                        for _attempt in 0..2 {
                            if conn.is_none() {
                                conn = connect(host);
                            }
                            let Some(cn) = conn.as_mut() else { break };
                            match post(cn, host, path, b) {
                                Ok(c) => {
                                    code = c;
                                    break;
                                }
                                Err(_) => conn = None,
                            }
                        }
                        *counts.entry(code).or_insert(0u64) += 1;
                    }
                    counts
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let secs = started.elapsed().as_secs_f64();
    let mut total = std::collections::BTreeMap::new();
    for r in results {
        for (k, v) in r {
            *total.entry(k).or_insert(0u64) += v;
        }
    }
    let codes: Vec<String> = total
        .iter()
        .map(|(k, v)| format!("\"status_{k}\":{v}"))
        .collect();
    println!(
        "{{\"requests\":{},\"seconds\":{secs:.3},{}}}",
        bodies.len(),
        codes.join(",")
    );
}
