//! Every expression of the shared corpora parses: the kube-prometheus rule
//! and dashboard queries (default feature flags, as a stock Prometheus
//! would load them) and every `eval` expression of the upstream `.test`
//! files (all experimental features on, as upstream's runner does).

mod common;

use common::{corpus_evals, kube_queries};
use lookout_promql::parser::{parse, parse_with_options, ParseOptions};

#[test]
fn kube_prometheus_queries_parse() {
    let Some(rows) = kube_queries() else { return };
    assert_eq!(rows.len(), 872);
    let mut failures = Vec::new();
    for (name, expr) in &rows {
        if let Err(e) = parse(expr) {
            failures.push(format!("{name}: {e}\n  {expr}"));
        }
    }
    println!(
        "kube-prometheus queries: {}/{} parse",
        rows.len() - failures.len(),
        rows.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn corpus_eval_expressions_parse() {
    let Some(evals) = corpus_evals() else { return };
    assert_eq!(evals.len(), 2195, "eval count changed");
    let mut failures = Vec::new();
    for ev in &evals {
        if let Err(e) = parse_with_options(&ev.expr, ParseOptions::all()) {
            failures.push(format!("{}:{}: {e}\n  {}", ev.file, ev.line, ev.expr));
        }
    }
    println!(
        "corpus eval expressions: {}/{} parse (all features on)",
        evals.len() - failures.len(),
        evals.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
