//! Must-show 4: the real amtool 0.25 against lookout on loopback.

mod support;

use std::time::Duration;

use support::{amtool, LookoutServer, Recorder};

fn cfg(wh: &str) -> String {
    format!(
        r#"route:
  receiver: wh
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  routes:
    - receiver: pager
      matchers: [severity="critical"]
receivers:
  - name: wh
    webhook_configs:
      - url: {wh}/hook
  - name: pager
    pushover_configs:
      - user_key: u
        token: t
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [alertname]
"#
    )
}

fn run(url: &str, args: &[&str]) -> (bool, String, String) {
    let flag = format!("--alertmanager.url={url}");
    let mut all: Vec<&str> = args.to_vec();
    all.push(&flag);
    amtool(&all).expect("amtool present")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn amtool_0_25_commands_work() {
    if lookout_testkit::require_tool("amtool").is_none() {
        return;
    }
    let hook = Recorder::start().await;
    let lk = LookoutServer::start(&cfg(&hook.url())).await;
    let url = lk.url();

    // alert add → delivered by the webhook after group_wait.
    let (ok, out, err) = run(
        &url,
        &[
            "alert",
            "add",
            "test-alert",
            "severity=warning",
            "--annotation=summary=hello there",
        ],
    );
    assert!(ok, "{out}{err}");
    assert!(!err.contains("Warning"), "version warning: {err}");
    let reqs = hook.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(reqs.len(), 1);
    let body = reqs[0].json();
    assert_eq!(body["groupKey"], r#"{}:{alertname="test-alert"}"#);
    assert_eq!(body["alerts"][0]["labels"]["severity"], "warning");
    assert_eq!(body["alerts"][0]["annotations"]["summary"], "hello there");

    // alert query (default: active, not silenced/inhibited).
    let (ok, out, err) = run(&url, &["alert", "query"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("test-alert") && out.contains("hello there"),
        "{out}"
    );
    let (ok, out, _) = run(&url, &["alert", "query", "alertname=nope"]);
    assert!(ok);
    assert!(!out.contains("test-alert"), "{out}");
    let (ok, out, _) = run(&url, &["-o", "json", "alert", "query", "severity=~warn.*"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1, "{out}");

    // silence add / query / expire.
    let (ok, out, err) = run(
        &url,
        &[
            "silence",
            "add",
            "alertname=test-alert",
            "-c",
            "maintenance",
            "-d",
            "1h",
        ],
    );
    assert!(ok, "{err}");
    let id = out.trim().to_string();
    assert_eq!(id.len(), 36, "{out}");
    let (ok, out, _) = run(&url, &["silence", "query"]);
    assert!(ok);
    assert!(out.contains(&id) && out.contains("maintenance"), "{out}");
    let (ok, out, _) = run(&url, &["silence", "query", "-q", "alertname=test-alert"]);
    assert!(ok);
    assert_eq!(out.trim(), id);
    // The alert is now silenced: hidden by default, shown with -s.
    let (_, out, _) = run(&url, &["alert", "query"]);
    assert!(!out.contains("test-alert"), "{out}");
    let (_, out, _) = run(&url, &["alert", "query", "-s"]);
    assert!(
        out.contains("test-alert") && out.contains("suppressed"),
        "{out}"
    );
    let (ok, _, err) = run(&url, &["silence", "expire", &id]);
    assert!(ok, "{err}");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (_, out, _) = run(&url, &["silence", "query"]);
    assert!(!out.contains(&id), "{out}");
    let (_, out, _) = run(&url, &["silence", "query", "--expired"]);
    assert!(out.contains(&id), "{out}");
    let (ok, _, err) = run(
        &url,
        &["silence", "expire", "00000000-0000-0000-0000-000000000000"],
    );
    assert!(!ok, "expiring an unknown silence must fail: {err}");

    // config show prints config.original (defaults filled, secrets masked).
    let (ok, out, err) = run(&url, &["config", "show"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("receiver: wh") && out.contains("user_key: <secret>"),
        "{out}"
    );
    assert!(out.contains("resolve_timeout: 5m"), "{out}");

    // config routes: amtool re-parses config.original with its own strict
    // 0.25 loader. lookout masks webhook URLs like current Alertmanager,
    // which amtool 0.25's loader cannot parse, so this runs against a
    // config without webhooks (the user's shape: Pushover and "null").
    let pushover_only = r#"route:
  receiver: "null"
  routes:
    - receiver: pager
      matchers: [severity="critical"]
receivers:
  - name: "null"
  - name: pager
    pushover_configs:
      - user_key: u
        token: t
"#;
    let lk2 = LookoutServer::start(pushover_only).await;
    let (ok, out, err) = run(
        &lk2.url(),
        &["config", "routes", "test", "severity=critical"],
    );
    assert!(ok, "{out}{err}");
    assert_eq!(out.trim(), "pager");
    let (ok, out, err) = run(&lk2.url(), &["config", "routes", "show"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("pager"), "{out}");

    // cluster show.
    let (ok, out, _) = run(&url, &["cluster", "show"]);
    assert!(ok);
    assert!(out.contains("disabled"), "{out}");
}
