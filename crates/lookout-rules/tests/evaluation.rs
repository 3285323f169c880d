//! Group evaluation semantics on an in-memory store: recording results and
//! staleness markers, health and errors, `limit`, alert sending cadence and
//! `endsAt`, resolved-alert retention, and the API payloads.

use std::sync::Arc;

use lookout_model::matcher::{MatchOp, Matcher};
use lookout_model::storage::{Appendable, Querier, SelectHints};
use lookout_model::{is_stale_nan, Labels};
use lookout_promql::promqltest::memstore::MemStore;
use lookout_rules::api::{self, RulesQuery};
use lookout_rules::group::{Group, GroupOptions};
use lookout_rules::load::{self, LoadOptions};
use lookout_rules::notifier::CollectingSender;
use lookout_rules::rule::{Health, RuleEnv};

const MIN: i64 = 60_000;
const T0: i64 = 1_700_000_040_000;

struct Fixture {
    store: MemStore,
    sender: Arc<CollectingSender>,
    groups: Vec<Arc<Group>>,
}

fn fixture(rules: &str) -> Fixture {
    let store = MemStore::new();
    let env = RuleEnv {
        querier: Arc::new(store.clone()) as Arc<dyn Querier>,
        appendable: Arc::new(store.clone()) as Arc<dyn Appendable>,
        engine: Default::default(),
        external_labels: Labels::from_pairs([("cluster", "home")]),
        external_url: "http://lookout:9090".into(),
    };
    let sender = Arc::new(CollectingSender::default());
    let gopts = GroupOptions::with_sender(sender.clone());
    let rgs = load::parse_rule_text("t.yml", rules).unwrap();
    let lopts = LoadOptions {
        restored: true,
        ..Default::default()
    };
    let groups = load::build_groups("t.yml", &rgs, &env, &gopts, &lopts)
        .unwrap()
        .into_iter()
        .map(Arc::new)
        .collect();
    Fixture {
        store,
        sender,
        groups,
    }
}

fn put(store: &MemStore, pairs: &[(&str, &str)], points: &[(i64, f64)]) {
    let l = Labels::from_pairs(pairs.iter().copied());
    let mut app = store.appender();
    for (t, v) in points {
        app.append(&l, *t, *v).unwrap();
    }
    app.commit().unwrap();
}

fn raw(store: &MemStore, name: &str) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let ms = [Matcher::new(MatchOp::Equal, "__name__", name).unwrap()];
    let hints = SelectHints {
        mint: 0,
        maxt: i64::MAX,
        ..Default::default()
    };
    store
        .select(&ms, &hints)
        .unwrap()
        .flatten()
        .map(|s| (s.labels, s.floats.iter().map(|p| (p.t, p.v)).collect()))
        .collect()
}

#[test]
fn recording_rule_writes_results_and_staleness_markers() {
    let f = fixture(
        "groups:\n- name: g\n  rules:\n  - record: job:x:sum\n    expr: sum by (job) (x)\n    labels: {env: prod}\n",
    );
    put(
        &f.store,
        &[("__name__", "x"), ("job", "a")],
        &[(T0, 1.0), (T0 + MIN, 2.0)],
    );
    put(&f.store, &[("__name__", "x"), ("job", "b")], &[(T0, 5.0)]);
    let g = &f.groups[0];
    g.eval(T0);
    g.eval(T0 + MIN);
    // job b's input is older than the 5m lookback at T0+6m; job a continues.
    put(
        &f.store,
        &[("__name__", "x"), ("job", "a")],
        &[(T0 + 6 * MIN, 3.0)],
    );
    g.eval(T0 + 6 * MIN);
    let series = raw(&f.store, "job:x:sum");
    assert_eq!(series.len(), 2);
    let (la, pa) = &series[0];
    assert_eq!(
        la.to_string(),
        r#"{__name__="job:x:sum", env="prod", job="a"}"#
    );
    assert_eq!(pa, &vec![(T0, 1.0), (T0 + MIN, 2.0), (T0 + 6 * MIN, 3.0)]);
    let (lb, pb) = &series[1];
    assert_eq!(lb.get("job"), Some("b"));
    assert_eq!(pb.len(), 3);
    assert_eq!(&pb[..2], &[(T0, 5.0), (T0 + MIN, 5.0)]);
    assert_eq!(pb[2].0, T0 + 6 * MIN);
    assert!(
        is_stale_nan(pb[2].1),
        "staleness marker when the series disappears"
    );
    let st = g.rules[0].status();
    assert_eq!(st.health, Health::Ok);
    assert!(st.last_error.is_empty());
}

#[test]
fn rule_errors_set_health_and_keep_evaluating_later_rules() {
    let f = fixture(concat!(
        "groups:\n- name: g\n  limit: 1\n  rules:\n",
        "  - record: too_many\n    expr: x\n",
        "  - record: dup\n    expr: x\n    labels: {job: same}\n",
        "  - record: fine\n    expr: count(x)\n",
    ));
    put(&f.store, &[("__name__", "x"), ("job", "a")], &[(T0, 1.0)]);
    put(&f.store, &[("__name__", "x"), ("job", "b")], &[(T0, 1.0)]);
    let g = &f.groups[0];
    assert_eq!(g.rules[0].status().health, Health::Unknown);
    g.eval(T0);
    let s0 = g.rules[0].status();
    assert_eq!(s0.health, Health::Err);
    assert_eq!(s0.last_error, "exceeded limit of 1 with 2 series");
    let s1 = g.rules[1].status();
    assert_eq!(
        s1.last_error,
        "vector contains metrics with the same labelset after applying rule labels"
    );
    assert_eq!(g.rules[2].status().health, Health::Ok);
    assert!(
        raw(&f.store, "too_many").is_empty(),
        "nothing written over the limit"
    );
    assert_eq!(raw(&f.store, "fine")[0].1, vec![(T0, 2.0)]);
}

#[test]
fn alert_limit_drops_all_alerts_of_the_rule() {
    let f = fixture("groups:\n- name: g\n  limit: 1\n  rules:\n  - alert: A\n    expr: x > 0\n");
    put(&f.store, &[("__name__", "x"), ("job", "a")], &[(T0, 1.0)]);
    put(&f.store, &[("__name__", "x"), ("job", "b")], &[(T0, 1.0)]);
    let g = &f.groups[0];
    g.eval(T0);
    let st = g.rules[0].status();
    assert_eq!(st.last_error, "exceeded limit of 1 with 2 alerts");
    let data = api::alerts_data(&f.groups);
    assert_eq!(data["alerts"].as_array().unwrap().len(), 0);
}

#[test]
fn alerts_are_sent_with_resend_delay_valid_until_and_resolution() {
    let f = fixture(
        "groups:\n- name: g\n  rules:\n  - alert: High\n    expr: x > 1\n    annotations: {v: '{{ $value }}'}\n",
    );
    let g = &f.groups[0];
    let mut pts: Vec<(i64, f64)> = (0..=5).map(|k| (T0 + k * MIN, 5.0)).collect();
    pts.push((T0 + 6 * MIN, 0.0));
    put(&f.store, &[("__name__", "x"), ("job", "a")], &pts);
    let mut sent_at = Vec::new();
    for k in 0..=6 {
        g.eval(T0 + k * MIN);
        let batch: Vec<_> = std::mem::take(&mut *f.sender.0.lock());
        if !batch.is_empty() {
            sent_at.push((k, batch));
        }
    }
    // for: 0 fires at once; resent only when lastSent + 1m < ts (strict),
    // i.e. every 2 minutes; the resolution goes out immediately.
    let ks: Vec<i64> = sent_at.iter().map(|(k, _)| *k).collect();
    assert_eq!(ks, vec![0, 2, 4, 6]);
    let first = &sent_at[0].1[0];
    assert_eq!(first.starts_at, T0);
    assert_eq!(
        first.ends_at,
        T0 + 4 * MIN,
        "ValidUntil = ts + 4 x max(interval, resend delay)"
    );
    assert_eq!(first.labels.to_string(), r#"{alertname="High", job="a"}"#);
    assert_eq!(first.annotations.get("v").map(String::as_str), Some("5"));
    assert_eq!(
        first.generator_url,
        "http://lookout:9090/graph?g0.expr=x+%3E+1&g0.tab=1"
    );
    let resolved = &sent_at[3].1[0];
    assert_eq!(resolved.ends_at, T0 + 6 * MIN, "endsAt = ResolvedAt");
    assert_eq!(resolved.starts_at, T0);
    let json = resolved.to_json();
    assert_eq!(json["endsAt"], "2023-11-14T22:20:00.000Z");
    assert_eq!(json["startsAt"], "2023-11-14T22:14:00.000Z");

    // Resolved alerts are re-sent on the same cadence for 15 minutes, then forgotten.
    let mut resends = 0;
    for k in 7..=23 {
        put(
            &f.store,
            &[("__name__", "x"), ("job", "a")],
            &[(T0 + k * MIN, 0.0)],
        );
        g.eval(T0 + k * MIN);
        resends += std::mem::take(&mut *f.sender.0.lock()).len();
    }
    assert_eq!(resends, 7, "resends at 8,10,...,20 minutes");
    let lookout_rules::rule::Rule::Alerting(ar) = &*g.rules[0] else {
        panic!()
    };
    assert!(ar.alerts().is_empty(), "forgotten after 15 minutes");
}

#[test]
fn api_payloads_have_prometheus_shapes() {
    let f = fixture(concat!(
        "groups:\n- name: alerts\n  interval: 30s\n  rules:\n",
        "  - alert: High\n    expr: x > 1\n    for: 5m\n    keep_firing_for: 1m\n    labels: {severity: page}\n    annotations: {summary: 'x is {{ $value }}'}\n",
        "- name: records\n  rules:\n  - record: r\n    expr: sum(x)\n",
    ));
    put(&f.store, &[("__name__", "x"), ("job", "a")], &[(T0, 42.0)]);
    for g in &f.groups {
        g.eval(T0);
    }
    let data = api::rules_data(&f.groups, &RulesQuery::default()).unwrap();
    let groups = data["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    let g0 = &groups[0];
    assert_eq!(g0["name"], "alerts");
    assert_eq!(g0["file"], "t.yml");
    assert_eq!(g0["interval"], 30);
    assert_eq!(g0["limit"], 0);
    assert!(g0["evaluationTime"].is_f64());
    assert!(g0["lastEvaluation"].as_str().unwrap().ends_with('Z'));
    let r = &g0["rules"][0];
    assert_eq!(r["type"], "alerting");
    assert_eq!(r["state"], "pending");
    assert_eq!(r["name"], "High");
    assert_eq!(r["query"], "x > 1");
    assert_eq!(r["duration"], 300);
    assert_eq!(r["keepFiringFor"], 60);
    assert_eq!(r["labels"]["severity"], "page");
    assert_eq!(r["annotations"]["summary"], "x is {{ $value }}");
    assert_eq!(r["health"], "ok");
    assert!(r.get("lastError").is_none());
    let a = &r["alerts"][0];
    assert_eq!(a["state"], "pending");
    assert_eq!(a["value"], "4.2e+01");
    assert_eq!(a["activeAt"], "2023-11-14T22:14:00Z");
    assert_eq!(a["annotations"]["summary"], "x is 42");
    assert_eq!(a["labels"]["alertname"], "High");
    assert!(a.get("keepFiringSince").is_none());
    let rec = &groups[1]["rules"][0];
    assert_eq!(rec["type"], "recording");
    assert_eq!(rec["query"], "sum(x)");
    assert!(
        rec.get("labels").is_none(),
        "empty recording-rule labels are omitted"
    );
    assert!(rec.get("state").is_none());

    // Filters.
    let q = RulesQuery {
        rule_type: Some("record".into()),
        ..Default::default()
    };
    let d = api::rules_data(&f.groups, &q).unwrap();
    assert_eq!(d["groups"].as_array().unwrap().len(), 1);
    assert_eq!(d["groups"][0]["name"], "records");
    let q = RulesQuery {
        exclude_alerts: true,
        rule_names: vec!["High".into()],
        ..Default::default()
    };
    let d = api::rules_data(&f.groups, &q).unwrap();
    assert!(d["groups"][0]["rules"][0]["alerts"].is_null());
    assert_eq!(d["groups"].as_array().unwrap().len(), 1);
    let q = RulesQuery {
        matchers: vec![r#"{severity="page"}"#.into()],
        ..Default::default()
    };
    let d = api::rules_data(&f.groups, &q).unwrap();
    assert_eq!(d["groups"].as_array().unwrap().len(), 1);
    assert!(api::rules_data(
        &f.groups,
        &RulesQuery {
            rule_type: Some("bogus".into()),
            ..Default::default()
        }
    )
    .is_err());

    // Pagination.
    let q = RulesQuery {
        group_limit: 1,
        ..Default::default()
    };
    let d = api::rules_data(&f.groups, &q).unwrap();
    assert_eq!(d["groups"].as_array().unwrap().len(), 1);
    let token = d["groupNextToken"].as_str().unwrap().to_string();
    let q = RulesQuery {
        group_limit: 1,
        group_next_token: Some(token),
        ..Default::default()
    };
    let d = api::rules_data(&f.groups, &q).unwrap();
    assert_eq!(d["groups"][0]["name"], "records");
    assert!(d.get("groupNextToken").is_none());
    let q = RulesQuery {
        group_limit: 1,
        group_next_token: Some("nope".into()),
        ..Default::default()
    };
    assert!(api::rules_data(&f.groups, &q).is_err());

    let alerts = api::alerts_data(&f.groups);
    assert_eq!(alerts["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(alerts["alerts"][0]["state"], "pending");
}

#[test]
fn evaluation_slots_are_aligned_per_group() {
    let f = fixture(
        "groups:\n- name: a\n  interval: 1m\n  rules: []\n- name: b\n  interval: 1m\n  rules: []\n",
    );
    let now: i128 = 1_700_000_123_456_789_000;
    let mut offsets = Vec::new();
    for g in &f.groups {
        let ts = g.eval_timestamp_ns(now);
        let interval = 60_000_000_000i128;
        assert!(ts <= now && now < ts + interval);
        assert_eq!(ts.rem_euclid(interval), (g.hash() as i128) % interval);
        // Stable: the same slot from anywhere inside it.
        assert_eq!(g.eval_timestamp_ns(ts + interval - 1), ts);
        offsets.push(ts.rem_euclid(interval));
    }
    assert_ne!(
        offsets[0], offsets[1],
        "groups are spread over the interval"
    );
}

#[test]
fn query_offset_and_group_labels() {
    let f = fixture(concat!(
        "groups:\n- name: g\n  query_offset: 1m\n  labels: {team: db, env: group}\n  rules:\n",
        "  - record: r\n    expr: x\n    labels: {env: rule}\n",
        "  - alert: A\n    expr: x > 0\n",
    ));
    // x exists only up to T0; evaluating at T0+5m queries T0+4m (offset),
    // where the T0 sample is still inside the 5m lookback.
    put(
        &f.store,
        &[("__name__", "x"), ("job", "a")],
        &[(T0 - 10 * MIN, 7.0), (T0, 7.0)],
    );
    let g = &f.groups[0];
    assert_eq!(g.query_offset_ms, MIN);
    g.eval(T0 + 5 * MIN);
    let r = raw(&f.store, "r");
    // The sample is stamped at ts - offset, with group labels under rule labels.
    assert_eq!(
        r[0].0.to_string(),
        r#"{__name__="r", env="rule", job="a", team="db"}"#
    );
    assert_eq!(r[0].1, vec![(T0 + 4 * MIN, 7.0)]);
    let alerts = raw(&f.store, "ALERTS");
    assert_eq!(
        alerts[0].1[0].0,
        T0 + 4 * MIN,
        "ALERTS stamped at ts - offset"
    );
    assert_eq!(alerts[0].0.get("team"), Some("db"));
    assert_eq!(alerts[0].0.get("env"), Some("group"));
}

#[test]
fn label_template_expanding_to_empty_removes_the_label_but_not_from_alerts_series() {
    let f = fixture(concat!(
        "groups:\n- name: g\n  rules:\n",
        "  - alert: A\n    expr: x > 0\n    labels: {maybe: '{{ if false }}x{{ end }}', sev: page}\n",
    ));
    put(&f.store, &[("__name__", "x"), ("job", "a")], &[(T0, 1.0)]);
    let g = &f.groups[0];
    g.eval(T0);
    let data = api::alerts_data(&f.groups);
    let labels = &data["alerts"][0]["labels"];
    assert!(
        labels.get("maybe").is_none(),
        "empty expansion drops the label"
    );
    assert_eq!(labels["sev"], "page");
    // Prometheus builds ALERTS from the rule's unexpanded labels first.
    let alerts = raw(&f.store, "ALERTS");
    assert_eq!(alerts[0].0.get("maybe"), Some("{{ if false }}x{{ end }}"));
}

#[test]
fn keep_firing_for_keeps_alert_and_reports_keep_firing_since() {
    let f = fixture(concat!(
        "groups:\n- name: g\n  rules:\n",
        "  - alert: A\n    expr: x > 0\n    keep_firing_for: 2m\n",
    ));
    put(
        &f.store,
        &[("__name__", "x"), ("job", "a")],
        &[(T0, 1.0), (T0 + MIN, 0.0)],
    );
    let g = &f.groups[0];
    g.eval(T0);
    g.eval(T0 + MIN);
    let a = &api::alerts_data(&f.groups)["alerts"][0];
    assert_eq!(a["state"], "firing");
    assert_eq!(a["keepFiringSince"], "2023-11-14T22:15:00Z");
    put(
        &f.store,
        &[("__name__", "x"), ("job", "a")],
        &[(T0 + 2 * MIN, 0.0), (T0 + 3 * MIN, 0.0)],
    );
    g.eval(T0 + 2 * MIN);
    assert_eq!(api::alerts_data(&f.groups)["alerts"][0]["state"], "firing");
    g.eval(T0 + 3 * MIN);
    assert_eq!(
        api::alerts_data(&f.groups)["alerts"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}
