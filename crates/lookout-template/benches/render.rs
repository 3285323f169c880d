//! Parse-once/execute-many throughput of typical lookout templates:
//! a Prometheus alert annotation, Alertmanager's Pushover title/message
//! (own copies of the template shapes, so the bench needs no Debian
//! package), and the parse cost itself.

use std::collections::BTreeMap;
use std::sync::Arc;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lookout_template::alertmanager::{Alert, Data};
use lookout_template::gotime::Time;
use lookout_template::prometheus::{AlertTemplateData, NoQuery, RuleTemplate};
use lookout_template::{MissingKey, Template};

const NOTIFY: &str = r#"{{ define "title" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .GroupLabels.SortedPairs.Values | join " " }} {{ if gt (len .CommonLabels) (len .GroupLabels) }}({{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join " " }}{{ end }}){{ end }}{{ end }}
{{ define "alerts" }}{{ range . }}Labels:
{{ range .Labels.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Annotations:
{{ range .Annotations.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Source: {{ .GeneratorURL }}
{{ end }}{{ end }}
{{ define "message" }}{{ range .CommonAnnotations.SortedPairs.Values }}{{ . }} {{ end }}
{{ if gt (len .Alerts.Firing) 0 }}Alerts Firing:
{{ template "alerts" .Alerts.Firing }}{{ end }}{{ if gt (len .Alerts.Resolved) 0 }}Alerts Resolved:
{{ template "alerts" .Alerts.Resolved }}{{ end }}{{ end }}"#;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn data(n: usize) -> Data {
    let alerts = (0..n)
        .map(|i| Alert {
            status: if i % 3 == 0 { "resolved" } else { "firing" }.into(),
            labels: labels(&[
                ("alertname", "KubePodCrashLooping"),
                ("namespace", "apps"),
                ("pod", &format!("web-{i}")),
                ("severity", "warning"),
            ]),
            annotations: labels(&[
                ("summary", "Pod is crash looping."),
                ("runbook_url", "https://runbooks.example/x"),
            ]),
            starts_at: Time::parse_rfc3339("2024-05-01T10:00:00Z").unwrap(),
            ends_at: Time::zero(),
            generator_url: "http://prom:9090/graph?g0.expr=x".into(),
            fingerprint: format!("{i:016x}"),
        })
        .collect();
    Data {
        receiver: "pushover".into(),
        status: "firing".into(),
        alerts,
        group_labels: labels(&[("alertname", "KubePodCrashLooping")]),
        common_labels: labels(&[
            ("alertname", "KubePodCrashLooping"),
            ("namespace", "apps"),
            ("severity", "warning"),
        ]),
        common_annotations: labels(&[("summary", "Pod is crash looping.")]),
        external_url: "http://am:9093".into(),
    }
}

fn bench(c: &mut Criterion) {
    let funcs = lookout_template::prometheus::funcs(Arc::new(NoQuery), "http://prom:9090");
    let rt = RuleTemplate::new(
        "KubePodCrashLooping",
        r#"Pod {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) is in waiting state (reason: "CrashLoopBackOff") on cluster {{ $labels.cluster }}; {{ $value | humanize }} restarts, {{ printf "%.2f" $value }}."#,
        funcs,
    );
    let prom_data = AlertTemplateData {
        labels: labels(&[
            ("namespace", "apps"),
            ("pod", "web-1"),
            ("container", "web"),
            ("cluster", "homelab"),
        ]),
        value: 1234.5,
        ..Default::default()
    };
    c.bench_function("prometheus annotation expand", |b| {
        b.iter(|| black_box(rt.expand(black_box(&prom_data)).unwrap()))
    });

    let tmpl = Template::new("")
        .funcs(lookout_template::alertmanager::funcs())
        .missing_key(MissingKey::Zero)
        .parse(NOTIFY)
        .unwrap();
    for n in [1usize, 20] {
        let d = data(n).to_value();
        c.bench_function(&format!("alertmanager title+message, {n} alerts"), |b| {
            b.iter(|| {
                let t = tmpl.execute_template("title", black_box(&d)).unwrap();
                let m = tmpl.execute_template("message", black_box(&d)).unwrap();
                black_box((t, m))
            })
        });
    }
    c.bench_function("parse notification templates", |b| {
        b.iter(|| {
            black_box(
                Template::new("")
                    .funcs(lookout_template::alertmanager::funcs())
                    .parse(black_box(NOTIFY))
                    .unwrap(),
            )
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
