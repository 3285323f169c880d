//! Remote-write receiver status codes and storage effects, and query
//! cancellation when the client disconnects.

mod common;

use std::io::{Read, Write};
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use common::*;
use lookout_api::remote_write::decode::encode;
use lookout_model::Labels;

type Series<'a> = (&'a [(&'a str, &'a str)], &'a [(i64, f64)]);

fn body(series: &[Series<'_>]) -> Vec<u8> {
    let mut raw = Vec::new();
    for (l, s) in series {
        encode::series(&mut raw, l, s);
    }
    snap::raw::Encoder::new().compress_vec(&raw).unwrap()
}

fn write_req(b: Vec<u8>) -> Request<Body> {
    Request::post("/api/v1/write")
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "snappy")
        .header("x-prometheus-remote-write-version", "0.1.0")
        .body(Body::from(b))
        .unwrap()
}

#[tokio::test]
async fn accepts_and_stores_samples() {
    let f = fixture();
    let b = body(&[
        (
            &[("__name__", "rw_metric"), ("job", "j"), ("instance", "i")],
            &[(1000, 1.0), (2000, 2.5)],
        ),
        // Unsorted labels are fine; they are sorted on ingest.
        (
            &[("job", "j"), ("__name__", "rw_other")],
            &[(1000, f64::INFINITY)],
        ),
    ]);
    let r = send(&f.router, write_req(b)).await;
    assert_eq!((r.status, r.body.as_str()), (204, ""));
    {
        let stored = f.store.series.lock();
        let s = &stored
            [&Labels::from_pairs([("__name__", "rw_metric"), ("job", "j"), ("instance", "i")])];
        assert_eq!(s.len(), 2);
        assert_eq!((s[1].t, s[1].v), (2000, 2.5));
        assert!(stored.contains_key(&Labels::from_pairs([
            ("__name__", "rw_other"),
            ("job", "j")
        ])));
    }
    let m = get(&f.router, "/metrics").await.body;
    assert!(m.contains("lookout_remote_write_samples_total 3\n"), "{m}");
    assert!(
        m.contains("lookout_remote_write_requests_total{code=\"204\"} 1\n"),
        "{m}"
    );
    // No content-type / encoding headers at all is still remote write 1.0.
    let raw = body(&[(&[("__name__", "bare")], &[(5, 1.0)])]);
    let r = send(
        &f.router,
        Request::post("/api/v1/write")
            .body(Body::from(raw))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 204);
}

#[tokio::test]
async fn bad_payloads_are_400_and_store_nothing() {
    let f = fixture();
    // Not snappy.
    let r = send(&f.router, write_req(b"definitely not snappy".to_vec())).await;
    assert_eq!(r.status, 400, "{}", r.body);
    // Snappy but not protobuf.
    let r = send(
        &f.router,
        write_req(
            snap::raw::Encoder::new()
                .compress_vec(&[0x0a, 0xff, 0x01])
                .unwrap(),
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("unexpected end"), "{}", r.body);
    // Empty body: a valid, empty request.
    let r = send(
        &f.router,
        write_req(snap::raw::Encoder::new().compress_vec(&[]).unwrap()),
    )
    .await;
    assert_eq!(r.status, 204);
    assert!(f.store.series.lock().is_empty());
    // Missing metric name and duplicate labels are refused with 400.
    let r = send(
        &f.router,
        write_req(body(&[(&[("job", "x")], &[(1, 1.0)])])),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("missing metric name"), "{}", r.body);
    let r = send(
        &f.router,
        write_req(body(&[(
            &[("__name__", "a"), ("x", "1"), ("x", "2")],
            &[(1, 1.0)],
        )])),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("duplicate label"), "{}", r.body);
    assert!(f.store.series.lock().is_empty());
}

#[tokio::test]
async fn content_type_and_encoding_415() {
    let f = fixture();
    let b = body(&[(&[("__name__", "x")], &[(1, 1.0)])]);
    for (ct, enc) in [
        ("application/json", "snappy"),
        (
            "application/x-protobuf;proto=io.prometheus.write.v2.Request",
            "snappy",
        ),
        ("application/x-protobuf", "gzip"),
        ("application/x-protobuf", "zstd"),
    ] {
        let req = Request::post("/api/v1/write")
            .header("content-type", ct)
            .header("content-encoding", enc)
            .body(Body::from(b.clone()))
            .unwrap();
        let r = send(&f.router, req).await;
        assert_eq!(r.status, 415, "{ct} {enc}: {}", r.body);
    }
    let req = Request::post("/api/v1/write")
        .header(
            "content-type",
            "application/x-protobuf;proto=prometheus.WriteRequest",
        )
        .body(Body::from(b))
        .unwrap();
    assert_eq!(send(&f.router, req).await.status, 204);
    // GET is not allowed.
    assert_eq!(get(&f.router, "/api/v1/write").await.status, 405);
}

#[tokio::test]
async fn out_of_order_is_400_and_keeps_valid_samples() {
    let f = fixture();
    let r = send(
        &f.router,
        write_req(body(&[(&[("__name__", "m")], &[(2000, 2.0)])])),
    )
    .await;
    assert_eq!(r.status, 204);
    let r = send(
        &f.router,
        write_req(body(&[
            (&[("__name__", "m")], &[(1000, 1.0)]),
            (&[("__name__", "n")], &[(1000, 1.0)]),
        ])),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body, "out of order sample\n");
    assert_eq!(
        f.store.series.lock()[&Labels::from_pairs([("__name__", "m")])].len(),
        1
    );
    assert_eq!(
        f.store.series.lock()[&Labels::from_pairs([("__name__", "n")])].len(),
        1
    );
    let m = get(&f.router, "/metrics").await.body;
    assert!(
        m.contains("lookout_remote_write_samples_rejected_total 1\n"),
        "{m}"
    );
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let settings = lookout_api::ApiSettings {
        max_write_body_bytes: 1024,
        write_limits: lookout_api::WriteLimits {
            max_decoded_bytes: 4096,
        },
        ..Default::default()
    };
    let f = fixture_with(settings);
    // Compressed body over the limit.
    let noise: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let r = send(&f.router, write_req(noise)).await;
    assert_eq!(r.status, 413, "{}", r.body);
    // Small compressed body that would expand past the decoded limit.
    let zeros = snap::raw::Encoder::new()
        .compress_vec(&vec![0u8; 10_000])
        .unwrap();
    assert!(zeros.len() < 1024);
    let r = send(&f.router, write_req(zeros)).await;
    assert_eq!(r.status, 413, "{}", r.body);
}

/// A client that disconnects mid-query trips the engine's cancel flag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_disconnect_cancels_query() {
    let f = fixture();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = f.router.clone();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let client = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /api/v1/query?query=sleep HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        drop(s);
    });
    client.await.unwrap();
    let mut cancelled = false;
    for _ in 0..100 {
        if f.saw_cancel.load(Ordering::SeqCst) {
            cancelled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        cancelled,
        "engine never saw the cancel flag after the client left"
    );
    // A query exceeding its timeout answers 503 timeout and cancels too.
    f.saw_cancel.store(false, Ordering::SeqCst);
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /api/v1/query?query=sleep&timeout=0.2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 503"), "{resp}");
    assert!(resp.contains(r#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#), "{resp}");
    server.abort();
}
