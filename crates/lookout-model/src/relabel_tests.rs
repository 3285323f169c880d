//! Relabeling tests. Expected values follow Prometheus' documented
//! behaviour; hashmod values were computed independently (MD5 tail, big-endian).

use super::*;

fn ls(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

fn cfg(yaml: &str) -> RelabelConfig {
    serde_yaml_ng::from_str(yaml).unwrap()
}

fn cfgs(yaml: &str) -> Vec<RelabelConfig> {
    serde_yaml_ng::from_str(yaml).unwrap()
}

fn cfg_err(yaml: &str) -> String {
    match serde_yaml_ng::from_str::<RelabelConfig>(yaml) {
        Ok(c) => panic!("expected an error for {yaml}, got {c:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn defaults_are_prometheus_defaults() {
    let c = cfg("target_label: x");
    assert_eq!(c.separator, ";");
    assert_eq!(c.regex.as_str(), "(.*)");
    assert_eq!(c.replacement, "$1");
    assert_eq!(c.action, Action::Replace);
    assert_eq!(c.modulus, 0);
    assert!(c.source_labels.is_empty());
}

#[test]
fn replace_with_default_regex_copies_joined_values() {
    let rules = cfgs(
        "- source_labels: [a, b]\n  target_label: c\n- source_labels: [a, missing, b]\n  separator: '-'\n  target_label: d\n",
    );
    let out = process(&ls(&[("a", "foo"), ("b", "bar")]), &rules).unwrap();
    assert_eq!(
        out,
        ls(&[
            ("a", "foo"),
            ("b", "bar"),
            ("c", "foo;bar"),
            ("d", "foo--bar")
        ])
    );
}

#[test]
fn replace_regex_is_anchored() {
    // "f" does not match "foo" as a whole, so nothing happens.
    let r = cfgs("- source_labels: [a]\n  regex: f\n  target_label: b\n  replacement: bar\n");
    let out = process(&ls(&[("a", "foo")]), &r).unwrap();
    assert_eq!(out, ls(&[("a", "foo")]));
    let r = cfgs(
        "- source_labels: [a]\n  regex: 'f(o+)'\n  target_label: b\n  replacement: 'x${1}y'\n",
    );
    let out = process(&ls(&[("a", "foo")]), &r).unwrap();
    assert_eq!(out.get("b"), Some("xooy"));
}

#[test]
fn replace_expands_target_label_and_deletes_on_empty_result() {
    let r = cfgs(
        "- source_labels: [a]\n  regex: '(f).*'\n  target_label: 'new_$1'\n  replacement: '$1ab'\n",
    );
    // `$1ab` is group "1ab", which does not exist: empty, so new_f is removed/not set.
    let out = process(&ls(&[("a", "foo"), ("new_f", "old")]), &r).unwrap();
    assert_eq!(out, ls(&[("a", "foo")]));

    let r = cfgs(
        "- source_labels: [a]\n  regex: '(f).*'\n  target_label: 'new_$1'\n  replacement: '${1}ab'\n",
    );
    let out = process(&ls(&[("a", "foo")]), &r).unwrap();
    assert_eq!(out.get("new_f"), Some("fab"));
}

#[test]
fn replace_with_invalid_expanded_target_is_a_no_op() {
    // The expanded target "1abc" is not a valid label name: nothing is written.
    let r = cfgs("- source_labels: [a]\n  regex: '(.*)'\n  target_label: '$1'\n");
    let out = process(&ls(&[("a", "1abc")]), &r).unwrap();
    assert_eq!(out, ls(&[("a", "1abc")]));
    let out = process(&ls(&[("a", "abc")]), &r).unwrap();
    assert_eq!(out, ls(&[("a", "abc"), ("abc", "abc")]));
}

#[test]
fn replace_named_groups_and_dollar_escapes() {
    let r = cfgs(
        "- source_labels: [__address__]\n  regex: '(?P<host>[^:]+):(?P<port>\\d+)'\n  target_label: hp\n  replacement: '$host-${port}-$$-$'\n",
    );
    let out = process(&ls(&[("__address__", "node:9100")]), &r).unwrap();
    assert_eq!(out.get("hp"), Some("node-9100-$-$"));
}

#[test]
fn replace_no_match_leaves_labels() {
    let r = cfgs("- source_labels: [a]\n  regex: 'x+'\n  target_label: b\n  replacement: y\n");
    assert_eq!(
        process(&ls(&[("a", "foo")]), &r).unwrap(),
        ls(&[("a", "foo")])
    );
}

#[test]
fn replace_can_set_literal_without_sources() {
    // Empty source -> joined "" matches (.*) -> replacement literal.
    let r = cfgs("- target_label: env\n  replacement: prod\n");
    assert_eq!(
        process(&ls(&[("a", "1")]), &r).unwrap().get("env"),
        Some("prod")
    );
}

#[test]
fn keep_and_drop() {
    let keep = cfgs("- source_labels: [a]\n  regex: 'f.*'\n  action: keep\n");
    assert!(process(&ls(&[("a", "foo")]), &keep).is_some());
    assert!(process(&ls(&[("a", "bar")]), &keep).is_none());
    assert!(process(&ls(&[]), &keep).is_none());
    let drop = cfgs("- source_labels: [a]\n  regex: 'f.*'\n  action: Drop\n");
    assert!(process(&ls(&[("a", "foo")]), &drop).is_none());
    assert!(process(&ls(&[("a", "bar")]), &drop).is_some());
    // Drop on absent label with default-ish regex `.*` drops everything.
    let drop_all = cfgs("- source_labels: [zz]\n  regex: '.*'\n  action: drop\n");
    assert!(process(&ls(&[("a", "x")]), &drop_all).is_none());
}

#[test]
fn dot_matches_newline_like_prometheus_3() {
    let keep = cfgs("- source_labels: [a]\n  regex: 'foo.*'\n  action: keep\n");
    assert!(process(&ls(&[("a", "foo\nbar")]), &keep).is_some());
}

#[test]
fn keepequal_dropequal() {
    let ke = cfgs("- source_labels: [__tmp_port]\n  target_label: __port1\n  action: keepequal\n");
    assert!(process(&ls(&[("__tmp_port", "1234"), ("__port1", "1234")]), &ke).is_some());
    assert!(process(&ls(&[("__tmp_port", "1234"), ("__port1", "5678")]), &ke).is_none());
    // Both absent compare equal ("" == "").
    assert!(process(&ls(&[("x", "1")]), &ke).is_some());
    let de = cfgs("- source_labels: [__tmp_port]\n  target_label: __port1\n  action: dropequal\n");
    assert!(process(&ls(&[("__tmp_port", "1234"), ("__port1", "1234")]), &de).is_none());
    assert!(process(&ls(&[("__tmp_port", "1234"), ("__port1", "5678")]), &de).is_some());
}

#[test]
fn hashmod_matches_prometheus() {
    let r = cfgs("- source_labels: [c]\n  target_label: d\n  action: hashmod\n  modulus: 1000\n");
    let out = process(&ls(&[("a", "foo"), ("b", "bar"), ("c", "baz")]), &r).unwrap();
    assert_eq!(out.get("d"), Some("976"));
    assert_eq!(hashmod("foo\nbar", 1000), 734);
    assert_eq!(hashmod("foo", 1000), 696);
    assert_eq!(hashmod("127.0.0.1:9100", 10), 0);
    assert_eq!(hashmod("a;b", 7), 2);
    assert_eq!(hashmod("", 3), 1);
}

#[test]
fn labelmap() {
    let r = cfgs("- regex: '(b.*)'\n  replacement: 'bar_${1}'\n  action: labelmap\n");
    let out = process(&ls(&[("a", "foo"), ("b1", "bar"), ("b2", "baz")]), &r).unwrap();
    assert_eq!(
        out,
        ls(&[
            ("a", "foo"),
            ("b1", "bar"),
            ("b2", "baz"),
            ("bar_b1", "bar"),
            ("bar_b2", "baz")
        ])
    );
    let r = cfgs("- regex: '__meta_kubernetes_pod_label_(.+)'\n  action: labelmap\n");
    let out = process(
        &ls(&[
            ("__meta_kubernetes_pod_label_app", "web"),
            ("__meta_kubernetes_pod_name", "p"),
        ]),
        &r,
    )
    .unwrap();
    assert_eq!(out.get("app"), Some("web"));
    assert_eq!(out.len(), 3);
}

#[test]
fn labelmap_then_labeldrop_meta() {
    let r = cfgs(
        "- regex: '__meta_(my.*)'\n  replacement: '${1}'\n  action: labelmap\n- regex: '__meta_.+'\n  action: labeldrop\n",
    );
    let out = process(
        &ls(&[("__meta_my_a", "1"), ("__meta_other", "2"), ("x", "3")]),
        &r,
    )
    .unwrap();
    assert_eq!(out, ls(&[("my_a", "1"), ("x", "3")]));
}

#[test]
fn labeldrop_labelkeep_are_anchored() {
    let drop = cfgs("- regex: 'b'\n  action: labeldrop\n");
    let out = process(&ls(&[("a", "1"), ("b", "2"), ("bb", "3")]), &drop).unwrap();
    assert_eq!(out, ls(&[("a", "1"), ("bb", "3")]));
    let keep = cfgs("- regex: 'a|bb'\n  action: labelkeep\n");
    let out = process(&ls(&[("a", "1"), ("b", "2"), ("bb", "3")]), &keep).unwrap();
    assert_eq!(out, ls(&[("a", "1"), ("bb", "3")]));
}

#[test]
fn lowercase_uppercase() {
    let r = cfgs(
        "- source_labels: [foo, bar]\n  separator: ''\n  target_label: foobar\n  action: lowercase\n- source_labels: [foo]\n  target_label: up\n  action: uppercase\n",
    );
    let out = process(&ls(&[("foo", "BaR"), ("bar", "ÄÖÜ")]), &r).unwrap();
    assert_eq!(out.get("foobar"), Some("baräöü"));
    assert_eq!(out.get("up"), Some("BAR"));
    // Lowercasing an empty value deletes the target.
    let r = cfgs("- source_labels: [nope]\n  target_label: foo\n  action: lowercase\n");
    assert_eq!(process(&ls(&[("foo", "x")]), &r).unwrap(), ls(&[]));
}

#[test]
fn rules_apply_in_order_and_see_earlier_results() {
    let r = cfgs(
        "- source_labels: [a]\n  target_label: b\n- source_labels: [b]\n  regex: foo\n  action: drop\n",
    );
    assert!(process(&ls(&[("a", "foo")]), &r).is_none());
}

#[test]
fn go_expand_rules() {
    let re = regex::Regex::new(r"^(?s:(?P<first>a)(b)(c)?)$").unwrap();
    let caps = re.captures("ab").unwrap();
    let ex = |t: &str| {
        let mut s = String::new();
        expand_template(&mut s, t, &re, &caps);
        s
    };
    assert_eq!(ex("$1"), "a");
    assert_eq!(ex("${1}x"), "ax");
    assert_eq!(ex("$1x"), ""); // group "1x" does not exist
    assert_eq!(ex("$first-$2"), "a-b");
    assert_eq!(ex("$3"), ""); // unmatched group
    assert_eq!(ex("$9"), ""); // out of range
    assert_eq!(ex("$$1"), "$1");
    assert_eq!(ex("a$"), "a$");
    assert_eq!(ex("$-x"), "$-x");
    assert_eq!(ex("${1"), "${1"); // missing brace: `$` copied literally
    assert_eq!(ex("${}"), "${}");
    assert_eq!(ex("$01"), "a"); // numeric with leading zero
    assert_eq!(ex("$0"), "ab");
}

#[test]
fn target_label_pattern() {
    for ok in [
        "a",
        "_a",
        "a1",
        "$1",
        "${1}",
        "foo_${bar}",
        "$1_suffix",
        "${1}x$2",
    ] {
        assert!(is_valid_relabel_target(ok), "{ok}");
    }
    for bad in ["", "1a", "a-b", "$", "${}", "a.b", "${1", "é"] {
        assert!(!is_valid_relabel_target(bad), "{bad}");
    }
}

#[test]
fn validation_messages_match_prometheus() {
    assert!(cfg_err("action: hashmod\ntarget_label: x\n")
        .contains("relabel configuration for hashmod requires non-zero modulus"));
    assert!(cfg_err("action: replace\n")
        .contains("relabel configuration for replace action requires 'target_label' value"));
    assert!(cfg_err("action: lowercase\n")
        .contains("relabel configuration for lowercase action requires 'target_label' value"));
    assert!(cfg_err("action: keepequal\n")
        .contains("relabel configuration for keepequal action requires 'target_label' value"));
    assert!(cfg_err("target_label: '1x'\n")
        .contains(r#""1x" is invalid 'target_label' for replace action"#));
    assert!(
        cfg_err("action: uppercase\ntarget_label: x\nreplacement: y\n")
            .contains("'replacement' can not be set for uppercase action")
    );
    assert!(cfg_err("action: labelmap\nreplacement: 'a-b'\n")
        .contains(r#""a-b" is invalid 'replacement' for labelmap action"#));
    assert!(cfg_err("action: hashmod\nmodulus: 2\ntarget_label: '$1'\n")
        .contains(r#""$1" is invalid 'target_label' for hashmod action"#));
    assert!(cfg_err("action: dropequal\ntarget_label: x\nregex: y\n").contains(
        "dropequal action requires only 'source_labels' and `target_label`, and no other fields"
    ));
    assert!(cfg_err("action: labeldrop\nsource_labels: [a]\n")
        .contains("labeldrop action requires only 'regex', and no other fields"));
    assert!(cfg_err("action: labelkeep\ntarget_label: a\n")
        .contains("labelkeep action requires only 'regex', and no other fields"));
    assert!(cfg_err("action: nope\n").contains(r#"unknown relabel action "nope""#));
    assert!(cfg_err("action: ''\n").contains("relabel action cannot be empty"));
    assert!(cfg_err("regex: '('\ntarget_label: a\n").contains("error parsing regexp"));
    assert!(cfg_err("source_labels: ['a-b']\ntarget_label: a\n")
        .contains(r#""a-b" is not a valid label name"#));
    assert!(cfg_err("bogus: 1\n").contains("unknown field `bogus`"));
}

#[test]
fn action_names_are_case_insensitive() {
    assert_eq!(cfg("action: LabelMap\n").action, Action::LabelMap);
    assert_eq!(cfg("action: KEEP\n").action, Action::Keep);
}

#[test]
fn config_round_trips_through_yaml() {
    let c = cfg("source_labels: [a]\nregex: 'x(.*)'\ntarget_label: t\nreplacement: '$1'\n");
    let text = serde_yaml_ng::to_string(&c).unwrap();
    let back: RelabelConfig = serde_yaml_ng::from_str(&text).unwrap();
    assert_eq!(back, c);
    assert!(text.contains("action: replace"), "{text}");
}

#[test]
fn go_ascii_classes_in_relabel_regex() {
    let keep = cfgs("- source_labels: [a]\n  regex: '\\d+'\n  action: keep\n");
    assert!(process(&ls(&[("a", "123")]), &keep).is_some());
    assert!(process(&ls(&[("a", "١٢٣")]), &keep).is_none());
}
