//! Every node-exporter metric the kube-prometheus dashboards and rules
//! query must be one lookout's host collector can expose.

mod fixture;

use std::collections::{BTreeMap, BTreeSet};

use lookout_node::NodeCollector;

/// Metrics lookout deliberately does not produce, with the reason.
const NOT_PROVIDED: &[(&str, &str)] = &[
    (
        "node_systemd_unit_state",
        "systemd collector needs D-Bus; node-exporter ships it disabled by default too",
    ),
    (
        "node_systemd_service_restart_total",
        "systemd collector needs D-Bus; node-exporter ships it disabled by default too",
    ),
];

/// The corpus' field escaping: `\\`, `\t`, `\n`, `\r`.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(o) => out.push(o),
            None => out.push('\\'),
        }
    }
    out
}

const KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "bool",
    "and",
    "or",
    "unless",
    "atan2",
    "inf",
    "nan",
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];

/// Metric names used as selectors in a PromQL expression: identifiers
/// outside strings, comments, `{...}` matchers, `[...]` ranges and label
/// lists of `by`/`without`/`on`/`ignoring`/`group_*`, not followed by `(`.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let b: Vec<char> = expr.chars().collect();
    let mut out = BTreeSet::new();
    let mut i = 0;
    let mut brace = 0;
    let mut bracket = 0;
    let mut label_list_depth: Option<usize> = None;
    let mut paren = 0usize;
    let mut prev_word = String::new();
    while i < b.len() {
        let c = b[i];
        match c {
            '#' => {
                while i < b.len() && b[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '"' | '\'' | '`' => {
                let q = c;
                i += 1;
                while i < b.len() && b[i] != q {
                    if b[i] == '\\' && q != '`' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                continue;
            }
            '{' => brace += 1,
            '}' => brace -= 1,
            '[' => bracket += 1,
            ']' => bracket -= 1,
            '(' => {
                paren += 1;
                if [
                    "by",
                    "without",
                    "on",
                    "ignoring",
                    "group_left",
                    "group_right",
                ]
                .contains(&prev_word.as_str())
                {
                    label_list_depth = Some(paren);
                }
            }
            ')' => {
                if label_list_depth == Some(paren) {
                    label_list_depth = None;
                }
                paren = paren.saturating_sub(1);
            }
            _ => {}
        }
        if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == '_' || b[i] == ':') {
                i += 1;
            }
            let word: String = b[start..i].iter().collect();
            let mut j = i;
            while j < b.len() && b[j].is_whitespace() {
                j += 1;
            }
            let is_call = j < b.len() && b[j] == '(';
            let preceded_by_digit = start > 0 && b[start - 1].is_ascii_digit();
            if brace == 0
                && bracket == 0
                && label_list_depth.is_none()
                && !is_call
                && !preceded_by_digit
                && !KEYWORDS.contains(&word.as_str())
            {
                out.insert(word.clone());
            }
            prev_word = word;
            continue;
        }
        if !c.is_whitespace() {
            prev_word.clear();
        }
        i += 1;
    }
    out
}

#[test]
fn extractor_sanity() {
    let n = metric_names(
        "sum by (instance) (rate(node_cpu_seconds_total{mode!=\"idle\"}[5m])) / on(instance) group_left(nodename) node_uname_info # node_fake\n > 0.5 and bool x",
    );
    assert_eq!(
        n.into_iter().collect::<Vec<_>>(),
        ["node_cpu_seconds_total", "node_uname_info", "x"]
    );
}

#[test]
fn node_dashboards_and_rules_metrics_are_exposed() {
    let Some(tsv) = lookout_testkit::corpus_path("kube-prometheus/queries.tsv") else {
        return;
    };
    let text = std::fs::read_to_string(tsv).unwrap();
    let mut wanted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in text.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        let (Some(src), Some(expr)) = (cols.first(), cols.get(4)) else {
            continue;
        };
        // Dashboards for macOS and AIX hosts query those exporters' metrics.
        if src.contains("nodes-darwin") || src.contains("nodes-aix") {
            continue;
        }
        for name in metric_names(&unescape(expr)) {
            // node-exporter's own metrics; recording-rule outputs contain ':'.
            if name.starts_with("node_") && !name.contains(':') {
                wanted.entry(name).or_default().insert(src.to_string());
            }
        }
    }
    assert!(
        wanted.len() >= 40,
        "extracted only {} names: {wanted:?}",
        wanted.len()
    );

    // What the collector produces here, plus what it produces on a host with
    // bonding, md arrays and conntrack (the fixture), since those exist only
    // on such hosts.
    let mut have: BTreeSet<String> = NodeCollector::default()
        .gather()
        .into_iter()
        .map(|f| f.name)
        .collect();
    let dir = tempfile::tempdir().unwrap();
    have.extend(
        NodeCollector::new(fixture::fixture(dir.path()))
            .gather()
            .into_iter()
            .map(|f| f.name),
    );

    let mut missing = Vec::new();
    let mut excused = Vec::new();
    for (name, sources) in &wanted {
        if have.contains(name) {
            continue;
        }
        match NOT_PROVIDED.iter().find(|(n, _)| n == name) {
            Some((_, why)) => excused.push(format!("{name}: {why}")),
            None => missing.push(format!("{name} (used by {sources:?})")),
        }
    }
    eprintln!(
        "kube-prometheus node metrics: {} referenced, {} exposed, {} not provided by design",
        wanted.len(),
        wanted.len() - missing.len() - excused.len(),
        excused.len()
    );
    for e in &excused {
        eprintln!("  not provided: {e}");
    }
    assert!(
        missing.is_empty(),
        "metrics the node dashboards/rules need but lookout-node lacks: {missing:#?}"
    );
}
