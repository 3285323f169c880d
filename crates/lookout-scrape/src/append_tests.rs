use super::*;
use crate::memstore::MemStore;
use lookout_model::storage::Appendable;
use lookout_model::{is_stale_nan, FloatSample};

fn opts() -> SampleOptions {
    SampleOptions {
        target_labels: Labels::from_pairs([("job", "j"), ("instance", "i:1")]),
        honor_labels: false,
        honor_timestamps: true,
        track_timestamps_staleness: false,
        metric_relabel: Arc::new(Vec::new()),
        limits: Limits::default(),
        fallback: None,
    }
}

fn run(
    store: &MemStore,
    cache: &mut ScrapeCache,
    body: &str,
    t: i64,
    o: &SampleOptions,
) -> Result<AppendStats, (AppendStats, String)> {
    let mut app = store.appender();
    let r = append_scrape(
        cache,
        app.as_mut(),
        body.as_bytes(),
        "text/plain; version=0.0.4",
        t,
        o,
    );
    match &r {
        Ok(_) => app.commit().unwrap(),
        Err(_) => {
            app.rollback();
            let mut app = store.appender();
            append_scrape(cache, app.as_mut(), b"", "", t, o).unwrap();
            app.commit().unwrap();
        }
    }
    r
}

fn l(s: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(s.iter().copied())
}

#[test]
fn samples_get_target_labels_and_metadata() {
    let store = MemStore::new();
    let mut cache = ScrapeCache::new();
    let body = "# HELP foo_total Foo things.\n# TYPE foo_total counter\nfoo_total{a=\"1\"} 3\nbar 2 1234\n";
    let st = run(&store, &mut cache, body, 1000, &opts()).unwrap();
    assert_eq!(
        st,
        AppendStats {
            total: 2,
            added: 2,
            series_added: 2,
            rejected: 0
        }
    );
    let foo = l(&[
        ("__name__", "foo_total"),
        ("a", "1"),
        ("job", "j"),
        ("instance", "i:1"),
    ]);
    assert_eq!(store.samples(&foo), vec![FloatSample { t: 1000, v: 3.0 }]);
    // Explicit timestamp honoured.
    let bar = l(&[("__name__", "bar"), ("job", "j"), ("instance", "i:1")]);
    assert_eq!(store.samples(&bar), vec![FloatSample { t: 1234, v: 2.0 }]);
    let md = cache.metadata();
    assert_eq!(md["foo_total"].metric_type, "counter");
    assert_eq!(md["foo_total"].help, "Foo things.");
    // Second scrape: cache hits, no series added.
    let st = run(&store, &mut cache, body, 2000, &opts()).unwrap();
    assert_eq!(st.series_added, 0);
    assert_eq!(store.samples(&foo).len(), 2);
}

#[test]
fn honor_timestamps_false_uses_scrape_time() {
    let store = MemStore::new();
    let mut cache = ScrapeCache::new();
    let mut o = opts();
    o.honor_timestamps = false;
    run(&store, &mut cache, "bar 2 1234\n", 5000, &o).unwrap();
    let bar = l(&[("__name__", "bar"), ("job", "j"), ("instance", "i:1")]);
    assert_eq!(store.samples(&bar), vec![FloatSample { t: 5000, v: 2.0 }]);
}

#[test]
fn conflicting_labels_become_exported() {
    let target = l(&[("job", "j"), ("instance", "i:1")]);
    let scraped = l(&[("__name__", "m"), ("job", "other"), ("exported_job", "x")]);
    let out = mutate_sample_labels(&scraped, &target, false, &[]).unwrap();
    assert_eq!(
        out.to_string(),
        r#"{__name__="m", exported_exported_job="other", exported_job="x", instance="i:1", job="j"}"#
    );
    let honored = mutate_sample_labels(&scraped, &target, true, &[]).unwrap();
    assert_eq!(
        honored.to_string(),
        r#"{__name__="m", exported_job="x", instance="i:1", job="other"}"#
    );
}

#[test]
fn metric_relabel_drops_and_rewrites() {
    let store = MemStore::new();
    let mut cache = ScrapeCache::new();
    let mut o = opts();
    o.metric_relabel = Arc::new(
        serde_yaml_ng::from_str(
            "- source_labels: [__name__]\n  regex: 'drop_.*'\n  action: drop\n- source_labels: [a]\n  target_label: b\n",
        )
        .unwrap(),
    );
    let st = run(&store, &mut cache, "drop_me 1\nkeep{a=\"x\"} 2\n", 1000, &o).unwrap();
    assert_eq!(st.total, 2);
    assert_eq!(st.added, 1);
    let keep = l(&[
        ("__name__", "keep"),
        ("a", "x"),
        ("b", "x"),
        ("job", "j"),
        ("instance", "i:1"),
    ]);
    assert_eq!(store.samples(&keep).len(), 1);
    assert_eq!(store.all().len(), 1);
}

#[test]
fn staleness_for_disappearing_series_and_failed_scrapes() {
    let store = MemStore::new();
    let mut cache = ScrapeCache::new();
    let o = opts();
    run(&store, &mut cache, "a 1\nb 1\nc 1 500\n", 1000, &o).unwrap();
    run(&store, &mut cache, "a 2\nc 1 600\n", 2000, &o).unwrap();
    let a = l(&[("__name__", "a"), ("job", "j"), ("instance", "i:1")]);
    let b = l(&[("__name__", "b"), ("job", "j"), ("instance", "i:1")]);
    let c = l(&[("__name__", "c"), ("job", "j"), ("instance", "i:1")]);
    let bs = store.samples(&b);
    assert_eq!(bs.len(), 2);
    assert_eq!(bs[1].t, 2000);
    assert!(is_stale_nan(bs[1].v));
    // Series with explicit timestamps are not tracked.
    assert!(store.samples(&c).iter().all(|s| !is_stale_nan(s.v)));

    // A failed scrape (parse error) marks everything from the last scrape stale.
    let e = run(&store, &mut cache, "a 3\nbroken{\n", 3000, &o).unwrap_err();
    assert!(e.1.contains("line 2"), "{}", e.1);
    let as_ = store.samples(&a);
    assert_eq!(as_.len(), 3);
    assert!(is_stale_nan(as_[2].v) && as_[2].t == 3000);
    // Recovery: a reappears, no second stale marker.
    run(&store, &mut cache, "a 4\n", 4000, &o).unwrap();
    run(&store, &mut cache, "a 5\n", 5000, &o).unwrap();
    let as_ = store.samples(&a);
    assert_eq!(as_.iter().filter(|s| is_stale_nan(s.v)).count(), 1);
    assert_eq!(as_.last().unwrap().v, 5.0);
}

#[test]
fn sample_limit_fails_whole_scrape() {
    let store = MemStore::new();
    let mut cache = ScrapeCache::new();
    let mut o = opts();
    o.limits.sample_limit = 2;
    let e = run(&store, &mut cache, "a 1\nb 1\nc 1\n", 1000, &o).unwrap_err();
    assert_eq!(e.1, "sample limit exceeded");
    assert_eq!(e.0.total, 3);
    assert_eq!(e.0.added, 3);
    assert!(
        store.all().is_empty(),
        "nothing committed: {:?}",
        store.all()
    );
    // Within the limit after relabeling it passes.
    o.metric_relabel = Arc::new(
        serde_yaml_ng::from_str("- source_labels: [__name__]\n  regex: c\n  action: drop\n")
            .unwrap(),
    );
    let mut cache = ScrapeCache::new();
    assert!(run(&store, &mut cache, "a 1\nb 1\nc 1\n", 2000, &o).is_ok());
}

#[test]
fn label_limits_fail_with_upstream_messages() {
    let store = MemStore::new();
    let mut o = opts();
    o.limits.label_limit = 3;
    let e = run(
        &store,
        &mut ScrapeCache::new(),
        "m{a=\"1\",b=\"2\"} 1\n",
        1000,
        &o,
    )
    .unwrap_err();
    assert_eq!(
        e.1,
        "label_limit exceeded (metric: m, number of labels: 5, limit: 3)"
    );
    let mut o = opts();
    o.limits.label_name_length_limit = 5;
    let e = run(
        &store,
        &mut ScrapeCache::new(),
        "m{longname=\"1\"} 1\n",
        1000,
        &o,
    )
    .unwrap_err();
    assert_eq!(
        e.1,
        "label_name_length_limit exceeded (metric: m, label name: __name__, length: 8, limit: 5)"
    );
    let mut o = opts();
    o.limits.label_value_length_limit = 3;
    let e = run(
        &store,
        &mut ScrapeCache::new(),
        "m{a=\"abcd\"} 1\n",
        1000,
        &o,
    )
    .unwrap_err();
    assert_eq!(e.1, "label_value_length_limit exceeded (metric: m, label name: a, value: \"abcd\", length: 4, limit: 3)");
}

#[test]
fn relabeling_away_the_name_is_an_error() {
    let store = MemStore::new();
    let mut o = opts();
    o.metric_relabel =
        Arc::new(serde_yaml_ng::from_str("- regex: __name__\n  action: labeldrop\n").unwrap());
    let e = run(&store, &mut ScrapeCache::new(), "m 1\n", 1000, &o).unwrap_err();
    assert_eq!(e.1, "missing metric name (__name__ label)");
}

#[test]
fn duplicates_in_one_scrape_are_counted_not_fatal() {
    let store = MemStore::new();
    let st = run(&store, &mut ScrapeCache::new(), "m 1\nm 2\n", 1000, &opts()).unwrap();
    assert_eq!(st.rejected, 1);
}

#[test]
fn openmetrics_content_type_and_unit() {
    let store = MemStore::new();
    let mut cache = ScrapeCache::new();
    let mut app = store.appender();
    let body =
        b"# TYPE temp_celsius gauge\n# UNIT temp_celsius celsius\ntemp_celsius 21.5 1.5\n# EOF\n";
    let st = append_scrape(
        &mut cache,
        app.as_mut(),
        body,
        "application/openmetrics-text; version=1.0.0",
        9000,
        &opts(),
    )
    .unwrap();
    app.commit().unwrap();
    assert_eq!(st.total, 1);
    let t = l(&[
        ("__name__", "temp_celsius"),
        ("job", "j"),
        ("instance", "i:1"),
    ]);
    assert_eq!(store.samples(&t), vec![FloatSample { t: 1500, v: 21.5 }]);
    assert_eq!(cache.metadata()["temp_celsius"].unit, "celsius");
    // The same body as text/plain fails (UNIT is not 0.0.4... it is a comment there, but the
    // OpenMetrics float timestamp is not a valid 0.0.4 timestamp).
    assert!(matches!(format_for("", None), Format::Text004));
    assert!(matches!(
        format_for("weird/type", Some(ScrapeProtocol::OpenMetricsText1_0_0)),
        Format::OpenMetrics
    ));
}

#[test]
fn report_series() {
    let store = MemStore::new();
    let target = l(&[("job", "j"), ("instance", "i:1")]);
    let mut app = store.appender();
    append_report(
        app.as_mut(),
        &target,
        1000,
        0.25,
        &AppendStats {
            total: 3,
            added: 2,
            series_added: 1,
            rejected: 0,
        },
        true,
    )
    .unwrap();
    app.commit().unwrap();
    let v = |n: &str| store.samples(&report_labels(n, &target))[0].v;
    assert_eq!(v("up"), 1.0);
    assert_eq!(v("scrape_duration_seconds"), 0.25);
    assert_eq!(v("scrape_samples_scraped"), 3.0);
    assert_eq!(v("scrape_samples_post_metric_relabeling"), 2.0);
    assert_eq!(v("scrape_series_added"), 1.0);
}

#[test]
fn relabeling_to_invalid_names_fails_the_scrape() {
    let store = MemStore::new();
    let mut o = opts();
    o.metric_relabel = Arc::new(
        serde_yaml_ng::from_str("- regex: '(a)'\n  replacement: '${2}'\n  action: labelmap\n")
            .unwrap(),
    );
    let e = run(&store, &mut ScrapeCache::new(), "m{a=\"1\"} 1\n", 1000, &o).unwrap_err();
    assert!(
        e.1.starts_with("invalid metric name or label names: "),
        "{}",
        e.1
    );
    let mut o = opts();
    o.metric_relabel = Arc::new(
        serde_yaml_ng::from_str("- target_label: __name__\n  replacement: 'bad-name'\n").unwrap(),
    );
    let e = run(&store, &mut ScrapeCache::new(), "m 1\n", 1000, &o).unwrap_err();
    assert!(e.1.contains("bad-name"), "{}", e.1);
}
