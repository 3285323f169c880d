//! The real server on a loopback port: Grafana's calls, every endpoint's
//! shape, ingest → query round trips, error shapes, config check/reload.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn grafana_health_check_and_buildinfo() {
    let l = Lookout::start(&[]);
    let want = r#"{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}"#;
    let r = l.get("/api/v1/query?query=1%2B1&time=4");
    assert_eq!((r.status, r.body.as_str()), (200, want));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let r = l.post_form("/api/v1/query?custom=a", "query=1%2B1&time=4&timeout=60s");
    assert_eq!((r.status, r.body.as_str()), (200, want));
    let b = l.get("/api/v1/status/buildinfo").json();
    assert_eq!(b["status"], "success");
    assert!(b["data"].get("features").is_none() && b["data"].get("application").is_none());
    let v: Vec<u32> = b["data"]["version"]
        .as_str()
        .unwrap()
        .split('.')
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(v.len(), 3);
    assert!(v[0] >= 3, "{v:?}");
}

#[test]
fn remote_write_then_query_every_read_endpoint() {
    let l = Lookout::start(&[]);
    let now = now_ms();
    let t0 = now - 60_000;
    let body = rw_body(&[
        (
            &[("__name__", "rt_metric"), ("job", "rt"), ("instance", "a")],
            &[(t0, 1.0), (t0 + 15_000, 2.0), (t0 + 30_000, 3.5)],
        ),
        (
            &[("__name__", "rt_metric"), ("job", "rt"), ("instance", "b")],
            &[(t0, 10.0), (t0 + 15_000, f64::NAN)],
        ),
    ]);
    let r = remote_write(&l.addr, &body);
    assert_eq!(r.status, 204, "{}", r.body);

    let q = format!(
        "/api/v1/query?query=rt_metric&time={}",
        (t0 + 30_000) as f64 / 1000.0
    );
    let j = l.get(&q).json();
    let res = j["data"]["result"].as_array().unwrap();
    assert_eq!(res.len(), 2, "{j}");
    assert_eq!(res[0]["metric"]["instance"], "a");
    assert_eq!(res[0]["value"][1], "3.5");
    assert_eq!(res[1]["value"][1], "NaN");

    let q = format!(
        "/api/v1/query_range?query=sum(rt_metric)&start={}&end={}&step=15",
        t0 / 1000,
        (t0 + 30_000) / 1000
    );
    let j = l.get(&q).json();
    assert_eq!(j["data"]["resultType"], "matrix", "{j}");
    assert_eq!(j["data"]["result"][0]["metric"], serde_json::json!({}));

    let s = l.get("/api/v1/series?match[]=rt_metric").json();
    assert_eq!(s["data"].as_array().unwrap().len(), 2, "{s}");
    let labels = l.get("/api/v1/labels?match[]=rt_metric").json();
    assert_eq!(
        labels["data"],
        serde_json::json!(["__name__", "instance", "job"])
    );
    let v = l
        .get("/api/v1/label/instance/values?match[]=rt_metric")
        .json();
    assert_eq!(v["data"], serde_json::json!(["a", "b"]));
    let fed = l.get("/federate?match[]=rt_metric");
    assert_eq!(fed.status, 200);
    assert!(
        fed.body.contains("# TYPE rt_metric untyped\n"),
        "{}",
        fed.body
    );
    assert!(
        fed.body.contains(&format!(
            "rt_metric{{instance=\"a\",job=\"rt\"}} 3.5 {}\n",
            t0 + 30_000
        )),
        "{}",
        fed.body
    );
    let ts = l.get("/api/v1/status/tsdb").json();
    assert!(
        ts["data"]["headStats"]["numSeries"].as_u64().unwrap() >= 2,
        "{ts}"
    );
    for path in [
        "/api/v1/status/config",
        "/api/v1/status/flags",
        "/api/v1/status/runtimeinfo",
        "/api/v1/status/walreplay",
        "/api/v1/targets",
        "/api/v1/targets/metadata",
        "/api/v1/metadata",
        "/api/v1/rules",
        "/api/v1/alerts",
        "/api/v1/query_exemplars?query=rt_metric",
        "/api/v1/format_query?query=sum(rt_metric)",
        "/api/v1/parse_query?query=sum(rt_metric)",
    ] {
        let r = l.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(r.json()["status"], "success", "{path}");
    }
    assert_eq!(
        l.get("/api/v1/format_query?query=sum(rt_metric)").json()["data"],
        "sum(rt_metric)"
    );
    assert_eq!(
        l.get("/api/v1/parse_query?query=sum(rt_metric)").json()["data"]["type"],
        "aggregation"
    );
    let flags = l.get("/api/v1/status/flags").json();
    assert_eq!(flags["data"]["web.listen-address"], l.addr);
}

#[test]
fn error_shapes_from_the_real_engine() {
    let l = Lookout::start(&["--query.max-samples=10"]);
    let now = now_ms();
    let pts: Vec<(i64, f64)> = (0..40)
        .map(|i| (now - 200_000 + i * 5000, i as f64))
        .collect();
    assert_eq!(
        remote_write(&l.addr, &rw_body(&[(&[("__name__", "many")], &pts)])).status,
        204
    );
    let cases: &[(&str, u16, &str)] = &[
        ("/api/v1/query?query=rate(", 400, "bad_data"),
        (
            "/api/v1/query?query=up%7Bjob%3D~%22(%22%7D",
            400,
            "bad_data",
        ),
        (
            "/api/v1/series?match[]=%7Bjob%3D~%22(%22%7D",
            400,
            "bad_data",
        ),
        (
            "/api/v1/query_range?query=up&start=10&end=0&step=1",
            400,
            "bad_data",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=100000&step=1",
            400,
            "bad_data",
        ),
        ("/api/v1/query?query=many%5B5m%5D", 422, "execution"),
    ];
    for (path, status, kind) in cases {
        let r = l.get(path);
        assert_eq!(r.status, *status, "{path}: {}", r.body);
        let j = r.json();
        assert_eq!(j["status"], "error", "{path}");
        assert_eq!(j["errorType"], *kind, "{path}: {j}");
    }
    let r = l.get("/api/v1/query?query=many%5B5m%5D");
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("too many samples"),
        "{}",
        r.body
    );
    // Bad remote-write payloads are 400 and do not disturb the server.
    let r = remote_write(&l.addr, b"garbage");
    assert_eq!(r.status, 400);
    let r = remote_write(
        &l.addr,
        &snap::raw::Encoder::new()
            .compress_vec(&[0x0a, 0x7f])
            .unwrap(),
    );
    assert_eq!(r.status, 400);
    // Oversized remote-write body.
    let big = vec![0u8; 40 << 20];
    let r = http(
        &l.addr,
        "POST",
        "/api/v1/write",
        Some(&big),
        &[("Content-Type", "application/x-protobuf")],
    )
    .unwrap();
    assert_eq!(r.status, 413);
    assert_eq!(l.get("/-/healthy").status, 200);
}

#[test]
fn default_config_scrapes_lookout_and_node() {
    let l = Lookout::start(&[]);
    let got = wait_for(Duration::from_secs(30), || {
        let j = l.get("/api/v1/query?query=up").json();
        let res = j["data"]["result"].as_array()?.clone();
        let up = |job: &str| {
            res.iter()
                .any(|s| s["metric"]["job"] == job && s["value"][1] == "1")
        };
        (up("lookout") && up("node")).then_some(res)
    });
    assert!(
        got.is_some(),
        "up did not list lookout and node with value 1 within 30 s: {}",
        l.get("/api/v1/query?query=up").body
    );
}

#[test]
fn self_metrics() {
    let l = Lookout::start(&[]);
    let _ = l.get("/api/v1/labels");
    let m = l.get("/metrics");
    assert_eq!(m.status, 200);
    for name in [
        "process_resident_memory_bytes ",
        "process_cpu_seconds_total ",
        "process_start_time_seconds ",
        "process_open_fds ",
        "lookout_http_requests_total{handler=\"/api/v1/labels\",code=\"200\"} 1",
        "lookout_tsdb_series ",
        "lookout_config_last_reload_successful 1",
    ] {
        assert!(m.body.contains(name), "missing {name:?} in /metrics");
    }
}

#[test]
fn config_reload_keeps_old_config_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("lookout.yaml");
    std::fs::write(&cfg, "prometheus:\n  global:\n    scrape_interval: 1s\n  scrape_configs:\n    - job_name: first\n      static_configs: [{targets: ['127.0.0.1:1']}]\n").unwrap();
    let cfg_arg = format!("--config.file={}", cfg.display());
    let l = Lookout::start_in(dir, &[&cfg_arg]);
    let pools = |l: &Lookout| l.get("/api/v1/scrape_pools").json()["data"]["scrapePools"].clone();
    assert_eq!(pools(&l), serde_json::json!(["first"]));
    // A broken file: reload fails with 500 and says why; the old jobs stay.
    std::fs::write(
        &cfg,
        "prometheus:\n  scrape_configs:\n    - job_name: second\n      scrape_interval: 1x\n",
    )
    .unwrap();
    let r = http(&l.addr, "POST", "/-/reload", None, &[]).unwrap();
    assert_eq!(r.status, 500);
    assert!(
        r.body.starts_with("failed to reload config: "),
        "{}",
        r.body
    );
    assert!(r.body.contains("lookout.yaml:4"), "{}", r.body);
    assert_eq!(pools(&l), serde_json::json!(["first"]));
    assert!(l
        .get("/metrics")
        .body
        .contains("lookout_config_last_reload_successful 0\n"));
    assert_eq!(
        l.get("/api/v1/status/runtimeinfo").json()["data"]["reloadConfigSuccess"],
        false
    );
    // A good file via SIGHUP.
    std::fs::write(&cfg, "prometheus:\n  scrape_configs:\n    - job_name: second\n      static_configs: [{targets: ['127.0.0.1:1']}]\n").unwrap();
    l.proc.signal(libc::SIGHUP);
    let ok = wait_for(Duration::from_secs(10), || {
        (pools(&l) == serde_json::json!(["second"])
            && l.get("/metrics")
                .body
                .contains("lookout_config_last_reload_successful 1\n"))
        .then_some(())
    });
    assert!(ok.is_some(), "SIGHUP did not reload: {}", l.proc.log_text());
    assert!(l
        .get("/metrics")
        .body
        .contains("lookout_config_last_reload_successful 1\n"));
    assert!(l.get("/api/v1/status/config").json()["data"]["yaml"]
        .as_str()
        .unwrap()
        .contains("second"));
}

#[test]
fn bad_config_refuses_to_start_and_check_reports_lines() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: x\n    bogus_field: 1\n",
    )
    .unwrap();
    let out = std::process::Command::new(lookout_bin())
        .args(["check", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:5", bad.display())), "{err}");
    let good = dir.path().join("good.yaml");
    std::fs::write(&good, "prometheus:\n  scrape_configs:\n    - job_name: x\n      static_configs: [{targets: ['a:1']}]\n").unwrap();
    let out = std::process::Command::new(lookout_bin())
        .args(["check", good.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The server refuses the bad file.
    let port = lookout_testkit::free_port();
    let out = std::process::Command::new(lookout_bin())
        .args([
            format!("--config.file={}", bad.display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to start"));
}

#[test]
fn alertmanager_api_on_the_same_port() {
    let l = Lookout::start(&[]);
    // Grafana's Alertmanager data source (implementation "prometheus").
    let s = l.get("/api/v2/status");
    assert_eq!(s.status, 200, "{}", s.body);
    let j = s.json();
    assert!(
        j["config"]["original"]
            .as_str()
            .unwrap()
            .contains("receiver: default"),
        "{j}"
    );
    assert!(j["versionInfo"]["version"].is_string());
    assert_eq!(l.get("/alertmanager/api/v2/status").status, 404);
    assert_eq!(l.get("/api/v2/alerts").json(), serde_json::json!([]));
    assert_eq!(l.get("/api/v2/receivers").json()[0]["name"], "default");
    // The Prometheus alert list is still lookout's own.
    assert_eq!(
        l.get("/api/v1/alerts").json()["data"]["alerts"],
        serde_json::json!([])
    );
    assert!(l
        .get("/metrics")
        .body
        .contains("alertmanager_alerts{state=\"active\"} 0"));
}

#[test]
fn enable_feature_turns_on_experimental_promql() {
    let q = format!(
        "/api/v1/query?query={}&time=10",
        enc("mad_over_time(vector(1)[1m:10s])")
    );
    let plain = Lookout::start(&[]);
    let r = plain.get(&q);
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["errorType"], "bad_data");
    let with = Lookout::start(&["--enable-feature=promql-experimental-functions"]);
    let r = with.get(&q).json();
    assert_eq!(r["status"], "success", "{r}");
    assert_eq!(r["data"]["result"][0]["value"][1], "0");
    let flags = with.get("/api/v1/status/flags").json();
    assert_eq!(
        flags["data"]["enable-feature"],
        "promql-experimental-functions"
    );

    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(lookout_bin())
        .args([
            "--enable-feature=promql-no-such-thing".to_string(),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()),
            format!(
                "--web.listen-address=127.0.0.1:{}",
                lookout_testkit::free_port()
            ),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("promql-no-such-thing"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
