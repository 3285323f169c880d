//! lookout's own default templates must render exactly like Alertmanager's
//! `default.tmpl` (read from the Debian package at test time, never copied)
//! for every template name lookout defines.

use chrono::{Duration, TimeZone, Utc};
use lookout_alertmanager::alert::{zero_time, Alert};
use lookout_alertmanager::labels::LabelSet;
use lookout_alertmanager::notify::data::{build_data, Data};
use lookout_alertmanager::templates::{to_template_data, DEFAULT_TEMPLATES};
use lookout_template::{MissingKey, Template};

const DEBIAN_DEFAULT: &str = "/usr/share/prometheus/alertmanager/default.tmpl";

fn ls(p: &[(&str, &str)]) -> LabelSet {
    p.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn alert(l: &[(&str, &str)], ann: &[(&str, &str)], resolved: bool, url: &str) -> Alert {
    let t0 = Utc.timestamp_opt(1_700_000_000, 123_000_000).unwrap();
    Alert {
        labels: ls(l),
        annotations: ls(ann),
        starts_at: t0,
        ends_at: if resolved {
            t0 + Duration::minutes(5)
        } else {
            zero_time()
        },
        generator_url: url.into(),
        updated_at: t0,
        timeout: false,
    }
}

fn cases() -> Vec<Data> {
    let now = Utc.timestamp_opt(1_700_001_000, 0).unwrap();
    let ext = "http://am.example:9093";
    vec![
        // The contract's example: one firing alert, extra common label.
        build_data(
            "pushover-warning",
            &ls(&[("alertname", "KubePodCrashLooping"), ("namespace", "apps")]),
            &[alert(
                &[
                    ("alertname", "KubePodCrashLooping"),
                    ("namespace", "apps"),
                    ("severity", "warning"),
                ],
                &[("summary", "Pod apps/web-1 is crash looping.")],
                false,
                "http://prom/graph?g0.expr=x",
            )],
            ext,
            now,
        ),
        // Mixed firing and resolved, receiver needing QuoteMeta and escaping.
        build_data(
            "team.a b",
            &ls(&[("alertname", "A")]),
            &[
                alert(
                    &[("alertname", "A"), ("instance", "i1"), ("job", "j")],
                    &[("summary", "one"), ("description", "d")],
                    false,
                    "",
                ),
                alert(
                    &[("alertname", "A"), ("instance", "i2"), ("job", "j")],
                    &[("summary", "two")],
                    true,
                    "http://x/2",
                ),
                alert(&[("alertname", "A"), ("instance", "i3")], &[], false, ""),
            ],
            ext,
            now,
        ),
        // Everything resolved, common annotations present.
        build_data(
            "r",
            &ls(&[("alertname", "B"), ("namespace", "n")]),
            &[
                alert(
                    &[("alertname", "B"), ("namespace", "n"), ("pod", "p1")],
                    &[("summary", "same")],
                    true,
                    "",
                ),
                alert(
                    &[("alertname", "B"), ("namespace", "n"), ("pod", "p2")],
                    &[("summary", "same")],
                    true,
                    "",
                ),
            ],
            ext,
            now,
        ),
        // No group labels (group_by: []), Unicode values.
        build_data(
            "null",
            &LabelSet::new(),
            &[alert(
                &[("alertname", "Ünïcode"), ("severity", "critical")],
                &[("summary", "Σ ✓")],
                false,
                "",
            )],
            ext,
            now,
        ),
    ]
}

#[test]
fn default_templates_match_alertmanager() {
    let Some(path) = lookout_testkit::which("prometheus-alertmanager").map(|_| DEBIAN_DEFAULT)
    else {
        lookout_testkit::require_tool("prometheus-alertmanager");
        return;
    };
    let upstream_text = std::fs::read_to_string(path).expect("Debian's default.tmpl");
    let funcs = || lookout_template::alertmanager::funcs();
    // `__text_alert_list` takes a list of alerts as dot.
    let wrappers = r#"{{ define "t_all" }}{{ template "__text_alert_list" .Alerts }}{{ end }}{{ define "t_firing" }}{{ template "__text_alert_list" .Alerts.Firing }}{{ end }}{{ define "t_resolved" }}{{ template "__text_alert_list" .Alerts.Resolved }}{{ end }}"#;
    let upstream = Template::new("")
        .funcs(funcs())
        .missing_key(MissingKey::Zero)
        .parse_named("default.tmpl", &upstream_text)
        .unwrap()
        .parse_named("wrappers", wrappers)
        .unwrap();
    let ours = Template::new("")
        .funcs(funcs())
        .missing_key(MissingKey::Zero)
        .parse_named("default.tmpl", DEFAULT_TEMPLATES)
        .unwrap()
        .parse_named("wrappers", wrappers)
        .unwrap();
    let names: Vec<String> = ours
        .defined_templates()
        .into_iter()
        .filter(|n| n != "default.tmpl" && n != "wrappers" && !n.starts_with("__lookout"))
        .map(|n| {
            if n == "__text_alert_list" {
                "t_all".to_string()
            } else {
                n
            }
        })
        .chain(["t_firing".to_string(), "t_resolved".to_string()])
        .collect();
    assert!(names.len() >= 8, "{names:?}");
    let mut compared = 0;
    for name in &names {
        assert!(
            upstream.lookup(name),
            "{name} is not an Alertmanager template"
        );
        for (i, d) in cases().iter().enumerate() {
            let v = to_template_data(d).to_value();
            let want = upstream.execute_template(name, &v).unwrap();
            let got = ours.execute_template(name, &v).unwrap();
            assert_eq!(got, want, "template {name}, case {i}");
            compared += 1;
        }
    }
    eprintln!(
        "{} templates x {} data cases identical",
        names.len(),
        compared / names.len()
    );
}
