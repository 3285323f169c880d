//! Printer round trip: for every expression of the corpora,
//! `parse(print(parse(x))) == parse(x)` with positions ignored.

mod common;

use lookout_promql::parser::{parse_with_options, Expr, ParseOptions};

fn normalized(e: &Expr) -> String {
    let mut e = e.clone();
    e.canonicalize();
    // Debug output compares NaN literals as equal, unlike PartialEq.
    format!("{e:?}")
}

fn round_trip(input: &str, opts: ParseOptions) -> Result<(), String> {
    let first = parse_with_options(input, opts).map_err(|e| format!("parse: {e}"))?;
    let printed = first.to_string();
    let second =
        parse_with_options(&printed, opts).map_err(|e| format!("reparse of {printed:?}: {e}"))?;
    if normalized(&first) != normalized(&second) {
        return Err(format!("tree changed; printed as {printed:?}"));
    }
    if second.to_string() != printed {
        return Err(format!(
            "printing not stable: {printed:?} vs {:?}",
            second.to_string()
        ));
    }
    Ok(())
}

#[test]
fn corpus_round_trip() {
    let Some(evals) = common::corpus_evals() else {
        return;
    };
    let mut failures = Vec::new();
    for ev in &evals {
        if let Err(e) = round_trip(&ev.expr, ParseOptions::all()) {
            failures.push(format!("{}:{}: {}\n  {e}", ev.file, ev.line, ev.expr));
        }
    }
    println!(
        "round trip, corpus evals: {}/{}",
        evals.len() - failures.len(),
        evals.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn kube_round_trip() {
    let Some(rows) = common::kube_queries() else {
        return;
    };
    let mut failures = Vec::new();
    for (name, expr) in &rows {
        if let Err(e) = round_trip(expr, ParseOptions::default()) {
            failures.push(format!("{name}: {e}"));
        }
    }
    println!(
        "round trip, kube queries: {}/{}",
        rows.len() - failures.len(),
        rows.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn parser_cases_round_trip() {
    let Some(path) = lookout_testkit::corpus_path("promql-parse/cases.json") else {
        return;
    };
    let cases: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut n = 0;
    let mut failures = Vec::new();
    for c in &cases {
        let (Some(input), Some(false)) = (c["input"].as_str(), c["fail"].as_bool()) else {
            continue;
        };
        n += 1;
        if let Err(e) = round_trip(input, ParseOptions::all()) {
            failures.push(format!("{input:?}: {e}"));
        }
    }
    println!(
        "round trip, accepted parser cases: {}/{n}",
        n - failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
