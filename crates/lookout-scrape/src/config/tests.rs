use super::*;

fn load(text: &str) -> Result<PrometheusConfig, ConfigError> {
    PrometheusConfig::load_str(text, Path::new("/etc/prom/prometheus.yml"))
}

#[test]
fn defaults_and_inheritance() {
    let c = load(
        "global:\n  scrape_interval: 15s\n  sample_limit: 100\nscrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['x:1']}]\n  - job_name: b\n    scrape_interval: 5s\n    sample_limit: 7\n    metrics_path: /m\n    scheme: https\n",
    )
    .unwrap();
    assert_eq!(c.global.scrape_interval, ConfigDuration::from_secs(15));
    assert_eq!(c.global.scrape_timeout, ConfigDuration::from_secs(10));
    assert_eq!(c.global.evaluation_interval, ConfigDuration::from_secs(60));
    let a = &c.scrape_configs[0];
    assert_eq!(a.scrape_interval, ConfigDuration::from_secs(15));
    assert_eq!(a.scrape_timeout, ConfigDuration::from_secs(10));
    assert_eq!(a.metrics_path, "/metrics");
    assert_eq!(a.scheme, "http");
    assert!(a.honor_timestamps && !a.honor_labels && a.enable_compression);
    assert_eq!(a.limits.sample_limit, 100);
    assert!(a.http.follow_redirects && a.http.enable_http2);
    let b = &c.scrape_configs[1];
    // The global 10s timeout is capped at the job's 5s interval.
    assert_eq!(b.scrape_timeout, ConfigDuration::from_secs(5));
    assert_eq!(b.limits.sample_limit, 7);
    assert_eq!(b.metrics_path, "/m");
}

#[test]
fn global_timeout_defaults_cap_at_interval() {
    let c = load("global:\n  scrape_interval: 5s\n").unwrap();
    assert_eq!(c.global.scrape_timeout, ConfigDuration::from_secs(5));
    let e = load("global:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n").unwrap_err();
    assert_eq!(
        e.message,
        "global scrape timeout greater than scrape interval"
    );
}

#[test]
fn errors_carry_file_and_line() {
    let e = load("scrape_configs:\n  - job_name: a\n    scrape_interval: 10x\n").unwrap_err();
    assert_eq!(e.file, Path::new("/etc/prom/prometheus.yml"));
    assert_eq!(e.line, Some(3), "{e}");
    assert!(
        e.message.contains("not a valid duration string: \"10x\""),
        "{e}"
    );
    assert!(e.message.starts_with("scrape_configs[0]"), "{e}");

    let e = load("scrape_configs:\n  - job_name: a\n    honour_labels: true\n").unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.message.contains("unknown field `honour_labels`"), "{e}");

    let e = load(
        "scrape_configs:\n  - job_name: a\n  - job_name: b\n    scrape_interval: 5s\n    scrape_timeout: 10s\n",
    )
    .unwrap_err();
    assert_eq!(
        e.message,
        "scrape timeout greater than scrape interval for scrape config with job name \"b\""
    );
    assert_eq!(e.line, Some(3));
    assert!(
        e.to_string().starts_with("/etc/prom/prometheus.yml:3: "),
        "{e}"
    );

    let e = load("scrape_configs:\n  - job_name: a\n  - job_name: 'a'\n").unwrap_err();
    assert_eq!(
        e.message,
        "found multiple scrape configs with job name \"a\""
    );

    let e = load(
        "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: hashmod\n        target_label: x\n",
    )
    .unwrap_err();
    assert!(
        e.message
            .contains("relabel configuration for hashmod requires non-zero modulus"),
        "{e}"
    );
    assert!(e.line.is_some_and(|l| l >= 4), "{e}");
}

#[test]
fn http_client_validation() {
    let e =
        load("scrape_configs:\n  - job_name: a\n    bearer_token: x\n    bearer_token_file: y\n")
            .unwrap_err();
    assert_eq!(
        e.message,
        "at most one of bearer_token & bearer_token_file must be configured"
    );
    let e = load("scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password: p, password_file: f}\n")
        .unwrap_err();
    assert_eq!(
        e.message,
        "at most one of basic_auth password & password_file must be configured"
    );
    let e = load(
        "scrape_configs:\n  - job_name: a\n    authorization: {type: Basic, credentials: c}\n",
    )
    .unwrap_err();
    assert_eq!(
        e.message,
        "authorization type cannot be set to \"basic\", use \"basic_auth\" instead"
    );
    let e = load("scrape_configs:\n  - job_name: a\n    basic_auth: {username: u}\n    authorization: {credentials: c}\n")
        .unwrap_err();
    assert_eq!(
        e.message,
        "at most one of basic_auth, oauth2 & authorization must be configured"
    );
    let e = load("scrape_configs:\n  - job_name: a\n    tls_config: {cert_file: c}\n").unwrap_err();
    assert_eq!(
        e.message,
        "exactly one of key or key_file must be configured when a client certificate is configured"
    );
    let e = load("scrape_configs:\n  - job_name: a\n    tls_config: {ca: x, ca_file: y}\n")
        .unwrap_err();
    assert_eq!(
        e.message,
        "at most one of ca and ca_file must be configured"
    );

    // Legacy bearer_token_file folds into authorization, relative to the config dir.
    let c = load("scrape_configs:\n  - job_name: a\n    bearer_token_file: tok\n    tls_config: {ca_file: ca.pem, server_name: s, insecure_skip_verify: true}\n").unwrap();
    let a = c.scrape_configs[0].http.authorization.as_ref().unwrap();
    assert_eq!(a.auth_type, "Bearer");
    assert_eq!(a.credentials_file, "/etc/prom/tok");
    assert_eq!(
        c.scrape_configs[0].http.tls_config.ca_file,
        "/etc/prom/ca.pem"
    );
    assert!(c.scrape_configs[0].http.tls_config.insecure_skip_verify);
}

#[test]
fn scrape_protocols_and_accept_header() {
    let c = load("scrape_configs:\n  - job_name: a\n").unwrap();
    assert_eq!(
        accept_header(&c.scrape_configs[0].scrape_protocols),
        "application/openmetrics-text;version=1.0.0;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
    );
    let c = load("scrape_configs:\n  - job_name: a\n    scrape_protocols: [PrometheusText0.0.4]\n")
        .unwrap();
    assert_eq!(
        accept_header(&c.scrape_configs[0].scrape_protocols),
        "text/plain;version=0.0.4;q=0.6,*/*;q=0.5"
    );
    let e = load("scrape_configs:\n  - job_name: a\n    scrape_protocols: [Foo]\n").unwrap_err();
    assert!(e.message.contains("unknown scrape protocol Foo, supported: [OpenMetricsText0.0.1 OpenMetricsText1.0.0 PrometheusProto PrometheusText0.0.4 PrometheusText1.0.0]"), "{e}");
    let e = load("scrape_configs:\n  - job_name: a\n    scrape_protocols: [PrometheusText0.0.4, PrometheusText0.0.4]\n").unwrap_err();
    assert!(
        e.message
            .contains("duplicated protocol in scrape_protocols"),
        "{e}"
    );
}

#[test]
fn static_target_urls_rejected_without_relabeling() {
    let e = load("scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['http://x:1/metrics']}]\n")
        .unwrap_err();
    assert_eq!(e.message, "\"http://x:1/metrics\" is not a valid hostname");
    assert!(load("scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['http://x:1/metrics']}]\n    relabel_configs: [{source_labels: [__address__], target_label: __param_target}]\n").is_ok());
}

#[test]
fn full_prometheus_yml_with_other_sections_and_sd() {
    let c = load(
        "global:\n  external_labels: {cluster: c1}\nrule_files: [a.yml]\nalerting:\n  alertmanagers: []\nremote_write: [{url: 'http://x/api/v1/write'}]\nscrape_configs:\n  - job_name: k\n    kubernetes_sd_configs: [{role: pod}]\n    file_sd_configs: [{files: ['sd/*.json'], refresh_interval: 30s}]\n    body_size_limit: 10MB\n    params: {module: [http_2xx]}\n",
    )
    .unwrap();
    assert_eq!(c.global.external_labels().get("cluster"), Some("c1"));
    assert!(c.other_sections.contains_key("rule_files"));
    assert!(c.other_sections.contains_key("remote_write"));
    let k = &c.scrape_configs[0];
    assert!(k
        .unsupported_sd_configs
        .contains_key("kubernetes_sd_configs"));
    assert_eq!(
        k.file_sd_configs[0].refresh_interval,
        ConfigDuration::from_secs(30)
    );
    assert_eq!(k.limits.body_size_limit.0, 10 << 20);
    assert_eq!(k.params["module"], vec!["http_2xx".to_string()]);
    let e = load("scrape_configs:\n  - job_name: a\n    file_sd_configs: [{files: ['x.txt']}]\n")
        .unwrap_err();
    assert_eq!(
        e.message,
        "path name \"x.txt\" is not valid for file discovery"
    );
}

#[test]
fn scrape_config_files_are_loaded() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("extra.yml"),
        "scrape_configs:\n  - job_name: extra\n",
    )
    .unwrap();
    let main = dir.path().join("prometheus.yml");
    std::fs::write(
        &main,
        "scrape_config_files: ['*.yml']\nscrape_configs:\n  - job_name: main\n",
    )
    .unwrap();
    // prometheus.yml itself matches *.yml but has no bare scrape_configs-only shape; use a subdir.
    let sub = dir.path().join("jobs");
    std::fs::create_dir(&sub).unwrap();
    std::fs::rename(dir.path().join("extra.yml"), sub.join("extra.yml")).unwrap();
    std::fs::write(
        &main,
        "scrape_config_files: ['jobs/*.yml']\nscrape_configs:\n  - job_name: main\n",
    )
    .unwrap();
    let c = PrometheusConfig::load_file(&main).unwrap();
    let names: Vec<_> = c
        .scrape_configs
        .iter()
        .map(|s| s.job_name.as_str())
        .collect();
    assert_eq!(names, ["main", "extra"]);
}

#[test]
fn serialised_config_hides_secrets() {
    let c = load(
        "scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password: hunter2}\n",
    )
    .unwrap();
    let y = serde_yaml_ng::to_string(&c.scrape_configs[0]).unwrap();
    assert!(y.contains("<secret>") && !y.contains("hunter2"), "{y}");
}
