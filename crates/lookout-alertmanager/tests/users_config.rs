//! Must-show 1: the user's alertmanager.yml (contract §1/§3.5) loads
//! unchanged and, against a loopback mock of Pushover's API, `amtool alert
//! add` produces exactly the Pushover requests Alertmanager would send.

mod support;

use std::time::{Duration, Instant};

use lookout_alertmanager::config::load_str;
use lookout_alertmanager::matchers::ParseMode;
use lookout_alertmanager::route::Route;
use support::{amtool, LookoutServer, Recorder};

/// The user's config, verbatim apart from where the key files live and
/// the timers the fast tests shorten.
fn users_config(
    dir: &std::path::Path,
    group_wait: &str,
    group_interval: &str,
    resolve_timeout: &str,
) -> String {
    let user = dir.join("user_key");
    let token = dir.join("token");
    // A Kubernetes Secret usually ends in a newline; lookout trims it.
    std::fs::write(&user, "uQiRzpo4DXghDmr9QzzfQu27cmVRsG\n").unwrap();
    std::fs::write(&token, "azGDORePK8gMaC0QOYAMyEEuzJnyUi\n").unwrap();
    format!(
        r#"global:
  resolve_timeout: {resolve_timeout}

route:
  receiver: pushover-warning
  group_by: [alertname, namespace]
  group_wait: {group_wait}
  group_interval: {group_interval}
  repeat_interval: 12h
  routes:
    - receiver: "null"
      matchers:
        - alertname = Watchdog
    - receiver: pushover-critical
      matchers:
        - severity = critical
    - receiver: pushover-warning
      matchers:
        - severity = warning

receivers:
  - name: "null"
  - name: pushover-critical
    pushover_configs:
      - user_key_file: {user}
        token_file: {token}
        priority: 1
        title: '{{{{ .CommonLabels.alertname }}}}'
        message: '{{{{ range .Alerts }}}}{{{{ .Annotations.summary }}}}{{{{ end }}}}'
  - name: pushover-warning
    pushover_configs:
      - user_key_file: {user}
        token_file: {token}
        priority: 0
        title: '{{{{ .CommonLabels.alertname }}}}'
        message: '{{{{ range .Alerts }}}}{{{{ .Annotations.summary }}}}{{{{ end }}}}'
"#,
        user = user.display(),
        token = token.display(),
    )
}

fn amtool_add(url: &str, args: &[&str]) -> bool {
    let mut all = vec!["alert", "add"];
    all.extend_from_slice(args);
    let flag = format!("--alertmanager.url={url}");
    all.push(&flag);
    match amtool(&all) {
        Some((ok, out, err)) => {
            assert!(ok, "amtool failed: {out} {err}");
            true
        }
        None => false,
    }
}

#[test]
fn users_config_loads_and_routes() {
    let dir = tempfile::tempdir().unwrap();
    let text = users_config(dir.path(), "30s", "5m", "5m");
    let cfg = load_str(&text, ParseMode::Fallback).unwrap();
    let root = Route::build(cfg.route(), ParseMode::Fallback).unwrap();
    let recv = |pairs: &[(&str, &str)]| -> Vec<String> {
        let ls = pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        root.matches(&ls)
            .iter()
            .map(|r| r.opts.receiver.clone())
            .collect()
    };
    assert_eq!(recv(&[("alertname", "Watchdog")]), ["null"]);
    assert_eq!(
        recv(&[("alertname", "X"), ("severity", "critical")]),
        ["pushover-critical"]
    );
    assert_eq!(
        recv(&[("alertname", "X"), ("severity", "warning")]),
        ["pushover-warning"]
    );
    assert_eq!(
        recv(&[("alertname", "FluxX"), ("severity", "error")]),
        ["pushover-warning"]
    );
    // config.original: secrets masked, defaults filled in, key files kept.
    assert!(cfg.original.contains("user_key_file:"), "{}", cfg.original);
    assert!(cfg.original.contains("retry: 1m0s"));
    assert!(cfg.original.contains("priority: '1'") || cfg.original.contains("priority: \"1\""));
    assert!(!cfg
        .original
        .lines()
        .any(|l| l.trim_start().starts_with("api_url:")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn warning_alert_gives_one_priority_0_request_after_30s() {
    let pushover = Recorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    let lk = LookoutServer::start_pushover(
        &users_config(dir.path(), "30s", "5m", "5m"),
        &pushover.url(),
    )
    .await;
    let start = Instant::now();
    if !amtool_add(&lk.url(), &["test-alert", "severity=warning"]) {
        return;
    }
    let reqs = pushover.wait_for(1, Duration::from_secs(33)).await;
    // Keep watching a little past the first request: exactly one.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let reqs_after = pushover.taken();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(reqs_after.len(), 1);
    let r = &reqs[0];
    let waited = r.at.duration_since(start).as_secs_f64();
    assert!(
        (30.0..31.0).contains(&waited),
        "first notification after {waited:.3}s"
    );
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/1/messages.json");
    assert!(r.body.is_empty());
    assert_eq!(r.headers.get("content-type").unwrap(), "text/plain");
    let p = r.params();
    assert_eq!(p["priority"], "0");
    assert_eq!(p["title"], "test-alert");
    assert_eq!(p["message"], "(no details)");
    assert_eq!(p["user"], "uQiRzpo4DXghDmr9QzzfQu27cmVRsG");
    assert_eq!(p["token"], "azGDORePK8gMaC0QOYAMyEEuzJnyUi");
    assert_eq!(p["retry"], "60");
    assert_eq!(p["expire"], "3600");
    assert_eq!(
        p["url"],
        format!("{}/#/alerts?receiver=pushover-warning", lk.url())
    );
    // Every parameter present, keys sorted, like Go's url.Values.Encode.
    let keys: Vec<&str> = r
        .query
        .split('&')
        .map(|kv| kv.split('=').next().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "device",
            "expire",
            "message",
            "priority",
            "retry",
            "sound",
            "title",
            "token",
            "url",
            "url_title",
            "user"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn critical_is_priority_1_watchdog_is_silent_and_expiry_resolves() {
    let pushover = Recorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    // Shortened timers: group_wait 1s, group_interval 2s, resolve_timeout 4s.
    let lk =
        LookoutServer::start_pushover(&users_config(dir.path(), "1s", "2s", "4s"), &pushover.url())
            .await;
    let t0 = Instant::now();
    if !amtool_add(&lk.url(), &["Watchdog"]) {
        return;
    }
    amtool_add(
        &lk.url(),
        &[
            "KubePodCrashLooping",
            "severity=critical",
            "namespace=apps",
            "--annotation=summary=Pod apps/web-1 is crash looping.",
        ],
    );
    amtool_add(
        &lk.url(),
        &[
            "KubePodCrashLooping",
            "severity=critical",
            "namespace=apps",
            "pod=web-2",
            "--annotation=summary=Pod apps/web-2 is crash looping.",
        ],
    );
    let reqs = pushover.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    // The Watchdog (still firing) group exists in the API, routed to "null".
    let (_, groups) = support::get_json(&format!("{}/api/v2/alerts/groups", lk.url())).await;
    let receivers: Vec<&str> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["receiver"]["name"].as_str().unwrap())
        .collect();
    assert!(receivers.contains(&"null"), "{groups}");
    let p = reqs[0].params();
    assert_eq!(p["priority"], "1");
    assert_eq!(p["title"], "KubePodCrashLooping");
    // Every alert's summary, concatenated with no separator.
    assert_eq!(
        p["message"],
        "Pod apps/web-1 is crash looping.Pod apps/web-2 is crash looping."
    );
    // The alerts expire 4 s after posting (resolve_timeout); the next group
    // tick sends the resolved notification, which looks like the firing one.
    let reqs = pushover.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    let resolved_at = reqs[1].at.duration_since(t0).as_secs_f64();
    assert!(
        (4.0..7.5).contains(&resolved_at),
        "resolved after {resolved_at:.2}s"
    );
    let p2 = reqs[1].params();
    assert_eq!(p2["priority"], "1");
    assert_eq!(p2["title"], "KubePodCrashLooping");
    assert_eq!(
        p2["message"],
        "Pod apps/web-1 is crash looping.Pod apps/web-2 is crash looping."
    );
    // The Watchdog (receiver "null") never produced a request, and nothing
    // else follows.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(pushover.count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn default_pushover_templates_render_like_alertmanager() {
    let pushover = Recorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    let user = dir.path().join("u");
    std::fs::write(&user, "u").unwrap();
    let cfg = format!(
        "route:\n  receiver: p\n  group_by: [alertname, namespace]\n  group_wait: 1s\nreceivers:\n  - name: p\n    pushover_configs:\n      - user_key_file: {}\n        token: t\n",
        user.display()
    );
    let lk = LookoutServer::start_pushover(&cfg, &pushover.url()).await;
    if !amtool_add(
        &lk.url(),
        &[
            "KubePodCrashLooping",
            "severity=warning",
            "namespace=apps",
            "--annotation=summary=Pod apps/web-1 is crash looping.",
        ],
    ) {
        return;
    }
    let reqs = pushover.wait_for(1, Duration::from_secs(4)).await;
    assert_eq!(reqs.len(), 1);
    let p = reqs[0].params();
    assert_eq!(p["title"], "[FIRING:1] KubePodCrashLooping apps (warning)");
    // Emergency priority by default while firing.
    assert_eq!(p["priority"], "2");
    assert!(p["message"].starts_with("Pod apps/web-1 is crash looping.\n\nAlerts Firing:\nLabels:\n - alertname = KubePodCrashLooping\n"), "{:?}", p["message"]);
    assert!(p["message"].ends_with("Source:"), "{:?}", p["message"]);
}
