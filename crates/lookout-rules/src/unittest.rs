//! promtool's rule unit tests (`promtool test rules`): the test-file format,
//! evaluation on an in-memory store, and promtool's output and exit codes.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lookout_model::storage::{Appendable, Querier};
use lookout_model::{Labels, STALE_NAN};
use lookout_promql::engine::{Engine, EngineOptions, SampleValue, Value};
use lookout_promql::parser::{self, Expr};
use lookout_promql::promqltest::memstore::MemStore;
use lookout_promql::promqltest::series::{parse_series_line, SeqValue};
use lookout_template::fmt::{format_float, quote_go};
use serde::Deserialize;

use crate::group::{Group, GroupOptions};
use crate::load::{self, LoadOptions};
use crate::notifier::DiscardSender;
use crate::rule::{AlertState, Rule, RuleEnv};

/// A duration field (`1m`, `30s`) in ms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dur(pub i64);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        lookout_model::parse_duration(&s)
            .map(Dur)
            .map_err(serde::de::Error::custom)
    }
}

impl Dur {
    /// Prometheus' `model.Duration` text (`5m`, `1h30m`, `0s`).
    pub fn model_string(self) -> String {
        lookout_model::format_duration(self.0)
    }
}

/// A unit-test file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitTestFile {
    /// Rule files under test (globs, relative to the test file).
    #[serde(default)]
    pub rule_files: Vec<String>,
    /// Evaluation interval (default 1m).
    #[serde(default)]
    pub evaluation_interval: Option<Dur>,
    /// Group evaluation order.
    #[serde(default)]
    pub group_eval_order: Vec<String>,
    /// Test groups.
    #[serde(default)]
    pub tests: Vec<TestGroup>,
}

/// One test group.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestGroup {
    /// Interval between input samples (default 1m).
    #[serde(default)]
    pub interval: Option<Dur>,
    /// Input series.
    #[serde(default)]
    pub input_series: Vec<InputSeries>,
    /// Alert expectations.
    #[serde(default)]
    pub alert_rule_test: Vec<AlertTestCase>,
    /// PromQL expectations.
    #[serde(default)]
    pub promql_expr_test: Vec<PromqlTestCase>,
    /// External labels for templates.
    #[serde(default)]
    pub external_labels: BTreeMap<String, String>,
    /// External URL for templates.
    #[serde(default)]
    pub external_url: String,
    /// Optional name printed with failures.
    #[serde(default)]
    pub name: String,
}

/// One input series in expanding notation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSeries {
    /// `metric{labels}`.
    pub series: String,
    /// `1+2x3 _ stale ...`.
    #[serde(default)]
    pub values: String,
}

/// Expected firing alerts of one alert rule at one time.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertTestCase {
    /// When.
    #[serde(default)]
    pub eval_time: Dur,
    /// Which alert rule.
    #[serde(default)]
    pub alertname: String,
    /// Expected firing alerts.
    #[serde(default)]
    pub exp_alerts: Vec<ExpAlert>,
}

/// One expected alert.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpAlert {
    /// Labels (without `alertname`).
    #[serde(default)]
    pub exp_labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default)]
    pub exp_annotations: BTreeMap<String, String>,
}

/// One PromQL expectation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromqlTestCase {
    /// The expression.
    pub expr: String,
    /// When.
    #[serde(default)]
    pub eval_time: Dur,
    /// Expected samples.
    #[serde(default)]
    pub exp_samples: Vec<ExpSample>,
}

/// One expected sample.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpSample {
    /// Series in PromQL selector syntax.
    #[serde(default)]
    pub labels: String,
    /// Value.
    #[serde(default)]
    pub value: f64,
}

type LabelMap = BTreeMap<String, String>;

fn labels_string(m: &LabelMap) -> String {
    let mut s = String::from("{");
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(k);
        s.push('=');
        s.push_str(&quote_go(v));
    }
    s.push('}');
    s
}

fn indent_lines(lines: &str, indent: &str) -> String {
    let parts: Vec<&str> = lines.split('\n').collect();
    let mut out = String::new();
    for (i, l) in parts.iter().enumerate() {
        if i > 0 {
            out.push_str(indent);
        }
        out.push_str(l);
        if i + 1 != parts.len() {
            out.push('\n');
        }
    }
    out
}

fn alerts_string(la: &[(LabelMap, LabelMap)]) -> String {
    if la.is_empty() {
        return "[]".into();
    }
    let one = |(l, a): &(LabelMap, LabelMap)| {
        format!(
            "Labels:{}\nAnnotations:{}",
            labels_string(l),
            labels_string(a)
        )
    };
    let mut s = format!("[\n0:{}", indent_lines(&format!("\n{}", one(&la[0])), "  "));
    for (i, x) in la.iter().enumerate().skip(1) {
        s.push_str(&format!(
            ",\n{i}:{}",
            indent_lines(&format!("\n{}", one(x)), "  ")
        ));
    }
    s.push_str("\n]");
    s
}

fn samples_string(s: &[(LabelMap, f64)]) -> String {
    if s.is_empty() {
        return "nil".into();
    }
    s.iter()
        .map(|(l, v)| format!("{} {}", labels_string(l), format_float(*v, 'E', -1)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses `metric{a="b"}` the way promtool's `ParseMetric` does: a vector
/// selector with only equality matchers.
fn parse_metric(s: &str) -> Result<LabelMap, String> {
    let expr = parser::parse(s).map_err(|e| e.to_string())?;
    match expr {
        Expr::VectorSelector(vs) => {
            let mut m = LabelMap::new();
            if let Some(n) = &vs.name {
                m.insert("__name__".into(), n.clone());
            }
            for matcher in &vs.matchers {
                if matcher.op != lookout_model::MatchOp::Equal {
                    return Err(format!("1:1: parse error: unexpected {}", matcher.op));
                }
                m.insert(matcher.name.clone(), matcher.value.clone());
            }
            Ok(m)
        }
        _ => Err("1:1: parse error: expected metric".into()),
    }
}

fn ms_go_duration(ms: i64) -> String {
    lookout_model::format_go_duration(ms * 1_000_000)
}

/// Runs `test rules` over files; writes promtool's output; returns the
/// exit code (0 or 1).
pub fn run(files: &[&Path], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let mut failed = false;
    for f in files {
        let _ = writeln!(out, "Unit Testing:  {}", f.display());
        let errs = run_file(f, err);
        if errs.is_empty() {
            let _ = writeln!(out, "  SUCCESS");
        } else {
            failed = true;
            let _ = writeln!(err, "  FAILED:");
            for e in errs {
                let _ = writeln!(err, "{e}");
                let _ = writeln!(out);
            }
        }
        let _ = writeln!(out);
    }
    i32::from(failed)
}

fn clean_join(base: &Path, rel: &str) -> String {
    if Path::new(rel).is_absolute() || base.as_os_str().is_empty() || base == Path::new(".") {
        return rel.to_string();
    }
    base.join(rel).display().to_string()
}

/// Runs one test file; returns the error lines (empty = success). The rule
/// engine's own log lines (template expansion warnings...) are silenced:
/// promtool prints only the test outcome.
pub fn run_file(path: &Path, warn: &mut dyn Write) -> Vec<String> {
    tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
        run_file_inner(path, warn)
    })
}

fn run_file_inner(path: &Path, warn: &mut dyn Write) -> Vec<String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return vec![e.to_string()],
    };
    let file: UnitTestFile = match serde_yaml_ng::from_str(&text) {
        Ok(f) => f,
        Err(e) => return vec![e.to_string()],
    };
    let base = path.parent().unwrap_or(Path::new(""));
    let mut rule_files: Vec<PathBuf> = Vec::new();
    for rf in &file.rule_files {
        let pat = clean_join(base, rf);
        match glob::glob(&pat) {
            Err(e) => return vec![e.to_string()],
            Ok(paths) => {
                let mut found: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
                if found.is_empty() {
                    let _ = writeln!(warn, "  WARNING: no file match pattern {rf}");
                }
                found.sort();
                rule_files.extend(found);
            }
        }
    }
    let eval_interval = file
        .evaluation_interval
        .map(|d| d.0)
        .filter(|d| *d > 0)
        .unwrap_or(60_000);
    let mut order: HashMap<&str, usize> = HashMap::new();
    for (i, g) in file.group_eval_order.iter().enumerate() {
        if order.insert(g.as_str(), i).is_some() {
            return vec![format!("group name repeated in evaluation order: {g}")];
        }
    }
    let mut errs = Vec::new();
    for tg in &file.tests {
        errs.extend(run_group(tg, eval_interval, &order, &rule_files));
    }
    errs
}

/// One input series: labels and (timestamp, value) samples.
type LoadedSeries = (Labels, Vec<(i64, Point)>);

/// One input sample.
enum Point {
    Float(f64),
    Histogram(Box<lookout_model::FloatHistogram>),
}

fn load_series(tg: &TestGroup) -> Result<Vec<LoadedSeries>, String> {
    let interval = tg
        .interval
        .map(|d| d.0)
        .filter(|d| *d > 0)
        .unwrap_or(60_000);
    let mut out = Vec::new();
    for s in &tg.input_series {
        let (labels, values) =
            parse_series_line(&format!("{} {}", s.series, s.values)).map_err(|e| e.to_string())?;
        let mut pts = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let t = i as i64 * interval;
            match v {
                SeqValue::Gap => {}
                SeqValue::Float(f) => pts.push((t, Point::Float(*f))),
                SeqValue::Stale => pts.push((t, Point::Float(STALE_NAN))),
                SeqValue::Histogram(h, _) => pts.push((t, Point::Histogram(h.clone()))),
            }
        }
        out.push((labels, pts));
    }
    Ok(out)
}

fn run_group(
    tg: &TestGroup,
    eval_interval: i64,
    order: &HashMap<&str, usize>,
    rule_files: &[PathBuf],
) -> Vec<String> {
    let series = match load_series(tg) {
        Ok(s) => s,
        Err(e) => return vec![e],
    };
    let store = MemStore::new();
    let querier: Arc<dyn Querier> = Arc::new(store.clone());
    let appendable: Arc<dyn Appendable> = Arc::new(store.clone());
    let engine = Engine::new(EngineOptions {
        default_subquery_step: eval_interval,
        ..EngineOptions::default()
    });
    let env = RuleEnv {
        querier,
        appendable,
        engine: engine.clone(),
        external_labels: Labels::from_pairs(tg.external_labels.iter()),
        external_url: tg.external_url.clone(),
    };
    let gopts = GroupOptions::with_sender(Arc::new(DiscardSender));
    let lopts = LoadOptions {
        default_interval_ms: tg
            .interval
            .map(|d| d.0)
            .filter(|d| *d > 0)
            .unwrap_or(60_000),
        default_query_offset_ms: 0,
        restored: true,
    };
    let mut groups: Vec<Group> = Vec::new();
    let mut load_errs = Vec::new();
    for f in rule_files {
        let name = f.display().to_string();
        match load::read_rule_file(f) {
            Err(es) => load_errs.extend(es.into_iter().map(|e| e.to_string())),
            Ok(rgs) => match load::build_groups(&name, &rgs, &env, &gopts, &lopts) {
                Ok(gs) => groups.extend(gs),
                Err(es) => load_errs.extend(es.into_iter().map(|e| e.to_string())),
            },
        }
    }
    if !load_errs.is_empty() {
        return load_errs;
    }
    groups.sort_by_key(|g| order.get(g.name.as_str()).copied().unwrap_or(0));

    let max_eval = tg
        .alert_rule_test
        .iter()
        .map(|a| a.eval_time.0)
        .chain(tg.promql_expr_test.iter().map(|p| p.eval_time.0))
        .max()
        .unwrap_or(0);
    let mut alert_times: Vec<i64> = tg.alert_rule_test.iter().map(|a| a.eval_time.0).collect();
    alert_times.sort();
    alert_times.dedup();
    let test_name = if tg.name.is_empty() {
        String::new()
    } else {
        format!("    name: {},\n", tg.name)
    };

    let mut errs = Vec::new();
    let mut loaded = vec![0usize; series.len()];
    let mut curr = 0usize;
    let mut ts = 0i64;
    while ts <= max_eval {
        // Input samples up to and including ts.
        let mut app = store.appender();
        for (i, (labels, pts)) in series.iter().enumerate() {
            while loaded[i] < pts.len() && pts[loaded[i]].0 <= ts {
                let (t, v) = &pts[loaded[i]];
                let _ = match v {
                    Point::Float(f) => app.append(labels, *t, *f),
                    Point::Histogram(h) => app.append_histogram(labels, *t, h),
                };
                loaded[i] += 1;
            }
        }
        if let Err(e) = app.commit() {
            errs.push(e.to_string());
            return errs;
        }
        let mut eval_errs = Vec::new();
        for g in &groups {
            g.eval(ts);
            for r in &g.rules {
                let st = r.status();
                if !st.last_error.is_empty() {
                    eval_errs.push(format!(
                        "    rule: {}, time: {}, err: {}",
                        r.name(),
                        ms_go_duration(ts),
                        st.last_error
                    ));
                }
            }
        }
        let stop = !eval_errs.is_empty();
        errs.extend(eval_errs);
        if stop {
            return errs;
        }
        while curr < alert_times.len()
            && ts <= alert_times[curr]
            && alert_times[curr] < ts + eval_interval
        {
            let t = alert_times[curr];
            check_alerts(tg, t, &groups, &test_name, &mut errs);
            curr += 1;
        }
        ts += eval_interval;
    }

    for tc in &tg.promql_expr_test {
        check_promql(tc, &engine, &store, &mut errs);
    }
    errs
}

fn check_alerts(tg: &TestGroup, t: i64, groups: &[Group], test_name: &str, errs: &mut Vec<String>) {
    let mut got: HashMap<&str, Vec<(LabelMap, LabelMap)>> = HashMap::new();
    let wanted: Vec<&AlertTestCase> = tg
        .alert_rule_test
        .iter()
        .filter(|a| a.eval_time.0 == t)
        .collect();
    for g in groups {
        for r in &g.rules {
            let Rule::Alerting(ar) = &**r else { continue };
            if !wanted.iter().any(|w| w.alertname == ar.name) {
                continue;
            }
            let entry = got.entry(ar.name.as_str()).or_default();
            for a in ar.alerts() {
                if a.state == AlertState::Firing {
                    entry.push((crate::rule::labels_map(&a.labels), a.annotations.clone()));
                }
            }
        }
    }
    for tc in wanted {
        let mut got_alerts = got.get(tc.alertname.as_str()).cloned().unwrap_or_default();
        let mut exp: Vec<(LabelMap, LabelMap)> = tc
            .exp_alerts
            .iter()
            .map(|a| {
                let mut l = a.exp_labels.clone();
                l.insert("alertname".into(), tc.alertname.clone());
                (l, a.exp_annotations.clone())
            })
            .collect();
        let cmp = |a: &(LabelMap, LabelMap), b: &(LabelMap, LabelMap)| {
            a.0.iter()
                .cmp(b.0.iter())
                .then_with(|| a.1.iter().cmp(b.1.iter()))
        };
        got_alerts.sort_by(cmp);
        exp.sort_by(cmp);
        if got_alerts != exp {
            errs.push(format!(
                "{test_name}    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
                tc.alertname,
                tc.eval_time.model_string(),
                indent_lines(&alerts_string(&exp), "            "),
                indent_lines(&alerts_string(&got_alerts), "            ")
            ));
        }
    }
}

fn check_promql(tc: &PromqlTestCase, engine: &Engine, store: &MemStore, errs: &mut Vec<String>) {
    let time = tc.eval_time.model_string();
    let q = quote_go(&tc.expr);
    let res = match engine.instant_query(store, &tc.expr, tc.eval_time.0, None) {
        Ok(r) => r,
        Err(e) => {
            errs.push(format!("    expr: {q}, time: {time}, err: {e}"));
            return;
        }
    };
    let mut got: Vec<(LabelMap, f64)> = match res.value {
        Value::Vector(v) => v
            .into_iter()
            .map(|s| {
                (
                    crate::rule::labels_map(&s.metric),
                    match s.value {
                        SampleValue::Float(f) => f,
                        SampleValue::Histogram(_) => 0.0,
                    },
                )
            })
            .collect(),
        Value::Scalar { v, .. } => vec![(LabelMap::new(), v)],
        _ => {
            errs.push(format!(
                "    expr: {q}, time: {time}, err: rule result is not a vector or scalar"
            ));
            return;
        }
    };
    let mut exp = Vec::new();
    for s in &tc.exp_samples {
        match parse_metric(&s.labels) {
            Ok(l) => exp.push((l, s.value)),
            Err(e) => {
                errs.push(format!(
                    "    expr: {q}, time: {time}, err: labels {}: {e}",
                    quote_go(&s.labels)
                ));
                return;
            }
        }
    }
    exp.sort_by(|a, b| a.0.iter().cmp(b.0.iter()));
    got.sort_by(|a, b| a.0.iter().cmp(b.0.iter()));
    // Go's reflect.DeepEqual: NaN never equals NaN.
    let equal = exp.len() == got.len()
        && exp
            .iter()
            .zip(got.iter())
            .all(|(a, b)| a.0 == b.0 && a.1 == b.1);
    if !equal {
        errs.push(format!(
            "    expr: {q}, time: {time},\n        exp: {}\n        got: {}",
            samples_string(&exp),
            samples_string(&got)
        ));
    }
}
