//! Bad input mixed into valid traffic: malformed remote-write bodies, wrong
//! content types, invalid labels, out-of-order samples, broken queries and
//! oversized bodies, sent concurrently with valid remote writes. The server
//! must answer every bad request with a 4xx, never crash or 5xx, and keep
//! every valid sample.

mod common;

use std::time::Duration;

use common::*;

const THREADS: usize = 4;
const ROUNDS: usize = 150;
const SERIES_PER_REQUEST: usize = 10;

fn valid_body(thread: usize, round: usize, t0: i64) -> Vec<u8> {
    let th = thread.to_string();
    let names: Vec<String> = (0..SERIES_PER_REQUEST).map(|s| s.to_string()).collect();
    let pts = [(t0 + round as i64 * 1000, round as f64)];
    let labels: Vec<[(&str, &str); 3]> = names
        .iter()
        .map(|s| {
            [
                ("__name__", "bad_input_valid"),
                ("thread", th.as_str()),
                ("s", s.as_str()),
            ]
        })
        .collect();
    let series: Vec<RwSeries<'_>> = labels.iter().map(|l| (&l[..], &pts[..])).collect();
    rw_body(&series)
}

/// One malformed request of kind `k`; returns (status, what).
/// `ooo_started` records whether this thread's out-of-order series already
/// has a sample (its first write is in order and answered 204).
fn bad_request(
    addr: &str,
    k: usize,
    thread: usize,
    round: usize,
    t0: i64,
    ooo_started: &mut bool,
) -> (u16, &'static str, bool) {
    let post = |body: &[u8], headers: &[(&str, &str)]| {
        http(addr, "POST", "/api/v1/write", Some(body), headers)
            .unwrap()
            .status
    };
    let rw = [
        ("Content-Type", "application/x-protobuf"),
        ("Content-Encoding", "snappy"),
    ];
    match k % 9 {
        0 => (
            post(b"\x00\xffnot snappy at all", &rw),
            "garbage body",
            false,
        ),
        1 => {
            let junk: Vec<u8> = (0..200u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 7) as u8)
                .collect();
            (
                post(&snap::raw::Encoder::new().compress_vec(&junk).unwrap(), &rw),
                "snappy of junk",
                false,
            )
        }
        2 => {
            let mut raw = Vec::new();
            lookout_api::remote_write::decode::encode::series(
                &mut raw,
                &[("__name__", "x")],
                &[(1, 1.0)],
            );
            raw.truncate(raw.len() - 3);
            (
                post(&snap::raw::Encoder::new().compress_vec(&raw).unwrap(), &rw),
                "truncated protobuf",
                false,
            )
        }
        3 => (
            post(
                &valid_body(99, 0, t0),
                &[("Content-Type", "application/json")],
            ),
            "wrong content type",
            false,
        ),
        4 => (
            post(
                &valid_body(99, 0, t0),
                &[
                    ("Content-Type", "application/x-protobuf"),
                    ("Content-Encoding", "gzip"),
                ],
            ),
            "wrong encoding",
            false,
        ),
        5 => (
            post(&rw_body(&[(&[("job", "no_name")], &[(t0, 1.0)])]), &rw),
            "missing metric name",
            false,
        ),
        6 => {
            // Each thread's out-of-order series goes backwards in time.
            let th = thread.to_string();
            let t = t0 + 1_000_000 - round as i64 * 1000;
            let l = [("__name__", "bad_input_ooo"), ("thread", th.as_str())];
            let s = post(&rw_body(&[(&l[..], &[(t, 1.0)])]), &rw);
            if !*ooo_started {
                *ooo_started = true;
                // The series' first sample is in order: expect it stored.
                return (s, "first sample of the out-of-order series", true);
            }
            (s, "out of order", false)
        }
        7 => (
            http(addr, "GET", "/api/v1/query?query=sum(%7B%7D%5B", None, &[])
                .unwrap()
                .status,
            "broken query",
            false,
        ),
        _ => (
            http(
                addr,
                "GET",
                "/api/v1/query_range?query=up&start=0&end=1e10&step=1",
                None,
                &[],
            )
            .unwrap()
            .status,
            "too many points",
            false,
        ),
    }
}

#[test]
fn malformed_traffic_does_not_crash_or_lose_valid_samples() {
    let l = Lookout::start(&["--web.remote-write.max-body-size=1MB"]);
    let t0 = now_ms() - 30 * 60 * 1000;
    let addr = l.addr.clone();
    let results: Vec<(usize, Vec<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|th| {
                let addr = addr.clone();
                s.spawn(move || {
                    let mut ok = 0usize;
                    let mut problems = Vec::new();
                    let mut ooo_started = false;
                    for round in 0..ROUNDS {
                        let r = remote_write(&addr, &valid_body(th, round, t0));
                        if r.status == 204 {
                            ok += 1;
                        } else {
                            problems
                                .push(format!("valid request answered {}: {}", r.status, r.body));
                        }
                        let (status, what, expect_ok) = bad_request(
                            &addr,
                            round * THREADS + th,
                            th,
                            round,
                            t0,
                            &mut ooo_started,
                        );
                        let fine = if expect_ok {
                            status == 204
                        } else {
                            (400..500).contains(&status)
                        };
                        if !fine {
                            problems.push(format!("{what}: answered {status}"));
                        }
                        if round % 50 == 0 {
                            let big = vec![7u8; 2 << 20];
                            let r = http(&addr, "POST", "/api/v1/write", Some(&big), &[]).unwrap();
                            if r.status != 413 {
                                problems.push(format!("oversized body answered {}", r.status));
                            }
                        }
                    }
                    (ok, problems)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut valid = 0;
    for (ok, problems) in &results {
        assert!(problems.is_empty(), "{problems:#?}");
        valid += ok;
    }
    assert_eq!(valid, THREADS * ROUNDS);
    assert_eq!(l.get("/-/healthy").status, 200);
    // Every valid sample is stored and queryable.
    let t_end = (t0 + ROUNDS as i64 * 1000) as f64 / 1000.0;
    let q = format!(
        "/api/v1/query?query={}&time={t_end}",
        enc("sum(count_over_time(bad_input_valid[1h]))")
    );
    let want = (THREADS * ROUNDS * SERIES_PER_REQUEST).to_string();
    let got = wait_for(Duration::from_secs(10), || {
        let j = l.get(&q).json();
        (j["data"]["result"][0]["value"][1] == want.as_str()).then_some(())
    });
    assert!(got.is_some(), "stored samples differ: {}", l.get(&q).body);
    let m = l.get("/metrics").body;
    assert!(
        m.contains("lookout_remote_write_requests_total{code=\"400\"}"),
        "{m}"
    );
    assert!(
        m.contains("lookout_remote_write_requests_total{code=\"415\"}"),
        "{m}"
    );
    assert!(
        m.contains("lookout_remote_write_requests_total{code=\"413\"}"),
        "{m}"
    );
}
