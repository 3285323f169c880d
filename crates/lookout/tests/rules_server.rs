//! The rule engine inside the real server: default rules plus `rule_files`,
//! the rules/alerts/alertmanagers APIs, alerts POSTed to an Alertmanager
//! from `alerting.alertmanagers`, ALERTS written to storage, and a reload
//! with an invalid rule file that keeps the old rules running.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Lookout;

/// A loopback "Alertmanager" that records the JSON bodies POSTed to it.
fn fake_alertmanager() -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            let mut len = 0usize;
            let mut path = String::new();
            let mut first = true;
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if first {
                    path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    first = false;
                }
                let l = line.trim_end();
                if l.is_empty() {
                    break;
                }
                if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            if path == "/api/v2/alerts" {
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) {
                    g.lock().unwrap().push(v);
                }
            }
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (addr, got)
}

fn wait_for<T>(what: &str, l: &Lookout, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n{}",
            l.proc.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

const APP_RULES: &str = r#"
groups:
- name: app
  interval: 1s
  rules:
  - record: app:one
    expr: vector(1)
  - alert: AlwaysOn
    expr: app:one > 0
    labels: {severity: info}
    annotations: {summary: 'value {{ $value }} in {{ $externalLabels.cluster }}'}
"#;

#[test]
fn rules_run_in_the_server_and_survive_a_bad_reload() {
    let (am_addr, posted) = fake_alertmanager();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rules")).unwrap();
    std::fs::write(dir.path().join("rules/app.yml"), APP_RULES).unwrap();
    let config = format!(
        "global:\n  evaluation_interval: 1s\n  external_labels: {{cluster: test}}\n\
         rule_files: ['rules/*.yml']\n\
         alerting:\n  alertmanagers:\n  - static_configs:\n    - targets: ['{am_addr}']\n\
         scrape_configs: []\n"
    );
    let cfg_path = dir.path().join("prometheus.yml");
    std::fs::write(&cfg_path, config).unwrap();
    let cfg_arg = format!("--config.file={}", cfg_path.display());
    let l = Lookout::start_in(
        dir,
        &[&cfg_arg, "--web.external-url=http://lookout.example"],
    );

    // The rules API lists the built-in groups and the user's group.
    let groups = wait_for("the app group to evaluate", &l, || {
        let v = l.get("/api/v1/rules").json();
        let groups = v["data"]["groups"].as_array()?.clone();
        let app = groups.iter().find(|g| g["name"] == "app")?;
        (app["rules"][1]["state"] == "firing").then_some(groups)
    });
    let files: Vec<&str> = groups.iter().filter_map(|g| g["file"].as_str()).collect();
    assert!(files.contains(&"<builtin>/lookout.yaml"), "{files:?}");
    assert!(files.contains(&"<builtin>/host.yaml"), "{files:?}");
    assert!(
        files.iter().any(|f| f.ends_with("rules/app.yml")),
        "{files:?}"
    );
    let app = groups.iter().find(|g| g["name"] == "app").unwrap();
    assert_eq!(app["interval"], 1);
    assert_eq!(app["rules"][0]["type"], "recording");
    assert_eq!(app["rules"][0]["health"], "ok");
    let alert = &app["rules"][1]["alerts"][0];
    assert_eq!(alert["annotations"]["summary"], "value 1 in test");
    assert_eq!(alert["value"], "1e+00");

    // /api/v1/alerts: Watchdog (default rules, 1m interval) eventually, AlwaysOn now.
    let alerts = l.get("/api/v1/alerts").json();
    let names: Vec<&str> = alerts["data"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["labels"]["alertname"].as_str())
        .collect();
    assert!(names.contains(&"AlwaysOn"), "{names:?}");
    let ams = l.get("/api/v1/alertmanagers").json();
    let urls: Vec<&str> = ams["data"]["activeAlertmanagers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["url"].as_str())
        .collect();
    assert_eq!(
        urls,
        vec![
            "http://lookout.example/api/v2/alerts".to_string(),
            format!("http://{am_addr}/api/v2/alerts")
        ],
        "built-in Alertmanager first, then the configured one"
    );

    // The built-in Alertmanager holds it (Alertmanager API v2 on the same port).
    let in_am = wait_for("the alert in the built-in Alertmanager", &l, || {
        let v = l.get("/api/v2/alerts").json();
        v.as_array()?
            .iter()
            .find(|a| a["labels"]["alertname"] == "AlwaysOn")
            .cloned()
    });
    assert_eq!(in_am["labels"]["cluster"], "test");
    assert_eq!(in_am["status"]["state"], "active");
    assert_eq!(in_am["annotations"]["summary"], "value 1 in test");

    // The Alertmanager received it, with external labels and generator URL.
    let sent = wait_for("an alert POST", &l, || {
        let got = posted.lock().unwrap();
        got.iter()
            .flat_map(|b| b.as_array().cloned().unwrap_or_default())
            .find(|a| a["labels"]["alertname"] == "AlwaysOn")
    });
    assert_eq!(sent["labels"]["cluster"], "test");
    assert_eq!(sent["labels"]["severity"], "info");
    assert_eq!(
        sent["generatorURL"],
        "http://lookout.example/graph?g0.expr=app%3Aone+%3E+0&g0.tab=1"
    );
    assert!(sent["startsAt"].as_str().unwrap().ends_with('Z'));

    // Recording results and ALERTS are in storage.
    wait_for("ALERTS in storage", &l, || {
        let v = l
            .get("/api/v1/query?query=ALERTS%7Balertname%3D%22AlwaysOn%22%7D")
            .json();
        let r = v["data"]["result"].as_array()?.first()?.clone();
        (r["metric"]["alertstate"] == "firing").then_some(())
    });
    let v = l.get("/api/v1/query?query=app%3Aone").json();
    assert_eq!(v["data"]["result"][0]["value"][1], "1");

    // An invalid rule file: the reload fails, says where, old rules keep running.
    std::fs::write(
        l.dir.path().join("rules/app.yml"),
        APP_RULES.replace("expr: vector(1)", "expr: vector(1"),
    )
    .unwrap();
    let r = l.post_form("/-/reload", "");
    assert_eq!(r.status, 500, "{}", r.body.clone());
    let body = r.body.clone();
    assert!(body.contains("app.yml"), "{body}");
    assert!(
        body.contains("group \\\"app\\\", rule 1, \\\"app:one\\\"")
            || body.contains("group \"app\", rule 1, \"app:one\""),
        "{body}"
    );
    let before = l.get("/api/v1/rules?rule_group[]=app").json()["data"]["groups"][0]
        ["lastEvaluation"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for("the old rules to keep evaluating", &l, || {
        let v = l.get("/api/v1/rules?rule_group[]=app").json();
        let g = &v["data"]["groups"][0];
        (g["lastEvaluation"].as_str()? != before && g["rules"].as_array()?.len() == 2).then_some(())
    });
    let metrics = l.get("/metrics").body;
    assert!(
        metrics.contains("lookout_config_last_reload_successful 0"),
        "reload failure recorded"
    );
    assert!(
        metrics.contains("lookout_rule_evaluations_total{rule_group="),
        "rule metrics exported"
    );
}

fn run_cli(args: &[&str], dir: &std::path::Path) -> (i32, String, String) {
    let out = std::process::Command::new(common::lookout_bin())
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_rules_and_test_rules_commands() {
    let rules_dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../lookout-rules/default-rules");
    let (code, out, err) = run_cli(&["check", "rules", "lookout.yaml", "host.yaml"], &rules_dir);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "Checking lookout.yaml\n  SUCCESS: 12 rules found\n\nChecking host.yaml\n  SUCCESS: 8 rules found\n\n"
    );
    let (code, out, err) = run_cli(
        &[
            "test",
            "rules",
            "tests/lookout_test.yaml",
            "tests/host_test.yaml",
        ],
        &rules_dir,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.matches("  SUCCESS").count(), 2, "{out}");
    assert!(err.is_empty(), "no log noise: {err}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yml"),
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up ==\n    annotations: {s: '{{ nosuch }}'}\n",
    )
    .unwrap();
    let (code, out, err) = run_cli(&["check", "rules", "bad.yml"], dir.path());
    assert_eq!(code, 1);
    assert_eq!(out, "Checking bad.yml\n\n");
    assert!(
        err.starts_with(
            "  FAILED:\nbad.yml: 5:11: group \"g\", rule 1, \"A\": could not parse expression: "
        ),
        "{err}"
    );
    assert!(err.contains("bad.yml: group \"g\", rule 1, \"A\": annotation \"s\": template: __alert_A:1: function \"nosuch\" not defined"), "{err}");
    // Flags are promtool's.
    let (code, _, _) = run_cli(&["check", "rules", "--lint=none", "bad.yml"], dir.path());
    assert_eq!(code, 1);
    let (code, _, _) = run_cli(&["check", "rules", "--bogus", "bad.yml"], dir.path());
    assert_eq!(code, 2);
}

/// Replaces wall-clock values (which differ between two processes) with
/// markers of their kind, so two payloads can be compared whole.
fn normalize(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match k.as_str() {
                    "evaluationTime" => {
                        assert!(x.is_number(), "{k}: {x}");
                        *x = serde_json::json!("<seconds>");
                    }
                    "lastEvaluation" | "activeAt" => {
                        let s = x.as_str().unwrap_or_else(|| panic!("{k}: {x}"));
                        assert!(s.ends_with('Z') && s.contains('T'), "{k}: {s}");
                        *x = serde_json::json!("<rfc3339>");
                    }
                    _ => normalize(x),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(normalize),
        _ => {}
    }
}

struct Kill(std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const SHAPE_RULES: &str = r#"
groups:
- name: app
  interval: 1s
  rules:
  - record: app:one
    expr: vector(1)
  - record: app:labelled
    expr: vector(2)
    labels: {team: db}
  - alert: AlwaysOn
    expr: app:one > 0
    keep_firing_for: 1m
    labels: {severity: info}
    annotations: {summary: 'value {{ $value }} {{ $labels.alertname }}'}
  - alert: Pending
    expr: app:one > 0
    for: 1h
  - alert: Never
    expr: vector(0) > 1
    for: 5m
"#;

/// `/api/v1/rules` and `/api/v1/alerts` of lookout and of Prometheus 2.42
/// evaluating the same rule file are equal apart from wall-clock values.
#[test]
fn rules_and_alerts_api_match_prometheus() {
    let Some(prom) = lookout_testkit::require_tool("prometheus") else {
        return;
    };
    let pdir = tempfile::tempdir().unwrap();
    std::fs::write(pdir.path().join("rules.yml"), SHAPE_RULES).unwrap();
    std::fs::write(
        pdir.path().join("prom.yml"),
        "global:\n  evaluation_interval: 1s\nrule_files: [rules.yml]\n",
    )
    .unwrap();
    let pport = lookout_testkit::free_port();
    let child = std::process::Command::new(prom)
        .current_dir(pdir.path())
        .arg("--config.file=prom.yml")
        .arg("--storage.tsdb.path=data")
        .arg(format!("--web.listen-address=127.0.0.1:{pport}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _prom = Kill(child);
    let paddr = format!("127.0.0.1:{pport}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.yml"), SHAPE_RULES).unwrap();
    std::fs::write(
        dir.path().join("prom.yml"),
        "global:\n  evaluation_interval: 1s\nrule_files: [rules.yml]\nscrape_configs: []\n",
    )
    .unwrap();
    // Relative, like Prometheus': the group's file name feeds the hash that
    // places its evaluations inside the interval.
    let l = Lookout::start_in(
        dir,
        &[
            "--config.file=prom.yml",
            "--rules.builtin=false",
            "--rules.alert.for-grace-period=5m",
        ],
    );
    let flags = l.get("/api/v1/status/flags").json();
    assert_eq!(flags["data"]["rules.alert.for-grace-period"], "5m");
    assert_eq!(flags["data"]["rules.alert.resend-delay"], "1m");
    assert_eq!(flags["data"]["rules.alert.for-outage-tolerance"], "1h");
    assert_eq!(
        flags["data"]["alertmanager.notification-queue-capacity"],
        "10000"
    );

    let ready = |body: &serde_json::Value| -> Option<serde_json::Value> {
        let g = body["data"]["groups"]
            .as_array()?
            .iter()
            .find(|g| g["name"] == "app")?
            .clone();
        let rules = g["rules"].as_array()?;
        (rules.iter().all(|r| r["health"] == "ok") && rules[2]["state"] == "firing").then_some(g)
    };
    let mut theirs = wait_for("Prometheus to evaluate", &l, || {
        let r = common::http(&paddr, "GET", "/api/v1/rules", None, &[]).ok()?;
        ready(&serde_json::from_str(&r.body).ok()?)
    });
    let mut ours = wait_for("lookout to evaluate", &l, || {
        ready(&l.get("/api/v1/rules").json())
    });
    normalize(&mut theirs);
    normalize(&mut ours);
    assert_eq!(theirs["file"], "rules.yml");
    assert_eq!(ours, theirs);
    let all = l.get("/api/v1/rules").json();
    assert_eq!(
        all["data"]["groups"].as_array().unwrap().len(),
        1,
        "--rules.builtin=false leaves only the configured rules"
    );

    // Same group hash, same evaluation slots: the recorded samples of both
    // sit at the same offset inside each 1s interval.
    let offset_ms = |body: serde_json::Value| -> Option<i64> {
        let v: f64 = body["data"]["result"][0]["value"][1]
            .as_str()?
            .parse()
            .ok()?;
        Some(((v * 1000.0).round() as i64).rem_euclid(1000))
    };
    let q = "/api/v1/query?query=timestamp(app%3Aone)";
    let theirs_off = offset_ms(
        serde_json::from_str(&common::http(&paddr, "GET", q, None, &[]).unwrap().body).unwrap(),
    )
    .unwrap();
    let ours_off = offset_ms(l.get(q).json()).unwrap();
    assert_eq!(
        ours_off, theirs_off,
        "evaluation offset inside the interval"
    );

    let alerts = |body: serde_json::Value| {
        let mut a: Vec<serde_json::Value> = body["data"]["alerts"].as_array().unwrap().clone();
        a.retain(|x| {
            matches!(
                x["labels"]["alertname"].as_str(),
                Some("AlwaysOn" | "Pending")
            )
        });
        a.sort_by_key(|x| x["labels"]["alertname"].as_str().unwrap().to_string());
        let mut v = serde_json::Value::Array(a);
        normalize(&mut v);
        v
    };
    let r = common::http(&paddr, "GET", "/api/v1/alerts", None, &[]).unwrap();
    let theirs = alerts(serde_json::from_str(&r.body).unwrap());
    let ours = alerts(l.get("/api/v1/alerts").json());
    assert_eq!(theirs.as_array().unwrap().len(), 2);
    assert_eq!(ours, theirs);
}

#[test]
fn config_check_validates_rule_files_and_alerting() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rules")).unwrap();
    std::fs::write(dir.path().join("rules/good.yml"), APP_RULES).unwrap();
    std::fs::write(
        dir.path().join("prom.yml"),
        "rule_files: ['rules/*.yml']\nalerting:\n  alertmanagers:\n  - static_configs: [{targets: ['am:9093']}]\n",
    )
    .unwrap();
    let (code, out, err) = run_cli(&["check", "prom.yml"], dir.path());
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("SUCCESS: prom.yml"), "{out}");

    std::fs::write(
        dir.path().join("rules/bad.yml"),
        "groups:\n- name: g\n  rules:\n  - record: r\n    expr: sum(\n",
    )
    .unwrap();
    let (code, _, err) = run_cli(&["check", "prom.yml"], dir.path());
    assert_eq!(code, 1);
    assert!(
        err.contains("rules/bad.yml: 5:11: group \"g\", rule 1, \"r\": could not parse expression"),
        "{err}"
    );
    assert!(err.contains("FAILED: prom.yml has 1 error"), "{err}");

    std::fs::remove_file(dir.path().join("rules/bad.yml")).unwrap();
    std::fs::write(
        dir.path().join("prom.yml"),
        "rule_files: ['rules/*.yml']\nalerting:\n  alertmanagers:\n  - api_version: v1\n",
    )
    .unwrap();
    let (code, _, err) = run_cli(&["check", "prom.yml"], dir.path());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("api version"), "{err}");
}
