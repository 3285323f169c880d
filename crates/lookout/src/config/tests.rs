use super::*;

fn load(text: &str) -> Result<LoadedConfig, ConfigErrors> {
    load_str(text, Path::new("/etc/lookout/lookout.yaml"))
}

#[test]
fn embedded_default_loads() {
    let c = load(&embedded_default("127.0.0.1:9090")).unwrap();
    let jobs: Vec<_> = c
        .prometheus
        .scrape_configs
        .iter()
        .map(|j| j.job_name.as_str())
        .collect();
    assert_eq!(jobs, ["lookout", "node"]);
    assert_eq!(c.prometheus.global.scrape_interval.as_millis(), 15_000);
    assert_eq!(c.prometheus.global.scrape_timeout.as_millis(), 10_000);
    assert!(c.prometheus_yaml.contains("job_name: node"));
}

#[test]
fn plain_prometheus_yml_is_accepted() {
    let text = "global:\n  scrape_interval: 5s\n  external_labels: {cluster: home}\nscrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['x:1']}]\nstorage:\n  tsdb:\n    out_of_order_time_window: 30m\n";
    let c = load(text).unwrap();
    assert_eq!(c.prometheus.global.scrape_interval.as_millis(), 5000);
    // The default timeout is capped at the interval.
    assert_eq!(c.prometheus.global.scrape_timeout.as_millis(), 5000);
    assert_eq!(
        c.storage.tsdb.out_of_order_time_window.as_millis(),
        1_800_000
    );
    assert_eq!(c.prometheus.global.external_labels["cluster"], "home");
    assert_eq!(c.prometheus_yaml, text);
}

#[test]
fn empty_file_is_an_empty_config() {
    let c = load("").unwrap();
    assert!(c.prometheus.scrape_configs.is_empty());
    assert_eq!(c.prometheus.global.scrape_interval.as_millis(), 60_000);
}

#[test]
fn errors_carry_file_and_line() {
    let text = "prometheus:\n  global:\n    scrape_intervall: 15s\n";
    let e = load(text).unwrap_err();
    assert_eq!(e.0.len(), 1);
    assert_eq!(e.0[0].line, Some(3), "{e}");
    assert!(
        e.0[0].message.contains("unknown field `scrape_intervall`"),
        "{e}"
    );
    assert!(
        e.to_string().starts_with("/etc/lookout/lookout.yaml:3:"),
        "{e}"
    );

    let text = "prometheus:\n  global:\n    scrape_interval: 15 seconds\n";
    let e = load(text).unwrap_err();
    assert_eq!(e.0[0].line, Some(3), "{e}");
    assert!(e.0[0].message.contains("not a valid duration"), "{e}");
}

#[test]
fn section_errors_map_to_lookout_yaml_lines() {
    // The prometheus section's parser reports its first problem; lookout's
    // own checks add theirs. Lines point into the lookout.yaml.
    let text = "prometheus:\n  global:\n    scrape_interval: 5s\n    scrape_timeout: 10s\n  scrape_configs:\n    - job_name: a\nbogus: 1\n";
    let e = load(text).unwrap_err();
    let shown: Vec<String> = e.0.iter().map(|x| x.to_string()).collect();
    assert_eq!(e.0.len(), 2, "{shown:?}");
    assert!(shown.contains(&"/etc/lookout/lookout.yaml:7: unknown section \"bogus\" (lookout.yaml sections: prometheus, alertmanager)".to_string()), "{shown:?}");
    assert!(
        shown.contains(
            &"/etc/lookout/lookout.yaml:2: global scrape timeout greater than scrape interval"
                .to_string()
        ),
        "{shown:?}"
    );

    let text =
        "# comment\nprometheus:\n  scrape_configs:\n    - job_name: a\n      scrape_interval: 1x\n";
    let e = load(text).unwrap_err();
    assert_eq!(e.0[0].line, Some(5), "{e}");
    let text = "prometheus:\n  storage:\n    tsdb:\n      out_of_order_time_window: soon\n";
    let e = load(text).unwrap_err();
    assert_eq!(e.0[0].line, Some(4), "{e}");
    let text = "prometheus:\n  scrape_configs:\n    - job_name: a\n    - job_name: a\n";
    let e = load(text).unwrap_err();
    assert!(
        e.0[0]
            .message
            .contains("found multiple scrape configs with job name \"a\""),
        "{e}"
    );
    assert!(e.0[0].line.is_some_and(|l| (3..=4).contains(&l)), "{e}");
}

#[test]
fn config_file_reference_resolves_relative_to_the_lookout_yaml() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("prom.yml"),
        "scrape_configs:\n  - job_name: x\n",
    )
    .unwrap();
    let main = dir.path().join("lookout.yaml");
    std::fs::write(&main, "prometheus:\n  config_file: prom.yml\n").unwrap();
    let c = load_file(&main).unwrap();
    assert_eq!(c.prometheus.scrape_configs[0].job_name, "x");
    // Errors in the referenced file name that file.
    std::fs::write(
        dir.path().join("prom.yml"),
        "scrape_configs:\n  - job_name: x\n  - job_name: x\n",
    )
    .unwrap();
    let e = load_file(&main).unwrap_err();
    assert_eq!(e.0[0].file, dir.path().join("prom.yml"));
    assert!(e.0[0].line.is_some_and(|l| (2..=3).contains(&l)), "{e}");
    // A missing file is an error naming it.
    std::fs::write(&main, "prometheus:\n  config_file: nope.yml\n").unwrap();
    let e = load_file(&main).unwrap_err();
    assert!(
        e.to_string().contains("nope.yml: cannot read config file"),
        "{e}"
    );
}

#[test]
fn not_a_mapping() {
    let e = load("- a\n- b\n").unwrap_err();
    assert!(e.0[0].message.contains("mapping"));
    let e = load("prometheus: [\n").unwrap_err();
    assert!(e.0[0].line.is_some(), "{e}");
}

#[test]
fn alertmanager_section_is_validated() {
    let c = load("prometheus:\n  scrape_configs: []\n").unwrap();
    assert_eq!(c.alertmanager.text, DEFAULT_ALERTMANAGER);
    let ok = "alertmanager:\n  route:\n    receiver: team\n  receivers:\n    - name: team\n";
    let c = load(ok).unwrap();
    assert!(c.alertmanager.text.contains("name: team"));
    let bad = "prometheus:\n  scrape_configs: []\nalertmanager:\n  route:\n    receiver: nobody\n  receivers:\n    - name: team\n";
    let e = load(bad).unwrap_err();
    assert!(e.0[0].message.starts_with("alertmanager: "), "{e}");
    assert!(e.0[0].message.contains("nobody"), "{e}");
}
