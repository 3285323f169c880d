//! The rule manager with its real scheduler threads: reloads that keep the
//! old rules running when the new ones are invalid, state carried over
//! changed groups, staleness for removed groups, embedded rule sets.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lookout_model::matcher::{MatchOp, Matcher};
use lookout_model::storage::{Appendable, Querier, SelectHints};
use lookout_model::{is_stale_nan, Labels};
use lookout_promql::promqltest::memstore::MemStore;
use lookout_rules::group::{Group, GroupOptions};
use lookout_rules::load::LoadOptions;
use lookout_rules::manager::{RuleConfig, RuleManager, RuleSource};
use lookout_rules::notifier::CollectingSender;
use lookout_rules::rule::{Rule, RuleEnv};

const GOOD: &str = r#"
groups:
- name: fast
  interval: 200ms
  rules:
  - record: one
    expr: vector(1)
  - alert: Always
    expr: vector(1)
    annotations: {summary: first version}
"#;

const BAD: &str = r#"
groups:
- name: fast
  interval: 200ms
  rules:
  - record: one
    expr: vector(1
  - alert: Always
    expr: vector(1)
    annotations: {summary: '{{ nosuchfunc }}'}
"#;

const CHANGED: &str = r#"
groups:
- name: fast
  interval: 200ms
  rules:
  - record: one
    expr: vector(1)
  - alert: Always
    expr: vector(1)
    annotations: {summary: second version}
"#;

fn config(store: &MemStore) -> RuleConfig {
    RuleConfig {
        env: RuleEnv {
            querier: Arc::new(store.clone()) as Arc<dyn Querier>,
            appendable: Arc::new(store.clone()) as Arc<dyn Appendable>,
            engine: Default::default(),
            external_labels: Labels::empty(),
            external_url: String::new(),
        },
        load: LoadOptions::default(),
    }
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn last_ts(g: &Group) -> i64 {
    g.status().last_eval_timestamp.unwrap_or(0)
}

fn always_active_at(g: &Group) -> Option<i64> {
    g.rules.iter().find_map(|r| match &**r {
        Rule::Alerting(a) => a.alerts().first().map(|a| a.active_at),
        _ => None,
    })
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn reload_with_invalid_rules_keeps_the_old_rules_running() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.yml");
    write(&file, GOOD);
    let store = MemStore::new();
    let cfg = config(&store);
    let sender = Arc::new(CollectingSender::default());
    let m = RuleManager::new(GroupOptions::with_sender(sender.clone()));
    let sources = vec![RuleSource::File(file.clone())];
    m.update(&sources, &cfg).unwrap();
    m.run();
    let g1 = m.groups()[0].clone();
    wait_for("two evaluations", || {
        g1.status().last_eval_timestamp.is_some() && always_active_at(&g1).is_some()
    });
    let first_ts = last_ts(&g1);
    // The slot grid: consecutive evaluations are exactly one interval apart.
    wait_for("next evaluation", || last_ts(&g1) > first_ts);
    assert_eq!((last_ts(&g1) - first_ts) % 200, 0);
    let active_at = always_active_at(&g1).unwrap();

    // An invalid file: refused with file, group and rule; nothing changes.
    write(&file, BAD);
    let errs = m.update(&sources, &cfg).unwrap_err();
    let texts: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    let f = file.display().to_string();
    assert!(
        texts.contains(&format!(
            "{f}: 7:11: group \"fast\", rule 1, \"one\": could not parse expression: 1:9: parse error: unclosed left parenthesis"
        )),
        "{texts:#?}"
    );
    assert!(
        texts.contains(&format!(
            "{f}: group \"fast\", rule 2, \"Always\": annotation \"summary\": template: __alert_Always:1: function \"nosuchfunc\" not defined"
        )),
        "{texts:#?}"
    );
    let still = m.groups();
    assert_eq!(still.len(), 1);
    assert!(Arc::ptr_eq(&still[0], &g1), "old group object kept");
    let before = last_ts(&g1);
    wait_for("the old rules to keep evaluating", || last_ts(&g1) > before);

    // A valid change: the group is replaced and takes over the alert state.
    write(&file, CHANGED);
    m.update(&sources, &cfg).unwrap();
    let g2 = m.groups()[0].clone();
    assert!(!Arc::ptr_eq(&g2, &g1));
    assert_eq!(
        always_active_at(&g2),
        Some(active_at),
        "ActiveAt carried over"
    );
    let before = last_ts(&g2);
    wait_for("the new group to evaluate", || last_ts(&g2) > before);
    let Rule::Alerting(a) = &*g2.rules[1] else {
        panic!()
    };
    assert_eq!(a.alerts()[0].annotations["summary"], "second version");
    // The old group's thread has stopped.
    let old_ts = last_ts(&g1);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(last_ts(&g1), old_ts);

    // An unchanged reload keeps the running group.
    m.update(&sources, &cfg).unwrap();
    assert!(Arc::ptr_eq(&m.groups()[0], &g2));

    // Removing the group stops it and marks its series stale.
    write(&file, "groups: []\n");
    m.update(&sources, &cfg).unwrap();
    assert!(m.groups().is_empty());
    let ms = [Matcher::new(MatchOp::Equal, "__name__", "one").unwrap()];
    let hints = SelectHints {
        mint: 0,
        maxt: i64::MAX,
        ..Default::default()
    };
    let s = store.select(&ms, &hints).unwrap().flatten().next().unwrap();
    assert!(is_stale_nan(s.floats.last().unwrap().v));
    m.stop();

    // Alerts left through the sender (for: 0 fires at once).
    assert!(sender
        .0
        .lock()
        .iter()
        .any(|a| a.labels.get("alertname") == Some("Always")));
}

#[test]
fn first_load_restores_later_loads_start_restored() {
    let store = MemStore::new();
    let cfg = config(&store);
    let m = RuleManager::new(GroupOptions::with_sender(Arc::new(
        CollectingSender::default(),
    )));
    let src = |name: &str| RuleSource::Embedded {
        name: name.into(),
        text: "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: vector(1)\n    for: 15m\n"
            .into(),
    };
    m.update(&[src("builtin/a.yml")], &cfg).unwrap();
    let restored = |g: &Group| match &*g.rules[0] {
        Rule::Alerting(a) => a.restored(),
        _ => unreachable!(),
    };
    assert!(
        !restored(&m.groups()[0]),
        "start-up groups wait for the restore"
    );
    m.update(&[src("builtin/a.yml"), src("builtin/b.yml")], &cfg)
        .unwrap();
    let gs = m.groups();
    assert_eq!(gs.len(), 2);
    assert_eq!(gs[0].file, "builtin/a.yml");
    assert!(!restored(&gs[0]), "unchanged group kept as it was");
    assert!(restored(&gs[1]), "groups added by a reload do not restore");
}
