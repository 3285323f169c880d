use super::*;
use crate::config::PrometheusConfig;
use std::path::Path;

fn job(yaml: &str) -> ScrapeConfig {
    PrometheusConfig::load_str(yaml, Path::new("p.yml"))
        .unwrap()
        .scrape_configs
        .remove(0)
}

fn group(targets: &[&str], labels: &[(&str, &str)]) -> TargetGroup {
    TargetGroup {
        targets: targets
            .iter()
            .map(|t| Labels::from_pairs([("__address__", *t)]))
            .collect(),
        labels: Labels::from_pairs(labels.iter().copied()),
        source: "0".into(),
    }
}

#[test]
fn defaults_job_instance_and_internal_labels() {
    let cfg = job("global: {scrape_interval: 15s}\nscrape_configs:\n  - job_name: node\n");
    let built = targets_from_groups(&[group(&["h:9100"], &[("env", "prod")])], &cfg);
    assert_eq!(built.active.len(), 1);
    let t = &built.active[0];
    assert_eq!(
        t.labels.to_string(),
        r#"{__address__="h:9100", __metrics_path__="/metrics", __scheme__="http", __scrape_interval__="15s", __scrape_timeout__="10s", env="prod", instance="h:9100", job="node"}"#
    );
    assert_eq!(
        t.public_labels().to_string(),
        r#"{env="prod", instance="h:9100", job="node"}"#
    );
    assert_eq!(t.url(), "http://h:9100/metrics");
    assert_eq!(t.interval_ms(), 15_000);
    assert_eq!(t.timeout_ms(), 10_000);
    // Discovered labels are the pre-relabel set including the defaults.
    assert_eq!(t.discovered.get("__scrape_interval__"), Some("15s"));
    assert_eq!(t.discovered.get("instance"), None);
}

#[test]
fn meta_dropped_tmp_hidden_and_relabel_applied() {
    let cfg = job(
        "scrape_configs:\n  - job_name: j\n    relabel_configs:\n      - source_labels: [__meta_x]\n        target_label: __tmp_x\n      - source_labels: [__tmp_x]\n        target_label: from_tmp\n      - source_labels: [__address__]\n        regex: '(.*):\\d+'\n        target_label: instance\n        replacement: '$1'\n",
    );
    let mut g = group(&["host:1"], &[]);
    g.targets[0] = Labels::from_pairs([("__address__", "host:1"), ("__meta_x", "m")]);
    let built = targets_from_groups(&[g], &cfg);
    let t = &built.active[0];
    assert_eq!(t.labels.get("__meta_x"), None);
    assert_eq!(t.labels.get("__tmp_x"), Some("m"));
    assert_eq!(
        t.public_labels().to_string(),
        r#"{from_tmp="m", instance="host", job="j"}"#
    );
    assert_eq!(t.discovered.get("__meta_x"), Some("m"));
}

#[test]
fn dropped_and_failed_targets() {
    let cfg = job(
        "scrape_configs:\n  - job_name: j\n    relabel_configs:\n      - source_labels: [__address__]\n        regex: 'drop.*'\n        action: drop\n      - source_labels: [__address__]\n        regex: 'empty.*'\n        target_label: __address__\n        replacement: ''\n",
    );
    let built = targets_from_groups(&[group(&["keep:1", "drop:1", "empty:1"], &[])], &cfg);
    assert_eq!(built.active.len(), 1);
    assert_eq!(built.dropped.len(), 1);
    assert_eq!(
        built.dropped[0].discovered.get("__address__"),
        Some("drop:1")
    );
    assert_eq!(built.failed.len(), 1);
    assert_eq!(built.failed[0].1, "no address");
}

#[test]
fn interval_timeout_overrides_by_relabeling_are_validated() {
    let cfg = job(
        "scrape_configs:\n  - job_name: j\n    relabel_configs:\n      - target_label: __scrape_timeout__\n        replacement: 2m\n",
    );
    let built = targets_from_groups(&[group(&["a:1"], &[])], &cfg);
    assert_eq!(
        built.failed[0].1,
        "scrape timeout cannot be greater than scrape interval (\"2m\" > \"1m\")"
    );
    let cfg = job(
        "scrape_configs:\n  - job_name: j\n    relabel_configs:\n      - target_label: __scrape_interval__\n        replacement: 0s\n",
    );
    let built = targets_from_groups(&[group(&["a:1"], &[])], &cfg);
    assert_eq!(built.failed[0].1, "scrape interval cannot be 0");
    let cfg = job(
        "scrape_configs:\n  - job_name: j\n    relabel_configs:\n      - target_label: __scrape_interval__\n        replacement: bad\n",
    );
    let built = targets_from_groups(&[group(&["a:1"], &[])], &cfg);
    assert!(built.failed[0]
        .1
        .starts_with("error parsing scrape interval: "));
}

#[test]
fn params_and_blackbox_style_relabeling() {
    let cfg = job(
        "scrape_configs:\n  - job_name: blackbox\n    metrics_path: /probe\n    params: {module: [http_2xx], b: ['x y', z]}\n    relabel_configs:\n      - source_labels: [__address__]\n        target_label: __param_target\n      - source_labels: [__param_target]\n        target_label: instance\n      - target_label: __address__\n        replacement: 127.0.0.1:9115\n",
    );
    let built = targets_from_groups(&[group(&["https://example.com/a?b"], &[])], &cfg);
    let t = &built.active[0];
    assert_eq!(
        t.url(),
        "http://127.0.0.1:9115/probe?b=x+y&b=z&module=http_2xx&target=https%3A%2F%2Fexample.com%2Fa%3Fb"
    );
    assert_eq!(
        t.public_labels().get("instance"),
        Some("https://example.com/a?b")
    );
}

#[test]
fn url_address_after_relabel_is_rejected() {
    let cfg = job(
        "scrape_configs:\n  - job_name: j\n    relabel_configs:\n      - target_label: __address__\n        replacement: 'http://x:1'\n",
    );
    let built = targets_from_groups(&[group(&["a:1"], &[])], &cfg);
    assert_eq!(built.failed[0].1, "\"http://x:1\" is not a valid hostname");
}

#[test]
fn duplicate_targets_collapse_and_hash_is_stable() {
    let cfg = job("scrape_configs:\n  - job_name: j\n");
    let built = targets_from_groups(&[group(&["a:1", "a:1", "b:1"], &[])], &cfg);
    assert_eq!(built.active.len(), 2);
    let again = targets_from_groups(&[group(&["a:1"], &[])], &cfg);
    assert_eq!(built.active[0].hash(), again.active[0].hash());
    assert_ne!(built.active[0].hash(), built.active[1].hash());
}

#[test]
fn global_url_replaces_loopback() {
    let cfg = job("scrape_configs:\n  - job_name: j\n");
    let built = targets_from_groups(&[group(&["localhost:9090", "10.1.2.3:80"], &[])], &cfg);
    let h = hostname().unwrap();
    assert_eq!(
        built.active[0].global_url(),
        format!("http://{h}:9090/metrics")
    );
    assert_eq!(built.active[1].global_url(), "http://10.1.2.3:80/metrics");
}

#[test]
fn labels_hash_matches_prometheus_layout() {
    // xxh64 of "a\xffb\xff" with seed 0, computed independently.
    let l = Labels::from_pairs([("a", "b")]);
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"a\xffb\xff");
    assert_eq!(
        prometheus_labels_hash(&l),
        xxhash_rust::xxh64::xxh64(&bytes, 0)
    );
}
