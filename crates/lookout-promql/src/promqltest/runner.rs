//! Executes parsed scripts against a store and the engine, reproducing the
//! upstream harness: @-rewrite re-runs, the range-mode cross-check,
//! annotation and failure expectations.

use std::collections::BTreeMap;

use lookout_model::storage::{Appendable, Querier};
use lookout_model::{FloatHistogram, Labels, LabelsBuilder, METRIC_NAME, STALE_NAN};

use super::compare::{float_equal, histogram_equal, histogram_text};
use super::script::{expected_points, parse_script, Command, EvalCmd, EvalKind, Expected, LoadCmd};
use super::series::SeqValue;
use crate::engine::{AnnotationKind, Engine, QueryResult, SampleValue, Value};
use crate::parser::{self, AtModifier, Expr};

/// A store the runner can load into and query.
pub trait TestStore: Send + Sync {
    /// Read side.
    fn querier(&self) -> &dyn Querier;
    /// Write side.
    fn appendable(&self) -> &dyn Appendable;
}

impl<T: Querier + Appendable> TestStore for T {
    fn querier(&self) -> &dyn Querier {
        self
    }
    fn appendable(&self) -> &dyn Appendable {
        self
    }
}

/// Creates a fresh, empty store (one per file and after each `clear`).
pub type StoreFactory<'a> = dyn Fn() -> Result<Box<dyn TestStore>, String> + 'a;

/// Outcome of one eval.
#[derive(Debug, Clone)]
pub struct EvalOutcome {
    /// 1-based line of the eval command.
    pub line: usize,
    /// The expression.
    pub expr: String,
    /// `None` when the eval passed, else why it failed.
    pub failure: Option<String>,
    /// Whether it expects native histograms in the output (heuristic used
    /// when no corpus index is available).
    pub nh_output: bool,
}

/// Outcome of a file.
#[derive(Debug, Clone, Default)]
pub struct FileOutcome {
    /// Per-eval results in file order.
    pub evals: Vec<EvalOutcome>,
    /// A file-level error (script syntax, store failure).
    pub error: Option<String>,
    /// Lines of evals that ran while native-histogram data was loaded and
    /// whose selectors touched it (heuristic NH classification).
    pub nh_lines: Vec<usize>,
}

/// Runs the text of a `.test` file.
pub fn run_script(text: &str, engine: &Engine, new_store: &StoreFactory) -> FileOutcome {
    let script = match parse_script(text) {
        Ok(s) => s,
        Err(e) => {
            return FileOutcome {
                error: Some(e),
                ..Default::default()
            }
        }
    };
    let mut out = FileOutcome::default();
    let mut store = match new_store() {
        Ok(s) => s,
        Err(e) => {
            out.error = Some(e);
            return out;
        }
    };
    let mut hist_metrics: Vec<String> = Vec::new();
    for cmd in &script.commands {
        match cmd {
            Command::Clear => {
                hist_metrics.clear();
                match new_store() {
                    Ok(s) => store = s,
                    Err(e) => {
                        out.error = Some(e);
                        return out;
                    }
                }
            }
            Command::Load(l) => {
                if let Err(e) = load(store.as_ref(), l, &mut hist_metrics) {
                    out.error = Some(e);
                    return out;
                }
            }
            Command::Eval(e) => {
                let failure = run_eval(engine, store.querier(), e).err();
                let nh_output = matches!(&e.expected, Expected::Series(s) if s.iter().any(|(_, v)| v.iter().any(|x| matches!(x, SeqValue::Histogram(..)))))
                    || hist_metrics.iter().any(|m| e.expr.contains(m.as_str()));
                out.evals.push(EvalOutcome {
                    line: e.line,
                    expr: e.expr.clone(),
                    failure,
                    nh_output,
                });
            }
        }
    }
    out
}

fn load(store: &dyn TestStore, l: &LoadCmd, hist_metrics: &mut Vec<String>) -> Result<(), String> {
    let mut app = store.appendable().appender();
    let mut floats_by_series: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
    for (labels, vals) in &l.series {
        for (i, v) in vals.iter().enumerate() {
            let t = i as i64 * l.step;
            match v {
                SeqValue::Gap => {}
                SeqValue::Float(f) => {
                    app.append(labels, t, *f)
                        .map_err(|e| format!("load {labels}: {e}"))?;
                    floats_by_series
                        .entry(labels.clone())
                        .or_default()
                        .push((t, *f));
                }
                SeqValue::Stale => app
                    .append(labels, t, STALE_NAN)
                    .map_err(|e| format!("load {labels}: {e}"))?,
                SeqValue::Histogram(h, _) => {
                    if let Some(n) = labels.metric_name() {
                        if !hist_metrics.iter().any(|m| m == n) {
                            hist_metrics.push(n.to_string());
                        }
                    }
                    // The store derives the counter-reset hint a read
                    // reports, as Prometheus' TSDB does.
                    app.append_histogram(labels, t, h)
                        .map_err(|e| format!("load {labels}: {e}"))?;
                }
            }
        }
    }
    if l.with_nhcb {
        for (labels, t, h) in nhcb_from_classic(&floats_by_series) {
            if let Some(n) = labels.metric_name() {
                if !hist_metrics.iter().any(|m| m == n) {
                    hist_metrics.push(n.to_string());
                }
            }
            app.append_histogram(&labels, t, &h)
                .map_err(|e| format!("load {labels}: {e}"))?;
        }
    }
    app.commit().map_err(|e| format!("commit: {e}"))
}

/// Converts classic `_bucket`/`_count`/`_sum` float series to custom-bucket
/// native histograms (`load_with_nhcb`).
fn nhcb_from_classic(
    floats: &BTreeMap<Labels, Vec<(i64, f64)>>,
) -> Vec<(Labels, i64, FloatHistogram)> {
    #[derive(Default)]
    struct Group {
        buckets: BTreeMap<i64, Vec<(f64, f64)>>,
        count: BTreeMap<i64, f64>,
        sum: BTreeMap<i64, f64>,
    }
    let mut groups: BTreeMap<Labels, Group> = BTreeMap::new();
    for (labels, pts) in floats {
        let Some(name) = labels.metric_name() else {
            continue;
        };
        let (base, kind) = if let Some(b) = name.strip_suffix("_bucket") {
            (b, 0)
        } else if let Some(b) = name.strip_suffix("_count") {
            (b, 1)
        } else if let Some(b) = name.strip_suffix("_sum") {
            (b, 2)
        } else {
            continue;
        };
        let mut lb: LabelsBuilder = labels.builder();
        lb.set(METRIC_NAME, base);
        lb.del("le");
        let key = lb.into_labels();
        let g = groups.entry(key).or_default();
        match kind {
            0 => {
                let Some(le) = labels.get("le") else { continue };
                let Ok(bound) = parse_le(le) else { continue };
                for (t, v) in pts {
                    g.buckets.entry(*t).or_default().push((bound, *v));
                }
            }
            1 => {
                for (t, v) in pts {
                    g.count.insert(*t, *v);
                }
            }
            _ => {
                for (t, v) in pts {
                    g.sum.insert(*t, *v);
                }
            }
        }
    }
    let mut out = Vec::new();
    for (labels, g) in groups {
        for (t, mut bs) in g.buckets {
            bs.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
            let custom: Vec<f64> = bs.iter().map(|b| b.0).filter(|b| b.is_finite()).collect();
            let mut prev = 0.0;
            let mut counts = Vec::with_capacity(bs.len());
            for (_, c) in &bs {
                counts.push(c - prev);
                prev = *c;
            }
            let total = bs.last().map(|b| b.1).unwrap_or(0.0);
            let pairs: Vec<(i32, f64)> = counts
                .iter()
                .enumerate()
                .map(|(i, c)| (i as i32, *c))
                .collect();
            let (spans, buckets) = crate::engine::histogram::build(&pairs, false);
            let h = FloatHistogram {
                schema: FloatHistogram::CUSTOM_BUCKETS_SCHEMA,
                count: g.count.get(&t).copied().unwrap_or(total),
                sum: g.sum.get(&t).copied().unwrap_or(0.0),
                positive_spans: spans,
                positive_buckets: buckets,
                custom_values: custom,
                ..Default::default()
            };
            out.push((labels.clone(), t, h));
        }
    }
    out
}

fn parse_le(s: &str) -> Result<f64, ()> {
    match s {
        "+Inf" | "Inf" | "inf" => Ok(f64::INFINITY),
        _ => s.parse::<f64>().map_err(|_| ()),
    }
}

/// Functions whose results depend on the evaluation time itself (no @
/// re-runs for expressions using them).
const AT_UNSAFE: &[&str] = &[
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "hour",
    "minute",
    "month",
    "year",
    "predict_linear",
    "time",
    "timestamp",
    "start",
    "end",
    "range",
    "step",
];

fn run_eval(engine: &Engine, q: &dyn Querier, e: &EvalCmd) -> Result<(), String> {
    let expr = match engine.parse(&e.expr) {
        Ok(x) => x,
        Err(err) => return Err(format!("parse error: {err}")),
    };
    match e.kind {
        EvalKind::Range { start, end, step } => {
            let res = engine.range_query_expr(q, &expr, start, end, step, None);
            check_outcome(e, res, None, start, step)
        }
        EvalKind::Instant { at } => {
            let t = e.range_vector.map(|(_, b, _)| b).unwrap_or(at);
            let res = engine.instant_query_expr(q, &expr, t, None);
            check_outcome(e, res, Some(t), 0, 0)?;
            if e.fail.is_none() {
                cross_check(engine, q, e, &expr, t)?;
            }
            let unsafe_fn = uses_functions(&expr, AT_UNSAFE);
            if !unsafe_fn {
                let mut rewritten = expr.clone();
                add_at(&mut rewritten, t);
                let times: Vec<i64> = if t == 0 {
                    vec![-1000, 0, 1000]
                } else {
                    vec![-10 * t, 0, t / 5, t, 10 * t]
                };
                for rt in times {
                    let res = engine.instant_query_expr(q, &rewritten, rt, None);
                    check_outcome(e, res, Some(t), 0, 0)
                        .map_err(|m| format!("with @ {t} evaluated at {rt}: {m}"))?;
                    if e.fail.is_none() {
                        cross_check(engine, q, e, &rewritten, rt)
                            .map_err(|m| format!("with @ {t} evaluated at {rt}: {m}"))?;
                    }
                }
            }
            Ok(())
        }
    }
}

fn cross_check(
    engine: &Engine,
    q: &dyn Querier,
    e: &EvalCmd,
    expr: &Expr,
    t: i64,
) -> Result<(), String> {
    if e.range_vector.is_some() || matches!(e.expected, Expected::String(_)) {
        return Ok(());
    }
    let lower = e.expr.to_lowercase();
    if ["start()", "end()", "range()", "step()"]
        .iter()
        .any(|f| lower.replace(' ', "").contains(f))
    {
        return Ok(());
    }
    let res = engine
        .range_query_expr(q, expr, t - 60_000, t + 60_000, 60_000, None)
        .map_err(|err| format!("range-mode cross-check failed: {err}"))?;
    if e.ordered {
        return Ok(());
    }
    let Value::Matrix(m) = res.value else {
        return Err("range-mode cross-check did not return a matrix".into());
    };
    if m.windows(2).any(|w| w[0].metric > w[1].metric) {
        return Err("range-mode cross-check: matrix not sorted by labels".into());
    }
    // Take the points at t.
    if let Expected::Scalar(v) = e.expected {
        let got = m
            .first()
            .and_then(|s| s.floats.iter().find(|p| p.t == t))
            .map(|p| p.f);
        return match got {
            Some(g) if float_equal(v, g) => Ok(()),
            other => Err(format!(
                "range-mode cross-check: expected scalar {v}, got {other:?}"
            )),
        };
    }
    let mut vector = Vec::new();
    for s in m {
        if let Some(p) = s.floats.iter().find(|p| p.t == t) {
            vector.push(crate::engine::Sample {
                metric: s.metric.clone(),
                t,
                value: SampleValue::Float(p.f),
            });
        } else if let Some(p) = s.histograms.iter().find(|p| p.t == t) {
            vector.push(crate::engine::Sample {
                metric: s.metric.clone(),
                t,
                value: SampleValue::Histogram(p.h.clone()),
            });
        }
    }
    compare_result(e, &Value::Vector(vector), Some(t), 0, 0)
        .map_err(|m| format!("range-mode cross-check: {m}"))
}

fn uses_functions(e: &Expr, names: &[&str]) -> bool {
    let mut found = false;
    walk(e, &mut |x| {
        if let Expr::Call(c) = x {
            if names.contains(&c.func.name) {
                found = true;
            }
        }
    });
    found
}

fn walk(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    match e {
        Expr::Paren(p) => walk(&p.expr, f),
        Expr::StepInvariant(s) => walk(&s.expr, f),
        Expr::Unary(u) => walk(&u.expr, f),
        Expr::Binary(b) => {
            walk(&b.lhs, f);
            walk(&b.rhs, f);
        }
        Expr::Call(c) => c.args.iter().for_each(|a| walk(a, f)),
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                walk(p, f);
            }
            walk(&a.expr, f);
        }
        Expr::Subquery(s) => walk(&s.expr, f),
        _ => {}
    }
}

/// Sets `@ t` on selectors and subqueries that have none, not descending
/// into subqueries (as upstream's runner does).
fn add_at(e: &mut Expr, t: i64) {
    match e {
        Expr::VectorSelector(vs) if vs.at.is_none() => vs.at = Some(AtModifier::Timestamp(t)),
        Expr::MatrixSelector(ms) if ms.selector.at.is_none() => {
            ms.selector.at = Some(AtModifier::Timestamp(t))
        }
        Expr::Subquery(s) if s.at.is_none() => s.at = Some(AtModifier::Timestamp(t)),
        Expr::Paren(p) => add_at(&mut p.expr, t),
        Expr::StepInvariant(s) => add_at(&mut s.expr, t),
        Expr::Unary(u) => add_at(&mut u.expr, t),
        Expr::Binary(b) => {
            add_at(&mut b.lhs, t);
            add_at(&mut b.rhs, t);
        }
        Expr::Call(c) => c.args.iter_mut().for_each(|a| add_at(a, t)),
        Expr::Aggregate(a) => {
            if let Some(p) = &mut a.param {
                add_at(p, t);
            }
            add_at(&mut a.expr, t);
        }
        _ => {}
    }
}

fn check_outcome(
    e: &EvalCmd,
    res: Result<QueryResult, crate::engine::QueryError>,
    instant_t: Option<i64>,
    start: i64,
    step: i64,
) -> Result<(), String> {
    match (&e.fail, res) {
        (Some(m), Err(err)) => {
            let msg = err.to_string();
            if m.matches(&msg) {
                Ok(())
            } else {
                Err(format!("expected error matching {m:?}, got {msg:?}"))
            }
        }
        (Some(_), Ok(_)) => Err("expected the query to fail, but it succeeded".into()),
        (None, Err(err)) => Err(format!("unexpected error: {err}")),
        (None, Ok(r)) => {
            check_annotations(e, &r)?;
            compare_result(e, &r.value, instant_t, start, step)
        }
    }
}

fn check_annotations(e: &EvalCmd, r: &QueryResult) -> Result<(), String> {
    for (kind, expects, none, legacy, label) in [
        (
            AnnotationKind::Warning,
            &e.warn,
            e.no_warn,
            e.legacy_warn,
            "warn",
        ),
        (
            AnnotationKind::Info,
            &e.info,
            e.no_info,
            e.legacy_info,
            "info",
        ),
    ] {
        let got: Vec<&str> = r
            .annotations
            .of_kind(kind)
            .map(|a| a.message.as_str())
            .collect();
        if none && !got.is_empty() {
            return Err(format!("expected no {label} annotations, got {got:?}"));
        }
        if legacy && got.is_empty() {
            return Err(format!("expected {label} annotations, got none"));
        }
        if expects.is_empty() {
            continue;
        }
        if got.is_empty() {
            return Err(format!("expected {label} annotations, got none"));
        }
        for m in expects.iter() {
            if !got.iter().any(|g| m.matches(g)) {
                return Err(format!("expected {label} annotation {m:?}, got {got:?}"));
            }
        }
        for g in &got {
            if !expects.iter().any(|m| m.matches(g)) {
                return Err(format!("unexpected {label} annotation {g:?}"));
            }
        }
    }
    Ok(())
}

fn value_matches(exp: &SeqValue, got: &SampleValue) -> Result<(), String> {
    match (exp, got) {
        (SeqValue::Float(x), SampleValue::Float(y)) => {
            if float_equal(*x, *y) {
                Ok(())
            } else {
                Err(format!("expected {x}, got {y}"))
            }
        }
        (SeqValue::Stale, SampleValue::Float(y)) => {
            if lookout_model::is_stale_nan(*y) {
                Ok(())
            } else {
                Err(format!("expected stale marker, got {y}"))
            }
        }
        (SeqValue::Histogram(h, hint), SampleValue::Histogram(g)) => {
            if histogram_equal(h, g, *hint) {
                Ok(())
            } else {
                Err(format!(
                    "expected {}, got {}",
                    histogram_text(h),
                    histogram_text(g)
                ))
            }
        }
        (SeqValue::Histogram(..), SampleValue::Float(y)) => {
            Err(format!("expected histogram, got float {y}"))
        }
        (_, SampleValue::Histogram(g)) => Err(format!(
            "expected float, got histogram {}",
            histogram_text(g)
        )),
        (SeqValue::Gap, _) => Err("unexpected gap".into()),
    }
}

fn compare_result(
    e: &EvalCmd,
    v: &Value,
    instant_t: Option<i64>,
    start: i64,
    step: i64,
) -> Result<(), String> {
    match (&e.expected, v) {
        (Expected::Scalar(x), Value::Scalar { v, .. }) => {
            if float_equal(*x, *v) {
                Ok(())
            } else {
                Err(format!("expected scalar {x}, got {v}"))
            }
        }
        (Expected::Scalar(x), other) => {
            Err(format!("expected scalar {x}, got {}", other.type_name()))
        }
        (Expected::String(s), Value::String { s: g, .. }) => {
            if s == g {
                Ok(())
            } else {
                Err(format!("expected string {s:?}, got {g:?}"))
            }
        }
        (Expected::String(s), other) => {
            Err(format!("expected string {s:?}, got {}", other.type_name()))
        }
        (Expected::Series(exp), Value::Vector(got)) => {
            if e.range_vector.is_some() {
                return Err("expected range vector, got instant vector".into());
            }
            if exp.len() != got.len() {
                return Err(format!(
                    "expected {} series, got {}: {}",
                    exp.len(),
                    got.len(),
                    got.iter()
                        .map(|s| s.metric.to_string())
                        .collect::<Vec<_>>()
                        .join(" ")
                ));
            }
            for (pos, s) in got.iter().enumerate() {
                let Some(ei) = exp.iter().position(|(l, _)| *l == s.metric) else {
                    return Err(format!("unexpected series {}", s.metric));
                };
                if e.ordered && instant_t.is_some() && ei != pos {
                    return Err(format!(
                        "series {} at position {}, expected {}",
                        s.metric,
                        pos + 1,
                        ei + 1
                    ));
                }
                let Some(first) = exp[ei].1.first() else {
                    return Err(format!("no expected value for {}", s.metric));
                };
                value_matches(first, &s.value).map_err(|m| format!("{}: {m}", s.metric))?;
            }
            Ok(())
        }
        (Expected::Series(exp), Value::Matrix(got)) => {
            if e.ordered {
                return Err("expect ordered cannot be used with a matrix result".into());
            }
            let (mstart, mstep) = match e.range_vector {
                Some((a, _, s)) => (a, s),
                None => (start, step),
            };
            if instant_t.is_some() && e.range_vector.is_none() && !exp.is_empty() {
                return Err("expected instant vector, got range vector".into());
            }
            if exp.len() != got.len() {
                return Err(format!(
                    "expected {} series, got {}: {}",
                    exp.len(),
                    got.len(),
                    got.iter()
                        .map(|s| s.metric.to_string())
                        .collect::<Vec<_>>()
                        .join(" ")
                ));
            }
            for s in got {
                let Some((_, vals)) = exp.iter().find(|(l, _)| *l == s.metric) else {
                    return Err(format!("unexpected series {}", s.metric));
                };
                let pts = expected_points(vals, mstart, mstep);
                let nf = pts
                    .iter()
                    .filter(|(_, v)| !matches!(v, SeqValue::Histogram(..)))
                    .count();
                let nh = pts.len() - nf;
                if nf != s.floats.len() || nh != s.histograms.len() {
                    return Err(format!(
                        "{}: expected {nf} floats and {nh} histograms, got {} floats at {:?} and {} histograms at {:?}",
                        s.metric,
                        s.floats.len(),
                        s.floats.iter().map(|p| (p.t, p.f)).collect::<Vec<_>>(),
                        s.histograms.len(),
                        s.histograms.iter().map(|p| p.t).collect::<Vec<_>>()
                    ));
                }
                let (mut fi, mut hi) = (0, 0);
                for (t, v) in &pts {
                    let got_v = if matches!(v, SeqValue::Histogram(..)) {
                        let p = &s.histograms[hi];
                        hi += 1;
                        (p.t, SampleValue::Histogram(p.h.clone()))
                    } else {
                        let p = &s.floats[fi];
                        fi += 1;
                        (p.t, SampleValue::Float(p.f))
                    };
                    if got_v.0 != *t {
                        return Err(format!(
                            "{}: expected point at {t}, got {}",
                            s.metric, got_v.0
                        ));
                    }
                    value_matches(v, &got_v.1).map_err(|m| format!("{} @ {t}: {m}", s.metric))?;
                }
            }
            Ok(())
        }
        (Expected::Series(exp), Value::Scalar { v, .. }) => {
            Err(format!("expected {} series, got scalar {v}", exp.len()))
        }
        (Expected::Series(_), Value::String { s, .. }) => {
            Err(format!("expected series, got string {s:?}"))
        }
    }
}

/// Whether an expression parses with every experimental feature on.
pub fn parses(expr: &str) -> bool {
    parser::parse_with_options(expr, parser::ParseOptions::all()).is_ok()
}
