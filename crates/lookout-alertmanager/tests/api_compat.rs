//! API v2 behaviour next to Debian's Alertmanager 0.25: the same requests
//! to both, same status codes and (where Alertmanager's text comes from its
//! own handlers rather than Go's JSON decoder) the same bodies. Covers the
//! Flux notification-controller payload (must-show 2) and invalid alerts in
//! a batch (must-show 6).

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{get_json, LookoutServer, RealAlertmanager, Recorder};

const CFG: &str = r#"route:
  receiver: wh
  group_by: [alertname, namespace]
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: wh
    webhook_configs:
      - url: http://127.0.0.1:9/unused
"#;

struct Case {
    method: &'static str,
    path: &'static str,
    content_type: Option<&'static str>,
    body: &'static str,
    /// Compare bodies exactly (handler-produced texts).
    exact_body: bool,
}

fn cases() -> Vec<Case> {
    let j = Some("application/json");
    vec![
        Case {
            method: "POST",
            path: "/api/v2/alerts",
            content_type: Some("text/plain"),
            body: "[]",
            exact_body: true,
        },
        Case {
            method: "POST",
            path: "/api/v2/alerts",
            content_type: None,
            body: "[]",
            exact_body: false,
        },
        Case {
            method: "POST",
            path: "/api/v2/alerts",
            content_type: j,
            body: "{",
            exact_body: false,
        },
        Case {
            method: "POST",
            path: "/api/v2/alerts",
            content_type: j,
            body: "{}",
            exact_body: true,
        },
        Case {
            method: "POST",
            path: "/api/v2/alerts",
            content_type: j,
            body: r#"[{"annotations":{}}]"#,
            exact_body: true,
        },
        Case {
            method: "POST",
            path: "/api/v2/alerts",
            content_type: j,
            body: r#"[{"labels":{"bad-name":"x"}},{"labels":{"alertname":"ok1"}},{"labels":{}},{"labels":{"a":"b"},"startsAt":"2030-01-01T00:00:00Z","endsAt":"2029-01-01T00:00:00Z"},{"labels":{"alertname":"ok2","empty":""}}]"#,
            exact_body: true,
        },
        Case {
            method: "POST",
            path: "/api/v2/alerts",
            content_type: j,
            body: r#"[{"labels":{"a":"b"},"generatorURL":"not a uri"}]"#,
            exact_body: true,
        },
        Case {
            method: "POST",
            path: "/api/v2/alerts",
            content_type: j,
            body: r#"[{"labels":{"a":1}}]"#,
            exact_body: true,
        },
        Case {
            method: "POST",
            path: "/api/v2/alerts/",
            content_type: j,
            body: "[]",
            exact_body: true,
        },
        Case {
            method: "GET",
            path: "/api/v2/alerts?filter=foo",
            content_type: None,
            body: "",
            exact_body: true,
        },
        Case {
            method: "GET",
            path: "/api/v2/silence/nonexistent",
            content_type: None,
            body: "",
            exact_body: true,
        },
        Case {
            method: "GET",
            path: "/api/v2/silence/11111111-1111-1111-1111-111111111111",
            content_type: None,
            body: "",
            exact_body: true,
        },
        Case {
            method: "POST",
            path: "/api/v2/silences",
            content_type: j,
            body: r#"{"matchers":[],"startsAt":"2026-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z","createdBy":"a","comment":"c"}"#,
            exact_body: true,
        },
        Case {
            method: "POST",
            path: "/api/v2/silences",
            content_type: j,
            body: r#"{"matchers":[{"name":"a","value":".*","isRegex":true}],"startsAt":"2026-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z","createdBy":"a","comment":"c"}"#,
            exact_body: true,
        },
        Case {
            method: "POST",
            path: "/api/v2/silences",
            content_type: j,
            body: r#"{"matchers":[{"name":"a","value":"x","isRegex":false}],"startsAt":"2026-01-01T00:00:00Z","endsAt":"2025-01-01T00:00:00Z","createdBy":"a","comment":"c"}"#,
            exact_body: true,
        },
        Case {
            method: "POST",
            path: "/api/v2/silences",
            content_type: j,
            body: r#"{"matchers":[{"name":"a","value":"x","isRegex":false}],"startsAt":"2020-01-01T00:00:00Z","endsAt":"2021-01-01T00:00:00Z","createdBy":"a","comment":"c"}"#,
            exact_body: true,
        },
        Case {
            method: "POST",
            path: "/api/v2/silences",
            content_type: j,
            body: r#"{"id":"11111111-1111-1111-1111-111111111111","matchers":[{"name":"a","value":"x","isRegex":false}],"startsAt":"2026-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z","createdBy":"a","comment":"c"}"#,
            exact_body: true,
        },
        Case {
            method: "POST",
            path: "/api/v2/silences",
            content_type: j,
            body: r#"{"matchers":[{"name":"a","value":"x","isRegex":false}],"startsAt":"2026-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z","createdBy":"a"}"#,
            exact_body: true,
        },
        Case {
            method: "POST",
            path: "/api/v2/silences",
            content_type: j,
            body: r#"{"matchers":[{"name":"a","value":"(","isRegex":true}],"startsAt":"2026-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z","createdBy":"a","comment":"c"}"#,
            exact_body: true,
        },
        Case {
            method: "GET",
            path: "/api/v2/receivers",
            content_type: None,
            body: "",
            exact_body: true,
        },
        Case {
            method: "GET",
            path: "/-/ready",
            content_type: None,
            body: "",
            exact_body: true,
        },
        Case {
            method: "GET",
            path: "/-/healthy",
            content_type: None,
            body: "",
            exact_body: true,
        },
    ]
}

async fn send(base: &str, c: &Case) -> (u16, String) {
    let client = reqwest::Client::new();
    let url = format!("{base}{}", c.path);
    let mut req = match c.method {
        "POST" => client.post(url).body(c.body.to_string()),
        "DELETE" => client.delete(url),
        _ => client.get(url),
    };
    if let Some(ct) = c.content_type {
        req = req.header("Content-Type", ct);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

fn code_field(body: &str) -> Option<i64> {
    serde_json::from_str::<Value>(body)
        .ok()?
        .get("code")?
        .as_i64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn responses_match_alertmanager() {
    let Some(am) = RealAlertmanager::start(CFG) else {
        return;
    };
    // Classic mode is Alertmanager 0.25's only mode (label names must be
    // classic); lookout's default UTF-8 fallback mode accepts `bad-name`
    // like Alertmanager ≥ 0.27, checked below.
    let lk = LookoutServer::start_opts(
        CFG,
        lookout_alertmanager::matchers::ParseMode::Classic,
        None,
    )
    .await;
    let mut same_body = 0;
    let all = cases();
    for c in &all {
        let (s1, b1) = send(&am.url(), c).await;
        let (s2, b2) = send(&lk.url(), c).await;
        assert_eq!(
            s2, s1,
            "{} {}: status; Alertmanager body {b1:?}, lookout {b2:?}",
            c.method, c.path
        );
        assert_eq!(
            code_field(&b2),
            code_field(&b1),
            "{} {}: {b1:?} vs {b2:?}",
            c.method,
            c.path
        );
        if c.exact_body {
            assert_eq!(b2.trim_end(), b1.trim_end(), "{} {} body", c.method, c.path);
            same_body += 1;
        }
    }
    eprintln!(
        "{} requests: same status everywhere, identical bodies for {same_body}",
        all.len()
    );
    // The valid alerts of the mixed batch were kept, with the empty label
    // dropped, in both.
    for base in [am.url(), lk.url()] {
        let (_, v) = get_json(&format!("{base}/api/v2/alerts?filter=alertname=~\"ok.*\"")).await;
        let names: Vec<&str> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["labels"]["alertname"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{base}: {v}");
        for a in v.as_array().unwrap() {
            assert!(a["labels"].get("empty").is_none());
            assert_eq!(a["status"]["state"], "active");
            assert_eq!(a["receivers"], json!([{"name": "wh"}]));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn utf8_label_names_accepted_in_fallback_mode() {
    let lk = LookoutServer::start(CFG).await;
    let (s, b) = support::post_json(
        &format!("{}/api/v2/alerts", lk.url()),
        &json!([{"labels": {"bad-name": "x", "foo🙂": "bar", "alertname": "U"}}]),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (_, v) = get_json(&format!(
        "{}/api/v2/alerts?filter=%22foo%F0%9F%99%82%22%3Dbar",
        lk.url()
    ))
    .await;
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    // Classic mode rejects the same batch like Alertmanager 0.25.
    let classic = LookoutServer::start_opts(
        CFG,
        lookout_alertmanager::matchers::ParseMode::Classic,
        None,
    )
    .await;
    let (s, b) = support::post_json(
        &format!("{}/api/v2/alerts", classic.url()),
        &json!([{"labels": {"foo🙂": "bar"}}]),
    )
    .await;
    assert_eq!(s, 400);
    assert!(b.contains("invalid label set"), "{b}");
}

/// Flux notification-controller's `alertmanager` provider body.
fn flux_payload(summary: Option<&str>) -> Value {
    let mut ann = json!({"message": "kustomize build failed: accumulating resources"});
    if let Some(s) = summary {
        ann["summary"] = json!(s);
    }
    json!([{
        "status": "firing",
        "labels": {
            "alertname": "FluxKustomizationReconciliationfailed",
            "severity": "error",
            "reason": "ReconciliationFailed",
            "kind": "Kustomization",
            "name": "apps",
            "namespace": "flux-system",
            "reportingcontroller": "kustomize-controller",
            "revision": "main@sha1:0123456789abcdef"
        },
        "annotations": ann,
        "startsAt": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "endsAt": "0001-01-01T00:00:00Z"
    }])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn flux_payload_is_accepted_and_routed() {
    let pushover = Recorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k");
    std::fs::write(&key, "key").unwrap();
    let cfg = format!(
        r#"route:
  receiver: pushover-warning
  group_by: [alertname, namespace]
  group_wait: 1s
  routes:
    - receiver: "null"
      matchers: [alertname = Watchdog]
    - receiver: pushover-critical
      matchers: [severity = critical]
    - receiver: pushover-warning
      matchers: [severity = warning]
receivers:
  - name: "null"
  - name: pushover-critical
    pushover_configs:
      - {{user_key_file: {k}, token_file: {k}, priority: 1, title: '{{{{ .CommonLabels.alertname }}}}', message: '{{{{ range .Alerts }}}}{{{{ .Annotations.summary }}}}{{{{ end }}}}'}}
  - name: pushover-warning
    pushover_configs:
      - {{user_key_file: {k}, token_file: {k}, priority: 0, title: '{{{{ .CommonLabels.alertname }}}}', message: '{{{{ range .Alerts }}}}{{{{ .Annotations.summary }}}}{{{{ end }}}}'}}
"#,
        k = key.display()
    );
    let lk = LookoutServer::start_pushover(&cfg, &pushover.url()).await;
    // Flux posts to the slashed path, with its extra "status" key.
    let (status, body) =
        support::post_json(&format!("{}/api/v2/alerts/", lk.url()), &flux_payload(None)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.is_empty());
    let (_, alerts) = get_json(&format!("{}/api/v2/alerts", lk.url())).await;
    let a = &alerts[0];
    assert_eq!(
        a["labels"]["alertname"],
        "FluxKustomizationReconciliationfailed"
    );
    assert_eq!(a["receivers"], json!([{"name": "pushover-warning"}]));
    // endsAt = receive time + resolve_timeout (5m).
    let ends = chrono::DateTime::parse_from_rfc3339(a["endsAt"].as_str().unwrap()).unwrap();
    let left = ends.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!(
        left > chrono::Duration::seconds(290) && left <= chrono::Duration::seconds(300),
        "{left}"
    );
    let reqs = pushover.wait_for(1, Duration::from_secs(4)).await;
    assert_eq!(reqs.len(), 1);
    let p = reqs[0].params();
    assert_eq!(p["title"], "FluxKustomizationReconciliationfailed");
    assert_eq!(p["priority"], "0");
    assert_eq!(p["message"], "(no details)");

    // Real Alertmanager accepts the same request the same way.
    if let Some(am) = RealAlertmanager::start(CFG) {
        let (status, body) = support::post_json(
            &format!("{}/api/v2/alerts/", am.url()),
            &flux_payload(Some("s")),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn get_alerts_and_groups_shapes_match() {
    let Some(am) = RealAlertmanager::start(CFG) else {
        return;
    };
    let lk = LookoutServer::start(CFG).await;
    let batch = json!([
        {"labels": {"alertname": "A", "namespace": "n", "severity": "warning"}, "annotations": {"summary": "s1"}, "generatorURL": "http://prom/graph"},
        {"labels": {"alertname": "A", "namespace": "n", "severity": "critical"}},
        {"labels": {"alertname": "B", "namespace": "m"}}
    ]);
    for base in [am.url(), lk.url()] {
        let (s, b) = support::post_json(&format!("{base}/api/v2/alerts"), &batch).await;
        assert_eq!(s, 200, "{b}");
        let sil = json!({"matchers": [{"name": "alertname", "value": "B", "isRegex": false}], "startsAt": chrono::Utc::now().to_rfc3339(), "endsAt": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339(), "createdBy": "t", "comment": "c"});
        let (s, b) = support::post_json(&format!("{base}/api/v2/silences"), &sil).await;
        assert_eq!(s, 200, "{b}");
    }
    let strip = |mut v: Value| -> Value {
        // Drop what legitimately differs: times, silence ids, and fields
        // added after 0.25 (mutedBy).
        fn walk(v: &mut Value) {
            match v {
                Value::Object(m) => {
                    for k in ["startsAt", "endsAt", "updatedAt", "mutedBy"] {
                        m.remove(k);
                    }
                    if let Some(Value::Array(ids)) = m.get_mut("silencedBy") {
                        for id in ids.iter_mut() {
                            *id = json!("<id>");
                        }
                    }
                    for (_, x) in m.iter_mut() {
                        walk(x);
                    }
                }
                Value::Array(a) => a.iter_mut().for_each(walk),
                _ => {}
            }
        }
        walk(&mut v);
        v
    };
    for q in [
        "/api/v2/alerts",
        "/api/v2/alerts?silenced=false",
        "/api/v2/alerts?active=false",
        "/api/v2/alerts?filter=severity%3D%22warning%22",
        "/api/v2/alerts?filter=severity%3D%22%22",
        "/api/v2/alerts?filter=severity!%3D%22%22",
        "/api/v2/alerts?receiver=wh",
        "/api/v2/alerts?receiver=nope",
        "/api/v2/alerts/groups",
        "/api/v2/alerts/groups?silenced=false",
        "/api/v2/alerts/groups?filter=namespace%3Dn",
    ] {
        let (s1, v1) = get_json(&format!("{}{q}", am.url())).await;
        let (s2, v2) = get_json(&format!("{}{q}", lk.url())).await;
        assert_eq!(s1, s2, "{q}");
        assert_eq!(strip(v2), strip(v1), "{q}");
    }
}
