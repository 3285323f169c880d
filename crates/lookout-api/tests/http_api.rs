//! HTTP behaviour of the Prometheus API against test doubles: envelopes,
//! shapes, number formats, parameter errors, status codes.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::*;

#[tokio::test]
async fn grafana_health_check_get_and_post() {
    let f = fixture();
    let want = r#"{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}"#;
    let r = get(&f.router, "/api/v1/query?query=1%2B1&time=4").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(r.body, want);
    let r = post_form(&f.router, "/api/v1/query", "query=1%2B1&time=4").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, want);
    // Custom parameters in the URL with the rest in the body, plus unknown ones.
    let r = post_form(
        &f.router,
        "/api/v1/query?custom=1&timeout=60s",
        "query=1%2B1&time=4&foo=bar",
    )
    .await;
    assert_eq!(r.body, want);
}

#[tokio::test]
async fn scalar_and_string_formats() {
    let f = fixture();
    let r = get(&f.router, "/api/v1/query?query=1e-7&time=1.5").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"resultType":"scalar","result":[1.5,"0.0000001"]}}"#
    );
    let r = get(&f.router, "/api/v1/query?query=%22str%22&time=2").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"resultType":"string","result":[2,"str"]}}"#
    );
}

#[tokio::test]
async fn vector_and_matrix_shapes() {
    let f = fixture();
    add(&f.store, &[("__name__", "up"), ("job", "a")], 10_000, 1.0);
    add(
        &f.store,
        &[("__name__", "up"), ("job", "b")],
        10_000,
        f64::NAN,
    );
    let r = get(&f.router, "/api/v1/query?query=up&time=10.123").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a"},"value":[10.123,"1"]},{"metric":{"__name__":"up","job":"b"},"value":[10.123,"NaN"]}]}}"#
    );
    let r = get(
        &f.router,
        "/api/v1/query_range?query=up&start=10&end=20&step=5",
    )
    .await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"job":"a"},"values":[[10,"1"],[15,"1"],[20,"1"]]},{"metric":{"job":"b"},"values":[[10,"NaN"],[15,"NaN"],[20,"NaN"]]}]}}"#
    );
    // limit truncates series and warns.
    let r = get(&f.router, "/api/v1/query?query=up&time=10&limit=1").await;
    let j = r.json();
    assert_eq!(j["data"]["result"].as_array().unwrap().len(), 1);
    assert_eq!(j["warnings"][0], "results truncated due to limit");
    // stats=all adds data.stats with the measured timings (sample counts
    // only when the engine reports them; the double does not).
    let r = get(&f.router, "/api/v1/query?query=up&time=10&stats=all").await;
    assert!(
        r.json()["data"]["stats"]["timings"]["execTotalTime"].is_f64()
            && r.json()["data"]["stats"].get("samples").is_none(),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn query_parameter_errors() {
    let f = fixture();
    let cases = [
        ("/api/v1/query?query=rate(&time=1", 400, "bad_data", r#"invalid parameter "query": 1:5: parse error: unexpected end of input"#),
        ("/api/v1/query?query=1%2B1&time=abc", 400, "bad_data", r#"invalid parameter "time": cannot parse "abc" to a valid timestamp"#),
        ("/api/v1/query?query=1%2B1&timeout=x", 400, "bad_data", r#"invalid parameter "timeout": cannot parse "x" to a valid duration"#),
        ("/api/v1/query?query=1%2B1&limit=-1", 400, "bad_data", "limit must be non-negative"),
        ("/api/v1/query?query=", 400, "bad_data", r#"invalid parameter "query": 1:1: parse error: no expression found in input"#),
        ("/api/v1/query?query=too_many", 422, "execution", "query processing would load too many samples into memory in query execution"),
        ("/api/v1/query_range?query=up&start=x&end=2&step=1", 400, "bad_data", r#"invalid parameter "start": cannot parse "x" to a valid timestamp"#),
        ("/api/v1/query_range?query=up&start=1&end=2", 400, "bad_data", r#"invalid parameter "step": cannot parse "" to a valid duration"#),
        ("/api/v1/query_range?query=up&start=3&end=2&step=1", 400, "bad_data", r#"invalid parameter "end": end timestamp must not be before start time"#),
        ("/api/v1/query_range?query=up&start=1&end=2&step=0", 400, "bad_data", r#"invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer"#),
        ("/api/v1/query_range?query=up&start=0&end=11001&step=1", 400, "bad_data", "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"),
        ("/api/v1/query_range?query=too_many&start=0&end=10&step=1", 422, "execution", "query processing would load too many samples into memory in query execution"),
        ("/api/v1/series?match[]=up{a=~%22(%22}", 400, "bad_data", ""),
        ("/api/v1/series", 400, "bad_data", "no match[] parameter provided"),
        ("/api/v1/series?match[]={a=~%22.*%22}", 400, "bad_data", "match[] must contain at least one non-empty matcher"),
        ("/api/v1/labels?start=yesterday", 400, "bad_data", r#"invalid parameter "start": cannot parse "yesterday" to a valid timestamp"#),
        ("/api/v1/metadata?limit=x", 400, "bad_data", "limit must be a number"),
        ("/api/v1/status/tsdb?limit=0", 400, "bad_data", "limit must be a positive number less than or equal to 10000"),
        ("/api/v1/rules?type=foo", 400, "bad_data", r#"invalid parameter "type": not supported value "foo""#),
        ("/api/v1/rules?group_next_token=abc", 400, "bad_data", ""),
    ];
    for (uri, status, kind, msg) in cases {
        let r = get(&f.router, uri).await;
        assert_eq!(r.status, status, "{uri}: {}", r.body);
        let j = r.json();
        assert_eq!(j["status"], "error", "{uri}");
        assert_eq!(j["errorType"], kind, "{uri}");
        assert!(
            j.get("data").is_none() && j.get("warnings").is_none(),
            "{uri}"
        );
        if !msg.is_empty() {
            assert_eq!(j["error"], msg, "{uri}");
        } else {
            assert!(!j["error"].as_str().unwrap().is_empty(), "{uri}");
        }
    }
    // Exactly 11,000 points (end inclusive: 11,001 samples) is still allowed.
    let r = get(
        &f.router,
        "/api/v1/query_range?query=1%2B1&start=0&end=11000&step=1",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn labels_values_series() {
    let f = fixture();
    add(
        &f.store,
        &[("__name__", "up"), ("job", "a"), ("instance", "x")],
        1000,
        1.0,
    );
    add(&f.store, &[("__name__", "up"), ("job", "b")], 1000, 1.0);
    add(
        &f.store,
        &[("__name__", "node_load1"), ("my.label", "v")],
        1000,
        0.5,
    );
    let r = get(&f.router, "/api/v1/labels").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":["__name__","instance","job","my.label"]}"#
    );
    let r = post_form(&f.router, "/api/v1/labels", "match[]=up&start=0&end=10").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":["__name__","instance","job"]}"#
    );
    let r = get(&f.router, "/api/v1/labels?limit=2").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":["__name__","instance"],"warnings":["results truncated due to limit"]}"#
    );
    let r = get(&f.router, "/api/v1/label/job/values").await;
    assert_eq!(r.body, r#"{"status":"success","data":["a","b"]}"#);
    let r = post_form(&f.router, "/api/v1/label/__name__/values", "").await;
    assert_eq!(r.body, r#"{"status":"success","data":["node_load1","up"]}"#);
    let r = get(&f.router, "/api/v1/label/U__my_2e_label/values").await;
    assert_eq!(r.body, r#"{"status":"success","data":["v"]}"#);
    // Empty results are [] not null; time range excludes the data.
    let r = get(&f.router, "/api/v1/label/job/values?start=2000&end=3000").await;
    assert_eq!(r.body, r#"{"status":"success","data":[]}"#);
    let r = get(
        &f.router,
        "/api/v1/series?match[]=up&match[]=up{job=%22a%22}",
    )
    .await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":[{"__name__":"up","instance":"x","job":"a"},{"__name__":"up","job":"b"}]}"#
    );
    let r = post_form(&f.router, "/api/v1/series", "match[]=up&limit=1").await;
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 1);
    assert_eq!(r.json()["warnings"][0], "results truncated due to limit");
}

#[tokio::test]
async fn status_endpoints_shapes() {
    let f = fixture();
    add(&f.store, &[("__name__", "up"), ("job", "a")], 1000, 1.0);
    let r = get(&f.router, "/api/v1/status/buildinfo").await;
    let j = r.json();
    assert_eq!(j["status"], "success");
    let data = j["data"].as_object().unwrap();
    assert!(data.get("features").is_none() && data.get("application").is_none());
    let v = data["version"].as_str().unwrap();
    let parts: Vec<u64> = v.split('.').map(|p| p.parse().unwrap()).collect();
    assert_eq!(parts.len(), 3, "semver {v}");
    assert!(parts[0] > 2 || (parts[0] == 2 && parts[1] >= 24), "{v}");
    for k in ["revision", "branch", "buildUser", "buildDate", "goVersion"] {
        assert!(data[k].is_string(), "{k}");
    }
    assert_eq!(
        get(&f.router, "/api/v1/status/config").await.json()["data"]["yaml"],
        "global: {}\n"
    );
    assert!(get(&f.router, "/api/v1/status/flags").await.json()["data"].is_object());
    let rt = get(&f.router, "/api/v1/status/runtimeinfo").await.json();
    for k in [
        "startTime",
        "CWD",
        "hostname",
        "serverTime",
        "reloadConfigSuccess",
        "lastConfigTime",
        "corruptionCount",
        "goroutineCount",
        "GOMAXPROCS",
        "GOMEMLIMIT",
        "GOGC",
        "GODEBUG",
        "storageRetention",
    ] {
        assert!(rt["data"].get(k).is_some(), "runtimeinfo lacks {k}");
    }
    let ts = get(&f.router, "/api/v1/status/tsdb").await.json();
    assert_eq!(ts["data"]["headStats"]["numSeries"], 1);
    assert_eq!(
        ts["data"]["seriesCountByMetricName"][0],
        serde_json::json!({"name": "up", "value": 1})
    );
    for k in [
        "labelValueCountByLabelName",
        "memoryInBytesByLabelName",
        "seriesCountByLabelValuePair",
    ] {
        assert!(ts["data"][k].is_array(), "{k}");
    }
    assert_eq!(
        get(&f.router, "/api/v1/status/walreplay").await.body,
        r#"{"status":"success","data":{"min":0,"max":0,"current":0}}"#
    );
    assert_eq!(
        get(&f.router, "/api/v1/rules").await.body,
        r#"{"status":"success","data":{"groups":[]}}"#
    );
    assert_eq!(
        get(
            &f.router,
            "/api/v1/rules?type=alert&exclude_alerts=true&group_limit=10"
        )
        .await
        .status,
        200
    );
    assert_eq!(
        get(&f.router, "/api/v1/alerts").await.body,
        r#"{"status":"success","data":{"alerts":[]}}"#
    );
    assert_eq!(
        get(&f.router, "/api/v1/alertmanagers").await.body,
        r#"{"status":"success","data":{"activeAlertmanagers":[],"droppedAlertmanagers":[]}}"#
    );
    // Exemplars: empty list for selectors, 204 for selector-free queries, 400 on parse errors.
    assert_eq!(
        get(
            &f.router,
            "/api/v1/query_exemplars?query=test&start=1718000000000&end=1718000000000"
        )
        .await
        .body,
        r#"{"status":"success","data":[]}"#
    );
    assert_eq!(
        post_form(&f.router, "/api/v1/query_exemplars", "query=up")
            .await
            .status,
        200
    );
    assert_eq!(
        get(&f.router, "/api/v1/query_exemplars?query=1%2B1")
            .await
            .status,
        204
    );
    assert_eq!(
        get(&f.router, "/api/v1/query_exemplars?query=rate(")
            .await
            .status,
        400
    );
    assert_eq!(
        get(&f.router, "/api/v1/format_query?query=up%20")
            .await
            .body,
        r#"{"status":"success","data":"up"}"#
    );
    assert_eq!(
        get(&f.router, "/api/v1/format_query?query=rate(")
            .await
            .status,
        400
    );
    assert_eq!(
        get(&f.router, "/api/v1/parse_query?query=up").await.json()["data"]["type"],
        "vectorSelector"
    );
}

#[tokio::test]
async fn targets_and_metadata() {
    let f = fixture();
    let t = get(&f.router, "/api/v1/targets").await.json();
    let a = &t["data"]["activeTargets"][0];
    for k in [
        "discoveredLabels",
        "labels",
        "scrapePool",
        "scrapeUrl",
        "globalUrl",
        "lastError",
        "lastScrape",
        "lastScrapeDuration",
        "health",
        "scrapeInterval",
        "scrapeTimeout",
    ] {
        assert!(a.get(k).is_some(), "target lacks {k}");
    }
    assert_eq!(t["data"]["droppedTargets"], serde_json::json!([]));
    assert_eq!(t["data"]["droppedTargetCounts"], serde_json::json!({}));
    let t = get(&f.router, "/api/v1/targets?state=dropped").await.json();
    assert_eq!(t["data"]["activeTargets"], serde_json::json!([]));
    let m = get(&f.router, "/api/v1/metadata").await;
    assert_eq!(
        m.body,
        r#"{"status":"success","data":{"node_cpu_seconds_total":[{"type":"counter","help":"Seconds the CPUs spent in each mode.","unit":""}],"node_load1":[{"type":"gauge","help":"1m load average.","unit":""}]}}"#
    );
    assert_eq!(
        get(&f.router, "/api/v1/metadata?limit=1").await.json()["data"]
            .as_object()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        get(&f.router, "/api/v1/metadata?metric=node_load1")
            .await
            .json()["data"]
            .as_object()
            .unwrap()
            .len(),
        1
    );
    let tm = get(
        &f.router,
        "/api/v1/targets/metadata?match_target={job=%22node%22}&metric=node_load1",
    )
    .await;
    assert_eq!(
        tm.body,
        r#"{"status":"success","data":[{"target":{"instance":"127.0.0.1:9100","job":"node"},"type":"gauge","help":"1m load average.","unit":""}]}"#
    );
    let tm = get(
        &f.router,
        "/api/v1/targets/metadata?match_target={job=%22other%22}",
    )
    .await;
    assert_eq!(tm.body, r#"{"status":"success","data":[]}"#);
    assert_eq!(
        get(&f.router, "/api/v1/scrape_pools").await.body,
        r#"{"status":"success","data":{"scrapePools":["node"]}}"#
    );
}

#[tokio::test]
async fn methods_cors_gzip_and_lifecycle() {
    let f = fixture();
    // Wrong method on a read path: 405, never 404.
    let r = send(
        &f.router,
        Request::delete("/api/v1/query")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 405);
    let r = send(
        &f.router,
        Request::post("/api/v1/metadata")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 405);
    // CORS preflight and headers.
    let r = send(
        &f.router,
        Request::options("/api/v1/query")
            .header("origin", "http://x")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(r.headers["access-control-allow-origin"], "*");
    assert_eq!(
        r.headers["access-control-allow-methods"],
        "GET, POST, OPTIONS"
    );
    // gzip when accepted.
    add(&f.store, &[("__name__", "up"), ("job", "a")], 1000, 1.0);
    let r = send(
        &f.router,
        Request::get("/api/v1/labels")
            .header("accept-encoding", "gzip")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        r.headers
            .get("content-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("gzip")
    );
    let r = get(&f.router, "/api/v1/labels").await;
    assert!(r.headers.get("content-encoding").is_none());
    // Health and readiness.
    let r = get(&f.router, "/-/healthy").await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, "Prometheus Server is Healthy.\n")
    );
    let r = send(
        &f.router,
        Request::head("/-/healthy").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (200, ""));
    assert_eq!(
        get(&f.router, "/-/ready").await.body,
        "Prometheus Server is Ready.\n"
    );
    f.api.set_ready(false);
    let r = get(&f.router, "/-/ready").await;
    assert_eq!((r.status, r.body.as_str()), (503, "Service Unavailable"));
    assert_eq!(r.headers["x-prometheus-stopping"], "false");
    assert_eq!(
        get(&f.router, "/api/v1/query?query=1%2B1").await.status,
        503
    );
    assert_eq!(get(&f.router, "/-/healthy").await.status, 200);
    f.api.set_ready(true);
    // Reload without a config source fails with 500 and says why; GET is 405.
    let r = send(
        &f.router,
        Request::post("/-/reload").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(r.status, 500);
    assert!(
        r.body.starts_with("failed to reload config: "),
        "{}",
        r.body
    );
    assert_eq!(
        get(&f.router, "/-/reload").await.body,
        "Only POST or PUT requests allowed"
    );
    // Mimir-style paths must not exist.
    assert_eq!(
        get(&f.router, "/alertmanager/api/v2/status").await.status,
        404
    );
    // Self metrics count requests per handler.
    let m = get(&f.router, "/metrics").await;
    assert_eq!(
        m.headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(
        m.body
            .contains("lookout_http_requests_total{handler=\"/api/v1/labels\",code=\"200\"} 2\n"),
        "{}",
        m.body
    );
}

#[tokio::test]
async fn lifecycle_disabled_is_forbidden() {
    let f = fixture_with(lookout_api::ApiSettings {
        enable_lifecycle: false,
        ..Default::default()
    });
    let r = send(
        &f.router,
        Request::put("/-/reload").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (403, "Lifecycle API is not enabled.")
    );
}

#[tokio::test]
async fn federate_latest_samples_with_instance_label() {
    let f = fixture();
    let now = lookout_api::params::now_ms();
    add(
        &f.store,
        &[("__name__", "up"), ("job", "a"), ("instance", "h:1")],
        now - 20_000,
        0.0,
    );
    add(
        &f.store,
        &[("__name__", "up"), ("job", "a"), ("instance", "h:1")],
        now - 5_000,
        1.0,
    );
    add(
        &f.store,
        &[("__name__", "node_load1"), ("job", "n")],
        now - 1_000,
        1234567.0,
    );
    add(
        &f.store,
        &[("__name__", "old"), ("job", "n")],
        now - 3_600_000,
        1.0,
    );
    let r = get(&f.router, "/federate?match[]={job=~%22.%2B%22}").await;
    assert_eq!(r.status, 200);
    let want = format!(
        "# TYPE node_load1 untyped\nnode_load1{{instance=\"\",job=\"n\"}} 1.234567e+06 {}\n# TYPE up untyped\nup{{instance=\"h:1\",job=\"a\"}} 1 {}\n",
        now - 1_000,
        now - 5_000
    );
    assert_eq!(r.body, want);
    let r = get(&f.router, "/federate?match[]=up{").await;
    assert_eq!(r.status, 400);
    assert_eq!(get(&f.router, "/federate").await.body, "");
}

#[tokio::test]
async fn oversized_form_body_is_413() {
    let f = fixture();
    let big = format!(
        "query={}",
        "a".repeat(lookout_api::params::MAX_FORM_BYTES + 10)
    );
    let r = post_form(&f.router, "/api/v1/query", &big).await;
    assert_eq!(r.status, 413);
}
