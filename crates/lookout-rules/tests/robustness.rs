//! Bad input never crashes the rule-file parser or the unit-test runner:
//! every prefix of real rule files, byte flips and odd YAML all come back as
//! `Ok` or as errors.

use lookout_rules::rulefmt;

fn inputs() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut v = vec![
        std::fs::read_to_string(dir.join("default-rules/lookout.yaml")).unwrap(),
        std::fs::read_to_string(dir.join("default-rules/host.yaml")).unwrap(),
        std::fs::read_to_string(dir.join("tests/testdata/conformance/templates.yaml")).unwrap(),
    ];
    for e in std::fs::read_dir(dir.join("tests/testdata/bad")).unwrap() {
        v.push(std::fs::read_to_string(e.unwrap().path()).unwrap());
    }
    v
}

#[test]
fn every_prefix_parses_or_errors() {
    let mut n = 0;
    for text in inputs() {
        let mut k = 0;
        while k <= text.len() {
            if text.is_char_boundary(k) {
                let _ = rulefmt::parse(&text[..k]);
                n += 1;
            }
            k += 7;
        }
    }
    assert!(n > 1000, "{n} prefixes");
}

#[test]
fn byte_flips_parse_or_error() {
    let specials = [
        b'{', b'}', b'[', b']', b':', b'-', b'\'', b'"', b'\n', b' ', b'&', b'*', b'!', b'|',
    ];
    for text in inputs() {
        let bytes = text.as_bytes();
        for (i, s) in (0..bytes.len()).step_by(13).zip(specials.iter().cycle()) {
            let mut b = bytes.to_vec();
            b[i] = *s;
            if let Ok(t) = String::from_utf8(b) {
                let _ = rulefmt::parse(&t);
            }
        }
    }
}

#[test]
fn odd_yaml_is_rejected_cleanly() {
    for t in [
        "groups: *x",
        "&a [*a]",
        "groups:\n- &g {name: a, rules: [*g]}",
        "groups:\n- name: a\n  rules:\n  - {alert: A, expr: 'up', for: 1y2y}",
        "groups:\n- name: a\n  limit: 99999999999999999999999\n",
        "groups:\n- name: a\n  rules:\n  - {record: r, expr: 'sum(' }\n",
        "groups:\n- name: a\n  rules:\n  - {alert: A, expr: up, annotations: {a: '{{ template \"x\" }}'}}",
        "\u{feff}groups: []",
        "groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up\n    labels: {a: !!binary aGVsbG8=}",
        "%YAML 1.2\n---\ngroups: []",
        "groups: [{name: a, rules: [{alert: A, expr: up, labels: {x: [1, {y: 2}]}}]}]",
    ] {
        let _ = rulefmt::parse(t);
    }
    assert!(rulefmt::parse("groups: *x").is_err());
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    let deep = format!("groups: {}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(rulefmt::parse(&deep).is_err());
    let deep_map = format!(
        "groups:\n- name: a\n  labels: {}1{}",
        "{a: ".repeat(50_000),
        "}".repeat(50_000)
    );
    assert!(rulefmt::parse(&deep_map).is_err());
}
