//! Must-show 6 (and the Pushover receipt extension): Pushover errors follow
//! Alertmanager's retry rules and show up in the metrics; a bad config at
//! reload keeps the old one running.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{post_json, LookoutServer, Recorder, Reply};

fn pushover_cfg(group_interval: &str) -> String {
    format!(
        "route:\n  receiver: p\n  group_by: [alertname]\n  group_wait: 500ms\n  group_interval: {group_interval}\nreceivers:\n  - name: p\n    pushover_configs:\n      - user_key: u\n        token: tok\n        priority: 0\n"
    )
}

async fn fire(lk: &LookoutServer, name: &str) {
    let (s, b) = post_json(
        &format!("{}/api/v2/alerts", lk.url()),
        &json!([{"labels": {"alertname": name}}]),
    )
    .await;
    assert_eq!(s, 200, "{b}");
}

fn metric(text: &str, line_prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(line_prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("metric {line_prefix} missing"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn client_errors_are_not_retried_within_a_flush() {
    let mock = Recorder::start_with(vec![Reply::Status(
        400,
        r#"{"user":"invalid","errors":["user identifier is invalid"],"status":0}"#.into(),
    )])
    .await;
    let lk = LookoutServer::start_pushover(&pushover_cfg("2s"), &mock.url()).await;
    fire(&lk, "A").await;
    tokio::time::sleep(Duration::from_millis(1800)).await;
    // One attempt in the first flush, no retries.
    assert_eq!(mock.count(), 1);
    let m = lk.am.metrics_text();
    assert_eq!(
        metric(
            &m,
            r#"alertmanager_notifications_failed_total{integration="pushover",reason="clientError"}"#
        ),
        1.0
    );
    assert_eq!(
        metric(
            &m,
            r#"alertmanager_notifications_total{integration="pushover"}"#
        ),
        1.0
    );
    assert_eq!(
        metric(
            &m,
            r#"alertmanager_notification_requests_failed_total{integration="pushover"}"#
        ),
        1.0
    );
    // Nothing was logged, so the next group tick tries again from scratch.
    let reqs = mock.wait_for(2, Duration::from_secs(3)).await;
    assert_eq!(reqs.len(), 2);
    let gap = reqs[1].at.duration_since(reqs[0].at).as_secs_f64();
    assert!((1.5..2.6).contains(&gap), "retried after {gap:.2}s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limits_and_auth_errors_have_their_reasons() {
    let mock = Recorder::start_with(vec![
        Reply::Status(429, "quota".into()),
        Reply::Status(401, "bad token".into()),
    ])
    .await;
    let lk = LookoutServer::start_pushover(&pushover_cfg("1s"), &mock.url()).await;
    fire(&lk, "A").await;
    mock.wait_for(2, Duration::from_secs(4)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let m = lk.am.metrics_text();
    assert_eq!(
        metric(
            &m,
            r#"alertmanager_notifications_failed_total{integration="pushover",reason="rateLimited"}"#
        ),
        1.0
    );
    assert!(
        metric(
            &m,
            r#"alertmanager_notifications_failed_total{integration="pushover",reason="authError"}"#
        ) >= 1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_errors_are_retried_with_backoff_within_the_flush() {
    let mock = Recorder::start_with(vec![
        Reply::Status(503, "down".into()),
        Reply::Status(500, "down".into()),
        Reply::Status(200, r#"{"status":1,"request":"x"}"#.into()),
    ])
    .await;
    let lk = LookoutServer::start_pushover(&pushover_cfg("5m"), &mock.url()).await;
    fire(&lk, "A").await;
    let reqs = mock.wait_for(3, Duration::from_secs(5)).await;
    assert_eq!(reqs.len(), 3);
    // Back-off: ~0.5 s (±50 %) then ~0.75 s (±50 %).
    let g1 = reqs[1].at.duration_since(reqs[0].at).as_secs_f64();
    let g2 = reqs[2].at.duration_since(reqs[1].at).as_secs_f64();
    assert!((0.2..0.8).contains(&g1), "{g1}");
    assert!((0.3..1.2).contains(&g2), "{g2}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(mock.count(), 3);
    let m = lk.am.metrics_text();
    assert_eq!(
        metric(
            &m,
            r#"alertmanager_notifications_total{integration="pushover"}"#
        ),
        1.0
    );
    assert_eq!(
        metric(
            &m,
            r#"alertmanager_notification_requests_total{integration="pushover"}"#
        ),
        3.0
    );
    assert_eq!(
        metric(
            &m,
            r#"alertmanager_notification_requests_failed_total{integration="pushover"}"#
        ),
        2.0
    );
    assert_eq!(
        metric(
            &m,
            r#"alertmanager_notifications_failed_total{integration="pushover",reason="serverError"}"#
        ),
        0.0
    );
    assert!(
        m.contains(r#"alertmanager_notification_latency_seconds_count{integration="pushover"} 3"#)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hanging_pushover_times_out_at_the_flush_deadline() {
    let mock = Recorder::start_with(vec![Reply::Delay(
        Duration::from_secs(30),
        200,
        "{}".into(),
    )])
    .await;
    let lk = LookoutServer::start_pushover(&pushover_cfg("1s"), &mock.url()).await;
    let t0 = Instant::now();
    fire(&lk, "A").await;
    // Deadline: max(group_interval, 10 s) after the flush started at 0.5 s.
    let end = Instant::now() + Duration::from_secs(14);
    let reason = r#"alertmanager_notifications_failed_total{integration="pushover",reason="contextDeadlineExceeded"}"#;
    while Instant::now() < end && metric(&lk.am.metrics_text(), reason) < 1.0 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = t0.elapsed().as_secs_f64();
    assert_eq!(metric(&lk.am.metrics_text(), reason), 1.0);
    assert!((10.0..12.0).contains(&took), "failed after {took:.2}s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn emergency_receipts_are_cancelled_when_the_alert_resolves() {
    let mock = Recorder::start_with(vec![Reply::Status(
        200,
        r#"{"status":1,"request":"q1","receipt":"rcpt0123456789"}"#.into(),
    )])
    .await;
    // Default priority: 2 (emergency) while firing, 0 when resolved.
    let cfg = "route:\n  receiver: p\n  group_by: [alertname]\n  group_wait: 500ms\n  group_interval: 1s\nreceivers:\n  - name: p\n    pushover_configs:\n      - user_key: u\n        token: tok\n        title: t\n        message: m\n";
    let lk = LookoutServer::start_pushover(cfg, &mock.url()).await;
    fire(&lk, "Disk").await;
    let reqs = mock.wait_for(1, Duration::from_secs(3)).await;
    assert_eq!(reqs[0].params()["priority"], "2");
    assert_eq!(lk.am.core.receipts.all().len(), 1);
    // The receipt survives on disk.
    assert!(
        std::fs::read_to_string(lk.dir.path().join("data/pushover_receipts.json"))
            .unwrap()
            .contains("rcpt0123456789")
    );
    // Resolve it.
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let (s, _) = post_json(
        &format!("{}/api/v2/alerts", lk.url()),
        &json!([{"labels": {"alertname": "Disk"}, "endsAt": now}]),
    )
    .await;
    assert_eq!(s, 200);
    let reqs = mock.wait_for(3, Duration::from_secs(4)).await;
    let resolved = reqs.iter().find(|r| {
        r.path == "/1/messages.json" && r.params().get("priority").map(String::as_str) == Some("0")
    });
    assert!(resolved.is_some(), "{reqs:?}");
    let cancel = reqs
        .iter()
        .find(|r| r.path == "/1/receipts/rcpt0123456789/cancel.json")
        .expect("cancel request");
    assert_eq!(cancel.method, "POST");
    assert_eq!(String::from_utf8_lossy(&cancel.body), "token=tok");
    assert!(lk.am.core.receipts.all().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_config_at_reload_keeps_the_old_one() {
    let hook = Recorder::start().await;
    let good = format!("route:\n  receiver: wh\n  group_wait: 500ms\nreceivers:\n  - name: wh\n    webhook_configs:\n      - url: {}/hook\n", hook.url());
    let lk = LookoutServer::start(&good).await;
    let original = lk.am.config().unwrap().original.clone();
    let path = lk.dir.path().join("alertmanager.yml");
    std::fs::write(
        &path,
        "route:\n  receiver: wh\n  group_wait: 1x\nreceivers:\n  - name: wh\n",
    )
    .unwrap();
    let resp = reqwest::Client::new()
        .post(format!("{}/-/reload", lk.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 500);
    let text = resp.text().await.unwrap();
    assert!(text.starts_with("failed to reload config: "), "{text}");
    assert!(
        text.contains("alertmanager.yml:3:"),
        "location missing: {text}"
    );
    assert!(text.contains("not a valid duration string"), "{text}");
    assert_eq!(lk.am.config().unwrap().original, original);
    assert!(lk
        .am
        .metrics_text()
        .contains("alertmanager_config_last_reload_successful 0"));
    // Still routing with the old config.
    fire(&lk, "StillWorks").await;
    let reqs = hook.wait_for(1, Duration::from_secs(3)).await;
    assert_eq!(reqs.len(), 1);
    // GET is not allowed.
    let resp = reqwest::get(format!("{}/-/reload", lk.url()))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    // A good config reloads.
    std::fs::write(&path, good.replace("500ms", "1s")).unwrap();
    let resp = reqwest::Client::new()
        .post(format!("{}/-/reload", lk.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(lk.am.config().unwrap().original.contains("group_wait: 1s"));
    assert!(lk
        .am
        .metrics_text()
        .contains("alertmanager_config_last_reload_successful 1"));
}
