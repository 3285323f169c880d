//! Restart in the middle of a `for: 10m` period: the `for` state comes back
//! from `ALERTS_FOR_STATE` in the real on-disk store the way Prometheus'
//! `RestoreForState` does it (outage tolerance, grace period).

use std::sync::Arc;

use lookout_model::matcher::{MatchOp, Matcher};
use lookout_model::storage::{Appendable, Querier, SelectHints};
use lookout_model::Labels;
use lookout_rules::group::{Group, GroupOptions};
use lookout_rules::load::{self, LoadOptions};
use lookout_rules::notifier::CollectingSender;
use lookout_rules::rule::{AlertState, Rule, RuleEnv};
use lookout_tsdb::{Db, Options};

const MIN: i64 = 60_000;
/// Minute-aligned start time.
const T0: i64 = 1_700_000_040_000;

const RULES: &str = r#"
groups:
- name: restore
  rules:
  - alert: InstanceDown
    expr: up == 0
    for: 10m
    labels: {severity: page}
  - alert: BrieflyDown
    expr: up == 0
    for: 3m
"#;

fn open(dir: &std::path::Path) -> Arc<Db> {
    Arc::new(Db::open(dir, Options::for_tests()).expect("open store"))
}

fn write_input(db: &Db) {
    let up = Labels::from_pairs([("__name__", "up"), ("instance", "a"), ("job", "node")]);
    let mut app = db.appender();
    let mut t = T0 - MIN;
    while t <= T0 + 30 * MIN {
        app.append(&up, t, 0.0).unwrap();
        t += 15_000;
    }
    app.commit().unwrap();
}

fn group(db: &Arc<Db>, restored: bool, grace_ms: i64) -> Group {
    let env = RuleEnv {
        querier: db.clone() as Arc<dyn Querier>,
        appendable: db.clone() as Arc<dyn Appendable>,
        engine: Default::default(),
        external_labels: Labels::empty(),
        external_url: String::new(),
    };
    let mut gopts = GroupOptions::with_sender(Arc::new(CollectingSender::default()));
    gopts.for_grace_period_ms = grace_ms;
    let rgs = load::parse_rule_text("restore.yml", RULES).unwrap();
    let lopts = LoadOptions {
        restored,
        ..Default::default()
    };
    load::build_groups("restore.yml", &rgs, &env, &gopts, &lopts)
        .unwrap()
        .remove(0)
}

/// (state, activeAt) of the single alert of rule `name`.
fn alert(g: &Group, name: &str) -> Option<(AlertState, i64)> {
    g.rules.iter().find_map(|r| match &**r {
        Rule::Alerting(a) if a.name == name => a.alerts().first().map(|a| (a.state, a.active_at)),
        _ => None,
    })
}

fn last_for_state(db: &Db, alertname: &str) -> Option<(i64, f64)> {
    let ms = [
        Matcher::new(MatchOp::Equal, "__name__", "ALERTS_FOR_STATE").unwrap(),
        Matcher::new(MatchOp::Equal, "alertname", alertname).unwrap(),
    ];
    let hints = SelectHints {
        mint: 0,
        maxt: i64::MAX,
        ..Default::default()
    };
    db.select(&ms, &hints)
        .unwrap()
        .flatten()
        .next()
        .and_then(|s| s.floats.last().map(|p| (p.t, p.v)))
}

/// Runs until a crash at T0+4m30s, then restarts; returns the store dir.
fn run_until_crash() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    write_input(&db);
    // A long-running process: its rules are restored already.
    let g = group(&db, true, 10 * MIN);
    for k in 0..=4 {
        g.eval(T0 + k * MIN);
    }
    assert_eq!(alert(&g, "InstanceDown"), Some((AlertState::Pending, T0)));
    assert_eq!(alert(&g, "BrieflyDown"), Some((AlertState::Firing, T0)));
    // ALERTS_FOR_STATE holds ActiveAt in seconds, last written at T0+4m.
    assert_eq!(
        last_for_state(&db, "InstanceDown"),
        Some((T0 + 4 * MIN, (T0 / 1000) as f64))
    );
    drop(g);
    drop(db); // the process dies; the store is reopened from disk below
    dir
}

#[test]
fn restart_mid_for_10m_with_default_grace_period() {
    let dir = run_until_crash();
    let db = open(dir.path());
    assert_eq!(
        last_for_state(&db, "InstanceDown"),
        Some((T0 + 4 * MIN, (T0 / 1000) as f64)),
        "state survived the restart on disk"
    );
    let g = group(&db, false, 10 * MIN);
    // First evaluation after start-up: a new pending alert, nothing written.
    g.eval(T0 + 6 * MIN);
    assert_eq!(
        alert(&g, "InstanceDown"),
        Some((AlertState::Pending, T0 + 6 * MIN))
    );
    assert_eq!(last_for_state(&db, "InstanceDown").unwrap().0, T0 + 4 * MIN);
    // Second evaluation, then the restore (Prometheus' order).
    g.eval(T0 + 7 * MIN);
    g.restore_for_state(T0 + 7 * MIN);
    // 4m of 10m had passed: 6m remain, less than the 10m grace period, so
    // the alert gets the full grace period from now: ActiveAt = now + 10m - 10m.
    assert_eq!(
        alert(&g, "InstanceDown"),
        Some((AlertState::Pending, T0 + 7 * MIN))
    );
    // `for: 3m` is below the grace period: not restored, restarted pending
    // at the first evaluation and firing 3m later.
    assert_eq!(
        alert(&g, "BrieflyDown"),
        Some((AlertState::Pending, T0 + 6 * MIN))
    );
    for k in 8..=16 {
        g.eval(T0 + k * MIN);
    }
    assert_eq!(
        alert(&g, "InstanceDown"),
        Some((AlertState::Pending, T0 + 7 * MIN))
    );
    g.eval(T0 + 17 * MIN);
    assert_eq!(
        alert(&g, "InstanceDown"),
        Some((AlertState::Firing, T0 + 7 * MIN))
    );
    // From the restore on, ALERTS_FOR_STATE carries the restored ActiveAt.
    assert_eq!(
        last_for_state(&db, "InstanceDown"),
        Some((T0 + 17 * MIN, ((T0 + 7 * MIN) / 1000) as f64))
    );
}

#[test]
fn restart_mid_for_10m_with_short_grace_period_shifts_active_at_by_the_outage() {
    let dir = run_until_crash();
    let db = open(dir.path());
    let g = group(&db, false, 2 * MIN);
    g.eval(T0 + 6 * MIN);
    g.eval(T0 + 7 * MIN);
    g.restore_for_state(T0 + 7 * MIN);
    // 6m remain (>= 2m grace): ActiveAt moves forward by the downtime
    // (now - last ALERTS_FOR_STATE sample = 3m): T0 + 3m, firing at T0 + 13m.
    assert_eq!(
        alert(&g, "InstanceDown"),
        Some((AlertState::Pending, T0 + 3 * MIN))
    );
    // `for: 3m` had already fired before the crash (remaining <= 0): the old
    // ActiveAt is kept and the alert fires again at the next evaluation.
    assert_eq!(alert(&g, "BrieflyDown"), Some((AlertState::Pending, T0)));
    g.eval(T0 + 8 * MIN);
    assert_eq!(alert(&g, "BrieflyDown"), Some((AlertState::Firing, T0)));
    for k in 9..=12 {
        g.eval(T0 + k * MIN);
    }
    assert_eq!(
        alert(&g, "InstanceDown"),
        Some((AlertState::Pending, T0 + 3 * MIN))
    );
    g.eval(T0 + 13 * MIN);
    assert_eq!(
        alert(&g, "InstanceDown"),
        Some((AlertState::Firing, T0 + 3 * MIN))
    );
}

#[test]
fn without_restore_the_for_period_starts_over() {
    let dir = run_until_crash();
    let db = open(dir.path());
    let g = group(&db, false, 10 * MIN);
    g.eval(T0 + 6 * MIN);
    // No restore step: ActiveAt is the first evaluation after the restart.
    for k in 7..=15 {
        g.eval(T0 + k * MIN);
    }
    assert_eq!(
        alert(&g, "InstanceDown"),
        Some((AlertState::Pending, T0 + 6 * MIN))
    );
    g.eval(T0 + 16 * MIN);
    assert_eq!(
        alert(&g, "InstanceDown"),
        Some((AlertState::Firing, T0 + 6 * MIN))
    );
    // And nothing was written while not restored.
    assert_eq!(last_for_state(&db, "InstanceDown").unwrap().0, T0 + 4 * MIN);
}

#[test]
fn state_older_than_outage_tolerance_is_ignored() {
    let dir = run_until_crash();
    let db = open(dir.path());
    let g = group(&db, false, 2 * MIN);
    // Down for more than the 1h outage tolerance.
    let back = T0 + 70 * MIN;
    let up = Labels::from_pairs([("__name__", "up"), ("instance", "a"), ("job", "node")]);
    let mut app = db.appender();
    for k in 0..3 {
        app.append(&up, back + k * MIN - 30_000, 0.0).unwrap();
    }
    app.commit().unwrap();
    g.eval(back);
    g.eval(back + MIN);
    g.restore_for_state(back + MIN);
    assert_eq!(alert(&g, "InstanceDown"), Some((AlertState::Pending, back)));
}
