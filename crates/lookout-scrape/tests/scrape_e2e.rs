//! End-to-end scraping against loopback exporters.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{wait_until, Exporter};
use lookout_model::{is_stale_nan, Labels};
use lookout_scrape::api::{self, StateFilter};
use lookout_scrape::config::PrometheusConfig;
use lookout_scrape::manager::ScrapeService;
use lookout_scrape::memstore::MemStore;

fn cfg(yaml: &str) -> PrometheusConfig {
    PrometheusConfig::load_str(yaml, Path::new("/tmp/prometheus.yml")).unwrap()
}

fn cfg_in(dir: &Path, yaml: &str) -> PrometheusConfig {
    PrometheusConfig::load_str(yaml, &dir.join("prometheus.yml")).unwrap()
}

fn start(store: &MemStore, c: &PrometheusConfig) -> ScrapeService {
    let (svc, errs) = ScrapeService::start(Arc::new(store.clone()), c);
    assert!(errs.is_empty(), "{errs:?}");
    svc
}

fn up_values(store: &MemStore, job: &str) -> Vec<f64> {
    store
        .series_named("up")
        .into_iter()
        .filter(|(l, _)| l.get("job") == Some(job))
        .flat_map(|(_, s)| s.into_iter().map(|x| x.v))
        .collect()
}

fn targets(svc: &ScrapeService) -> api::TargetsData {
    api::targets(&svc.manager, StateFilter::Any, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrape_with_negotiation_gzip_and_target_api() {
    let exp = Exporter::start(
        "# HELP m_total A counter.\n# TYPE m_total counter\nm_total{path=\"/\"} 7\n",
    )
    .await;
    let store = MemStore::new();
    let c = cfg(&format!(
        "scrape_configs:\n  - job_name: app\n    scrape_interval: 100ms\n    scrape_timeout: 90ms\n    params: {{x: ['1 2']}}\n    static_configs: [{{targets: ['{}'], labels: {{env: test}}}}]\n",
        exp.target()
    ));
    let svc = start(&store, &c);
    wait_until(10, "two successful scrapes", || {
        up_values(&store, "app")
            .iter()
            .filter(|v| **v == 1.0)
            .count()
            >= 2
    })
    .await;

    let m = Labels::from_pairs([
        ("__name__", "m_total"),
        ("path", "/"),
        ("env", "test"),
        ("job", "app"),
        ("instance", exp.target().as_str()),
    ]);
    assert!(store.samples(&m).iter().all(|s| s.v == 7.0) && !store.samples(&m).is_empty());

    let req = exp.requests().pop().unwrap();
    assert_eq!(req.path_and_query, "/metrics?x=1+2");
    assert_eq!(
        req.header("accept").unwrap(),
        "application/openmetrics-text;version=1.0.0;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
    );
    assert!(req.header("accept-encoding").unwrap().contains("gzip"));
    assert_eq!(
        req.header("x-prometheus-scrape-timeout-seconds"),
        Some("0.09")
    );
    assert!(req.header("user-agent").unwrap().starts_with("lookout/"));

    let t = targets(&svc);
    assert_eq!(t.active_targets.len(), 1);
    let a = &t.active_targets[0];
    assert_eq!(a.health, "up");
    assert_eq!(a.last_error, "");
    assert_eq!(a.scrape_pool, "app");
    assert_eq!(
        a.scrape_url,
        format!("http://{}/metrics?x=1+2", exp.target())
    );
    assert_eq!(a.scrape_interval, "100ms");
    assert_eq!(a.scrape_timeout, "90ms");
    assert_eq!(a.labels.get("env").map(String::as_str), Some("test"));
    assert_eq!(
        a.discovered_labels.get("__param_x").map(String::as_str),
        Some("1 2")
    );
    assert!(a.last_scrape.ends_with('Z') && a.last_scrape.starts_with("20"));
    let json = serde_json::to_value(&t).unwrap();
    for key in [
        "discoveredLabels",
        "labels",
        "scrapePool",
        "scrapeUrl",
        "globalUrl",
        "lastError",
        "lastScrape",
        "lastScrapeDuration",
        "health",
        "scrapeInterval",
        "scrapeTimeout",
    ] {
        assert!(json["activeTargets"][0].get(key).is_some(), "missing {key}");
    }

    let md = api::targets_metadata(&svc.manager, &[], Some("m_total"), 0);
    assert_eq!(md.len(), 1);
    assert_eq!(md[0].metric_type, "counter");
    assert_eq!(md[0].help, "A counter.");
    assert!(md[0].metric.is_none());
    let all = api::metadata(&svc.manager, None, 0, 0);
    assert_eq!(all["m_total"][0].help, "A counter.");
    // Report series exist with target labels.
    let sc = store.series_named("scrape_samples_scraped");
    assert_eq!(sc[0].0.get("env"), Some("test"));
    assert!(sc[0].1.iter().all(|s| s.v == 1.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openmetrics_response_and_compression_off() {
    let exp = Exporter::start("# TYPE x gauge\nx 1.5 100.25\n# EOF\n").await;
    exp.update(|r| {
        r.content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8".into()
    });
    let store = MemStore::new();
    let c = cfg(&format!(
        "scrape_configs:\n  - job_name: om\n    scrape_interval: 100ms\n    enable_compression: false\n    static_configs: [{{targets: ['{}']}}]\n",
        exp.target()
    ));
    let _svc = start(&store, &c);
    wait_until(10, "OM sample", || !store.series_named("x").is_empty()).await;
    let (_, s) = &store.series_named("x")[0];
    assert_eq!(s[0].t, 100_250);
    assert_eq!(s[0].v, 1.5);
    let req = exp.requests().pop().unwrap();
    assert_eq!(req.header("accept-encoding"), Some("identity"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_timeout_status_body_and_sample_limits() {
    let slow = Exporter::start("a 1\n").await;
    slow.update(|r| r.delay = Duration::from_millis(400));
    let broken = Exporter::start("a 1\n").await;
    broken.update(|r| r.status = 500);
    let big = Exporter::start(&"big_metric_name 1\n".repeat(200)).await;
    let many = Exporter::start("a 1\nb 1\nc 1\n").await;
    let store = MemStore::new();
    let c = cfg(&format!(
        "scrape_configs:\n  - job_name: slow\n    scrape_interval: 200ms\n    scrape_timeout: 100ms\n    static_configs: [{{targets: ['{}']}}]\n  - job_name: broken\n    scrape_interval: 100ms\n    static_configs: [{{targets: ['{}']}}]\n  - job_name: big\n    scrape_interval: 100ms\n    body_size_limit: 1KB\n    static_configs: [{{targets: ['{}']}}]\n  - job_name: many\n    scrape_interval: 100ms\n    sample_limit: 2\n    static_configs: [{{targets: ['{}']}}]\n",
        slow.target(), broken.target(), big.target(), many.target()
    ));
    let svc = start(&store, &c);
    wait_until(10, "all four scraped", || {
        targets(&svc)
            .active_targets
            .iter()
            .all(|t| t.health == "down")
    })
    .await;
    let t = targets(&svc);
    let err = |job: &str| {
        t.active_targets
            .iter()
            .find(|a| a.scrape_pool == job)
            .unwrap()
            .last_error
            .clone()
    };
    assert_eq!(
        err("slow"),
        format!(
            "Get \"http://{}/metrics\": context deadline exceeded",
            slow.target()
        )
    );
    assert_eq!(
        err("broken"),
        "server returned HTTP status 500 Internal Server Error"
    );
    assert_eq!(err("big"), "body size limit exceeded");
    assert_eq!(err("many"), "sample limit exceeded");
    for job in ["slow", "broken", "big", "many"] {
        assert!(up_values(&store, job).iter().all(|v| *v == 0.0), "{job}");
    }
    // The sample-limited scrape stored no samples but reports what it read.
    assert!(store.series_named("a").is_empty());
    let scraped: Vec<f64> = store
        .series_named("scrape_samples_scraped")
        .into_iter()
        .filter(|(l, _)| l.get("job") == Some("many"))
        .flat_map(|(_, s)| s.into_iter().map(|x| x.v))
        .collect();
    assert!(scraped.iter().all(|v| *v == 3.0) && !scraped.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honor_labels_and_metric_relabeling() {
    let exp = Exporter::start("m{job=\"inner\",instance=\"x\"} 1\ndropme 2\n").await;
    let store = MemStore::new();
    let c = cfg(&format!(
        "scrape_configs:\n  - job_name: plain\n    scrape_interval: 100ms\n    static_configs: [{{targets: ['{t}']}}]\n    metric_relabel_configs: [{{source_labels: [__name__], regex: dropme, action: drop}}]\n  - job_name: honor\n    honor_labels: true\n    scrape_interval: 100ms\n    static_configs: [{{targets: ['{t}']}}]\n",
        t = exp.target()
    ));
    let _svc = start(&store, &c);
    wait_until(10, "both jobs", || store.series_named("m").len() >= 2).await;
    let ms = store.series_named("m");
    let plain = ms
        .iter()
        .find(|(l, _)| l.get("job") == Some("plain"))
        .unwrap();
    assert_eq!(plain.0.get("exported_job"), Some("inner"));
    assert_eq!(plain.0.get("exported_instance"), Some("x"));
    assert_eq!(plain.0.get("instance"), Some(exp.target().as_str()));
    let honored = ms
        .iter()
        .find(|(l, _)| l.get("job") == Some("inner"))
        .unwrap();
    assert_eq!(honored.0.get("instance"), Some("x"));
    assert!(honored.0.get("exported_job").is_none());
    // dropme only from the honor job.
    let d = store.series_named("dropme");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].0.get("job"), Some("honor"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staleness_when_series_disappear() {
    let exp = Exporter::start("a 1\nb 1\n").await;
    let store = MemStore::new();
    let c = cfg(&format!(
        "scrape_configs:\n  - job_name: s\n    scrape_interval: 100ms\n    static_configs: [{{targets: ['{}']}}]\n",
        exp.target()
    ));
    let _svc = start(&store, &c);
    wait_until(10, "b scraped", || !store.series_named("b").is_empty()).await;
    exp.set_body("a 2\n");
    wait_until(10, "b stale", || {
        store
            .series_named("b")
            .iter()
            .any(|(_, s)| s.last().is_some_and(|x| is_stale_nan(x.v)))
    })
    .await;
    // Exactly one marker, and a keeps going.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let b = &store.series_named("b")[0].1;
    assert_eq!(b.iter().filter(|s| is_stale_nan(s.v)).count(), 1);
    assert!(store.series_named("a")[0].1.last().unwrap().v == 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_sd_changes_and_vanished_target_staleness() {
    let e1 = Exporter::start("one 1\n").await;
    let e2 = Exporter::start("two 2\n").await;
    let dir = tempfile::tempdir().unwrap();
    let sd = dir.path().join("targets.json");
    std::fs::write(
        &sd,
        format!(
            r#"[{{"targets": ["{}"], "labels": {{"team": "a"}}}}]"#,
            e1.target()
        ),
    )
    .unwrap();
    let store = MemStore::new();
    let c = cfg_in(
        dir.path(),
        "scrape_configs:\n  - job_name: f\n    scrape_interval: 100ms\n    file_sd_configs: [{files: ['*.json'], refresh_interval: 1h}]\n    relabel_configs:\n      - source_labels: [__meta_filepath]\n        regex: '.*/(.*)'\n        target_label: sd_file\n",
    );
    let svc = start(&store, &c);
    wait_until(10, "one scraped", || !store.series_named("one").is_empty()).await;
    let one = &store.series_named("one")[0].0;
    assert_eq!(one.get("team"), Some("a"));
    assert_eq!(one.get("sd_file"), Some("targets.json"));
    assert!(one.get("__meta_filepath").is_none());

    // Swap the file's target: e2 appears, e1 vanishes and goes stale.
    std::fs::write(&sd, format!(r#"[{{"targets": ["{}"]}}]"#, e2.target())).unwrap();
    wait_until(10, "two scraped", || !store.series_named("two").is_empty()).await;
    assert_eq!(targets(&svc).active_targets.len(), 1);
    wait_until(10, "one stale after end of run", || {
        store
            .series_named("one")
            .iter()
            .any(|(_, s)| s.last().is_some_and(|x| is_stale_nan(x.v)))
    })
    .await;
    let up_one: Vec<_> = store
        .series_named("up")
        .into_iter()
        .filter(|(l, _)| l.get("instance") == Some(e1.target().as_str()))
        .collect();
    assert!(
        is_stale_nan(up_one[0].1.last().unwrap().v),
        "up of the vanished target is stale"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relabeling_in_target_building_and_dropped_targets() {
    let exp = Exporter::start("z 1\n").await;
    let store = MemStore::new();
    let c = cfg(&format!(
        "scrape_configs:\n  - job_name: r\n    scrape_interval: 100ms\n    static_configs: [{{targets: ['{t}', 'drop.example:1'], labels: {{__meta_dc: west}}}}]\n    relabel_configs:\n      - source_labels: [__address__]\n        regex: 'drop.*'\n        action: drop\n      - source_labels: [__meta_dc]\n        target_label: dc\n      - target_label: __metrics_path__\n        replacement: /custom\n",
        t = exp.target()
    ));
    let svc = start(&store, &c);
    wait_until(10, "z scraped", || !store.series_named("z").is_empty()).await;
    assert_eq!(store.series_named("z")[0].0.get("dc"), Some("west"));
    assert_eq!(exp.requests()[0].path_and_query, "/custom");
    let t = targets(&svc);
    assert_eq!(t.dropped_targets.len(), 1);
    assert_eq!(t.dropped_target_counts["r"], 1);
    assert_eq!(
        t.dropped_targets[0].discovered_labels["__address__"],
        "drop.example:1"
    );
    let only_dropped = api::targets(&svc.manager, StateFilter::Dropped, None);
    assert!(only_dropped.active_targets.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_keeps_unchanged_loops() {
    let exp = Exporter::start("k 1\n").await;
    let store = MemStore::new();
    let base = |extra: &str| {
        cfg(&format!(
            "scrape_configs:\n  - job_name: keep\n    scrape_interval: 100ms\n    static_configs: [{{targets: ['{t}']}}]\n  - job_name: change\n    scrape_interval: 100ms\n    static_configs: [{{targets: ['{t}']}}]\n{extra}",
            t = exp.target()
        ))
    };
    let svc = start(&store, &base(""));
    wait_until(10, "both up", || {
        targets(&svc)
            .active_targets
            .iter()
            .all(|t| t.health == "up")
            && targets(&svc).active_targets.len() == 2
    })
    .await;
    let state_of = |job: &str| svc.manager.with_pools(|p| p[job].active()[0].clone());
    let keep_before = state_of("keep");
    let change_before = state_of("change");
    let mut c2 = base("");
    c2.scrape_configs[1].honor_labels = true;
    assert!(svc.reload(&c2).is_empty());
    assert!(
        Arc::ptr_eq(&keep_before, &state_of("keep")),
        "unchanged job keeps its loop"
    );
    assert!(
        !Arc::ptr_eq(&change_before, &state_of("change")),
        "changed job restarts"
    );
    // Removing a job stops it; its series go stale.
    let mut c3 = c2.clone();
    c3.scrape_configs.remove(1);
    svc.reload(&c3);
    assert_eq!(targets(&svc).active_targets.len(), 1);
    wait_until(10, "removed job's up goes stale", || {
        store.series_named("up").iter().any(|(l, s)| {
            l.get("job") == Some("change") && s.last().is_some_and(|x| is_stale_nan(x.v))
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_headers_and_target_limit() {
    let exp = Exporter::start("q 1\n").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "s3cret\n").unwrap();
    let store = MemStore::new();
    let c = cfg_in(
        dir.path(),
        &format!(
            "scrape_configs:\n  - job_name: bearer\n    scrape_interval: 100ms\n    bearer_token_file: token\n    static_configs: [{{targets: ['{t}']}}]\n  - job_name: basic\n    scrape_interval: 100ms\n    metrics_path: /basic\n    basic_auth: {{username: u, password: p}}\n    static_configs: [{{targets: ['{t}']}}]\n  - job_name: limited\n    scrape_interval: 100ms\n    target_limit: 1\n    static_configs: [{{targets: ['{t}', '127.0.0.1:1']}}]\n",
            t = exp.target()
        ),
    );
    let svc = start(&store, &c);
    wait_until(10, "auth requests seen", || {
        let r = exp.requests();
        r.iter()
            .any(|x| x.header("authorization") == Some("Bearer s3cret"))
            && r.iter().any(|x| {
                x.path_and_query == "/basic" && x.header("authorization") == Some("Basic dTpw")
            })
    })
    .await;
    wait_until(10, "limited targets fail", || {
        let t = targets(&svc);
        let l: Vec<_> = t
            .active_targets
            .iter()
            .filter(|a| a.scrape_pool == "limited")
            .collect();
        l.len() == 2
            && l.iter()
                .all(|a| a.last_error == "target_limit exceeded (number of targets: 2, limit: 1)")
    })
    .await;
}
