//! `lookout alertmanager check | routes test | template render`.

use std::process::Command;

fn lookout(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lookout"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const USERS: &str = r#"route:
  receiver: pushover-warning
  group_by: [alertname, namespace]
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
    pushover_configs: [{user_key_file: /k, token_file: /t, priority: 1}]
  - name: pushover-warning
    pushover_configs: [{user_key_file: /k, token_file: /t, priority: 0}]
"#;

#[test]
fn check_reports_like_amtool() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yml");
    std::fs::write(&good, USERS).unwrap();
    let (ok, out, _) = lookout(&["alertmanager", "check", good.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(
        out.contains("  SUCCESS") && out.contains(" - 3 receivers"),
        "{out}"
    );
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, USERS.replace("group_by:", "group_bye:")).unwrap();
    let (ok, out, err) = lookout(&[
        "alertmanager",
        "check",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        out.contains("FAILED: route: unknown field `group_bye`")
            && out.contains("(line 3, column 3)"),
        "{out}"
    );
    assert!(err.contains("failed to validate 1 file(s)"), "{err}");
}

#[test]
fn routes_test_prints_receivers() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("am.yml");
    std::fs::write(&cfg, USERS).unwrap();
    let c = cfg.to_str().unwrap();
    let (ok, out, _) = lookout(&[
        "alertmanager",
        "routes",
        "test",
        "--config.file",
        c,
        "Watchdog",
    ]);
    assert!(ok);
    assert_eq!(out.trim(), "null");
    let (ok, out, _) = lookout(&[
        "alertmanager",
        "routes",
        "test",
        "--config.file",
        c,
        "alertname=X",
        "severity=critical",
    ]);
    assert!(ok);
    assert_eq!(out.trim(), "pushover-critical");
    let (ok, out, _) = lookout(&[
        "alertmanager",
        "routes",
        "test",
        "--config.file",
        c,
        "--verify.receivers",
        "pushover-critical",
        "severity=error",
    ]);
    assert!(!ok);
    assert!(out.starts_with("pushover-warning"), "{out}");
    // Same answers as amtool's offline routing test.
    if let Some(amtool) = lookout_testkit::require_tool("amtool") {
        // amtool 0.25 cannot read *_file keys; give it inline keys.
        let inline = dir.path().join("inline.yml");
        std::fs::write(
            &inline,
            USERS.replace("user_key_file: /k, token_file: /t", "user_key: k, token: t"),
        )
        .unwrap();
        for labels in [
            vec!["alertname=Watchdog"],
            vec!["alertname=X", "severity=critical"],
            vec!["severity=none"],
            vec!["alertname=Y", "severity=warning"],
        ] {
            let mut args = vec![
                "config",
                "routes",
                "test",
                "--config.file",
                inline.to_str().unwrap(),
            ];
            args.extend(labels.iter());
            let am = Command::new(&amtool).args(&args).output().unwrap();
            let mut ours_args = vec!["alertmanager", "routes", "test", "--config.file", c];
            ours_args.extend(labels.iter());
            let (_, ours, _) = lookout(&ours_args);
            assert_eq!(
                ours.trim(),
                String::from_utf8_lossy(&am.stdout).trim(),
                "{labels:?}"
            );
        }
    }
}

#[test]
fn template_render_uses_the_engine_and_defaults() {
    let (ok, out, err) = lookout(&[
        "alertmanager",
        "template",
        "render",
        "--template.text",
        r#"{{ template "pushover.default.title" . }}"#,
    ]);
    assert!(ok, "{err}");
    assert_eq!(out.trim_end(), "[FIRING:1] ExampleAlert (warning)");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mine.tmpl"), r#"{{ define "my.title" }}{{ .CommonLabels.alertname | toLower }}/{{ len .Alerts.Resolved }}{{ end }}"#).unwrap();
    let glob = format!("{}/*.tmpl", dir.path().display());
    let (ok, out, err) = lookout(&[
        "alertmanager",
        "template",
        "render",
        "--template.glob",
        &glob,
        "--template.text",
        r#"{{ template "my.title" . }}"#,
    ]);
    assert!(ok, "{err}");
    assert_eq!(out.trim_end(), "examplealert/1");
    let (ok, _, err) = lookout(&[
        "alertmanager",
        "template",
        "render",
        "--template.text",
        "{{ .Nope }}",
    ]);
    assert!(!ok);
    assert!(err.contains("can't evaluate field Nope"), "{err}");
}
